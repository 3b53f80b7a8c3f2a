# Connect to a QEMU gdbstub for aarch64:  gdb-multiarch -x gdb_scripts/connect-aarch64.gdb
# (axiomdbg gdb --arch aarch64 does all of this for you, on a free port.)
set pagination off
set confirm off
set architecture aarch64
file build/aarch64-embedded/axiom.elf
source gdb_scripts/axiomdbg.py
target remote localhost:1234

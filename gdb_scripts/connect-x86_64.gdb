# Connect to a QEMU gdbstub for x86_64:  gdb-multiarch -x gdb_scripts/connect-x86_64.gdb
# (axiomdbg gdb --arch x86_64 does all of this for you, on a free port.)
set pagination off
set confirm off
set architecture i386:x86-64
file build/x86_64-embedded/axiom.elf
source gdb_scripts/axiomdbg.py
target remote localhost:1234

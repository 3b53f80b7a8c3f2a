# Connect to a QEMU gdbstub for riscv64:  gdb-multiarch -x gdb_scripts/connect-riscv64.gdb
# (axiomdbg gdb --arch riscv64 does all of this for you, on a free port.)
set pagination off
set confirm off
set architecture riscv:rv64
file build/riscv64-embedded/axiom.elf
source gdb_scripts/axiomdbg.py
target remote localhost:1234

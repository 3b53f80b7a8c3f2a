"""axiomdbg: GDB/QEMU debugging toolkit for the axiom kernel."""

__version__ = "0.1.0"

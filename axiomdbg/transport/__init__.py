"""Memory and register transports. Each implements the core's PhysicalMemory
(`read_phys`) and/or RegisterReader (`read_reg`) so the same core code runs on
a live QEMU (fast /proc path or monitor), through GDB/MI, or on a dump.
The transport used inside GDB lives in axiomdbg.gdb (the only package that
imports `gdb`)."""
from .qemu_direct import QemuPhysicalMemory, MonitorPhysicalMemory, MonitorRegisters
from .dump import DumpMemory

__all__ = ["QemuPhysicalMemory", "MonitorPhysicalMemory", "MonitorRegisters", "DumpMemory"]

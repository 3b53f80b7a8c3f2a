"""Host side of axiom's eBPF subsystem.

- :mod:`.asm` assembles and disassembles the uBPF / conformance-suite text dialect;
- :mod:`.lib` binds the host build of ``kernel/bpf`` (``build/host/libaxiombpf.so``);
- :mod:`.data` reads and runs ``.data`` conformance tests;
- :mod:`.cli` is the ``axiomdbg bpf`` typer sub-application.
"""

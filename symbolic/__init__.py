"""angr + Z3 proofs of the eBPF verifier range operators (installed as axiomdbg.prove)."""

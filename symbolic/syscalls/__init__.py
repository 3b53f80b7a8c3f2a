"""`axiomdbg prove syscalls`: symbolic checks of the syscall handlers from the compiled kernels."""

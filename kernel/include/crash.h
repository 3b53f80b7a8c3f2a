/*
 * crash.h — deliberate kernel crashes for the debugger's tests.
 * Keywords: null, write-text, stack-overflow, undefined, divide, assert,
 * lockup, panic. Unknown keyword: -EINVAL. "divide" on an architecture whose
 * integer division never traps (riscv64): -EOPNOTSUPP.
 */
#ifndef AXIOM_CRASH_H
#define AXIOM_CRASH_H

int crash_inject(const char *keyword);

#endif

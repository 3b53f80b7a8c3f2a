/*
 * uaccess.h — the only way the kernel touches user memory.
 *
 * Each user page is translated in software with the current process's page
 * tables (arch_mmu_query), its user and permission bits are checked, and the
 * bytes are copied through the direct map. An unmapped, kernel-only or
 * forbidden page, or a range that leaves [USER_BASE, USER_TOP), gives
 * -EFAULT. The kernel therefore never faults on a user pointer.
 */
#ifndef AXIOM_UACCESS_H
#define AXIOM_UACCESS_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -EFAULT. */
int copy_from_user(void *dst, uintptr_t usrc, size_t n);
int copy_to_user(uintptr_t udst, const void *src, size_t n);
/* Copy a NUL-terminated string of at most max bytes including the NUL.
 * Returns its length (without NUL), -EFAULT, or -ENAMETOOLONG when no NUL is
 * found within max bytes. */
long strncpy_from_user(char *dst, uintptr_t usrc, size_t max);

#endif

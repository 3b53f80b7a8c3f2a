/*
 * kernel.h — the small freestanding C library every kernel file may use.
 * Implemented in kernel/lib/ (strings, formatting) and kernel/mm/ (kmalloc).
 */
#ifndef AXIOM_KERNEL_H
#define AXIOM_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __noinline __attribute__((noinline))
#define __noreturn __attribute__((noreturn))
#define __used __attribute__((used))

/* strings and memory (kernel/lib/string.c) */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);

/* formatting (kernel/lib/printf.c): %d %i %u %x %X %p %s %c %%, with l/ll/z,
 * width, zero padding and '-' */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* heap (kernel/mm/kmalloc.c); kmalloc returns 16-byte aligned memory or NULL */
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

/* log (kernel/lib/klog.c): levels follow syslog */
#define KLOG_EMERG 0
#define KLOG_ERR 3
#define KLOG_WARN 4
#define KLOG_INFO 6
#define KLOG_DEBUG 7
void klog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define kprintf(...) klog(KLOG_INFO, __VA_ARGS__)

/* panic (kernel/lib/panic.c): prints the panic record and halts */
__noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__noreturn void assert_fail(const char *expr, const char *file, int line);
#define KASSERT(e) ((e) ? (void)0 : assert_fail(#e, __FILE__, __LINE__))

#endif

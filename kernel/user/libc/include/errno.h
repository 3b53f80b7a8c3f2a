/* errno: the libc wrappers return -1 and store the error number here.
 * Values are the kernel's (Linux numbering, uapi/axiom/errno.h). */
#ifndef _ERRNO_H
#define _ERRNO_H
#include <axiom/errno.h>
extern int errno;
const char *strerror(int err);
#endif

/*
 * fs.h — interfaces between the pieces of kernel/fs/ (not for other
 * subsystems: they use vfs.h and file.h).
 *
 *   vfs.c      vnodes, mounts, path lookup, cwd, vfs_init
 *   file.c     open file descriptions, fd tables, vfs_open
 *   ramfs.c    the root file system (files, directories)
 *   cpio.c     newc initramfs unpacker (into ramfs)
 *   devfs.c    /dev: null, zero, console, kmsg, crash
 *   procfs.c   /proc: text views computed by the kernel
 *   pipe.c     anonymous pipes
 *   syscalls.c every fs system call
 */
#ifndef AXIOM_FS_H
#define AXIOM_FS_H

#include <vfs.h>
#include <file.h>

/* ramfs: a fresh, empty instance; returns its root (one reference) or NULL. */
struct vnode *ramfs_instance(struct mount *m);
/* Kernel-internal helpers used by the cpio unpacker. `dir` is a ramfs
 * directory; the name is (name, len). */
int ramfs_mkdir_at(struct vnode *dir, const char *name, size_t len, uint32_t perm);
int ramfs_create_file(struct vnode *dir, const char *name, size_t len, uint32_t perm,
		      const void *data, size_t size);

/* Unpack the newc cpio archive [start, end) into the directory tree at
 * `root`. Malformed archives are reported through klog and stop unpacking;
 * never a crash. Returns the number of entries created. */
int cpio_unpack(struct vnode *root, const uint8_t *start, const uint8_t *end);

/* devfs and procfs instances; return the root (one reference) or NULL. */
struct vnode *devfs_instance(struct mount *m);
struct vnode *procfs_instance(struct mount *m);

/* A pipe: two descriptions, read end and write end (one reference each). */
int pipe_create(struct file **rd, struct file **wr);

/* Generic helpers for read-only text files: serve [*off, ...) of a
 * buffer of `len` bytes. */
long fs_read_buffer(const char *data, size_t len, void *kbuf, size_t n, uint64_t *off);

#endif

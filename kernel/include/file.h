/*
 * file.h — open file descriptions and per-process fd tables.
 *
 * A `struct file` is what open() creates: a vnode, an offset, the open flags
 * and the per-open state of the file system (f->priv). It is reference
 * counted: dup/dup2 and fdtable_clone (spawn) share one description, so they
 * share its offset, like POSIX requires.
 *
 * File operations work on KERNEL buffers only. The syscall layer
 * (fs/syscalls.c) moves data between user memory and a kernel bounce buffer
 * with copy_from_user/copy_to_user, so no file system ever touches a user
 * pointer.
 */
#ifndef AXIOM_FILE_H
#define AXIOM_FILE_H

#include <kernel.h>
#include <spinlock.h>
#include <waitq.h>
#include <axiom/syscall.h>

struct vnode;
struct file;

/* file_ops.flags */
#define FOPS_SEEKABLE  0x1u   /* uses and advances f->off; lseek allowed */
#define FOPS_READ_ONCE 0x2u   /* a read may block or returns one record: the
                                 syscall layer calls ->read once per read() */

struct file_ops {
	/* Read up to n bytes at *off into kbuf; advance *off. Returns bytes
	 * read (0 = end of file) or -errno. Called with no VFS spinlock held;
	 * may sleep (waitq_sleep) only if FOPS_READ_ONCE is set. */
	long (*read)(struct file *f, void *kbuf, size_t n, uint64_t *off);
	/* Write n bytes from kbuf at *off (at end of file with O_APPEND);
	 * advance *off. Returns bytes written or -errno. Called with no VFS
	 * spinlock held; may sleep (pipes wait for room). */
	long (*write)(struct file *f, const void *kbuf, size_t n, uint64_t *off);
	/* Optional: lseek for non-seekable files (e.g. /dev/null returns 0).
	 * Seekable files use the generic implementation. */
	long (*lseek)(struct file *f, long off, int whence);
	/* Optional, for FOPS_READ_ONCE files: true if another read would
	 * return at once (data buffered). Lets one read() drain more than one
	 * bounce buffer's worth of a pipe without ever blocking twice. */
	bool (*read_ready)(struct file *f);
	/* Optional: the last reference to the description is gone. */
	void (*release)(struct file *f);
	unsigned flags;
};

struct file {
	int refcount;                 /* atomic */
	int flags;                    /* open flags (O_ACCMODE, O_APPEND...) */
	struct vnode *vn;             /* referenced */
	const struct file_ops *ops;
	void *priv;                   /* per-open state of the file system */
	/* Offset. `lock` protects `off` and `pos_busy`; a read or write of a
	 * seekable file sets pos_busy for its duration (sleeping on pos_wait if
	 * another thread holds it), so concurrent users of one description
	 * never read or write the same bytes twice. */
	struct spinlock lock;
	uint64_t off;
	bool pos_busy;
	struct waitq pos_wait;
};

static inline bool file_readable(const struct file *f)
{
	return (f->flags & 3) != 1;   /* O_RDONLY or O_RDWR */
}

static inline bool file_writable(const struct file *f)
{
	return (f->flags & 3) == 1 || (f->flags & 3) == 2;
}

/* Allocate a description for `vn` (a reference to vn is taken) with one
 * reference. ops/priv are filled by the caller or the fs's open(). */
struct file *file_alloc(struct vnode *vn, int flags);
struct file *file_ref(struct file *f);
void file_put(struct file *f);
long file_live_count(void);

/* Serialise users of a seekable description's offset: file_pos_lock waits
 * until no other read/write/lseek is in progress and returns f->off;
 * file_pos_unlock stores the new offset and wakes the next user. */
uint64_t file_pos_lock(struct file *f);
void file_pos_unlock(struct file *f, uint64_t off);

/* Open the vnode at `path` with `flags` (and `perm` for O_CREAT) on behalf
 * of the current process. */
int vfs_open(const char *path, int flags, uint32_t perm, struct file **out);
/* Kernel-side access (ELF loader): read-only open, path in kernel memory. */
int vfs_open_kernel(const char *path, struct file **out);
/* Read from a seekable file at `off` without touching f->off. */
long vfs_pread(struct file *f, void *kbuf, size_t n, uint64_t off);

/* ---- fd tables ---- */

struct fdtable {
	struct spinlock lock;         /* protects fd[] */
	struct file *fd[AX_OPEN_MAX];
};

struct fdtable *fdtable_create(void);
/* A new table sharing every open description of `src` (spawn). NULL if out
 * of memory. */
struct fdtable *fdtable_clone(struct fdtable *src);
/* Close every fd and free the table. */
void fdtable_release(struct fdtable *fdt);

/* Install f in the lowest free slot >= min_fd (the table takes over the
 * caller's reference on success). Returns the fd or -EMFILE. */
int fd_install(struct fdtable *fdt, struct file *f, int min_fd);
/* The description behind fd with a new reference, or NULL (-EBADF). */
struct file *fd_get(struct fdtable *fdt, long fd);
/* Remove fd from the table and drop its reference. 0 or -EBADF. */
int fd_close(struct fdtable *fdt, long fd);
/* dup2 semantics: make newfd refer to oldfd's description. */
int fd_dup2(struct fdtable *fdt, long oldfd, long newfd);

#endif

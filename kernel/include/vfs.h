/*
 * vfs.h — the virtual file system: vnodes, mounts and path lookup.
 *
 * Object model
 *   vnode   one file, directory, device or pipe. Reference counted
 *           (vnode_ref/vnode_put); the file system that owns it supplies a
 *           `struct vnode_ops` table and frees its private data in ->release
 *           when the last reference goes.
 *   mount   a file system instance attached on a directory vnode of another
 *           file system ("covered"). The root mount covers nothing. Path
 *           lookup crosses from a covered vnode to the mounted root, and `..`
 *           at a mount root goes back to the covered directory first.
 *   file    an open file description (file.h): vnode + offset + flags, shared
 *           by dup/dup2 and by fd tables cloned at spawn.
 *
 * Locking
 *   - mount_lock (vfs.c) protects the mount list and vnode->mounted;
 *   - each vnode's `lock` protects its contents (file data, device state);
 *     file systems document what else it covers;
 *   - ramfs serialises namespace changes (create, unlink, rename...) with one
 *     lock per file-system instance;
 *   - cwd_lock (vfs.c) protects every process's `cwd` pointer.
 *   Reference counts are atomic and need no lock. No VFS spinlock is held
 *   while sleeping, except through waitq_sleep().
 */
#ifndef AXIOM_VFS_H
#define AXIOM_VFS_H

#include <kernel.h>
#include <spinlock.h>
#include <axiom/syscall.h>

struct file;
struct mount;
struct vnode;
struct sbuf;
struct process;

/* Longest path component (bytes, without the NUL). A whole path, NUL
 * included, fits in AX_PATH_MAX (uapi). */
#define VFS_NAME_MAX 255

/* vnode types (the S_IF* bits of st_mode). */
enum vnode_type {
	VNODE_DIR = S_IFDIR,
	VNODE_REG = S_IFREG,
	VNODE_CHR = S_IFCHR,
	VNODE_FIFO = S_IFIFO,
};

/* One directory entry as a file system reports it to getdents/getcwd. */
struct vfs_dirent {
	uint64_t ino;
	uint8_t type;                 /* DT_* */
	char name[VFS_NAME_MAX + 1];
};

/*
 * Per-file-system vnode operations. A NULL pointer means "not supported":
 * namespace operations then fail with -EROFS (read-only file systems),
 * truncate with -EINVAL. Names passed in are NOT NUL-terminated (name, len);
 * they are never "." or ".." except for lookup, which must handle "..".
 * Every `struct vnode **out` result carries a new reference.
 */
struct vnode_ops {
	/* find `name` in directory `dir` ("" and "." are handled by the VFS;
	 * ".." is asked of the fs except at a mount root). -ENOENT if absent. */
	int (*lookup)(struct vnode *dir, const char *name, size_t len, struct vnode **out);
	/* the first directory entry at position >= *pos: returns 1, fills *out
	 * and sets *pos to the position just after it; returns 0 past the last
	 * entry. Positions 0 and 1 are "." and ".."; a file system may leave
	 * gaps (procfs uses 9 + pid), so entries that come and go between two
	 * calls never make getdents repeat or skip the others. */
	int (*readdir)(struct vnode *dir, uint64_t *pos, struct vfs_dirent *out);
	/* create a regular file (-EEXIST if the name exists). */
	int (*create)(struct vnode *dir, const char *name, size_t len, uint32_t perm,
		      struct vnode **out);
	int (*mkdir)(struct vnode *dir, const char *name, size_t len, uint32_t perm);
	int (*unlink)(struct vnode *dir, const char *name, size_t len);
	int (*rmdir)(struct vnode *dir, const char *name, size_t len);
	/* both directories belong to the same mount (the VFS checks, -EXDEV). */
	int (*rename)(struct vnode *odir, const char *oname, size_t olen,
		      struct vnode *ndir, const char *nname, size_t nlen);
	int (*truncate)(struct vnode *vn, uint64_t len);
	/* fill st_size and st_nlink (the VFS fills the rest). Optional. */
	void (*getattr)(struct vnode *vn, struct ax_stat *st);
	/* prepare an open file: set f->ops and, if needed, f->priv. Required
	 * for every vnode that can be opened. */
	int (*open)(struct vnode *vn, struct file *f);
	/* the last reference is gone: free fs-private state (not the vnode). */
	void (*release)(struct vnode *vn);
};

struct vnode {
	int refcount;                 /* atomic */
	uint32_t type;                /* enum vnode_type */
	uint32_t perm;                /* permission bits, st_mode & 07777 */
	uint64_t ino;                 /* unique within its mount */
	uint64_t rdev;                /* devices: st_rdev */
	uint64_t mtime_ns;            /* last modification, ns since boot */
	struct mount *mnt;            /* the mount this vnode belongs to (NULL for pipes) */
	struct mount *mounted;        /* a mount covering this directory, or NULL */
	const struct vnode_ops *ops;
	struct spinlock lock;         /* protects the fs-private contents */
	void *priv;                   /* file-system private data */
};

struct mount {
	struct mount *next;           /* mount list, in mount order */
	int id;                       /* st_dev of every vnode in it */
	struct vnode *root;           /* root directory of this fs (referenced) */
	struct vnode *covered;        /* directory it is mounted on (referenced), NULL for / */
	struct mount *parent;         /* mount holding `covered` */
	const char *fstype;           /* "ramfs", "devfs", "procfs" */
	const char *source;           /* "initramfs", "devfs", "proc" */
	bool readonly;
	uint64_t next_ino;            /* atomic: next inode number to hand out */
	char path[64];                /* absolute mount point, for /proc/mounts */
	void *priv;                   /* fs instance data */
};

/* ---- vnodes ---- */

/* Allocate a vnode with one reference. Returns NULL when out of memory. */
struct vnode *vnode_alloc(struct mount *mnt, uint32_t type, uint32_t perm,
			  const struct vnode_ops *ops, void *priv);
struct vnode *vnode_ref(struct vnode *vn);
void vnode_put(struct vnode *vn);
/* Number of live vnodes, for leak checks. */
long vnode_live_count(void);

/* ---- mounts ---- */

/* Mounting: mount_alloc() makes the mount, the file system creates its root
 * vnode with vnode->mnt set to it, and vfs_mount() attaches that root (its
 * reference is taken over) on the directory at absolute `path` ("/" for the
 * very first mount). -EBUSY if something is already mounted there. */
struct mount *mount_alloc(const char *fstype, const char *source, bool readonly);
int vfs_mount(struct mount *m, struct vnode *root, const char *path);

/* ---- path lookup (paths in kernel memory) ---- */

/* The root directory (no new reference: it lives forever). */
struct vnode *vfs_root(void);
/* Resolve `path` (absolute, or relative to the current process's cwd).
 * On success *out holds a new reference. */
int vfs_lookup(const char *path, struct vnode **out);
/* Resolve everything but the last component: *dir gets a referenced
 * directory, *name and *len point into `path` at the last component (which may
 * be "." or ".." or, for "/", empty with *len == 0). *trailing_slash tells
 * whether the path ended in '/'. */
int vfs_lookup_parent(const char *path, struct vnode **dir, const char **name,
		      size_t *len, bool *trailing_slash);
/* Look up one component in a directory, crossing mount points. */
int vfs_lookup_component(struct vnode *dir, const char *name, size_t len,
			 struct vnode **out);

/* ---- processes ---- */

/* A new reference to p's working directory (the root when p is NULL or has
 * none yet). */
struct vnode *vfs_cwd_get(struct process *p);
/* Replace p's working directory by `dir` (the reference is taken over). */
void vfs_cwd_set(struct process *p, struct vnode *dir);
/* Absolute path of directory `dir` into buf (NUL-terminated); returns the
 * length without NUL, -ERANGE if it does not fit, -ENOENT if `dir` was
 * removed from the tree. */
int vfs_path_of(struct vnode *dir, char *buf, size_t size);

/* ---- setup and views ---- */

/* Build the namespace: ramfs root filled from the initramfs, devfs at /dev,
 * procfs at /proc. Called once by kmain before the first process. */
void vfs_init(void);
/* /proc/mounts: one line per mount, Linux format
 * "<source> <mountpoint> <fstype> <rw|ro> 0 0". */
void vfs_view_mounts(struct sbuf *sb);
/* Fill every field of *st from vnode `vn`. */
void vfs_getattr(struct vnode *vn, struct ax_stat *st);

/* ns since boot, for mtime. */
uint64_t vfs_now(void);

#endif

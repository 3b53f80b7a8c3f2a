/*
 * file.c — open file descriptions, fd tables and the common open path.
 */
#include <fs.h>
#include <proc.h>
#include <axiom/errno.h>

static long live_files;                  /* atomic */

/* Directories are opened by the VFS itself: getdents walks them through
 * the vnode's readdir; read() and write() are refused by the syscalls. */
static const struct file_ops dir_fops = {
	.flags = FOPS_SEEKABLE,
};

/* ------------------------------------------------------------------------ */
/* open file descriptions                                                   */
/* ------------------------------------------------------------------------ */

struct file *file_alloc(struct vnode *vn, int flags)
{
	struct file *f = kzalloc(sizeof(*f));

	if (!f)
		return NULL;
	f->refcount = 1;
	f->flags = flags;
	f->vn = vnode_ref(vn);
	spin_init(&f->lock, "file");
	waitq_init(&f->pos_wait);
	__atomic_fetch_add(&live_files, 1, __ATOMIC_RELAXED);
	return f;
}

struct file *file_ref(struct file *f)
{
	if (f)
		__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
	return f;
}

void file_put(struct file *f)
{
	int left;

	if (!f)
		return;
	left = __atomic_sub_fetch(&f->refcount, 1, __ATOMIC_ACQ_REL);
	KASSERT(left >= 0);
	if (left > 0)
		return;
	if (f->ops && f->ops->release)
		f->ops->release(f);
	vnode_put(f->vn);
	kfree(f);
	__atomic_fetch_sub(&live_files, 1, __ATOMIC_RELAXED);
}

long file_live_count(void)
{
	return __atomic_load_n(&live_files, __ATOMIC_RELAXED);
}

uint64_t file_pos_lock(struct file *f)
{
	uint64_t off;

	spin_lock(&f->lock);
	while (f->pos_busy)
		waitq_sleep(&f->pos_wait, &f->lock);
	f->pos_busy = true;
	off = f->off;
	spin_unlock(&f->lock);
	return off;
}

void file_pos_unlock(struct file *f, uint64_t off)
{
	spin_lock(&f->lock);
	f->off = off;
	f->pos_busy = false;
	waitq_wake_all(&f->pos_wait);
	spin_unlock(&f->lock);
}

/* ------------------------------------------------------------------------ */
/* open                                                                     */
/* ------------------------------------------------------------------------ */

/* O_CREAT: find or create the last component of `path`. */
static int open_create(const char *path, int flags, uint32_t perm, struct vnode **out)
{
	struct vnode *dir, *vn;
	const char *name;
	size_t len;
	bool slash;
	int err;

	err = vfs_lookup_parent(path, &dir, &name, &len, &slash);
	if (err)
		return err;
	err = vfs_lookup_component(dir, name, len, &vn);
	if (!err && slash && vn->type != VNODE_DIR) {
		vnode_put(vn);
		err = -ENOTDIR;           /* "file/" */
	} else if (err == -ENOENT) {
		if (slash)
			err = -EISDIR;          /* "newname/" cannot be a file */
		else if (!dir->ops->create || (dir->mnt && dir->mnt->readonly))
			err = -EROFS;
		else
			err = dir->ops->create(dir, name, len, perm, &vn);
	} else if (!err && (flags & O_EXCL)) {
		vnode_put(vn);
		err = -EEXIST;
	}
	vnode_put(dir);
	if (!err)
		*out = vn;
	return err;
}

int vfs_open(const char *path, int flags, uint32_t perm, struct file **out)
{
	struct vnode *vn;
	struct file *f;
	int acc = flags & O_ACCMODE;
	int err;

	if (acc == O_ACCMODE)
		return -EINVAL;
	if (flags & O_CREAT)
		err = open_create(path, flags, perm, &vn);
	else
		err = vfs_lookup(path, &vn);
	if (err)
		return err;

	if ((flags & O_DIRECTORY) && vn->type != VNODE_DIR) {
		err = -ENOTDIR;
		goto out_vn;
	}
	if (vn->type == VNODE_DIR && (acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))) {
		err = -EISDIR;
		goto out_vn;
	}
	f = file_alloc(vn, flags);
	if (!f) {
		err = -ENOMEM;
		goto out_vn;
	}
	if (vn->type == VNODE_DIR) {
		f->ops = &dir_fops;
	} else if (!vn->ops->open) {
		err = -ENXIO;
		goto out_f;
	} else {
		err = vn->ops->open(vn, f);
		if (err)
			goto out_f;
		if ((file_readable(f) && !f->ops->read) || (file_writable(f) && !f->ops->write)) {
			err = (vn->mnt && vn->mnt->readonly) ? -EROFS : -EACCES;
			goto out_f;
		}
	}
	if ((flags & O_TRUNC) && file_writable(f) && vn->type == VNODE_REG) {
		err = vn->ops->truncate ? vn->ops->truncate(vn, 0) : -EINVAL;
		if (err)
			goto out_f;
	}
	vnode_put(vn);
	*out = f;
	return 0;

out_f:
	file_put(f);
out_vn:
	vnode_put(vn);
	return err;
}

int vfs_open_kernel(const char *path, struct file **out)
{
	return vfs_open(path, O_RDONLY, 0, out);
}

long vfs_pread(struct file *f, void *kbuf, size_t n, uint64_t off)
{
	size_t done = 0;

	if (f->vn->type == VNODE_DIR)
		return -EISDIR;
	if (!f->ops->read || !(f->ops->flags & FOPS_SEEKABLE))
		return -ESPIPE;
	while (done < n) {
		long r = f->ops->read(f, (char *)kbuf + done, n - done, &off);

		if (r < 0)
			return done ? (long)done : r;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (long)done;
}

/* ------------------------------------------------------------------------ */
/* fd tables                                                                */
/* ------------------------------------------------------------------------ */

struct fdtable *fdtable_create(void)
{
	struct fdtable *fdt = kzalloc(sizeof(*fdt));

	if (fdt)
		spin_init(&fdt->lock, "fdtable");
	return fdt;
}

struct fdtable *fdtable_clone(struct fdtable *src)
{
	struct fdtable *fdt = fdtable_create();

	if (!fdt || !src)
		return fdt;
	spin_lock(&src->lock);
	for (int i = 0; i < AX_OPEN_MAX; i++)
		fdt->fd[i] = file_ref(src->fd[i]);
	spin_unlock(&src->lock);
	return fdt;
}

void fdtable_release(struct fdtable *fdt)
{
	if (!fdt)
		return;
	for (int i = 0; i < AX_OPEN_MAX; i++) {
		struct file *f;

		spin_lock(&fdt->lock);
		f = fdt->fd[i];
		fdt->fd[i] = NULL;
		spin_unlock(&fdt->lock);
		file_put(f);              /* may wake pipe peers: outside the lock */
	}
	kfree(fdt);
}

int fd_install(struct fdtable *fdt, struct file *f, int min_fd)
{
	int fd = -EMFILE;

	if (min_fd < 0)
		min_fd = 0;
	spin_lock(&fdt->lock);
	for (int i = min_fd; i < AX_OPEN_MAX; i++) {
		if (!fdt->fd[i]) {
			fdt->fd[i] = f;
			fd = i;
			break;
		}
	}
	spin_unlock(&fdt->lock);
	return fd;
}

struct file *fd_get(struct fdtable *fdt, long fd)
{
	struct file *f;

	if (!fdt || fd < 0 || fd >= AX_OPEN_MAX)
		return NULL;
	spin_lock(&fdt->lock);
	f = file_ref(fdt->fd[fd]);
	spin_unlock(&fdt->lock);
	return f;
}

int fd_close(struct fdtable *fdt, long fd)
{
	struct file *f;

	if (!fdt || fd < 0 || fd >= AX_OPEN_MAX)
		return -EBADF;
	spin_lock(&fdt->lock);
	f = fdt->fd[fd];
	fdt->fd[fd] = NULL;
	spin_unlock(&fdt->lock);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

int fd_dup2(struct fdtable *fdt, long oldfd, long newfd)
{
	struct file *f, *prev;

	if (!fdt || oldfd < 0 || oldfd >= AX_OPEN_MAX || newfd < 0 || newfd >= AX_OPEN_MAX)
		return -EBADF;
	spin_lock(&fdt->lock);
	f = fdt->fd[oldfd];
	if (!f) {
		spin_unlock(&fdt->lock);
		return -EBADF;
	}
	if (oldfd == newfd) {
		spin_unlock(&fdt->lock);
		return (int)newfd;
	}
	prev = fdt->fd[newfd];
	fdt->fd[newfd] = file_ref(f);
	spin_unlock(&fdt->lock);
	file_put(prev);
	return (int)newfd;
}

/* ------------------------------------------------------------------------ */
/* helpers for file systems                                                 */
/* ------------------------------------------------------------------------ */

long fs_read_buffer(const char *data, size_t len, void *kbuf, size_t n, uint64_t *off)
{
	size_t chunk;

	if (*off >= len)
		return 0;
	chunk = MIN(n, len - (size_t)*off);
	memcpy(kbuf, data + *off, chunk);
	*off += chunk;
	return (long)chunk;
}

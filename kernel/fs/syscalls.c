/*
 * syscalls.c — every file-system system call.
 *
 * Arguments arrive as raw register values (long) and are all untrusted:
 * descriptors are range-checked by fd_get(), sizes are clamped, user memory
 * is reached only through copy_from_user/copy_to_user/strncpy_from_user,
 * and data moves through a kernel bounce buffer so that file systems only
 * ever see kernel pointers. A bad argument gives a Linux errno, never a
 * crash.
 */
#include <fs.h>
#include <proc.h>
#include <uaccess.h>
#include <syscalls.h>
#include <axiom/errno.h>

/* Bytes moved per file-op call: the largest kmalloc slab class, so the
 * bounce buffer never costs a run of frames. */
#define BOUNCE_SIZE 2048u
#define RW_MAX 0x7ffff000ul          /* largest count one read/write handles (Linux) */
#define GETDENTS_MAX 2048u           /* bytes of records one getdents returns at most */

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

static struct fdtable *cur_fdt(void)
{
	struct process *p = current_process();

	return p ? p->fdt : NULL;
}

/* Copy the user string at `upath` into a new AX_PATH_MAX buffer. */
static int get_user_path(long upath, char **out)
{
	char *k = kmalloc(AX_PATH_MAX);
	long r;

	if (!k)
		return -ENOMEM;
	r = strncpy_from_user(k, (uintptr_t)upath, AX_PATH_MAX);
	if (r < 0) {
		kfree(k);
		return (int)r;
	}
	if (r >= AX_PATH_MAX) {
		kfree(k);
		return -ENAMETOOLONG;
	}
	k[r] = '\0';
	*out = k;
	return 0;
}

static bool name_is(const char *name, size_t len, const char *what)
{
	return strlen(what) == len && memcmp(name, what, len) == 0;
}

static bool is_dot_or_dotdot(const char *name, size_t len)
{
	return name_is(name, len, ".") || name_is(name, len, "..");
}

/* Read from f into user memory; see the FOPS_* flags in file.h. */
static long do_read(struct file *f, long ubuf, size_t count)
{
	const struct file_ops *ops = f->ops;
	bool seekable = ops->flags & FOPS_SEEKABLE;
	size_t done = 0;
	uint64_t off = 0;
	long err = 0;
	char *kbuf;

	count = MIN(count, RW_MAX);
	if (count == 0)
		return 0;
	kbuf = kmalloc(MIN(count, (size_t)BOUNCE_SIZE));
	if (!kbuf)
		return -ENOMEM;
	if (seekable)
		off = file_pos_lock(f);
	while (done < count) {
		size_t want = MIN(count - done, (size_t)BOUNCE_SIZE);
		uint64_t o = off;
		long r = ops->read(f, kbuf, want, &o);

		if (r <= 0) {
			err = r;
			break;
		}
		if (copy_to_user((uintptr_t)ubuf + done, kbuf, (size_t)r) < 0) {
			err = -EFAULT;    /* the offset does not move past it */
			break;
		}
		off = o;
		done += (size_t)r;
		if ((size_t)r < want)
			break;
		if ((ops->flags & FOPS_READ_ONCE) && !(ops->read_ready && ops->read_ready(f)))
			break;
	}
	if (seekable)
		file_pos_unlock(f, off);
	kfree(kbuf);
	return done ? (long)done : err;
}

/* Write user memory to f. */
static long do_write(struct file *f, long ubuf, size_t count)
{
	const struct file_ops *ops = f->ops;
	bool seekable = ops->flags & FOPS_SEEKABLE;
	size_t done = 0;
	uint64_t off = 0;
	long err = 0;
	char *kbuf;

	count = MIN(count, RW_MAX);
	if (count == 0)
		return 0;
	kbuf = kmalloc(MIN(count, (size_t)BOUNCE_SIZE));
	if (!kbuf)
		return -ENOMEM;
	if (seekable)
		off = file_pos_lock(f);
	while (done < count) {
		size_t want = MIN(count - done, (size_t)BOUNCE_SIZE);
		long r;

		if (copy_from_user(kbuf, (uintptr_t)ubuf + done, want) < 0) {
			err = -EFAULT;
			break;
		}
		r = ops->write(f, kbuf, want, &off);
		if (r <= 0) {
			err = r;
			break;
		}
		done += (size_t)r;
		if ((size_t)r < want)
			break;
	}
	if (seekable)
		file_pos_unlock(f, off);
	kfree(kbuf);
	return done ? (long)done : err;
}

/* ------------------------------------------------------------------------ */
/* descriptors and data                                                     */
/* ------------------------------------------------------------------------ */

long sys_read(long fd, long buf, long n)
{
	struct file *f = fd_get(cur_fdt(), fd);
	long r;

	if (!f)
		return -EBADF;
	if (!file_readable(f))
		r = -EBADF;
	else if (f->vn->type == VNODE_DIR)
		r = -EISDIR;
	else if (!f->ops->read)
		r = -EINVAL;
	else
		r = do_read(f, buf, (size_t)n);
	file_put(f);
	return r;
}

long sys_write(long fd, long buf, long n)
{
	struct file *f = fd_get(cur_fdt(), fd);
	long r;

	if (!f)
		return -EBADF;
	if (!file_writable(f))
		r = -EBADF;
	else if (!f->ops->write)
		r = -EINVAL;
	else
		r = do_write(f, buf, (size_t)n);
	file_put(f);
	return r;
}

long sys_open(long path, long flags, long mode)
{
	struct fdtable *fdt = cur_fdt();
	struct file *f;
	char *kpath;
	int err, fd;

	if (!fdt)
		return -EBADF;
	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_open(kpath, (int)flags, (uint32_t)mode & 07777, &f);
	kfree(kpath);
	if (err)
		return err;
	fd = fd_install(fdt, f, 0);
	if (fd < 0)
		file_put(f);
	return fd;
}

long sys_close(long fd)
{
	return fd_close(cur_fdt(), fd);
}

long sys_lseek(long fd, long off, long whence)
{
	struct file *f = fd_get(cur_fdt(), fd);
	struct ax_stat st;
	uint64_t pos;
	int64_t base, result;
	long r;

	if (!f)
		return -EBADF;
	if (!(f->ops->flags & FOPS_SEEKABLE)) {
		r = f->ops->lseek ? f->ops->lseek(f, off, (int)whence) : -ESPIPE;
		file_put(f);
		return r;
	}
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) {
		file_put(f);
		return -EINVAL;
	}
	if (whence == SEEK_END && f->vn->type == VNODE_DIR) {
		file_put(f);
		return -EINVAL;           /* directory positions are opaque */
	}
	pos = file_pos_lock(f);
	if (whence == SEEK_SET) {
		base = 0;
	} else if (whence == SEEK_CUR) {
		base = (int64_t)pos;
	} else {
		vfs_getattr(f->vn, &st);
		base = (int64_t)st.st_size;
	}
	if (__builtin_add_overflow(base, (int64_t)off, &result)) {
		r = -EOVERFLOW;
	} else if (result < 0) {
		r = -EINVAL;
	} else {
		pos = (uint64_t)result;
		r = (long)result;
	}
	file_pos_unlock(f, pos);
	file_put(f);
	return r;
}

long sys_fstat(long fd, long st)
{
	struct file *f = fd_get(cur_fdt(), fd);
	struct ax_stat kst;

	if (!f)
		return -EBADF;
	vfs_getattr(f->vn, &kst);
	file_put(f);
	return copy_to_user((uintptr_t)st, &kst, sizeof(kst)) < 0 ? -EFAULT : 0;
}

long sys_getdents(long fd, long buf, long n)
{
	struct file *f = fd_get(cur_fdt(), fd);
	struct vfs_dirent *ent = NULL;
	size_t cap, used = 0;
	uint64_t pos, start;
	char *kbuf = NULL;
	long err = 0;

	if (!f)
		return -EBADF;
	if (f->vn->type != VNODE_DIR || !f->vn->ops->readdir) {
		file_put(f);
		return -ENOTDIR;
	}
	cap = MIN((size_t)n, (size_t)GETDENTS_MAX);
	if (n <= 0) {
		file_put(f);
		return -EINVAL;
	}
	kbuf = kmalloc(cap);
	ent = kmalloc(sizeof(*ent));
	if (!kbuf || !ent) {
		kfree(kbuf);
		kfree(ent);
		file_put(f);
		return -ENOMEM;
	}
	start = pos = file_pos_lock(f);
	for (;;) {
		uint64_t next = pos;
		struct ax_dirent *d;
		size_t namelen, reclen;
		int r = f->vn->ops->readdir(f->vn, &next, ent);

		if (r < 0)
			err = r;
		if (r <= 0)
			break;
		namelen = strnlen(ent->name, VFS_NAME_MAX);
		reclen = ALIGN_UP(offsetof(struct ax_dirent, d_name) + namelen + 1, (size_t)8);
		if (used + reclen > cap) {
			if (used == 0)
				err = -EINVAL;    /* buffer too small for one record */
			break;
		}
		d = (struct ax_dirent *)(kbuf + used);
		memset(d, 0, reclen);
		d->d_ino = ent->ino;
		d->d_reclen = (uint16_t)reclen;
		d->d_type = ent->type;
		memcpy(d->d_name, ent->name, namelen);
		used += reclen;
		pos = next;
	}
	if (used && copy_to_user((uintptr_t)buf, kbuf, used) < 0) {
		err = -EFAULT;
		used = 0;
		pos = start;
	}
	file_pos_unlock(f, pos);
	kfree(kbuf);
	kfree(ent);
	file_put(f);
	return used ? (long)used : err;
}

long sys_dup(long fd)
{
	struct fdtable *fdt = cur_fdt();
	struct file *f = fd_get(fdt, fd);
	int nfd;

	if (!f)
		return -EBADF;
	nfd = fd_install(fdt, f, 0);
	if (nfd < 0)
		file_put(f);
	return nfd;
}

long sys_dup2(long oldfd, long newfd)
{
	return fd_dup2(cur_fdt(), oldfd, newfd);
}

long sys_pipe(long fds)
{
	struct fdtable *fdt = cur_fdt();
	struct file *rd, *wr;
	int kfds[2], err;

	if (!fdt)
		return -EBADF;
	err = pipe_create(&rd, &wr);
	if (err)
		return err;
	kfds[0] = fd_install(fdt, rd, 0);
	if (kfds[0] < 0) {
		file_put(rd);
		file_put(wr);
		return kfds[0];
	}
	kfds[1] = fd_install(fdt, wr, 0);
	if (kfds[1] < 0) {
		fd_close(fdt, kfds[0]);
		file_put(wr);
		return kfds[1];
	}
	if (copy_to_user((uintptr_t)fds, kfds, sizeof(kfds)) < 0) {
		fd_close(fdt, kfds[0]);
		fd_close(fdt, kfds[1]);
		return -EFAULT;
	}
	return 0;
}

long sys_ftruncate(long fd, long len)
{
	struct file *f = fd_get(cur_fdt(), fd);
	long r;

	if (!f)
		return -EBADF;
	if (len < 0 || !file_writable(f) || f->vn->type != VNODE_REG || !f->vn->ops->truncate)
		r = -EINVAL;
	else
		r = f->vn->ops->truncate(f->vn, (uint64_t)len);
	file_put(f);
	return r;
}

/* ------------------------------------------------------------------------ */
/* names                                                                    */
/* ------------------------------------------------------------------------ */

long sys_stat(long path, long st)
{
	struct ax_stat kst;
	struct vnode *vn;
	char *kpath;
	int err;

	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_lookup(kpath, &vn);
	kfree(kpath);
	if (err)
		return err;
	vfs_getattr(vn, &kst);
	vnode_put(vn);
	return copy_to_user((uintptr_t)st, &kst, sizeof(kst)) < 0 ? -EFAULT : 0;
}

long sys_mkdir(long path, long mode)
{
	struct vnode *dir, *vn;
	const char *name;
	size_t len;
	bool slash;
	char *kpath;
	int err;

	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_lookup_parent(kpath, &dir, &name, &len, &slash);
	if (err)
		goto out;
	if (len == 0 || is_dot_or_dotdot(name, len)) {
		err = -EEXIST;
	} else if (!(err = vfs_lookup_component(dir, name, len, &vn))) {
		vnode_put(vn);
		err = -EEXIST;
	} else if (err == -ENOENT) {
		if (!dir->ops->mkdir || dir->mnt->readonly)
			err = -EROFS;
		else
			err = dir->ops->mkdir(dir, name, len, (uint32_t)mode & 07777);
	}
	vnode_put(dir);
out:
	kfree(kpath);
	return err;
}

long sys_unlink(long path)
{
	struct vnode *dir, *vn;
	const char *name;
	size_t len;
	bool slash;
	char *kpath;
	int err;

	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_lookup_parent(kpath, &dir, &name, &len, &slash);
	if (err)
		goto out;
	if (len == 0 || is_dot_or_dotdot(name, len)) {
		err = -EISDIR;
	} else if (!(err = vfs_lookup_component(dir, name, len, &vn))) {
		if (vn->type == VNODE_DIR)
			err = -EISDIR;
		else if (slash)
			err = -ENOTDIR;
		else if (!dir->ops->unlink || dir->mnt->readonly)
			err = -EROFS;
		else
			err = dir->ops->unlink(dir, name, len);
		vnode_put(vn);
	}
	vnode_put(dir);
out:
	kfree(kpath);
	return err;
}

long sys_rmdir(long path)
{
	struct vnode *dir, *vn;
	const char *name;
	size_t len;
	bool slash;
	char *kpath;
	int err;

	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_lookup_parent(kpath, &dir, &name, &len, &slash);
	if (err)
		goto out;
	if (len == 0) {
		err = -EBUSY;             /* the root */
	} else if (name_is(name, len, ".")) {
		err = -EINVAL;
	} else if (name_is(name, len, "..")) {
		err = -ENOTEMPTY;
	} else if (!(err = vfs_lookup_component(dir, name, len, &vn))) {
		if (vn->type != VNODE_DIR)
			err = -ENOTDIR;
		else if (vn->mnt != dir->mnt)
			err = -EBUSY;     /* a mount point */
		else if (!dir->ops->rmdir || dir->mnt->readonly)
			err = -EROFS;
		else
			err = dir->ops->rmdir(dir, name, len);
		vnode_put(vn);
	}
	vnode_put(dir);
out:
	kfree(kpath);
	return err;
}

long sys_rename(long oldpath, long newpath)
{
	struct vnode *odir = NULL, *ndir = NULL, *src = NULL;
	const char *oname, *nname;
	size_t olen, nlen;
	bool oslash, nslash;
	char *kold = NULL, *knew = NULL;
	int err;

	err = get_user_path(oldpath, &kold);
	if (err)
		return err;
	err = get_user_path(newpath, &knew);
	if (err)
		goto out;
	err = vfs_lookup_parent(kold, &odir, &oname, &olen, &oslash);
	if (err)
		goto out;
	err = vfs_lookup_parent(knew, &ndir, &nname, &nlen, &nslash);
	if (err)
		goto out;
	if (olen == 0 || nlen == 0) {
		err = -EBUSY;             /* renaming to or from the root */
		goto out;
	}
	if (is_dot_or_dotdot(oname, olen) || is_dot_or_dotdot(nname, nlen)) {
		err = -EINVAL;
		goto out;
	}
	err = vfs_lookup_component(odir, oname, olen, &src);
	if (err)
		goto out;
	if (src->mnt != odir->mnt)
		err = -EBUSY;             /* a mount point */
	else if ((oslash || nslash) && src->type != VNODE_DIR)
		err = -ENOTDIR;
	else if (odir->mnt != ndir->mnt)
		err = -EXDEV;
	else if (!odir->ops->rename || odir->mnt->readonly)
		err = -EROFS;
	else
		err = odir->ops->rename(odir, oname, olen, ndir, nname, nlen);
out:
	vnode_put(src);
	vnode_put(odir);
	vnode_put(ndir);
	kfree(kold);
	kfree(knew);
	return err;
}

long sys_chdir(long path)
{
	struct process *p = current_process();
	struct vnode *vn;
	char *kpath;
	int err;

	if (!p)
		return -ESRCH;
	err = get_user_path(path, &kpath);
	if (err)
		return err;
	err = vfs_lookup(kpath, &vn);
	kfree(kpath);
	if (err)
		return err;
	if (vn->type != VNODE_DIR) {
		vnode_put(vn);
		return -ENOTDIR;
	}
	vfs_cwd_set(p, vn);
	return 0;
}

/* Linux semantics: returns the length of the path including its NUL. */
long sys_getcwd(long buf, long n)
{
	struct vnode *cwd;
	char *kbuf;
	int len;

	if (n <= 0)
		return -ERANGE;
	kbuf = kmalloc(AX_PATH_MAX);
	if (!kbuf)
		return -ENOMEM;
	cwd = vfs_cwd_get(current_process());
	len = cwd ? vfs_path_of(cwd, kbuf, MIN((size_t)n, (size_t)AX_PATH_MAX)) : -ENOENT;
	vnode_put(cwd);
	if (len >= 0 && copy_to_user((uintptr_t)buf, kbuf, (size_t)len + 1) < 0)
		len = -EFAULT;
	kfree(kbuf);
	return len < 0 ? len : len + 1;
}

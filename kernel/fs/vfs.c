/*
 * vfs.c — vnodes, the mount table, path lookup, working directories and the
 * construction of the namespace at boot.
 *
 * Path lookup walks one component at a time from the root ('/...') or from
 * the current process's working directory. Repeated slashes are ignored, "."
 * stays put, ".." at a mount root first steps back to the directory the
 * mount covers, and ".." at the global root stays at the root. Each step
 * holds a reference on the directory it is in, so no lock is held across a
 * file system's lookup.
 */
#include <fs.h>
#include <proc.h>
#include <sbuf.h>
#include <arch/arch.h>
#include <axiom/errno.h>

/* The initramfs image, linked in by kernel/Makefile (.incbin). */
extern const uint8_t initramfs_start[];
extern const uint8_t initramfs_end[];

static struct spinlock mount_lock;       /* mount list, vnode->mounted */
static struct mount *mount_list;         /* in mount order; never shrinks */
static int mount_next_id = 1;
static struct vnode *root_vnode;         /* root of the first mount; never freed */

static struct spinlock cwd_lock;         /* every process->cwd */

static long live_vnodes;                 /* atomic */
static uint64_t anon_ino = 1;            /* inode numbers of vnodes without a mount */

uint64_t vfs_now(void)
{
	return arch_time_ns();
}

/* ------------------------------------------------------------------------ */
/* vnodes                                                                   */
/* ------------------------------------------------------------------------ */

struct vnode *vnode_alloc(struct mount *mnt, uint32_t type, uint32_t perm,
			  const struct vnode_ops *ops, void *priv)
{
	struct vnode *vn = kzalloc(sizeof(*vn));

	if (!vn)
		return NULL;
	vn->refcount = 1;
	vn->type = type;
	vn->perm = perm & 07777;
	vn->mnt = mnt;
	vn->ops = ops;
	vn->priv = priv;
	vn->mtime_ns = vfs_now();
	/* The fs may overwrite ino (procfs derives it from the pid). */
	vn->ino = __atomic_fetch_add(mnt ? &mnt->next_ino : &anon_ino, 1, __ATOMIC_RELAXED);
	spin_init(&vn->lock, "vnode");
	__atomic_fetch_add(&live_vnodes, 1, __ATOMIC_RELAXED);
	return vn;
}

struct vnode *vnode_ref(struct vnode *vn)
{
	if (vn)
		__atomic_fetch_add(&vn->refcount, 1, __ATOMIC_RELAXED);
	return vn;
}

void vnode_put(struct vnode *vn)
{
	int left;

	if (!vn)
		return;
	left = __atomic_sub_fetch(&vn->refcount, 1, __ATOMIC_ACQ_REL);
	KASSERT(left >= 0);
	if (left > 0)
		return;
	if (vn->ops && vn->ops->release)
		vn->ops->release(vn);
	kfree(vn);
	__atomic_fetch_sub(&live_vnodes, 1, __ATOMIC_RELAXED);
}

long vnode_live_count(void)
{
	return __atomic_load_n(&live_vnodes, __ATOMIC_RELAXED);
}

void vfs_getattr(struct vnode *vn, struct ax_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = vn->mnt ? (uint64_t)vn->mnt->id : 0;
	st->st_ino = vn->ino;
	st->st_mode = vn->type | vn->perm;
	st->st_nlink = 1;
	st->st_rdev = vn->rdev;
	st->st_blksize = 4096;
	st->st_mtime_ns = vn->mtime_ns;
	if (vn->ops && vn->ops->getattr)
		vn->ops->getattr(vn, st);
}

/* ------------------------------------------------------------------------ */
/* mounts                                                                   */
/* ------------------------------------------------------------------------ */

struct mount *mount_alloc(const char *fstype, const char *source, bool readonly)
{
	struct mount *m = kzalloc(sizeof(*m));

	if (!m)
		return NULL;
	m->fstype = fstype;
	m->source = source;
	m->readonly = readonly;
	m->next_ino = 1;
	return m;
}

int vfs_mount(struct mount *m, struct vnode *root, const char *path)
{
	struct vnode *dir = NULL;
	struct mount **tail;
	int err;

	if (strlen(path) >= sizeof(m->path))
		return -ENAMETOOLONG;
	if (strcmp(path, "/") != 0) {
		err = vfs_lookup(path, &dir);
		if (err)
			return err;
		if (dir->type != VNODE_DIR) {
			vnode_put(dir);
			return -ENOTDIR;
		}
	} else if (root_vnode) {
		return -EBUSY;
	}

	spin_lock(&mount_lock);
	if (dir && dir->mounted) {
		spin_unlock(&mount_lock);
		vnode_put(dir);
		return -EBUSY;
	}
	m->id = mount_next_id++;
	m->root = root;                   /* takes over the caller's reference */
	m->covered = dir;                 /* keeps the lookup's reference */
	m->parent = dir ? dir->mnt : NULL;
	strlcpy(m->path, path, sizeof(m->path));
	if (dir)
		dir->mounted = m;
	else
		root_vnode = root;
	for (tail = &mount_list; *tail; tail = &(*tail)->next)
		;
	*tail = m;
	spin_unlock(&mount_lock);
	return 0;
}

void vfs_view_mounts(struct sbuf *sb)
{
	spin_lock(&mount_lock);
	for (struct mount *m = mount_list; m; m = m->next)
		sbuf_printf(sb, "%s %s %s %s 0 0\n", m->source, m->path, m->fstype,
			    m->readonly ? "ro" : "rw");
	spin_unlock(&mount_lock);
}

struct vnode *vfs_root(void)
{
	return root_vnode;
}

/* If a file system is mounted on `vn`, replace it by the mounted root
 * (repeatedly: mounts may be stacked). Consumes and returns a reference. */
static struct vnode *cross_mounts(struct vnode *vn)
{
	for (;;) {
		struct vnode *top = NULL;

		spin_lock(&mount_lock);
		if (vn->mounted)
			top = vnode_ref(vn->mounted->root);
		spin_unlock(&mount_lock);
		if (!top)
			return vn;
		vnode_put(vn);
		vn = top;
	}
}

/* ------------------------------------------------------------------------ */
/* working directories                                                      */
/* ------------------------------------------------------------------------ */

struct vnode *vfs_cwd_get(struct process *p)
{
	struct vnode *vn;

	spin_lock(&cwd_lock);
	vn = vnode_ref(p && p->cwd ? p->cwd : root_vnode);
	spin_unlock(&cwd_lock);
	return vn;
}

void vfs_cwd_set(struct process *p, struct vnode *dir)
{
	struct vnode *old;

	spin_lock(&cwd_lock);
	old = p->cwd;
	p->cwd = dir;
	spin_unlock(&cwd_lock);
	vnode_put(old);
}

/* ------------------------------------------------------------------------ */
/* path lookup                                                              */
/* ------------------------------------------------------------------------ */

static bool is_dot(const char *name, size_t len)
{
	return len == 1 && name[0] == '.';
}

static bool is_dotdot(const char *name, size_t len)
{
	return len == 2 && name[0] == '.' && name[1] == '.';
}

int vfs_lookup_component(struct vnode *dir, const char *name, size_t len,
			 struct vnode **out)
{
	struct vnode *cur, *next;
	int err;

	if (dir->type != VNODE_DIR)
		return -ENOTDIR;
	if (len > VFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || is_dot(name, len)) {
		*out = vnode_ref(dir);
		return 0;
	}
	if (is_dotdot(name, len)) {
		/* Leave mount roots for the directories they cover, then ask
		 * the file system for the parent. */
		cur = vnode_ref(dir);
		while (cur->mnt && cur == cur->mnt->root && cur->mnt->covered) {
			next = vnode_ref(cur->mnt->covered);
			vnode_put(cur);
			cur = next;
		}
		if (cur == root_vnode || !cur->ops->lookup) {
			*out = cur;
			return 0;
		}
		err = cur->ops->lookup(cur, name, len, out);
		vnode_put(cur);
		return err;
	}
	if (!dir->ops->lookup)
		return -ENOENT;
	err = dir->ops->lookup(dir, name, len, &next);
	if (err)
		return err;
	*out = cross_mounts(next);
	return 0;
}

/* Resolve the first `plen` bytes of `path`. The result may be any type. */
static int walk(const char *path, size_t plen, struct vnode **out)
{
	struct vnode *cur, *next;
	size_t i = 0;
	int err;

	if (!root_vnode)
		return -ENOENT;
	if (plen > 0 && path[0] == '/')
		cur = vnode_ref(root_vnode);
	else
		cur = vfs_cwd_get(current_process());

	while (i < plen) {
		size_t start, len;

		while (i < plen && path[i] == '/')
			i++;
		if (i == plen)
			break;
		start = i;
		while (i < plen && path[i] != '/')
			i++;
		len = i - start;
		if (len > VFS_NAME_MAX) {
			vnode_put(cur);
			return -ENAMETOOLONG;
		}
		err = vfs_lookup_component(cur, path + start, len, &next);
		vnode_put(cur);
		if (err)
			return err;
		cur = next;
	}
	*out = cur;
	return 0;
}

/* Validate a kernel-memory path: non-empty and shorter than AX_PATH_MAX. */
static int check_path(const char *path, size_t *plen)
{
	*plen = strnlen(path, AX_PATH_MAX);
	if (*plen >= AX_PATH_MAX)
		return -ENAMETOOLONG;
	if (*plen == 0)
		return -ENOENT;
	return 0;
}

int vfs_lookup(const char *path, struct vnode **out)
{
	struct vnode *vn;
	size_t plen;
	int err;

	err = check_path(path, &plen);
	if (err)
		return err;
	err = walk(path, plen, &vn);
	if (err)
		return err;
	/* "file/" names a directory that is not one. */
	if (path[plen - 1] == '/' && vn->type != VNODE_DIR) {
		vnode_put(vn);
		return -ENOTDIR;
	}
	*out = vn;
	return 0;
}

int vfs_lookup_parent(const char *path, struct vnode **dir, const char **name,
		      size_t *len, bool *trailing_slash)
{
	struct vnode *vn;
	size_t plen, end, start;
	int err;

	err = check_path(path, &plen);
	if (err)
		return err;
	end = plen;
	while (end > 0 && path[end - 1] == '/')
		end--;
	*trailing_slash = end < plen;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end - start > VFS_NAME_MAX)
		return -ENAMETOOLONG;

	if (end == 0) {
		/* "/" or "///": the root itself, no last component. */
		vn = vnode_ref(root_vnode);
		if (!vn)
			return -ENOENT;
	} else {
		err = walk(path, start, &vn);
		if (err)
			return err;
	}
	if (vn->type != VNODE_DIR) {
		vnode_put(vn);
		return -ENOTDIR;
	}
	*dir = vn;
	*name = path + start;
	*len = end - start;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* getcwd                                                                   */
/* ------------------------------------------------------------------------ */

/* Find the name under which `dir` lists `child` (by inode number: both are
 * in the same mount). Returns 0 and fills ent, or -ENOENT. */
static int name_in_parent(struct vnode *dir, struct vnode *child, struct vfs_dirent *ent)
{
	uint64_t pos = 2;

	if (!dir->ops->readdir)
		return -ENOENT;
	for (;;) {
		if (dir->ops->readdir(dir, &pos, ent) <= 0)
			return -ENOENT;
		if (ent->ino == child->ino && !is_dot(ent->name, strlen(ent->name)) &&
		    !is_dotdot(ent->name, strlen(ent->name)))
			return 0;
	}
}

int vfs_path_of(struct vnode *dir, char *buf, size_t size)
{
	struct vfs_dirent *ent;
	struct vnode *cur, *parent;
	char *tmp;
	size_t pos;
	int err = 0;

	tmp = kmalloc(AX_PATH_MAX);
	ent = kmalloc(sizeof(*ent));
	if (!tmp || !ent) {
		kfree(tmp);
		kfree(ent);
		return -ENOMEM;
	}
	pos = AX_PATH_MAX - 1;
	tmp[pos] = '\0';
	cur = vnode_ref(dir);
	while (cur != root_vnode) {
		size_t n;

		if (cur->mnt && cur == cur->mnt->root && cur->mnt->covered) {
			parent = vnode_ref(cur->mnt->covered);
			vnode_put(cur);
			cur = parent;
			continue;
		}
		err = vfs_lookup_component(cur, "..", 2, &parent);
		if (err)
			break;
		if (parent == cur) {
			vnode_put(parent);
			break;
		}
		err = name_in_parent(parent, cur, ent);
		vnode_put(cur);
		cur = parent;
		if (err)
			break;
		n = strlen(ent->name);
		if (n + 1 > pos) {
			err = -ERANGE;
			break;
		}
		pos -= n;
		memcpy(tmp + pos, ent->name, n);
		tmp[--pos] = '/';
	}
	vnode_put(cur);
	if (!err && pos == AX_PATH_MAX - 1)
		tmp[--pos] = '/';
	if (!err) {
		size_t n = AX_PATH_MAX - 1 - pos;

		if (n + 1 > size) {
			err = -ERANGE;
		} else {
			memcpy(buf, tmp + pos, n + 1);
			err = (int)n;
		}
	}
	kfree(tmp);
	kfree(ent);
	return err;
}

/* ------------------------------------------------------------------------ */
/* boot                                                                     */
/* ------------------------------------------------------------------------ */

static void mount_or_panic(struct mount *m, struct vnode *root, const char *path)
{
	int err;

	if (!m || !root)
		panic("vfs: cannot create the file system for %s (out of memory)", path);
	err = vfs_mount(m, root, path);
	if (err)
		panic("vfs: mounting %s on %s failed (%d)", m->fstype, path, err);
}

void vfs_init(void)
{
	struct mount *m;
	struct vnode *root;
	int n, err;

	spin_init(&mount_lock, "mount");
	spin_init(&cwd_lock, "cwd");

	m = mount_alloc("ramfs", "initramfs", false);
	root = m ? ramfs_instance(m) : NULL;
	mount_or_panic(m, root, "/");

	n = cpio_unpack(root, initramfs_start, initramfs_end);
	kprintf("vfs: initramfs %zu bytes, %d entries unpacked\n",
		(size_t)(initramfs_end - initramfs_start), n);

	/* Mount points exist even if the archive did not provide them. */
	err = ramfs_mkdir_at(root, "dev", 3, 0755);
	if (err && err != -EEXIST)
		panic("vfs: cannot create /dev (%d)", err);
	err = ramfs_mkdir_at(root, "proc", 4, 0555);
	if (err && err != -EEXIST)
		panic("vfs: cannot create /proc (%d)", err);

	m = mount_alloc("devfs", "devfs", false);
	mount_or_panic(m, m ? devfs_instance(m) : NULL, "/dev");
	m = mount_alloc("procfs", "proc", true);
	mount_or_panic(m, m ? procfs_instance(m) : NULL, "/proc");
	kprintf("vfs: mounted ramfs on /, devfs on /dev, procfs on /proc\n");
}

/*
 * ramfs.c — the in-memory root file system.
 *
 * Directories are singly linked lists of entries in creation order; each
 * entry holds a reference on its vnode, so a file lives as long as it is
 * linked or open. A directory holds a reference on its parent (for "..")
 * until it is freed.
 *
 * File data lives in RAMFS_BLOCK-sized blocks (one physical frame each,
 * straight from the frame allocator and reached through the direct map)
 * found through a growable array of block pointers. A NULL block is a hole and reads as zeros, so
 * ftruncate() to a large size costs nothing until written. Invariant: every
 * byte of an allocated block past the file size is zero, so growing a file
 * never exposes stale data.
 *
 * Locking: `ns_lock` (one per ramfs instance) protects every directory's
 * entry list, the parent pointers, link and subdirectory counts. Each
 * vnode's own lock protects its data blocks and size. The two are never
 * held together.
 */
#include <fs.h>
#include <mm.h>
#include <axiom/errno.h>

#define RAMFS_BLOCK    ((size_t)PAGE_SIZE)
#define RAMFS_FILE_MAX (64ull << 20)   /* largest file: 64 MiB (-EFBIG beyond) */

struct ramfs_dirent {
	struct ramfs_dirent *next;
	uint64_t pos;                    /* readdir position: ascending along the list */
	struct vnode *vn;                /* referenced */
	size_t len;
	char name[];                     /* NUL-terminated */
};

struct ramfs_node {
	/* directories (under ns_lock) */
	struct ramfs_dirent *entries;
	struct vnode *parent;            /* referenced; NULL for the root */
	uint64_t next_pos;               /* position the next entry gets (from 2) */
	unsigned nsubdirs;
	bool removed;                    /* rmdir'ed or unlinked: no longer in the tree */
	/* regular files (under vnode->lock) */
	char **blocks;
	size_t nblocks;                  /* capacity of blocks[] */
	uint64_t size;
};

struct ramfs_sb {
	struct spinlock ns_lock;
};

static const struct vnode_ops ramfs_vops;
static const struct file_ops ramfs_fops;

static struct ramfs_node *NODE(struct vnode *vn)
{
	return vn->priv;
}

/* A zeroed data block, or NULL when memory is exhausted. */
static char *block_alloc(void)
{
	uint64_t pa = pmm_alloc_page();

	return pa ? phys_to_virt(pa) : NULL;
}

static void block_free(char *blk)
{
	if (blk)
		pmm_free_page(virt_to_phys(blk));
}

static struct spinlock *ns_lock(struct vnode *vn)
{
	return &((struct ramfs_sb *)vn->mnt->priv)->ns_lock;
}

/* Allocate a vnode and its node; the caller links it. */
static struct vnode *ramfs_new_vnode(struct mount *m, uint32_t type, uint32_t perm)
{
	struct ramfs_node *node = kzalloc(sizeof(*node));
	struct vnode *vn;

	if (!node)
		return NULL;
	vn = vnode_alloc(m, type, perm, &ramfs_vops, node);
	if (!vn)
		kfree(node);
	return vn;
}

static struct ramfs_dirent *dirent_new(const char *name, size_t len, struct vnode *vn)
{
	struct ramfs_dirent *d = kmalloc(sizeof(*d) + len + 1);

	if (!d)
		return NULL;
	d->next = NULL;
	d->vn = vn;
	d->len = len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	return d;
}

/* Under ns_lock: the link pointing at entry `name` of `dir`, or NULL. */
static struct ramfs_dirent **find_link(struct vnode *dir, const char *name, size_t len)
{
	for (struct ramfs_dirent **pp = &NODE(dir)->entries; *pp; pp = &(*pp)->next)
		if ((*pp)->len == len && memcmp((*pp)->name, name, len) == 0)
			return pp;
	return NULL;
}

/* Under ns_lock: append an entry at the end of the list (listing order is
 * creation order). Each entry gets a new readdir position, larger than all
 * before it: removing entries while a reader walks the directory never makes
 * it skip or repeat the others. */
static void append_entry(struct vnode *dir, struct ramfs_dirent *d)
{
	struct ramfs_dirent **pp = &NODE(dir)->entries;

	while (*pp)
		pp = &(*pp)->next;
	d->next = NULL;
	if (NODE(dir)->next_pos < 2)
		NODE(dir)->next_pos = 2;
	d->pos = NODE(dir)->next_pos++;
	*pp = d;
	dir->mtime_ns = vfs_now();
}

/* ------------------------------------------------------------------------ */
/* namespace operations                                                     */
/* ------------------------------------------------------------------------ */

static int ramfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
	struct ramfs_dirent **pp;
	int err = 0;

	spin_lock(ns_lock(dir));
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = vnode_ref(NODE(dir)->parent ? NODE(dir)->parent : dir);
	} else if ((pp = find_link(dir, name, len))) {
		*out = vnode_ref((*pp)->vn);
	} else {
		err = -ENOENT;
	}
	spin_unlock(ns_lock(dir));
	return err;
}

static uint8_t dtype_of(struct vnode *vn)
{
	switch (vn->type) {
	case VNODE_DIR: return DT_DIR;
	case VNODE_REG: return DT_REG;
	case VNODE_CHR: return DT_CHR;
	case VNODE_FIFO: return DT_FIFO;
	}
	return DT_UNKNOWN;
}

static int ramfs_readdir(struct vnode *dir, uint64_t *pos, struct vfs_dirent *out)
{
	struct ramfs_dirent *d;
	uint64_t index = *pos;
	int found = 0;

	spin_lock(ns_lock(dir));
	if (index == 0 || index == 1) {
		struct vnode *vn = index == 0 || !NODE(dir)->parent ? dir : NODE(dir)->parent;

		out->ino = vn->ino;
		out->type = DT_DIR;
		strlcpy(out->name, index == 0 ? "." : "..", sizeof(out->name));
		found = 1;
	} else {
		for (d = NODE(dir)->entries; d && d->pos < index; d = d->next)
			;
		if (d) {
			out->ino = d->vn->ino;
			out->type = dtype_of(d->vn);
			strlcpy(out->name, d->name, sizeof(out->name));
			index = d->pos;
			found = 1;
		}
	}
	spin_unlock(ns_lock(dir));
	if (found)
		*pos = index + 1;
	return found;
}

/* Link a new vnode `vn` (one reference, taken over by the entry) under
 * `name` in `dir`. On failure the vnode is released. */
static int link_new(struct vnode *dir, const char *name, size_t len, struct vnode *vn)
{
	struct ramfs_dirent *d = dirent_new(name, len, vn);
	int err = 0;

	if (!d) {
		vnode_put(vn);
		return -ENOSPC;
	}
	spin_lock(ns_lock(dir));
	if (NODE(dir)->removed)
		err = -ENOENT;            /* cannot create in a removed directory */
	else if (find_link(dir, name, len))
		err = -EEXIST;
	if (!err) {
		append_entry(dir, d);
		if (vn->type == VNODE_DIR) {
			NODE(vn)->parent = vnode_ref(dir);
			NODE(dir)->nsubdirs++;
		}
	}
	spin_unlock(ns_lock(dir));
	if (err) {
		kfree(d);
		vnode_put(vn);
	}
	return err;
}

static int ramfs_create(struct vnode *dir, const char *name, size_t len, uint32_t perm,
			struct vnode **out)
{
	struct vnode *vn = ramfs_new_vnode(dir->mnt, VNODE_REG, perm);
	int err;

	if (!vn)
		return -ENOSPC;
	vnode_ref(vn);                    /* one for the entry, one for the caller */
	err = link_new(dir, name, len, vn);
	if (err) {
		vnode_put(vn);
		return err;
	}
	*out = vn;
	return 0;
}

static int ramfs_mkdir(struct vnode *dir, const char *name, size_t len, uint32_t perm)
{
	struct vnode *vn = ramfs_new_vnode(dir->mnt, VNODE_DIR, perm);

	if (!vn)
		return -ENOSPC;
	return link_new(dir, name, len, vn);
}

static int ramfs_unlink(struct vnode *dir, const char *name, size_t len)
{
	struct ramfs_dirent **pp, *d = NULL;
	int err = 0;

	spin_lock(ns_lock(dir));
	pp = find_link(dir, name, len);
	if (!pp) {
		err = -ENOENT;
	} else if ((*pp)->vn->type == VNODE_DIR) {
		err = -EISDIR;
	} else {
		d = *pp;
		*pp = d->next;
		NODE(d->vn)->removed = true;
		dir->mtime_ns = vfs_now();
	}
	spin_unlock(ns_lock(dir));
	if (d) {
		vnode_put(d->vn);         /* open descriptions keep it alive */
		kfree(d);
	}
	return err;
}

static int ramfs_rmdir(struct vnode *dir, const char *name, size_t len)
{
	struct ramfs_dirent **pp, *d = NULL;
	int err = 0;

	spin_lock(ns_lock(dir));
	pp = find_link(dir, name, len);
	if (!pp)
		err = -ENOENT;
	else if ((*pp)->vn->type != VNODE_DIR)
		err = -ENOTDIR;
	else if (__atomic_load_n(&(*pp)->vn->mounted, __ATOMIC_RELAXED))
		err = -EBUSY;
	else if (NODE((*pp)->vn)->entries)
		err = -ENOTEMPTY;
	if (!err) {
		d = *pp;
		*pp = d->next;
		NODE(d->vn)->removed = true;
		NODE(dir)->nsubdirs--;
		dir->mtime_ns = vfs_now();
	}
	spin_unlock(ns_lock(dir));
	if (d) {
		vnode_put(d->vn);         /* a process may still have it as cwd */
		kfree(d);
	}
	return err;
}

/* Under ns_lock: is `dir` equal to `anc` or below it? */
static bool is_within(struct vnode *dir, struct vnode *anc)
{
	for (struct vnode *p = dir; p; p = NODE(p)->parent)
		if (p == anc)
			return true;
	return false;
}

static int ramfs_rename(struct vnode *odir, const char *oname, size_t olen,
			struct vnode *ndir, const char *nname, size_t nlen)
{
	struct ramfs_dirent **spp, **dpp, *src, *dst = NULL, *moved;
	struct vnode *svn, *old_parent = NULL;
	int err = 0;

	moved = dirent_new(nname, nlen, NULL);
	if (!moved)
		return -ENOSPC;

	spin_lock(ns_lock(odir));
	spp = find_link(odir, oname, olen);
	if (!spp) {
		err = -ENOENT;
		goto out;
	}
	src = *spp;
	svn = src->vn;
	dpp = find_link(ndir, nname, nlen);
	if (dpp && (*dpp)->vn == svn)
		goto out;                 /* same file: nothing to do */
	if (NODE(ndir)->removed) {
		err = -ENOENT;
		goto out;
	}
	if (svn->type == VNODE_DIR) {
		if (svn->mounted) {
			err = -EBUSY;
			goto out;
		}
		if (is_within(ndir, svn)) {
			err = -EINVAL;    /* into its own subtree */
			goto out;
		}
		if (dpp && (*dpp)->vn->type != VNODE_DIR)
			err = -ENOTDIR;
		else if (dpp && (*dpp)->vn->mounted)
			err = -EBUSY;
		else if (dpp && NODE((*dpp)->vn)->entries)
			err = -ENOTEMPTY;
	} else if (dpp && (*dpp)->vn->type == VNODE_DIR) {
		err = -EISDIR;
	}
	if (err)
		goto out;

	/* Drop the replaced entry, if any. */
	if (dpp) {
		dst = *dpp;
		*dpp = dst->next;
		NODE(dst->vn)->removed = true;
		if (dst->vn->type == VNODE_DIR)
			NODE(ndir)->nsubdirs--;
	}
	/* Unlink the source (find it again: removing dst may have moved the
	 * link that pointed at it) and relink it under the new name. */
	spp = find_link(odir, oname, olen);
	*spp = src->next;
	moved->vn = svn;
	append_entry(ndir, moved);
	moved = NULL;
	odir->mtime_ns = vfs_now();
	if (svn->type == VNODE_DIR && odir != ndir) {
		old_parent = NODE(svn)->parent;
		NODE(svn)->parent = vnode_ref(ndir);
		NODE(odir)->nsubdirs--;
		NODE(ndir)->nsubdirs++;
	}
	kfree(src);
out:
	spin_unlock(ns_lock(odir));
	kfree(moved);
	if (dst) {
		vnode_put(dst->vn);
		kfree(dst);
	}
	vnode_put(old_parent);
	return err;
}

static void ramfs_getattr(struct vnode *vn, struct ax_stat *st)
{
	struct ramfs_node *node = NODE(vn);

	if (vn->type == VNODE_DIR) {
		spin_lock(ns_lock(vn));
		st->st_nlink = node->removed ? 0 : 2 + node->nsubdirs;
		spin_unlock(ns_lock(vn));
		st->st_size = 0;
	} else {
		spin_lock(ns_lock(vn));
		st->st_nlink = node->removed ? 0 : 1;
		spin_unlock(ns_lock(vn));
		spin_lock(&vn->lock);
		st->st_size = node->size;
		spin_unlock(&vn->lock);
	}
}

/* ------------------------------------------------------------------------ */
/* file data                                                                */
/* ------------------------------------------------------------------------ */

/* Under vn->lock: make room for `need` block pointers. */
static int grow_block_array(struct ramfs_node *node, size_t need)
{
	size_t cap;
	char **nb;

	if (need <= node->nblocks)
		return 0;
	cap = node->nblocks ? node->nblocks : 4;
	while (cap < need)
		cap *= 2;
	nb = kzalloc(cap * sizeof(*nb));
	if (!nb)
		return -ENOSPC;
	if (node->blocks)
		memcpy(nb, node->blocks, node->nblocks * sizeof(*nb));
	kfree(node->blocks);
	node->blocks = nb;
	node->nblocks = cap;
	return 0;
}

/* Under vn->lock: set the size to `len`, freeing blocks past it and zeroing
 * the tail of the last one. A file grown by truncate is sparse: its block
 * array may be shorter than the size (or absent), and a hole reads as zeros,
 * so the block that holds the new end may not exist. */
static void set_size(struct ramfs_node *node, uint64_t len)
{
	if (len < node->size) {
		size_t keep = (size_t)((len + RAMFS_BLOCK - 1) / RAMFS_BLOCK);
		size_t last = (size_t)(len / RAMFS_BLOCK);

		for (size_t i = keep; i < node->nblocks; i++) {
			block_free(node->blocks[i]);
			node->blocks[i] = NULL;
		}
		if (len % RAMFS_BLOCK && last < node->nblocks && node->blocks[last])
			memset(node->blocks[last] + len % RAMFS_BLOCK, 0, RAMFS_BLOCK - len % RAMFS_BLOCK);
	}
	node->size = len;
}

static int ramfs_truncate(struct vnode *vn, uint64_t len)
{
	if (vn->type != VNODE_REG)
		return -EINVAL;
	if (len > RAMFS_FILE_MAX)
		return -EFBIG;
	spin_lock(&vn->lock);
	set_size(NODE(vn), len);
	vn->mtime_ns = vfs_now();
	spin_unlock(&vn->lock);
	return 0;
}

static long ramfs_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	struct vnode *vn = f->vn;
	struct ramfs_node *node = NODE(vn);
	uint64_t pos = *off;
	size_t done = 0;

	spin_lock(&vn->lock);
	if (pos < node->size)
		n = (size_t)MIN((uint64_t)n, node->size - pos);
	else
		n = 0;
	while (done < n) {
		size_t bi = (size_t)(pos / RAMFS_BLOCK), bo = (size_t)(pos % RAMFS_BLOCK);
		size_t chunk = MIN(n - done, RAMFS_BLOCK - bo);
		char *blk = bi < node->nblocks ? node->blocks[bi] : NULL;

		if (blk)
			memcpy((char *)kbuf + done, blk + bo, chunk);
		else
			memset((char *)kbuf + done, 0, chunk);
		done += chunk;
		pos += chunk;
	}
	spin_unlock(&vn->lock);
	*off = pos;
	return (long)done;
}

static long ramfs_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	struct vnode *vn = f->vn;
	struct ramfs_node *node = NODE(vn);
	uint64_t pos;
	size_t done = 0;
	long err = 0;

	spin_lock(&vn->lock);
	pos = (f->flags & O_APPEND) ? node->size : *off;
	if (pos >= RAMFS_FILE_MAX) {
		err = -EFBIG;
		goto out;
	}
	n = (size_t)MIN((uint64_t)n, RAMFS_FILE_MAX - pos);
	if (n == 0)
		goto out;
	err = grow_block_array(node, (size_t)((pos + n + RAMFS_BLOCK - 1) / RAMFS_BLOCK));
	if (err)
		goto out;
	while (done < n) {
		size_t bi = (size_t)(pos / RAMFS_BLOCK), bo = (size_t)(pos % RAMFS_BLOCK);
		size_t chunk = MIN(n - done, RAMFS_BLOCK - bo);

		if (!node->blocks[bi]) {
			node->blocks[bi] = block_alloc();
			if (!node->blocks[bi]) {
				err = -ENOSPC;
				break;
			}
		}
		memcpy(node->blocks[bi] + bo, (const char *)kbuf + done, chunk);
		done += chunk;
		pos += chunk;
	}
	if (pos > node->size && done)
		node->size = pos;
	if (done)
		vn->mtime_ns = vfs_now();
out:
	spin_unlock(&vn->lock);
	if (done) {
		*off = pos;
		return (long)done;
	}
	return err;
}

static int ramfs_open(struct vnode *vn, struct file *f)
{
	f->ops = &ramfs_fops;
	return 0;
}

static void ramfs_release(struct vnode *vn)
{
	struct ramfs_node *node = NODE(vn);
	struct ramfs_dirent *d, *next;

	for (size_t i = 0; i < node->nblocks; i++)
		block_free(node->blocks[i]);
	kfree(node->blocks);
	/* Only a removed (hence empty) directory is ever released; free any
	 * entries defensively all the same. */
	for (d = node->entries; d; d = next) {
		next = d->next;
		vnode_put(d->vn);
		kfree(d);
	}
	vnode_put(node->parent);
	kfree(node);
}

static const struct vnode_ops ramfs_vops = {
	.lookup = ramfs_lookup,
	.readdir = ramfs_readdir,
	.create = ramfs_create,
	.mkdir = ramfs_mkdir,
	.unlink = ramfs_unlink,
	.rmdir = ramfs_rmdir,
	.rename = ramfs_rename,
	.truncate = ramfs_truncate,
	.getattr = ramfs_getattr,
	.open = ramfs_open,
	.release = ramfs_release,
};

static const struct file_ops ramfs_fops = {
	.read = ramfs_read,
	.write = ramfs_write,
	.flags = FOPS_SEEKABLE,
};

/* ------------------------------------------------------------------------ */
/* instance creation and kernel-internal helpers                            */
/* ------------------------------------------------------------------------ */

struct vnode *ramfs_instance(struct mount *m)
{
	struct ramfs_sb *sb = kzalloc(sizeof(*sb));
	struct vnode *root;

	if (!sb)
		return NULL;
	spin_init(&sb->ns_lock, "ramfs-ns");
	m->priv = sb;
	root = ramfs_new_vnode(m, VNODE_DIR, 0755);
	if (!root) {
		m->priv = NULL;
		kfree(sb);
	}
	return root;
}

int ramfs_mkdir_at(struct vnode *dir, const char *name, size_t len, uint32_t perm)
{
	if (dir->ops != &ramfs_vops || dir->type != VNODE_DIR)
		return -EINVAL;
	return ramfs_mkdir(dir, name, len, perm);
}

int ramfs_create_file(struct vnode *dir, const char *name, size_t len, uint32_t perm,
		      const void *data, size_t size)
{
	struct file tmp;
	struct vnode *vn;
	uint64_t off = 0;
	long r;
	int err;

	if (dir->ops != &ramfs_vops || dir->type != VNODE_DIR)
		return -EINVAL;
	err = ramfs_create(dir, name, len, perm, &vn);
	if (err)
		return err;
	/* ramfs_write only needs f->vn and f->flags. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.vn = vn;
	tmp.flags = O_WRONLY;
	r = size ? ramfs_write(&tmp, data, size, &off) : 0;
	vnode_put(vn);
	if (r < 0)
		return (int)r;
	return (size_t)r == size ? 0 : -ENOSPC;
}

/*
 * devfs.c — the device file system mounted on /dev.
 *
 *   null     reads give end of file, writes are discarded
 *   zero     reads give zeros, writes are discarded
 *   console  the serial console (console_read blocks for at least one byte)
 *   kmsg     the kernel log: each read() returns one record, like Linux
 *            /dev/kmsg, starting at the oldest record still in the ring; a
 *            per-open sequence number remembers the position; at the newest
 *            record read() returns 0. A write() logs its text at KLOG_INFO.
 *   crash    writing a keyword (see crash.h; a trailing newline is allowed)
 *            injects that crash; unknown keywords give -EINVAL
 *
 * The set of devices is fixed: their vnodes are created with the instance
 * and live forever (devfs holds a reference on each).
 */
#include <fs.h>
#include <console.h>
#include <crash.h>
#include <klog.h>
#include <axiom/errno.h>

#define MKDEV(major, minor) (((uint64_t)(major) << 8) | (minor))
#define KMSG_RECORD_MAX 1024   /* longest record read() returns */
#define KMSG_WRITE_MAX 200      /* longest text a write() logs */
#define CRASH_KEYWORD_MAX 32

struct devfs_dev {
	const char *name;
	uint64_t rdev;
	const struct file_ops *fops;
	int (*open)(struct file *f);   /* optional per-open setup */
};

/* ---- null and zero ---- */

static long null_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	return 0;
}

static long sink_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	return (long)n;
}

static long zero_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	memset(kbuf, 0, n);
	return (long)n;
}

/* Seeking /dev/null or /dev/zero always succeeds and lands at 0 (Linux). */
static long dev_lseek_zero(struct file *f, long off, int whence)
{
	return 0;
}

static const struct file_ops null_fops = {
	.read = null_read, .write = sink_write, .lseek = dev_lseek_zero,
};
static const struct file_ops zero_fops = {
	.read = zero_read, .write = sink_write, .lseek = dev_lseek_zero,
};

/* ---- console ---- */

static long console_dev_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	return console_read(kbuf, n);
}

static long console_dev_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	console_write(kbuf, n);
	return (long)n;
}

static const struct file_ops console_fops = {
	.read = console_dev_read, .write = console_dev_write, .flags = FOPS_READ_ONCE,
};

/* ---- kmsg ---- */

struct kmsg_state {
	uint64_t seq;                  /* next record to return (under f->lock) */
	char rec[KMSG_RECORD_MAX];
};

static int kmsg_open(struct file *f)
{
	struct kmsg_state *st = kzalloc(sizeof(*st));

	if (!st)
		return -ENOMEM;
	f->priv = st;
	return 0;
}

static long kmsg_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	struct kmsg_state *st = f->priv;
	uint64_t seq;
	size_t len;

	spin_lock(&f->lock);
	seq = st->seq;
	len = klog_read(&seq, st->rec, sizeof(st->rec));
	if (len > 0 && len <= n) {
		memcpy(kbuf, st->rec, len);
		st->seq = seq;            /* consumed */
	}
	spin_unlock(&f->lock);
	if (len > n)
		return -EINVAL;           /* buffer too small for the record (Linux) */
	return (long)len;
}

static long kmsg_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	const char *s = kbuf;
	char line[KMSG_WRITE_MAX + 1];
	size_t len = MIN(n, (size_t)KMSG_WRITE_MAX);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\0'))
		len--;
	if (len > 0) {
		memcpy(line, s, len);
		line[len] = '\0';
		klog(KLOG_INFO, "%s\n", line);
	}
	return (long)n;
}

static void kmsg_release(struct file *f)
{
	kfree(f->priv);
}

static const struct file_ops kmsg_fops = {
	.read = kmsg_read, .write = kmsg_write, .release = kmsg_release,
	.flags = FOPS_READ_ONCE,
};

/* ---- crash ---- */

static long crash_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	char kw[CRASH_KEYWORD_MAX + 1];
	size_t len = n;
	int err;

	while (len > 0 && (((const char *)kbuf)[len - 1] == '\n' ||
			   ((const char *)kbuf)[len - 1] == ' ' ||
			   ((const char *)kbuf)[len - 1] == '\0'))
		len--;
	if (len == 0 || len > CRASH_KEYWORD_MAX)
		return -EINVAL;
	memcpy(kw, kbuf, len);
	kw[len] = '\0';
	err = crash_inject(kw);
	return err < 0 ? err : (long)n;
}

static const struct file_ops crash_fops = {
	.read = null_read, .write = crash_write,
};

/* ------------------------------------------------------------------------ */
/* the directory                                                            */
/* ------------------------------------------------------------------------ */

static const struct devfs_dev devices[] = {
	{ "null",    MKDEV(1, 3),   &null_fops,    NULL },
	{ "zero",    MKDEV(1, 5),   &zero_fops,    NULL },
	{ "console", MKDEV(5, 1),   &console_fops, NULL },
	{ "kmsg",    MKDEV(1, 11),  &kmsg_fops,    kmsg_open },
	{ "crash",   MKDEV(10, 240), &crash_fops,  NULL },
};
#define NDEVICES ARRAY_SIZE(devices)

/* Set once by devfs_instance() and never changed: no lock needed. */
static struct vnode *dev_root;
static struct vnode *dev_nodes[NDEVICES];

static int devfs_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = vnode_ref(dir);
		return 0;
	}
	for (size_t i = 0; i < NDEVICES; i++) {
		if (strlen(devices[i].name) == len && memcmp(devices[i].name, name, len) == 0) {
			*out = vnode_ref(dev_nodes[i]);
			return 0;
		}
	}
	return -ENOENT;
}

static int devfs_readdir(struct vnode *dir, uint64_t *pos, struct vfs_dirent *out)
{
	uint64_t index = (*pos)++;

	if (index < 2) {
		out->ino = dir->ino;
		out->type = DT_DIR;
		strlcpy(out->name, index == 0 ? "." : "..", sizeof(out->name));
		return 1;
	}
	if (index - 2 >= NDEVICES) {
		*pos = index;
		return 0;
	}
	out->ino = dev_nodes[index - 2]->ino;
	out->type = DT_CHR;
	strlcpy(out->name, devices[index - 2].name, sizeof(out->name));
	return 1;
}

static void devfs_getattr(struct vnode *vn, struct ax_stat *st)
{
	st->st_nlink = vn->type == VNODE_DIR ? 2 : 1;
}

static int devfs_open(struct vnode *vn, struct file *f)
{
	const struct devfs_dev *dev = vn->priv;

	f->ops = dev->fops;
	return dev->open ? dev->open(f) : 0;
}

static const struct vnode_ops devfs_dir_vops = {
	.lookup = devfs_lookup,
	.readdir = devfs_readdir,
	.getattr = devfs_getattr,
};

static const struct vnode_ops devfs_dev_vops = {
	.getattr = devfs_getattr,
	.open = devfs_open,
};

struct vnode *devfs_instance(struct mount *m)
{
	if (dev_root)
		return NULL;              /* one instance only */
	dev_root = vnode_alloc(m, VNODE_DIR, 0755, &devfs_dir_vops, NULL);
	if (!dev_root)
		return NULL;
	for (size_t i = 0; i < NDEVICES; i++) {
		dev_nodes[i] = vnode_alloc(m, VNODE_CHR, 0666, &devfs_dev_vops,
					   (void *)&devices[i]);
		if (!dev_nodes[i])
			panic("devfs: out of memory");
		dev_nodes[i]->rdev = devices[i].rdev;
	}
	/* devfs keeps its own reference on the root; the mount takes another. */
	return vnode_ref(dev_root);
}

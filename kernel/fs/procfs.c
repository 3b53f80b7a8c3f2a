/*
 * procfs.c — read-only text views computed by the kernel, mounted on /proc.
 *
 *   /proc/processes   proc_view_processes()     (spine; format in docs/kernel.md)
 *   /proc/threads     proc_view_threads()
 *   /proc/meminfo     pmm_view()
 *   /proc/mounts      vfs_view_mounts()         "<source> <mountpoint> <fstype> <rw|ro> 0 0"
 *   /proc/cpus        cpu_view()
 *   /proc/layout      layout_view()
 *   /proc/cmdline     kernel_cmdline() and a newline
 *   /proc/<pid>/maps  proc_view_maps(pid)       one directory per live process
 *
 * The text of a file is generated once, when it is opened, into a snapshot
 * owned by the open file description; read() and lseek() then walk that
 * snapshot, so a reader sees one consistent view even across many reads.
 * Files report st_size 0 (the size is unknown until opened), like Linux.
 *
 * Inode numbers: root 1, fixed files 2.., /proc/<pid> 0x10000 + 2*pid and
 * /proc/<pid>/maps 0x10000 + 2*pid + 1.
 */
#include <fs.h>
#include <proc.h>
#include <sbuf.h>
#include <mm.h>
#include <layout.h>
#include <axiom/errno.h>

#define PROC_SNAPSHOT_MIN (4096 - 16)  /* one frame with the kmalloc header */
#define PROC_SNAPSHOT_MAX (4u << 20)
#define PROC_INO_PID_BASE 0x10000u
#define PROC_POS_PIDS 9              /* readdir position of pid p: 9 + p */

enum proc_kind {
	PK_PROCESSES, PK_THREADS, PK_MEMINFO, PK_MOUNTS, PK_CPUS, PK_LAYOUT, PK_CMDLINE,
	PK_NFIXED,
	PK_MAPS = PK_NFIXED,
	PK_PIDDIR,
};

static const char *const fixed_names[PK_NFIXED] = {
	[PK_PROCESSES] = "processes",
	[PK_THREADS] = "threads",
	[PK_MEMINFO] = "meminfo",
	[PK_MOUNTS] = "mounts",
	[PK_CPUS] = "cpus",
	[PK_LAYOUT] = "layout",
	[PK_CMDLINE] = "cmdline",
};

/* vnode->priv of every procfs vnode except the root */
struct proc_node {
	enum proc_kind kind;
	int pid;                         /* PK_MAPS and PK_PIDDIR */
};

struct proc_snapshot {
	size_t len;
	char *text;
};

static struct mount *proc_mnt;
static struct vnode *proc_root;
static struct vnode *fixed_vnodes[PK_NFIXED];
static const struct vnode_ops proc_root_vops, proc_piddir_vops, proc_file_vops;

/* ------------------------------------------------------------------------ */
/* snapshots                                                                */
/* ------------------------------------------------------------------------ */

static int generate(const struct proc_node *pn, struct sbuf *sb)
{
	switch (pn->kind) {
	case PK_PROCESSES: proc_view_processes(sb); return 0;
	case PK_THREADS:   proc_view_threads(sb); return 0;
	case PK_MEMINFO:   pmm_view(sb); return 0;
	case PK_MOUNTS:    vfs_view_mounts(sb); return 0;
	case PK_CPUS:      cpu_view(sb); return 0;
	case PK_LAYOUT:    layout_view(sb); return 0;
	case PK_CMDLINE:   sbuf_printf(sb, "%s\n", kernel_cmdline() ? kernel_cmdline() : ""); return 0;
	case PK_MAPS:      return proc_view_maps(pn->pid, sb) < 0 ? -ENOENT : 0;
	case PK_PIDDIR:    break;
	}
	return -EINVAL;
}

/* Render the view into a buffer that is grown until the text fits. */
static int snapshot_take(const struct proc_node *pn, struct proc_snapshot **out)
{
	struct proc_snapshot *snap = kzalloc(sizeof(*snap));
	size_t size = PROC_SNAPSHOT_MIN;
	int err;

	if (!snap)
		return -ENOMEM;
	for (;;) {
		struct sbuf sb;

		sb.buf = kmalloc(size);
		if (!sb.buf) {
			kfree(snap);
			return -ENOMEM;
		}
		sb.size = size;
		sb.len = 0;
		sb.buf[0] = '\0';
		err = generate(pn, &sb);
		if (err) {
			kfree(sb.buf);
			kfree(snap);
			return err;
		}
		/* A full buffer may mean truncated text: retry larger. */
		if (sb.len + 1 < size || size >= PROC_SNAPSHOT_MAX) {
			snap->text = sb.buf;
			snap->len = MIN(sb.len, size - 1);
			*out = snap;
			return 0;
		}
		kfree(sb.buf);
		size *= 2;
	}
}

static int proc_file_open(struct vnode *vn, struct file *f);

static long proc_file_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	struct proc_snapshot *snap = f->priv;

	return fs_read_buffer(snap->text, snap->len, kbuf, n, off);
}

static void proc_file_release(struct file *f)
{
	struct proc_snapshot *snap = f->priv;

	if (snap) {
		kfree(snap->text);
		kfree(snap);
	}
}

static const struct file_ops proc_fops = {
	.read = proc_file_read,
	.release = proc_file_release,
	.flags = FOPS_SEEKABLE,
};

static int proc_file_open(struct vnode *vn, struct file *f)
{
	struct proc_snapshot *snap;
	int err = snapshot_take(vn->priv, &snap);

	if (err)
		return err;
	f->priv = snap;
	f->ops = &proc_fops;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* process directories                                                      */
/* ------------------------------------------------------------------------ */

/* Live pids, ascending, in a kmalloc'ed array (*n entries). */
static int *list_pids(int *n)
{
	int max = 64;

	for (;;) {
		int *pids = kmalloc((size_t)max * sizeof(int));
		int count;

		if (!pids)
			return NULL;
		count = proc_list_pids(pids, max);
		if (count <= max) {
			*n = count < 0 ? 0 : count;
			return pids;
		}
		kfree(pids);
		max = count + 16;
	}
}

static bool pid_alive(int pid)
{
	int n, *pids = list_pids(&n);
	bool alive = false;

	if (!pids)
		return false;
	for (int i = 0; i < n; i++)
		alive |= pids[i] == pid;
	kfree(pids);
	return alive;
}

/* A fresh vnode for /proc/<pid> or /proc/<pid>/maps. */
static struct vnode *pid_vnode(enum proc_kind kind, int pid)
{
	struct proc_node *pn = kzalloc(sizeof(*pn));
	struct vnode *vn;

	if (!pn)
		return NULL;
	pn->kind = kind;
	pn->pid = pid;
	if (kind == PK_PIDDIR)
		vn = vnode_alloc(proc_mnt, VNODE_DIR, 0555, &proc_piddir_vops, pn);
	else
		vn = vnode_alloc(proc_mnt, VNODE_REG, 0444, &proc_file_vops, pn);
	if (!vn) {
		kfree(pn);
		return NULL;
	}
	vn->ino = PROC_INO_PID_BASE + 2 * (uint64_t)pid + (kind == PK_MAPS);
	return vn;
}

/* Parse a canonical decimal pid ("0" or no leading zero, fits an int). */
static int parse_pid(const char *name, size_t len)
{
	int pid = 0;

	if (len == 0 || len > 9 || (len > 1 && name[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		pid = pid * 10 + (name[i] - '0');
	}
	return pid;
}

static int piddir_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
	const struct proc_node *pn = dir->priv;

	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = vnode_ref(proc_root);
		return 0;
	}
	if (len != 4 || memcmp(name, "maps", 4) != 0)
		return -ENOENT;
	*out = pid_vnode(PK_MAPS, pn->pid);
	return *out ? 0 : -ENOMEM;
}

static int piddir_readdir(struct vnode *dir, uint64_t *pos, struct vfs_dirent *out)
{
	const struct proc_node *pn = dir->priv;
	uint64_t index = *pos;

	switch (index) {
	case 0:
		out->ino = dir->ino;
		out->type = DT_DIR;
		strlcpy(out->name, ".", sizeof(out->name));
		break;
	case 1:
		out->ino = proc_root->ino;
		out->type = DT_DIR;
		strlcpy(out->name, "..", sizeof(out->name));
		break;
	case 2:
		out->ino = PROC_INO_PID_BASE + 2 * (uint64_t)pn->pid + 1;
		out->type = DT_REG;
		strlcpy(out->name, "maps", sizeof(out->name));
		break;
	default:
		return 0;
	}
	*pos = index + 1;
	return 1;
}

static void proc_node_release(struct vnode *vn)
{
	kfree(vn->priv);
}

/* ------------------------------------------------------------------------ */
/* the root directory                                                       */
/* ------------------------------------------------------------------------ */

static int root_lookup(struct vnode *dir, const char *name, size_t len, struct vnode **out)
{
	int pid;

	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = vnode_ref(dir);
		return 0;
	}
	for (int k = 0; k < PK_NFIXED; k++) {
		if (strlen(fixed_names[k]) == len && memcmp(fixed_names[k], name, len) == 0) {
			*out = vnode_ref(fixed_vnodes[k]);
			return 0;
		}
	}
	pid = parse_pid(name, len);
	if (pid < 0 || !pid_alive(pid))
		return -ENOENT;
	*out = pid_vnode(PK_PIDDIR, pid);
	return *out ? 0 : -ENOMEM;
}

static int root_readdir(struct vnode *dir, uint64_t *pos, struct vfs_dirent *out)
{
	uint64_t index = *pos;
	int n, *pids, found = 0;

	if (index < 2) {
		out->ino = dir->ino;
		out->type = DT_DIR;
		strlcpy(out->name, index == 0 ? "." : "..", sizeof(out->name));
		*pos = index + 1;
		return 1;
	}
	if (index < 2 + PK_NFIXED) {
		out->ino = fixed_vnodes[index - 2]->ino;
		out->type = DT_REG;
		strlcpy(out->name, fixed_names[index - 2], sizeof(out->name));
		*pos = index + 1;
		return 1;
	}
	/* Process directories: the first live pid >= index - PROC_POS_PIDS. */
	if (index < PROC_POS_PIDS)
		index = PROC_POS_PIDS;
	pids = list_pids(&n);
	if (!pids)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if ((uint64_t)pids[i] + PROC_POS_PIDS >= index) {
			out->ino = PROC_INO_PID_BASE + 2 * (uint64_t)pids[i];
			out->type = DT_DIR;
			snprintf(out->name, sizeof(out->name), "%d", pids[i]);
			*pos = (uint64_t)pids[i] + PROC_POS_PIDS + 1;
			found = 1;
			break;
		}
	}
	kfree(pids);
	return found;
}

static void proc_getattr(struct vnode *vn, struct ax_stat *st)
{
	st->st_nlink = vn->type == VNODE_DIR ? 2 : 1;
	st->st_size = 0;
}

static const struct vnode_ops proc_root_vops = {
	.lookup = root_lookup,
	.readdir = root_readdir,
	.getattr = proc_getattr,
};

static const struct vnode_ops proc_piddir_vops = {
	.lookup = piddir_lookup,
	.readdir = piddir_readdir,
	.getattr = proc_getattr,
	.release = proc_node_release,
};

/* Fixed files are never released (procfs keeps a reference); /proc/<pid>/maps
 * vnodes are, and free their node. */
static const struct vnode_ops proc_file_vops = {
	.getattr = proc_getattr,
	.open = proc_file_open,
	.release = proc_node_release,
};

struct vnode *procfs_instance(struct mount *m)
{
	if (proc_root)
		return NULL;              /* one instance only */
	proc_mnt = m;
	proc_root = vnode_alloc(m, VNODE_DIR, 0555, &proc_root_vops, NULL);
	if (!proc_root)
		return NULL;
	proc_root->ino = 1;
	for (int k = 0; k < PK_NFIXED; k++) {
		struct proc_node *pn = kzalloc(sizeof(*pn));

		if (!pn)
			panic("procfs: out of memory");
		pn->kind = (enum proc_kind)k;
		fixed_vnodes[k] = vnode_alloc(m, VNODE_REG, 0444, &proc_file_vops, pn);
		if (!fixed_vnodes[k])
			panic("procfs: out of memory");
		fixed_vnodes[k]->ino = 2 + (uint64_t)k;
	}
	return vnode_ref(proc_root);
}

/*
 * cpio.c — unpack a "newc" cpio archive (the initramfs) into ramfs.
 *
 * newc layout: a 110-byte ASCII header ("070701" or "070702", then 13
 * eight-digit hex fields), the NUL-terminated name, padding to a multiple
 * of 4, the file data, padding to a multiple of 4. The archive ends with the
 * entry named "TRAILER!!!". Directories and regular files are created;
 * missing parent directories are created on the way; other types (symlinks,
 * device nodes) are skipped with a message.
 *
 * The archive is untrusted input: every length is checked against the end
 * of the image before use, and any inconsistency stops unpacking with a
 * klog message naming the offset. Nothing here can crash the kernel.
 */
#include <fs.h>
#include <axiom/errno.h>

#define CPIO_HDR_LEN 110

enum cpio_field {
	F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE,
	F_DEVMAJOR, F_DEVMINOR, F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK,
	F_COUNT
};

/* Parse 8 hex digits; false if any is not a hex digit. */
static bool parse_hex8(const uint8_t *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t c = s[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

/* Walk/create the directories of `path` except its last component, in the
 * ramfs tree under `root`. Returns the parent directory (referenced) and
 * the last component in *name and *len. */
static int make_parents(struct vnode *root, const char *path, struct vnode **parent,
			const char **name, size_t *len)
{
	struct vnode *dir = vnode_ref(root), *next;
	const char *p = path;

	for (;;) {
		const char *s;
		size_t n;
		int err;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		while (*p == '/')
			p++;
		if (!*p) {                        /* s..s+n is the last component */
			*parent = dir;
			*name = s;
			*len = n;
			return 0;
		}
		if (n > VFS_NAME_MAX) {
			vnode_put(dir);
			return -ENAMETOOLONG;
		}
		err = vfs_lookup_component(dir, s, n, &next);
		if (err == -ENOENT) {
			err = ramfs_mkdir_at(dir, s, n, 0755);
			if (!err)
				err = vfs_lookup_component(dir, s, n, &next);
		}
		vnode_put(dir);
		if (err)
			return err;
		if (next->type != VNODE_DIR) {
			vnode_put(next);
			return -ENOTDIR;
		}
		dir = next;
	}
}

/* Create one archive member. */
static int unpack_entry(struct vnode *root, const char *path, uint32_t mode,
			const uint8_t *data, size_t size)
{
	struct vnode *dir;
	const char *name;
	size_t len;
	int err;

	/* Skip a leading "./" (as find(1) produces) and the entry ".". */
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (strcmp(path, ".") == 0 || path[0] == '\0')
		return 0;
	err = make_parents(root, path, &dir, &name, &len);
	if (err)
		return err;
	if (len == 0 || len > VFS_NAME_MAX || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.')) {
		err = -EINVAL;
	} else if ((mode & S_IFMT) == S_IFDIR) {
		err = ramfs_mkdir_at(dir, name, len, mode & 07777);
		if (err == -EEXIST)
			err = 0;
	} else if ((mode & S_IFMT) == S_IFREG) {
		err = ramfs_create_file(dir, name, len, mode & 07777, data, size);
	} else {
		kprintf("vfs: initramfs: skipping '%s' (unsupported type 0x%x)\n", path,
			mode & S_IFMT);
		err = 1;                           /* not an error, not an entry */
	}
	vnode_put(dir);
	return err;
}

int cpio_unpack(struct vnode *root, const uint8_t *start, const uint8_t *end)
{
	const uint8_t *p = start;
	int entries = 0;

	if (!start || !end || end <= start) {
		klog(KLOG_WARN, "vfs: initramfs is empty\n");
		return 0;
	}
	for (;;) {
		size_t off = (size_t)(p - start), left = (size_t)(end - p);
		uint32_t f[F_COUNT];
		const char *name;
		const uint8_t *data;
		size_t namesize, filesize, hdr_and_name, data_pad;
		int err;

		if (left == 0) {
			klog(KLOG_WARN, "vfs: initramfs: archive ends without a TRAILER!!! entry\n");
			break;
		}
		if (left < CPIO_HDR_LEN) {
			klog(KLOG_ERR, "vfs: initramfs: truncated header at offset %zu (%zu bytes left)\n",
			     off, left);
			break;
		}
		if (memcmp(p, "070701", 6) != 0 && memcmp(p, "070702", 6) != 0) {
			klog(KLOG_ERR, "vfs: initramfs: bad magic at offset %zu (not a newc cpio)\n", off);
			break;
		}
		bool ok = true;
		for (int i = 0; i < F_COUNT && ok; i++)
			ok = parse_hex8(p + 6 + 8 * i, &f[i]);
		if (!ok) {
			klog(KLOG_ERR, "vfs: initramfs: malformed header field at offset %zu\n", off);
			break;
		}
		namesize = f[F_NAMESIZE];
		filesize = f[F_FILESIZE];
		hdr_and_name = ALIGN_UP(CPIO_HDR_LEN + namesize, (size_t)4);
		if (namesize == 0 || namesize > left - CPIO_HDR_LEN || hdr_and_name > left) {
			klog(KLOG_ERR, "vfs: initramfs: truncated name at offset %zu\n", off);
			break;
		}
		name = (const char *)p + CPIO_HDR_LEN;
		if (name[namesize - 1] != '\0' || strnlen(name, namesize) != namesize - 1) {
			klog(KLOG_ERR, "vfs: initramfs: name not NUL-terminated at offset %zu\n", off);
			break;
		}
		if (strcmp(name, "TRAILER!!!") == 0)
			break;
		if (namesize - 1 >= AX_PATH_MAX) {
			klog(KLOG_ERR, "vfs: initramfs: name too long at offset %zu\n", off);
			break;
		}
		data = p + hdr_and_name;
		if (filesize > left - hdr_and_name) {
			klog(KLOG_ERR, "vfs: initramfs: '%s' data truncated (%zu bytes, %zu left)\n",
			     name, filesize, left - hdr_and_name);
			break;
		}
		data_pad = ALIGN_UP(filesize, (size_t)4);
		err = unpack_entry(root, name, f[F_MODE], data, filesize);
		if (err < 0)
			klog(KLOG_WARN, "vfs: initramfs: cannot create '%s' (%d)\n", name, err);
		else if (err == 0)
			entries++;
		/* The padding after the last member may be missing. */
		if (data_pad > left - hdr_and_name)
			data_pad = left - hdr_and_name;
		p += hdr_and_name + data_pad;
	}
	return entries;
}

#!/usr/bin/env python3
"""Pack a directory tree into a cpio archive in the "newc" format (the
format of Linux initramfs images), for the axiom kernel's initramfs.

    python3 scripts/mkcpio.py OUT DIR

Entries are named relative to DIR without a leading "/" or "./" (e.g. "bin",
"bin/init"), directories before their contents, sorted by name. Only
directories and regular files are stored; modes are normalised (0755 for
directories and executables, 0644 for other files), owners are 0 and times
are 0, so the archive depends only on the tree's contents. Standard library
only.
"""
import os
import stat
import sys

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


def pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def entry(ino: int, mode: int, name: str, data: bytes = b"", nlink: int = 1) -> bytes:
    name_bytes = name.encode() + b"\0"
    fields = [
        ino, mode, 0, 0, nlink, 0,  # ino mode uid gid nlink mtime
        len(data), 0, 0, 0, 0,      # filesize devmajor devminor rdevmajor rdevminor
        len(name_bytes), 0,         # namesize check
    ]
    header = MAGIC + b"".join(b"%08x" % f for f in fields)
    out = header + name_bytes
    out += pad4(len(out))
    out += data + pad4(len(data))
    return out


def collect(root: str) -> list[tuple[str, str]]:
    """(archive name, host path) pairs, parents before children."""
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            items.append((rel.replace(os.sep, "/"), dirpath))
        for f in sorted(filenames):
            path = os.path.join(dirpath, f)
            name = os.path.normpath(os.path.join(rel, f)).replace(os.sep, "/")
            items.append((name, path))
    return items


def build(root: str) -> bytes:
    out = bytearray()
    ino = 1
    for name, path in collect(root):
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            out += entry(ino, stat.S_IFDIR | 0o755, name, nlink=2)
        elif stat.S_ISREG(st.st_mode):
            perm = 0o755 if st.st_mode & 0o111 else 0o644
            with open(path, "rb") as f:
                out += entry(ino, stat.S_IFREG | perm, name, f.read())
        else:
            print(f"mkcpio: skipping {path}: not a regular file or directory", file=sys.stderr)
            continue
        ino += 1
    out += entry(0, 0, TRAILER, nlink=1)
    out += pad4(len(out))
    return bytes(out)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: mkcpio.py OUT DIR", file=sys.stderr)
        return 2
    out, root = argv[1], argv[2]
    if not os.path.isdir(root):
        print(f"mkcpio: {root}: not a directory", file=sys.stderr)
        return 1
    data = build(root)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Which file system a node of fsmgr's tree is on: what statfs reports, what copy_file_range
calls another file system (EXDEV), where openat2's RESOLVE_NO_XDEV stops, and which nodes
keep extended attributes.

The tree's file systems, as Linux would mount them: the root (a tmpfs for hmk's own tree, read
only; with `--rootfs`, the imported host directory, an overlay: the host's files below, the
guest's changes in memory above), a tmpfs on /tmp, devfs on /dev (Linux's devtmpfs is a tmpfs
too), procfs on /proc, and every other host directory placed in the tree on its own. Nodes
that no directory names when they are made live on the kernel's internal mounts: a memfd or a
shared anonymous mapping on shmem's, a pipe on pipefs, a socket on sockfs, an event file or an
inotify instance on the anonymous-inode file system.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.linux.abi import (
    ANON_INODE_FS_MAGIC,
    OVERLAYFS_SUPER_MAGIC,
    PIPEFS_MAGIC,
    PROC_SUPER_MAGIC,
    S_IFMT,
    S_IFSOCK,
    SOCKFS_MAGIC,
    TMPFS_MAGIC,
)
from hmk.services.vfs import HostDir, Pipe, Stream

MAGIC = {
    "tmpfs": TMPFS_MAGIC,
    "devtmpfs": TMPFS_MAGIC,
    "proc": PROC_SUPER_MAGIC,
    "overlay": OVERLAYFS_SUPER_MAGIC,
    "pipefs": PIPEFS_MAGIC,
    "sockfs": SOCKFS_MAGIC,
    "anon_inodefs": ANON_INODE_FS_MAGIC,
}
XATTRS = ("tmpfs", "devtmpfs", "overlay")  # the kinds that keep extended attributes


@dataclass(frozen=True, eq=False)
class FileSystem:
    kind: str  # a key of MAGIC
    root: object  # the node it is mounted at (None: an internal mount)

    @property
    def magic(self) -> int:
        return MAGIC[self.kind]

    @property
    def readonly(self) -> bool:
        return self.root is not None and self.root.readonly

    @property
    def memory(self) -> bool:
        """Does it keep its files in the simulated RAM (a tmpfs's sizes)?"""
        return self.kind in ("tmpfs", "devtmpfs")


class Mounts:
    """The file systems of a tree (hmk.services.vfs.Vfs), found from its mount points."""

    def __init__(self, vfs):
        self.vfs = vfs
        root = vfs.root
        self.at = {root: FileSystem("overlay" if isinstance(root, HostDir) else "tmpfs", root)}
        for path, kind in ((b"/tmp", "tmpfs"), (b"/dev", "devtmpfs"), (b"/proc", "proc")):
            node = vfs.walk(root, path)[0]
            if node is not None and not isinstance(node, int):
                self.at[node] = FileSystem(kind, node)
        self.internal = {
            kind: FileSystem(kind, None) for kind in ("tmpfs", "pipefs", "sockfs", "anon_inodefs")
        }

    def of(self, node) -> FileSystem:
        """The file system `node` is on."""
        while True:
            fs = self.at.get(node)
            if fs is not None:
                return fs
            parent = node.parent
            if parent is None:
                return self._internal(node)
            if isinstance(node, HostDir) and not isinstance(parent, HostDir):
                fs = self.at[node] = FileSystem("overlay", node)  # a host directory placed
                return fs
            node = parent

    def _internal(self, node) -> FileSystem:
        if isinstance(node, Pipe):
            return self.internal["pipefs"]
        if isinstance(node, Stream):
            socket = node.mode & S_IFMT == S_IFSOCK
            return self.internal["sockfs" if socket else "anon_inodefs"]
        return self.internal["tmpfs"]  # shmem's own mount: memfd, shared anonymous memory

    def nodes(self, fs: FileSystem):
        """Every node of `fs`'s tree (its root's descendants on it)."""
        if fs.root is None:
            return
        stack = [fs.root]
        while stack:
            node = stack.pop()
            yield node
            entries = getattr(node, "entries", None)
            if entries is None or isinstance(node, HostDir) and not node._loaded:
                continue
            stack.extend(n for n in entries.values() if self.at.get(n, fs) is fs)

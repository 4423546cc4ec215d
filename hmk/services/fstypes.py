"""Which file system a node of fsmgr's tree is on: what statfs reports, what copy_file_range
calls another file system (EXDEV), where openat2's RESOLVE_NO_XDEV stops, and which nodes
keep extended attributes.

The tree's file systems are its mounted nodes (hmk.services.rootfs), as Linux would mount
them: the root (a tmpfs for hmk's own tree, read only; with `--rootfs`, the imported host
directory, an overlay: the host's files below, the guest's changes in memory above), a tmpfs on
/tmp, devfs on /dev (Linux's devtmpfs is a tmpfs too), procfs on /proc, and every host
directory or file placed with `--mount`, an overlay of its own. Nodes
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
from hmk.services.vfs import HostDir, Pipe, Stream, file_system

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
    """The file systems of a tree (hmk.services.vfs.Vfs): one for each mounted node (the
    root, /tmp, /dev, /proc, a host directory or file placed with --mount), found from a node
    by vfs.file_system."""

    def __init__(self, vfs):
        self.vfs = vfs
        self.at: dict = {}  # mounted node -> its FileSystem, as they are first asked for
        self.kinds = {}
        for where, kind in ((b"/tmp", "tmpfs"), (b"/dev", "devtmpfs"), (b"/proc", "proc")):
            node = vfs.walk(vfs.root, where)[0]
            if node is not None and not isinstance(node, int):
                self.kinds[node] = kind
        self.internal = {
            kind: FileSystem(kind, None) for kind in ("tmpfs", "pipefs", "sockfs", "anon_inodefs")
        }

    def of(self, node) -> FileSystem:
        """The file system `node` is on."""
        root = file_system(node)
        if not root.mounted:  # in no tree: made by a call that names no directory
            return self._internal(node)
        fs = self.at.get(root)
        if fs is None:
            kind = self.kinds.get(root)
            if kind is None:
                kind = (
                    "overlay"
                    if isinstance(root, HostDir) or getattr(root, "host", None)
                    else "tmpfs"
                )
            fs = self.at[root] = FileSystem(kind, root)
        return fs

    def _internal(self, node) -> FileSystem:
        if isinstance(node, Pipe):
            return self.internal["pipefs"]
        if isinstance(node, Stream):
            socket = node.mode & S_IFMT == S_IFSOCK
            return self.internal["sockfs" if socket else "anon_inodefs"]
        return self.internal["tmpfs"]  # shmem's own mount: memfd, shared anonymous memory

    @staticmethod
    def nodes(fs: FileSystem):
        """Every node of `fs`'s tree (its root's descendants on it, not on mounts below)."""
        if fs.root is None:
            return
        stack = [fs.root]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, HostDir) and not node._loaded:
                continue
            entries = getattr(node, "entries", None)
            if entries is not None:
                stack.extend(n for n in entries.values() if not n.mounted)

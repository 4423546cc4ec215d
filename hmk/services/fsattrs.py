"""fsmgr's attribute calls beyond stat: statfs and fstatfs, fallocate, fchown and fchownat,
fchmodat2, and the work each is charged (hmk.services.fsmgr's `costs`).

statfs reports the file system a node is on (hmk.services.fstypes): a tmpfs's sizes are the
simulated RAM's, as Linux sizes a tmpfs by default (half the RAM in 4 KiB blocks and as many
inodes), less the page-cache pages of its files and the nodes it holds; procfs and the
kernel's internal file systems report Linux's simple_statfs (a type, a block size, a name
length); an imported host directory reports the host's sizes. ST_RDONLY marks a read-only
tree.

fallocate on a tmpfs file (shmem_fallocate): mode 0 puts the range's pages in the page cache
and extends the file, FALLOC_FL_KEEP_SIZE puts them there without extending it,
FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE zeroes the range (its pages stay cached, zeroed);
other modes are EOPNOTSUPP, and more pages than the tmpfs has free ENOSPC. The checks are
vfs_fallocate's, in its order. The RAM disk takes none (EOPNOTSUPP: its driver has no discard).

Ownership: a node's uid and gid are its creator's effective ids and change by chown, which root
may do freely and another process only on its own files, to its own uid and to one of its
groups (chown_ok, chgrp_ok: EPERM); a chown of anything but a directory clears the set-user-ID
bit and the set-group-ID bit when group execution is set (or the caller may not keep it), as
Linux's notify_change does, even when neither id changes.
"""

from __future__ import annotations

import os
import struct

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    AT_EMPTY_PATH,
    AT_SYMLINK_NOFOLLOW,
    EBADF,
    EFAULT,
    EFBIG,
    EINVAL,
    EISDIR,
    ENODEV,
    ENOENT,
    ENOSPC,
    EOPNOTSUPP,
    EPERM,
    EROFS,
    ESPIPE,
    FALLOC_FL_COLLAPSE_RANGE,
    FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_UNSHARE_RANGE,
    FALLOC_FL_WRITE_ZEROES,
    FALLOC_FL_ZERO_RANGE,
    IN_ATTRIB,
    IN_MODIFY,
    NAME_MAX,
    S_ISGID,
    S_ISUID,
    S_IXGRP,
    ST_RDONLY,
    ST_RELATIME,
    ST_VALID,
)
from hmk.linux.strace import signed as _signed
from hmk.services.copies import pages
from hmk.services.devhost import BlockDevice
from hmk.services.fsnames import _int
from hmk.services.vfs import Dir, File, Generated, Pipe, Symlink

STATFS = struct.Struct("<qqQQQQQiiqqq32x")  # struct statfs (asm-generic, 64-bit): 120 bytes
UNCHANGED = 0xFFFFFFFF  # chown's -1: the id stays
FALLOC_MODES = (  # the modes vfs_fallocate knows, with or without FALLOC_FL_KEEP_SIZE
    FALLOC_FL_PUNCH_HOLE
    | FALLOC_FL_COLLAPSE_RANGE
    | FALLOC_FL_ZERO_RANGE
    | FALLOC_FL_INSERT_RANGE
    | FALLOC_FL_UNSHARE_RANGE
    | FALLOC_FL_WRITE_ZEROES
)
SIZE_CHANGING = (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_WRITE_ZEROES)
LLONG_MAX = (1 << 63) - 1


class Attributes:
    """statfs, fallocate, chown and fchmodat2, mixed into the file manager
    (hmk.services.fsmgr.FsMgr)."""

    # ---- statfs --------------------------------------------------------------------------
    def sys_statfs(self, call, path_ptr, buf, *_):
        found = self._lookup(call, -100, path_ptr)
        if isinstance(found, int):
            return found
        if found[0] is None:
            return -ENOENT
        with self.working(statfs=1):
            return self._out(call, buf, self.statfs_of(found[0]))

    def sys_fstatfs(self, call, fd, buf, *_):
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd), raw=True)
            if f is None:
                return -EBADF
            ops.update(statfs=1)
            return self._out(call, buf, self.statfs_of(f.node))

    def statfs_of(self, node) -> bytes:
        """struct statfs of the file system `node` is on."""
        fs = self.mounts.of(node)
        flags = ST_VALID | ST_RELATIME | (ST_RDONLY if fs.readonly else 0)
        fsid = fs.root.ino if fs.root is not None else 0  # as st_ino, one per mount
        sizes = (0, 0, 0, 0, 0)
        if fs.memory:
            pages_, inodes = self._tmpfs_usage(fs)
            blocks = files = len(self.k.ram) // PAGE_SIZE // 2
            free = max(blocks - pages_, 0)
            sizes = (blocks, free, free, files, max(files - inodes, 0))
        elif fs.kind == "overlay":
            sizes = _host_sizes(fs.root.host)
        return STATFS.pack(fs.magic, PAGE_SIZE, *sizes, fsid, 0, NAME_MAX, PAGE_SIZE, flags)

    def _tmpfs_usage(self, fs) -> tuple[int, int]:
        """(pages, inodes) a tmpfs holds: its files' page-cache pages and its nodes."""
        used = inodes = 0
        for node in self.mounts.nodes(fs):
            inodes += 1
            if isinstance(node, File):
                used += len(self.cache.pages.get(node.ino, ()))
        return used, inodes

    # ---- fallocate -----------------------------------------------------------------------
    def sys_fallocate(self, call, fd, mode, offset, length, *_):
        mode, offset, length = _int(mode), _signed(offset), _signed(length)
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if offset < 0 or length <= 0:
                return -EINVAL
            kind, keep = mode & ~FALLOC_FL_KEEP_SIZE, mode & FALLOC_FL_KEEP_SIZE
            if kind & ~FALLOC_MODES or kind & (kind - 1):  # unknown, or two modes at once
                return -EOPNOTSUPP
            if kind == FALLOC_FL_PUNCH_HOLE and not keep or keep and kind in SIZE_CHANGING:
                return -EOPNOTSUPP
            if not f.writable:
                return -EBADF
            node = f.node
            if isinstance(node, Pipe):
                return -ESPIPE
            if isinstance(node, Dir):
                return -EISDIR
            if getattr(node, "pidfs", False):
                return -EOPNOTSUPP
            if not isinstance(node, File | BlockDevice):
                return -ENODEV
            if offset + length > LLONG_MAX:
                return -EFBIG
            if isinstance(node, BlockDevice | Generated) or kind not in (0, FALLOC_FL_PUNCH_HOLE):
                return -EOPNOTSUPP
            grows = not kind and not keep and offset + length > node.size
            if grows and offset + length > self.fsize_limit(call):
                return self.too_big(call)
            if err := self.sealed_allocate(node, kind, offset + length):
                return err
            ops.update(fallocate=1)
            err = self._allocate(node, kind, bool(keep), offset, length)
            if err == 0:
                self.notify(node, IN_MODIFY, named=f.named)
            return err

    def _allocate(self, node: File, kind: int, keep: bool, offset: int, length: int) -> int:
        self._sync(node)
        data, end = node.data, offset + length
        if kind == FALLOC_FL_PUNCH_HOLE:
            hole = max(min(end, len(data)) - offset, 0)
            data[offset : offset + hole] = bytes(hole)
            self.cache.refresh(node, offset, offset + hole)
        else:
            cached = self.cache.pages.get(node.ino, {})
            fs = self.mounts.of(node)
            free = len(self.k.ram) // PAGE_SIZE // 2
            if fs.memory:
                free -= self._tmpfs_usage(fs)[0]
            span = pages(offset, length)
            if len(span) > free + len(cached):  # more than there is room for, counted first
                return -ENOSPC
            wanted = [i for i in span if i not in cached]
            if len(wanted) > free:
                return -ENOSPC
            if not keep and end > len(data):
                data.extend(bytes(end - len(data)))
            for index in wanted:
                self.cache.frame_of(node, index)
        node.mtime = self.wall_ns()
        return 0

    # ---- ownership -----------------------------------------------------------------------
    def sys_fchown(self, call, fd, uid, gid, *_):
        with self.working(fdget=1):
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            return self._chown(call, f.node, uid, gid)

    def sys_fchownat(self, call, dirfd, path_ptr, uid, gid, flags, *_):
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            return -EINVAL
        if not path_ptr:
            return -EFAULT  # (a NULL path is no empty one here: only the stat calls take it)
        with self.working() as ops:
            node = self._stat_target(call, dirfd, path_ptr, flags, ops)
        return node if isinstance(node, int) else self._chown(call, node, uid, gid)

    def _chown(self, call, node, uid: int, gid: int) -> int:
        """chown_common and notify_change: the ids set, as the caller may (EPERM)."""
        if self.unchangeable(node):
            return -EOPNOTSUPP
        if self.mounts.of(node).readonly:
            return -EROFS
        uid, gid = uid & 0xFFFFFFFF, gid & 0xFFFFFFFF
        task = call.task
        euid, root = task.uids[1], task.uids[1] == 0
        new_gid = node.gid if gid == UNCHANGED else gid
        in_group = new_gid == task.gids[1] or new_gid in task.groups
        mode = node.mode
        if not isinstance(node, Dir):
            mode &= ~S_ISUID
            if mode & S_ISGID and (mode & S_IXGRP or not (in_group or root)):
                mode &= ~S_ISGID
        with self.working(setattr=1):
            owner = node.uid == euid
            if not root and (
                uid != UNCHANGED
                and not (owner and uid == node.uid)
                or gid != UNCHANGED
                and not (owner and (gid == node.gid or in_group))
                or mode != node.mode
                and not owner
            ):
                return -EPERM
            node.uid = node.uid if uid == UNCHANGED else uid
            node.gid, node.mode = new_gid, mode
        self.notify(node, IN_ATTRIB)
        return 0

    # ---- fchmodat2 -----------------------------------------------------------------------
    def sys_fchmodat2(self, call, dirfd, path_ptr, mode, flags, *_):
        """fchmodat with flags: AT_SYMLINK_NOFOLLOW (a symbolic link's own mode is never
        changed: EOPNOTSUPP, as Linux's notify_change) and AT_EMPTY_PATH."""
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            return -EINVAL
        if not path_ptr:
            return -EFAULT  # (a NULL path is no empty one here: only the stat calls take it)
        with self.working() as ops:
            node = self._stat_target(call, dirfd, path_ptr, flags, ops)
        if isinstance(node, int):
            return node
        if isinstance(node, Symlink):
            return -EROFS if self.mounts.of(node).readonly else -EOPNOTSUPP
        return self._chmod(node, mode)


def _host_sizes(host) -> tuple[int, int, int, int, int]:
    """(blocks, free, available, files, free files) of the host's file system under `host`,
    in 4 KiB blocks; zeros when it cannot be read."""
    try:
        st = os.statvfs(host)
    except OSError:
        return 0, 0, 0, 0, 0
    scale = st.f_frsize / PAGE_SIZE
    return (
        int(st.f_blocks * scale),
        int(st.f_bfree * scale),
        int(st.f_bavail * scale),
        st.f_files,
        st.f_ffree,
    )

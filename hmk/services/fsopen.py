"""fsmgr's openat2 and close_range, and the work each is charged (hmk.services.fsmgr's
`costs`).

openat2 takes a struct open_how (flags, mode, resolve: 24 bytes; a larger struct's extra bytes
must be zero, E2BIG) and checks every field as Linux's build_open_flags does (EINVAL for an
unknown flag, a mode without O_CREAT, O_CREAT with O_DIRECTORY, ...). Its path is walked by
vfs.walk with the RESOLVE_* rules (Linux's LOOKUP_* flags) and the starting directory as
their scope; RESOLVE_CACHED (everything is cached here) refuses only what would create or
truncate (EAGAIN). The open
itself is openat's.

close_range closes the descriptors of a range, or marks them close-on-exec
(CLOSE_RANGE_CLOEXEC); CLOSE_RANGE_UNSHARE has nothing to unshare, since no two processes
share a file table here.
"""

from __future__ import annotations

import struct

from hmk.hw.events import READ
from hmk.linux.abi import (
    AT_FDCWD,
    CLOSE_RANGE_CLOEXEC,
    CLOSE_RANGE_UNSHARE,
    E2BIG,
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOENT,
    NOFILE,
    O_ACCMODE,
    O_APPEND,
    O_ASYNC,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECT,
    O_DIRECTORY,
    O_DSYNC,
    O_EXCL,
    O_LARGEFILE,
    O_NOATIME,
    O_NOCTTY,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_SYNC,
    O_TMPFILE,
    O_TRUNC,
    OPEN_HOW_SIZE_VER0,
    RESOLVE_BENEATH,
    RESOLVE_CACHED,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
)
from hmk.services.addrspace import read_path
from hmk.services.copies import log_user
from hmk.services.fsnames import _int

VALID_OPEN_FLAGS = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK
VALID_OPEN_FLAGS |= O_SYNC | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY
VALID_OPEN_FLAGS |= O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
VALID_RESOLVE = (
    RESOLVE_NO_XDEV
    | RESOLVE_NO_MAGICLINKS
    | RESOLVE_NO_SYMLINKS
    | RESOLVE_BENEATH
    | RESOLVE_IN_ROOT
    | RESOLVE_CACHED
)
PAGE = 4096  # the largest struct open_how copied in


class Opening:
    """openat2 and close_range, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    def sys_openat2(self, call, dirfd, path_ptr, how_ptr, size, *_):
        if size < OPEN_HOW_SIZE_VER0:
            return -EINVAL
        if size > PAGE:
            return -E2BIG
        raw = call.space.read(how_ptr, size)
        if raw is None:
            return -EFAULT
        if any(raw[OPEN_HOW_SIZE_VER0:]):
            return -E2BIG
        flags, mode, resolve = struct.unpack_from("<QQQ", raw)
        err = _how_error(flags, mode, resolve)
        if err:
            return err
        found = self._lookup_scoped(call, dirfd, path_ptr, not flags & O_NOFOLLOW, resolve)
        if isinstance(found, int):
            return found
        return self._open(call, found, flags, mode)

    def _lookup_scoped(self, call, dirfd, path_ptr, follow: bool, resolve: int):
        """_lookup with openat2's RESOLVE_* rules."""
        name = read_path(call.space, path_ptr)
        if isinstance(name, int) or not name:  # a fault, too long, empty: before the dirfd
            self.work(path_copy=1)
            return -ENOENT if name == b"" else name
        log_user(self.k.mem, call.space, path_ptr, len(name) + 1, READ)
        if (fd := self.table(call).lowest_fd()) < 0:  # (before the walk: _lookup's `opening`)
            self.work(path_copy=1)
            return fd
        start = self._start(call, dirfd)
        fdget = int(_int(dirfd) != AT_FDCWD)
        if isinstance(start, int):
            self.work(path_copy=1, fdget=fdget)
            return start
        before = self.vfs.lookups
        found = self.vfs.walk(start, name, follow, resolve)
        self.work(path_copy=1, fdget=fdget, walk=1, lookup=self.vfs.lookups - before)
        return -found[0] if isinstance(found[0], int) else found

    def sys_close_range(self, call, first, last, flags, *_):
        first, last, flags = first & 0xFFFFFFFF, last & 0xFFFFFFFF, flags & 0xFFFFFFFF
        if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
            return -EINVAL
        t = self.table(call)
        chosen = sorted(fd for fd in t.fds if first <= fd <= min(last, NOFILE - 1))
        with self.working(fcntl=1) as ops:
            for fd in chosen:
                if flags & CLOSE_RANGE_CLOEXEC:
                    t.fds[fd] = (t.fds[fd][0], True)
                else:
                    t.close(fd)
            ops.update(fd_close=0 if flags & CLOSE_RANGE_CLOEXEC else len(chosen))
            return 0


def open_how(flags: int, mode: int) -> tuple[int, int]:
    """openat's flags and mode as Linux's build_open_how makes an open_how of them: flags it
    does not know dropped (a C int's), only O_PATH's own with O_PATH, the mode's permission
    bits kept only for a file to be made."""
    flags &= 0xFFFFFFFF & VALID_OPEN_FLAGS
    if flags & O_PATH:
        flags &= O_PATH_FLAGS
    mode = mode & 0o7777 if flags & (O_CREAT | O_TMPFILE) else 0
    return flags, mode


def _how_error(flags: int, mode: int, resolve: int) -> int:
    """What Linux's build_open_flags says of an open_how: 0, or -errno."""
    if flags & ~O_CLOEXEC & ~VALID_OPEN_FLAGS or resolve & ~VALID_RESOLVE:
        return -EINVAL
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        return -EINVAL
    if flags & (O_CREAT | O_TMPFILE):
        if mode & ~0o7777:
            return -EINVAL
    elif mode:
        return -EINVAL
    if flags & (O_DIRECTORY | O_CREAT) == O_DIRECTORY | O_CREAT:
        return -EINVAL
    if flags & O_TMPFILE:  # with O_DIRECTORY, without O_CREAT, for writing (or O_TRUNC)
        if flags & (O_TMPFILE | O_DIRECTORY | O_CREAT) != O_TMPFILE | O_DIRECTORY:
            return -EINVAL
        if flags & O_ACCMODE == O_RDONLY and not flags & O_TRUNC:
            return -EINVAL
    if flags & O_PATH and flags & ~O_PATH_FLAGS:
        return -EINVAL
    if resolve & RESOLVE_CACHED and flags & (O_TRUNC | O_CREAT | O_TMPFILE):
        return -EAGAIN
    return 0

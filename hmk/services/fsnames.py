"""fsmgr's namespace calls: paths walked, names made and removed, attributes and directories
read, and the work each is charged (hmk.services.fsmgr's `costs`).

A call naming a path copies it in from user memory (`path_copy`, its lines logged), walks it
(`walk`) one component at a time (`lookup` each: the dentry hash lookup and the directory's
permission check; hmk.services.vfs counts them, symbolic links followed included), starting at
the working directory or a descriptor's (`fdget`). stat copies the attributes out (`stat`, the
user lines logged); getdents64 emits a record per entry (`dirent`, beyond `readdir`'s own work,
which includes "." and ".."); creating and removing names cost `create` and `unlink`, and a
regular file that is gone (no name, no descriptor, no mapping) leaves the page cache.
"""

from __future__ import annotations

import stat
import struct

from hmk.hw.events import READ, WRITE
from hmk.linux.abi import (
    AT_EACCESS,
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_NO_AUTOMOUNT,
    AT_REMOVEDIR,
    AT_STATX_SYNC_TYPE,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    EACCES,
    EBADF,
    EBUSY,
    EEXIST,
    EFAULT,
    EINVAL,
    EISDIR,
    ENAMETOOLONG,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    EPERM,
    ERANGE,
    EROFS,
    EXDEV,
    IN_ACCESS,
    IN_ATTRIB,
    IN_CREATE,
    IN_DELETE,
    IN_MODIFY,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    NAME_MAX,
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    RENAME_WHITEOUT,
    STATX_BASIC_STATS,
    STATX_RESERVED,
    UTIME_NOW,
    UTIME_OMIT,
)
from hmk.linux.signals import int32
from hmk.linux.strace import signed as _signed
from hmk.services import fsacl
from hmk.services.addrspace import read_path
from hmk.services.copies import lines, log_user, writable
from hmk.services.vfs import Dir, Node, Special, Symlink, file_system

XATTR_NAME_MAX = 255  # an extended attribute's name, at most (include/uapi/linux/limits.h)
STATX_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE
DT = {stat.S_IFDIR: 4, stat.S_IFREG: 8, stat.S_IFCHR: 2, stat.S_IFLNK: 10, stat.S_IFIFO: 1}
DT.update({stat.S_IFBLK: 6, stat.S_IFSOCK: 12})


class Namespace:
    """The namespace calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    # ---- paths ---------------------------------------------------------------------------
    def _lookup(self, call, dirfd, path_ptr, follow=True, opening=False):
        """(node, parent, name) or a negative errno; (None, parent, name) when only the last
        component is missing. Its work (the path's copy, the walk) is charged here. `opening`:
        an open's lookup, after the path's copy a free descriptor is needed (EMFILE), as
        do_sys_openat2 takes it before the walk."""
        name = read_path(call.space, path_ptr)
        if isinstance(name, int) or not name:  # a fault, too long, empty: before the dirfd
            self.work(path_copy=1)
            return -ENOENT if name == b"" else name
        log_user(self.k.mem, call.space, path_ptr, len(name) + 1, READ)
        if opening and (fd := self.table(call).lowest_fd()) < 0:
            self.work(path_copy=1)
            return fd
        start = self._start(call, dirfd, name)
        if isinstance(start, int):
            self.work(path_copy=1, fdget=1)
            return start
        before = self.vfs.lookups
        node, parent, last = self.vfs.walk(start, name, follow)
        fdget = int(_int(dirfd) != AT_FDCWD and not name.startswith(b"/"))
        self.work(path_copy=1, fdget=fdget, walk=1, lookup=self.vfs.lookups - before)
        if isinstance(node, int):
            return -node
        return node, parent, last

    def _start(self, call, dirfd, path: bytes = b"") -> Dir | int:
        """Where a lookup of `path` starts: the directory `dirfd` names (an absolute path
        does not look at it)."""
        t = self.table(call)
        if _int(dirfd) == AT_FDCWD or path.startswith(b"/"):
            return t.cwd
        f = t.file(_int(dirfd), raw=True)
        if f is None:
            return -EBADF
        if not isinstance(f.node, Dir):
            return -ENOTDIR
        return f.node

    def _parent(self, call, dirfd, path_ptr):
        """Linux's filename_parentat: (the directory holding the path's last component, that
        component, whether a slash follows it), or -errno. The component is not looked up:
        it may be too long, missing, or "" (the path "/"), "." or ".."."""
        name = read_path(call.space, path_ptr)
        if isinstance(name, int) or not name:
            self.work(path_copy=1)
            return -ENOENT if name == b"" else name
        start = self._start(call, dirfd, name)
        if isinstance(start, int):
            self.work(path_copy=1, fdget=1)
            return start
        stripped = name.rstrip(b"/")
        head, _, last = stripped.rpartition(b"/")
        if name.startswith(b"/") and not head:
            head = b"/"
        before = self.vfs.lookups
        parent = self.vfs.walk(start, head)[0] if head else start
        self.work(path_copy=1, walk=1, lookup=self.vfs.lookups - before)
        if isinstance(parent, int):
            return -parent
        if not isinstance(parent, Dir):
            return -ENOENT if parent is None else -ENOTDIR
        return parent, last, len(stripped) != len(name)

    def _out(self, call, buf: int, data: bytes) -> int:
        """`data` copied out to `buf` (its lines logged after the copy): 0, or -EFAULT."""
        if not call.space.write(buf, data):
            return -EFAULT
        log_user(self.k.mem, call.space, buf, len(data), WRITE)
        return 0

    # ---- attributes ----------------------------------------------------------------------
    def sys_fstat(self, call, fd, buf, *_):
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd), raw=True)
            if f is None:
                return -EBADF
            ops.update(stat=1)
            return self._out(call, buf, _stat_bytes(f.node))

    def sys_newfstatat(self, call, dirfd, path_ptr, buf, flags, *_):
        with self.working() as ops:
            node = self._stat_target(call, dirfd, path_ptr, flags & 0xFFFFFFFF, ops)
            if isinstance(node, int):
                return node
            ops.update(stat=1)
            return self._out(call, buf, _stat_bytes(node))

    def sys_statx(self, call, dirfd, path_ptr, flags, mask, buf, *_):
        """struct statx with the basic fields (STATX_BASIC_STATS); no birth time."""
        flags &= 0xFFFFFFFF
        if mask & 0xFFFFFFFF & STATX_RESERVED:
            return -EINVAL
        if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
            return -EINVAL
        with self.working() as ops:
            node = self._stat_target(call, dirfd, path_ptr, flags, ops)
            if isinstance(node, int):
                return node
            ops.update(stat=1)
            return self._out(call, buf, _statx_bytes(node))

    def _stat_target(self, call, dirfd, path_ptr, flags, ops):
        """The node fstatat/statx name, in Linux's order (vfs_fstatat, statx): with
        AT_EMPTY_PATH and an empty (or NULL) path, a descriptor's node, with no check of the
        flags if the descriptor is not negative; else the flags checked, then the path (or the
        working directory, or a bad descriptor); or a negative errno."""
        t = self.table(call)
        empty = flags & AT_EMPTY_PATH and (not path_ptr or call.space.read(path_ptr, 1) == b"\0")
        by_fd = empty and _int(dirfd) != AT_FDCWD
        if flags & ~STATX_FLAGS and not (by_fd and _int(dirfd) >= 0):
            return -EINVAL
        if by_fd:
            ops.update(fdget=1)
            f = t.file(_int(dirfd), raw=True)
            return -EBADF if f is None else f.node
        if empty:
            return t.cwd
        found = self._lookup(call, dirfd, path_ptr, not flags & AT_SYMLINK_NOFOLLOW)
        if isinstance(found, int):
            return found
        return -ENOENT if found[0] is None else found[0]

    def sys_faccessat2(self, call, dirfd, path_ptr, mode, flags, *_):
        """faccessat with flags (AT_EACCESS and AT_SYMLINK_NOFOLLOW: the same answers here,
        where every file is the caller's; AT_EMPTY_PATH)."""
        if flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            return -EINVAL
        return self.sys_faccessat(call, dirfd, path_ptr, mode)

    def sys_faccessat(self, call, dirfd, path_ptr, mode, *_):
        if mode & ~7:
            return -EINVAL
        found = self._lookup(call, dirfd, path_ptr)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        self.work(access=1)
        if mode & 2 and node.readonly:
            return -EROFS
        if mode & 1 and not node.mode & 0o111:
            return -EACCES
        return 0

    def sys_readlinkat(self, call, dirfd, path_ptr, buf, size, *_):
        if _int(size) <= 0:
            return -EINVAL  # before the path (do_readlinkat)
        if read_path(call.space, path_ptr) == b"":  # the descriptor's own node: a link it
            self.work(path_copy=1, fdget=1)  # names (opened O_PATH | O_NOFOLLOW), or ENOENT
            fd = _int(dirfd)
            f = None if fd == AT_FDCWD else self.table(call).file(fd, raw=True)
            if f is None and fd != AT_FDCWD:
                return -EBADF
            found = (f.node if f else None, None, b"")
            if not isinstance(found[0], Symlink):
                return -ENOENT
        else:
            found = self._lookup(call, dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        if not isinstance(node, Symlink) or _signed(size) <= 0:
            return -EINVAL
        with self.working(readlink=1) as ops:
            target = node.target[:size]
            ops.update(copy_page=1, copy_line=lines(len(target)))
            err = self._out(call, buf, target)
            return err or len(target)

    # ---- directories ---------------------------------------------------------------------
    def sys_getdents64(self, call, fd, buf, count, *_):
        """Entries from the directory's position while they fit `count` (an int: past
        INT_MAX, none fits: EINVAL), written as they are made: those before a fault are
        given (their length), or EFAULT."""
        count = int32(count)
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if not isinstance(f.node, Dir):
                return -ENOTDIR
            ops.update(readdir=1)
            d = f.node
            entries = [(b".", d), (b"..", d.parent)] + list(d.entries.items())
            out, start, ends = bytearray(), f.pos, []
            while f.pos < len(entries):
                name, node = entries[f.pos]
                reclen = (19 + len(name) + 1 + 7) & ~7
                if len(out) + reclen > count:
                    if not out:
                        return -EINVAL
                    break
                kind = DT.get(stat.S_IFMT(node.mode), 0)
                rec = struct.pack("<QqHB", node.ino, f.pos + 1, reclen, kind)
                out += rec + name + b"\0" * (reclen - 19 - len(name))
                ops.update(dirent=int(f.pos >= 2))  # "." and ".." are readdir's own
                f.pos += 1
                ends.append(len(out))
            room = writable(call.space, [(buf, len(out))], len(out))
            given = [end for end in ends if end <= room]
            if len(given) < len(ends):  # a fault: the entries before it, or none
                f.pos = start + len(given)
                if not given:
                    return -EFAULT
                out = out[: given[-1]]
            self.notify(d, IN_ACCESS)
            return self._out(call, buf, bytes(out)) or len(out)

    def sys_utimensat(self, call, dirfd, path_ptr, times_ptr, flags, *_):
        """A file's access and modification times: now (no times given, or UTIME_NOW), given,
        or left (UTIME_OMIT). Without a path, the file `dirfd` names. Linux's order: the times
        copied in (both UTIME_OMIT: nothing more to check), then the descriptor or the flags
        and the path, then the times' nanoseconds."""
        flags &= 0xFFFFFFFF
        stamps, pairs = [UTIME_NOW, UTIME_NOW], None
        if times_ptr:
            raw = call.space.read(times_ptr, 32)
            if raw is None:
                return -EFAULT
            pairs = struct.unpack("<qqqq", raw)
            if pairs[1] == pairs[3] == UTIME_OMIT:
                return 0
        if not path_ptr and _int(dirfd) != AT_FDCWD:
            if flags:
                return -EINVAL
            f = self.table(call).file(_int(dirfd))
            if f is None:
                return -EBADF
            node = f.node
        else:
            if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
                return -EINVAL
            found = self._lookup(call, dirfd, path_ptr, not flags & AT_SYMLINK_NOFOLLOW)
            if isinstance(found, int):
                return found
            node = found[0]
            if node is None:
                return -ENOENT
        if pairs:
            stamps = []
            for sec, nsec in (pairs[:2], pairs[2:]):
                if nsec in (UTIME_NOW, UTIME_OMIT):
                    stamps.append(nsec)
                elif not 0 <= nsec < 10**9:
                    return -EINVAL
                else:
                    stamps.append(sec * 10**9 + nsec)
        home = node.parent if node.parent is not None else node  # its file system's place
        if home.readonly:
            return -EROFS
        self.work(access=1)
        now = self.wall_ns()
        atime, mtime = (now if s == UTIME_NOW else s for s in stamps)
        if atime != UTIME_OMIT:
            node.atime = atime
        if mtime != UTIME_OMIT:
            node.mtime = mtime
        # both times: IN_ATTRIB; one: IN_ACCESS or IN_MODIFY (fsnotify_change)
        both = UTIME_OMIT not in (atime, mtime)
        self.notify(node, IN_ATTRIB if both else IN_ACCESS if mtime == UTIME_OMIT else IN_MODIFY)
        return 0

    def _new_name(self, call, dirfd, path_ptr, want_dir: bool = False):
        """(parent directory, name) for a name to create, or -errno, in Linux's order
        (filename_create): the parent's lookup, EEXIST when the name is taken (or is no name:
        "/", "." or ".."), a trailing slash on a missing name that is not a directory's
        (ENOENT), then EROFS in a read-only subtree."""
        got = self._parent(call, dirfd, path_ptr)
        if isinstance(got, int):
            return got
        parent, name, slash = got
        if name in (b"", b".", b".."):
            return -EEXIST
        self.work(lookup=1)  # the last name's (lookup_one_qstr_excl)
        if len(name) > NAME_MAX:
            return -ENAMETOOLONG
        if name in parent.entries:
            return -EEXIST
        if slash and not want_dir:
            return -ENOENT
        return -EROFS if parent.readonly else (parent, name)

    def made(self, call, parent: Dir, name: bytes, node: Node) -> Node:
        """`node` new under `name` in `parent`: its permissions (as asked) masked by the
        caller's umask, or by the directory's default ACL, which it inherits
        (hmk.services.fsacl); the caller's (its effective ids), stamped now, and announced to
        the directory's watches (IN_CREATE)."""
        default = (parent.xattrs or {}).get(fsacl.DEFAULT)
        if isinstance(node, Symlink):
            pass  # (always 0777)
        elif default is None:
            node.mode &= ~self.table(call).umask
        else:
            node.mode, access, inherited = fsacl.inherit(default, node.mode, isinstance(node, Dir))
            acls = {fsacl.ACCESS: access, fsacl.DEFAULT: inherited}
            node.xattrs = {k: v for k, v in acls.items() if v is not None} or None
        node.uid, node.gid = call.task.uids[1], call.task.gids[1]
        node.mtime = self.wall_ns()
        parent.add(name, node)
        self.notify_entry(parent, IN_CREATE, name, node)
        return node

    def sys_symlinkat(self, call, target_ptr, dirfd, path_ptr, *_):
        target = read_path(call.space, target_ptr)
        if isinstance(target, int):
            return target
        if not target:
            return -ENOENT
        new = self._new_name(call, dirfd, path_ptr)
        if isinstance(new, int):
            return new
        parent, name = new
        self.made(call, parent, name, Symlink(target))
        self.work(create=1)
        return 0

    def sys_linkat(self, call, olddirfd, old_ptr, newdirfd, new_ptr, flags, *_):
        """A hard link: one more name for a file (or a symlink), on the file's own file system
        (EXDEV across two: the root, /tmp's tmpfs, /dev, /proc and each mount are one each)."""
        if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
            return -EINVAL
        if flags & AT_EMPTY_PATH and call.space.read(old_ptr, 1) == b"\0":
            old = self._empty_path_node(call, olddirfd)  # (root's: CAP_DAC_READ_SEARCH)
        else:
            old = self._lookup(call, olddirfd, old_ptr, follow=bool(flags & AT_SYMLINK_FOLLOW))
        if isinstance(old, int):
            return old
        node = old[0]
        if node is None:
            return -ENOENT
        new = self._new_name(call, newdirfd, new_ptr)  # Linux's order (do_linkat, vfs_link)
        if isinstance(new, int):
            return new
        parent, name = new
        if file_system(node) is not file_system(parent):
            return -EXDEV
        if isinstance(node, Dir):
            return -EPERM
        parent.add(name, node)
        self.work(create=1)
        self.notify(node, IN_ATTRIB, parent=False)  # its link count
        self.notify_entry(parent, IN_CREATE, name, node)
        return 0

    def _empty_path_node(self, call, dirfd):
        """What an empty path with AT_EMPTY_PATH names: `dirfd`'s file (the working directory
        for AT_FDCWD), as a lookup's (node, None, None); or -EBADF."""
        t = self.table(call)
        if _int(dirfd) == AT_FDCWD:
            return t.cwd, None, None
        f = t.file(_int(dirfd), raw=True)
        return -EBADF if f is None else (f.node, None, None)

    def sys_mkdirat(self, call, dirfd, path_ptr, mode, *_):
        new = self._new_name(call, dirfd, path_ptr, want_dir=True)
        if isinstance(new, int):
            return new
        parent, name = new
        self.made(call, parent, name, Dir(perm=mode & 0o777))
        self.work(create=1)
        return 0

    def sys_unlinkat(self, call, dirfd, path_ptr, flags, *_):
        if flags & ~AT_REMOVEDIR:
            return -EINVAL
        found = self._lookup(call, dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node, parent, name = found
        if node is None:
            return -ENOENT
        if name in (b"", b".", b".."):  # the root, LAST_DOT, LAST_DOTDOT: no name to remove
            if not flags & AT_REMOVEDIR:
                return -EISDIR
            return {b"": -EBUSY, b".": -EINVAL}.get(name, -ENOTEMPTY)
        if parent.readonly:
            return -EROFS
        if flags & AT_REMOVEDIR:
            if not isinstance(node, Dir):
                return -ENOTDIR
            if node.entries:
                return -ENOTEMPTY
            if node is self.table(call).cwd:
                return -EBUSY
        elif isinstance(node, Dir):
            return -EISDIR
        parent.remove(name)
        self.work(unlink=1)
        if not isinstance(node, Dir):
            self.notify(node, IN_ATTRIB, parent=False)  # its link count
        self.forget(node)
        self.notify_entry(parent, IN_DELETE, name, node)
        return 0

    def sys_renameat(self, call, olddirfd, old_ptr, newdirfd, new_ptr, *_):
        return self.sys_renameat2(call, olddirfd, old_ptr, newdirfd, new_ptr, 0)

    def sys_renameat2(self, call, olddirfd, old_ptr, newdirfd, new_ptr, flags, *_):
        """rename; RENAME_NOREPLACE: EEXIST rather than replace; RENAME_EXCHANGE: the two
        names swap their nodes (both must exist); RENAME_WHITEOUT: the old name is left to
        a whiteout (a character device 0:0, as a tmpfs makes it for overlay file systems)."""
        flags &= 0xFFFFFFFF
        if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or (
            flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) and flags & RENAME_EXCHANGE
        ):
            return -EINVAL
        # Linux's order (do_renameat2): both parents, the mounts, the last names' kinds, the
        # write access, then the last names looked up (the source's first)
        src = self._parent(call, olddirfd, old_ptr)
        if isinstance(src, int):
            return src
        dst = self._parent(call, newdirfd, new_ptr)
        if isinstance(dst, int):
            return dst
        (sparent, sname, sslash), (dparent, dname, dslash) = src, dst
        if file_system(sparent) is not file_system(dparent):
            return -EXDEV
        if sname in (b"", b".", b".."):
            return -EBUSY
        if dname in (b"", b".", b".."):
            return -EEXIST if flags & RENAME_NOREPLACE else -EBUSY
        if sparent.readonly or dparent.readonly:
            return -EROFS
        if len(sname) > NAME_MAX:
            return -ENAMETOOLONG
        node = sparent.entries.get(sname)
        if node is None:
            return -ENOENT
        if len(dname) > NAME_MAX:
            return -ENAMETOOLONG
        target = dparent.entries.get(dname)
        if target is not None and flags & RENAME_NOREPLACE:
            return -EEXIST
        if flags & RENAME_EXCHANGE and target is None:
            return -ENOENT
        if flags & RENAME_EXCHANGE and dslash and not isinstance(target, Dir):
            return -ENOTDIR
        if not isinstance(node, Dir) and (sslash or dslash and not flags & RENAME_EXCHANGE):
            return -ENOTDIR  # a trailing slash names a directory
        if flags & RENAME_EXCHANGE:
            return self._exchange(node, sparent, sname, target, dparent, dname)
        if target is node:
            return 0
        if isinstance(node, Dir):
            p = dparent
            while p is not p.parent:  # a directory cannot move into itself
                if p is node:
                    return -EINVAL
                p = p.parent
        if target is not None:
            if isinstance(target, Dir) and not isinstance(node, Dir):
                return -EISDIR
            if isinstance(node, Dir) and not isinstance(target, Dir):
                return -ENOTDIR
            if isinstance(target, Dir) and target.entries:
                return -ENOTEMPTY
            dparent.remove(dname)
        sparent.remove(sname)
        dparent.add(dname, node)
        if flags & RENAME_WHITEOUT:
            self.made(call, sparent, sname, Special(stat.S_IFCHR, 0))
        self.work(rename=1)
        if node.watches or sparent.watches or dparent.watches or target is not None:
            self._renamed(node, sparent, sname, dparent, dname, target)
        if target is not None:
            self.forget(target)
        return 0

    def _renamed(self, node, sparent, sname, dparent, dname, target) -> None:
        """A rename's events, as Linux's fsnotify_move orders them."""
        cookie = self.rename_cookie()
        self.notify_entry(sparent, IN_MOVED_FROM, sname, node, cookie)
        self.notify_entry(dparent, IN_MOVED_TO, dname, node, cookie)
        if target is not None:
            self.notify(target, IN_ATTRIB, parent=False)
        self.notify(node, IN_MOVE_SELF, parent=False)

    def _exchange(self, node, sparent, sname, target, dparent, dname) -> int:
        """RENAME_EXCHANGE: both names exist; neither directory may end up inside itself."""
        if target is None:
            return -ENOENT
        for moved, into in ((node, dparent), (target, sparent)):
            p = into
            while isinstance(moved, Dir) and p is not p.parent:
                if p is moved:
                    return -EINVAL
                p = p.parent
        if target is not node:
            sparent.remove(sname)
            dparent.remove(dname)
            sparent.add(sname, target)
            dparent.add(dname, node)
            self._renamed(node, sparent, sname, dparent, dname, None)
            self._renamed(target, dparent, dname, sparent, sname, None)
        self.work(rename=1)
        return 0

    # ---- the working directory -----------------------------------------------------------
    def sys_getcwd(self, call, buf, size, *_):
        with self.working(getcwd=1) as ops:
            path = self.vfs.path_of(self.table(call).cwd) + b"\0"
            if size < len(path):
                return -ERANGE
            ops.update(copy_page=1, copy_line=lines(len(path)))
            return self._out(call, buf, path) or len(path)

    def sys_chdir(self, call, path_ptr, *_):
        found = self._lookup(call, AT_FDCWD, path_ptr)
        if isinstance(found, int):
            return found
        if found[0] is None:
            return -ENOENT
        if not isinstance(found[0], Dir):
            return -ENOTDIR
        self.table(call).cwd = found[0]
        self.work(chdir=1)
        return 0

    def sys_fchdir(self, call, fd, *_):
        with self.working(fdget=1) as ops:
            t = self.table(call)
            f = t.file(_int(fd), raw=True)
            if f is None:
                return -EBADF
            if not isinstance(f.node, Dir):
                return -ENOTDIR
            t.cwd = f.node
            ops.update(chdir=1)
            return 0


def _int(x: int) -> int:
    """A register holding a C int (an fd): Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def _stat_bytes(node: Node) -> bytes:
    size = node.size
    rdev = getattr(node, "rdev", 0)
    t, a = node.mtime, node.accessed
    fields = (1, node.ino, node.mode, node.nlink, node.uid, node.gid, rdev, 0, size, 4096, 0)
    fields += (-(-size // 512),)
    times = (a // 10**9, a % 10**9) + (t // 10**9, t % 10**9) * 2  # atime, mtime, ctime
    return struct.pack("<QQIIIIQQqiiq" + "qQ" * 3 + "II", *fields, *times, 0, 0)


def _statx_bytes(node: Node) -> bytes:
    size, t, rdev = node.size, node.mtime, getattr(node, "rdev", 0)
    head = struct.pack(
        "<IIQIIIHHQQQQ",
        STATX_BASIC_STATS,
        4096,
        0,
        node.nlink,
        node.uid,
        node.gid,
        node.mode,
        0,
        node.ino,
        size,
        -(-size // 512),
        0,
    )
    stamp = struct.pack("<qIi", t // 10**9, t % 10**9, 0)
    a = node.accessed
    accessed = struct.pack("<qIi", a // 10**9, a % 10**9, 0)
    devs = struct.pack("<IIII", rdev >> 8 & 0xFFF, rdev & 0xFF, 0, 1)
    return (head + accessed + stamp * 3 + devs).ljust(256, b"\0")  # atime, btime, ctime, mtime

"""The file manager (fsmgr): file descriptors and the file-system calls over hmk.services.vfs.

The tree is hmk.services.rootfs's. Each process has a file table (`FileTable`: descriptors,
working directory); open file descriptions (`OpenFile`: node, flags, position) are shared by
dup'ed and inherited descriptors. Standard streams are console devices whose bytes go to the
run's stdin, stdout and stderr (the driver behind them is devhost's, which each console request
also calls). Mapped files' pages live in fsmgr's page cache (hmk.services.pagecache).

Each `sys_*` method takes the syscall's raw arguments and returns the result or -errno, as
Linux does; user memory goes through the caller's address space (`call.space`, EFAULT on a bad
pointer). A read of an empty pipe (or a write to a full one) blocks the thread until the other
end acts, and the call is then made again (-ERESTARTSYS); if no thread is left to run, the
program ends with SIGKILL and says so rather than hanging the simulator. A write to a pipe with
no reader is EPIPE and a SIGPIPE for the writer.
"""

from __future__ import annotations

import stat
import struct

from hmk.linux.abi import (
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_NO_AUTOMOUNT,
    AT_REMOVEDIR,
    AT_STATX_SYNC_TYPE,
    AT_SYMLINK_NOFOLLOW,
    EACCES,
    EAGAIN,
    EBADF,
    EBUSY,
    EEXIST,
    EFAULT,
    EINVAL,
    EISDIR,
    ELOOP,
    EMFILE,
    ENODEV,
    ENOENT,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    EPIPE,
    ERANGE,
    ERESTARTSYS,
    EROFS,
    ESPIPE,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_SETFD,
    F_SETFL,
    FD_CLOEXEC,
    MAX_RW_COUNT,
    NOFILE,
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    PATH_MAX,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    SIGPIPE,
    STATX_BASIC_STATS,
    STATX_RESERVED,
)
from hmk.linux.clock import read_timespec
from hmk.linux.strace import signed as _signed
from hmk.services.devhost import BlockDevice, Rtc
from hmk.services.memmgr import MemoryManager
from hmk.services.pagecache import PageCache
from hmk.services.rootfs import build_root
from hmk.services.service import Service
from hmk.services.vfs import Device, Dir, File, Generated, Node, Pipe, Symlink

STATX_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE
DT = {stat.S_IFDIR: 4, stat.S_IFREG: 8, stat.S_IFCHR: 2, stat.S_IFLNK: 10, stat.S_IFIFO: 1}
CONSOLE_FDS = (0, 1, 2)  # the standard streams: fsmgr passes their requests on to devhost


class OpenFile:
    """An open file description (shared by dup'ed descriptors): node, flags, position."""

    def __init__(self, node: Node, flags: int, pipe_end: str | None = None):
        self.node, self.flags, self.pos, self.pipe_end = node, flags, 0, pipe_end
        self.refs = 0

    @property
    def readable(self) -> bool:
        return self.flags & O_ACCMODE != O_WRONLY

    @property
    def writable(self) -> bool:
        return self.flags & O_ACCMODE in (O_WRONLY, O_RDWR)


class FileTable:
    """One process's descriptors and working directory."""

    def __init__(self, kernel, cwd: Dir):
        self.k, self.cwd = kernel, cwd
        self.fds: dict[int, tuple[OpenFile, bool]] = {}  # fd -> (description, close-on-exec)
        self.poll_waiters: list[int] = []  # threads in a ppoll with nothing ready (a signal,
        # a pipe's activity or the timeout wakes them)

    def install(self, fd: int, f: OpenFile, cloexec: bool) -> int:
        f.refs += 1
        self.fds[fd] = (f, cloexec)
        return fd

    def lowest_fd(self, start: int = 0) -> int:
        fd = start
        while fd in self.fds:
            fd += 1
        return fd if fd < NOFILE else -EMFILE

    def file(self, fd) -> OpenFile | None:
        entry = self.fds.get(fd)
        return entry[0] if entry else None

    def close(self, fd: int) -> int:
        entry = self.fds.pop(fd, None)
        if entry is None:
            return -EBADF
        self.release(entry[0])
        return 0

    def release(self, f: OpenFile) -> None:
        f.refs -= 1
        if f.refs == 0 and f.pipe_end is not None:
            pipe = f.node
            if f.pipe_end == "r":
                pipe.readers -= 1
                self.k.wake_all(pipe.write_waiters)  # they get EPIPE now
            else:
                pipe.writers -= 1
                self.k.wake_all(pipe.read_waiters)  # they see end of file now

    def copy(self) -> FileTable:
        """The child's table after fork: the same open files (shared positions), same cwd."""
        child = FileTable(self.k, self.cwd)
        for fd, (f, cloexec) in self.fds.items():
            child.install(fd, f, cloexec)
        return child


class FsMgr(Service):
    name = "fsmgr"
    default_class = "IC2"
    costs = {
        "call": 80,  # assumed: the fd table lookup and the file's operations table
        "fill": MemoryManager.costs["fill"],  # a page copied into or out of the page cache
    }

    def __init__(self, boot):
        super().__init__(boot)
        program = boot.program
        self.vfs = build_root(self, program, boot.bundled, boot.rootfs)
        self.cache = PageCache(self.k, self.work, self.costs["fill"])
        self.tables: dict[int, FileTable] = {}  # pid -> its file table

    def table(self, call) -> FileTable:
        return self.tables[call.task.pid]

    def running_task(self):
        """The process whose thread is running (procfs's "self")."""
        return self.peers["procmgr"].task_of(self.k.process_of(self.k.running))

    def space_of(self, task):
        return self.peers["memmgr"].space_of(task.proc)

    # ---- processes: start, fork, exec, exit ------------------------------------------------
    def process_started(self, task) -> None:
        """The first process: the standard streams on the console."""
        t = self.tables[task.pid] = FileTable(self.k, self.vfs.root)
        for fd, dev in enumerate(("stdin", "stdout", "stderr")):
            node = self.vfs.root.entries[b"dev"].entries[dev.encode()]
            t.install(fd, OpenFile(node, (O_RDWR, O_WRONLY, O_WRONLY)[fd]), False)

    def process_forked(self, parent, child) -> None:
        self.tables[child.pid] = self.tables[parent.pid].copy()

    def process_exec(self, task) -> None:
        t = self.tables[task.pid]
        for fd in sorted(fd for fd, (_, cloexec) in t.fds.items() if cloexec):
            t.close(fd)

    def process_exited(self, task) -> None:
        t = self.tables.pop(task.pid)
        for fd in sorted(t.fds):
            t.close(fd)

    def executable(self, task, path: bytes):
        """(bytes, absolute path) of the program at `path` for execve, or -errno."""
        node, _, _ = self.vfs.walk(self.tables[task.pid].cwd, path)
        if isinstance(node, int):
            return -node
        if node is None:
            return -ENOENT
        if not isinstance(node, File) or isinstance(node, Generated):
            return -EACCES
        if not node.mode & 0o111:
            return -EACCES
        return bytes(node.data), self.vfs.path_of(node)

    # ---- helpers -------------------------------------------------------------------------
    def _console(self, call, fd) -> None:
        """A request on a standard stream goes on to the console's driver."""
        if fd in CONSOLE_FDS:
            self.peers["devhost"].console_call(call.task.proc)

    def _path(self, call, ptr) -> bytes | int:
        name = call.space.read_cstring(ptr, limit=PATH_MAX)
        if name is None:
            return -EFAULT
        return name

    def _start(self, call, dirfd) -> Dir | int:
        t = self.table(call)
        if _int(dirfd) == AT_FDCWD:
            return t.cwd
        f = t.file(_int(dirfd))
        if f is None:
            return -EBADF
        if not isinstance(f.node, Dir):
            return -ENOTDIR
        return f.node

    def _lookup(self, call, dirfd, path_ptr, follow=True):
        """(node, parent, name) or a negative errno; (None, parent, name) when only the last
        component is missing."""
        path = self._path(call, path_ptr)
        if isinstance(path, int):
            return path
        start = self._start(call, dirfd)
        if isinstance(start, int):
            return start
        node, parent, name = self.vfs.walk(start, path, follow)
        if isinstance(node, int):
            return -node
        return node, parent, name

    def _stat_bytes(self, node: Node) -> bytes:
        size = node.size
        rdev = getattr(node, "rdev", 0)
        t = node.mtime
        fields = (1, node.ino, node.mode, node.nlink, 0, 0, rdev, 0, size, 4096, 0, -(-size // 512))
        times = (t // 10**9, t % 10**9) * 3
        return struct.pack("<QQIIIIQQqiiq" + "qQ" * 3 + "II", *fields, *times, 0, 0)

    # ---- opening and closing -------------------------------------------------------------
    def sys_openat(self, call, dirfd, path_ptr, flags, mode, *_):
        t = self.table(call)
        found = self._lookup(call, dirfd, path_ptr, follow=not flags & O_NOFOLLOW)
        if isinstance(found, int):
            return found
        node, parent, name = found
        acc = flags & O_ACCMODE
        if node is None:
            if not flags & O_CREAT:
                return -ENOENT
            if parent.readonly:
                return -EROFS
            node = parent.add(name, File(perm=mode & 0o777 & ~0o022))
            node.mtime = self.k.now_ns()
        elif flags & O_CREAT and flags & O_EXCL:
            return -EEXIST
        if isinstance(node, Symlink):
            return -ELOOP  # O_NOFOLLOW on a link
        if isinstance(node, Dir):
            if acc != 0 or flags & O_CREAT:
                return -EISDIR
        elif flags & O_DIRECTORY:
            return -ENOTDIR
        if acc != 0 and node.readonly:
            return -EROFS
        if flags & O_TRUNC and acc != 0 and isinstance(node, File):
            self._resize(node, 0)
        fd = t.lowest_fd()
        if fd < 0:
            return fd
        return t.install(fd, OpenFile(node, flags & ~O_CLOEXEC), bool(flags & O_CLOEXEC))

    def sys_close(self, call, fd, *_):
        return self.table(call).close(_int(fd))

    def sys_dup(self, call, fd, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        new = t.lowest_fd()
        return new if new < 0 else t.install(new, f, False)

    def sys_dup3(self, call, old, new, flags, *_):
        t = self.table(call)
        old, new = _int(old), _int(new)
        f = t.file(old)
        if f is None or not 0 <= new < NOFILE:
            return -EBADF
        if old == new or flags & ~O_CLOEXEC:
            return -EINVAL
        if new in t.fds:
            t.close(new)
        return t.install(new, f, bool(flags & O_CLOEXEC))

    def sys_fcntl(self, call, fd, cmd, arg, *_):
        t = self.table(call)
        fd = _int(fd)
        entry = t.fds.get(fd)
        if entry is None:
            return -EBADF
        f, cloexec = entry
        if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
            if not 0 <= arg < NOFILE:
                return -EINVAL
            new = t.lowest_fd(arg)
            return new if new < 0 else t.install(new, f, cmd == F_DUPFD_CLOEXEC)
        if cmd == F_GETFD:
            return FD_CLOEXEC if cloexec else 0
        if cmd == F_SETFD:
            t.fds[fd] = (f, bool(arg & FD_CLOEXEC))
            return 0
        if cmd == F_GETFL:
            return f.flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)
        if cmd == F_SETFL:
            f.flags = (f.flags & ~(O_APPEND | O_NONBLOCK)) | (arg & (O_APPEND | O_NONBLOCK))
            return 0
        return -EINVAL

    def sys_pipe2(self, call, fds_ptr, flags, *_):
        t = self.table(call)
        if flags & ~(O_CLOEXEC | O_NONBLOCK):
            return -EINVAL
        r, w = t.lowest_fd(), None
        if r < 0:
            return r
        t.fds[r] = None  # hold the slot while the second is found
        w = t.lowest_fd()
        del t.fds[r]
        if w < 0:
            return w
        if not call.space.write(fds_ptr, struct.pack("<ii", r, w)):
            return -EFAULT
        pipe = Pipe()
        pipe.readers = pipe.writers = 1
        nb = flags & O_NONBLOCK
        t.install(r, OpenFile(pipe, nb, "r"), bool(flags & O_CLOEXEC))
        t.install(w, OpenFile(pipe, O_WRONLY | nb, "w"), bool(flags & O_CLOEXEC))
        return 0

    # ---- data ----------------------------------------------------------------------------
    def _read(self, call, f: OpenFile, count: int, pos: int | None):
        """(bytes, advance position?) or a negative errno."""
        node = f.node
        if isinstance(node, Dir):
            return -EISDIR
        if not f.readable:
            return -EBADF
        if isinstance(node, Device):
            return node.read(count)
        if isinstance(node, BlockDevice):
            start = f.pos if pos is None else pos
            data = self.peers["devhost"].request(node, start, None, count)
            if isinstance(data, bytes) and pos is None:
                f.pos += len(data)
            return data
        if isinstance(node, Pipe):
            if not node.buffer:
                if node.writers == 0:
                    return b""
                if f.flags & O_NONBLOCK:
                    return -EAGAIN
                self.k.block_current(node.read_waiters)  # until a write or close
                return -ERESTARTSYS
            data = bytes(node.buffer[:count])
            del node.buffer[:count]
            self.k.wake_all(node.write_waiters)
            return data
        start = f.pos if pos is None else pos
        self._sync(node)
        data = bytes(node.data[start : start + count])
        if pos is None:
            f.pos += len(data)
        return data

    def _write(self, call, f: OpenFile, data: bytes, pos: int | None) -> int:
        node = f.node
        if not f.writable:
            return -EBADF
        if isinstance(node, Device):
            return node.write(data)
        if isinstance(node, BlockDevice):
            start = f.pos if pos is None else pos
            n = self.peers["devhost"].request(node, start, data)
            if n > 0 and pos is None:
                f.pos += n
            return n
        if isinstance(node, Pipe):
            if node.readers == 0:
                call.task.signals.post(SIGPIPE)  # delivered on the way out of the call
                return -EPIPE
            room = Pipe.CAPACITY - len(node.buffer)
            if room < len(data):
                if room == 0:
                    if f.flags & O_NONBLOCK:
                        return -EAGAIN
                    self.k.block_current(node.write_waiters)  # until a read
                    return -ERESTARTSYS
                data = data[:room]  # a partial write, as Linux's for more than PIPE_BUF
            node.buffer += data
            self.k.wake_all(node.read_waiters)
            return len(data)
        if pos is None and f.flags & O_APPEND:
            f.pos = len(node.data)
        start = f.pos if pos is None else pos
        self._sync(node)
        buf = node.data
        if start > len(buf):
            buf.extend(b"\0" * (start - len(buf)))
        buf[start : start + len(data)] = data
        node.mtime = self.k.now_ns()
        self.cache.refresh(node, start, start + len(data))
        if pos is None:
            f.pos = start + len(data)
        return len(data)

    def sys_read(self, call, fd, buf, count, *_):
        self._console(call, fd)
        return self._read_into(call, fd, buf, count, None)

    def sys_pread64(self, call, fd, buf, count, offset, *_):
        return self._read_into(call, fd, buf, count, offset)

    def _io_file(self, call, fd, pos):
        """The open file for a read or write (`pos` not None: positional), or -errno (a
        negative position before a bad descriptor, as Linux checks them)."""
        t = self.table(call)
        if pos is not None and _signed(pos) < 0:
            return -EINVAL
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if pos is not None and not isinstance(f.node, File | BlockDevice):
            return -ESPIPE
        return f

    def _read_into(self, call, fd, buf, count, pos):
        f = self._io_file(call, fd, pos)
        if isinstance(f, int):
            return f
        data = self._read(call, f, min(count, MAX_RW_COUNT), pos)
        if isinstance(data, int):
            return data
        return len(data) if call.space.write(buf, data) else -EFAULT

    def sys_write(self, call, fd, buf, count, *_):
        self._console(call, fd)
        return self._write_from(call, fd, buf, count, None)

    def sys_pwrite64(self, call, fd, buf, count, offset, *_):
        return self._write_from(call, fd, buf, count, offset)

    def _write_from(self, call, fd, buf, count, pos):
        f = self._io_file(call, fd, pos)
        if isinstance(f, int):
            return f
        data = call.space.read(buf, min(count, MAX_RW_COUNT))
        if data is None:
            return -EFAULT
        return self._write(call, f, data, pos)

    def _iov(self, call, iov, iovcnt):
        if not 0 <= iovcnt <= 1024:
            return -EINVAL
        raw = call.space.read(iov, 16 * iovcnt)
        if raw is None:
            return -EFAULT
        return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(iovcnt)]

    def sys_writev(self, call, fd, iov, iovcnt, *_):
        self._console(call, fd)
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        vec = self._iov(call, iov, iovcnt)
        if isinstance(vec, int):
            return vec
        data = b""
        for base, length in vec:
            chunk = call.space.read(base, length)
            if chunk is None:
                return -EFAULT
            data += chunk
        return self._write(call, f, data, None) if data or f.writable else -EBADF

    def sys_readv(self, call, fd, iov, iovcnt, *_):
        self._console(call, fd)
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        vec = self._iov(call, iov, iovcnt)
        if isinstance(vec, int):
            return vec
        total = 0
        for base, length in vec:
            data = self._read(call, f, length, None)
            if isinstance(data, int):
                return data if total == 0 else total
            if not call.space.write(base, data):
                return -EFAULT
            total += len(data)
            if len(data) < length:
                break
        return total

    def sys_lseek(self, call, fd, offset, whence, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if isinstance(f.node, (Pipe, Device)):
            return -ESPIPE
        base = {0: 0, 1: f.pos, 2: f.node.size}.get(whence)
        if base is None:
            return -EINVAL
        new = base + _signed(offset)
        if new < 0:
            return -EINVAL
        f.pos = new
        return new

    def sys_ftruncate(self, call, fd, length, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if not isinstance(f.node, File) or not f.writable or _signed(length) < 0:
            return -EINVAL
        self._resize(f.node, _signed(length))
        return 0

    def _resize(self, node: File, length: int) -> None:
        """Truncate or zero-extend the file (stores through shared mappings first); its
        cached pages follow."""
        self._sync(node)
        data = node.data
        del data[length:]
        data.extend(b"\0" * (length - len(data)))
        node.mtime = self.k.now_ns()
        self.cache.refresh(node)

    def sys_ioctl(self, call, fd, request, arg, *_):
        self._console(call, fd)
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if isinstance(f.node, BlockDevice | Rtc):
            return self.peers["devhost"].ioctl(call.space, f.node, request & 0xFFFFFFFF, arg)
        return -ENOTTY  # no terminals: the standard streams are files or pipes to hmk

    # ---- metadata ------------------------------------------------------------------------
    def sys_fstat(self, call, fd, buf, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        return 0 if call.space.write(buf, self._stat_bytes(f.node)) else -EFAULT

    def sys_newfstatat(self, call, dirfd, path_ptr, buf, flags, *_):
        node = self._stat_target(call, dirfd, path_ptr, flags)
        if isinstance(node, int):
            return node
        return 0 if call.space.write(buf, self._stat_bytes(node)) else -EFAULT

    def sys_statx(self, call, dirfd, path_ptr, flags, mask, buf, *_):
        """struct statx with the basic fields (STATX_BASIC_STATS); no birth time."""
        if flags & ~STATX_FLAGS or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
            return -EINVAL
        if mask & STATX_RESERVED:
            return -EINVAL
        node = self._stat_target(call, dirfd, path_ptr, flags)
        if isinstance(node, int):
            return node
        size, t, rdev = node.size, node.mtime, getattr(node, "rdev", 0)
        head = struct.pack(
            "<IIQIIIHHQQQQ",
            STATX_BASIC_STATS,
            4096,
            0,
            node.nlink,
            0,
            0,
            node.mode,
            0,
            node.ino,
            size,
            -(-size // 512),
            0,
        )
        stamp = struct.pack("<qIi", t // 10**9, t % 10**9, 0)
        devs = struct.pack("<IIII", rdev >> 8 & 0xFFF, rdev & 0xFF, 0, 1)
        data = (head + stamp * 4 + devs).ljust(256, b"\0")
        return 0 if call.space.write(buf, data) else -EFAULT

    def _stat_target(self, call, dirfd, path_ptr, flags):
        """The node fstatat/statx name: a path, or with AT_EMPTY_PATH and "" the descriptor
        (or the working directory); a negative errno."""
        t = self.table(call)
        if flags & AT_EMPTY_PATH and call.space.read(path_ptr, 1) == b"\0":
            if _int(dirfd) == AT_FDCWD:
                node = t.cwd
            else:
                f = t.file(_int(dirfd))
                if f is None:
                    return -EBADF
                node = f.node
        else:
            found = self._lookup(call, dirfd, path_ptr, not flags & AT_SYMLINK_NOFOLLOW)
            if isinstance(found, int):
                return found
            node = found[0]
            if node is None:
                return -ENOENT
        return node

    def sys_faccessat(self, call, dirfd, path_ptr, mode, *_):
        found = self._lookup(call, dirfd, path_ptr)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        if mode & 2 and node.readonly:
            return -EROFS
        if mode & 1 and not node.mode & 0o111:
            return -EACCES
        return 0

    def sys_readlinkat(self, call, dirfd, path_ptr, buf, size, *_):
        found = self._lookup(call, dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        if not isinstance(node, Symlink):
            return -EINVAL
        if _signed(size) <= 0:
            return -EINVAL
        target = node.target[:size]
        return len(target) if call.space.write(buf, target) else -EFAULT

    def sys_getdents64(self, call, fd, buf, count, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if not isinstance(f.node, Dir):
            return -ENOTDIR
        d = f.node
        entries = [(b".", d), (b"..", d.parent)] + list(d.entries.items())
        out = bytearray()
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
            f.pos += 1
        return len(out) if call.space.write(buf, bytes(out)) else -EFAULT

    # ---- the namespace -------------------------------------------------------------------
    def sys_mkdirat(self, call, dirfd, path_ptr, mode, *_):
        found = self._lookup(call, dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node, parent, name = found
        if node is not None:
            return -EEXIST
        if parent.readonly:
            return -EROFS
        parent.add(name, Dir(perm=mode & 0o777 & ~0o022)).mtime = self.k.now_ns()
        return 0

    def sys_unlinkat(self, call, dirfd, path_ptr, flags, *_):
        t = self.table(call)
        if flags & ~AT_REMOVEDIR:
            return -EINVAL
        found = self._lookup(call, dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node, parent, name = found
        if node is None:
            return -ENOENT
        if name in (b"", b".", b".."):
            return -EINVAL if name == b"." else -ENOTEMPTY
        if parent.readonly:
            return -EROFS
        if flags & AT_REMOVEDIR:
            if not isinstance(node, Dir):
                return -ENOTDIR
            if node.entries:
                return -ENOTEMPTY
            if node is t.cwd:
                return -EBUSY
        elif isinstance(node, Dir):
            return -EISDIR
        parent.remove(name)
        return 0

    def sys_renameat(self, call, olddirfd, old_ptr, newdirfd, new_ptr, *_):
        return self.sys_renameat2(call, olddirfd, old_ptr, newdirfd, new_ptr, 0)

    def sys_renameat2(self, call, olddirfd, old_ptr, newdirfd, new_ptr, flags, *_):
        if flags:
            return -EINVAL  # RENAME_NOREPLACE and friends: not yet
        src = self._lookup(call, olddirfd, old_ptr, follow=False)
        if isinstance(src, int):
            return src
        dst = self._lookup(call, newdirfd, new_ptr, follow=False)
        if isinstance(dst, int):
            return dst
        node, sparent, sname = src
        target, dparent, dname = dst
        if node is None:
            return -ENOENT
        if sparent.readonly or dparent.readonly:
            return -EROFS
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
        return 0

    def sys_getcwd(self, call, buf, size, *_):
        t = self.table(call)
        path = self.vfs.path_of(t.cwd) + b"\0"
        if size < len(path):
            return -ERANGE
        return len(path) if call.space.write(buf, path) else -EFAULT

    def sys_chdir(self, call, path_ptr, *_):
        t = self.table(call)
        found = self._lookup(call, AT_FDCWD, path_ptr)
        if isinstance(found, int):
            return found
        if found[0] is None:
            return -ENOENT
        if not isinstance(found[0], Dir):
            return -ENOTDIR
        t.cwd = found[0]
        return 0

    def sys_fchdir(self, call, fd, *_):
        t = self.table(call)
        f = t.file(_int(fd))
        if f is None:
            return -EBADF
        if not isinstance(f.node, Dir):
            return -ENOTDIR
        t.cwd = f.node
        return 0

    def sys_fsync(self, call, fd, *_):
        t = self.table(call)
        return 0 if t.file(_int(fd)) is not None else -EBADF

    sys_fdatasync = sys_fsync

    def sys_ppoll(self, call, fds_ptr, nfds, timeout, sigmask, *_):
        t = self.table(call)
        if nfds > NOFILE:
            return -EINVAL
        raw = call.space.read(fds_ptr, 8 * nfds)
        if raw is None:
            return -EFAULT
        out, ready = bytearray(raw), 0
        for i in range(nfds):
            fd, events, _ = struct.unpack_from("<ihh", raw, 8 * i)
            f = t.file(fd)
            rev = POLLNVAL if f is None and fd >= 0 else 0
            if f is not None:
                node = f.node
                readable = not isinstance(node, Pipe) or node.buffer or node.writers == 0
                writable = not isinstance(node, Pipe) or len(node.buffer) < Pipe.CAPACITY
                rev = (POLLIN if readable and f.readable else 0) | (
                    POLLOUT if writable and f.writable else 0
                )
                rev &= events | POLLNVAL
            struct.pack_into("<h", out, 8 * i + 6, rev)
            ready += bool(rev)
        wait = None  # ns to wait for; None: until something is ready
        if not ready and timeout:
            wait = read_timespec(call.space, timeout)
            if wait is None or wait < 0:
                return -EFAULT if wait is None else -EINVAL
        if not ready and wait != 0:  # wait for a pipe to change, a signal, or the timeout
            k = self.k
            pipes = [f.node for f in map(t.file, self._poll_fds(raw, nfds)) if f]
            waits = [p.read_waiters for p in pipes if isinstance(p, Pipe)]
            waits += [p.write_waiters for p in pipes if isinstance(p, Pipe)]
            if wait is None:
                k.block_current(t.poll_waiters)
            elif not k.sleep_until(k.wait_deadline(wait), t.poll_waiters):
                return 0 if call.space.write(fds_ptr, bytes(out)) else -EFAULT
            for queue in waits:
                queue.append(k.running)
            return -ERESTARTSYS
        return ready if call.space.write(fds_ptr, bytes(out)) else -EFAULT

    @staticmethod
    def _poll_fds(raw: bytes, nfds: int) -> list[int]:
        return [struct.unpack_from("<i", raw, 8 * i)[0] for i in range(nfds)]

    # ---- for the memory manager: a file's bytes for mmap ---------------------------------
    def mapping_source(self, task, fd: int, offset: int, length: int, writes: bool = False):
        """(bytes backing [offset, offset + length) of the file, its path, its node) or
        -errno. `writes`: a shared writable mapping (the file must be open for writing; its
        stores reach the file through the page cache)."""
        f = self.tables[task.pid].file(_int(fd))
        if f is None:
            return -EBADF
        if not isinstance(f.node, File):
            return -ENODEV
        if not f.readable or writes and not f.writable:
            return -EACCES
        if writes:
            self.cache.written_through.add(f.node.ino)
        self._sync(f.node)
        path = self.vfs.path_of(f.node).decode(errors="replace")
        return bytes(f.node.data[offset : offset + length]), path, f.node

    def shared_anonymous(self, length: int) -> File:
        """The unnamed object behind MAP_SHARED|MAP_ANONYMOUS (Linux: a shmem file)."""
        node = File(b"\0" * length)
        self.cache.written_through.add(node.ino)
        return node

    def sync_mapped(self, proc, node) -> None:
        """msync: a shared mapping's stores reach the file (fsmgr's side of the call)."""
        self.placement.call(proc, "fsmgr", lambda: self._sync(node))

    def _sync(self, node) -> None:
        """Stores through shared mappings reach the file before fsmgr looks at its bytes."""
        if isinstance(node, File):
            self.cache.writeback(node)


def _int(x: int) -> int:
    """A register holding a C int (an fd, a pid): Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x

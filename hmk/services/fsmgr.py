"""The file manager (fsmgr): file descriptors and the file-system calls over hmk.services.vfs.

The tree (default root, `build_root`): the program at its host path (read-only, as qemu-user
shows it), /bin with the bundled programs and /etc/passwd (read-only), a writable tmpfs on /tmp,
devfs on /dev (null, zero, urandom, tty), a minimal procfs on /proc (self/exe, self/maps,
meminfo). Standard streams are console devices whose bytes go to the run's stdin/stdout/stderr
(the driver behind them is devhost's, which the shim charges for).

Each `sys_*` method takes the syscall's raw arguments and returns the result or -errno, as
Linux does; user memory goes through the process's address space (`space.read/write`, EFAULT on
a bad pointer). A read of an empty pipe (or a write to a full one) blocks the thread until
the other end acts, and the call is then made again (ERESTARTSYS); if no thread is left to run,
the program ends with SIGKILL and says so rather than hanging the simulator. A write to a pipe
with no reader is EPIPE and a SIGPIPE for the writer.
"""

from __future__ import annotations

import errno
import stat
import struct

import numpy as np

from hmk.kernel.costs import BUDGETS
from hmk.kernel.syscalls import ERESTARTSYS
from hmk.kernel.syscalls import signed as _signed
from hmk.kernel.vspace import log_phys
from hmk.services import devhost
from hmk.services.devhost import BlockDevice
from hmk.services.vfs import Device, Dir, File, Generated, HostDir, Node, Pipe, Symlink, Vfs

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EMPTY_PATH = 0x100, 0x200, 0x1000
AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE = 0x800, 0x6000
STATX_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE
STATX_BASIC_STATS, STATX_RESERVED = 0x7FF, 0x80000000
O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND = 0o100, 0o200, 0o1000, 0o2000
O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC = 0o4000, 0o40000, 0o100000, 0o2000000
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
FD_CLOEXEC = 1
NOFILE = 1024  # RLIMIT_NOFILE's default soft limit
MAX_RW = 0x7FFFF000
SIGPIPE = 13
DT = {stat.S_IFDIR: 4, stat.S_IFREG: 8, stat.S_IFCHR: 2, stat.S_IFLNK: 10, stat.S_IFIFO: 1}
POLLIN, POLLOUT, POLLNVAL = 0x1, 0x4, 0x20


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


class PageCache:
    """fsmgr's page cache: file pages held in frames of simulated RAM, filled on first use
    (a mapped file's page; reads and writes of the cached pages keep them current). Indexed
    by inode, so a write touches only its own file's pages in the range it wrote."""

    def __init__(self, core):
        self.core = core
        self.pages: dict[int, dict[int, int]] = {}  # inode -> {page index: frame}
        self.written_through: set[int] = set()  # inodes with a shared writable mapping

    def __len__(self) -> int:
        return sum(len(pages) for pages in self.pages.values())

    def frame_of(self, node: File, index: int) -> int:
        pages = self.pages.setdefault(node.ino, {})
        pa = pages.get(index)
        if pa is None:
            k = self.core
            pa = k.frames.alloc(zero=False, owner="fsmgr.pagecache")
            pages[index] = pa
            self._fill(node, index, pa)
            for off in range(0, 4096, 64):
                log_phys(k.mem, pa + off, 1, 64)  # the fill's line writes, timed
            k.shim.work("fsmgr", BUDGETS["mm.fill"])
            k.counts["fsmgr.pagecache.fills"] += 1
        return pa

    def _fill(self, node: File, index: int, pa: int) -> None:
        data = bytes(node.data[index * 4096 : (index + 1) * 4096])
        self.core.ram[pa : pa + 4096] = 0
        self.core.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)

    def refresh(self, node: File, start: int = 0, end: int | None = None) -> None:
        """The file changed: bytes [start, end) written (end None: anything, a truncate);
        its cached pages there take the new bytes (pages past the old end were zero)."""
        pages = self.pages.get(node.ino)
        if not pages:
            return
        if end is None:
            chosen = list(pages.items())
        else:
            span = range(start // 4096, (end + 4095) // 4096)
            chosen = [(i, pages[i]) for i in span if i in pages]
        for index, pa in chosen:
            self._fill(node, index, pa)

    def writeback(self, node: File) -> None:
        """Before fsmgr reads or changes a file that a shared writable mapping may have
        stored to, the stores reach the file: each cached page is copied back (bytes past the
        end of the file are dropped, as Linux's are). No dirty bits are modelled: every cached
        page of the file is written back, charged as a page copy each."""
        if node.ino not in self.written_through:
            return
        data, ram = node.data, self.core.ram
        for index, pa in self.pages.get(node.ino, {}).items():
            if index * 4096 < len(data):
                n = min(4096, len(data) - index * 4096)
                data[index * 4096 : index * 4096 + n] = ram[pa : pa + n].tobytes()
                for off in range(0, n, 64):
                    log_phys(self.core.mem, pa + off, 0, 64)  # the copy's line reads, timed
                self.core.shim.work("fsmgr", BUDGETS["mm.fill"])
                self.core.counts["fsmgr.pagecache.writebacks"] += 1

    def evict(self, node: File) -> list[int]:
        """Drop the file's pages from the cache (an unnamed shared object nobody maps any
        more): the frames, for the memory manager to release its references."""
        self.written_through.discard(node.ino)
        return list(self.pages.pop(node.ino, {}).values())


class FsMgr:
    def __init__(self, linux, vfs: Vfs, cache: PageCache | None = None):
        self.linux, self.vfs, self.cache = linux, vfs, cache  # linux: the personality
        self.poll_waiters: list[int] = []  # threads in a ppoll with nothing ready (a signal,
        # a pipe's activity or the timeout wakes them)
        self.cwd: Dir = vfs.root
        self.fds: dict[int, tuple[OpenFile, bool]] = {}  # fd -> (description, close-on-exec)
        for fd, dev in enumerate(("stdin", "stdout", "stderr")):
            node = self.vfs.root.entries[b"dev"].entries[dev.encode()]
            self._install(fd, OpenFile(node, (O_RDWR, O_WRONLY, O_WRONLY)[fd]), False)

    # ---- helpers -------------------------------------------------------------------------
    @property
    def space(self):
        return self.linux.space

    def _install(self, fd: int, f: OpenFile, cloexec: bool) -> int:
        f.refs += 1
        self.fds[fd] = (f, cloexec)
        return fd

    def _lowest_fd(self, start: int = 0) -> int:
        fd = start
        while fd in self.fds:
            fd += 1
        return fd if fd < NOFILE else -errno.EMFILE

    def _file(self, fd) -> OpenFile | None:
        entry = self.fds.get(fd)
        return entry[0] if entry else None

    def _release(self, f: OpenFile) -> None:
        f.refs -= 1
        if f.refs == 0 and f.pipe_end is not None:
            pipe = f.node
            if f.pipe_end == "r":
                pipe.readers -= 1
                self.linux.core.wake_all(pipe.write_waiters)  # they get EPIPE now
            else:
                pipe.writers -= 1
                self.linux.core.wake_all(pipe.read_waiters)  # they see end of file now

    def _path(self, ptr) -> bytes | int:
        name = self.space.read_cstring(ptr, limit=4096)
        if name is None:
            return -errno.EFAULT
        return name

    def _start(self, dirfd) -> Dir | int:
        if _int(dirfd) == AT_FDCWD:
            return self.cwd
        f = self._file(_int(dirfd))
        if f is None:
            return -errno.EBADF
        if not isinstance(f.node, Dir):
            return -errno.ENOTDIR
        return f.node

    def _lookup(self, dirfd, path_ptr, follow=True):
        """(node, parent, name) or a negative errno; (None, parent, name) when only the last
        component is missing."""
        path = self._path(path_ptr)
        if isinstance(path, int):
            return path
        start = self._start(dirfd)
        if isinstance(start, int):
            return start
        node, parent, name = self.vfs.walk(start, path, follow)
        if isinstance(node, int):
            return -node
        return node, parent, name

    def _now(self) -> int:
        return self.linux.clock()

    def _stat_bytes(self, node: Node) -> bytes:
        size = node.size
        rdev = getattr(node, "rdev", 0)
        t = node.mtime
        fields = (1, node.ino, node.mode, node.nlink, 0, 0, rdev, 0, size, 4096, 0, -(-size // 512))
        times = (t // 10**9, t % 10**9) * 3
        return struct.pack("<QQIIIIQQqiiq" + "qQ" * 3 + "II", *fields, *times, 0, 0)

    # ---- opening and closing -------------------------------------------------------------
    def sys_openat(self, m, dirfd, path_ptr, flags, mode, *_):
        found = self._lookup(dirfd, path_ptr, follow=not flags & O_NOFOLLOW)
        if isinstance(found, int):
            return found
        node, parent, name = found
        acc = flags & O_ACCMODE
        if node is None:
            if not flags & O_CREAT:
                return -errno.ENOENT
            if parent.readonly:
                return -errno.EROFS
            node = parent.add(name, File(perm=mode & 0o777 & ~0o022))
            node.mtime = self._now()
        elif flags & O_CREAT and flags & O_EXCL:
            return -errno.EEXIST
        if isinstance(node, Symlink):
            return -errno.ELOOP  # O_NOFOLLOW on a link
        if isinstance(node, Dir):
            if acc != 0 or flags & O_CREAT:
                return -errno.EISDIR
        elif flags & O_DIRECTORY:
            return -errno.ENOTDIR
        if acc != 0 and node.readonly:
            return -errno.EROFS
        if flags & O_TRUNC and acc != 0 and isinstance(node, File):
            self._resize(node, 0)
        fd = self._lowest_fd()
        if fd < 0:
            return fd
        return self._install(fd, OpenFile(node, flags & ~O_CLOEXEC), bool(flags & O_CLOEXEC))

    def sys_close(self, m, fd, *_):
        entry = self.fds.pop(_int(fd), None)
        if entry is None:
            return -errno.EBADF
        self._release(entry[0])
        return 0

    def sys_dup(self, m, fd, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        new = self._lowest_fd()
        return new if new < 0 else self._install(new, f, False)

    def sys_dup3(self, m, old, new, flags, *_):
        old, new = _int(old), _int(new)
        f = self._file(old)
        if f is None or not 0 <= new < NOFILE:
            return -errno.EBADF
        if old == new or flags & ~O_CLOEXEC:
            return -errno.EINVAL
        if new in self.fds:
            self.sys_close(m, new)
        return self._install(new, f, bool(flags & O_CLOEXEC))

    def sys_fcntl(self, m, fd, cmd, arg, *_):
        fd = _int(fd)
        entry = self.fds.get(fd)
        if entry is None:
            return -errno.EBADF
        f, cloexec = entry
        if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
            if not 0 <= arg < NOFILE:
                return -errno.EINVAL
            new = self._lowest_fd(arg)
            return new if new < 0 else self._install(new, f, cmd == F_DUPFD_CLOEXEC)
        if cmd == F_GETFD:
            return FD_CLOEXEC if cloexec else 0
        if cmd == F_SETFD:
            self.fds[fd] = (f, bool(arg & FD_CLOEXEC))
            return 0
        if cmd == F_GETFL:
            return f.flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)
        if cmd == F_SETFL:
            f.flags = (f.flags & ~(O_APPEND | O_NONBLOCK)) | (arg & (O_APPEND | O_NONBLOCK))
            return 0
        return -errno.EINVAL

    def sys_pipe2(self, m, fds_ptr, flags, *_):
        if flags & ~(O_CLOEXEC | O_NONBLOCK):
            return -errno.EINVAL
        r, w = self._lowest_fd(), None
        if r < 0:
            return r
        self.fds[r] = None  # hold the slot while the second is found
        w = self._lowest_fd()
        del self.fds[r]
        if w < 0:
            return w
        if not self.space.write(fds_ptr, struct.pack("<ii", r, w)):
            return -errno.EFAULT
        pipe = Pipe()
        pipe.readers = pipe.writers = 1
        nb = flags & O_NONBLOCK
        self._install(r, OpenFile(pipe, nb, "r"), bool(flags & O_CLOEXEC))
        self._install(w, OpenFile(pipe, O_WRONLY | nb, "w"), bool(flags & O_CLOEXEC))
        return 0

    # ---- data ----------------------------------------------------------------------------
    def _read(self, m, f: OpenFile, count: int, pos: int | None):
        """(bytes, advance position?) or a negative errno."""
        node = f.node
        if isinstance(node, Dir):
            return -errno.EISDIR
        if not f.readable:
            return -errno.EBADF
        if isinstance(node, Device):
            return node.read(count)
        if isinstance(node, BlockDevice):
            start = f.pos if pos is None else pos
            data = devhost.request(self, node, start, None, count)
            if isinstance(data, bytes) and pos is None:
                f.pos += len(data)
            return data
        if isinstance(node, Pipe):
            if not node.buffer:
                if node.writers == 0:
                    return b""
                if f.flags & O_NONBLOCK:
                    return -errno.EAGAIN
                self.linux.core.block_current(node.read_waiters)  # until a write or close
                return ERESTARTSYS
            data = bytes(node.buffer[:count])
            del node.buffer[:count]
            self.linux.core.wake_all(node.write_waiters)
            return data
        start = f.pos if pos is None else pos
        self._sync(node)
        data = bytes(node.data[start : start + count])
        if pos is None:
            f.pos += len(data)
        return data

    def _write(self, m, f: OpenFile, data: bytes, pos: int | None) -> int:
        node = f.node
        if not f.writable:
            return -errno.EBADF
        if isinstance(node, Device):
            return node.write(data)
        if isinstance(node, BlockDevice):
            start = f.pos if pos is None else pos
            n = devhost.request(self, node, start, data)
            if n > 0 and pos is None:
                f.pos += n
            return n
        if isinstance(node, Pipe):
            if node.readers == 0:
                self.linux.signals.post(SIGPIPE)  # delivered on the way out of the call
                return -errno.EPIPE
            room = Pipe.CAPACITY - len(node.buffer)
            if room < len(data):
                if room == 0:
                    if f.flags & O_NONBLOCK:
                        return -errno.EAGAIN
                    self.linux.core.block_current(node.write_waiters)  # until a read
                    return ERESTARTSYS
                data = data[:room]  # a partial write, as Linux's for more than PIPE_BUF
            node.buffer += data
            self.linux.core.wake_all(node.read_waiters)
            return len(data)
        if pos is None and f.flags & O_APPEND:
            f.pos = len(node.data)
        start = f.pos if pos is None else pos
        self._sync(node)
        buf = node.data
        if start > len(buf):
            buf.extend(b"\0" * (start - len(buf)))
        buf[start : start + len(data)] = data
        node.mtime = self._now()
        if self.cache is not None:
            self.cache.refresh(node, start, start + len(data))
        if pos is None:
            f.pos = start + len(data)
        return len(data)

    def sys_read(self, m, fd, buf, count, *_):
        return self._read_into(m, fd, buf, count, None)

    def sys_pread64(self, m, fd, buf, count, offset, *_):
        return self._read_into(m, fd, buf, count, offset)

    # ---- processes: fork, exec, exit (hmk.services.procmgr)
    def forked(self, linux) -> FsMgr:
        """The child's table after fork: the same open files (shared positions), same cwd."""
        child = FsMgr.__new__(FsMgr)
        child.linux, child.vfs, child.cwd, child.fds = linux, self.vfs, self.cwd, {}
        child.cache = self.cache
        child.poll_waiters = []
        for fd, (f, cloexec) in self.fds.items():
            child._install(fd, f, cloexec)
        return child

    def close_all(self, m) -> None:
        for fd in sorted(self.fds):
            self.sys_close(m, fd)

    def close_on_exec(self, m) -> None:
        for fd in sorted(fd for fd, (_, cloexec) in self.fds.items() if cloexec):
            self.sys_close(m, fd)

    def executable(self, path: bytes):
        """(bytes, absolute path) of the program at `path` for execve, or -errno."""
        node, _, _ = self.vfs.walk(self.cwd, path)
        if isinstance(node, int):
            return -node
        if node is None:
            return -errno.ENOENT
        if not isinstance(node, File) or isinstance(node, Generated):
            return -errno.EACCES
        if not node.mode & 0o111:
            return -errno.EACCES
        return bytes(node.data), self.vfs.path_of(node)

    def _io_file(self, fd, pos):
        """The open file for a read or write (`pos` not None: positional), or -errno (a
        negative position before a bad descriptor, as Linux checks them)."""
        if pos is not None and _signed(pos) < 0:
            return -errno.EINVAL
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if pos is not None and not isinstance(f.node, File | BlockDevice):
            return -errno.ESPIPE
        return f

    def _read_into(self, m, fd, buf, count, pos):
        f = self._io_file(fd, pos)
        if isinstance(f, int):
            return f
        data = self._read(m, f, min(count, MAX_RW), pos)
        if isinstance(data, int):
            return data
        return len(data) if self.space.write(buf, data) else -errno.EFAULT

    def sys_write(self, m, fd, buf, count, *_):
        return self._write_from(m, fd, buf, count, None)

    def sys_pwrite64(self, m, fd, buf, count, offset, *_):
        return self._write_from(m, fd, buf, count, offset)

    def _write_from(self, m, fd, buf, count, pos):
        f = self._io_file(fd, pos)
        if isinstance(f, int):
            return f
        data = self.space.read(buf, min(count, MAX_RW))
        if data is None:
            return -errno.EFAULT
        return self._write(m, f, data, pos)

    def _iov(self, iov, iovcnt):
        if not 0 <= iovcnt <= 1024:
            return -errno.EINVAL
        raw = self.space.read(iov, 16 * iovcnt)
        if raw is None:
            return -errno.EFAULT
        return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(iovcnt)]

    def sys_writev(self, m, fd, iov, iovcnt, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        vec = self._iov(iov, iovcnt)
        if isinstance(vec, int):
            return vec
        data = b""
        for base, length in vec:
            chunk = self.space.read(base, length)
            if chunk is None:
                return -errno.EFAULT
            data += chunk
        return self._write(m, f, data, None) if data or f.writable else -errno.EBADF

    def sys_readv(self, m, fd, iov, iovcnt, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        vec = self._iov(iov, iovcnt)
        if isinstance(vec, int):
            return vec
        total = 0
        for base, length in vec:
            data = self._read(m, f, length, None)
            if isinstance(data, int):
                return data if total == 0 else total
            if not self.space.write(base, data):
                return -errno.EFAULT
            total += len(data)
            if len(data) < length:
                break
        return total

    def sys_lseek(self, m, fd, offset, whence, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if isinstance(f.node, (Pipe, Device)):
            return -errno.ESPIPE
        base = {0: 0, 1: f.pos, 2: f.node.size}.get(whence)
        if base is None:
            return -errno.EINVAL
        new = base + _signed(offset)
        if new < 0:
            return -errno.EINVAL
        f.pos = new
        return new

    def sys_ftruncate(self, m, fd, length, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if not isinstance(f.node, File) or not f.writable or _signed(length) < 0:
            return -errno.EINVAL
        self._resize(f.node, _signed(length))
        return 0

    def _resize(self, node: File, length: int) -> None:
        """Truncate or zero-extend the file (stores through shared mappings first); its
        cached pages follow."""
        self._sync(node)
        data = node.data
        del data[length:]
        data.extend(b"\0" * (length - len(data)))
        node.mtime = self._now()
        if self.cache is not None:
            self.cache.refresh(node)

    def sys_ioctl(self, m, fd, request, arg, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if isinstance(f.node, BlockDevice | devhost.Rtc):
            return devhost.ioctl(self, f.node, request & 0xFFFFFFFF, arg)
        return -errno.ENOTTY  # no terminals: the standard streams are files or pipes to hmk

    # ---- metadata ------------------------------------------------------------------------
    def sys_fstat(self, m, fd, buf, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        return 0 if self.space.write(buf, self._stat_bytes(f.node)) else -errno.EFAULT

    def sys_newfstatat(self, m, dirfd, path_ptr, buf, flags, *_):
        node = self._stat_target(dirfd, path_ptr, flags)
        if isinstance(node, int):
            return node
        return 0 if self.space.write(buf, self._stat_bytes(node)) else -errno.EFAULT

    def sys_statx(self, m, dirfd, path_ptr, flags, mask, buf, *_):
        """struct statx with the basic fields (STATX_BASIC_STATS); no birth time."""
        if flags & ~STATX_FLAGS or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE:
            return -errno.EINVAL
        if mask & STATX_RESERVED:
            return -errno.EINVAL
        node = self._stat_target(dirfd, path_ptr, flags)
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
        return 0 if self.space.write(buf, data) else -errno.EFAULT

    def _stat_target(self, dirfd, path_ptr, flags):
        """The node fstatat/statx name: a path, or with AT_EMPTY_PATH and "" the descriptor
        (or the working directory); a negative errno."""
        if flags & AT_EMPTY_PATH and self.space.read(path_ptr, 1) == b"\0":
            if _int(dirfd) == AT_FDCWD:
                node = self.cwd
            else:
                f = self._file(_int(dirfd))
                if f is None:
                    return -errno.EBADF
                node = f.node
        else:
            found = self._lookup(dirfd, path_ptr, not flags & AT_SYMLINK_NOFOLLOW)
            if isinstance(found, int):
                return found
            node = found[0]
            if node is None:
                return -errno.ENOENT
        return node

    def sys_faccessat(self, m, dirfd, path_ptr, mode, *_):
        found = self._lookup(dirfd, path_ptr)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -errno.ENOENT
        if mode & 2 and node.readonly:
            return -errno.EROFS
        if mode & 1 and not node.mode & 0o111:
            return -errno.EACCES
        return 0

    def sys_readlinkat(self, m, dirfd, path_ptr, buf, size, *_):
        found = self._lookup(dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -errno.ENOENT
        if not isinstance(node, Symlink):
            return -errno.EINVAL
        if _signed(size) <= 0:
            return -errno.EINVAL
        target = node.target[:size]
        return len(target) if self.space.write(buf, target) else -errno.EFAULT

    def sys_getdents64(self, m, fd, buf, count, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if not isinstance(f.node, Dir):
            return -errno.ENOTDIR
        d = f.node
        entries = [(b".", d), (b"..", d.parent)] + list(d.entries.items())
        out = bytearray()
        while f.pos < len(entries):
            name, node = entries[f.pos]
            reclen = (19 + len(name) + 1 + 7) & ~7
            if len(out) + reclen > count:
                if not out:
                    return -errno.EINVAL
                break
            kind = DT.get(stat.S_IFMT(node.mode), 0)
            rec = struct.pack("<QqHB", node.ino, f.pos + 1, reclen, kind)
            out += rec + name + b"\0" * (reclen - 19 - len(name))
            f.pos += 1
        return len(out) if self.space.write(buf, bytes(out)) else -errno.EFAULT

    # ---- the namespace -------------------------------------------------------------------
    def sys_mkdirat(self, m, dirfd, path_ptr, mode, *_):
        found = self._lookup(dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node, parent, name = found
        if node is not None:
            return -errno.EEXIST
        if parent.readonly:
            return -errno.EROFS
        parent.add(name, Dir(perm=mode & 0o777 & ~0o022)).mtime = self._now()
        return 0

    def sys_unlinkat(self, m, dirfd, path_ptr, flags, *_):
        if flags & ~AT_REMOVEDIR:
            return -errno.EINVAL
        found = self._lookup(dirfd, path_ptr, follow=False)
        if isinstance(found, int):
            return found
        node, parent, name = found
        if node is None:
            return -errno.ENOENT
        if name in (b"", b".", b".."):
            return -errno.EINVAL if name == b"." else -errno.ENOTEMPTY
        if parent.readonly:
            return -errno.EROFS
        if flags & AT_REMOVEDIR:
            if not isinstance(node, Dir):
                return -errno.ENOTDIR
            if node.entries:
                return -errno.ENOTEMPTY
            if node is self.cwd:
                return -errno.EBUSY
        elif isinstance(node, Dir):
            return -errno.EISDIR
        parent.remove(name)
        return 0

    def sys_renameat(self, m, olddirfd, old_ptr, newdirfd, new_ptr, *_):
        return self.sys_renameat2(m, olddirfd, old_ptr, newdirfd, new_ptr, 0)

    def sys_renameat2(self, m, olddirfd, old_ptr, newdirfd, new_ptr, flags, *_):
        if flags:
            return -errno.EINVAL  # RENAME_NOREPLACE and friends: not yet
        src = self._lookup(olddirfd, old_ptr, follow=False)
        if isinstance(src, int):
            return src
        dst = self._lookup(newdirfd, new_ptr, follow=False)
        if isinstance(dst, int):
            return dst
        node, sparent, sname = src
        target, dparent, dname = dst
        if node is None:
            return -errno.ENOENT
        if sparent.readonly or dparent.readonly:
            return -errno.EROFS
        if target is node:
            return 0
        if isinstance(node, Dir):
            p = dparent
            while p is not p.parent:  # a directory cannot move into itself
                if p is node:
                    return -errno.EINVAL
                p = p.parent
        if target is not None:
            if isinstance(target, Dir) and not isinstance(node, Dir):
                return -errno.EISDIR
            if isinstance(node, Dir) and not isinstance(target, Dir):
                return -errno.ENOTDIR
            if isinstance(target, Dir) and target.entries:
                return -errno.ENOTEMPTY
            dparent.remove(dname)
        sparent.remove(sname)
        dparent.add(dname, node)
        return 0

    def sys_getcwd(self, m, buf, size, *_):
        path = self.vfs.path_of(self.cwd) + b"\0"
        if size < len(path):
            return -errno.ERANGE
        return len(path) if self.space.write(buf, path) else -errno.EFAULT

    def sys_chdir(self, m, path_ptr, *_):
        found = self._lookup(AT_FDCWD, path_ptr)
        if isinstance(found, int):
            return found
        if found[0] is None:
            return -errno.ENOENT
        if not isinstance(found[0], Dir):
            return -errno.ENOTDIR
        self.cwd = found[0]
        return 0

    def sys_fchdir(self, m, fd, *_):
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if not isinstance(f.node, Dir):
            return -errno.ENOTDIR
        self.cwd = f.node
        return 0

    def sys_fsync(self, m, fd, *_):
        return 0 if self._file(_int(fd)) is not None else -errno.EBADF

    sys_fdatasync = sys_fsync

    def sys_ppoll(self, m, fds_ptr, nfds, timeout, sigmask, *_):
        if nfds > NOFILE:
            return -errno.EINVAL
        raw = self.space.read(fds_ptr, 8 * nfds)
        if raw is None:
            return -errno.EFAULT
        out, ready = bytearray(raw), 0
        for i in range(nfds):
            fd, events, _ = struct.unpack_from("<ihh", raw, 8 * i)
            f = self._file(fd)
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
            wait = self.linux.read_timespec(timeout)
            if wait is None or wait < 0:
                return -errno.EFAULT if wait is None else -errno.EINVAL
        if not ready and wait != 0:  # wait for a pipe to change, a signal, or the timeout
            k = self.linux.core
            pipes = [f.node for f in map(self._file, self._poll_fds(raw, nfds)) if f]
            waits = [p.read_waiters for p in pipes if isinstance(p, Pipe)]
            waits += [p.write_waiters for p in pipes if isinstance(p, Pipe)]
            if wait is None:
                k.block_current(self.poll_waiters)
            elif not k.sleep_until(k.wait_deadline(wait), self.poll_waiters):
                return 0 if self.space.write(fds_ptr, bytes(out)) else -errno.EFAULT
            for queue in waits:
                queue.append(k.running)
            return ERESTARTSYS
        return ready if self.space.write(fds_ptr, bytes(out)) else -errno.EFAULT

    @staticmethod
    def _poll_fds(raw: bytes, nfds: int) -> list[int]:
        return [struct.unpack_from("<i", raw, 8 * i)[0] for i in range(nfds)]

    # ---- for the memory manager: a file's bytes for mmap ---------------------------------
    def mapping_source(self, fd: int, offset: int, length: int, writes: bool = False):
        """(bytes backing [offset, offset + length) of the file, its path, its node) or
        -errno. `writes`: a shared writable mapping (the file must be open for writing; its
        stores reach the file through the page cache)."""
        f = self._file(_int(fd))
        if f is None:
            return -errno.EBADF
        if not isinstance(f.node, File):
            return -errno.ENODEV
        if not f.readable or writes and not f.writable:
            return -errno.EACCES
        if writes and self.cache is not None:
            self.cache.written_through.add(f.node.ino)
        self._sync(f.node)
        path = self.vfs.path_of(f.node).decode(errors="replace")
        return bytes(f.node.data[offset : offset + length]), path, f.node

    def shared_anonymous(self, length: int) -> File:
        """The unnamed object behind MAP_SHARED|MAP_ANONYMOUS (Linux: a shmem file)."""
        node = File(b"\0" * length)
        if self.cache is not None:
            self.cache.written_through.add(node.ino)
        return node

    def sync_mapped(self, node) -> None:
        """msync: a shared mapping's stores reach the file (fsmgr's side of the call)."""
        self.linux.core.shim.call(self.linux.space.proc, "fsmgr", lambda: self._sync(node))

    def _sync(self, node) -> None:
        """Stores through shared mappings reach the file before fsmgr looks at its bytes."""
        if self.cache is not None and isinstance(node, File):
            self.cache.writeback(node)


def _int(x: int) -> int:
    """A register holding a C int (an fd, a pid): Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def build_root(linux, program: str, bundled: dict[str, str], rootfs: str | None = None) -> Vfs:
    """The default tree (see the module docstring). `bundled`: name -> host path for /bin.
    With `rootfs`, the root is that host directory, read-only (tmpfs, devfs and procfs are
    mounted over /tmp, /dev and /proc), and `program` is a path inside it."""
    from pathlib import Path  # noqa: PLC0415

    vfs = Vfs()
    vfs.current = linux  # the personality of the process making the call (set per syscall)
    if rootfs is not None:
        vfs.root = HostDir(Path(rootfs))
        vfs.root.parent = vfs.root
        for mount in (b"tmp", b"dev", b"proc"):
            vfs.root.entries.pop(mount, None)
            vfs.root.add(mount, Dir())
        bundled, program = {}, ""
    root = vfs.root
    for name, host in sorted(bundled.items()):
        vfs.place(b"/bin/" + name.encode(), File(host=Path(host), readonly=True, perm=0o755))
    vfs.place(b"/etc/passwd", File(b"root:x:0:0:root:/root:/bin/sh\n", readonly=True))
    vfs.mkdirs(b"/tmp").mode = stat.S_IFDIR | 0o1777  # the writable tmpfs (before the program:
    exe = program.encode()  # a program under /tmp must not make /tmp read-only)
    if exe.startswith(b"/"):
        vfs.place(exe, File(host=Path(program), readonly=True, perm=0o755), readonly=True)
    dev = vfs.mkdirs(b"/dev", readonly=True)
    _devices(linux, dev)
    proc = vfs.mkdirs(b"/proc", readonly=True)
    proc.add(b"meminfo", Generated(lambda: _meminfo(linux)))
    self_dir = proc.add(b"self", Dir(readonly=True))
    self_dir.add(b"exe", Symlink(resolve=lambda: vfs.current.proc.exe_path))
    self_dir.add(b"maps", Generated(lambda: _maps(vfs.current)))
    for ro in (b"/bin", b"/etc"):
        vfs.mkdirs(ro).readonly = True
    root.readonly = True
    return vfs


def _devices(linux, dev: Dir) -> None:
    def console_write(fd):
        def write(data):
            linux._emit(fd, data)
            return len(data)

        return write

    def stdin_read(n):
        data, linux.stdin = linux.stdin[:n], linux.stdin[n:]
        return data

    nothing = lambda n: b""  # noqa: E731
    for fd, name in enumerate((b"stdin", b"stdout", b"stderr")):
        node = dev.add(name, Device(0x8800 + fd, stdin_read, console_write(max(fd, 1))))
        node.ino = fd + 3  # the numbers Linux's pts give do not matter; stable ones do
        node.mode = stat.S_IFCHR | 0o620
    dev.add(b"tty", Device(0x500, stdin_read, console_write(1)))
    dev.add(b"null", Device(0x103, nothing, len))
    dev.add(b"zero", Device(0x105, lambda n: b"\0" * n, len))
    dev.add(b"urandom", Device(0x109, lambda n: linux._random.bytes(n), len))
    dev.add(b"random", Device(0x108, lambda n: linux._random.bytes(n), len))
    dev.add(b"ram0", devhost.BlockDevice())
    dev.add(b"rtc0", devhost.Rtc(lambda: linux.now_ns(0)))


def _meminfo(linux) -> bytes:
    total = len(linux.ram) >> 10
    used = linux.frames.in_use * 4
    return (
        f"MemTotal:       {total:8d} kB\nMemFree:        {total - used:8d} kB\n"
        f"MemAvailable:   {total - used:8d} kB\n"
    ).encode()


def _maps(linux) -> bytes:
    lines = []
    for v in linux.space.vmas:
        perms = "".join(c if v.prot & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
        name = v.name if not v.name.startswith("[anon") else ""
        lines.append(f"{v.start:08x}-{v.end:08x} {perms}p 00000000 00:00 0 {name}".rstrip())
    return ("\n".join(lines) + "\n").encode()

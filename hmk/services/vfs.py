"""The file manager's file-system tree: nodes, path walk, and the default root.

Nodes are directories, regular files, character devices, symbolic links, pipes, socket names and
objects that move their own bytes (sockets), each with a Linux inode number and mode. A subtree
can be read-only (the imported root); /tmp is a writable tmpfs. Regular files keep their bytes
in memory, or read them from a host file on first use (the program and the bundled tree). The
path walk follows symbolic links (at most 40, Linux's limit: ELOOP) and returns Linux errnos;
nothing here raises for a bad path.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from hmk.linux.abi import (
    EINVAL,
    ELOOP,
    ENAMETOOLONG,
    ENOENT,
    ENOTDIR,
    ENOTTY,
    EXDEV,
    NAME_MAX,
    PATH_MAX,
    PIPE_BUF_BYTES,
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
)

MAX_SYMLINKS = 40
SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT


class Node:
    _next_ino = [1]
    mounted = False  # the root of a file system of its own (the tree's root, a mount)

    def __init__(self, mode: int, readonly: bool = False):
        self.mode = mode
        self.ino = Node._next_ino[0]
        Node._next_ino[0] += 1
        self.readonly = readonly
        self.nlink = 1
        self.write_hint = 0  # fcntl's F_SET_RW_HINT (a hint only: nothing here reads it)
        self.mtime = 0
        self.atime: int | None = None  # ns; None: as mtime (nothing reads or sets it apart)
        self.parent: Dir | None = None
        self.uid = self.gid = 0  # its owner and group (root's until a chown or a creator's)
        self.xattrs: dict[bytes, bytes] | None = None  # extended attributes (hmk.services.fsxattr)
        self.locks = None  # its file locks, made on the first (hmk.services.fslocks.FileLocks)
        self.watches: list | None = None  # the inotify watches on it (hmk.services.fsnotify)

    @property
    def accessed(self) -> int:
        return self.mtime if self.atime is None else self.atime

    @property
    def size(self) -> int:
        return 0


class Dir(Node):
    def __init__(self, readonly: bool = False, perm: int = 0o755):
        super().__init__(stat.S_IFDIR | perm, readonly)
        self.entries: dict[bytes, Node] = {}  # insertion order: getdents order
        self.nlink = 2

    def add(self, name: bytes, node: Node) -> Node:
        self.entries[name] = node
        if isinstance(node, Dir):
            self.nlink += 1
        else:  # a new node's first name, or one more (a hard link)
            node.nlink = 1 if node.parent is None else node.nlink + 1
        node.parent = self
        return node

    def remove(self, name: bytes) -> Node:
        """Take the name away; a file that had only this name has none now (nlink 0: it lives
        on while something opens or maps it)."""
        node = self.entries.pop(name)
        if isinstance(node, Dir):
            self.nlink -= 1
        else:
            node.nlink = max(node.nlink - 1, 0)
        return node

    @property
    def size(self) -> int:
        return 4096


class HostDir(Dir):
    """A directory imported from the host (`hmk run --rootfs DIR`, `--mount`), listed on first
    use: files read on first use, symbolic links as they are, other kinds left out; their
    modes and modification times the host's. The host is never written: with `readonly`
    False the guest's changes live in memory, over the host's tree, for the run (an upper
    layer: a file's bytes are copied in on first use and changed there; a name removed or
    renamed stays gone, since the listing is read once; new names are memory nodes)."""

    def __init__(self, host: Path, readonly: bool = True):
        super().__init__(readonly=readonly)
        self.host = host
        self._loaded = False
        try:
            st = os.stat(host)
            self.mode, self.mtime = stat.S_IFDIR | st.st_mode & 0o7777, st.st_mtime_ns
        except OSError:
            pass

    @property
    def entries(self) -> dict:
        if not self._loaded:
            self._loaded = True
            self._entries = {}
            try:
                listing = sorted(os.scandir(self.host), key=lambda e: e.name)
            except OSError:
                listing = []
            for e in listing:
                name = os.fsencode(e.name)
                try:
                    st = e.stat(follow_symlinks=False)
                    if stat.S_ISLNK(st.st_mode):
                        node = Symlink(os.fsencode(os.readlink(e.path)))
                    elif stat.S_ISDIR(st.st_mode):
                        node = HostDir(Path(e.path), self.readonly)
                    elif stat.S_ISREG(st.st_mode):
                        perm = st.st_mode & 0o7777
                        node = File(host=Path(e.path), readonly=self.readonly, perm=perm)
                    else:
                        continue
                except OSError:
                    continue
                node.mtime = st.st_mtime_ns
                self.add(name, node)
        return self._entries

    @entries.setter
    def entries(self, value: dict) -> None:
        self._entries = value

    @property
    def nlink(self) -> int:
        """2 and one per subdirectory: the listing is read first."""
        self.entries  # noqa: B018
        return self._nlink

    @nlink.setter
    def nlink(self, value: int) -> None:
        self._nlink = value


class File(Node):
    def __init__(self, data: bytes = b"", host: Path | None = None, readonly=False, perm=0o644):
        super().__init__(stat.S_IFREG | perm, readonly)
        self._data = bytearray(data) if host is None else None
        self.host = host
        self.seals: int | None = None  # its seals (hmk.services.fsseals; None: not yet known)

    @property
    def data(self) -> bytearray:
        if self._data is None:  # a host file, read on first use
            try:
                self._data = bytearray(self.host.read_bytes())
            except OSError:
                self._data = bytearray()
        return self._data

    @property
    def source(self) -> bytes | Path:
        """Its bytes, or the host file that holds them while they have not been read in: a
        reader that takes a few parts of it (the ELF loader) need not read it all."""
        return self.host if self._data is None else bytes(self._data)

    @property
    def size(self) -> int:
        if self._data is None and self.host is not None:
            try:
                return self.host.stat().st_size
            except OSError:
                return 0
        return len(self.data)


class Device(Node):
    """A character device: `read(n)` returns bytes, `write(data)` a count. `console`: the
    console's (its requests go to the driver host). A memory device (major 1: null, zero,
    random, urandom) has no position: pread, pwrite and lseek are fine and change nothing."""

    @property
    def memory(self) -> bool:
        return self.rdev >> 8 == 1

    @property
    def discards(self) -> bool:
        """null and zero: a write takes any count without reading the caller's buffer."""
        return self.rdev in (0x103, 0x105)

    def __init__(self, rdev: int, read, write, console: bool = False):
        super().__init__(stat.S_IFCHR | 0o666)
        self.rdev, self.read, self.write, self.console = rdev, read, write, console


class Symlink(Node):
    def __init__(self, target: bytes | None = None, resolve=None):
        super().__init__(stat.S_IFLNK | 0o777, readonly=True)
        self._target, self._resolve = target, resolve

    @property
    def target(self) -> bytes:
        return self._resolve() if self._resolve else self._target

    @property
    def size(self) -> int:
        return len(self.target)


class Generated(File):
    """A read-only file whose contents are made when it is opened (procfs)."""

    def __init__(self, make):
        super().__init__(readonly=True, perm=0o444)
        self.make = make

    @property
    def data(self) -> bytearray:
        return bytearray(self.make())

    @property
    def size(self) -> int:
        return 0  # as procfs reports


class Pipe(Node):
    """A pipe: its bytes in `buffer`; where they sit in the pipe's pages is a ring of
    `capacity` bytes (CAPACITY until fcntl's F_SETPIPE_SZ) starting at `start` (the file
    manager gives the pages frames as they are used). A pipe in a directory is a named FIFO
    (mknod): its ends are opened by path, and `opened` counts the opens of each end so far
    (Linux's r_counter and w_counter, which a blocked open waits to see move)."""

    CAPACITY = PIPE_BUF_BYTES  # Linux's default pipe buffer

    def __init__(self, perm: int = 0o600):
        super().__init__(stat.S_IFIFO | perm)
        self.capacity = Pipe.CAPACITY
        self.opened = {"r": 0, "w": 0}
        self.open_waiters: list[int] = []  # threads in a FIFO's open, waiting for the other end
        self.buffer = bytearray()
        self.start = 0  # ring position of buffer[0]; back to 0 when the pipe drains, as a
        # drained Linux pipe starts its next write at the start of a page
        self.written = 0  # bytes written to it so far (buffer[0] is byte written - len(buffer))
        self.packets: deque[list[int]] = deque()  # [first byte, length] of each O_DIRECT packet
        self.frames: dict[int, int] = {}  # ring page -> frame
        self.readers = self.writers = 0
        self.read_waiters: list[int] = []  # threads blocked on an empty pipe
        self.write_waiters: list[int] = []  # ...and on a full one
        # its wake-ups so far, by what they announce (edge-triggered epoll hears those of the
        # events it watches), as Linux's pipe wakes its two wait queues: bytes written (the
        # readers'), room made in a full pipe (the writers'), an end closed (both, to anyone)
        self.read_generation = self.write_generation = self.hup_generation = 0


class Special(Node):
    """A character or block device node or a socket node made by mknod: no driver answers
    its device number and no socket is bound to it, so opening it is ENXIO (as Linux's open
    of a device without a driver, or of a socket)."""

    def __init__(self, mode: int, rdev: int = 0):
        super().__init__(mode)
        self.rdev = rdev


class SocketName(Node):
    """A socket's name in the tree: the S_IFSOCK node bind makes for an AF_UNIX path. The
    network manager knows which socket it names while that socket lives; opening it is ENXIO."""

    def __init__(self, perm: int):
        super().__init__(stat.S_IFSOCK | perm)


class Stream(Node):
    """An object a descriptor names that moves its own bytes and knows its own readiness:
    sockets, eventfd, timerfd, signalfd, epoll. The file manager's read and write (and readv,
    writev), poll, select and close hand such a descriptor to these methods; the service that
    made the object (the network manager, the file manager's event files) keeps its state.

    - `read(call, f, count)`: the bytes read (b"": end of file), or -errno, or ERESTARTSYS
      after blocking the caller (the core kernel's `block_current(self.waiters)`); the read runs
      again when it wakes, with `call.resumed` set. May return (bytes, spans): the frames
      (pa, length) the bytes were copied from, so their lines go through the memory hierarchy.
    - `write(call, f, data)`: the count written, or -errno / ERESTARTSYS as read; may return
      (count, spans) for the frames the bytes were copied to. `data` is a copies.Copied: when
      the caller's buffer faulted (`data.faulted`), the object says the errno its own checks
      give first, else EFAULT.
    - `poll(f)`: what the object is ready for now, as a poll(2) revents mask (POLLIN, POLLOUT,
      POLLHUP, POLLERR, POLLRDHUP, ...); the caller masks it with what was asked.
    - `released(f)`: the last descriptor of the open file `f` went.
    - `ioctl(call, f, request, arg)`: its answer to an ioctl (ENOTTY: one it does not know).
    - `changed(kernel)`: call whenever readiness may have changed: every thread waiting on
      the object (blocked readers or writers, poll, select and epoll waiters) wakes and looks
      again, and `generation` counts the change (edge-triggered epoll reports an object whose
      generation moved since its last report).
    """

    # what Linux makes such an object's inode: an anonymous inode (eventfd, epoll, ...: no
    # mode or owner to change, no fsync), a pidfs one (a pidfd: not readable either), or a
    # socket's (the default)
    anonymous = pidfs = False

    def __init__(self, mode: int = stat.S_IFSOCK | 0o777):
        super().__init__(mode)
        self.waiters: list[int] = []  # threads waiting for this object to change
        self.generation = 0  # changes so far (see `changed`)

    def read(self, call, f, count: int):
        return -EINVAL

    def write(self, call, f, data: bytes):
        return -EINVAL

    def has(self, method: str) -> bool:
        """Does this kind of object have a read (or write) of its own? Without one, Linux's
        file has no such operation: reading (writing) it is EINVAL before anything else."""
        return getattr(type(self), method) is not getattr(Stream, method)

    def poll(self, f) -> int:
        return 0

    def released(self, f) -> None:
        pass

    def ioctl(self, call, f, request: int, arg: int) -> int:
        return -ENOTTY

    def changed(self, kernel) -> None:
        self.generation += 1
        kernel.wake_all(self.waiters)


def file_system(node: Node) -> Node:
    """The root of the file system `node` is on: its nearest mounted ancestor (or itself).
    rename and link across two of them is EXDEV."""
    while not node.mounted and node.parent is not None and node.parent is not node:
        node = node.parent
    return node


class Vfs:
    def __init__(self):
        self.root = Dir()
        self.root.parent = self.root
        self.root.mounted = True
        self.lookups = 0  # path components looked up by walks so far (their cost is fsmgr's)

    def mkdirs(self, path: bytes, readonly=False) -> Dir:
        """Make the directories of an absolute path as needed (set-up, not a syscall)."""
        d = self.root
        for part in [p for p in path.split(b"/") if p]:
            nxt = d.entries.get(part)
            if not isinstance(nxt, Dir):
                nxt = d.add(part, Dir(readonly=readonly))
            d = nxt
        return d

    def place(self, path: bytes, node: Node, readonly=False) -> Node:
        parent, _, name = path.rpartition(b"/")
        return self.mkdirs(parent, readonly).add(name, node)

    def walk(
        self,
        start: Dir,
        path: bytes,
        follow: bool = True,
        resolve: int = 0,
        scope: Dir | None = None,
        hops: int = 0,
    ):
        """(node, parent dir, last name) or (errno, None, b""). A missing last component is
        (None, parent, name) so that O_CREAT and mkdir can make it.

        `resolve` holds openat2's RESOLVE_* rules (Linux's LOOKUP_* flags), kept within
        `scope` (the starting directory): NO_SYMLINKS and NO_MAGICLINKS refuse a link to
        follow (ELOOP; a magic link is one procfs makes, /proc/self/exe); BENEATH refuses to
        leave `scope` (an absolute path or link, a ".." above it: EXDEV); IN_ROOT takes
        `scope` as the root ("/" and ".." stop there); NO_XDEV refuses to cross a mount."""
        if not path:
            return ENOENT, None, b""
        if len(path) >= PATH_MAX:
            return ENAMETOOLONG, None, b""
        scope = start if scope is None else scope
        node: Node = start
        if path.startswith(b"/"):
            if resolve & RESOLVE_BENEATH:
                return EXDEV, None, b""
            node = scope if resolve & RESOLVE_IN_ROOT else self.root
            if hops and resolve & RESOLVE_NO_XDEV and file_system(node) is not file_system(start):
                return EXDEV, None, b""
        parts = [p for p in path.split(b"/") if p and p != b"."]
        must_be_dir = path.endswith(b"/")
        # a path ending in "." or ".." names a directory, and its last component is no name
        # to make or remove (Linux's LAST_DOT, LAST_DOTDOT): it is returned as that name
        tail = path.rstrip(b"/").rsplit(b"/", 1)[-1]
        dots = tail if tail in (b".", b"..") else None
        parent = node.parent if isinstance(node, Dir) else None
        name = b""
        for i, part in enumerate(parts):
            if not isinstance(node, Dir):
                return ENOTDIR, None, b""
            if len(part) > NAME_MAX:
                return ENAMETOOLONG, None, b""
            parent, name = node, part
            self.lookups += 1
            if part == b"..":
                if node is scope and resolve & SCOPED:
                    if resolve & RESOLVE_BENEATH:
                        return EXDEV, None, b""
                    continue
                if resolve & RESOLVE_NO_XDEV and node.mounted and node is not self.root:
                    return EXDEV, None, b""
                node = node.parent
                continue
            nxt = node.entries.get(part)
            last = i == len(parts) - 1 and dots is None
            if nxt is None:
                return (None, parent, name) if last else (ENOENT, None, b"")
            if resolve & RESOLVE_NO_XDEV and nxt.mounted:
                return EXDEV, None, b""
            if isinstance(nxt, Symlink) and (follow or not last or must_be_dir):
                magic = nxt._resolve is not None
                if resolve & RESOLVE_NO_SYMLINKS or magic and resolve & RESOLVE_NO_MAGICLINKS:
                    return ELOOP, None, b""
                if magic and resolve & SCOPED:
                    return EXDEV, None, b""
                if hops >= MAX_SYMLINKS:
                    return ELOOP, None, b""
                rest = b"/".join(parts[i + 1 :])
                target = (
                    nxt.target + (b"/" + rest if rest else b"") + (b"/" if must_be_dir else b"")
                )
                return self.walk(node, target, follow, resolve, scope, hops + 1)
            node = nxt
        if (must_be_dir or dots) and not isinstance(node, Dir):
            return ENOTDIR, None, b""
        if dots:
            return node, node.parent, dots
        return node, parent, name

    def path_of(self, node: Node) -> bytes:
        parts = []
        while node.parent is not node and node.parent is not None:
            parent = node.parent
            name = next((n for n, v in parent.entries.items() if v is node), b"?")
            parts.append(name)
            node = parent
        return b"/" + b"/".join(reversed(parts))

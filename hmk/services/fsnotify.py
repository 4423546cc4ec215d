"""fsmgr's inotify: instances, their watches on nodes, and the events the file calls raise
(Linux's fs/notify/inotify), with the work each is charged (hmk.services.fsmgr's `costs`).

An instance (inotify_init1) is a `vfs.Stream`, so read, poll, select and epoll treat it as
any object that moves its own bytes: it is readable while events are queued. A watch
(inotify_add_watch) is on a node; its descriptor (wd) counts up from 1 in each instance, never
reused. The file manager's calls announce what they do (`notify`, `notify_entry`,
`notify_gone`), and each watch whose mask asks for the event queues a struct inotify_event:
wd, mask (IN_ISDIR when the subject is a directory), cookie (shared by a rename's
IN_MOVED_FROM and IN_MOVED_TO), and the name, NUL-padded to a multiple of 16 bytes, when the
watch is on the directory an entry is in. As in Linux:

- the events on a file itself (IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_OPEN, IN_CLOSE_WRITE,
  IN_CLOSE_NOWRITE) go to its directory's watches with its name first, then to its own;
- a name's events (IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO) go to its directory's;
- IN_DELETE_SELF comes when a node has no name left and nothing opens it, and its watches
  end with IN_IGNORED, as they do on inotify_rm_watch and after an IN_ONESHOT watch's event;
- an event equal to the last one queued and not read yet (same wd, mask and name) is dropped
  (inotify_merge); past 16,384 queued events one IN_Q_OVERFLOW (wd -1) stands for the rest;
- a read returns whole events (EINVAL if the first does not fit), waits for one (EAGAIN with
  IN_NONBLOCK), and a watch's node is the one the path names (IN_DONT_FOLLOW: a symbolic link
  itself; IN_ONLYDIR: ENOTDIR for anything but a directory).

Not modelled: IN_EXCL_UNLINK (events of unlinked files still reach their old directory in
Linux; here they reach nobody), the events execve's open of a program would raise,
IN_UNMOUNT, and the per-user limits on instances and watches.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hmk.hw.events import WRITE
from hmk.linux.abi import (
    EAGAIN,
    EBADF,
    EEXIST,
    EINVAL,
    ENOENT,
    ENOTDIR,
    ERESTARTSYS,
    IN_ALL_EVENTS,
    IN_DELETE_SELF,
    IN_DONT_FOLLOW,
    IN_EXCL_UNLINK,
    IN_IGNORED,
    IN_ISDIR,
    IN_MASK_ADD,
    IN_MASK_CREATE,
    IN_ONESHOT,
    IN_ONLYDIR,
    IN_Q_OVERFLOW,
    IN_UNMOUNT,
    O_CLOEXEC,
    O_NONBLOCK,
    O_RDONLY,
    POLLIN,
)
from hmk.services.copies import log_frame, ring_spans
from hmk.services.fsnames import _int
from hmk.services.vfs import Dir, Stream

EVENT = struct.Struct("<iIII")  # struct inotify_event without its name
MAX_QUEUED = 16384  # /proc/sys/fs/inotify/max_queued_events' default
POLLRDNORM = 0x40
KEPT = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK  # what a watch's mask keeps
# the bits inotify_add_watch knows: a mask with none of them is EINVAL
ALL_INOTIFY_BITS = KEPT | IN_ONLYDIR | IN_DONT_FOLLOW | IN_MASK_ADD | IN_MASK_CREATE | IN_ISDIR
ALL_INOTIFY_BITS |= IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED


@dataclass(eq=False)
class Watch:
    instance: Inotify
    wd: int
    node: object
    mask: int


class Inotify(Stream):
    """An inotify instance: its watches by descriptor (`marks`) and its queue of events,
    (wd, mask, cookie, name) each."""

    anonymous = True

    def __init__(self, fs):
        super().__init__(0o600)  # an anonymous inode's mode: no file type
        self.fs = fs
        self.marks: dict[int, Watch] = {}  # wd -> its watch
        self.next_wd = 1
        self.queue: list[tuple[int, int, int, bytes]] = []

    # ---- events in -----------------------------------------------------------------------
    def queued(self, wd: int, mask: int, cookie: int = 0, name: bytes = b"") -> None:
        event = (wd, mask, cookie, name)
        if self.queue:
            last = self.queue[-1]
            if not last[1] & IN_IGNORED and (last[0], last[1], last[3]) == (wd, mask, name):
                return
            if len(self.queue) >= MAX_QUEUED:
                if last[1] != IN_Q_OVERFLOW:
                    self.queue.append((-1, IN_Q_OVERFLOW, 0, b""))
                return
        self.queue.append(event)
        self.changed(self.fs.k)

    def unwatch(self, watch: Watch) -> None:
        """A watch ends: off its node, and IN_IGNORED queued."""
        del self.marks[watch.wd]
        watch.node.watches.remove(watch)
        self.queued(watch.wd, IN_IGNORED)

    # ---- the Stream protocol -------------------------------------------------------------
    def read(self, call, f, count: int):
        out = bytearray()
        while self.queue:
            wd, mask, cookie, name = self.queue[0]
            padded = name and name + b"\0" * (-(len(name) + 1) % 16 + 1)
            record = EVENT.pack(wd, mask, cookie, len(padded)) + padded
            if len(out) + len(record) > count:
                break
            out += record
            self.queue.pop(0)
        if out:  # copied out of the events' records (fsmgr's buffer stands for them)
            self.fs.work(inotify_read=1)
            spans = [(self.fs.buffer + off, n) for off, n in ring_spans(0, len(out), 4096)]
            return bytes(out), spans
        if self.queue:
            return -EINVAL
        if f.flags & O_NONBLOCK:
            return -EAGAIN
        self.fs.k.block_current(self.waiters)
        return -ERESTARTSYS

    def poll(self, f) -> int:
        return POLLIN | POLLRDNORM if self.queue else 0

    def released(self, f) -> None:
        for watch in list(self.marks.values()):
            watch.node.watches.remove(watch)
        self.marks.clear()


class Notify:
    """The inotify calls and the events the other calls raise, mixed into the file manager
    (hmk.services.fsmgr.FsMgr)."""

    # ---- the calls -----------------------------------------------------------------------
    def sys_inotify_init1(self, call, flags, *_):
        if flags & ~(O_CLOEXEC | O_NONBLOCK):
            return -EINVAL
        with self.working(inotify_make=1, fd_install=1):
            t = self.table(call)
            fd = t.lowest_fd()
            if fd < 0:
                return fd
            f = self.open_file(Inotify(self), O_RDONLY | flags & O_NONBLOCK)
            return t.install(fd, f, bool(flags & O_CLOEXEC))

    def sys_inotify_add_watch(self, call, fd, path_ptr, mask, *_):
        mask &= 0xFFFFFFFF  # Linux's order: the mask's bits, the descriptor, then the flags
        if mask & ~ALL_INOTIFY_BITS or not mask:
            return -EINVAL
        with self.working(fdget=1):
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if mask & IN_MASK_ADD and mask & IN_MASK_CREATE or not isinstance(f.node, Inotify):
                return -EINVAL
        found = self._lookup(call, -100, path_ptr, follow=not mask & IN_DONT_FOLLOW)
        if isinstance(found, int):
            return found
        node = found[0]
        if node is None:
            return -ENOENT
        if mask & IN_ONLYDIR and not isinstance(node, Dir):
            return -ENOTDIR
        with self.working(inotify_watch=1):
            instance = f.node
            watch = next((w for w in node.watches or () if w.instance is instance), None)
            if watch is not None:
                if mask & IN_MASK_CREATE:
                    return -EEXIST
                watch.mask = (watch.mask if mask & IN_MASK_ADD else 0) | mask & KEPT
                return watch.wd
            watch = Watch(instance, instance.next_wd, node, mask & KEPT)
            instance.next_wd += 1
            instance.marks[watch.wd] = watch
            if node.watches is None:
                node.watches = []
            node.watches.append(watch)
            return watch.wd

    def sys_inotify_rm_watch(self, call, fd, wd, *_):
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            if not isinstance(f.node, Inotify):
                return -EINVAL
            watch = f.node.marks.get(_int(wd))
            if watch is None:
                return -EINVAL
            ops.update(inotify_watch=1)
            f.node.unwatch(watch)
            return 0

    # ---- what the other calls announce ---------------------------------------------------
    def notify(self, node, mask: int, parent: bool = True, named=None) -> None:
        """An event on `node` itself: to its directory's watches with its name (`parent`:
        not for a link count's or a move's own events; `named`: the (directory, name) it was
        opened by, while that still names it; else the name its directory has for it), then
        to its own."""
        if isinstance(node, Dir):
            mask |= IN_ISDIR
        home, name = named if named is not None else (node.parent, None)
        if home is None or home.entries.get(name) is not node:
            home, name = node.parent, None
        if parent and home is not None and home is not node and home.watches:
            if name is None:
                name = next((n for n, v in home.entries.items() if v is node), None)
            if name is not None:
                self._deliver(home, mask, name)
        if node.watches:
            self._deliver(node, mask)

    def notify_entry(self, directory, mask: int, name: bytes, node, cookie: int = 0) -> None:
        """A name's event in `directory` (created, deleted, moved from or to)."""
        if directory.watches:
            self._deliver(
                directory, mask | (IN_ISDIR if isinstance(node, Dir) else 0), name, cookie
            )

    def notify_gone(self, node) -> None:
        """`node` has no name left and nothing opens it: IN_DELETE_SELF, and its watches end."""
        if not node.watches or self._named(node) or self._open_anywhere(node):
            return
        self._deliver(node, IN_DELETE_SELF | (IN_ISDIR if isinstance(node, Dir) else 0))
        for watch in list(node.watches):
            watch.instance.unwatch(watch)

    def rename_cookie(self) -> int:
        """A new cookie tying a rename's two events together."""
        self.cookies += 1
        return self.cookies

    def _deliver(self, node, mask: int, name: bytes = b"", cookie: int = 0) -> None:
        for watch in list(node.watches):
            if not watch.mask & mask & IN_ALL_EVENTS:
                continue
            self.work(inotify_event=1)
            log_frame(self.k.mem, self.buffer, EVENT.size + len(name), WRITE)
            watch.instance.queued(watch.wd, mask, cookie, name)
            if watch.mask & IN_ONESHOT:
                watch.instance.unwatch(watch)

    @staticmethod
    def _named(node) -> bool:
        if not isinstance(node, Dir):
            return node.nlink > 0
        home = node.parent
        return home is not None and any(v is node for v in home.entries.values())

    def _open_anywhere(self, node) -> bool:
        return any(f.node is node for t in self.tables.values() for f, _ in t.fds.values())

"""fsmgr's epoll: epoll_create1, epoll_ctl, epoll_pwait, epoll_pwait2, with Linux's semantics and
errnos.

An epoll is an event file (hmk.services.fsevents): an interest list of (open file,
descriptor) items and a ready list, as Linux's eventpoll. Linux puts an item on the ready list
from a callback on the watched object's wait queue; hmk's objects count their wake-ups instead
(a Stream's `generation`, a pipe's per-queue counts: `heard`), and an epoll takes the items
whose objects woke since it last looked onto its ready list (in interest-list order, where
Linux's is the order of the wake-ups) before it handles the list as Linux does: each item
polled, the ready ones reported (the caller's 64-bit data back), level-triggered ones kept on
the list, edge-triggered ones (EPOLLET) left off until their object wakes again, EPOLLONESHOT
ones disabled until EPOLL_CTL_MOD. EPOLLHUP and EPOLLERR are always reported. An epoll is
readable while it has a ready item, so epolls nest (a cycle, or a chain of more than five:
ELOOP). An item goes with the last descriptor of its open file (close of a dup'ed descriptor
leaves it). A thread with nothing to report waits on the epoll and on the wait lists of
everything it watches until one changes, a signal comes (EINTR, never restarted) or the
timeout passes (epoll_pwait's in ms, -1: none; epoll_pwait2's a timespec, NULL: none). The
signal mask argument is checked but not applied during the wait, as hmk's ppoll does not apply
its own.

It watches any file with a poll method (`pollable`: pipes, Streams of any service, the
console, ...; else EPERM), by what it is told through the Stream protocol only: `poll`,
`waiters`, `generation`.

Costs (fsmgr's `costs`): an epoll made (`event_file`) and its descriptor; an item inserted,
modified or removed (`epoll_insert`, `epoll_modify`, `epoll_remove`: also when its file goes), a
wait's own work (`epoll_wait`), an item polled on the ready list (`epoll_item`), an event stored
(`epoll_event`), a wait (`event_wait`). A wait going on (`call.resumed`) is charged only its
look at the ready list.
"""

from __future__ import annotations

import struct

from hmk.hw.events import READ, WRITE
from hmk.linux.abi import (
    EBADF,
    EEXIST,
    EFAULT,
    EINVAL,
    ELOOP,
    ENOENT,
    EPERM,
    EPOLL_CTL_ADD,
    EPOLL_CTL_DEL,
    EPOLL_CTL_MOD,
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLONESHOT,
    EPOLLWAKEUP,
    ERESTARTSYS,
    O_CLOEXEC,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDNORM,
)
from hmk.linux.clock import read_timespec
from hmk.linux.layout import TASK_SIZE
from hmk.services.copies import log_user
from hmk.services.devhost import Rtc
from hmk.services.fsevents import IN_EVENTS, OUT_EVENTS, EventFile
from hmk.services.fsnames import _int
from hmk.services.vfs import Device, Pipe, Stream

EVENT_BYTES = 16  # struct epoll_event on arm64: events, 4 bytes of padding, data
MAX_EVENTS = 0x7FFFFFFF // EVENT_BYTES  # EP_MAX_EVENTS
MAX_NESTS = 4  # EP_MAX_NESTS: at most five epolls in a chain
PRIVATE = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE  # EP_PRIVATE_BITS
EXCLUSIVE_OK = POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
RANDOM = 0x108  # /dev/random (/dev/urandom, 0x109, has no poll method)


class Item:
    """An epoll interest-list entry (Linux's epitem): the open file and descriptor watched, the
    events asked and the caller's data, whether it is on the ready list, and the watched
    object's wake-ups it has heard of."""

    __slots__ = ("file", "fd", "events", "data", "linked", "seen")

    def __init__(self, file, fd: int, events: int, data: int):
        self.file, self.fd, self.events, self.data = file, fd, events, data
        self.linked = False
        self.seen = heard(file.node, events)


class EventPoll(EventFile):
    """An epoll instance: its interest list (`items`, by (open file, descriptor)) and ready
    list (`ready`, in the order Linux's would hold them); `file`, its own open file."""

    def ioctl(self, call, f, request: int, arg: int) -> int:
        return -EINVAL  # (its busy-poll parameters, EPIOCSPARAMS and EPIOCGPARAMS: not modelled)

    def __init__(self, fs):
        super().__init__(fs)
        self.items: dict[tuple[object, int], Item] = {}
        self.ready: list[Item] = []
        self.file = None

    def ready_events(self, item: Item) -> int:
        """What the item's file is ready for now, of the item's events."""
        return self.fs.revents(item.file, item.events) & item.events

    def _link(self, item: Item) -> None:
        item.linked = True
        self.ready.append(item)

    def hear(self) -> None:
        """Put the items whose objects woke since it last looked onto the ready list (what
        Linux's callback on their wait queues does at once), disabled ones (EPOLLONESHOT,
        reported) left off."""
        for item in self.items.values():
            now = heard(item.file.node, item.events)
            if now != item.seen:
                item.seen = now
                if item.events & ~PRIVATE and not item.linked:
                    self._link(item)

    def insert(self, f, fd: int, events: int, data: int) -> None:
        item = self.items[f, fd] = Item(f, fd, events, data)
        f.epolls.append(self)
        if self.ready_events(item):
            self._link(item)
            self.wake()

    def modify(self, item: Item, events: int, data: int) -> None:
        self.hear()
        item.events, item.data = events, data
        item.seen = heard(item.file.node, events)
        if self.ready_events(item) and not item.linked:
            self._link(item)
            self.wake()

    def remove(self, item: Item) -> None:
        del self.items[item.file, item.fd]
        item.file.epolls.remove(self)
        if item.linked:
            self.ready.remove(item)

    def forget(self, f) -> int:
        """The open file `f` was released: its items go; how many."""
        gone = [item for item in self.items.values() if item.file is f]
        for item in gone:
            self.remove(item)
        return len(gone)

    def collect(self, maxevents: int, deliver) -> tuple[int, int]:
        """epoll_wait's transfer (ep_send_events): the ready list's items polled in order, the
        ready ones' (events, data), at most `maxevents`, handed to `deliver` (False: they could
        not be stored: nothing changes, EFAULT). (the count or -EFAULT, the items polled)."""
        self.hear()
        taken, self.ready = self.ready, []
        before = [(item, item.events) for item in taken]
        out, again, polled = [], [], 0
        for item in taken:
            if len(out) == maxevents:
                self.ready.append(item)  # left on the list, ahead of those put back
                continue
            polled += 1
            item.linked = False
            rev = self.ready_events(item)
            if not rev:
                continue
            out.append((rev, item.data))
            if item.events & EPOLLONESHOT:
                item.events &= PRIVATE
            elif not item.events & EPOLLET:
                item.linked = True
                again.append(item)
        self.ready += again
        if out and not deliver(out):
            for item, events in before:
                item.events, item.linked = events, True
            self.ready = taken
            return -EFAULT, polled
        return len(out), polled

    def poll(self, f) -> int:
        """Readable while an item on its ready list is ready (those that are not leave it)."""
        self.hear()
        for item in list(self.ready):
            if self.ready_events(item):
                return POLLIN | POLLRDNORM
            self.ready.remove(item)
            item.linked = False
        return 0

    def queues(self) -> list[list[int]]:
        out = [self.waiters]
        for item in self.items.values():
            out += self.fs.queues_of(item.file.node)
        return out

    def heard(self, events: int) -> int:
        return self.generation + sum(heard(i.file.node, i.events) for i in self.items.values())

    def released(self, f) -> None:
        for item in list(self.items.values()):
            self.remove(item)

    def depth_below(self, inserting_into) -> int:
        """Levels of epolls nested in it; MAX_NESTS + 1 when it reaches `inserting_into` (a
        cycle) or goes too deep (ep_loop_check_proc)."""
        depth = 0
        for item in self.items.values():
            node = item.file.node
            if isinstance(node, EventPoll):
                cycle = node is inserting_into
                below = MAX_NESTS + 1 if cycle else node.depth_below(inserting_into)
                depth = max(depth, below + 1)
                if depth > MAX_NESTS:
                    break
        return depth

    def depth_above(self) -> int:
        """Levels of epolls it is nested in."""
        return max((ep.depth_above() + 1 for ep in self.file.epolls), default=0)


def heard(node, events: int) -> int:
    """The wake-ups of `node` an epoll item watching `events` hears of (Linux's wake-up keys
    filter them): a pipe's writes (readers' queue), room made in it (writers' queue) and ends
    closed (both); an event file's, by its kind; any other Stream's changes (`generation`);
    none for a device."""
    if isinstance(node, Pipe):
        return (
            (node.read_generation if events & IN_EVENTS else 0)
            + (node.write_generation if events & OUT_EVENTS else 0)
            + node.hup_generation
        )
    if isinstance(node, EventFile):
        return node.heard(events)
    return node.generation if isinstance(node, Stream) else 0


def pollable(node) -> bool:
    """Has the file a poll method (else epoll_ctl is EPERM)? Pipes and Streams, the console,
    /dev/random and the real-time clock do; regular files, directories, /dev/null, /dev/zero,
    /dev/urandom and the RAM disk do not (Linux's file_can_poll)."""
    if isinstance(node, Pipe | Stream | Rtc):
        return True
    return isinstance(node, Device) and (node.console or node.rdev == RANDOM)


class Epoll:
    """epoll's calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    def sys_epoll_create1(self, call, flags, *_):
        if _int(flags) & ~O_CLOEXEC:
            return -EINVAL
        node = EventPoll(self)
        fd = self._new_event_file(call, node, _int(flags))
        if fd >= 0:
            node.file = self.table(call).file(fd)
        return fd

    def sys_epoll_ctl(self, call, epfd, op, fd, event, *_):
        op, fd = _int(op), _int(fd)
        events = data = 0
        if op != EPOLL_CTL_DEL:
            raw = call.space.read(event, EVENT_BYTES)
            if raw is None:
                return -EFAULT
            log_user(self.k.mem, call.space, event, EVENT_BYTES, READ)
            events, data = struct.unpack("<I4xQ", raw)
        with self.working(fdget=1) as ops:
            t = self.table(call)
            ef = t.file(_int(epfd))
            if ef is None:
                return -EBADF
            ops.update(fdget=1)
            tf = t.file(fd)
            if tf is None:
                return -EBADF
            if not pollable(tf.node):
                return -EPERM
            if ef is tf or not isinstance(ef.node, EventPoll):
                return -EINVAL
            ep, target = ef.node, tf.node
            exclusive = op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE
            if exclusive and (
                op == EPOLL_CTL_MOD
                or op == EPOLL_CTL_ADD
                and (isinstance(target, EventPoll) or events & ~EXCLUSIVE_OK)
            ):
                return -EINVAL
            if op == EPOLL_CTL_ADD and isinstance(target, EventPoll):
                depth = target.depth_below(ep)
                if depth > MAX_NESTS or depth + 1 + ep.depth_above() > MAX_NESTS:
                    return -ELOOP
            item = ep.items.get((tf, fd))
            if op == EPOLL_CTL_ADD:
                if item is not None:
                    return -EEXIST
                ep.insert(tf, fd, events | POLLERR | POLLHUP, data)
                ops.update(epoll_insert=1)
                return 0
            if op == EPOLL_CTL_DEL:
                if item is None:
                    return -ENOENT
                ep.remove(item)
                ops.update(epoll_remove=1)
                return 0
            if op == EPOLL_CTL_MOD:
                if item is None:
                    return -ENOENT
                if item.events & EPOLLEXCLUSIVE:
                    return -EINVAL
                ep.modify(item, events | POLLERR | POLLHUP, data)
                ops.update(epoll_modify=1)
                return 0
            return -EINVAL

    def sys_epoll_pwait(self, call, epfd, events, maxevents, timeout, sigmask, sigsetsize):
        ms = _int(timeout)
        wait = None if ms < 0 else ms * 1_000_000
        return self._epoll_wait(call, epfd, events, maxevents, wait, sigmask, sigsetsize)

    def sys_epoll_pwait2(self, call, epfd, events, maxevents, timeout, sigmask, sigsetsize):
        wait = None  # ns to wait for; None: until an event
        if timeout:
            wait = read_timespec(call.space, timeout)
            if wait is None or wait < 0:
                return -EFAULT if wait is None else -EINVAL
        return self._epoll_wait(call, epfd, events, maxevents, wait, sigmask, sigsetsize)

    def _epoll_wait(self, call, epfd, events, maxevents, wait, sigmask, sigsetsize):
        """epoll_pwait's and epoll_pwait2's: the events of the epoll at `epfd` into `events`,
        waiting `wait` ns (None: until there are some) if none is ready; `sigmask` the
        blocked set while it waits (do_epoll_pwait)."""
        signals = call.task.signals
        if not call.resumed:
            err = signals.mask_while_waiting(call.space, sigmask, sigsetsize)
            if err:
                return err
        return signals.mask_restored(self._epoll_waits(call, epfd, events, maxevents, wait))

    def _epoll_waits(self, call, epfd, events, maxevents, wait):
        """Linux 6.18's order (do_epoll_wait): the descriptor, the count, the buffer's range,
        then the descriptor's kind."""
        maxevents = _int(maxevents)
        fresh = int(not call.resumed)  # a wait going on looks at its ready list again only
        with self.working(fdget=fresh, epoll_wait=fresh) as ops:
            k = self.k
            self.stop_watching(k.running)
            f = self.table(call).file(_int(epfd))
            if f is None:
                return -EBADF
            if not 0 < maxevents <= MAX_EVENTS:
                return -EINVAL
            if events + maxevents * EVENT_BYTES > TASK_SIZE:
                return -EFAULT
            ep = f.node
            if not isinstance(ep, EventPoll):
                return -EINVAL

            def deliver(got) -> bool:
                out = b"".join(struct.pack("<I4xQ", rev, data) for rev, data in got)
                if not call.space.write(events, out):
                    return False
                log_user(k.mem, call.space, events, len(out), WRITE)
                return True

            n, polled = ep.collect(maxevents, deliver)
            ops.update(epoll_item=polled, epoll_event=max(n, 0))
            if n or wait == 0:
                return n
            if wait is None:
                k.block_current(ep.waiters)
            elif not k.sleep_until(k.wait_deadline(wait), ep.waiters):
                return 0
            self.watch(ep.queues())
            ops.update(event_wait=1)
            return -ERESTARTSYS

    # ---- for the file manager: a released file leaves the epolls watching it -------------
    def unwatch(self, f) -> None:
        """The open file `f` was released: the items watching it leave their epolls."""
        gone = sum(ep.forget(f) for ep in list(dict.fromkeys(f.epolls)))
        if gone:
            self.work(epoll_remove=gone)

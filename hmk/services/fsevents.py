"""fsmgr's event files: eventfd, timerfd, signalfd and epoll, with Linux's semantics and errnos.

In Linux these are anonymous-inode files of fs/ (eventfd.c, timerfd.c, signalfd.c,
eventpoll.c); here they are the file manager's objects on the `vfs.Stream` protocol, so its read,
write, ppoll, pselect6 and close treat them as any object that moves its own bytes, and an epoll
watches them, pipes, devices and other services' Streams (sockets) alike. Each is opened O_RDWR
(its NONBLOCK and CLOEXEC flags are O_NONBLOCK's and O_CLOEXEC's), lseek leaves it at 0 (Linux's
noop_llseek), pread and pwrite are ESPIPE, and the calls it has no use for (a write to a timerfd,
a read of an epoll) EINVAL.

- eventfd2: a 64-bit count. A read (of 8 bytes or more; fewer: EINVAL) takes the count (1 with
  EFD_SEMAPHORE) and waits while it is 0; a write (of 8 bytes; more or fewer: EINVAL) adds its
  value (0xffffffffffffffff: EINVAL) and waits while the count would pass 0xfffffffffffffffe.
  EFD_NONBLOCK: EAGAIN instead.
- timerfd_create, timerfd_settime, timerfd_gettime: a timer on the simulated clock (MONOTONIC,
  BOOTTIME, REALTIME and their _ALARM forms; TFD_TIMER_ABSTIME: a time on that clock), one-shot
  or periodic. Its expiry is a core-kernel alarm (hmk.kernel.core `set_alarm`): it rings at that
  simulated time and wakes the timer's readers and pollers (a thread blocked reading it, or in
  ppoll or epoll_pwait on it). A read gives the expirations since the last one (8 bytes) and
  waits while there are none. As Linux's hrtimer, a periodic timer is started again when its
  expirations are read (or its time asked): the periods missed meanwhile are counted then, so
  an unread timer rings once.
- signalfd4: reads dequeue pending signals of the descriptor's mask as struct signalfd_siginfo
  (128 bytes each; fewer: EINVAL), waiting while none is pending; it is readable while one is.
  As Linux's, it reads the signals of the process that uses it (a forked child its own), and a
  signal sent to a process wakes its threads waiting on signalfds (`SignalState.waiters`, woken
  by the process manager). Given a signalfd (not -1), the call sets that one's mask.
- epoll_create1, epoll_ctl, epoll_pwait, epoll_pwait2: an interest list of (open file,
  descriptor) items and a ready list, as Linux's eventpoll. Linux puts an item on the ready list
  from a callback on the watched object's wait queue; hmk's objects count their wake-ups instead
  (a Stream's `generation`, a pipe's per-queue counts: `heard`), and an epoll takes the items
  whose objects woke since it last looked onto its ready list (in interest-list order, where
  Linux's is the order of the wake-ups) before it handles the list as Linux does: each item polled, the ready ones reported (the caller's
  64-bit data back), level-triggered ones kept on the list, edge-triggered ones (EPOLLET) left
  off until their object wakes again, EPOLLONESHOT ones disabled until EPOLL_CTL_MOD.
  EPOLLHUP and EPOLLERR are always reported. An epoll is readable while it has a ready item, so
  epolls nest (a cycle, or a chain of more than five: ELOOP). An item goes with the last
  descriptor of its open file (close of a dup'ed descriptor leaves it). A thread with nothing
  to report waits on the epoll and on the wait lists of everything it watches until one
  changes, a signal comes (EINTR, never restarted) or the timeout passes (epoll_pwait's in ms,
  -1: none; epoll_pwait2's a timespec, NULL: none). The signal mask argument is checked but not
  applied during the wait, as hmk's ppoll does not apply its own.

Costs (fsmgr's `costs`): an event file made (`event_file`) and its descriptor; a read's or
write's own work (`eventfd`, `timer_read` and `timer_rearm`, `signal_dequeue` and `siginfo`),
a wait (`event_wait`) and a wake-up of waiters (`event_wake`); a timer set (`timer_set`); an
epoll item inserted, modified or removed (`epoll_insert`, `epoll_modify`, `epoll_remove`), a
wait's own work (`epoll_wait`), an item polled on the ready list (`epoll_item`) and an event
stored (`epoll_event`). A call going on after its wait (`call.resumed`) is charged only what
follows the wait. An alarm's ring is the kernel's (`timer.alarm`).
"""

from __future__ import annotations

import struct

from hmk.hw.events import READ, WRITE
from hmk.linux.abi import (
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    EAGAIN,
    EBADF,
    EEXIST,
    EFAULT,
    EFD_SEMAPHORE,
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
    O_NONBLOCK,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDBAND,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    SI_USER,
    SIGBUS,
    SIGCHLD,
    SIGFPE,
    SIGILL,
    SIGSEGV,
    SIGTRAP,
    TFD_TIMER_ABSTIME,
    TFD_TIMER_CANCEL_ON_SET,
)
from hmk.linux.clock import epoch, read_timespec, timespec
from hmk.linux.layout import TASK_SIZE
from hmk.linux.signals import UNBLOCKABLE
from hmk.services.copies import log_user
from hmk.services.devhost import Rtc
from hmk.services.fsnames import _int
from hmk.services.vfs import Device, Pipe, Stream

COUNT_MAX = (1 << 64) - 1  # an eventfd's count stays below it
SIGINFO_BYTES = 128  # struct signalfd_siginfo
EVENT_BYTES = 16  # struct epoll_event on arm64: events, 4 bytes of padding, data
MAX_EVENTS = 0x7FFFFFFF // EVENT_BYTES  # EP_MAX_EVENTS
MAX_NESTS = 4  # EP_MAX_NESTS: at most five epolls in a chain
# a timerfd's clocks: where each counts from (the _ALARM ones are their clocks, and wake a
# suspended system, which hmk never is)
TIMER_CLOCKS = {
    CLOCK_MONOTONIC: CLOCK_MONOTONIC,
    CLOCK_REALTIME: CLOCK_REALTIME,
    CLOCK_BOOTTIME: CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM: CLOCK_REALTIME,
    CLOCK_BOOTTIME_ALARM: CLOCK_BOOTTIME,
}
ALARM_CLOCKS = (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)  # CAP_WAKE_ALARM's (root's)
# what a wake-up announces, for the items that hear it (Linux's wake-up keys: a pipe's write
# wakes the readers' queue with EPOLLIN, a read of a full one the writers' with EPOLLOUT)
IN_EVENTS = POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI | POLLRDHUP
OUT_EVENTS = POLLOUT | POLLWRNORM | POLLWRBAND
PRIVATE = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE  # EP_PRIVATE_BITS
EXCLUSIVE_OK = POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
FAULTS = (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP)  # their siginfo carries an address
RANDOM = 0x108  # /dev/random (/dev/urandom, 0x109, has no poll method)


class EventFile(Stream):
    """A file of the file manager's own with no name (Linux's anonymous inode): `fs`, the file
    manager, charges its work."""

    def __init__(self, fs):
        super().__init__(0o600)  # the anonymous inode's mode: no file type, the owner's rw
        self.fs = fs

    def queues(self) -> list[list[int]]:
        """The wait lists a thread waiting for it to change joins."""
        return [self.waiters]

    def heard(self, events: int) -> int:
        """The wake-ups an epoll item watching `events` of it has heard of so far."""
        return self.generation

    def wake(self) -> None:
        """Its readiness changed: its waiters (if any: their wake-up charged) look again."""
        if self.waiters:
            self.fs.work(event_wake=1)
            self.changed(self.fs.k)
        else:
            self.generation += 1

    def wait(self, f, queue: list[int] | None = None):
        """The caller waits on `queue` (default: its waiters) and reads again when woken; with
        O_NONBLOCK it gets EAGAIN instead."""
        if f.flags & O_NONBLOCK:
            return -EAGAIN
        self.fs.k.block_current(self.waiters if queue is None else queue)
        self.fs.work(event_wait=1)
        return -ERESTARTSYS


class EventFd(EventFile):
    def __init__(self, fs, count: int, semaphore: bool):
        super().__init__(fs)
        self.count, self.semaphore = count, semaphore
        # its wake-ups announcing a count to read (a write) and room to add (a read)
        self.in_generation = self.out_generation = 0

    def read(self, call, f, count: int):
        if count < 8:
            return -EINVAL
        self.fs.work(eventfd=1)
        if not self.count:
            return self.wait(f)
        value = 1 if self.semaphore else self.count
        self.count -= value
        self.out_generation += 1
        self.wake()
        return value.to_bytes(8, "little")

    def write(self, call, f, data: bytes):
        if len(data) != 8:  # exactly 8 (Linux checks it since 2024; before, fewer only)
            return -EINVAL
        value = int.from_bytes(data, "little")
        if value == COUNT_MAX:
            return -EINVAL
        self.fs.work(eventfd=1)
        if COUNT_MAX - self.count <= value:
            return self.wait(f)
        self.count += value
        self.in_generation += 1
        self.wake()
        return 8

    def poll(self, f) -> int:
        rev = POLLIN if self.count else 0
        rev |= POLLERR if self.count == COUNT_MAX else 0
        return rev | (POLLOUT if self.count < COUNT_MAX - 1 else 0)

    def heard(self, events: int) -> int:
        return (self.in_generation if events & IN_EVENTS else 0) + (
            self.out_generation if events & OUT_EVENTS else 0
        )


class TimerFd(EventFile):
    """A timer: its next expiry (`expires`, ns since boot; None: disarmed), its period
    (`interval`, 0: one-shot), the expirations not yet read (`ticks`) and whether it has
    expired since it was last started (`expired`)."""

    def __init__(self, fs, clock: int):
        super().__init__(fs)
        self.clock = TIMER_CLOCKS[clock]
        self.expires: int | None = None
        self.interval = 0
        self.ticks, self.expired = 0, False
        self.alarm: int | None = None  # the kernel alarm of its expiry, while it is started

    def set(self, expires: int | None, interval: int) -> None:
        """Arm it to expire at `expires` (None: disarm) and every `interval` ns after; the
        expirations not yet read are forgotten."""
        self.fs.k.cancel_alarm(self.alarm)
        self.alarm = None
        self.expires, self.interval = expires, interval
        self.ticks, self.expired = 0, False
        if expires is not None:
            self._start()

    def _start(self) -> None:
        k = self.fs.k
        self.alarm = k.set_alarm(k.ns_cycles(self.expires), self._ring)

    def _ring(self) -> None:
        """Its alarm rang (the kernel's timer interrupt): one more expiration; whoever waits
        looks again."""
        self.alarm = None
        self.ticks += 1
        self.expired = True
        self.changed(self.fs.k)

    def forward(self) -> int:
        """A periodic timer that expired moved past now (hrtimer_forward_now): the periods
        from its last expiry to now, at least 1."""
        now = max(self.fs.k.now_ns(), self.expires)
        periods = (now - self.expires) // self.interval + 1
        self.expires += periods * self.interval
        return periods

    def catch_up(self) -> None:
        """A periodic timer that expired counts the periods it missed and starts again (a
        read of its expirations or of its time)."""
        if self.expired and self.interval:
            self.ticks += self.forward() - 1
            self.expired = False
            self._start()
            self.fs.work(timer_rearm=1)

    def remaining(self) -> int:
        """ns until it expires (0: disarmed, or expired and not periodic)."""
        return 0 if self.expires is None else max(self.expires - self.fs.k.now_ns(), 0)

    def read(self, call, f, count: int):
        if count < 8:
            return -EINVAL
        self.fs.work(timer_read=1)
        if not self.ticks:
            return self.wait(f)
        self.catch_up()
        ticks, self.ticks, self.expired = self.ticks, 0, False
        return ticks.to_bytes(8, "little")

    def poll(self, f) -> int:
        return POLLIN if self.ticks else 0

    def released(self, f) -> None:
        self.fs.k.cancel_alarm(self.alarm)
        self.alarm = None


class SignalFd(EventFile):
    """The signals of `mask` (a sigset: bit n-1 for signal n) of whichever process uses it."""

    def __init__(self, fs, mask: int):
        super().__init__(fs)
        self.mask = mask

    def signals(self):
        """The signal state of the process whose thread is running (Linux's current)."""
        return self.fs.running_task().signals

    def read(self, call, f, count: int):
        wanted = count // SIGINFO_BYTES
        if not wanted:
            return -EINVAL
        signals, out = call.task.signals, b""
        while len(out) < wanted * SIGINFO_BYTES:
            got = signals.take(self.mask)
            if got is None:
                break
            self.fs.work(signal_dequeue=1, siginfo=1)
            out += _siginfo(*got)
        return out if out else self.wait(f, signals.waiters)

    def poll(self, f) -> int:
        return POLLIN if self.signals().pending & self.mask else 0

    def queues(self) -> list[list[int]]:
        return [self.signals().waiters]

    def heard(self, events: int) -> int:
        return self.generation + self.signals().arrivals


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


def _siginfo(sig: int, code: int, value: int, status: int, uid: int) -> bytes:
    """struct signalfd_siginfo of a dequeued signal, as Linux's signalfd_copyinfo fills it by
    the siginfo's layout: a child's (pid, uid, status), a fault's (address) or a sender's."""
    info = bytearray(SIGINFO_BYTES)
    struct.pack_into("<Iii", info, 0, sig, 0, code)
    if code > SI_USER and sig in FAULTS:
        struct.pack_into("<Q", info, 72, value)  # ssi_addr
    else:
        struct.pack_into("<II", info, 12, value, uid)  # ssi_pid, ssi_uid
        if code > SI_USER and sig == SIGCHLD:
            struct.pack_into("<i", info, 40, status)  # ssi_status
    return bytes(info)


def _valid_timespec(sec: int, nsec: int) -> bool:
    return sec >= 0 and 0 <= nsec < 10**9


class EventFiles:
    """The event files' calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    def _new_event_file(self, call, node, flags: int) -> int:
        """Install `node` at the caller's lowest free descriptor (O_NONBLOCK, O_CLOEXEC of
        `flags`): the descriptor, or -EMFILE."""
        with self.working(event_file=1, fd_install=1):
            return self.table(call).open(node, flags & O_NONBLOCK, bool(flags & O_CLOEXEC))

    def _event_file(self, call, fd, kind):
        """The node of descriptor `fd` if it is a `kind`: else -EBADF (no such descriptor) or
        -EINVAL (another kind of file)."""
        self.work(fdget=1)
        f = self.table(call).file(_int(fd))
        if f is None:
            return -EBADF
        return f.node if isinstance(f.node, kind) else -EINVAL

    # ---- eventfd -------------------------------------------------------------------------
    def sys_eventfd2(self, call, count, flags, *_):
        flags = _int(flags)
        if flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE):
            return -EINVAL
        node = EventFd(self, count & 0xFFFFFFFF, bool(flags & EFD_SEMAPHORE))
        return self._new_event_file(call, node, flags)

    # ---- timerfd -------------------------------------------------------------------------
    def sys_timerfd_create(self, call, clock, flags, *_):
        clock, flags = _int(clock), _int(flags)
        if flags & ~(O_CLOEXEC | O_NONBLOCK) or clock not in TIMER_CLOCKS:
            return -EINVAL
        if clock in ALARM_CLOCKS and call.task.uids[1] != 0:
            return -EPERM
        return self._new_event_file(call, TimerFd(self, clock), flags)

    def sys_timerfd_settime(self, call, fd, flags, new, old, *_):
        raw = call.space.read(new, 32)
        if raw is None:
            return -EFAULT
        log_user(self.k.mem, call.space, new, 32, READ)
        every_s, every_ns, value_s, value_ns = struct.unpack("<qqqq", raw)
        flags = _int(flags)
        if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) or not (
            _valid_timespec(every_s, every_ns) and _valid_timespec(value_s, value_ns)
        ):
            return -EINVAL
        timer = self._event_file(call, fd, TimerFd)
        if isinstance(timer, int):
            return timer
        self.work(timer_set=1)
        if timer.expired and timer.interval:  # its last expiry moved past now, for `old`
            timer.forward()
        was = timer.interval, timer.remaining()
        value, now = value_s * 10**9 + value_ns, self.k.now_ns()
        if not value:
            expires = None
        elif flags & TFD_TIMER_ABSTIME:
            expires = value - epoch(timer.clock)
        else:
            expires = now + value
        timer.set(expires, every_s * 10**9 + every_ns)
        return self._put_itimerspec(call, old, *was) if old else 0

    def sys_timerfd_gettime(self, call, fd, curr, *_):
        timer = self._event_file(call, fd, TimerFd)
        if isinstance(timer, int):
            return timer
        self.work(timer_read=1)
        timer.catch_up()
        return self._put_itimerspec(call, curr, timer.interval, timer.remaining())

    def _put_itimerspec(self, call, ptr: int, interval: int, value: int) -> int:
        if not call.space.write(ptr, timespec(interval) + timespec(value)):
            return -EFAULT
        log_user(self.k.mem, call.space, ptr, 32, WRITE)
        return 0

    # ---- signalfd ------------------------------------------------------------------------
    def sys_signalfd4(self, call, fd, mask_ptr, size, flags, *_):
        if size != 8:
            return -EINVAL
        raw = call.space.read(mask_ptr, 8)
        if raw is None:
            return -EFAULT
        log_user(self.k.mem, call.space, mask_ptr, 8, READ)
        flags = _int(flags)
        if flags & ~(O_CLOEXEC | O_NONBLOCK):
            return -EINVAL
        mask = int.from_bytes(raw, "little") & ~UNBLOCKABLE
        if _int(fd) == -1:
            return self._new_event_file(call, SignalFd(self, mask), flags)
        node = self._event_file(call, fd, SignalFd)
        if isinstance(node, int):
            return node
        with self.working(fcntl=1):  # the mask set under the signal lock; the waiters woken
            node.mask = mask
            node.generation += 1
            if call.task.signals.waiters:
                self.work(event_wake=1)
                self.k.wake_all(call.task.signals.waiters)
        return _int(fd)

    # ---- epoll ---------------------------------------------------------------------------
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
        waiting `wait` ns (None: until there are some) if none is ready."""
        if sigmask:
            if sigsetsize != 8:
                return -EINVAL
            if call.space.read(sigmask, 8) is None:
                return -EFAULT
        maxevents = _int(maxevents)
        if not 0 < maxevents <= MAX_EVENTS:
            return -EINVAL
        if events + maxevents * EVENT_BYTES > TASK_SIZE:
            return -EFAULT
        fresh = int(not call.resumed)  # a wait going on looks at its ready list again only
        with self.working(fdget=fresh, epoll_wait=fresh) as ops:
            k = self.k
            self.stop_watching(k.running)
            f = self.table(call).file(_int(epfd))
            if f is None:
                return -EBADF
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

"""fsmgr's event files: eventfd, timerfd, signalfd (and epoll: hmk.services.fsepoll), with
Linux's semantics and errnos.

In Linux these are anonymous-inode files of fs/ (eventfd.c, timerfd.c, signalfd.c,
eventpoll.c); here they are the file manager's objects on the `vfs.Stream` protocol, so its
read, write, ppoll, pselect6 and close treat them as any object that moves its own bytes, and an
epoll watches them, pipes, devices and other services' Streams (sockets) alike. Each is opened
O_RDWR (its NONBLOCK and CLOEXEC flags are O_NONBLOCK's and O_CLOEXEC's), lseek leaves it at 0
(Linux's noop_llseek), pread and pwrite are ESPIPE, and the calls it has no use for (a write to
a timerfd, a read of an epoll) EINVAL.

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

Costs (fsmgr's `costs`): an event file made (`event_file`) and its descriptor; a read's or
write's own work (`eventfd`, `timer_read` and `timer_rearm`, `signal_dequeue` and `siginfo`),
a wait (`event_wait`) and a wake-up of waiters (`event_wake`); a timer set (`timer_set`). A
call going on after its wait (`call.resumed`) is charged only what follows the wait. An
alarm's ring is the kernel's (`timer.alarm`).
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
    EFAULT,
    EFD_SEMAPHORE,
    EINVAL,
    ENOTTY,
    EPERM,
    ERESTARTSYS,
    O_CLOEXEC,
    O_NONBLOCK,
    POLLERR,
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
    TFD_IOC_SET_TICKS,
    TFD_TIMER_ABSTIME,
    TFD_TIMER_CANCEL_ON_SET,
)
from hmk.linux.clock import epoch, timespec
from hmk.linux.signals import UNBLOCKABLE
from hmk.services.copies import log_user
from hmk.services.fsnames import _int
from hmk.services.vfs import Stream

COUNT_MAX = (1 << 64) - 1  # an eventfd's count stays below it
SIGINFO_BYTES = 128  # struct signalfd_siginfo
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
FAULTS = (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP)  # their siginfo carries an address


class EventFile(Stream):
    """A file of the file manager's own with no name (Linux's anonymous inode): `fs`, the file
    manager, charges its work."""

    anonymous = True

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
        if getattr(data, "wanted", len(data)) != 8:  # exactly 8 (Linux checks it since 2024;
            return -EINVAL  # before, fewer only)
        if len(data) != 8:
            return -EFAULT
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

    def ioctl(self, call, f, request: int, arg: int) -> int:
        """TFD_IOC_SET_TICKS (Linux's CONFIG_CHECKPOINT_RESTORE, which Debian's kernel has):
        the expirations not yet read become the u64 at `arg` (0: EINVAL), and readers wake."""
        if request != TFD_IOC_SET_TICKS:
            return -ENOTTY
        raw = call.space.read(arg, 8)
        if raw is None:
            return -EFAULT
        ticks = int.from_bytes(raw, "little")
        if not ticks:
            return -EINVAL
        self.fs.work(timer_read=1)
        self.ticks = ticks
        self.wake()
        return 0

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

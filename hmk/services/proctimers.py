"""The process manager's timers that signal a process: the interval timers (setitimer,
getitimer; glibc's alarm is setitimer on AArch64) and POSIX timers (timer_create, timer_settime,
timer_gettime, timer_getoverrun, timer_delete).

A timer's expiry is a core-kernel alarm (hmk.kernel.core `set_alarm`): it rings at the first
timer interrupt or kernel entry at or after that time, or when the core idles until it, and
posts the timer's signal (SIGALRM from ITIMER_REAL with si_code SI_KERNEL, as Linux's
it_real_fn; a POSIX timer's own signal with SI_TIMER, its id and its sigval). Timers on CPU
time (ITIMER_VIRTUAL: the process's user time; ITIMER_PROF and CLOCK_PROCESS_CPUTIME_ID: user
and system) arm an alarm for the earliest the time could be reached and look again when it
rings. A periodic timer starts again from its last expiry; the periods that passed before its
signal was taken are its overruns. Timers are the process's: a child does not inherit them,
execve deletes the POSIX ones and keeps the interval timers, exit cancels all (Linux's rules).
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    EAGAIN,
    EFAULT,
    EINVAL,
    EOPNOTSUPP,
    NSIG,
    SIGALRM,
    SIGPROF,
    SIGVTALRM,
    TIMER_ABSTIME,
)
from hmk.linux.clock import CLOCKS, NO_TIMER, clock_id, cpu_clock, dynamic_clock, epoch, timespec
from hmk.services.procattrs import RLIMIT_SIGPENDING
from hmk.services.service import charged

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
SI_KERNEL, SI_TIMER = 0x80, -2
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
USER, PROF, WALL = "user", "prof", "wall"  # what a timer's clock counts
INT_MAX = 2**31 - 1  # a timer id is an int
TIMER_MAX = 1 << 15  # timers one process may hold (assumed: RLIMIT_SIGPENDING's order)


class ProcTimer:
    """One timer of `task`: it expires at `expires` (ns on its clock; None: disarmed) and
    every `interval` ns after; `counts` what its clock counts (wall time, the process's user
    time, or user and system time)."""

    def __init__(self, mgr, task, counts: str, signal: int, code: int, ident: int, value: int):
        self.mgr, self.task, self.counts = mgr, task, counts
        self.signal, self.code, self.ident, self.value = signal, code, ident, value
        self.expires: int | None = None
        self.interval = 0
        self.overrun = self.last_overrun = 0
        self.alarm: int | None = None

    def now(self) -> int:
        """Its clock, ns (wall: since boot; CPU clocks: the process's time so far)."""
        k = self.mgr.k
        if self.counts == WALL:
            return k.now_ns()
        user, system = self.mgr.cpu_ns(self.task)
        return user if self.counts == USER else user + system

    def set(self, expires: int | None, interval: int) -> None:
        self.cancel()
        self.expires, self.interval, self.overrun = expires, interval, 0
        if expires is not None:
            self._arm()

    def cancel(self) -> None:
        self.mgr.k.cancel_alarm(self.alarm)
        self.alarm = None

    def remaining(self) -> int:
        if self.expires is None:
            return 0
        now = self.now()
        if self.alarm is None and self.interval and self.expires <= now:
            self._forward(now)  # expired, waiting to start again: its next expiry
        return max(self.expires - now, 0)

    def _forward(self, now: int) -> None:
        """The next expiry after `now`; the periods skipped are overruns (hrtimer_forward)."""
        periods = (now - self.expires) // self.interval + 1
        self.overrun += periods - 1
        self.expires += periods * self.interval

    def _taken(self) -> None:
        """Its signal was taken: a periodic timer starts again (from its next expiry)."""
        if self.expires is not None and self.alarm is None and not self.task.zombie:
            now = self.now()
            if self.expires <= now:
                self._forward(now)
            self._arm()

    def _arm(self) -> None:
        """An alarm at the earliest wall time the clock can reach `expires`."""
        k = self.mgr.k
        wait = max(self.expires - self.now(), 0)
        self.alarm = k.set_alarm(k.now() + k.ns_cycles(wait), self._ring)

    def _ring(self) -> None:
        self.alarm = None
        if self.expires is None or self.task.zombie:
            return
        now = self.now()
        if now < self.expires:  # a CPU clock that has not got there yet
            self._arm()
            return
        signals = self.task.signals
        if self.signal:
            if signals.pending >> (self.signal - 1) & 1 and self.code == SI_TIMER:
                self.overrun += 1  # its last signal is not taken yet (Linux: an overrun)
            else:
                self.last_overrun, self.overrun = self.overrun, 0
                signals.post(self.signal, self.code, self.ident, self.value)
                self.mgr.signalled(self.task)
        if not self.interval:
            self.expires = None
        elif self.signal and signals.pending >> (self.signal - 1) & 1:
            # it starts again when its signal is taken (never ringing on, unseen, while the
            # signal waits: a blocked SIGALRM and a 1 us period must not spin the machine)
            signals.on_take.setdefault(self.signal, []).append(self._taken)
        elif self.signal:
            self._forward(now)
            self._arm()
        # SIGEV_NONE: nothing to deliver, so it rings no more; timer_gettime forwards it
        self.mgr.k.counts["procmgr.timers.expired"] += 1


def _timeval(raw: bytes, at: int) -> int | None:
    sec, usec = struct.unpack_from("<qq", raw, at)
    return None if sec < 0 or not 0 <= usec < 1_000_000 else sec * 10**9 + usec * 1000


def _itimerval(interval: int, value: int) -> bytes:
    def tv(ns: int) -> bytes:
        usec = -(-ns // 1000)  # what is left, rounded up to whole microseconds
        return struct.pack("<qq", usec // 10**6, usec % 10**6)

    return tv(interval) + tv(value)


class TimerCalls:
    """Handlers mixed into the process manager (hmk.services.procmgr.ProcMgr)."""

    # ---- interval timers -----------------------------------------------------------------
    def _itimer(self, task, which: int) -> ProcTimer:
        timer = task.itimers.get(which)
        if timer is None:
            counts = (WALL, USER, PROF)[which]
            signal = (SIGALRM, SIGVTALRM, SIGPROF)[which]
            timer = task.itimers[which] = ProcTimer(self, task, counts, signal, SI_KERNEL, 0, 0)
        return timer

    @charged(task_field=1)
    def sys_getitimer(self, call, which, curr, *_):
        which &= 0xFFFFFFFF  # an int
        if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
            return -EINVAL
        timer = self._itimer(call.task, which)
        raw = _itimerval(timer.interval, timer.remaining())
        return 0 if call.space.write(curr, raw) else -EFAULT

    @charged(task_field=1)
    def sys_setitimer(self, call, which, new, old, *_):
        """Linux's order: the new value copied in and checked, then which timer (an int)."""
        interval = value = 0
        if new:  # (a NULL new value disarms, as Linux still allows)
            raw = call.space.read(new, 32)
            if raw is None:
                return -EFAULT
            interval, value = _timeval(raw, 0), _timeval(raw, 16)
            if interval is None or value is None:
                return -EINVAL
        which &= 0xFFFFFFFF
        if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
            return -EINVAL
        timer = self._itimer(call.task, which)
        if old and not call.space.write(old, _itimerval(timer.interval, timer.remaining())):
            return -EFAULT
        timer.set(timer.now() + value if value else None, interval if value else 0)
        return 0

    # ---- POSIX timers --------------------------------------------------------------------
    @charged(task_field=1)
    def sys_timer_create(self, call, clock, sevp, timerid, *_):
        """Linux's order: the sigevent copied in, the clock (none: EINVAL; one without timers:
        EOPNOTSUPP), the sigevent checked (good_sigevent: SIGEV_THREAD is SIGEV_SIGNAL to the
        kernel), the id copied out, then a CPU clock's own check (a bad one: EINVAL)."""
        task, raw = call.task, None
        if sevp:
            raw = call.space.read(sevp, 64)  # sizeof(sigevent_t)
            if raw is None:
                return -EFAULT
        clock = clock_id(clock)
        counts = _counts(clock)
        if clock in NO_TIMER or dynamic_clock(clock):
            return -EOPNOTSUPP
        if counts is None and clock >= 0:
            return -EINVAL
        held = sum(len(t.timers) for t in self.tasks.values() if t.uids[0] == task.uids[0])
        if held >= self.limit(task, RLIMIT_SIGPENDING)[0]:
            return -EAGAIN  # each timer's signal is queued ahead: the user's RLIMIT_SIGPENDING
        ident = task.next_timer_id & INT_MAX  # ids go up (posix_timer_add), skipping any
        while ident in task.timers:  # still held after a wrap; taken even if the call then
            ident = (ident + 1) & INT_MAX  # fails
        task.next_timer_id = ident + 1
        signal, value = SIGALRM, ident
        if raw:
            value, signal, notify, tid = struct.unpack_from("<qiii", raw)
            if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID):
                return -EINVAL
            if notify == SIGEV_THREAD_ID and tid not in (t for t, _ in task.threads.values()):
                return -EINVAL
            if notify == SIGEV_NONE:
                signal = 0
            elif not 1 <= signal <= NSIG:
                return -EINVAL
        if len(task.timers) >= TIMER_MAX:
            return -EAGAIN
        if not call.space.write(timerid, struct.pack("<i", ident)):
            return -EFAULT
        if counts is None:
            return -EINVAL  # (posix_cpu_timer_create's, after the id went out)
        task.timers[ident] = ProcTimer(self, task, counts, signal, SI_TIMER, ident, value)
        task.timer_clocks[ident] = clock
        return 0

    def _posix_timer(self, call, ident: int) -> ProcTimer | None:
        return call.task.timers.get(ident & 0xFFFFFFFF)

    @charged(task_field=1)
    def sys_timer_settime(self, call, ident, flags, new, old, *_):
        """Linux's order: the new value copied in and checked, then the timer; flags but
        TIMER_ABSTIME are ignored."""
        raw = call.space.read(new, 32) if new else None
        if raw is None:
            return -EFAULT if new else -EINVAL
        interval, value = _timespec(raw, 0), _timespec(raw, 16)
        if interval is None or value is None:
            return -EINVAL
        timer = self._posix_timer(call, ident)
        if timer is None:
            return -EINVAL
        if old and not call.space.write(old, _itimerspec(timer)):
            return -EFAULT
        if not value:
            timer.set(None, 0)
        elif flags & TIMER_ABSTIME:
            clock = call.task.timer_clocks[ident & 0xFFFFFFFF]
            timer.set(value - epoch(clock) if timer.counts == WALL else value, interval)
        else:
            timer.set(timer.now() + value, interval)
        return 0

    @charged(task_field=1)
    def sys_timer_gettime(self, call, ident, curr, *_):
        timer = self._posix_timer(call, ident)
        if timer is None:
            return -EINVAL
        return 0 if call.space.write(curr, _itimerspec(timer)) else -EFAULT

    @charged(task_field=1)
    def sys_timer_getoverrun(self, call, ident, *_):
        """The expirations its last signal stood for beyond the first: counted until that
        signal was taken (Linux counts them when it rearms the timer at the dequeue)."""
        timer = self._posix_timer(call, ident)
        if timer is None:
            return -EINVAL
        pending = timer.signal and call.task.signals.pending >> (timer.signal - 1) & 1
        return min(timer.last_overrun if pending else timer.overrun, 0x7FFFFFFF)

    @charged(task_field=1)
    def sys_timer_delete(self, call, ident, *_):
        timer = call.task.timers.pop(ident & 0xFFFFFFFF, None)
        if timer is None:
            return -EINVAL
        timer.cancel()
        return 0

    def drop_timers(self, task, interval_timers: bool) -> None:
        """Cancel `task`'s POSIX timers (execve, exit) and, with `interval_timers`, its
        interval timers too (exit)."""
        for timer in task.timers.values():
            timer.cancel()
        task.timers.clear()
        if interval_timers:
            for timer in task.itimers.values():
                timer.cancel()


def _counts(clock: int) -> str | None:
    """What a timer on `clock` counts: elapsed time, or CPU time (a thread's own: as the
    process's, one thread being the usual case; a pid's: the caller's only); None: no clock."""
    if clock in CLOCKS:
        return WALL
    found = cpu_clock(clock)
    return PROF if found is not None and found[0] == 0 else None


def _timespec(raw: bytes, at: int) -> int | None:
    sec, nsec = struct.unpack_from("<qq", raw, at)
    return None if sec < 0 or not 0 <= nsec < 10**9 else sec * 10**9 + nsec


def _itimerspec(timer: ProcTimer) -> bytes:
    return timespec(timer.interval) + timespec(timer.remaining())

"""The calls the shim answers itself, with no service behind them: the clocks and sleeps (the
core kernel's timer) and sched_yield (its scheduler)."""

from __future__ import annotations

import struct

from hmk.kernel.costs import BUDGETS
from hmk.linux.abi import (
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    EFAULT,
    EINVAL,
    EOPNOTSUPP,
    ERESTARTSYS,
    TIMER_ABSTIME,
)
from hmk.linux.clock import (
    CLOCKS,
    KTIME_MAX,
    NO_SLEEP,
    clock_id,
    cpu_clock,
    dynamic_clock,
    epoch,
    read_timespec,
    timespec,
)


class ShimCalls:
    """Handlers (sys_<name>) for the shim's own calls, on `kernel`."""

    def __init__(self, kernel):
        self.k = kernel

    def now_ns(self, clock_id: int) -> int | None:
        """The time on `clock_id` in ns (None: not a clock hmk has)."""
        if clock_id not in CLOCKS:
            return None
        return self.k.now_ns() + epoch(clock_id)

    def cpu_ns(self, call, clock: int) -> int | None:
        """A CPU-time clock's reading in ns (user + system; None: no such clock): the calling
        process's or thread's (ids 2 and 3), or, by a negative id, a process's or thread's by
        pid (cpu_clock; the caller's and its threads' here: another's is not readable)."""
        found = cpu_clock(clock)
        if found is None:
            return None
        pid, per_thread = found
        tids = {tid: tcb for tcb, (tid, _) in call.task.threads.items()}
        if pid not in (0, call.task.pid) and pid not in tids:
            return None
        if per_thread:
            if pid == call.task.pid and pid not in tids:
                return None
            cycles = self.k.cpu_cycles(tcb=tids.get(pid, call.tcb))
        else:
            if pid not in (0, call.task.pid):
                return None
            cycles = self.k.cpu_cycles(call.task.proc)
        return int(sum(cycles) / self.k.ghz)

    def sys_clock_gettime(self, call, clock, ts, *_):
        clock = clock_id(clock)
        ns = self.now_ns(clock)
        if ns is None:
            ns = self.cpu_ns(call, clock)
        if ns is None:
            return -EINVAL
        return 0 if call.space.write(ts, timespec(ns)) else -EFAULT

    def sys_clock_getres(self, call, clock, res, *_):
        clock = clock_id(clock)
        if clock not in CLOCKS and self.cpu_ns(call, clock) is None:
            return -EINVAL
        return 0 if not res or call.space.write(res, timespec(1)) else -EFAULT

    def sys_gettimeofday(self, call, tv, tz, *_):
        ns = self.now_ns(CLOCK_REALTIME)
        usec = struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000)
        if tv and not call.space.write(tv, usec):
            return -EFAULT
        return 0 if not tz or call.space.write(tz, bytes(8)) else -EFAULT

    def sys_nanosleep(self, call, req, rem, *_):
        return self.sys_clock_nanosleep(call, CLOCK_MONOTONIC, 0, req, rem)

    def sys_clock_nanosleep(self, call, which, flags, req, rem, *_):
        """Sleep: the thread blocks until the time passes (the core idles if nothing else can
        run). A signal's handler ends it early with EINTR and the time left in `rem`
        (sleep_interrupted)."""
        clock = clock_id(which)
        cpu = clock not in CLOCKS
        if clock in NO_SLEEP or dynamic_clock(clock):
            return -EOPNOTSUPP  # a clock with no sleep (posix-timers' nsleep)
        if clock >= 12 or clock == 10:
            return -EINVAL  # no such clock (clockid_to_kclock: 10 was SGI_CYCLE)
        ns = read_timespec(call.space, req)  # (copied before a CPU clock's own checks)
        if ns is None or ns < 0:
            return -EFAULT if ns is None else -EINVAL
        if cpu and (self.cpu_ns(call, clock) is None or cpu_clock(clock)[1]):
            return -EINVAL  # no such clock, or a thread's CPU time (posix_cpu_nsleep)
        if cpu:  # a CPU-time sleep, as one of that much time (the sleeper runs no more)
            flags &= ~TIMER_ABSTIME
        if flags & TIMER_ABSTIME:  # a time on that clock: as a time since boot
            ns -= epoch(clock)
        deadline = self.k.wait_deadline(ns, absolute=bool(flags & TIMER_ABSTIME))
        return -ERESTARTSYS if self.k.sleep_until(deadline) else 0

    @staticmethod
    def sleep_interrupted(space, name: str, args, left_ns: int) -> bool:
        """A handler cut a relative sleep short: the time left goes to its `rem`, if given;
        False when `rem` is a bad pointer (the call's result is then EFAULT, as Linux's
        nanosleep_copyout)."""
        if name == "nanosleep":
            rem = args[1]
        elif name == "clock_nanosleep" and not args[1] & TIMER_ABSTIME:
            rem = args[3]
        else:
            return True
        return not rem or space.write(rem, timespec(min(left_ns, KTIME_MAX)))

    def sys_sched_yield(self, call, *_):
        k = self.k
        k.threads.yield_(k.cpu)  # to the tail of its priority; the kernel exit switches
        k.need_resched = True
        k.charge("sched", k.path(BUDGETS["thread.op"]))
        return 0

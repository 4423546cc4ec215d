"""The calls the shim answers itself, with no service behind them: the clocks and sleeps (the
core kernel's timer) and sched_yield (its scheduler)."""

from __future__ import annotations

import struct

from hmk.kernel.costs import BUDGETS
from hmk.linux.abi import (
    CLOCK_BOOTTIME,
    CLOCK_MONOTONIC,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME,
    CLOCK_THREAD_CPUTIME_ID,
    EFAULT,
    EINVAL,
    ERESTARTSYS,
    TIMER_ABSTIME,
)
from hmk.linux.clock import CLOCKS, KTIME_MAX, epoch, read_timespec, timespec


class ShimCalls:
    """Handlers (sys_<name>) for the shim's own calls, on `kernel`."""

    def __init__(self, kernel):
        self.k = kernel

    def now_ns(self, clock_id: int) -> int | None:
        """The time on `clock_id` in ns (None: not a clock hmk has)."""
        if clock_id not in CLOCKS:
            return None
        return self.k.now_ns() + epoch(clock_id)

    def cpu_ns(self, call, clock_id: int) -> int | None:
        """The calling process's or thread's CPU time (user + system) in ns (None: not a CPU
        clock hmk has; the clocks of other processes' ids, clock_getcpuclockid's, are not)."""
        if clock_id == CLOCK_PROCESS_CPUTIME_ID:
            cycles = self.k.cpu_cycles(call.task.proc)
        elif clock_id == CLOCK_THREAD_CPUTIME_ID:
            cycles = self.k.cpu_cycles(tcb=call.tcb)
        else:
            return None
        return int(sum(cycles) / self.k.ghz)

    def sys_clock_gettime(self, call, clock_id, ts, *_):
        ns = self.now_ns(clock_id)
        if ns is None:
            ns = self.cpu_ns(call, clock_id)
        if ns is None:
            return -EINVAL
        return 0 if call.space.write(ts, timespec(ns)) else -EFAULT

    def sys_clock_getres(self, call, clock_id, res, *_):
        if clock_id not in (*CLOCKS, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
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

    def sys_clock_nanosleep(self, call, clock_id, flags, req, rem, *_):
        """Sleep: the thread blocks until the time passes (the core idles if nothing else can
        run). A signal's handler ends it early with EINTR and the time left in `rem`
        (sleep_interrupted)."""
        if clock_id not in (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME):
            return -EINVAL
        ns = read_timespec(call.space, req)
        if ns is None or ns < 0:
            return -EFAULT if ns is None else -EINVAL
        if flags & TIMER_ABSTIME:  # a time on that clock: as a time since boot
            ns -= epoch(clock_id)
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
        k.threads.yield_(0)  # to the tail of its priority; the kernel exit switches
        k.need_resched = True
        k.charge("sched", k.path(BUDGETS["thread.op"]))
        return 0

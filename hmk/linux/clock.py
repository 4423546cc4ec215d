"""Linux's clocks over the simulated one: what CLOCK_* read, and timespecs in guest memory.

Every clock counts simulated time (the core's cycles at its frequency): MONOTONIC, its RAW and
COARSE forms and BOOTTIME from boot, REALTIME (its COARSE form, TAI with Linux's default
offset of 0, and REALTIME_ALARM) from BOOT_TIME_NS, the real-time clock's reading at boot: an
assumption, fixed so that runs are deterministic; BOOTTIME_ALARM as BOOTTIME (the alarm clocks
need a real-time clock: hmk's machine has one, /dev/rtc0). The CPU-time clocks are the
process's and the thread's (clock ids 2 and 3, and the negative ids that name one by pid:
`cpu_clock`).

Which calls take which clock is posix-timers' table (kernel/time/posix-timers.c): a clock
without a sleep (the coarse ones, MONOTONIC_RAW, a thread's CPU time) is EOPNOTSUPP to
clock_nanosleep, one without timers (the coarse ones, MONOTONIC_RAW) to timer_create; an id
that is no clock is EINVAL to all.
"""

import struct

from hmk.linux.abi import (
    CLOCK_BOOTTIME,
    CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_MONOTONIC_RAW,
    CLOCK_REALTIME,
    CLOCK_REALTIME_COARSE,
)

CLOCK_TAI = 11
REALTIME_ALARM, BOOTTIME_ALARM = 8, 9
NO_SLEEP = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, 3)
NO_TIMER = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
KTIME_MAX = (1 << 63) - 1  # Linux's ktime_t: a longer time is this one (timespec64_to_ktime)
# 2024-07-10 00:00:00 UTC, the first day of OSDI '24, where HM's paper was presented
BOOT_TIME_NS = 1_720_569_600 * 10**9
CLOCKS = (
    CLOCK_REALTIME,
    CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_RAW,
    CLOCK_REALTIME_COARSE,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_BOOTTIME,
    REALTIME_ALARM,
    BOOTTIME_ALARM,
    CLOCK_TAI,
)
WALL_CLOCKS = (CLOCK_REALTIME, CLOCK_REALTIME_COARSE, REALTIME_ALARM, CLOCK_TAI)


def epoch(clock_id: int) -> int:
    """Where `clock_id` counts from, in ns after boot: the wall clocks from BOOT_TIME_NS."""
    return BOOT_TIME_NS if clock_id in WALL_CLOCKS else 0


def clock_id(value: int) -> int:
    """A clockid_t register (a C int): its low 32 bits, signed."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


def cpu_clock(clock: int) -> tuple[int, bool] | None:
    """A CPU-time clock: (pid, per thread) (pid 0: the caller) of clock ids 2 and 3 and of
    the negative ids Linux encodes as ~pid << 3 | per-thread << 2 | kind (kind 3 is none:
    None, as for any other id)."""
    if clock in (2, 3):
        return 0, clock == 3
    if clock >= 0 or clock & 3 == 3:
        return None
    return ~(clock >> 3), bool(clock & 4)


def dynamic_clock(clock: int) -> bool:
    """A negative id naming a clock device by descriptor (CLOCKFD: a PTP clock; hmk has
    none, so its reads are EINVAL, its sleeps and timers EOPNOTSUPP)."""
    return clock < 0 and clock & 7 == 3


def timespec(ns: int) -> bytes:
    return struct.pack("<qq", ns // 10**9, ns % 10**9)


def read_timespec(space, ptr: int) -> int | None:
    """A struct timespec in guest memory, in ns (at most KTIME_MAX, as Linux's ktime_t holds
    it); None: a bad pointer; -1: a field out of range (EINVAL)."""
    raw = space.read(ptr, 16)
    if raw is None:
        return None
    sec, nsec = struct.unpack("<qq", raw)
    return -1 if sec < 0 or not 0 <= nsec < 10**9 else min(sec * 10**9 + nsec, KTIME_MAX)

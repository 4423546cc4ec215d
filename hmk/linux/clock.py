"""Linux's clocks over the simulated one: what CLOCK_* read, and timespecs in guest memory.

Every clock counts simulated time (the core's cycles at its frequency): MONOTONIC, its RAW and
COARSE forms and BOOTTIME from boot, REALTIME (and its COARSE form) from BOOT_TIME_NS, the
real-time clock's reading at boot: an assumption, fixed so that runs are deterministic.
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
)


def epoch(clock_id: int) -> int:
    """Where `clock_id` counts from, in ns after boot: the wall clocks from BOOT_TIME_NS."""
    return BOOT_TIME_NS if clock_id in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE) else 0


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

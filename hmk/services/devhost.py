"""devhost, the driver container: the devices behind fsmgr's /dev, and getrandom.

The character devices (console, null, zero, random and urandom) are nodes of fsmgr's devfs
(hmk.services.rootfs); the console's bytes are the run's stdin, stdout and stderr, and every
console request is also a call into devhost (fsmgr passes the standard streams on). The
real-time clock, /dev/rtc0, answers RTC_RD_TIME through devhost's control path. The block device
is a RAM disk, /dev/ram0: reads and writes at any byte offset within its size (like Linux's
brd), its size from the BLKGETSIZE64 ioctl. Every read or write is a request to the driver's
*data path*; opening it and ioctls go to its *control path*. With a twin driver (the system
file's `twin_driver`), the data path runs in an IC1 twin while the control path stays in the
container (IC2), as HM's twin drivers do (HM paper, OSDI 2024; a secondary summary reports block
I/O on a Kirin 9000 at ~500 MB/s from the container alone and ~1200 MB/s with the twin: see
docs/sources.md). The run's random bytes (getrandom, /dev/urandom, a program's AT_RANDOM) come
from one deterministic generator, seeded per run.
"""

from __future__ import annotations

import stat
import struct
import sys
import time

from hmk.linux.abi import BLKGETSIZE64, EAGAIN, EFAULT, EINVAL, ENOSPC, ENOTTY, RTC_RD_TIME
from hmk.linux.clock import BOOT_TIME_NS
from hmk.services.service import Service
from hmk.services.vfs import Device, Node

RAMDISK_BYTES = 8 << 20  # assumed: an 8 MiB RAM disk (Linux's brd default is 4 MiB: 16 MiB max)
MAX_RANDOM = 1 << 20  # getrandom gives at most this much per call (hmk's bound)


class BlockDevice(Node):
    def __init__(self, size: int = RAMDISK_BYTES, rdev: int = 0x100):  # major 1 (ram), minor 0
        super().__init__(stat.S_IFBLK | 0o660)
        self.data = bytearray(size)
        self.rdev = rdev

    @property
    def size(self) -> int:
        return len(self.data)


class Rtc(Device):
    """/dev/rtc0, the real-time clock: RTC_RD_TIME gives the wall-clock time (the run's boot
    time, hmk.linux.clock.BOOT_TIME_NS, plus the simulated time since boot). Setting the clock
    and its interrupts (read, RTC_UIE_ON, ...) are not modelled."""

    def __init__(self, now_ns):
        super().__init__(0xFC00, lambda n: -EINVAL, lambda data: -EINVAL)
        self.mode = stat.S_IFCHR | 0o600
        self.now_ns = now_ns  # the wall clock in ns

    def read_time(self) -> bytes:
        """struct rtc_time: seconds, minutes, hours, day of month, month (0-11), years since
        1900, day of week, day of year, DST flag."""
        t = time.gmtime(self.now_ns() // 10**9)
        fields = (t.tm_sec, t.tm_min, t.tm_hour, t.tm_mday, t.tm_mon - 1, t.tm_year - 1900)
        return struct.pack("<9i", *fields, (t.tm_wday + 1) % 7, t.tm_yday - 1, 0)


class DevHost(Service):
    name = "devhost"
    default_class = "IC2"
    costs = {
        "call": 60,  # assumed: the Linux driver runtime's entry and the console driver
        # assumed: moving a KiB between the RAM disk and the request buffer, 16-byte ldp/stp
        # pairs at ~one per cycle: 64 cycles a KiB
        "per_kib": 64,
    }

    def __init__(self, boot):
        super().__init__(boot)
        self.stdin = bytes(boot.stdin)
        self.out = boot.out if boot.out is not None else sys.stdout.buffer
        self.err = boot.err if boot.err is not None else sys.stderr.buffer
        self.random = Xorshift(boot.seed)

    # ---- the console
    def console_read(self, n: int) -> bytes:
        data, self.stdin = self.stdin[:n], self.stdin[n:]
        return data

    def console_write(self, fd: int, data: bytes) -> None:
        (self.out if fd == 1 else self.err).write(data)

    def console_call(self, proc) -> None:
        """A console request fsmgr passes on: a call into the driver."""
        self.placement.call(proc, "devhost", lambda: self.work(self.costs["call"]))

    def wall_clock_ns(self) -> int:
        return BOOT_TIME_NS + self.k.now_ns()

    # ---- getrandom
    def sys_getrandom(self, call, buf, count, flags, *_):
        count = min(count, MAX_RANDOM)
        return count if call.space.write(buf, self.random.bytes(count)) else -EFAULT

    # ---- the RAM disk and the clock
    def request(self, node: BlockDevice, pos: int, data: bytes | None, count: int = 0):
        """One read (data None: `count` bytes at `pos`) or write of the RAM disk, run as a
        data-path request (the twin when there is one): bytes read, or bytes written / -errno."""

        def serve():
            n = len(data) if data is not None else count
            self.work(self.costs["call"] + self.costs["per_kib"] * ((n + 1023) // 1024))
            if data is None:
                return bytes(node.data[pos : pos + count])
            if pos >= len(node.data):
                return -ENOSPC
            room = data[: len(node.data) - pos]
            node.data[pos : pos + len(room)] = room
            return len(room)

        result = self.placement.call(self.k.current, "devhost", serve, data_path=True)
        return -EAGAIN if result is None else result

    def ioctl(self, space, node: BlockDevice | Rtc, request_code: int, arg: int) -> int:
        """The control path: BLKGETSIZE64 of the disk, RTC_RD_TIME of the clock; anything else
        is ENOTTY."""

        def serve():
            self.work(self.costs["call"])
            if isinstance(node, BlockDevice) and request_code == BLKGETSIZE64:
                data = struct.pack("<Q", node.size)
            elif isinstance(node, Rtc) and request_code == RTC_RD_TIME:
                data = node.read_time()
            else:
                return -ENOTTY
            return 0 if space.write(arg, data) else -EFAULT

        result = self.placement.call(self.k.current, "devhost", serve)
        return -EAGAIN if result is None else result


class Xorshift:
    """The run's random bytes: deterministic (xorshift64*), seeded per run."""

    def __init__(self, seed: int):
        self.x = (seed * 0x9E3779B97F4A7C15 + 1) & (1 << 64) - 1 or 1

    def bytes(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            self.x ^= self.x >> 12
            self.x ^= (self.x << 25) & (1 << 64) - 1
            self.x ^= self.x >> 27
            out += ((self.x * 0x2545F4914F6CDD1D) & (1 << 64) - 1).to_bytes(8, "little")
        return bytes(out[:n])

"""devhost, the driver container: devices behind fsmgr's /dev.

The character devices (console, null, zero, urandom) live in fsmgr's devfs (hmk.services.fsmgr);
each console request is also a call into devhost, charged by placement. The real-time clock,
/dev/rtc0, answers RTC_RD_TIME through devhost's control path. The block device here
is a RAM disk, /dev/ram0: reads and writes at any byte offset within its size (like Linux's
brd), its size from the BLKGETSIZE64 ioctl. Every read or write is a request to the driver's
*data path*; opening it and ioctls go to its *control path*. With a twin driver (the system
file's `twin_driver`), the data path runs in an IC1 twin while the control path stays in the
container (IC2), as HM's twin drivers do (../shared/hm-brief.md [secondary]: block I/O on a
Kirin 9000 ~500 MB/s from the container alone, ~1200 MB/s with the twin).
"""

from __future__ import annotations

import errno
import stat
import struct
import time

from hmk.kernel.costs import BUDGETS
from hmk.services.vfs import Device, Node

BLKGETSIZE64 = 0x80081272
RTC_RD_TIME = 0x80247009
RAMDISK_BYTES = 8 << 20  # assumed: an 8 MiB RAM disk (Linux's brd default is 4 MiB: 16 MiB max)


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
    time, hmk.kernel.minimal.BOOT_TIME_NS, plus the simulated time since boot). Setting the
    clock and its interrupts (read, RTC_UIE_ON, ...) are not modelled."""

    def __init__(self, now_ns):
        super().__init__(0xFC00, lambda n: -errno.EINVAL, lambda data: -errno.EINVAL)
        self.mode = stat.S_IFCHR | 0o600
        self.now_ns = now_ns  # the wall clock in ns

    def read_time(self) -> bytes:
        """struct rtc_time: seconds, minutes, hours, day of month, month (0-11), years since
        1900, day of week, day of year, DST flag."""
        t = time.gmtime(self.now_ns() // 10**9)
        fields = (t.tm_sec, t.tm_min, t.tm_hour, t.tm_mday, t.tm_mon - 1, t.tm_year - 1900)
        return struct.pack("<9i", *fields, (t.tm_wday + 1) % 7, t.tm_yday - 1, 0)


def request(fs, node: BlockDevice, pos: int, data: bytes | None, count: int = 0):
    """One read (data None: `count` bytes at `pos`) or write of the RAM disk, run as a data-path
    request to devhost (the twin when there is one): bytes read, or bytes written / -errno."""
    shim = fs.linux.core.shim

    def serve():
        n = len(data) if data is not None else count
        shim.work("devhost", BUDGETS["svc.devhost"] + BUDGETS["blk.per_kib"] * ((n + 1023) // 1024))
        if data is None:
            return bytes(node.data[pos : pos + count])
        if pos >= len(node.data):
            return -errno.ENOSPC
        room = data[: len(node.data) - pos]
        node.data[pos : pos + len(room)] = room
        return len(room)

    app = fs.linux.core.current
    result = shim.call(app, "devhost", serve, data_path=True)
    return -errno.EAGAIN if result is None else result


def ioctl(fs, node: BlockDevice | Rtc, request_code: int, arg: int) -> int:
    """The control path: BLKGETSIZE64 of the disk, RTC_RD_TIME of the clock; anything else
    is ENOTTY."""
    shim = fs.linux.core.shim

    def serve():
        shim.work("devhost", BUDGETS["svc.devhost"])
        if isinstance(node, BlockDevice) and request_code == BLKGETSIZE64:
            data = struct.pack("<Q", node.size)
        elif isinstance(node, Rtc) and request_code == RTC_RD_TIME:
            data = node.read_time()
        else:
            return -errno.ENOTTY
        return 0 if fs.space.write(arg, data) else -errno.EFAULT

    result = shim.call(fs.linux.core.current, "devhost", serve)
    return -errno.EAGAIN if result is None else result

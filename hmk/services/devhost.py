"""devhost, the driver container: devices behind fsmgr's /dev.

The character devices (console, null, zero, urandom) live in fsmgr's devfs (hmk.services.fsmgr);
each console request is also a call into devhost, charged by placement. The block device here
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

from hmk.kernel.costs import BUDGETS
from hmk.services.vfs import Node

BLKGETSIZE64 = 0x80081272
RAMDISK_BYTES = 8 << 20  # assumed: an 8 MiB RAM disk (Linux's brd default is 4 MiB: 16 MiB max)


class BlockDevice(Node):
    def __init__(self, size: int = RAMDISK_BYTES, rdev: int = 0x100):  # major 1 (ram), minor 0
        super().__init__(stat.S_IFBLK | 0o660)
        self.data = bytearray(size)
        self.rdev = rdev

    @property
    def size(self) -> int:
        return len(self.data)


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


def ioctl(fs, node: BlockDevice, request_code: int, arg: int) -> int:
    """The control path: BLKGETSIZE64; anything else is ENOTTY."""
    shim = fs.linux.core.shim

    def serve():
        shim.work("devhost", BUDGETS["svc.devhost"])
        if request_code != BLKGETSIZE64:
            return -errno.ENOTTY
        return 0 if fs.space.write(arg, struct.pack("<Q", node.size)) else -errno.EFAULT

    result = shim.call(fs.linux.core.current, "devhost", serve)
    return -errno.EAGAIN if result is None else result

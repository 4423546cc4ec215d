"""devhost, the driver container: the devices behind fsmgr's /dev, and getrandom.

The character devices (console, null, zero, random and urandom) are nodes of fsmgr's devfs
(hmk.services.rootfs); the console's bytes are the run's stdin, stdout and stderr, and every
console read or write is a request to devhost, which moves the bytes between the caller's buffer
and the console's ring (a frame of its own, standing for the UART's transmit ring and the line
discipline's buffer). The real-time clock, /dev/rtc0, answers RTC_RD_TIME through devhost's
control path. The block device is a RAM disk, /dev/ram0: reads and writes at any byte offset
within its size (like Linux's brd, its pages allocated as they are first written), its size
from the BLKGETSIZE64 ioctl. Every read or write is a request to the driver's *data path*,
which copies between the caller's buffer and the disk's pages; opening it and ioctls go to its
*control path*. With a twin driver (the system file's `twin_driver`), the data path runs in an
IC1 twin while the control path stays in the container (IC2), as HM's twin drivers do (HM paper,
OSDI 2024; a secondary summary reports block I/O on a Kirin 9000 at ~500 MB/s from the
container alone and ~1200 MB/s with the twin: see docs/sources.md). The run's random bytes
(getrandom, /dev/urandom, a program's AT_RANDOM) come from one deterministic generator, seeded
per run; they are charged as the ChaCha20 blocks Linux's generator makes.

What each request costs devhost is the sum of the operations it performs (`costs`): the copy's
pages and lines (hmk.services.copies, the lines logged), and the driver's own work per request.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import time

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    BLKGETSIZE64,
    EAGAIN,
    EFAULT,
    EINVAL,
    EIO,
    ENOSPC,
    ENOTTY,
    RTC_RD_TIME,
)
from hmk.linux.clock import BOOT_TIME_NS
from hmk.linux.layout import TASK_SIZE
from hmk.services.copies import (
    COPY_LINE,
    COPY_PAGE,
    PAGE_CLEAR,
    READ,
    WRITE,
    lines,
    log_frame,
    log_user,
    log_vector,
    pages,
    ring_spans,
    scatter,
)
from hmk.services.service import ENTRY, Needs, Service
from hmk.services.vfs import Device, Node

RAMDISK_BYTES = 8 << 20  # assumed: an 8 MiB RAM disk (Linux's brd default is 4 MiB: 16 MiB max)
MAX_RANDOM = 1 << 20  # getrandom gives at most this much per call (hmk's bound)
GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4  # include/uapi/linux/random.h
GRND_FLAGS, GRND_BOTH = GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE, GRND_RANDOM | GRND_INSECURE


class BlockDevice(Node):
    def __init__(self, size: int = RAMDISK_BYTES, rdev: int = 0x100):  # major 1 (ram), minor 0
        super().__init__(stat.S_IFBLK | 0o660)
        self.data = bytearray(size)
        self.rdev = rdev
        self.frames: dict[int, int] = {}  # page -> the frame devhost gave it when first written

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
    needs = Needs(calls=("memmgr",))  # faults in its callers' buffers
    # Instructions per operation (hmk.services.service: a budget's convention); sources in
    # hmk/calibration/linux_paths.json (docs/linux-paths.md), named by path.
    costs = {
        "call": ENTRY,
        # a console write's driver work: the tty layer, the line discipline and the UART driver:
        # tty_write 2,428 for one byte less its copy from the user buffer (_copy_from_iter 109)
        # (console_write_1_byte)
        "console_write": 2319,
        # assumed: a console read's driver work (n_tty_read): as a write's
        "console_read": 2319,
        # assumed: a control request (a console ioctl, the clock read, the disk's size): as
        # fsmgr's fcntl, a field read or set under a lock
        "control": 105,
        # assumed: a RAM-disk request's own work, as a regular file's read above the page cache
        # (fsmgr's vfs_rw 200 + file_read 185): brd is a module the measured kernel did not load
        "disk_request": 385,
        # a disk page found (brd keeps its pages in a radix tree as the page cache does):
        # find_get_entry 131 (pread_1_byte)
        "disk_page": 131,
        # assumed: a disk page allocated when first written (brd_insert_page): as fsmgr's
        # page-cache insertion (cache_insert 3,035) less its memory-cgroup charge
        # (mem_cgroup_charge 230) and LRU add (lru_cache_add 485) (pwrite_1_byte_new_page)
        "disk_insert": 2320,
        # a page zeroed: a read of a disk page never written gets zeros
        "page_clear": PAGE_CLEAR,
        "copy_page": COPY_PAGE,
        "copy_line": COPY_LINE,
        # a 64-byte ChaCha20 block of random bytes: chacha_block_generic 2,301 for 1.91 calls
        # (execve_tiny_static: the new image's AT_RANDOM bytes)
        "random_block": 1203,
        # ---- shadow tasks (HM's driver environment; not on a linux kernel)
        # assumed: a thread's shadow task made: a record allocated from a slab, filled and
        # entered in a table by the thread's id: the same steps as allocating a thread's pid,
        # alloc_pid 941 (thread_create_exit_join)
        "shadow_create": 941,
        # assumed: a thread's shadow task taken out of the table and freed: as freeing a pid,
        # free_pid 323 (thread_create_exit_join)
        "shadow_release": 323,
    }

    def __init__(self, boot):
        super().__init__(boot)
        self.stdin = Stdin(boot.stdin)
        self.out = boot.out if boot.out is not None else sys.stdout.buffer
        self.err = boot.err if boot.err is not None else sys.stderr.buffer
        self.random = Xorshift(boot.seed)
        self.ring = self.k.frames.alloc(owner="devhost")  # the console's ring of bytes
        self.ring_pos = 0  # where the next console bytes go in it
        self.shadows: set[int] = set()  # the tids with a shadow task (HM's driver environment)

    # ---- the console
    def console_read(self, n: int) -> bytes:
        return self.stdin.read(n)

    def console_write(self, fd: int, data: bytes) -> int:
        """The bytes leave the machine on the host's stream: 0, or the host's -errno when it
        cannot take them (a full disk, a closed pipe), which the guest gets as qemu-user's
        guest would."""
        try:
            (self.out if fd == 1 else self.err).write(data)
        except OSError as e:
            return -(e.errno or EIO)
        return 0

    def control(self, proc) -> None:
        """A console control request fsmgr passes on (an ioctl): a call into the driver."""
        self.placement.call(proc, "devhost", lambda: self.work(control=1))

    def wall_clock_ns(self) -> int:
        return BOOT_TIME_NS + self.k.now_ns()

    # ---- the data paths: console and RAM disk, from fsmgr's read and write
    def read(self, proc, node, space, vec, pos: int, count: int) -> int:
        """A read of the console or the RAM disk into the user buffers `vec` of `space`
        (`count` bytes at most; `pos`: the disk's offset): bytes read, or -errno."""

        def serve():
            if isinstance(node, BlockDevice):
                data = bytes(node.data[pos : pos + count])
                spans, ops = self._disk_spans(node, pos, len(data), write=False)
            else:
                data = node.read(count)
                spans, ops = self._ring_spans(len(data)), {"console_read": 1}
            if not scatter(space, vec, data):
                return -EFAULT
            with self.working(**ops) as done:
                for pa, n in spans:
                    log_frame(self.k.mem, pa, n, READ)
                log_vector(self.k.mem, space, vec, len(data), WRITE)
                done.update(copy_page=len(pages(pos, len(data))), copy_line=lines(len(data)))
            return len(data)

        return self._request(proc, node, serve)

    def write(self, proc, node, space, vec, pos: int, data: bytes) -> int:
        """A write of `data` (from the user buffers `vec` of `space`) to the console or the RAM
        disk at `pos`: bytes written, or -errno."""

        def serve():
            if isinstance(node, BlockDevice):
                if pos >= len(node.data):
                    self.work(disk_request=1)
                    return -ENOSPC
                room = data[: len(node.data) - pos]
                node.data[pos : pos + len(room)] = room
                spans, ops = self._disk_spans(node, pos, len(room), write=True)
                n = len(room)
            else:
                n = node.write(data)
                if n < 0:
                    return n
                spans, ops = self._ring_spans(n), {"console_write": 1}
            with self.working(**ops) as done:
                log_vector(self.k.mem, space, vec, n, READ)
                for pa, length in spans:
                    log_frame(self.k.mem, pa, length, WRITE)
                done.update(copy_page=len(pages(pos, n)), copy_line=lines(n))
            return n

        return self._request(proc, node, serve)

    def _request(self, proc, node, serve) -> int:
        """`serve` as devhost's side of a request: the disk's on its data path (the twin
        driver's when there is one), the console's in the container."""
        disk = isinstance(node, BlockDevice)
        result = self.placement.call(proc, "devhost", serve, data_path=disk)
        return -EAGAIN if result is None else result

    def _ring_spans(self, n: int) -> list[tuple[int, int]]:
        """Where the console's next `n` bytes go in its ring (a page, used round)."""
        pieces = ring_spans(self.ring_pos, n, PAGE_SIZE)
        spans = [(self.ring + off, length) for off, length in pieces]
        self.ring_pos = (self.ring_pos + n) % PAGE_SIZE
        return spans

    def _disk_spans(self, node: BlockDevice, pos: int, n: int, write: bool):
        """(the disk frames holding bytes [pos, pos + n) as (pa, length) pieces, the work of
        finding them). A write gives a page never written a frame (zeroed, the rest of it the
        disk's zeros); a read of one gets zeros without a frame (no spans for it)."""
        spans, ops = [], {"disk_request": 1, "disk_page": 0, "disk_insert": 0, "page_clear": 0}
        for index in pages(pos, n):
            base = index * PAGE_SIZE
            lo, hi = max(pos, base), min(pos + n, base + PAGE_SIZE)
            pa = node.frames.get(index)
            ops["disk_page"] += 1
            if pa is None:
                if not write:
                    ops["page_clear"] += 1  # the caller's lines are zeroed: no source
                    continue
                pa = node.frames[index] = self.k.frames.alloc(zero=False, owner="devhost.ramdisk")
                log_frame(self.k.mem, pa, PAGE_SIZE, WRITE)
                ops["disk_insert"] += 1
            spans.append((pa + lo - base, hi - lo))
        return spans, ops

    # ---- shadow tasks ----------------------------------------------------------------------
    # The HM paper (OSDI 2024, §6.2, on its LMbench Table 5, in the transcription
    # docs/anchors.md cites: hm.table5.lmbench.clone.vs_linux) puts clone's ~2x slowdown against
    # Linux down to an extra IPC with the IC2 driver container. What the container does on it is
    # not published; hmk's assumption: HM runs Linux drivers on a Linux driver environment, whose
    # code expects a task structure for the thread it works for (`current`), so the container
    # keeps a shadow task for every thread, made when procmgr makes the thread and dropped when
    # it exits, told by procmgr through the placement. A linux kernel's drivers use the kernel's
    # own task structures: no shadows, no calls.
    def shadow_created(self, tid: int) -> None:
        """Procmgr made thread `tid` (a process's first thread, or one more): its shadow."""
        with self.working(shadow_create=1):
            self.shadows.add(tid)
            self.k.counts["devhost.shadow_tasks.created"] += 1

    def shadow_released(self, tid: int) -> None:
        """Thread `tid` exited: its shadow goes."""
        with self.working(shadow_release=1):
            self.shadows.discard(tid)
            self.k.counts["devhost.shadow_tasks.released"] += 1

    # ---- getrandom
    def sys_getrandom(self, call, buf, count, flags, *_):
        """Linux's checks (flags; GRND_INSECURE with GRND_RANDOM; the buffer within user
        space), then the bytes copied a page at a time up to the first that cannot be written:
        a short count, or EFAULT if none could be (get_random_bytes_user)."""
        flags &= 0xFFFFFFFF
        if flags & ~GRND_FLAGS or flags & GRND_BOTH == GRND_BOTH:
            return -EINVAL
        count = min(count, MAX_RANDOM)
        if buf + count > TASK_SIZE:
            return -EFAULT  # access_ok
        done = 0
        while done < count:
            chunk = min(count - done, PAGE_SIZE - (buf + done) % PAGE_SIZE)
            if not call.space.write(buf + done, self.random.bytes(chunk)):
                break
            done += chunk
        if count and not done:
            return -EFAULT
        with self.working(random_block=lines(done), copy_page=len(pages(buf, done))) as ops:
            log_user(self.k.mem, call.space, buf, done, WRITE)
            ops.update(copy_line=lines(done))
        return done

    # ---- the control path: the disk's size, the clock
    def ioctl(self, space, node: BlockDevice | Rtc, request_code: int, arg: int) -> int:
        """The control path: BLKGETSIZE64 of the disk, RTC_RD_TIME of the clock; anything else
        is ENOTTY."""

        def serve():
            with self.working(control=1):
                if isinstance(node, BlockDevice) and request_code == BLKGETSIZE64:
                    data = struct.pack("<Q", node.size)
                elif isinstance(node, Rtc) and request_code == RTC_RD_TIME:
                    data = node.read_time()
                else:
                    return -ENOTTY
                if not space.write(arg, data):
                    return -EFAULT
                log_user(self.k.mem, space, arg, len(data), WRITE)
                return 0

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


class Stdin:
    """The run's standard input: bytes given up front, or a host stream (a file, a pipe, a
    terminal) read as the program reads. From a file or a pipe a read takes as many bytes as it
    asks for, up to the end of the input, whatever the pace of the host's writer, so the same
    input gives the same run; from a terminal it takes what the terminal has (a line), as
    Linux's read of a tty does. A stream that cannot be read (closed, or a test's captured
    stdin) reads as the end of the input, as /dev/null would."""

    MAX_READ = 1 << 16  # bytes taken from the host per read (a read may return fewer)

    def __init__(self, source):
        self.data, self.fd, self.stream, self.tty = b"", None, None, False
        if source is None or isinstance(source, bytes | bytearray | memoryview):
            self.data = bytes(source or b"")
            return
        try:
            self.fd = source.fileno()
            self.tty = os.isatty(self.fd)
        except (AttributeError, OSError, ValueError):  # no descriptor: read the object itself
            self.stream = source

    def read(self, n: int) -> bytes:
        if self.fd is None and self.stream is None:
            data, self.data = self.data[:n], self.data[n:]
            return data
        n = min(n, self.MAX_READ)
        try:
            if self.stream is not None:
                return bytes(self.stream.read(n) or b"")
            if self.tty:
                return os.read(self.fd, n)
            parts, left = [], n
            while left > 0:
                part = os.read(self.fd, left)
                if not part:
                    break
                parts.append(part)
                left -= len(part)
            return b"".join(parts)
        except (OSError, ValueError):
            self.fd = self.stream = None  # from now on: the end of the input
            return b""

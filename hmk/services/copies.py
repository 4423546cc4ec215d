"""The memory traffic of a service's copies, as the memory hierarchy sees it.

A service that moves bytes between a program's memory and its own buffers (the page cache, a
pipe's pages, a device's buffer) streams them as arm64's copy routines do: a READ of each source
line and a WRITE of each destination line, 64 bytes each. hmk.kernel.costs.path_cycles times
line-sized loads as streamed (their misses overlap up to the core's outstanding misses) and
line-sized stores as allocating without a fetch, so a copy's stalls grow with its size; its
instructions are the service's per-line budget (`copy_line`). Every access is logged at the
kernel's linear-map address of its frame (KERNEL_BASE + pa): the same physical lines the
program's own accesses use. A service logs after the copy that faulted the pages in, and
charges (`Service.work`) before anything else takes the kernel's log.
"""

from __future__ import annotations

import struct

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.vspace import LINE, log_frame, log_user
from hmk.linux.abi import EFAULT, EINVAL, MAX_RW_COUNT
from hmk.linux.layout import TASK_SIZE

__all__ = [
    "COPY_LINE",
    "COPY_PAGE",
    "LINE",
    "PAGE_CLEAR",
    "READ",
    "WRITE",
    "lines",
    "log_frame",
    "log_user",
    "log_vector",
    "pages",
    "ring_spans",
    "scatter",
    "writable",
]

# The budgets of a copy, shared by every service that copies (instructions; sources in
# docs/linux-paths.md, numbers in hmk/calibration/linux_paths.json):
# per 64-byte line: __arch_copy_to_user and __arch_copy_from_user move a 4 KiB page in 1,167
# instructions each (fits pread_per_page_parts, pwrite_per_page_parts): 18 a line
COPY_LINE = 18
# per page (or pipe page) a copy touches, its set-up: copy_page_to_iter takes 1,304 for a page,
# 152 beyond its lines; iov_iter_copy_from_user_atomic 1,263, 111 beyond them: their mean
COPY_PAGE = 131
# a page zeroed: clear_page, 64 DC ZVA of a line each in a loop of 4 instructions (264,
# anon_write_fault); the line writes are logged
PAGE_CLEAR = 264


def past_user(base: int, n: int) -> bool:
    """access_ok's refusal: does the buffer [base, base + n) end past user space?"""
    return base + n > TASK_SIZE


def iovec_from_user(space, ptr: int, n: int) -> list[tuple[int, int]] | int:
    """`n` struct iovec entries as Linux's iovec_from_user copies them: the array within user
    space (access_ok: EFAULT), then entry by entry, the first unreadable one EFAULT and the
    first negative length EINVAL, whichever comes first; none is nothing to check."""
    if not n:
        return []
    if past_user(ptr, 16 * n):
        return -EFAULT
    raw = space.read(ptr, 16 * n) if n else b""
    if raw is None:  # a fault part way: the entries before it count first
        raw = b""
        while (entry := space.read(ptr + len(raw), 16)) is not None:
            raw += entry
    got = len(raw) // 16
    for i in range(got):
        if raw[16 * i + 15] >> 7:
            return -EINVAL
    if got < n:
        return -EFAULT
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(n)]


def vector_past_user(vec) -> bool:
    """import_iovec's access_ok of each buffer whole; a vector of one is cut at MAX_RW_COUNT
    first (import_ubuf's order, as a send's or a receive's single buffer)."""
    if len(vec) == 1:
        return past_user(vec[0][0], min(vec[0][1], MAX_RW_COUNT))
    return any(past_user(base, n) for base, n in vec)


def lines(n: int) -> int:
    """The 64-byte lines a copy of `n` bytes moves (its instructions' count)."""
    return -(-n // LINE)


def pages(start: int, n: int) -> range:
    """The indices of the 4 KiB pages bytes [start, start + n) lie in."""
    return range(start // PAGE_SIZE, (start + n + PAGE_SIZE - 1) // PAGE_SIZE) if n else range(0)


def ring_spans(start: int, n: int, capacity: int):
    """(offset, length) pieces of the `n` bytes at ring position `start` of a ring buffer of
    `capacity` bytes, split where a page or the ring ends."""
    while n > 0:
        off = start % capacity
        chunk = min(n, PAGE_SIZE - off % PAGE_SIZE, capacity - off)
        yield off, chunk
        start, n = start + chunk, n - chunk


def log_vector(mem, space, vec, n: int, kind: int) -> None:
    """The lines of the first `n` bytes of the user buffers `vec` ((address, length) pairs)."""
    for base, length in vec:
        if n <= 0:
            break
        log_user(mem, space, base, min(length, n), kind)
        n -= length


def writable(space, vec, limit: int) -> int:
    """How many of the first `limit` bytes of the user buffers `vec` can be written, up to the
    first that cannot (a page at a time: what a copy to user space moves before it faults)."""
    done = 0
    for base, length in vec:
        length = min(length, limit - done)
        va, end = base, base + length
        while va < end:
            chunk = min(end - va, PAGE_SIZE - va % PAGE_SIZE)
            if not space.write(va, bytes(1)) or not space.write(va + chunk - 1, bytes(1)):
                return done
            done, va = done + chunk, va + chunk
        if done >= limit:
            break
    return done


class Copied(bytes):
    """The bytes a write copied in from its caller's buffers: `wanted` were asked for, fewer
    when a buffer faulted after these (an object that checks its own state first, as a
    socket or an eventfd does, says its errno before the fault's)."""

    wanted: int

    def __new__(cls, data: bytes, wanted: int):
        copied = super().__new__(cls, data)
        copied.wanted = wanted
        return copied

    @property
    def faulted(self) -> bool:
        return len(self) < self.wanted


def gather(space, vec) -> Copied:
    """The bytes of the user buffers `vec` in order, up to the first that cannot be read (a
    page at a time: what a copy from user space moves before it faults)."""
    data, wanted = bytearray(), sum(n for _, n in vec)
    for base, length in vec:
        chunk = space.read(base, length) if length else b""
        if chunk is not None:
            data += chunk
            continue
        va, end = base, base + length
        while va < end:
            piece = space.read(va, min(end - va, PAGE_SIZE - va % PAGE_SIZE))
            if piece is None:
                return Copied(data, wanted)
            data += piece
            va += len(piece)
    return Copied(data, wanted)


def scatter(space, vec, data: bytes) -> bool:
    """`data` written over the user buffers `vec` in order; False: a bad one (EFAULT)."""
    pos = 0
    for base, length in vec:
        chunk = data[pos : pos + length]
        if not chunk:
            break
        if not space.write(base, chunk):
            return False
        pos += len(chunk)
    return True

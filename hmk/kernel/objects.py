"""Kernel objects in simulated physical memory: fixed-capacity pools and timed accesses.

The Python side keeps each pool as one numpy array per field (struct of arrays); the *modeled*
layout is an array of structs in the kernel heap, a reserved range of simulated RAM: field `f`
of object `i` lives at `pool.base + i * pool.record + offset(f)`, and the kernel reaches it at
`KERNEL_BASE + that`. Kernel code touches fields only through `KernelMemory.load` / `store`,
which also append the access to a log that a kernel path later times through the memory
hierarchy (docs/kernel-design.md, principles 1-2). The pools' allocator bookkeeping itself (the
free map) is not modeled as memory: allocation is charged by the path's instruction budget.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import EVENT_DTYPE, READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.costs import LINE

KERNEL_BASE = 0xE000_0000_0000  # the kernel heap appears at KERNEL_BASE + pa in every space


class Pool:
    """`capacity` objects of `record_bytes` each; `fields` maps name -> (numpy dtype, count).
    Offsets follow declaration order, each field aligned to its element size."""

    def __init__(self, name: str, capacity: int, record_bytes: int, fields: dict):
        if capacity < 1 or record_bytes < 1:
            raise ValueError(f"pool {name}: capacity and record size must be positive")
        self.name, self.capacity, self.record = name, capacity, record_bytes
        self.offset: dict[str, int] = {}
        self.itemsize: dict[str, int] = {}
        self.arrays: dict[str, np.ndarray] = {}
        end = 0
        for field, (dtype, count) in fields.items():
            dtype = np.dtype(dtype)
            size = dtype.itemsize
            off = -(-end // size) * size
            self.offset[field], self.itemsize[field] = off, size
            shape = capacity if count == 1 else (capacity, count)
            self.arrays[field] = np.zeros(shape, dtype)
            end = off + size * count
        if end > record_bytes:
            raise ValueError(f"pool {name}: fields need {end} bytes, the record has {record_bytes}")
        self.base = -1  # physical base, set by KernelMemory.register
        self.used = np.zeros(capacity, bool)  # the free list: lowest free index is taken first
        self.in_use = 0

    @property
    def nbytes(self) -> int:
        return self.capacity * self.record

    def __getitem__(self, field: str) -> np.ndarray:
        return self.arrays[field]

    def addr(self, i: int, field: str, k: int = 0) -> int:
        """Physical address of element `k` of field `field` of object `i`."""
        return self.base + i * self.record + self.offset[field] + k * self.itemsize[field]

    def alloc(self) -> int:
        """The lowest free index, or -1 when the pool is exhausted."""
        return self.alloc_range(1)

    def alloc_range(self, n: int) -> int:
        """The first index of the lowest run of `n` free objects, or -1 if there is none."""
        if n < 1 or n > self.capacity - self.in_use:
            return -1
        free = np.concatenate(([0], (~self.used).view(np.int8), [0]))
        edges = np.flatnonzero(np.diff(free))  # run starts and ends, alternating
        starts, ends = edges[0::2], edges[1::2]
        fits = np.flatnonzero(ends - starts >= n)
        if not len(fits):
            return -1
        first = int(starts[fits[0]])
        self.used[first : first + n] = True
        self.in_use += n
        return first

    def free(self, i: int, n: int = 1) -> None:
        """Free objects [i, i+n). Freeing a free object is a kernel bug: ValueError."""
        if not (i >= 0 and i + n <= self.capacity) or not self.used[i : i + n].all():
            raise ValueError(f"pool {self.name}: double free or bad index {i} (+{n})")
        self.used[i : i + n] = False
        self.in_use -= n


class KernelMemory:
    """The kernel heap [base_pa, base_pa + size) of `ram`, the pools laid out in it, and the log
    of the kernel's accesses (EVENT_DTYPE records, ASID 0, on core `core`)."""

    def __init__(self, ram: np.ndarray, base_pa: int, size: int):
        if base_pa % PAGE_SIZE or size % PAGE_SIZE or size <= 0:
            raise ValueError("the kernel heap must be a positive whole number of 4 KiB pages")
        if base_pa < 0 or base_pa + size > len(ram):
            raise ValueError(f"kernel heap {base_pa:#x}+{size:#x} is outside RAM")
        self.ram, self.base_pa, self.size = ram, base_pa, size
        self.pools: dict[str, Pool] = {}
        self._next = base_pa
        self.core = 0
        self.log = np.zeros(256, EVENT_DTYPE)
        self.n_log = 0
        self._words = memoryview(self.log.view(np.uint64))  # the log as raw words (record)

    def register(self, pool: Pool) -> Pool:
        """Place `pool` after the previous one, aligned to its record size."""
        if pool.name in self.pools or pool.base >= 0:
            raise ValueError(f"pool {pool.name} is already registered")
        base = -(-self._next // pool.record) * pool.record
        if base + pool.nbytes > self.base_pa + self.size:
            raise ValueError(
                f"kernel heap too small: pool {pool.name} needs {pool.nbytes} bytes at "
                f"{base:#x}, the heap ends at {self.base_pa + self.size:#x}"
            )
        pool.base = base
        self._next = base + pool.nbytes
        self.pools[pool.name] = pool
        return pool

    def record(self, pa: int, kind: int, size: int) -> None:
        """Log a kernel access of `size` bytes to physical address `pa` (at KERNEL_BASE + pa)."""
        n = self.n_log
        if n == len(self._words) >> 1:
            self.grow_log(1)
        # the record's two words, written as raw words: addr, then asid (0), kind, size, core
        # and the zero padding (EVENT_DTYPE's layout), ~15x faster than setting its fields
        words = self._words
        words[2 * n] = KERNEL_BASE + pa
        words[2 * n + 1] = kind << 16 | size << 24 | self.core << 32
        self.n_log = n + 1

    def record_lines(self, pa: int, n: int, kind: int) -> None:
        """Log the 64-byte lines of [pa, pa + n), each an access of `kind` (a copy's, a
        zeroing's): as `record` line by line, in one step."""
        first = pa & ~(LINE - 1)
        count = max(-(-(pa + n - first) // LINE), 0)
        start = self.n_log
        if start + count > len(self._words) >> 1:
            self.grow_log(count)
        events = self.log[start : start + count].view(np.uint64).reshape(count, 2)
        events[:, 0] = KERNEL_BASE + first + LINE * np.arange(count, dtype=np.uint64)
        events[:, 1] = kind << 16 | LINE << 24 | self.core << 32
        self.n_log = start + count

    def grow_log(self, extra: int) -> None:
        """Make room for `extra` more records (the compiled paths reserve before writing)."""
        need = self.n_log + extra
        if need > len(self.log):
            bigger = np.zeros(max(need, 2 * len(self.log)), EVENT_DTYPE)
            bigger[: self.n_log] = self.log[: self.n_log]
            self.log = bigger
            self._words = memoryview(bigger.view(np.uint64))

    def _check(self, pool: Pool, i: int, field: str, k: int) -> None:
        arr = pool.arrays[field]
        count = arr.shape[1] if arr.ndim == 2 else 1
        if not (0 <= i < pool.capacity and 0 <= k < count):  # numpy would wrap negatives
            raise IndexError(f"{pool.name}[{i}].{field}[{k}] is out of range (a kernel bug)")

    def load(self, pool: Pool, i: int, field: str, k: int = 0) -> int:
        self._check(pool, i, field, k)
        arr = pool.arrays[field]
        self.record(pool.addr(i, field, k), READ, pool.itemsize[field])
        return int(arr[i, k] if arr.ndim == 2 else arr[i])

    def store(self, pool: Pool, i: int, field: str, value: int, k: int = 0) -> None:
        self._check(pool, i, field, k)
        arr = pool.arrays[field]
        self.record(pool.addr(i, field, k), WRITE, pool.itemsize[field])
        if arr.ndim == 2:
            arr[i, k] = value
        else:
            arr[i] = value

    def take_log(self) -> np.ndarray:
        """The accesses logged since the last call, in order (and the log is cleared)."""
        # copied as bytes: a structured copy goes field by field (~25x slower)
        out = self.log[: self.n_log].view(np.uint8).copy().view(EVENT_DTYPE)
        self.n_log = 0
        return out

    def kernel_mappings(self, tables: PageTables, root: int) -> None:
        """Map the heap at KERNEL_BASE + pa into `root`: global, kernel-only, never executable."""
        for pa in range(self.base_pa, self.base_pa + self.size, PAGE_SIZE):
            tables.map(root, KERNEL_BASE + pa, pa, user=False, executable=False, global_=True)


def kernel_mappings(mem: KernelMemory, tables: PageTables, root: int) -> None:
    mem.kernel_mappings(tables, root)

"""ARMv8-A stage-1 translation tables, 4 KiB granule, 48-bit VA: four levels of 512 descriptors.

The tables are real descriptors written into a simulated RAM buffer (a numpy uint8 array), so
the memory-hierarchy model walks them with timed loads and a later kernel can share them with the
functional CPU. Block descriptors (1 GiB / 2 MiB) are not modelled yet: a walk that meets one
treats it as a translation fault.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
LEVELS = 4
VA_BITS = 48
VA_LIMIT = 1 << VA_BITS  # the end of a 48-bit virtual address space (TTBR0's half)
ADDR_MASK = ((1 << VA_BITS) - 1) & ~(PAGE_SIZE - 1)  # output address bits [47:12]

# Descriptor bits (Arm ARM D8.3, VMSAv8-64 translation table format descriptors)
VALID = 1 << 0
TABLE_OR_PAGE = 1 << 1  # with VALID: a table descriptor at levels 0-2, a page at level 3
AP_EL0 = 1 << 6  # AP[1]: EL0 may access
AP_RO = 1 << 7  # AP[2]: read-only
SH_INNER = 3 << 8
AF = 1 << 10  # access flag
NG = 1 << 11  # not global: the translation is tagged with the current ASID
PXN = 1 << 53
UXN = 1 << 54


def level_shift(level: int) -> int:
    """The lowest VA bit a level-`level` descriptor translates: 39, 30, 21, 12."""
    return PAGE_SHIFT + 9 * (LEVELS - 1 - level)


def level_index(va: int, level: int) -> int:
    return (va >> level_shift(level)) & 511


_TABLE_SHIFTS = tuple(level_shift(level) for level in range(LEVELS - 1))  # 39, 30, 21


def descriptor_fields(desc: int, level: int) -> tuple[bool, int, bool]:
    """(valid table-or-page descriptor, next table or page address, global)."""
    valid = desc & (VALID | TABLE_OR_PAGE) == VALID | TABLE_OR_PAGE
    return valid, desc & ADDR_MASK, not desc & NG


def page_descriptor(pa: int, *, writable=True, user=True, executable=True, global_=False) -> int:
    desc = (pa & ADDR_MASK) | VALID | TABLE_OR_PAGE | AF | SH_INNER
    desc |= AP_EL0 if user else 0
    desc |= 0 if writable else AP_RO
    desc |= 0 if executable else UXN | PXN
    desc |= 0 if global_ else NG
    return desc


class PageTables:
    """Builds and edits translation tables in `ram`; table frames come from `alloc_frame()`,
    which returns the physical address of a free, page-aligned frame."""

    def __init__(self, ram: np.ndarray, alloc_frame: Callable[[], int]):
        if ram.dtype != np.uint8 or ram.ndim != 1 or len(ram) % PAGE_SIZE:
            raise ValueError("ram must be a 1-D uint8 array whose size is a multiple of 4 KiB")
        self.ram = ram
        self.words = ram.view(np.uint64)
        self.alloc_frame = alloc_frame

    def _new_table(self) -> int:
        pa = self.alloc_frame()
        if pa % PAGE_SIZE or pa < 0 or pa + PAGE_SIZE > len(self.ram):
            raise ValueError(f"frame allocator returned a bad frame address {pa:#x}")
        self.words[pa >> 3 : (pa + PAGE_SIZE) >> 3] = 0
        return pa

    def new_root(self) -> int:
        return self._new_table()

    def _leaf_slot(self, root: int, va: int, create: bool) -> int | None:
        """Word index of the level-3 descriptor for `va`, creating tables on the way if asked."""
        if not 0 <= va < 1 << VA_BITS:
            raise ValueError(f"virtual address {va:#x} is outside the 48-bit range")
        table, words = root, self.words
        for shift in _TABLE_SHIFTS:
            slot = (table >> 3) + ((va >> shift) & 511)
            desc = int(words[slot])
            if desc & (VALID | TABLE_OR_PAGE) != VALID | TABLE_OR_PAGE:
                if not create:
                    return None
                nxt = self._new_table()
                words[slot] = (nxt & ADDR_MASK) | VALID | TABLE_OR_PAGE
                desc = int(words[slot])
            table = desc & ADDR_MASK
        return (table >> 3) + ((va >> PAGE_SHIFT) & 511)

    def map(self, root: int, va: int, pa: int, **attrs) -> None:
        """Map the 4 KiB page at `va` to the frame at `pa` (attrs as page_descriptor)."""
        if va % PAGE_SIZE or pa % PAGE_SIZE:
            raise ValueError(f"map needs page-aligned addresses, got va={va:#x} pa={pa:#x}")
        if not 0 <= pa < len(self.ram):
            raise ValueError(f"physical address {pa:#x} is outside RAM ({len(self.ram)} bytes)")
        self.words[self._leaf_slot(root, va, True)] = page_descriptor(pa, **attrs)

    def map_linear(self, root: int, va: int, pa: int, size: int, **attrs) -> None:
        """Map [va, va + size) to [pa, pa + size) with 4 KiB pages (attrs as page_descriptor),
        a 2 MiB table at a time: a kernel's linear map of RAM, built in one pass."""
        span = 1 << level_shift(LEVELS - 2)  # what one last-level table covers: 2 MiB
        if va % span or pa % span or size % span or size < 0:
            raise ValueError("map_linear needs 2 MiB-aligned addresses and size")
        if pa + size > len(self.ram):
            raise ValueError(f"physical range {pa:#x}+{size:#x} is outside RAM")
        offsets = np.arange(512, dtype=np.uint64) << np.uint64(PAGE_SHIFT)
        for off in range(0, size, span):
            first = self._leaf_slot(root, va + off, True)
            self.words[first : first + 512] = page_descriptor(pa + off, **attrs) + offsets

    def unmap(self, root: int, va: int) -> None:
        slot = self._leaf_slot(root, va, False)
        if slot is not None:
            self.words[slot] = 0

    def translate(self, root: int, va: int, access: str | None = None) -> int | None:
        """The physical address `va` maps to, or None. With `access` ("read", "write",
        "fetch"), also None unless EL0 may do that: AP[1] set, AP[2] clear for a write, UXN
        clear for a fetch (the check the functional CPU's native fill hook makes)."""
        slot = self._leaf_slot(root, va, False)
        if slot is None:
            return None
        desc = int(self.words[slot])
        valid, page, _ = descriptor_fields(desc, LEVELS - 1)
        if not valid:
            return None
        if access is not None and not (
            desc & AP_EL0
            and (access != "write" or not desc & AP_RO)
            and (access != "fetch" or not desc & UXN)
        ):
            return None
        return page | (va & (PAGE_SIZE - 1))


class FlatMemory:
    """A RAM buffer with page tables at its top and data frames from its bottom, and per-ASID
    roots: enough translation for trace-driven runs of the hierarchy model (benchmarks, valgrind
    traces) with no kernel."""

    def __init__(self, ram_bytes: int, table_frames: int = 1024):
        if ram_bytes % PAGE_SIZE or table_frames * PAGE_SIZE >= ram_bytes:
            raise ValueError("ram_bytes must be a multiple of 4 KiB and larger than the table area")
        self.ram = np.zeros(ram_bytes, dtype=np.uint8)
        self._data_end = ram_bytes - table_frames * PAGE_SIZE
        self._next_table = self._data_end
        self._next_data = 0
        self.tables = PageTables(self.ram, self._alloc_table)
        self.roots = np.full(1 << 16, -1, dtype=np.int64)

    def _alloc_table(self) -> int:
        if self._next_table >= len(self.ram):
            raise MemoryError("FlatMemory: out of page-table frames")
        self._next_table += PAGE_SIZE
        return self._next_table - PAGE_SIZE

    def _alloc_data(self) -> int:
        if self._next_data >= self._data_end:
            raise MemoryError("FlatMemory: out of data frames")
        self._next_data += PAGE_SIZE
        return self._next_data - PAGE_SIZE

    def root(self, asid: int) -> int:
        if self.roots[asid] < 0:
            self.roots[asid] = self.tables.new_root()
        return int(self.roots[asid])

    def map_pages(self, asid: int, vpns, **attrs) -> None:
        """Map each virtual page number in `vpns` (once) to a fresh frame, in ascending order."""
        root = self.root(asid)
        for vpn in sorted({int(v) for v in vpns}):
            if self.tables.translate(root, vpn << PAGE_SHIFT) is None:
                self.tables.map(root, vpn << PAGE_SHIFT, self._alloc_data(), **attrs)

    def map_events(self, events, **attrs) -> None:
        """Map every page the events touch, per ASID (a trace's working set, in page order)."""
        first = events["addr"] >> PAGE_SHIFT
        last = (events["addr"] + events["size"] - 1) >> PAGE_SHIFT
        for asid in np.unique(events["asid"]):
            sel = events["asid"] == asid
            self.map_pages(int(asid), np.union1d(first[sel], last[sel]), **attrs)

"""Address spaces (VSpaces, docs/kernel-design.md): the readable Python reference.

A VSpace is a record of the `vspace` pool in kernel memory (64 bytes modeled): the root table's
physical address, its ASID context (generation, asid; hmk.kernel.asid, Linux arm64 style: a
VSpace gets an ASID lazily, on `activate`), the head and count of its kernel-paging frame pool,
a token slot (for address tokens, later) and the number of its anonymous regions. Two more pools
hold per-VSpace arrays at fixed places (VSpace `i` owns entries [i*D, (i+1)*D)):

* `vsframe`: the frame pool (FIFO ring of `pool_depth` frame PAs) the memory manager refills and
  the kernel pops on an anonymous fault (hmk.kernel.paging);
* `vsregion`: up to `max_regions` anonymous/file regions (start, end, flags) registered by the
  memory manager (policy) and checked by the kernel on a fault.

Page tables are real ARMv8 descriptors in RAM frames (hmk.hw.pagetable); the kernel reaches them
at KERNEL_BASE + pa, and every descriptor read/write the kernel does is logged as a timed access
(`log_phys`), as are the VSpace field loads/stores (KernelMemory.load/store). Zeroing a new table
frame is logged as 64 line-sized writes (DC ZVA, 64-byte granule) and not modeled as 512 stores.

Calls return `(code, tlbi)`: code 0 or a negative code (hmk.kernel.errors), and the TLB
maintenance the caller must perform, a list of (va, asid) (va = ALL_VA: the whole ASID). No CPU
object is touched here. Decisions:

* `map` over a present page is EEXIST (seL4 style: unmap first), so map never needs a TLBI
  (ARMv8 does not cache invalid descriptors).
* TLB maintenance is needed only when the VSpace's context is of the allocator's current
  generation: an older generation's entries were flushed at the roll-over.
* `unmap` does not free intermediate tables (as Linux, lazily); `destroy` frees them all.
* Table frames for `map` come from `frames` (an object with alloc() -> pa and free(pa), such as
  hmk.kernel.memory.Frames; alloc may raise or return a negative number when exhausted: ENOMEM
  with nothing changed). Table frames made by the kernel pager come from the VSpace's frame
  pool. `destroy` frees every table frame and every unused pool frame to `frames` and hands the
  mapped data frames back to the caller (the memory manager decides; they may be shared).
* User addresses are [0, KERNEL_BASE); a user mapping of the kernel heap is EINVAL.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import (
    ADDR_MASK,
    AP_EL0,
    AP_RO,
    LEVELS,
    PAGE_SIZE,
    PXN,
    TABLE_OR_PAGE,
    UXN,
    VALID,
    PageTables,
    level_index,
    page_descriptor,
)
from hmk.kernel.asid import AsidAllocator, Context
from hmk.kernel.errors import EEXIST, EINVAL, ENOENT, ENOMEM, OK
from hmk.kernel.memory import OutOfMemory
from hmk.kernel.objects import KERNEL_BASE, KernelMemory, Pool

ALL_VA = -1  # in a (va, asid) TLB request: every entry of that ASID (TLBI ASIDE1IS)
LINE = 64  # DC ZVA block size on the Cortex-A7x cores hmk models (DCZID_EL0.BS = 4)
TABLE_DESC = VALID | TABLE_OR_PAGE

# region flags
R_WRITE, R_EXEC, R_ANON = 1, 2, 4

VSPACE_FIELDS = {  # 32 of 64 bytes
    "root": (np.uint64, 1),
    "generation": (np.uint64, 1),
    "pool_head": (np.uint32, 1),
    "pool_count": (np.uint32, 1),
    "token": (np.int32, 1),
    "asid": (np.uint16, 1),
    "nregions": (np.uint16, 1),
}
REGION_FIELDS = {"start": (np.uint64, 1), "end": (np.uint64, 1), "flags": (np.uint8, 1)}


def log_phys(mem: KernelMemory, pa: int, kind: int, size: int) -> None:
    """Log a kernel access to physical address `pa` (seen at KERNEL_BASE + pa): objects.py only
    logs pool fields, and page tables and data frames live in RAM frames outside the pools."""
    mem.record(pa, kind, size)


def log_frame(mem: KernelMemory, pa: int, n: int, kind: int) -> None:
    """The lines of [pa, pa + n) in one frame, each a 64-byte access of `kind` (a copy's)."""
    mem.record_lines(pa, n, kind)


def log_user(mem: KernelMemory, space, va: int, n: int, kind: int) -> None:
    """The lines of user memory [va, va + n) of address space `space` (its pages present: a
    copy that just read or wrote them), each a 64-byte access of `kind` at its frame."""
    while n > 0:
        chunk = min(n, PAGE_SIZE - (va & (PAGE_SIZE - 1)))
        pa = space.tables.translate(space.root, va)
        if pa is not None:
            log_frame(mem, pa, chunk, kind)
        va, n = va + chunk, n - chunk


def zero_frame(mem: KernelMemory, words: np.ndarray, pa: int) -> None:
    """Zero the frame at `pa`: 64 timed line writes (DC ZVA)."""
    words[pa >> 3 : (pa + PAGE_SIZE) >> 3] = 0
    mem.record_lines(pa, PAGE_SIZE, WRITE)


def read_desc(mem: KernelMemory, words: np.ndarray, table: int, index: int) -> int:
    log_phys(mem, table + 8 * index, READ, 8)
    return int(words[(table >> 3) + index])


def write_desc(mem: KernelMemory, words: np.ndarray, table: int, index: int, desc: int) -> None:
    log_phys(mem, table + 8 * index, WRITE, 8)
    words[(table >> 3) + index] = desc


class VSpaces:
    """The VSpace pool, its frame-pool ring and region table, registered in `mem`."""

    def __init__(
        self,
        mem: KernelMemory,
        ram: np.ndarray,
        frames,
        capacity: int,
        asid_bits: int = 16,
        *,
        cores: int = 1,
        pool_depth: int = 64,
        max_regions: int = 8,
    ):
        self.mem, self.ram, self.frames = mem, ram, frames
        self.words = ram.view(np.uint64)
        self.depth, self.max_regions = pool_depth, max_regions
        self.vspace = mem.register(Pool("vspace", capacity, 64, VSPACE_FIELDS))
        self.ring = mem.register(Pool("vsframe", capacity * pool_depth, 8, {"pa": (np.uint64, 1)}))
        self.region = mem.register(Pool("vsregion", capacity * max_regions, 32, REGION_FIELDS))
        self.asids = AsidAllocator(asid_bits, cores)

    # ---- checks --------------------------------------------------------------------------

    def valid(self, i) -> bool:
        return (
            isinstance(i, int | np.integer)
            and 0 <= i < self.vspace.capacity
            and bool(self.vspace.used[i])
        )

    def user_page(self, va) -> bool:
        return isinstance(va, int | np.integer) and 0 <= va < KERNEL_BASE and va % PAGE_SIZE == 0

    def data_frame(self, pa) -> bool:
        """A page-aligned frame of RAM outside the kernel heap."""
        mem = self.mem
        return (
            isinstance(pa, int | np.integer)
            and 0 <= pa <= len(self.ram) - PAGE_SIZE
            and pa % PAGE_SIZE == 0
            and not mem.base_pa - PAGE_SIZE < pa < mem.base_pa + mem.size
        )

    # ---- life cycle ----------------------------------------------------------------------

    def create(self) -> int:
        """A new, empty VSpace (a zeroed root table, no ASID yet): its index, or ENOMEM."""
        i = self.vspace.alloc()
        if i < 0:
            return ENOMEM
        root = self._alloc_frame()
        if root < 0:
            self.vspace.free(i)
            return ENOMEM
        zero_frame(self.mem, self.words, root)
        for f, v in (("root", root), ("generation", 0), ("asid", 0), ("pool_head", 0)):
            self.mem.store(self.vspace, i, f, v)
        self.mem.store(self.vspace, i, "pool_count", 0)
        self.mem.store(self.vspace, i, "nregions", 0)
        self.mem.store(self.vspace, i, "token", -1)
        self._own_records(i, True)
        return i

    def _own_records(self, i: int, used: bool) -> None:
        """VSpace `i`'s slices of the ring and region pools are allocated with it (so an
        address token can name them; hmk.kernel.tokens grants only allocated records)."""
        self.ring.used[i * self.depth : (i + 1) * self.depth] = used
        self.region.used[i * self.max_regions : (i + 1) * self.max_regions] = used

    def destroy(self, i: int):
        """Free VSpace `i`: its table frames and unused pool frames go back to `frames`, its ASID
        back to the allocator. Returns (OK, tlbi, data frames that were mapped, for the caller)
        or (EINVAL, [], [])."""
        if not self.valid(i):
            return EINVAL, [], []
        mem = self.mem
        root = mem.load(self.vspace, i, "root")
        tables, leaves = [], []
        self._collect(root, 0, tables, leaves)
        tlbi = self._tlbi(i, ALL_VA)
        ctx = Context(mem.load(self.vspace, i, "generation"), mem.load(self.vspace, i, "asid"))
        if tlbi:  # of the current generation: give the ASID back (asid.py has no free call)
            self.asids.used[ctx.asid] = 0
        for core, running in enumerate(self.asids.active):
            if ctx.asid and running == ctx:  # destroyed while current: forget it
                self.asids.active[core] = Context()
        head = mem.load(self.vspace, i, "pool_head")
        count = mem.load(self.vspace, i, "pool_count")
        for k in range(count):
            self.frames.free(mem.load(self.ring, i * self.depth + (head + k) % self.depth, "pa"))
        for pa in tables:
            self.frames.free(pa)
        for f in ("root", "generation", "asid", "pool_head", "pool_count", "nregions"):
            mem.store(self.vspace, i, f, 0)
        self._own_records(i, False)
        self.vspace.free(i)
        return OK, tlbi, leaves

    def _collect(self, table: int, level: int, tables: list, leaves: list) -> None:
        """Every table frame under (and including) `table`, and every mapped page's frame; each
        table scanned as 64 timed line reads."""
        tables.append(table)
        self.mem.record_lines(table, PAGE_SIZE, READ)
        descs = self.words[table >> 3 : (table + PAGE_SIZE) >> 3]
        for idx in np.flatnonzero(descs & TABLE_DESC == TABLE_DESC):
            nxt = int(descs[idx]) & ADDR_MASK
            if level == LEVELS - 1:
                leaves.append(nxt)
            else:
                self._collect(nxt, level + 1, tables, leaves)

    def resident(self, i: int, exclude: int = -1) -> int:
        """How many pages VSpace `i` maps (its resident set; frame `exclude`, the shared
        zero page, not counted). Untimed: an accounting view, not a kernel path."""
        if not self.valid(i):
            return 0
        count, tables = 0, [(int(self.vspace["root"][i]), 0)]
        while tables:
            table, level = tables.pop()
            descs = self.words[table >> 3 : (table + PAGE_SIZE) >> 3]
            for idx in np.flatnonzero(descs & TABLE_DESC == TABLE_DESC):
                nxt = int(descs[idx]) & ADDR_MASK
                if level < LEVELS - 1:
                    tables.append((nxt, level + 1))
                elif nxt != exclude:
                    count += 1
        return count

    def activate(self, i: int, core: int = 0):
        """Run VSpace `i` on `core`: (asid, flush every TLB first?) or (EINVAL, False)."""
        if not self.valid(i):
            return EINVAL, False
        mem = self.mem
        ctx = Context(mem.load(self.vspace, i, "generation"), mem.load(self.vspace, i, "asid"))
        new, flush = self.asids.activate(ctx, core)
        if new != ctx:
            mem.store(self.vspace, i, "generation", new.generation)
            mem.store(self.vspace, i, "asid", new.asid)
        return new.asid, flush

    # ---- mappings ------------------------------------------------------------------------

    def map(self, i: int, va: int, pa: int, writable: bool = True, executable: bool = False):
        """Map the user page at `va` to the frame at `pa`: (OK | EINVAL | EEXIST | ENOMEM, [])."""
        if not (self.valid(i) and self.user_page(va) and self.data_frame(pa)):
            return EINVAL, []
        if executable:
            self.frames.code.add(pa)  # its reuse must drop the CPU's translated code
        mem, words = self.mem, self.words
        table = mem.load(self.vspace, i, "root")
        level = 0
        while level < LEVELS - 1:  # walk as far as the tables exist
            desc = read_desc(mem, words, table, level_index(va, level))
            if desc & TABLE_DESC != TABLE_DESC:
                break
            table, level = desc & ADDR_MASK, level + 1
        leaf = level == LEVELS - 1 and read_desc(mem, words, table, level_index(va, level))
        if leaf and leaf & TABLE_DESC == TABLE_DESC:
            return EEXIST, []
        new = []
        for _ in range(LEVELS - 1 - level):  # all frames first: ENOMEM changes nothing
            pa_t = self._alloc_frame()
            if pa_t < 0:
                for f in new:
                    self.frames.free(f)
                return ENOMEM, []
            new.append(pa_t)
        for pa_t in new:
            zero_frame(mem, words, pa_t)
            write_desc(mem, words, table, level_index(va, level), pa_t | TABLE_DESC)
            table, level = pa_t, level + 1
        desc = page_descriptor(pa, writable=bool(writable), executable=bool(executable))
        write_desc(mem, words, table, level_index(va, LEVELS - 1), desc)
        return OK, []

    def unmap(self, i: int, va: int):
        """Remove the mapping of the user page at `va`: (OK, tlbi) | (EINVAL | ENOENT, [])."""
        slot = self._leaf(i, va)
        if isinstance(slot, int):
            return slot, []
        table, index = slot
        write_desc(self.mem, self.words, table, index, 0)
        return OK, self._tlbi(i, va)

    def protect(self, i: int, va: int, writable: bool, executable: bool, user: bool = True):
        """New permissions for the mapped page at `va` (`user` False: no EL0 access at all,
        PROT_NONE, the frame kept): (OK, tlbi) | (EINVAL | ENOENT, [])."""
        slot = self._leaf(i, va)
        if isinstance(slot, int):
            return slot, []
        table, index = slot
        desc = int(self.words[(table >> 3) + index])  # _leaf has logged its read
        desc &= ~(AP_EL0 | AP_RO | UXN | PXN)
        desc |= (0 if writable else AP_RO) | (0 if executable else UXN | PXN)
        desc |= AP_EL0 if user else 0
        write_desc(self.mem, self.words, table, index, desc)
        return OK, self._tlbi(i, va)

    def translate(self, i: int, va: int) -> int | None:
        """The PA `va` maps to in VSpace `i` (untimed: a test and debugging aid)."""
        if not self.valid(i):
            return None
        return PageTables(self.ram, lambda: -1).translate(int(self.vspace["root"][i]), va)

    # ---- helpers -------------------------------------------------------------------------

    def _leaf(self, i, va):
        """(table, index) of the valid leaf descriptor of `va` (timed walk), or an error."""
        if not (self.valid(i) and self.user_page(va)):
            return EINVAL
        mem, words = self.mem, self.words
        table = mem.load(self.vspace, i, "root")
        for level in range(LEVELS):
            desc = read_desc(mem, words, table, level_index(va, level))
            if desc & TABLE_DESC != TABLE_DESC:
                return ENOENT
            if level < LEVELS - 1:
                table = desc & ADDR_MASK
        return table, level_index(va, LEVELS - 1)

    def _tlbi(self, i: int, va: int) -> list:
        gen = self.mem.load(self.vspace, i, "generation")
        if gen == 0 or gen != self.asids.generation:
            return []
        return [(va, self.mem.load(self.vspace, i, "asid"))]

    def _alloc_frame(self) -> int:
        try:
            pa = self.frames.alloc()
        except (OutOfMemory, MemoryError):
            return -1
        return -1 if pa is None or pa < 0 else int(pa)

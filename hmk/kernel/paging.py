"""Policy-free kernel paging (HM paper, OSDI 2024; docs/sources.md): the Python reference.

Policy stays in the memory manager: it registers a VSpace's regions (`add_region`: start, end,
writable, executable, anonymous or not) and refills the VSpace's pool of free frames (`refill`:
a FIFO ring of frame PAs in kernel memory, hmk.kernel.vspace). Mechanism is in the kernel:
`handle_fault(vspace, va, access)` resolves an anonymous fault itself, with no IPC:

1. region check: the VSpace's regions are scanned in registration order (timed loads of start,
   end, flags); none covers `va`, or it does not allow the access (write needs writable, fetch
   needs executable) -> SEGV;
2. not anonymous (file-backed) -> NEED_MEMMGR;
3. timed page-table walk; a present page that allows the access is a spurious fault (another
   core got there first, or a stale TLB entry) -> RESOLVED with nothing changed; a present page
   that does not allow it (a write to a read-only page of a writable region: copy-on-write) ->
   NEED_MEMMGR;
4. the frames needed (missing tables + the page) are popped from the pool; too few -> NEED_MEMMGR
   with nothing changed; each frame is zeroed (64 timed line writes, DC ZVA: zeroing is then
   timed by the hierarchy like any store, and its instruction cost is the budget
   "pf.zero_page" per frame), linked in, and the leaf written with the region's permissions ->
   RESOLVED. A new mapping replaces an invalid descriptor, so no TLB maintenance is needed.

The shared zero page (`zero_page`, a frame the kernel zeroed once at boot): a read of an
anonymous page that is not there maps it read-only (missing tables are still allocated) ->
ZERO_MAPPED, no frame taken for the page; a later write finds it present and read-only and
replaces it with a fresh zeroed frame -> ZERO_REPLACED (the caller invalidates the old
translation). Linux does the same (do_anonymous_page maps the zero page on a read); for HM
it is inferred from the HM paper's Figure 8, where a read fault costs a third of a write.

`user_level_paging=True` selects the seL4/Fiasco design: every fault is NEED_PAGER (an IPC to a
user-level pager); the kernel touches nothing.

NEED_MEMMGR / NEED_PAGER mean the caller must IPC to the memory manager / pager. `handle_fault`
returns (outcome, the accesses it logged) and leaves them in the KernelMemory log too;
`fault_budget(outcome, zeroed_frames(log))` is the path's instruction budget (costs.path_cycles
adds stalls).
The compiled twin is hmk/_fast/pagefault.pyx (`impl="cython"`).
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import FETCH, KINDS, READ, WRITE, kind_code
from hmk.hw.pagetable import (
    ADDR_MASK,
    AP_EL0,
    AP_RO,
    LEVELS,
    PAGE_SIZE,
    UXN,
    level_index,
    page_descriptor,
)
from hmk.kernel.costs import BUDGETS
from hmk.kernel.errors import EEXIST, EINVAL, ENOMEM, OK
from hmk.kernel.objects import KERNEL_BASE
from hmk.kernel.vspace import (
    R_ANON,
    R_EXEC,
    R_WRITE,
    TABLE_DESC,
    VSpaces,
    read_desc,
    write_desc,
    zero_frame,
)

RESOLVED, NEED_MEMMGR, NEED_PAGER, SEGV, ZERO_MAPPED, ZERO_REPLACED = range(6)
_KINDS = dict(KINDS)
OUTCOMES = {
    RESOLVED: "resolved",
    NEED_MEMMGR: "need_memmgr",
    NEED_PAGER: "need_pager",
    SEGV: "segv",
    ZERO_MAPPED: "zero_mapped",
    ZERO_REPLACED: "zero_replaced",
}
DONE = frozenset((RESOLVED, ZERO_MAPPED, ZERO_REPLACED))  # the kernel resolved the fault

# Instruction budgets (core cycles, every access an L1D hit; docs/kernel-design.md principle 4).
# Exception entry/return are charged by the caller. Overall scale: HM's minor anonymous fault is
# 244 ns (read) / 772 ns (write) on a Raspberry Pi 4B (Cortex-A72, 1.5 GHz: ~366 / ~1160 cycles,
# entry, exit and misses included; the HM paper's Figure 8, as transcribed by a secondary source:
# docs/sources.md).


def zeroed_frames(log: np.ndarray) -> int:
    """The frames a fault path that logged `log` cleared (64 line writes each)."""
    return int(np.count_nonzero((log["kind"] == WRITE) & (log["size"] == 64))) // 64


def new_page(outcome: int, zeroed: int) -> bool:
    """Whether a fault that ended in `outcome`, having cleared `zeroed` frames, gave the
    process a new anonymous page (not the zero page)."""
    return outcome == ZERO_REPLACED or (outcome == RESOLVED and zeroed > 0)


def fault_budget(outcome: int, zeroed: int) -> int:
    """The instruction budget of a fault path that ended in `outcome` and cleared `zeroed`
    frames (zeroed_frames of its log)."""
    if outcome == NEED_PAGER:
        return BUDGETS["pf.upcall"]
    base = BUDGETS["pf.record"] if new_page(outcome, zeroed) else 0
    base += BUDGETS["pf.check"]
    if outcome == SEGV:
        return base + BUDGETS["pf.segv"]
    if outcome == NEED_MEMMGR:
        return base + BUDGETS["pf.upcall"]
    if outcome == ZERO_REPLACED:
        base += BUDGETS["pf.replace"]
    if zeroed or outcome != RESOLVED:
        return base + BUDGETS["pf.install"] + zeroed * BUDGETS["pf.zero_page"]
    return base  # spurious


def _kind(access) -> int:
    """An access ("read", "write", "fetch" or its code) as its code."""
    kind = _KINDS.get(access, -1) if type(access) is str else -1
    return kind if kind >= 0 else kind_code(access)


def _allows(desc: int, kind: int) -> bool:
    if not desc & AP_EL0:
        return False
    if kind == WRITE:
        return not desc & AP_RO
    if kind == FETCH:
        return not desc & UXN
    return True


class KernelPaging:
    """The kernel's paging mechanism over `vspaces` (hmk.kernel.vspace.VSpaces)."""

    def __init__(self, vspaces: VSpaces, user_level_paging: bool = False, zero_page: int = -1):
        """`zero_page`: the physical address of the shared zero frame (-1: none, every read
        fault allocates a frame)."""
        self.vs = vspaces
        self.mem = vspaces.mem
        self.user_level_paging = user_level_paging
        self.zero_page = zero_page
        self._fast = None

    # ---- the memory manager's calls (policy) ---------------------------------------------

    def add_region(self, i, start, end, writable=True, executable=False, anonymous=True) -> int:
        """Register [start, end) of VSpace `i`: OK, EINVAL (bad VSpace or range), EEXIST
        (overlaps a region), ENOMEM (the VSpace's region table is full)."""
        V, mem = self.vs, self.mem
        if not (V.valid(i) and V.user_page(start) and isinstance(end, int | np.integer)):
            return EINVAL
        if not (start < end <= KERNEL_BASE and end % PAGE_SIZE == 0):
            return EINVAL
        n = mem.load(V.vspace, i, "nregions")
        base = i * V.max_regions
        for r in range(n):
            s, e = mem.load(V.region, base + r, "start"), mem.load(V.region, base + r, "end")
            if s < end and start < e:
                return EEXIST
        if n == V.max_regions:
            return ENOMEM
        flags = (R_WRITE if writable else 0) | (R_EXEC if executable else 0)
        mem.store(V.region, base + n, "start", start)
        mem.store(V.region, base + n, "end", end)
        mem.store(V.region, base + n, "flags", flags | (R_ANON if anonymous else 0))
        mem.store(V.vspace, i, "nregions", n + 1)
        return OK

    def set_regions(self, i, regions, via=None) -> int:
        """Replace VSpace `i`'s region table by `regions` ((start, end, writable, executable,
        anonymous) tuples, disjoint): OK, EINVAL, ENOMEM (more than the table holds). The
        memory manager's bulk update: one store per field, no overlap scan (it checked).
        `via`: whose loads and stores (default the kernel's; a service's address-token view,
        hmk.services.memmgr.TokenView, when the memory manager writes the table itself)."""
        V, mem = self.vs, via or self.mem
        regions = sorted(regions)
        if not V.valid(i) or len(regions) > V.max_regions:
            return EINVAL if not V.valid(i) else ENOMEM
        for k, (start, end, *_rest) in enumerate(regions):
            if not (V.user_page(start) and start < end <= KERNEL_BASE and end % PAGE_SIZE == 0):
                return EINVAL
            if k and start < regions[k - 1][1]:
                return EINVAL
        base = i * V.max_regions
        for k, (start, end, writable, executable, anonymous) in enumerate(regions):
            flags = (R_WRITE if writable else 0) | (R_EXEC if executable else 0)
            mem.store(V.region, base + k, "start", start)
            mem.store(V.region, base + k, "end", end)
            mem.store(V.region, base + k, "flags", flags | (R_ANON if anonymous else 0))
        mem.store(V.vspace, i, "nregions", len(regions))
        return OK

    def refill(self, i, pas, via=None, impl: str = "python") -> int:
        """Push frames onto VSpace `i`'s pool (FIFO), all or none: OK, EINVAL (bad VSpace or
        frame), ENOMEM (the ring would overflow). The frames now belong to the kernel. `via`:
        as for set_regions; impl "cython": the compiled twin (hmk._fast.pagefault), the same
        state and log (into the kernel's own log only)."""
        if impl == "cython" and via is None:
            return self._twin().refill(i, pas)
        V, mem = self.vs, via or self.mem
        pas = list(pas)
        if not V.valid(i) or not V.data_frames(pas):
            return EINVAL
        head = mem.load(V.vspace, i, "pool_head")
        count = mem.load(V.vspace, i, "pool_count")
        if count + len(pas) > V.depth:
            return ENOMEM
        slots = [i * V.depth + (head + count + k) % V.depth for k in range(len(pas))]
        mem.store_many(V.ring, slots, "pa", pas)
        mem.store(V.vspace, i, "pool_count", count + len(pas))
        return OK

    def pool_count(self, i) -> int:
        return int(self.vs.vspace["pool_count"][i])

    # ---- the fault path (mechanism) ------------------------------------------------------

    def handle_fault(self, i, va, access, impl: str = "python"):
        """(outcome, the accesses logged) for a fault of VSpace `i` at `va` (`access`: "read",
        "write", "fetch" or its code). A bad VSpace index is a kernel bug: ValueError."""
        if impl == "cython":  # the twin checks `i` itself and copies its log in C
            return self._twin().handle_fault(i, va, _kind(access))
        if impl != "python":
            raise ValueError(f"unknown fault-handler implementation {impl!r}")
        if not self.vs.valid(i):
            raise ValueError(f"fault in a VSpace that does not exist: {i}")
        start = self.mem.n_log
        outcome = self._fault(i, va, _kind(access))
        return outcome, self.mem.log[start : self.mem.n_log].copy()

    def resolve(self, i, va, access, impl: str = "python"):
        """handle_fault, and what its accesses say: (outcome, the frames it cleared, the new
        anonymous page's frame when it gave one, else None). The accesses stay in the log."""
        if impl == "cython":
            return self._twin().resolve(i, va, _kind(access))
        outcome, log = self.handle_fault(i, va, access, impl)
        zeroed = zeroed_frames(log)
        pa = self.vs.translate(i, va & ~(PAGE_SIZE - 1)) if new_page(outcome, zeroed) else None
        return outcome, zeroed, pa

    def _twin(self):
        """The compiled fault path (hmk._fast.pagefault), made on first use."""
        if self._fast is None:
            from hmk._fast.pagefault import FaultContext  # noqa: PLC0415

            self._fast = FaultContext(self)
        return self._fast

    def _fault(self, i: int, va: int, kind: int) -> int:
        if self.user_level_paging:
            return NEED_PAGER
        if not isinstance(va, int | np.integer) or not 0 <= va < KERNEL_BASE:
            return SEGV
        V, mem, words = self.vs, self.mem, self.vs.words
        # 1. region check
        n = mem.load(V.vspace, i, "nregions")
        flags = -1
        for r in range(i * V.max_regions, i * V.max_regions + n):
            if va < mem.load(V.region, r, "start"):
                continue
            if va < mem.load(V.region, r, "end"):
                flags = mem.load(V.region, r, "flags")
                break
        if flags < 0:
            return SEGV
        need = R_WRITE if kind == WRITE else R_EXEC if kind == FETCH else 0
        if flags & need != need:
            return SEGV
        # 2. file-backed: the memory manager's
        if not flags & R_ANON:
            return NEED_MEMMGR
        # 3. the walk
        table = mem.load(V.vspace, i, "root")
        level = 0
        while level < LEVELS - 1:
            desc = read_desc(mem, words, table, level_index(va, level))
            if desc & TABLE_DESC != TABLE_DESC:
                break
            table, level = desc & ADDR_MASK, level + 1
        if level == LEVELS - 1:
            desc = read_desc(mem, words, table, level_index(va, level))
            if desc & TABLE_DESC == TABLE_DESC:
                if _allows(desc, kind):
                    return RESOLVED
                if kind == WRITE and desc & ADDR_MASK == self.zero_page and desc & AP_EL0:
                    return self._replace_zero(i, va, table, flags)
                return NEED_MEMMGR
        # 4. frames from the pool (the zero page instead of a frame for a read)
        zero = kind == READ and self.zero_page >= 0
        frames = LEVELS - level - zero
        count = mem.load(V.vspace, i, "pool_count")
        if count < frames:
            return NEED_MEMMGR
        head = mem.load(V.vspace, i, "pool_head")
        for k in range(frames):
            pa = mem.load(V.ring, i * V.depth + (head + k) % V.depth, "pa")
            zero_frame(mem, words, pa)
            if level < LEVELS - 1:
                desc = pa | TABLE_DESC
            else:
                desc = page_descriptor(
                    pa, writable=bool(flags & R_WRITE), executable=bool(flags & R_EXEC)
                )
            write_desc(mem, words, table, level_index(va, level), desc)
            table, level = pa, level + 1
        mem.store(V.vspace, i, "pool_head", (head + frames) % V.depth)
        mem.store(V.vspace, i, "pool_count", count - frames)
        if zero:
            desc = page_descriptor(self.zero_page, writable=False, executable=bool(flags & R_EXEC))
            write_desc(mem, words, table, level_index(va, level), desc)
            return ZERO_MAPPED
        return RESOLVED

    def _replace_zero(self, i: int, va: int, table: int, flags: int) -> int:
        """A write to the zero page: a fresh zeroed frame from the pool in its place."""
        V, mem, words = self.vs, self.mem, self.vs.words
        count = mem.load(V.vspace, i, "pool_count")
        if count < 1:
            return NEED_MEMMGR
        head = mem.load(V.vspace, i, "pool_head")
        pa = mem.load(V.ring, i * V.depth + head, "pa")
        zero_frame(mem, words, pa)
        desc = page_descriptor(pa, writable=True, executable=bool(flags & R_EXEC))
        write_desc(mem, words, table, level_index(va, LEVELS - 1), desc)
        mem.store(V.vspace, i, "pool_head", (head + 1) % V.depth)
        mem.store(V.vspace, i, "pool_count", count - 1)
        return ZERO_REPLACED

"""The memory manager: the policy half of HM's policy-free kernel paging.

The kernel (hmk.kernel.paging) resolves an anonymous fault itself from the faulting VSpace's
pool of free frames. The memory manager decides everything else, in its own domain (its own
VSpace, so calls into it switch address spaces):

- a process's VMAs (`ManagedSpace`, the Linux personality's view of its address space),
  published to the kernel as the VSpace's region table: adjacent VMAs with the same
  permissions and backing merge into one region; PROT_NONE VMAs are left out (a fault there is
  the kernel's SIGSEGV);
- which frames a VSpace gets: when its pool is empty the kernel calls in and the memory manager
  pushes `refill_batch` frames (then the kernel resolves the fault from the pool);
- file-backed pages (the program's ELF segments): the kernel calls in and the memory manager
  fills a frame from the file and maps it (a core-kernel map call);
- with user-level paging, every fault: the memory manager is the seL4/Fiasco-style pager.

Each call in is an IPC (fastpath when an activation is free): a fault passed on by the kernel,
or a VMA change (mmap, munmap, mprotect, brk) from the Linux personality; charged as such: the
call path, the switch into the memory manager's VSpace, its work (budgets in hmk.kernel.costs),
the reply path and the switch back.

How the memory manager updates the kernel's per-VSpace state (region table, frame-pool ring):
with address tokens (HM's default) the kernel pages holding them are mapped into the memory
manager's VSpace (hmk.kernel.tokens) and it writes them with plain loads and stores, timed as
its own user accesses (`TokenView`); with `capabilities_only` every update is a core-kernel
call: exception entry, the frame, a capability lookup, the kernel's logged accesses, return.
Until issue 5 makes services real, its work runs in Python with its memory traffic logged as
kernel-view accesses; the page-cache side of a file fill (the source bytes) is not modeled.
"""

from __future__ import annotations

import weakref

import numpy as np

from hmk.hw.events import EVENT_DTYPE, READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.core import MAPPED, REFILLED, REFUSED, CoreKernel, Process
from hmk.kernel.costs import BUDGETS, path_cycles
from hmk.kernel.memory import PROT_EXEC, PROT_READ, PROT_WRITE, AddressSpace, OutOfMemory, Vma
from hmk.kernel.vspace import LINE, OK, log_phys
from hmk.system import Domain, System

FAULT_MSG = 16  # bytes of the fault message: address and access kind (fits registers)
VMA_MSG = 32  # bytes of a VMA request: operation, start, end, protection
TOKEN_WINDOW = 0x7000_0000_0000  # where granted kernel pages appear in the memory manager
REFILL_BATCH = 16  # assumed: frames per refill (HM's batch size is not published)
ACCOUNT = "services.memmgr"  # what its cycles are charged to (statistics: services.memmgr.cycles)


# the memory manager alone in its own IC2 domain, everything else in the kernel
ALONE = System(
    "memmgr-alone",
    "the memory manager in its own IC2 domain, every other service in the kernel",
    kernel_paging=True,
    address_tokens=True,
    domains=(
        Domain("memmgr", "IC2", ("memmgr",)),
        Domain("kernel", "IC0", ("procmgr", "fsmgr", "devhost")),
    ),
)


class RegionTableFull(MemoryError):
    """More distinct regions than the kernel's per-VSpace region table holds (mmap: ENOMEM,
    as Linux when vm.max_map_count is reached)."""


class MemoryManager:
    """The memory manager, placed as `shim`'s composition says (default: its own IC2 domain,
    every other service in the kernel)."""

    def __init__(self, kernel: CoreKernel, refill_batch: int = REFILL_BATCH, shim=None):
        from hmk.kernel.shim import Shim  # noqa: PLC0415  (the shim imports the kernel core)

        self.kernel = kernel
        self.refill_batch = refill_batch
        self.shim = shim or Shim(kernel, ALONE)
        self.place = self.shim.domain_of("memmgr")
        self.domain = self.place.proc  # None in IC0
        ic2 = self.place.domain.ic == "IC2"
        # in kernel space (IC0, IC1) it writes kernel state directly; in IC2 through address
        # tokens, or by kernel calls with capabilities only
        self.direct = not ic2
        tokens = ic2 and not kernel.tokens.capabilities_only
        self.tokens = TokenView(kernel, self.domain) if tokens else None
        self.shared: dict[int, int] = {}  # frame -> how many mappings share it (2 or more)
        self.page_cache = None  # fsmgr's: (file node, page index) -> the cached frame
        self.evict = None  # fsmgr's: an unnamed shared object's cached frames, dropped
        self.spaces: weakref.WeakSet[ManagedSpace] = weakref.WeakSet()
        kernel.memmgr = self
        kernel.mem.take_log()

    def release(self, pa: int) -> None:
        """One mapping of the frame is gone: free it with its last mapping."""
        count = self.shared.get(pa, 1)
        if count > 2:
            self.shared[pa] = count - 1
        elif count == 2:
            del self.shared[pa]
        else:
            self.kernel.frames.free(pa)

    def attach(self, proc: Process) -> ManagedSpace:
        """Start managing `proc` (the shim installs the service endpoints in its CSpace); with
        tokens, the kernel pages of its VSpace record, region table and frame ring are granted
        to the memory manager."""
        k = self.kernel
        self.shim.attach(proc)
        if self.tokens is not None:
            v, i = k.vspaces, proc.vspace
            self.tokens.cover("vspace", i)
            self.tokens.cover("vsregion", i * v.max_regions, v.max_regions)
            self.tokens.cover("vsframe", i * v.depth, v.depth)
        k.mem.take_log()
        proc.space = ManagedSpace(self, proc)
        self.spaces.add(proc.space)
        return proc.space

    def unmapped(self, nodes: set) -> None:
        """Shared mappings of `nodes` went away: an unnamed shared object (MAP_SHARED |
        MAP_ANONYMOUS) that no address space maps any more is freed with its frames."""
        for node in nodes:
            if node.parent is not None or self.evict is None:
                continue  # a named file's pages stay cached
            if any(v.file and v.file[0] is node for s in self.spaces for v in s.vmas):
                continue
            for pa in self.evict(node):
                self.release(pa)

    # ---- calls in ------------------------------------------------------------------------
    def call(self, proc: Process, serve, msg: int = VMA_MSG):
        """`serve()` run as the memory manager's side of a call from the current domain (an
        IPC or a function call, as the composition places it); REFUSED when unreachable."""
        result = self.shim.call(proc, "memmgr", serve, msg)
        if result is None:
            self.kernel.counts["memmgr.unreachable"] += 1
            return REFUSED
        return result

    def serve_fault(self, proc: Process, page: int, access: str, pager: bool) -> int:
        """A fault the kernel passed on: MAPPED, REFILLED (retry in the kernel) or REFUSED."""
        self.kernel.counts["memmgr.faults"] += 1
        return self.call(proc, lambda: proc.space.serve(page, access, pager), FAULT_MSG)

    def update(self, proc: Process, what: str, budget: int, change) -> int:
        """Change `proc`'s kernel-side paging state with `change(via)` (a KernelPaging call):
        directly from kernel space, through the tokens, or as a core-kernel call with a
        capability lookup."""
        k = self.kernel
        k.counts[f"memmgr.updates.{what}"] += 1
        if self.direct:
            err = change(None)
            self.work(budget)
        elif self.tokens is None:
            err = change(None)
            self.kernel_call(budget + BUDGETS["cap.lookup"])
        else:
            err = change(self.tokens)
            self.tokens.charge(budget)
        return err

    def work(self, budget: int) -> None:
        """Charge the memory manager's own work logged since the last path."""
        self.shim.work("memmgr", budget)

    def kernel_call(self, budget: int) -> None:
        """Charge a core-kernel call the memory manager made: entry, path, return (from
        kernel space, IC0 and IC1, a plain call into the kernel's code)."""
        k = self.kernel
        trap = 0 if self.direct else k.entry + BUDGETS["exception.frame"] + k.exit
        k.charge(ACCOUNT, trap + k.path(budget))


class TokenView:
    """The memory manager's window on kernel objects through address tokens: `load`/`store`
    (KernelMemory's signature) act on the same object arrays, but each access is recorded as a
    user access of the memory manager at the token's virtual address, in its address space."""

    def __init__(self, kernel: CoreKernel, domain: Process):
        self.k, self.domain = kernel, domain
        self.spans: list[tuple[int, int, int]] = []  # (first kernel PA, end PA, service VA)
        self.next_va = TOKEN_WINDOW
        self.log: list[tuple[int, int, int]] = []  # (va, kind, size)

    def cover(self, pool_name: str, first: int, count: int = 1) -> None:
        """Grant tokens (read/write) until records first..first+count-1 are all reachable."""
        pool = self.k.mem.pools[pool_name]
        for i in (first, first + count - 1):
            pa = pool.base + i * pool.record
            if any(lo <= pa < hi for lo, hi, _ in self.spans) and any(
                lo <= pa + pool.record - 1 < hi for lo, hi, _ in self.spans
            ):
                continue
            t = self.k.tokens.grant(pool_name, i, self.domain.vspace, self.next_va, True)
            if t < 0:
                raise MemoryError(f"memmgr: no address token for {pool_name}[{i}]: {t}")
            for va, page in self.k.tokens.pages(t):
                self.spans.append((page, page + PAGE_SIZE, va))
                self.next_va = max(self.next_va, va + PAGE_SIZE)
        self.k.mem.take_log()  # granting is set-up, not per-operation work

    def _va(self, pa: int) -> int:
        for lo, hi, va in self.spans:
            if lo <= pa < hi:
                return va + pa - lo
        raise ValueError(f"memmgr: kernel address {pa:#x} is not granted to it (a bug)")

    def load(self, pool, i, field, k=0) -> int:
        arr = pool.arrays[field]
        self.log.append((self._va(pool.addr(i, field, k)), READ, pool.itemsize[field]))
        return int(arr[i, k] if arr.ndim == 2 else arr[i])

    def store(self, pool, i, field, value, k=0) -> None:
        arr = pool.arrays[field]
        self.log.append((self._va(pool.addr(i, field, k)), WRITE, pool.itemsize[field]))
        if arr.ndim == 2:
            arr[i, k] = value
        else:
            arr[i] = value

    def charge(self, budget: int) -> None:
        """The memory manager's own work: `budget` + the stalls of its token accesses."""
        k = self.k
        asid = int(k.vspaces.vspace["asid"][self.domain.vspace])
        events = np.zeros(len(self.log), EVENT_DTYPE)
        if self.log:
            events["addr"], events["kind"], events["size"] = np.array(self.log).T
        events["asid"] = asid
        self.log.clear()
        k.roots[asid] = self.domain.root
        lat = k._latencies(events) if k._latencies is not None and len(events) else None
        stall = path_cycles(budget, lat, events["kind"], k.l1_hit) if lat is not None else budget
        k.charge(ACCOUNT, stall)


class ManagedSpace(AddressSpace):
    """A process's address space as the memory manager keeps it: VMAs here, the page tables in
    the kernel's VSpace (hmk.kernel.vspace), faults through the kernel (hmk.kernel.core)."""

    def __init__(self, mm: MemoryManager, proc: Process):
        k = mm.kernel
        self.mm, self.proc, self.kernel = mm, proc, k
        self.ram, self.frames = k.ram, k.frames
        self.tables = PageTables(k.ram, _no_frames)  # untimed translation for user copies
        self.vmas: list[Vma] = []
        self.pages = 0
        self.cow: set[int] = set()  # pages shared since fork, to copy on the first write

    @property
    def root(self) -> int:
        return self.proc.root

    @property
    def asid(self) -> int:
        return int(self.kernel.vspaces.vspace["asid"][self.proc.vspace])

    # ---- VMAs: every change is published as the kernel's region table ---------------------
    def add(self, vma: Vma) -> None:
        super().add(vma)
        try:
            self.changed()
        except RegionTableFull:
            self.vmas.remove(vma)
            self.changed()
            raise

    def remove(self, start: int, end: int) -> list[int]:
        objects = {v.file[0] for v in self.vmas if v.shared and v.start < end and start < v.end}
        dropped = super().remove(start, end)
        self.changed()
        if objects:
            self.mm.unmapped(objects)
        return dropped

    def protect(self, start: int, end: int, prot: int) -> list[int]:
        changed = super().protect(start, end, prot)
        self.changed()
        return changed

    def changed(self) -> None:
        """Publish the VMAs to the kernel's region table (one kernel call)."""
        regions: list[list] = []
        for v in self.vmas:
            if not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
                continue
            flags = (bool(v.prot & PROT_WRITE), bool(v.prot & PROT_EXEC), v.anonymous)
            if regions and regions[-1][1] == v.start and tuple(regions[-1][2:]) == flags:
                regions[-1][1] = v.end
            else:
                regions.append([v.start, v.end, *flags])
        k, vs, regions = self.kernel, self.proc.vspace, [tuple(r) for r in regions]
        if len(regions) > k.vspaces.max_regions:
            raise RegionTableFull(f"{len(regions)} regions, the kernel's table holds fewer")
        budget = BUDGETS["mm.regions"] + BUDGETS["mm.per_region"] * len(regions)
        self.mm.call(
            self.proc,
            lambda: self.mm.update(
                self.proc, "regions", budget, lambda via: k.paging.set_regions(vs, regions, via)
            ),
        )

    # ---- page-table edits are the memory manager's core-kernel calls ---------------------
    def _unmap_pages(self, start: int, end: int) -> list[int]:
        k, vs, dropped = self.kernel, self.proc.vspace, []
        for page in self._mapped(start, end):
            pa = k.vspaces.translate(vs, page)
            err, _ = k.vspaces.unmap(vs, page)
            self.mm.kernel_call(BUDGETS["vs.unmap"])
            if err == OK:
                self.mm.release(pa)
                self.cow.discard(page)
                self.pages -= 1
                dropped.append(page)
        return dropped

    def move_pages(self, old: int, new: int, size: int) -> None:
        """mremap's move: every mapped page of [old, old + size) now appears at new + offset
        (the frames themselves move: unmapped there, mapped here, no copy)."""
        k, vs = self.kernel, self.proc.vspace
        moved = []
        for off in range(0, size, PAGE_SIZE):
            pa = k.vspaces.translate(vs, old + off)
            if pa is None:
                continue
            desc_writable = old + off not in self.cow and bool(self.find(new).prot & PROT_WRITE)
            k.vspaces.unmap(vs, old + off)
            k.vspaces.map(
                vs,
                new + off,
                pa,
                writable=desc_writable,
                executable=bool(self.find(new).prot & PROT_EXEC),
            )
            self.mm.kernel_call(BUDGETS["vs.unmap"] + BUDGETS["vs.map"])
            if old + off in self.cow:
                self.cow.discard(old + off)
                self.cow.add(new + off)
            moved.append(old + off)
        if moved:
            k._flush(moved, self.asid)

    # ---- copy-on-write (fork) ------------------------------------------------------------
    def share_into(self, child: ManagedSpace, cow: bool = True) -> int:
        """fork: map every page of this space into `child` as well, the frames shared; the
        writable private ones read-only in both, copied on the first write (copy-on-write).
        `cow` False (vfork): writable pages are shared writable (a page already copy-on-write
        stays so in the child). Returns the pages shared."""
        k, shared = self.kernel, 0
        for v in self.vmas:
            for page in range(v.start, v.end, PAGE_SIZE):
                pa = k.vspaces.translate(self.proc.vspace, page)
                if pa is None:
                    continue
                writable = bool(v.prot & PROT_WRITE)
                borrowed = writable and not cow and page not in self.cow and not v.shared
                if writable and not v.shared and not borrowed:  # copy-on-write: the parent
                    # loses write access until it copies or is alone
                    k.vspaces.protect(self.proc.vspace, page, False, bool(v.prot & PROT_EXEC))
                    self.mm.kernel_call(BUDGETS["vs.protect"])
                    self.cow.add(page)
                    child.cow.add(page)
                err, _ = k.vspaces.map(
                    child.proc.vspace,
                    page,
                    pa,
                    writable=borrowed or v.shared and writable,
                    executable=bool(v.prot & PROT_EXEC),
                )
                self.mm.kernel_call(BUDGETS["vs.map"])
                if err != OK:
                    continue
                if not v.prot:
                    k.vspaces.protect(child.proc.vspace, page, False, False, False)
                self.mm.shared[pa] = self.mm.shared.get(pa, 1) + 1
                child.pages += 1
                shared += 1
        return shared

    def _map_file_page(self, page: int, vma: Vma) -> int:
        """A page of a mapped file. fsmgr caches the file's pages in frames; a memory manager
        coalesced with it (or both in the kernel) maps the cached frame itself, shared (a
        private writable mapping copy-on-write); a separate one asks fsmgr for the page (an
        IPC) and keeps its own copy: the double bookkeeping of separate page caches."""
        k, mm = self.kernel, self.mm
        node, offset = vma.file
        index = (offset + page - vma.start) // PAGE_SIZE
        shim = mm.shim
        pa = shim.call(self.proc, "fsmgr", lambda: mm.page_cache(node, index))
        if pa is None:
            return REFUSED
        writable, executable = bool(vma.prot & PROT_WRITE), bool(vma.prot & PROT_EXEC)
        # a shared mapping always maps the cached frame, written through (two copies could not
        # stay coherent); from a separate memory manager that is fsmgr granting the frame
        together = shim.system.coalesced("memmgr", "fsmgr") or shim.domain_of("fsmgr").proc is None
        if vma.shared or together:
            err, _ = k.vspaces.map(
                self.proc.vspace, page, pa, writable=writable and vma.shared, executable=executable
            )
            self.mm.kernel_call(BUDGETS["vs.map"])
            if err != OK:
                return REFUSED
            mm.shared[pa] = mm.shared.get(pa, 1) + 1  # the cache keeps its own reference
            if writable and not vma.shared:
                self.cow.add(page)
            k.counts["memmgr.file_pages.shared"] += 1
        else:
            new = self.frames.alloc(zero=False, owner="memmgr.filepages")
            self.ram[new : new + PAGE_SIZE] = self.ram[pa : pa + PAGE_SIZE]
            for off in range(0, PAGE_SIZE, LINE):
                log_phys(k.mem, new + off, WRITE, LINE)
            self.mm.work(BUDGETS["mm.fault"] + BUDGETS["mm.fill"])
            err, _ = k.vspaces.map(self.proc.vspace, page, new, writable, executable)
            self.mm.kernel_call(BUDGETS["vs.map"])
            if err != OK:
                self.frames.free(new)
                return REFUSED
            k.counts["memmgr.file_pages.copied"] += 1
        self.pages += 1
        return MAPPED

    def _copy_on_write(self, page: int, pa: int, vma: Vma) -> int:
        """A write to a page shared since fork: copy it (or, as its last user, take it)."""
        k, vs = self.kernel, self.proc.vspace
        executable = bool(vma.prot & PROT_EXEC)
        if self.mm.shared.get(pa, 1) > 1:
            new = self.frames.alloc(zero=False, owner="memmgr")
            self.ram[new : new + PAGE_SIZE] = self.ram[pa : pa + PAGE_SIZE]
            for off in range(0, PAGE_SIZE, LINE):
                log_phys(k.mem, new + off, WRITE, LINE)
            self.mm.work(BUDGETS["mm.fault"] + BUDGETS["mm.fill"])
            k.vspaces.unmap(vs, page)
            k.vspaces.map(vs, page, new, writable=True, executable=executable)
            self.mm.kernel_call(BUDGETS["vs.unmap"] + BUDGETS["vs.map"])
            self.mm.release(pa)
            k.counts["memmgr.cow.copies"] += 1
        else:  # the other sharers are gone: write access back, nothing to copy
            k.vspaces.protect(vs, page, True, executable)
            self.mm.work(BUDGETS["mm.fault"])
            self.mm.kernel_call(BUDGETS["vs.protect"])
            k.counts["memmgr.cow.reuses"] += 1
        self.cow.discard(page)
        k._tlbi_timing([page], self.asid)  # the timing model's TLB still has the old frame
        return MAPPED

    def _phys(self, va: int, write: bool) -> int | None:
        """A user copy (the kernel writing a syscall's result): a copy-on-write page is
        copied first, as a user write would."""
        if write and 0 <= va < 1 << 48 and (va & ~(PAGE_SIZE - 1)) in self.cow:
            self.fault(va, "write")
        return super()._phys(va, write)

    def _reprotect_pages(self, start: int, end: int, prot: int) -> list[int]:
        k, vs, changed = self.kernel, self.proc.vspace, []
        private = not self.find(start).shared
        for page in self._mapped(start, end):
            # a private frame still shared (since fork, or with the page cache) stays
            # read-only: write access makes it copy-on-write instead
            writable = bool(prot & PROT_WRITE)
            if writable and private and k.vspaces.translate(vs, page) in self.mm.shared:
                writable = False
                self.cow.add(page)
            err, _ = k.vspaces.protect(vs, page, writable, bool(prot & PROT_EXEC), bool(prot))
            self.mm.kernel_call(BUDGETS["vs.protect"])
            if err == OK:
                changed.append(page)
        return changed

    def _mapped(self, start: int, end: int):
        """Mapped pages in [start, end) (untimed lookup of what to change)."""
        vs = self.proc.vspace
        for page in range(start, end, PAGE_SIZE):
            if self.kernel.vspaces.translate(vs, page) is not None:
                yield page

    # ---- faults --------------------------------------------------------------------------
    def fault(self, va: int, access: str) -> bool:
        """The kernel touching user memory (a syscall's copy) faulted: the same fault path."""
        return self.kernel.page_fault(None, va, access, self.proc)

    def serve(self, page: int, access: str, pager: bool) -> int:
        """The memory manager's decision for a fault passed on by the kernel."""
        vma = self.find(page)
        need = {"read": PROT_READ, "write": PROT_WRITE, "fetch": PROT_EXEC}[access]
        if vma is None or not vma.prot & need:
            self.mm.work(BUDGETS["mm.fault"])
            return REFUSED
        k = self.kernel
        pa = k.vspaces.translate(self.proc.vspace, page)
        if pa is not None:  # present but not allowed: a write to a copy-on-write page?
            if access != "write" or pa not in self.mm.shared and page not in self.cow:
                self.mm.work(BUDGETS["mm.fault"])
                return REFUSED
            return self._copy_on_write(page, pa, vma)
        if vma.file is not None and self.mm.page_cache is not None:
            return self._map_file_page(page, vma)
        if not pager and vma.anonymous:  # anonymous: the kernel's pool ran dry
            batch = []
            try:
                while len(batch) < self.mm.refill_batch:
                    batch.append(self.frames.alloc(zero=False, owner="memmgr"))
            except OutOfMemory:
                if not batch:
                    raise
            self.mm.work(BUDGETS["mm.fault"] + BUDGETS["mm.refill_per_frame"] * len(batch))
            vs = self.proc.vspace
            err = self.mm.update(
                self.proc,
                "refill",
                BUDGETS["mm.refill_call"],
                lambda via: k.paging.refill(vs, batch, via),
            )
            if err != OK:
                for pa in batch:
                    self.frames.free(pa)
                return REFUSED
            k.counts["memmgr.refills"] += 1
            return REFILLED
        # file-backed (or the pager's every fault): fill a frame and map it
        pa = self.frames.alloc(zero=False, owner="memmgr")
        data = vma.page_data(page)
        self.ram[pa : pa + PAGE_SIZE] = 0
        if data:
            self.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)
        for off in range(0, PAGE_SIZE, LINE):
            log_phys(k.mem, pa + off, WRITE, LINE)
        fill = BUDGETS["mm.fill"] if data else BUDGETS["pf.zero_page"]
        self.mm.work(BUDGETS["mm.fault"] + fill)
        err, _ = k.vspaces.map(
            self.proc.vspace,
            page,
            pa,
            writable=bool(vma.prot & PROT_WRITE),
            executable=bool(vma.prot & PROT_EXEC),
        )
        self.mm.kernel_call(BUDGETS["vs.map"])
        if err != OK:
            self.frames.free(pa)
            return REFUSED
        k.counts["memmgr.pages_filled" if data else "memmgr.pages_zeroed"] += 1
        self.pages += 1
        return MAPPED


def _no_frames() -> int:
    raise RuntimeError("ManagedSpace edits tables through the kernel, never directly")

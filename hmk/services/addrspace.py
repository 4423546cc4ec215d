"""A process's address space as the memory manager keeps it: its VMAs, its pages.

The VMAs (regions of the address space, each with its protection and backing: anonymous, the
program's file bytes, or a file in fsmgr's page cache, private or shared) live here and are
published to the core kernel as the VSpace's region table whenever they change (adjacent VMAs
with the same permissions and backing merge into one region; PROT_NONE VMAs are left out: a
fault there is the kernel's SIGSEGV). The page tables are the kernel's (hmk.kernel.vspace): every
edit is a core-kernel call of the memory manager's, and a fault is the kernel's to resolve
(policy-free kernel paging), passed on here when it cannot (`serve`). Pages shared since fork
are copied on the first write (copy-on-write).

`read`, `write` and `read_cstring` are the kernel touching user memory (copy_from_user,
copy_to_user): a page not yet there is faulted in as the access would be; None or False where
Linux answers EFAULT.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, VA_LIMIT, PageTables
from hmk.kernel.core import MAPPED, REFILLED, REFUSED
from hmk.kernel.costs import BUDGETS
from hmk.kernel.errors import OK
from hmk.kernel.vspace import LINE
from hmk.linux.abi import EFAULT, ENAMETOOLONG, PATH_MAX, PROT_EXEC, PROT_READ, PROT_WRITE
from hmk.linux.layout import MMAP_BASE
from hmk.services.copies import log_frame

NEED = {"read": PROT_READ, "write": PROT_WRITE, "fetch": PROT_EXEC}


def _start(vma) -> int:
    return vma.start


class RegionTableFull(MemoryError):
    """More VMAs than a process may have (Linux's vm.max_map_count: mmap answers ENOMEM)."""


MAX_MAP_COUNT = 65530  # Linux's default vm.max_map_count (include/linux/mm.h DEFAULT_MAX_MAP_COUNT)


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    name: str  # "[heap]", "[stack]", "[anon]", or the program path
    image: bytes = b""  # file bytes that back [start, start + len(image))
    file: tuple | None = None  # (file node, offset of start) when fsmgr's page cache backs it
    shared: bool = False  # MAP_SHARED: writes go to the file's (or shared object's) pages
    locked: bool = False  # VM_LOCKED (mlock): madvise may not drop, free or page out its pages

    @property
    def anonymous(self) -> bool:
        return not self.image and self.file is None

    def piece(self, lo: int, hi: int, prot: int | None = None) -> Vma:
        """The part [lo, hi) of this VMA (its image and file offset follow)."""
        off = lo - self.start
        image = self.image[off : off + hi - lo] if off < len(self.image) else b""
        file = (self.file[0], self.file[1] + off) if self.file else None
        prot = self.prot if prot is None else prot
        return Vma(lo, hi, prot, self.name, image, file, self.shared, self.locked)

    def copy(self) -> Vma:
        """This VMA in a child of fork: unlocked (dup_mmap clears VM_LOCKED)."""
        child = self.piece(self.start, self.end)
        child.locked = False
        return child

    def page_data(self, page: int) -> bytes:
        lo = page - self.start
        return self.image[max(lo, 0) : max(lo + PAGE_SIZE, 0)] if lo < len(self.image) else b""


def _mergeable(a: Vma, b: Vma) -> bool:
    """May `b`, right after `a`, become one VMA with it (is_mergeable_vma, anonymous or the
    same file at contiguous offsets)?"""
    if a.end != b.start or a.image or b.image:
        return False
    if (a.prot, a.name, a.shared, a.locked) != (b.prot, b.name, b.shared, b.locked):
        return False
    if a.file is None or b.file is None:
        return a.file is b.file
    return a.file[0] is b.file[0] and a.file[1] + (a.end - a.start) == b.file[1]


class AddressSpace:
    """The memory manager `mm`'s record of `proc`'s address space (a hmk.kernel.core.Process):
    VMAs, resident pages, copy-on-write pages, and the program break and mmap base."""

    def __init__(self, mm, proc):
        k = mm.kernel
        self.mm, self.proc, self.kernel = mm, proc, k
        self.ram, self.frames = k.ram, k.frames
        self.tables = PageTables(k.ram, _no_frames)  # untimed translation for user copies
        self.vmas: list[Vma] = []
        self.pages = 0
        self.cow: set[int] = set()  # pages shared since fork, to copy on the first write
        self.brk_start = self.brk = 0  # the heap: from the page after the program's segments
        self.mmap_top = MMAP_BASE  # mmap areas grow down from here
        self.lock_future = False  # mlockall(MCL_FUTURE): new mappings come locked
        self.overflow: tuple[int, int] | None = None  # the region table's catch-all, if any

    @property
    def root(self) -> int:
        return self.proc.root

    @property
    def asid(self) -> int:
        return int(self.kernel.vspaces.vspace["asid"][self.proc.vspace])

    # ---- VMAs: every change is published as the kernel's region table ---------------------
    def find(self, va: int) -> Vma | None:
        i = bisect.bisect_right(self.vmas, va, key=_start) - 1
        if i >= 0 and va < self.vmas[i].end:
            return self.vmas[i]
        return None

    def mapped_bytes(self, start: int = 0, end: int = VA_LIMIT) -> int:
        """Bytes of [start, end) its VMAs cover (all of them: its total_vm, in bytes)."""
        return sum(max(min(v.end, end) - max(v.start, start), 0) for v in self.vmas)

    def is_free(self, start: int, end: int) -> bool:
        return all(v.end <= start or end <= v.start for v in self.vmas)

    def add(self, vma: Vma) -> None:
        vma.locked = vma.locked or self.lock_future
        if any(v.start < vma.end and vma.start < v.end for v in self.vmas):
            raise ValueError(f"VMA {vma.start:#x}-{vma.end:#x} overlaps an existing one")
        bisect.insort(self.vmas, vma, key=_start)
        self.mm.work(vma_insert=1)
        try:
            self.changed()
        except RegionTableFull:
            self.vmas.remove(vma)
            self.changed()
            raise

    def remove(self, start: int, end: int, teardown: bool = False) -> list[int]:
        """Unmap [start, end): split VMAs, free frames; returns the pages that were mapped.
        Charged: the range's unmapping, each VMA split or removed, each page's mapping dropped
        and each frame freed with it. `teardown`: the whole image goes (exit, execve), charged
        as Linux's exit_mmap does it: per VMA, per VMA that had pages (its anon_vma chain
        unlinked, its page tables walked and freed) and per page, no splits."""
        hit = [v for v in self.vmas if v.start < end and start < v.end]
        objects = {v.file[0] for v in hit if v.file}
        dropped, freed, touched = [], 0, 0
        for v in hit:  # only pages inside VMAs can be mapped: visit just those
            pages, n = self._unmap_pages(max(v.start, start), min(v.end, end))
            dropped += pages
            freed += n
            touched += bool(pages)
        if teardown:
            self.mm.work(
                unmap_range=int(bool(hit)),
                exit_vma=len(hit),
                exit_anon_vma=touched,
                exit_page=len(dropped),
                free_page=freed,
            )
        else:
            splits = sum((v.start < start) + (end < v.end) for v in hit)
            self.mm.work(
                unmap_range=int(bool(hit)),
                vma_split=splits,
                vma_remove=len(hit),
                unmap_page=len(dropped),
                free_page=freed,
            )
        self.cut(start, end)
        self.changed()
        if objects:
            self.mm.unmapped(objects)
        return dropped

    def discard(self, start: int, end: int) -> list[int]:
        """MADV_DONTNEED: the pages of [start, end) unmapped and their frames let go, the VMAs
        kept, so the next touch finds zeros (anonymous) or the file's bytes (file-backed)
        again; returns the pages that were mapped."""
        dropped, freed = [], 0
        for v in self.vmas:
            if v.start < end and start < v.end:
                pages, n = self._unmap_pages(max(v.start, start), min(v.end, end))
                dropped += pages
                freed += n
        self.mm.work(unmap_range=int(bool(dropped)), unmap_page=len(dropped), free_page=freed)
        return dropped

    def cut(self, start: int, end: int) -> None:
        """Take [start, end) out of the VMAs (splitting them), leaving its pages alone."""
        keep = []
        for v in self.vmas:
            if v.end <= start or end <= v.start:
                keep.append(v)
                continue
            if v.start < start:
                keep.append(v.piece(v.start, start))
            if end < v.end:
                keep.append(v.piece(end, v.end))
        self.vmas = keep

    def protect(self, start: int, end: int, prot: int) -> list[int]:
        """Change protection of [start, end) (which must be mapped); returns remapped pages.
        Charged: each VMA changed and each split."""
        hit = sum(v.start < end and start < v.end for v in self.vmas)
        split = self._modify(start, end, prot=prot)
        changed = []
        for v in self.vmas:
            if v.start < end and start < v.end:
                changed += self._reprotect_pages(max(v.start, start), min(v.end, end), prot)
        self.mm.work(vma_protect=hit, vma_split=split)
        self.changed()
        return changed

    def lock(self, start: int, end: int, locked: bool) -> None:
        """Set or clear VM_LOCKED on [start, end) (mapped)."""
        split = self._modify(start, end, locked=locked)
        self.mm.work(vma_split=split)
        self.changed()

    def _modify(self, start: int, end: int, **attrs) -> int:
        """Set `attrs` on the VMAs' part in [start, end): a VMA they change is split at the
        range's ends, and what then equals its neighbour merges with it, as Linux's
        vma_modify does (same flags and name, both anonymous or the same file at contiguous
        offsets; a VMA with ELF image bytes never merges here). Returns the splits made."""
        pieces = []
        for v in self.vmas:
            if (
                v.end <= start
                or end <= v.start
                or all(getattr(v, k) == x for k, x in attrs.items())
            ):
                pieces.append(v)
                continue
            cut = sorted({v.start, max(v.start, start), min(v.end, end), v.end})
            for lo, hi in zip(cut, cut[1:], strict=False):
                piece = v.piece(lo, hi)
                if start <= lo and hi <= end:
                    for k, x in attrs.items():
                        setattr(piece, k, x)
                pieces.append(piece)
        split = len(pieces) - len(self.vmas)
        pieces.sort(key=lambda v: v.start)
        merged: list[Vma] = []
        for v in pieces:
            if merged and start <= v.start <= end and _mergeable(merged[-1], v):
                a = merged[-1]
                merged[-1] = Vma(a.start, v.end, a.prot, a.name, b"", a.file, a.shared, a.locked)
            else:
                merged.append(v)
        self.vmas = merged
        return split

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
        if len(self.vmas) > MAX_MAP_COUNT:
            raise RegionTableFull(f"{len(self.vmas)} VMAs, above vm.max_map_count")
        k, vs, regions = self.kernel, self.proc.vspace, [tuple(r) for r in regions]
        # The kernel's table is a cache of the VMAs. What does not fit goes in as one last
        # region the memory manager answers for (no R_ANON: its faults come here, and serve
        # maps their pages itself), spanning the rest: a gap inside it is refused here.
        room = k.vspaces.max_regions
        self.overflow = None
        if len(regions) > room:
            rest = regions[room - 1 :]
            self.overflow = (rest[0][0], rest[-1][1])
            regions = [*regions[: room - 1], (*self.overflow, True, True, False)]
            k.counts["memmgr.regions_overflowed"] += 1
        ops = {"regions": 1, "per_region": len(regions)}
        self.mm.call(
            self.proc,
            lambda: self.mm.update(
                self.proc, "regions", ops, lambda via: k.paging.set_regions(vs, regions, via)
            ),
        )

    # ---- page-table edits are the memory manager's core-kernel calls ---------------------
    def _unmap_pages(self, start: int, end: int) -> tuple[list[int], int]:
        """The mapped pages of [start, end) unmapped: (those pages, how many frames went).
        Compiled twin: hmk._fast.addrspacefast.unmap_pages."""
        if self.kernel.impl == "cython":
            from hmk._fast.addrspacefast import unmap_pages  # noqa: PLC0415

            return unmap_pages(self, start, end)
        k, vs, dropped, freed = self.kernel, self.proc.vspace, [], 0
        for page, pa in k.vspaces.mapped(vs, start, end):
            err, _ = k.vspaces.unmap(vs, page)
            self.mm.kernel_call(BUDGETS["vs.unmap"])
            if err == OK:
                freed += self.mm.release(pa)
                self.cow.discard(page)
                self.pages -= 1
                dropped.append(page)
        return dropped, freed

    def move_pages(self, old: int, new: int, size: int) -> None:
        """mremap's move: every mapped page of [old, old + size) now appears at new + offset
        (the frames themselves move: unmapped there, mapped here, no copy)."""
        k, vs = self.kernel, self.proc.vspace
        moved = []
        for off in range(0, size, PAGE_SIZE):
            pa = k.pagetables.translate(vs, old + off)
            if pa is None:
                continue
            desc_writable = old + off not in self.cow and bool(self.find(new).prot & PROT_WRITE)
            desc_writable = desc_writable and pa != k.zero_page
            k.pagetables.unmap(vs, old + off)
            k.pagetables.map(
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
            k.tlbi(moved, self.asid)

    # ---- copy-on-write (fork) ------------------------------------------------------------
    def share_into(self, child: AddressSpace, cow: bool = True) -> int:
        """fork: map every page of this space into `child` as well, the frames shared; the
        writable private ones read-only in both, copied on the first write (copy-on-write).
        `cow` False (vfork): writable pages are shared writable (a page already copy-on-write
        stays so in the child). Returns the pages shared. Charged per page shared and per VMA
        that has pages (its anon_vma chain cloned, its page tables walked and copied).
        Compiled twin: hmk._fast.addrspacefast.share_into."""
        k, shared, touched = self.kernel, 0, 0
        if k.impl == "cython":
            from hmk._fast.addrspacefast import share_into  # noqa: PLC0415

            return share_into(self, child, cow)
        for v in self.vmas:
            before = shared
            for page, pa in k.vspaces.mapped(self.proc.vspace, v.start, v.end):
                if pa == k.zero_page:  # read-only in both already, never freed
                    k.vspaces.map(
                        child.proc.vspace,
                        page,
                        pa,
                        writable=False,
                        executable=bool(v.prot & PROT_EXEC),
                    )
                    self.mm.kernel_call(BUDGETS["vs.map"])
                    child.pages += 1
                    shared += 1
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
            touched += shared > before
        self.mm.work(cow_share=shared, fork_anon_vma=touched)
        return shared

    def _map_file_page(self, page: int, vma: Vma, access: str = "read") -> int:
        """A page of a mapped file. fsmgr caches the file's pages in frames; a memory manager
        coalesced with it (or both in the kernel) maps the cached frame itself, shared (a
        private writable mapping copy-on-write); a separate one asks fsmgr for the page (an
        IPC) and keeps its own copy: the double bookkeeping of separate page caches."""
        k, mm = self.kernel, self.mm
        node, offset = vma.file
        index = (offset + page - vma.start) // PAGE_SIZE
        placement = mm.placement
        pa = placement.call(self.proc, "fsmgr", lambda: mm.page_cache(node, index))
        if pa is None:
            return REFUSED
        writable, executable = bool(vma.prot & PROT_WRITE), bool(vma.prot & PROT_EXEC)
        # a shared mapping always maps the cached frame, written through (two copies could not
        # stay coherent); from a separate memory manager that is fsmgr granting the frame
        together = placement.together("memmgr", "fsmgr")
        if vma.shared or together:
            err, _ = k.pagetables.map(
                self.proc.vspace, page, pa, writable=writable and vma.shared, executable=executable
            )
            self.mm.kernel_call(BUDGETS["vs.map"])
            if err != OK:
                return REFUSED
            mm.shared[pa] = mm.shared.get(pa, 1) + 1  # the cache keeps its own reference
            k.counts["memmgr.file_pages.shared"] += 1
            if writable and not vma.shared:
                self.cow.add(page)
                if access == "write":  # the write that faulted gets its private copy now
                    self.pages += 1
                    return self._copy_on_write(page, pa, vma)
        else:
            new = self.frames.alloc(zero=False, owner="memmgr.filepages")
            self.ram[new : new + PAGE_SIZE] = self.ram[pa : pa + PAGE_SIZE]
            log_frame(k.mem, pa, PAGE_SIZE, READ)  # the cached page copied, line by line
            log_frame(k.mem, new, PAGE_SIZE, WRITE)
            self.mm.work(fault=1, copy_page=1, copy_line=PAGE_SIZE // LINE)
            err, _ = k.pagetables.map(self.proc.vspace, page, new, writable, executable)
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
            log_frame(k.mem, pa, PAGE_SIZE, READ)  # the shared page copied, line by line
            log_frame(k.mem, new, PAGE_SIZE, WRITE)
            self.mm.work(fault=1, copy_page=1, copy_line=PAGE_SIZE // LINE)
            k.pagetables.unmap(vs, page)
            k.pagetables.map(vs, page, new, writable=True, executable=executable)
            self.mm.kernel_call(BUDGETS["vs.unmap"] + BUDGETS["vs.map"])
            self.mm.release(pa)
            k.counts["memmgr.cow.copies"] += 1
        else:  # the other sharers are gone: write access back, nothing to copy
            k.pagetables.protect(vs, page, True, executable)
            self.mm.work(fault=1)
            self.mm.kernel_call(BUDGETS["vs.protect"])
            k.counts["memmgr.cow.reuses"] += 1
        self.cow.discard(page)
        k.tlbi_timing([page], self.asid)  # the timing model's TLB still has the old frame
        return MAPPED

    def _phys(self, va: int, write: bool) -> int | None:
        """The frame behind a user copy's byte at `va` (the kernel reading a syscall's
        argument or writing its result), faulting the page in as the access would (a
        copy-on-write page is copied first); None: not accessible (EFAULT)."""
        if not 0 <= va < VA_LIMIT:
            return None
        if write and (va & ~(PAGE_SIZE - 1)) in self.cow:
            self.fault(va, "write")
        pa = self.tables.translate(self.root, va)
        if write and pa is not None and pa & ~(PAGE_SIZE - 1) == self.kernel.zero_page:
            if not self.fault(va, "write"):  # the zero page: a frame of its own first
                return None
            pa = self.tables.translate(self.root, va)
        if pa is None:
            if not self.fault(va, "write" if write else "read"):
                return None
            pa = self.tables.translate(self.root, va)
        vma = self.find(va)
        if vma is None or (write and not vma.prot & PROT_WRITE):
            return None
        return pa

    def _reprotect_pages(self, start: int, end: int, prot: int) -> list[int]:
        k, vs, changed = self.kernel, self.proc.vspace, []
        private = not self.find(start).shared
        for page in self._mapped(start, end):
            # a private frame still shared (since fork, or with the page cache) stays
            # read-only: write access makes it copy-on-write instead
            writable = bool(prot & PROT_WRITE)
            pa = k.pagetables.translate(vs, page)
            if pa == k.zero_page:  # the zero page stays read-only: a write replaces it
                writable = False
            elif writable and private and pa in self.mm.shared:
                writable = False
                self.cow.add(page)
            err, _ = k.pagetables.protect(vs, page, writable, bool(prot & PROT_EXEC), bool(prot))
            self.mm.kernel_call(BUDGETS["vs.protect"])
            if err == OK:
                changed.append(page)
        return changed

    def _mapped(self, start: int, end: int) -> list[int]:
        """Mapped pages in [start, end) (untimed lookup of what to change)."""
        k = self.kernel
        return [page for page, _ in k.pagetables.mapped(self.proc.vspace, start, end)]

    # ---- faults --------------------------------------------------------------------------
    def fault(self, va: int, access: str) -> bool:
        """The kernel touching user memory (a syscall's copy) faulted: the same fault path."""
        return self.kernel.page_fault(None, va, access, self.proc, by_service=True)

    def overflowed(self, page: int) -> bool:
        """Is `page` in the region-table overflow (faults there are the memory manager's)?"""
        return self.overflow is not None and self.overflow[0] <= page < self.overflow[1]

    def serve(self, page: int, access: str, pager: bool) -> int:
        """The memory manager's decision for a fault passed on by the kernel."""
        vma = self.find(page)
        if vma is None or not vma.prot & NEED[access]:
            self.mm.work(fault=1)
            return REFUSED
        k = self.kernel
        pa = k.pagetables.translate(self.proc.vspace, page)
        if pa is not None:  # present but not allowed: a write to a copy-on-write page?
            if pa == k.zero_page and access == "write" and not pager and not self.overflowed(page):
                return self._refill()  # the kernel replaces the zero page from the pool
            if access != "write" or pa not in self.mm.shared and page not in self.cow:
                self.mm.work(fault=1)
                return REFUSED
            return self._copy_on_write(page, pa, vma)
        if vma.file is not None and self.mm.page_cache is not None:
            return self._map_file_page(page, vma, access)
        if not pager and vma.anonymous and not self.overflowed(page):  # the pool ran dry
            return self._refill()
        # file-backed (or the pager's every fault): fill a frame and map it
        pa = self.frames.alloc(zero=False, owner="memmgr")
        data = vma.page_data(page)
        self.ram[pa : pa + PAGE_SIZE] = 0
        if data:
            self.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)
        log_frame(k.mem, pa, PAGE_SIZE, WRITE)  # zeroed, or the file's bytes copied in
        if data:  # the program's bytes: a page copy (their source, the image, is not modelled)
            self.mm.work(fault=1, copy_page=1, copy_line=PAGE_SIZE // LINE)
        else:
            self.mm.work(fault=1, page_clear=1)
        err, _ = k.pagetables.map(
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

    def _refill(self) -> int:
        """The kernel's frame pool for this VSpace ran dry: push a batch (REFILLED: the kernel
        resolves the fault from it) or REFUSED."""
        k = self.kernel
        batch = self.frames.alloc_many(self.mm.refill_batch, zero=False, owner="memmgr")
        self.mm.work(fault=1, refill_per_frame=len(batch))
        vs = self.proc.vspace
        err = self.mm.update(
            self.proc, "refill", {"refill_call": 1}, lambda via: k.paging.refill(vs, batch, via)
        )
        if err != OK:
            for pa in batch:
                self.frames.free(pa)
            return REFUSED
        k.counts["memmgr.refills"] += 1
        return REFILLED

    # ---- the kernel touching user memory (copy_from_user / copy_to_user) --------------------
    def read(self, va: int, n: int) -> bytes | None:
        """n bytes of user memory at va, or None (EFAULT)."""
        out = bytearray()
        while n > 0:
            pa = self._phys(va, False)
            if pa is None:
                return None
            chunk = min(n, PAGE_SIZE - (va & (PAGE_SIZE - 1)))
            out += self.ram[pa : pa + chunk].tobytes()
            va, n = va + chunk, n - chunk
        return bytes(out)

    def read_cstring(self, va: int, limit: int = PATH_MAX) -> bytes | None:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(va, 1)
            if chunk is None:
                return None
            if chunk == b"\0":
                return bytes(out)
            out += chunk
            va += 1
        return None

    def write(self, va: int, data: bytes) -> bool:
        """Copy data to user memory at va; False (EFAULT) if any byte is not writable."""
        pos = 0
        while pos < len(data):
            pa = self._phys(va + pos, True)
            if pa is None:
                return False
            chunk = min(len(data) - pos, PAGE_SIZE - ((va + pos) & (PAGE_SIZE - 1)))
            self.ram[pa : pa + chunk] = np.frombuffer(data[pos : pos + chunk], np.uint8)
            pos += chunk
        return True


def _no_frames() -> int:
    raise RuntimeError("the memory manager edits page tables through the kernel, never directly")


def read_path(space, va: int, limit: int = PATH_MAX) -> bytes | int:
    """A path as Linux's getname copies it in (strncpy_from_user) from `space` (anything with
    read_cstring and read): its bytes, or -EFAULT (a byte before its NUL cannot be read), or
    -ENAMETOOLONG (no NUL within `limit` bytes). Whether it may be empty is the caller's."""
    text = space.read_cstring(va, limit)
    if text is not None:
        return text
    ok = all(space.read(va + i, 1) is not None for i in range(0, limit, PAGE_SIZE))
    ok = ok and space.read(va + limit - 1, 1) is not None
    return -ENAMETOOLONG if ok else -EFAULT

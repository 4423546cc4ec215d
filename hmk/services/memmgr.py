"""The memory manager (memmgr): the policy half of HM's policy-free kernel paging.

The kernel (hmk.kernel.paging) resolves an anonymous fault itself from the faulting VSpace's
pool of free frames. The memory manager decides everything else, in its own domain (its own
VSpace, so calls into it switch address spaces), from each process's address space
(hmk.services.addrspace), which it publishes to the kernel as the VSpace's region table:

- which frames a VSpace gets: when its pool is empty the kernel calls in and the memory manager
  pushes `refill_batch` frames (then the kernel resolves the fault from the pool);
- file-backed pages (the program's ELF segments, mapped files): the kernel calls in and the
  memory manager fills a frame (or maps fsmgr's cached one) and maps it (a core-kernel call);
- with user-level paging, every fault: the memory manager is the seL4/Fiasco-style pager;
- the memory calls of Linux processes: brk, mmap, munmap, mremap, mprotect, msync, madvise;
  the program image execve loads; fork's copy-on-write copy; the release at exit.

Each call in is an IPC (fastpath when an activation is free) or a function call, as the
composition places it: a fault passed on by the kernel, or a VMA change; charged as such: the
call path, the switch into its VSpace, its work (`costs`), the reply path and the switch back.

How the memory manager updates the kernel's per-VSpace state (region table, frame-pool ring):
with address tokens (HM's default) the kernel pages holding them are mapped into the memory
manager's VSpace (hmk.kernel.tokens) and it writes them with plain loads and stores, timed as
its own user accesses (`TokenView`); with `capabilities_only` every update is a core-kernel
call: exception entry, the frame, a capability lookup, the kernel's logged accesses, return.
In kernel space (IC0, IC1) it writes them directly. Its work runs in Python with its memory
traffic logged and timed; the page-cache side of a file fill (the source bytes) is not modeled.
"""

from __future__ import annotations

import stat

import numpy as np

from hmk.cpu.elf import ElfError
from hmk.hw.events import EVENT_DTYPE, READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, VA_LIMIT
from hmk.kernel.core import REFUSED
from hmk.kernel.costs import BUDGETS
from hmk.kernel.memory import OutOfMemory
from hmk.linux.abi import (
    EEXIST,
    EFAULT,
    EINVAL,
    ENOMEM,
    EOPNOTSUPP,
    EOVERFLOW,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_HUGETLB,
    MAP_KNOWN,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_TYPE,
    MCL_CURRENT,
    MCL_FUTURE,
    MCL_ONFAULT,
    MLOCK_ONFAULT,
    MREMAP_MAYMOVE,
    MS_ASYNC,
    MS_SYNC,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    RLIM_INFINITY,
)
from hmk.linux.layout import (
    MAX_MAP_BYTES,
    MMAP_BASE,
    MMAP_FLOOR,
    SIGPAGE,
    SIGRETURN_CODE,
    STACK_FLOOR,
    STACK_TOP,
    TASK_SIZE,
    page_up,
)
from hmk.services.addrspace import AddressSpace, Vma
from hmk.services.copies import COPY_LINE, COPY_PAGE, PAGE_CLEAR
from hmk.services.memqueries import MemoryQueries
from hmk.services.procattrs import RLIMIT_AS
from hmk.services.service import ENTRY, Needs, Service

FAULT_MSG = 16  # bytes of the fault message: address and access kind (fits registers)
VMA_MSG = 32  # bytes of a VMA request: operation, start, end, protection
TOKEN_WINDOW = 0x7000_0000_0000  # where granted kernel pages appear in the memory manager
REFILL_BATCH = 16  # assumed: frames per refill (HM's batch size is not published)
ACCOUNT = "services.memmgr"  # what its cycles are charged to (statistics: services.memmgr.cycles)


class MemoryManager(MemoryQueries, Service):
    """The memory manager, in the domain the composition gives it."""

    name = "memmgr"
    default_class = "IC2"
    # a mapped file's pages and msync (fsmgr); each process's VSpace record, region table and
    # frame ring, written through tokens from user space
    needs = Needs(calls=("fsmgr",), tokens=("vspace", "vsregion", "vsframe"))
    # Instructions per operation (hmk.services.service: a budget's convention). Sources: the
    # paths and fits of hmk/calibration/linux_paths.json (docs/linux-paths.md), named by key.
    # The page-table edits are the kernel's (hmk.kernel.costs: vs.map, vs.unmap, vs.protect),
    # so a Linux count that includes a PTE store loses set_pte_at's 13 (anon_write_fault).
    costs = {
        "call": ENTRY,
        # ---- VMAs (Linux keeps them in a tree; hmk's list is searched as one would be)
        # a VMA found: find_vma 204 for two lookups (mmap_munmap)
        "vma_find": 102,
        # a gap found for a new mapping: get_unmapped_area 267 (mmap_munmap)
        "vma_gap": 267,
        # a VMA made and linked: mmap_region 970 (vm_area_alloc, vma_link, the accounting)
        # (mmap_munmap)
        "vma_insert": 970,
        # a VMA unlinked and freed: remove_vma 267 + __vma_rb_erase 98 (mmap_munmap)
        "vma_remove": 365,
        # a VMA split in two: __split_vma 1,837 for two splits (mprotect_split_merge)
        "vma_split": 918,
        # a VMA's protection changed: mprotect of a whole VMA, 1,375 for two calls less
        # AppArmor's security_file_mprotect (98 for two), per call, less the entry
        # (mprotect_whole_vma)
        "vma_protect": 627,
        # a VMA grown or shrunk in place: mremap's grow, vma_to_resize 295 + one __vma_adjust
        # (432 for two) (mremap_grow_shrink)
        "vma_resize": 511,
        # ---- fork and exit, per VMA and per page (fits of fork_exit_wait with 256 extra VMAs,
        # untouched or with one written page each, and with 1,024 to 4,096 written pages)
        # a VMA copied at fork: dup_mm per untouched VMA, 891 (fit fork_per_untouched_vma_parts)
        "fork_vma": 891,
        # a VMA with pages copied at fork, beyond an untouched one and its pages: its anon_vma
        # chain cloned (anon_vma_fork) and its page tables walked: dup_mm per VMA with one
        # written page 2,359 (fit fork_per_touched_vma_one_page_parts) less an untouched VMA's
        # 891 and the page's 138
        "fork_anon_vma": 1330,
        # a page shared copy-on-write at fork (its reference and reverse map): copy_page_range
        # per written page 138 (fit fork_per_written_page_parts) less the PTE stores of the
        # parent's write-protection and the child's mapping (2 x set_pte_at's 13: the kernel's
        # vs.protect and vs.map)
        "cow_share": 112,
        # a VMA dropped with its image (exit, execve): exit_mmap per untouched VMA, 558 (fit
        # fork_per_untouched_vma_parts)
        "exit_vma": 558,
        # a VMA with pages dropped with its image, beyond an untouched one and its pages: its
        # anon_vma chain unlinked, its page tables freed: exit_mmap per VMA with one written
        # page 2,104 (fit fork_per_touched_vma_one_page_parts) less an untouched VMA's 558 and
        # the page's 233
        "exit_anon_vma": 1314,
        # a page's mapping dropped with its image (zapped, its reference dropped in a batch):
        # exit_mmap per written page 233 (fit fork_per_written_page_parts) less the PTE clear
        # (13: the kernel's vs.unmap)
        "exit_page": 220,
        # ---- the calls' own work
        # mmap's (the checks, the lock, the event): __arm64_sys_mmap 1,619 less the entry,
        # get_unmapped_area 267 and mmap_region 970 (mmap_munmap)
        "mmap": 370,
        # munmap's: __vm_munmap 2,002 less unmap_region 977, the VMA's removal 365 and its
        # lookup 102 (mmap_munmap)
        "munmap": 558,
        # brk's: __arm64_sys_brk 3,085 for a grow and a shrink less do_brk_flags 949 and
        # __do_munmap 1,712, per call, less the entry (brk_grow_shrink)
        "brk": 200,
        # assumed: mremap's own (the checks, the lock): as brk's
        "mremap": 200,
        # ---- pages
        # a range unmapped (the TLB gather, the walk, empty page tables freed): unmap_region
        # 977 over an untouched 16-page VMA (mmap_munmap)
        "unmap_range": 977,
        # a mapped page's mapping dropped by munmap (its reference, reverse map and counters):
        # unmap_vmas per written page at exit, 199 (fit fork_per_written_page_parts), less the
        # PTE clear (13: the kernel's vs.unmap)
        "unmap_page": 186,
        # a page freed with its last mapping (the LRU, the memory cgroup, the free lists):
        # munmap per written page 1,109 (fit mmap_touch_per_extra_page_parts) less a mapping's
        # drop as above (199)
        "free_page": 910,
        # assumed: a page's entry looked at by mincore's walk (mincore_pte_range: the PTE read
        # and tested, a byte stored), ~ the 13-instruction PTE clear of an unmap plus the store
        "pte_walk": 16,
        # ---- faults passed on by the kernel
        # a fault decided (its VMA found, the access checked): do_mem_abort .. do_page_fault's
        # own work 196 + find_vma 67 (anon_read_fault)
        "fault": 263,
        "page_clear": PAGE_CLEAR,
        "copy_page": COPY_PAGE,
        "copy_line": COPY_LINE,
        # a frame allocated for a VSpace's pool: as Linux allocates a fault's page
        # (alloc_pages_vma, per-cpu list pop and prep_new_page) less the clearing it calls
        # (kernel_init_free_pages: HM's kernel clears the frame at the fault, pf.zero_page):
        # 1,088 - 302 (anon_write_fault). HM's allocator is not published; this is the same work
        # done by Linux's
        "refill_per_frame": 787,
        # assumed: the refill kernel call's own checks (VSpace, ring room): ~vs.map's
        "refill_call": 40,
        # assumed: the region-table update kernel call: checks ~20, then per region its 3
        # stores and the overlap check ~10
        "regions": 20,
        "per_region": 10,
    }

    def __init__(self, boot, refill_batch: int = REFILL_BATCH):
        super().__init__(boot)
        kernel = self.kernel = self.k
        self.refill_batch = refill_batch
        place = self.placement.domain_of("memmgr")
        self.domain = place.proc  # None in IC0
        ic2 = place.ic == "IC2"
        # in kernel space (IC0, IC1) it writes kernel state directly; in IC2 through address
        # tokens, or by kernel calls with capabilities only
        self.direct = not ic2
        tokens = ic2 and not kernel.tokens.capabilities_only
        self.tokens = TokenView(kernel, self.domain, self.placement) if tokens else None
        self.shared: dict[int, int] = {}  # frame -> how many mappings share it (2 or more)
        self.spaces: dict = {}  # kernel Process -> its AddressSpace
        kernel.mem.take_log()

    def space_of(self, proc) -> AddressSpace:
        return self.spaces[proc]

    def release(self, pa: int) -> bool:
        """One mapping of the frame is gone: free it with its last mapping (never the
        kernel's shared zero page). True: it was freed."""
        if pa == self.kernel.zero_page:
            return False
        count = self.shared.get(pa, 1)
        if count > 2:
            self.shared[pa] = count - 1
        elif count == 2:
            del self.shared[pa]
        else:
            self.kernel.frames.free(pa)
            return True
        return False

    def attach(self, proc) -> AddressSpace:
        """Start managing `proc` (the placement installs the service endpoints in its CSpace);
        with tokens, the kernel pages of its VSpace record, region table and frame ring are
        granted to the memory manager."""
        k = self.kernel
        self.placement.attach(proc)
        if self.tokens is not None:
            v, i = k.vspaces, proc.vspace
            self.tokens.cover("vspace", i)
            self.tokens.cover("vsregion", i * v.max_regions, v.max_regions)
            self.tokens.cover("vsframe", i * v.depth, v.depth)
        k.mem.take_log()
        space = self.spaces[proc] = AddressSpace(self, proc)
        return space

    def detach(self, proc) -> None:
        """`proc` exited: its memory goes (its pid stays until it is reaped)."""
        self.drop_image(proc)
        del self.spaces[proc]

    def drop_image(self, proc) -> None:
        """`proc`'s whole image goes (exit, or execve past its point of no return), charged as
        Linux's exit_mmap (AddressSpace.remove's teardown)."""
        space = self.spaces[proc]
        dropped = space.remove(0, VA_LIMIT, teardown=True)
        if dropped:
            self.kernel.tlbi(dropped, space.asid)

    def page_cache(self, node, index: int) -> int:
        """fsmgr's cached frame of a file's page (fsmgr's work: the caller places the call)."""
        return self.peers["fsmgr"].cache.frame_of(node, index)

    def unmapped(self, nodes: set) -> None:
        """Mappings of the files `nodes` went away: a file with no name left (or an unnamed
        shared object, MAP_SHARED | MAP_ANONYMOUS) that nothing opens or maps any more leaves
        the page cache, its frames freed (fsmgr.forget)."""
        for node in nodes:
            self.peers["fsmgr"].forget(node)

    # ---- calls in ------------------------------------------------------------------------
    def call(self, proc, serve, msg: int = VMA_MSG):
        """`serve()` run as the memory manager's side of a call from the current domain (an
        IPC or a function call, as the composition places it); REFUSED when unreachable."""
        result = self.placement.call(proc, "memmgr", serve, msg)
        if result is None:
            self.kernel.counts["memmgr.unreachable"] += 1
            return REFUSED
        return result

    def serve_fault(self, proc, page: int, access: str, pager: bool) -> int:
        """A fault the kernel passed on: MAPPED, REFILLED (retry in the kernel) or REFUSED."""
        self.kernel.counts["memmgr.faults"] += 1
        space = self.spaces[proc]
        if pager and self.placement.composition.region_map:
            self._region_map_hop()
        return self.call(proc, lambda: space.serve(page, access, pager), FAULT_MSG)

    def _region_map_hop(self) -> None:
        """L4Re's paging (composition `region_map`): the fault message goes first to the region
        map, a pager thread in the faulting task's own address space, which finds the region
        and asks the memory manager (the dataspace's provider) for the page. Its IPC has the
        call and reply paths and the privilege changes of a user-level server (the exception
        return into it, its reply's entry and frame) but no address-space switch; its work is
        a region lookup (`vma_find`: Linux's find_vma, as the region tree's search)."""
        k = self.kernel
        k.counts["memmgr.region_map_hops"] += 1
        ipc = BUDGETS["ipc.fast_call"] + BUDGETS["ipc.fast_reply"] + BUDGETS["exception.frame"]
        k.charge("ipc", k.exit + k.entry + k.work_cycles(ipc))
        k.charge("services.region_map", k.work_cycles(self.costs["vma_find"]))

    def update(self, proc, what: str, ops: dict, change) -> int:
        """Change `proc`'s kernel-side paging state with `change(via)` (a KernelPaging call):
        directly from kernel space, through the tokens, or as a core-kernel call with a
        capability lookup; `ops`: the operations' budgets (`costs`)."""
        k = self.kernel
        k.counts[f"memmgr.updates.{what}"] += 1
        budget = self.budget(**ops)
        if self.direct:
            err = change(None)
            self.placement.work(self.name, budget)
        elif self.tokens is None:
            err = change(None)
            self.kernel_call(budget + BUDGETS["cap.lookup"])
        else:
            err = change(self.tokens)
            self.tokens.charge(budget)
        return err

    def kernel_call(self, budget: int) -> None:
        """Charge a core-kernel call the memory manager made: entry, path, return (from
        kernel space, IC0 and IC1, a plain call into the kernel's code)."""
        self.kernel.charge(ACCOUNT, self._trap() + self.kernel.path(budget))

    def kernel_calls(self, budgets: list, ends: list) -> None:
        """Charge consecutive core-kernel calls the memory manager made, call k of budgets[k]
        having logged the kernel's accesses up to ends[k] (from the log's start): as
        kernel_call after each call, in one charge (the same cycles)."""
        if budgets:
            k = self.kernel
            log = k.mem.take_log(ends[-1])
            k.charge(ACCOUNT, self._trap() * len(budgets) + k.time_paths(budgets, log, ends))

    def _trap(self) -> int:
        """A core-kernel call's entry and return (none from kernel space, IC0 and IC1)."""
        k = self.kernel
        return 0 if self.direct else k.entry + k.work_cycles(BUDGETS["exception.frame"]) + k.exit

    # ---- programs and processes ----------------------------------------------------------
    def load_program(self, proc, image, stack: bytes, sp: int, interp=None) -> None:
        """`image`'s PT_LOAD segments as VMAs backed by the file bytes (and its interpreter's,
        `interp`, where it was placed), the heap after the program's, the stack VMA holding
        the initial stack `stack` at [sp, STACK_TOP), and above it the signal-return page
        (Linux's vDSO holds this trampoline). ElfError when a segment lies above user space."""
        space = self.spaces[proc]
        for loaded in (image, interp) if interp is not None else (image,):
            for seg in loaded.segments:
                start = seg.vaddr & ~(PAGE_SIZE - 1)
                end = page_up(seg.vaddr + seg.memsz)
                if end > STACK_FLOOR:
                    raise ElfError(
                        loaded.path,
                        f"segment {start:#x}-{end:#x} is above user space (which ends at "
                        f"{STACK_FLOOR:#x}, below the stack)",
                    )
                prot = ("r" in seg.flags and PROT_READ) | ("w" in seg.flags and PROT_WRITE)
                prot |= "x" in seg.flags and PROT_EXEC
                lead = b"\0" * (seg.vaddr - start)
                space.add(Vma(start, end, prot, loaded.path, lead + seg.data))
        space.brk_start = space.brk = page_up(max(s.vaddr + s.memsz for s in image.segments))
        space.mmap_top = MMAP_BASE
        space.add(Vma(STACK_FLOOR, STACK_TOP, PROT_READ | PROT_WRITE, "[stack]"))
        code = SIGRETURN_CODE
        space.add(Vma(SIGPAGE, SIGPAGE + PAGE_SIZE, PROT_READ | PROT_EXEC, "[sigpage]", code))
        if not space.write(sp, stack):
            raise RuntimeError("could not write the initial stack")

    @staticmethod
    def fits(image) -> bool:
        """Does `image` lie below the stack (execve: ENOEXEC otherwise)?"""
        return all(page_up(sg.vaddr + sg.memsz) <= STACK_FLOOR for sg in image.segments)

    def fork(self, parent, child, share: bool = False) -> int:
        """The child's address space: the parent's VMAs, every mapped page shared with it,
        copy-on-write (AddressSpace.share_into); for a vfork (`share`) writable, so that the
        child's stores reach the parent, as in Linux, where a vfork child borrows its parent's
        memory until it execs or exits (its own new pages, e.g. on a fresh stack, stay its own:
        the parent is stopped and does not look at them). Returns the pages shared."""
        src, dst = self.spaces[parent], self.spaces[child]
        dst.brk_start, dst.brk, dst.mmap_top = src.brk_start, src.brk, src.mmap_top
        dst.vmas = [v.copy() for v in src.vmas]
        self.work(fork_vma=len(dst.vmas))
        dst.changed()
        shared = src.share_into(dst, cow=not share)
        if not share:
            self.kernel.tlbi(None, src.asid)  # the parent's pages are read-only now
        return shared

    # ---- the memory calls of Linux processes ---------------------------------------------
    def sys_brk(self, call, addr, *_):
        space = call.space
        self.work(brk=1)
        if addr < space.brk_start or addr > STACK_FLOOR:
            return space.brk
        old_end, new_end = page_up(space.brk), page_up(addr)
        if new_end > old_end:
            if not space.is_free(old_end, new_end) or not self._may_grow(call, new_end - old_end):
                return space.brk
            heap = next((v for v in space.vmas if v.name == "[heap]"), None)
            try:
                if heap is not None and heap.end == old_end:
                    heap.end = new_end
                    self.work(vma_resize=1)
                    space.changed()
                else:
                    space.add(Vma(old_end, new_end, PROT_READ | PROT_WRITE, "[heap]"))
            except MemoryError:  # the region table is full
                if heap is not None and heap.end == new_end:
                    heap.end = old_end
                    space.changed()
                return space.brk
        elif new_end < old_end:
            self._unmap(space, new_end, old_end)
        space.brk = addr
        return addr

    def sys_mmap(self, call, addr, length, prot, flags, fd, offset):
        """Anonymous or file-backed, private (copy-on-write) or shared. A shared mapping's
        pages are the file's page-cache frames, written through (fsmgr sees the stores); shared
        anonymous memory is an unnamed object of the same kind, inherited across fork."""
        space = call.space
        self.work(mmap=1)
        # Linux's order (sys_mmap, ksys_mmap_pgoff, do_mmap): the offset, the descriptor, the
        # length, the place, then the mapping's type against the file
        kind, anonymous = flags & MAP_TYPE, bool(flags & MAP_ANONYMOUS)
        shared = kind in (MAP_SHARED, MAP_SHARED_VALIDATE)
        if offset % PAGE_SIZE:
            return -EINVAL
        if not anonymous:
            f = self.peers["fsmgr"].descriptor(call.task, fd)
            if isinstance(f, int):
                return f
            if flags & MAP_HUGETLB:
                return -EINVAL
        elif flags & MAP_HUGETLB:
            return -EINVAL  # no huge page size: a kernel without hugetlbfs (hstate_sizelog)
        if length == 0:
            return -EINVAL
        if length >= MAX_MAP_BYTES:
            return -ENOMEM  # more than user space holds (get_unmapped_area)
        length = page_up(length)
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if addr % PAGE_SIZE:
                return -EINVAL
            if addr + length > STACK_FLOOR:
                return -ENOMEM
            if not space.is_free(addr, addr + length) and flags & MAP_FIXED_NOREPLACE:
                return -EEXIST
        image, name, file = b"", "[anon]", None
        if not anonymous:
            if offset // PAGE_SIZE > (_mmap_size_max(f.node) - length) // PAGE_SIZE:
                return -EOVERFLOW  # pages past what the file can hold (file_mmap_ok)
            if kind == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN:
                return -EOPNOTSUPP
            if kind not in (MAP_SHARED, MAP_SHARED_VALIDATE, MAP_PRIVATE):
                return -EINVAL
            writes = bool(shared and prot & PROT_WRITE)
            source = self.peers["fsmgr"].mapping_source(call.task, fd, offset, length, writes)
            if isinstance(source, int):
                return source
            image, name, node = source
            file = (node, offset)
        elif kind not in (MAP_SHARED, MAP_PRIVATE):
            return -EINVAL
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if not self._may_grow(call, length, space.mapped_bytes(addr, addr + length)):
                return -ENOMEM
            if not space.is_free(addr, addr + length):
                self._unmap(space, addr, addr + length)
            start = addr
        else:
            start = self._find_gap(space, length)
            self.work(vma_gap=1)
            if start is None or not self._may_grow(call, length):
                return -ENOMEM
        if anonymous and shared:
            node = self.peers["fsmgr"].shared_anonymous(length)
            if node is None:
                return -ENOMEM  # more than the machine has (Linux's overcommit guess)
            name, file = "/dev/zero (deleted)", (node, 0)
        try:
            space.add(Vma(start, start + length, prot & 7, name, image, file, shared))
        except MemoryError:  # the kernel's region table is full (Linux: vm.max_map_count)
            return -ENOMEM
        return start

    def sys_munmap(self, call, addr, length, *_):
        space = call.space
        self.work(munmap=1)
        if addr % PAGE_SIZE or addr > TASK_SIZE or length > TASK_SIZE - addr or not length:
            return -EINVAL  # (do_vmi_munmap: the range within user space)
        self._unmap(space, addr, addr + page_up(length))
        return 0

    def sys_mremap(self, call, old, old_size, new_size, flags, new_addr, *_):
        """Grow or shrink a mapping in place, or move it (MREMAP_MAYMOVE): its pages move with
        it (the frames are remapped, not copied). MREMAP_FIXED is not supported (EINVAL)."""
        space = call.space
        self.work(mremap=1)
        old_size = page_up_wrapped(old_size) & MASK64  # (PAGE_ALIGN's: a huge one wraps to 0)
        new_size = page_up_wrapped(new_size) & MASK64
        if old % PAGE_SIZE or not new_size or flags & ~MREMAP_MAYMOVE or new_size >= MAX_MAP_BYTES:
            return -EINVAL
        vma = space.find(old)
        self.work(vma_find=1)
        if vma is None:
            return -EFAULT
        if not old_size:  # a second mapping of a shared one's pages: not modelled
            return -EINVAL
        if new_size <= old_size:  # the tail goes, whatever is mapped there
            self._unmap(space, old + new_size, old + old_size)
            return old
        if old + old_size > vma.end:
            return -EFAULT  # growing or moving never spans two mappings
        if not self._may_grow(call, new_size - old_size):
            return -ENOMEM
        end = old + new_size
        if end <= STACK_FLOOR and space.is_free(old + old_size, end):
            grown = vma.piece(old, old + old_size)
            grown.end = end
            space.cut(old, old + old_size)
            space.vmas.append(grown)  # the pages are still mapped: they stay where they were
            space.vmas.sort(key=lambda v: v.start)
            self.work(vma_resize=1)
            space.changed()
            return old
        if not flags & MREMAP_MAYMOVE:
            return -ENOMEM
        start = self._find_gap(space, new_size)
        self.work(vma_gap=1)
        if start is None:
            return -ENOMEM
        moved = vma.piece(old, old + old_size)
        moved.start, moved.end = start, start + new_size
        space.add(moved)
        space.move_pages(old, start, old_size)
        self._unmap(space, old, old + old_size)
        return start

    def sys_mprotect(self, call, addr, length, prot, *_):
        """Linux's order (do_mprotect_pkey): PROT_GROWSDOWN with PROT_GROWSUP, the start, an
        empty length, a length that wraps (ENOMEM), then the protection (arm64's
        arch_validate_prot: PROT_BTI and PROT_MTE only on cores that have them, and the
        modelled ones, ARMv8.2, do not), then the range; growing is for a VM_GROWSDOWN
        mapping, the stack (here: EINVAL, its growth is not modelled)."""
        space = call.space
        prot &= 0xFFFFFFFF
        grows, prot = prot & PROT_GROWS, prot & ~PROT_GROWS
        if grows == PROT_GROWS or addr % PAGE_SIZE:
            return -EINVAL
        if not length:
            return 0
        end = (addr + page_up_wrapped(length)) & MASK64
        if end <= addr:
            return -ENOMEM
        if prot & ~(7 | PROT_SEM):
            return -EINVAL
        prot &= 7
        self.work(vma_find=1)
        if not self._mapped(space, addr, end):
            return -ENOMEM
        if grows:
            return -EINVAL
        changed = space.protect(addr, end, prot)
        if changed:
            self.kernel.tlbi(changed, space.asid)
        return 0

    def sys_msync(self, call, addr, length, flags, *_):
        """Shared mappings are written through to the page cache, which fsmgr writes back
        before it reads or changes the file: msync only checks its arguments and the range."""
        space = call.space
        if addr % PAGE_SIZE or flags & ~7 or flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC:
            return -EINVAL
        end = (addr + page_up_wrapped(length)) & MASK64
        if end < addr:
            return -ENOMEM
        if end == addr:
            return 0
        if not self._mapped(space, addr, end):
            return -ENOMEM
        for v in space.vmas:
            if v.shared and v.start < end and addr < v.end:
                self.peers["fsmgr"].sync_mapped(call.space.proc, v.file[0])
        return 0

    @staticmethod
    def _mapped(space, start: int, end: int) -> bool:
        """Do VMAs cover all of [start, end)? (mprotect and msync: ENOMEM otherwise.)"""
        covered = sum(
            min(v.end, end) - max(v.start, start)
            for v in space.vmas
            if v.start < end and start < v.end
        )
        return covered == end - start

    # ---- memory locking: every page stays resident here (there is no reclaim), so locking
    # only checks its arguments and the range, as Linux does; the pages still come on first
    # touch (Linux's mlock also faults the range in at once)
    def sys_mlock(self, call, addr, length, *_):
        return self.sys_mlock2(call, addr, length, 0)

    def sys_mlock2(self, call, addr, length, flags, *_):
        flags &= 0xFFFFFFFF  # an int
        if flags & ~MLOCK_ONFAULT:
            return -EINVAL
        return self._lock(call, addr, length, True, populate=not flags)

    def sys_munlock(self, call, addr, length, *_):
        return self._lock(call, addr, length, False)

    def _lock(self, call, addr: int, length: int, locked: bool, populate: bool = False) -> int:
        """mlock's and munlock's range, Linux's 64-bit arithmetic: a length that wraps to
        nothing locks nothing. A lock that brings its pages in (not MLOCK_ONFAULT) cannot
        touch a PROT_NONE mapping: ENOMEM (__mm_populate's EFAULT, as mlock reports it), and
        the range stays locked, as in Linux, where the VMAs are marked before the pages come."""
        start = addr & ~(PAGE_SIZE - 1)
        end = (start + page_up_wrapped(length + addr % PAGE_SIZE)) & MASK64
        if end < start:
            return -EINVAL
        self.work(vma_find=1)
        if start == end:
            return 0
        reach = self._covered(call.space, start, end)
        if reach > start:  # the VMAs up to the first hole change (apply_vma_lock_flags)
            call.space.lock(start, reach, locked)
        if reach < end:
            return -ENOMEM
        hit = (v for v in call.space.vmas if v.start < end and start < v.end)
        return -ENOMEM if populate and any(not v.prot for v in hit) else 0

    @staticmethod
    def _covered(space, start: int, end: int) -> int:
        """Where the VMAs from `start` on stop covering [start, end) without a hole."""
        reach = start
        for v in sorted(
            (v for v in space.vmas if v.end > start and v.start < end), key=lambda v: v.start
        ):
            if v.start > reach:
                break
            reach = v.end
        return min(reach, end)

    def sys_mlockall(self, call, flags, *_):
        if not flags & (MCL_CURRENT | MCL_FUTURE) or flags & ~(
            MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT
        ):
            return -EINVAL
        space = call.space
        space.lock_future = bool(flags & MCL_FUTURE)
        if flags & MCL_CURRENT:
            space.lock(0, MASK64, True)
        return 0

    def sys_munlockall(self, call, *_):
        call.space.lock_future = False
        call.space.lock(0, MASK64, False)
        return 0

    def sys_madvise(self, call, addr, length, advice, *_):
        """Advice about a range: MADV_DONTNEED (and DONTNEED_LOCKED) drop its pages (the next
        touch gives zeros, or the file's bytes), the rest are hints with nothing to do here
        (no reclaim, no swap, no huge pages); Linux's checks: an aligned start, known advice,
        MADV_REMOVE only on shared mappings, ENOMEM when part of the range is not mapped."""
        space, advice = call.space, _int32(advice)
        if advice not in MADVICE or addr % PAGE_SIZE:
            return -EINVAL
        aligned = page_up_wrapped(length)
        if length and not aligned:
            return -EINVAL  # rounded up from a small negative length to nothing
        end = addr + aligned
        if end > MASK64:
            return -EINVAL
        if end == addr:
            return 0
        self.work(vma_find=1)
        hit = [v for v in space.vmas if v.start < end and addr < v.end]
        if not hit:
            return -ENOMEM
        if advice == MADV_REMOVE and any(not v.shared for v in hit):
            return -EINVAL
        if advice in PRIVATE_ANON_ONLY and any(v.shared or not v.anonymous for v in hit):
            return -EINVAL  # (a mapping's own refusal comes before a hole's ENOMEM)
        if advice in NOT_LOCKED and any(v.locked for v in hit):
            return -EINVAL  # madvise_dontneed_free_valid_vma, can_madv_lru_vma
        if advice in (MADV_DONTNEED, MADV_DONTNEED_LOCKED):
            dropped = space.discard(addr, end)
            if dropped:
                self.kernel.tlbi(dropped, space.asid)
        return 0 if self._mapped(space, addr, end) else -ENOMEM

    def _may_grow(self, call, grow: int, replaced: int = 0) -> bool:
        """May the caller's address space map `grow` more bytes (`replaced` of them mapped
        already) under its RLIMIT_AS? (Linux's may_expand_vm.)"""
        limit = self.peers["procmgr"].limit(call.task, RLIMIT_AS)[0]
        if limit == RLIM_INFINITY:  # (the usual case: no sum over the VMAs)
            return True
        return call.space.mapped_bytes() - replaced + grow <= limit

    def _unmap(self, space, start: int, end: int) -> None:
        dropped = space.remove(start, end)
        if dropped:
            self.kernel.tlbi(dropped, space.asid)

    @staticmethod
    def _find_gap(space, length: int) -> int | None:
        """Top-down from the lowest mmap so far, as Linux's default allocator does."""
        top = space.mmap_top
        while top - length >= space.brk_start + MMAP_FLOOR:
            start = top - length
            clash = [v for v in space.vmas if v.start < top and start < v.end]
            if not clash:
                space.mmap_top = start
                return start
            top = min(v.start for v in clash)
        return None


class TokenView:
    """The memory manager's window on kernel objects through address tokens: `load`/`store`
    (KernelMemory's signature) act on the same object arrays, but each access is recorded as a
    user access of the memory manager at the token's virtual address, in its address space."""

    def __init__(self, kernel, domain, placement):
        self.k, self.domain, self.placement = kernel, domain, placement
        self.pages: dict[int, int] = {}  # kernel page PA -> where it appears in the service
        self.next_va = TOKEN_WINDOW
        self.log: list[tuple[int, int, int]] = []  # (va, kind, size)

    def cover(self, pool_name: str, first: int, count: int = 1) -> None:
        """Grant tokens (read/write) until records first..first+count-1 are all reachable."""
        pool = self.k.mem.pools[pool_name]
        for i in (first, first + count - 1):
            pa = pool.base + i * pool.record
            if _page(pa) in self.pages and _page(pa + pool.record - 1) in self.pages:
                continue
            t = self.placement.grant_token("memmgr", pool_name, i, self.next_va, True)
            if t < 0:
                raise OutOfMemory(f"memmgr: no address token for {pool_name}[{i}]: {t}")
            for va, page in self.k.tokens.pages(t):
                self.pages.setdefault(page, va)  # (a page granted twice: its first place)
                self.next_va = max(self.next_va, va + PAGE_SIZE)
        self.k.mem.take_log()  # granting is set-up, not per-operation work

    def _va(self, pa: int) -> int:
        va = self.pages.get(_page(pa))
        if va is None:
            raise ValueError(f"memmgr: kernel address {pa:#x} is not granted to it (a bug)")
        return va + pa % PAGE_SIZE

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

    def store_many(self, pool, indices, field, values) -> None:
        for i, value in zip(indices, values, strict=True):
            self.store(pool, i, field, value)

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
        k.charge(ACCOUNT, k.time_log(budget, events))


# madvise's advice this kernel knows (include/uapi/asm-generic/mman-common.h; MERGEABLE,
# HUGEPAGE and the like need KSM or huge pages, which a kernel without them refuses: EINVAL)
MADV_DONTNEED, MADV_REMOVE, MADV_DONTNEED_LOCKED = 4, 9, 24
# advice for private anonymous memory only (EINVAL elsewhere): MADV_FREE, MADV_WIPEONFORK,
# MADV_KEEPONFORK
PRIVATE_ANON_ONLY = (8, 18, 19)
# advice refused for mlocked memory: MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT
NOT_LOCKED = (4, 8, 20, 21)
# the advice Linux knows (MADV_MERGEABLE and UNMERGEABLE with KSM, HUGEPAGE, NOHUGEPAGE and
# COLLAPSE with transparent huge pages, GUARD_INSTALL and GUARD_REMOVE from 6.13: a phone's
# kernel has them; hints that change nothing here)
MADVICE = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25}
MASK64 = (1 << 64) - 1
PROT_SEM = 0x8
PROT_GROWS = 0x03000000  # PROT_GROWSDOWN | PROT_GROWSUP


def _mmap_size_max(node) -> int:
    """The largest offset a file's mapping may reach (file_mmap_size_max): MAX_LFS_FILESIZE
    for a regular file, a block device or a socket, any unsigned long for the others."""
    mode = stat.S_IFMT(node.mode)
    return (1 << 63) - 1 if mode in (stat.S_IFREG, stat.S_IFBLK, stat.S_IFSOCK) else MASK64


def _start(vma) -> int:
    return vma.start


def _page(pa: int) -> int:
    return pa & ~(PAGE_SIZE - 1)


def page_up_wrapped(n: int) -> int:
    """PAGE_ALIGN in 64-bit arithmetic (a length near 2^64 wraps to a small one, or 0)."""
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) & MASK64


def _int32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >> 31 else x

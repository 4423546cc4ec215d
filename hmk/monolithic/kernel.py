"""A Linux-like monolithic kernel: Linux's own mechanisms on hmk's kernel substrate.

`LinuxKernel` keeps what any kernel on this machine has in common with HM's core kernel
(hmk.kernel.core): kernel memory and its timed log, physical frames, the page tables and ASIDs,
the thread records, timed waits and blocked calls that run again. It replaces the mechanisms
that make a kernel Linux (docs/linux-kernel.md):

- system calls: an exception entry through el0_svc and invoke_syscall straight into the
  handler (the services run inside the kernel: no shim, no IPC), and ret_to_user on the way out;
- scheduling: CFS (hmk.monolithic.cfs) instead of HM's priority round robin, and Linux's
  context switch: __schedule with the class hooks, switch_mm's ASID check and TTBR0 write,
  cpu_switch_to, and the FP/SIMD registers saved and restored on every switch (arm64 Linux
  switches them eagerly; HM attaches FP state lazily);
- page faults: Linux's anonymous fault path. A read of a fresh page maps the shared zero page;
  a write takes a page from the per-cpu free list, clears it, charges it to the memory cgroup,
  adds it to the reverse map and the LRU (hmk.monolithic.pages); page tables a fault needs are
  pages allocated and accounted the same way. The VMA lookup, the page-table walk and the PTE
  write are the mechanism HM's kernel paging has too (hmk.kernel.paging, the same compiled
  twin); file-backed and copy-on-write faults go to the memory code inside the kernel (the
  memory manager, in IC0: a function call);
- the timer tick: Linux's tick handler and CFS's task_tick_fair;
- no HM calls: an HM-native program's core-kernel call is an unknown syscall (ENOSYS).
"""

from __future__ import annotations

import numpy as np

from hmk.hw.pagetable import ADDR_MASK, LEVELS, level_index
from hmk.kernel.core import MAPPED, REFILLED, CoreKernel
from hmk.kernel.costs import BUDGETS as CORE
from hmk.kernel.memory import OutOfMemory
from hmk.kernel.objects import Pool
from hmk.kernel.paging import (
    RESOLVED,
    SEGV,
    ZERO_MAPPED,
    ZERO_REPLACED,
)
from hmk.kernel.vspace import TABLE_DESC
from hmk.monolithic.cfs import Cfs, sched_slice
from hmk.monolithic.costs import BUDGETS
from hmk.monolithic.pages import PageBook

FP_STATE = 32 * 16 + 16  # 32 128-bit V registers, FPSR and FPCR: struct user_fpsimd_state
# a new anonymous page's steps (do_anonymous_page's write case, hmk.monolithic.pages)
NEW_PAGE = ("fault.anon_page", "page.alloc", "page.memcg_charge", "page.lru_add", "page.rmap")


class LinuxKernel(CoreKernel):
    """CoreKernel's substrate with Linux's syscall path, scheduler, switch and fault path."""

    hm_calls = False

    def __init__(self, ram, roots=None, memcg: bool = True, **options):
        options.setdefault("heap_bytes", 4 << 20)  # room for the FP/SIMD save areas
        super().__init__(ram, roots, **options)
        self.memcg = memcg  # the memory cgroup controller on (cgroup_disable=memory: off)
        if self.paging.user_level_paging:
            raise ValueError("a Linux kernel resolves its own page faults (no user-level pager)")
        self.pages = PageBook(self.mem, self.frames, len(ram), memcg=memcg)
        # its steps on a fault: the compiled twin (hmk._fast.pagebook: the same state and log)
        # unless impl="python"
        self.page_steps = self.pages
        if self.impl == "cython":
            from hmk._fast.pagebook import FastPageBook  # noqa: PLC0415

            self.page_steps = FastPageBook(self.pages)
        self.fpsimd = self.mem.register(
            Pool("fpsimd_state", self.threads.tcb.capacity, 1024, {"v": (np.uint64, 66)})
        )
        self.mem.take_log()

    # ---- the mechanisms ------------------------------------------------------------------
    def scheduler(self, capacity: int) -> Cfs:
        return Cfs(self.mem, capacity, self.ncores, 1, 1, clock_ns=self.now_ns)

    def place(self, cores: list[int], load: list[int]) -> int:
        """Linux's placement of a new task (select_task_rq_fair at fork: find_idlest_group
        over the CPUs it may use, simplified): an idle core if there is one (spare capacity
        counts idle CPUs, not their capacity: energy-aware placement is for wake-ups only),
        the lowest-numbered (the model keeps no utilisation history to break the tie); else
        the least loaded for its capacity (the groups' avg_load), the lowest-numbered of
        equals."""
        capacity = self.core_capacity
        idle = [c for c in cores if not load[c]]
        if idle:
            return idle[0]
        return min(cores, key=lambda c: (load[c] / capacity[c], c))

    def slice_ns(self) -> int:
        """CFS's slice for the running thread among the runnable ones (sched_slice)."""
        return sched_slice(int(self.threads.rq["nr_running"][self.cpu]) + 1)  # + the running one

    def entry_cycles(self) -> int:
        """el0_svc: the exception, kernel_entry's frame, the dispatch, ret_to_user."""
        work = self.work_cycles(CORE["exception.frame"] + BUDGETS["syscall.dispatch"])
        return self.entry + work + self.exit

    def switch_cycles(self, prev: int, nxt: int, space_changed: bool) -> int:
        """__schedule's frame and CFS's pick (their logged tree and record accesses), the
        FP/SIMD state out of the previous thread and into the next (logged), cpu_switch_to
        and, for another process, switch_mm's ASID check and TTBR0 write."""
        for k in range(0, FP_STATE, 32):  # 16 STP / LDP of Q register pairs (and FPSR/FPCR)
            if prev >= 0 and self.threads.valid(prev):
                self.mem.store(self.fpsimd, prev, "v", 0, k // 8)
            self.mem.load(self.fpsimd, nxt, "v", k // 8)
        budget = BUDGETS["sched.schedule"] + BUDGETS["sched.switch_to"]
        budget += BUDGETS["fpsimd.switch"] + self.threads.take_work()
        if space_changed:
            budget += BUDGETS["sched.switch_mm"]
        return self.path(budget)

    def sched_note(self, what: str, n: int = 1) -> None:
        """CFS accounts its own wake-ups and blocks (Cfs.work)."""

    def kept_running(self) -> None:
        """__schedule picked the running thread again: its pick's work and accesses."""
        self.charge("sched", self.path(self.threads.take_work()))

    def timer_work(self) -> int:
        return self.path(BUDGETS["timer.tick"] + self.threads.take_work())

    # ---- page faults ---------------------------------------------------------------------
    def _page_fault(self, proc, page: int, access: str) -> bool:
        """do_mem_abort -> do_page_fault -> handle_mm_fault (exception entry and exit: the
        core's, and their instructions are in fault.entry)."""
        self._stock(proc)
        outcome, zeroed, pa = self.paging.resolve(proc.vspace, page, access, self.impl)
        budget = CORE["exception.frame"] + BUDGETS["fault.entry"]
        if not self.memcg:  # count_memcg_event_mm returns at once
            budget -= BUDGETS["memcg.fault_event"]
        if outcome in (RESOLVED, ZERO_MAPPED, ZERO_REPLACED):
            tables = zeroed - (outcome != ZERO_MAPPED and zeroed > 0)
            self._account_tables(proc, page, tables)
            budget += tables * BUDGETS["fault.pte_alloc"] + zeroed * BUDGETS["clear_page"]
            if outcome == ZERO_MAPPED:
                budget += BUDGETS["fault.zero_page"]
            elif zeroed:  # a new anonymous page (not a spurious fault)
                self.page_steps.new_anon_page(pa, page)
                budget += sum(BUDGETS[k] for k in NEW_PAGE)
                if not self.memcg:  # no charge, no memcg share of the LRU and rmap counts
                    budget -= BUDGETS["memcg.new_page"]
                if outcome == ZERO_REPLACED:
                    budget += BUDGETS["fault.wp_zero"]
                    self.tlbi_timing([page], int(self.vspaces.vspace["asid"][proc.vspace]))
            self.charge("fault", self.entry + self.path(budget) + self.exit)
            self.count_fault(outcome)
            return True
        if outcome == SEGV:
            self.charge("fault", self.entry + self.path(budget + BUDGETS["fault.segv"]))
            self.count_fault(outcome)
            return False
        # NEED_MEMMGR: a file page or a copy-on-write page: the kernel's memory code
        self.charge("fault", self.entry + self.path(budget))
        served = proc.personality.page_fault(proc, page, access, pager=False)
        if served == REFILLED:  # cannot happen with the per-cpu stock; retried to be sure
            self.counts["kernel.fault_retries"] += 1
            return self._page_fault(proc, page, access)
        self.count_fault(outcome)
        self.charge("fault", self.exit if served == MAPPED else 0)
        return served == MAPPED

    def _stock(self, proc) -> None:
        """The frames a fault may need wait in the VSpace's pool (the per-cpu free list's
        stand-in: its accesses are the page allocation's, PageBook.allocate)."""
        missing = LEVELS - self.paging.pool_count(proc.vspace)
        if missing > 0:
            frames = self.frames.alloc_many(missing, zero=False, owner="memmgr")
            if len(frames) < missing:  # (those it had stay taken, as alloc by alloc)
                raise OutOfMemory(f"simulated RAM ({len(self.ram) >> 20} MiB) is exhausted")
            self.paging.refill(proc.vspace, frames, impl=self.impl)
            self.mem.n_log = 0  # (untimed: the allocation's accesses are PageBook.allocate's)

    def _account_tables(self, proc, page: int, tables: int) -> None:
        """The page tables this fault allocated (the deepest `tables` levels of the walk)."""
        if tables <= 0:
            return
        table, walk = int(self.vspaces.vspace["root"][proc.vspace]), []
        for level in range(LEVELS - 1):
            desc = int(self.vspaces.words[(table >> 3) + level_index(page, level)])
            if desc & TABLE_DESC != TABLE_DESC:
                break
            table = desc & ADDR_MASK
            walk.append(table)
        for pa in walk[-tables:]:
            self.page_steps.table(pa)

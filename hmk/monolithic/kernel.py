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
- on cores of different capacities, Linux's placement by utilisation: PELT, energy-aware
  wake-ups and misfit migration (hmk.monolithic.eas);
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
from hmk.kernel.threads import RUNNING as T_RUNNING
from hmk.kernel.vspace import TABLE_DESC
from hmk.monolithic.cfs import Cfs, sched_slice
from hmk.monolithic.costs import BUDGETS
from hmk.monolithic.eas import Signal, energy_cost, fits
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
        self.signals: dict[int, Signal] = {}  # tcb -> its utilisation (PELT; asymmetric only)
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
        the lowest-numbered (Linux breaks such ties by idle depth and utilisation:
        simplified); else the least loaded for its capacity (the groups' avg_load), the
        lowest-numbered of equals."""
        capacity = self.core_capacity
        idle = [c for c in cores if not load[c]]
        if idle:
            return idle[0]
        return min(cores, key=lambda c: (load[c] / capacity[c], c))

    # ---- cores of different capacities: utilisation, energy-aware wake-ups, misfits --------
    # (CoreKernel calls these only when the run's cores differ in capacity: `asymmetric`)
    def start(self, proc, tick_cycles: int) -> None:
        super().start(proc, tick_cycles)
        if self.asymmetric:
            for tcb in self._procs:
                self.thread_made(tcb)
            self.signals[proc.tcb].running = self.core_capacity[self.cpu]

    def _pelt_now(self) -> int:
        return self.now_ns() >> 10  # PELT's clock: ns / 1024

    def _utils(self) -> tuple[dict[int, int], list[int]]:
        """Every live thread's utilisation now, and each core's (its threads' summed)."""
        now, core_of = self._pelt_now(), self.threads.tcb["core"]
        utils, per_core = {}, [0] * self.ncores
        for tcb, signal in self.signals.items():
            signal.advance(now)
            utils[tcb] = u = signal.util()
            per_core[int(core_of[tcb])] += u
        return utils, per_core

    def thread_made(self, tcb: int) -> None:
        """post_init_entity_util_avg: half the spare capacity of the core it was placed on."""
        core = int(self.threads.tcb["core"][tcb])
        spare = self.core_capacity[core] - self._utils()[1][core]
        self.signals[tcb] = Signal(max(spare // 2, 0), self._pelt_now())

    def on_core(self, prev: int, nxt: int) -> None:
        """A switch: `prev`'s running time ends, `nxt`'s begins at this core's capacity."""
        now = self._pelt_now()
        for tcb, capacity in ((prev, 0), (nxt, self.core_capacity[self.cpu])):
            signal = self.signals.get(tcb)
            if signal is not None:
                signal.advance(now)
                signal.running = capacity

    def forget_thread(self, tcb: int) -> None:
        super().forget_thread(tcb)
        if self.asymmetric:
            self.signals.pop(tcb, None)

    def wake_core(self, tcb: int, prev: int, allowed: int) -> int:
        """select_task_rq_fair for a wake-up: find_energy_efficient_cpu while no core is
        overutilised, else the fallback (select_idle_sibling's select_idle_capacity)."""
        self.threads.work += self.ncores * BUDGETS["cfs.select_cpu"]
        utils, per_core = self._utils()
        capacity, task = self.core_capacity, utils.get(tcb, 0)
        cores = [c for c in range(self.ncores) if allowed >> c & 1]
        if any(not fits(min(u, c), c) for u, c in zip(per_core, capacity, strict=True)):
            self.counts["kernel.eas.overutilized"] += 1
            return self._idle_capacity(task, prev, cores)
        if not task:  # no utilisation to place: it stays (find_energy_efficient_cpu)
            return prev
        per_core[prev] -= task  # the cores' utilisation without the task
        core = self._least_energy(task, prev, cores, per_core)
        if core is None:  # it fits no core
            self.counts["kernel.eas.unfit"] += 1
            return self._idle_capacity(task, prev, cores)
        self.counts["kernel.eas.wakeups"] += 1
        return core

    def _least_energy(self, task: int, prev: int, cores: list[int], per_core: list[int]):
        """Among the previous core and, in each performance domain (the cores of one
        capacity), the allowed core with the most spare capacity, each one the task fits on
        with it: the one where it adds the least energy, the previous core on a tie (then
        the lowest-numbered). None when it fits none."""
        capacity, power = self.core_capacity, self.core_power
        spare: dict[int, int] = {}  # domain (its capacity) -> its core of most spare capacity
        candidates = []
        for c in cores:
            if not fits(per_core[c] + task, capacity[c]):
                continue
            if c == prev:
                candidates.append(c)
                continue
            best = spare.get(capacity[c])
            if best is None or per_core[c] < per_core[best]:
                spare[capacity[c]] = c
        candidates += spare.values()
        if not candidates:
            return None
        return min(candidates, key=lambda c: (energy_cost(power, capacity, c, task), c != prev, c))

    def _idle_capacity(self, task: int, prev: int, cores: list[int]) -> int:
        """select_idle_sibling on asymmetric capacities: the previous core if it is idle and
        the task fits it; else, from the core after it on, the first idle core it fits; else
        the idle core of the largest capacity; else the previous core."""
        capacity, n = self.core_capacity, self.ncores
        if not self.has_work(prev) and fits(task, capacity[prev]):
            return prev
        largest = None
        for c in sorted(cores, key=lambda c: (c - prev - 1) % n):
            if self.has_work(c):
                continue
            if fits(task, capacity[c]):
                return c
            if largest is None or capacity[c] > capacity[largest]:
                largest = c
        return prev if largest is None else largest

    def move_woken(self, tcb: int, core: int) -> None:
        """set_task_cpu at a wake-up (migrate_task_rq_fair): its virtual runtime carried over
        relative to each queue's min_vruntime."""
        self.threads.move_blocked(tcb, core)
        self.counts["kernel.migrations"] += 1
        self.need_resched = True

    def _bigger_idle_core(self, tcb: int):
        """The idle core of the largest capacity, larger than `tcb`'s core's, that `tcb` may
        run on and no other thread is moving to (None if there is none)."""
        capacity, allowed = self.core_capacity, self.allowed(tcb)
        here = capacity[int(self.threads.tcb["core"][tcb])]
        taken = set(self._moving.values())
        idle = [
            c
            for c in range(self.ncores)
            if allowed >> c & 1 and capacity[c] > here and not self.has_work(c) and c not in taken
        ]
        return min(idle, key=lambda c: (-capacity[c], c), default=None)

    def _misfit(self, tcb: int) -> bool:
        """Does running thread `tcb` no longer fit its core (update_misfit_status)?"""
        signal = self.signals.get(tcb)
        if signal is None or tcb in self._moving:
            return False
        signal.advance(self._pelt_now())
        return not fits(signal.util(), self.core_capacity[int(self.threads.tcb["core"][tcb])])

    def _move_misfit(self, tcb: int, core: int) -> None:
        """`tcb` goes to `core` when its own core next schedules (the stopper's push)."""
        self._moving[tcb] = core
        self.counts["kernel.misfit_migrations"] += 1
        self.threads.work += self.ncores * BUDGETS["cfs.misfit"]

    def balance_tick(self) -> None:
        """The tick of a core running a misfit task: it moves to an idle bigger core (the
        nohz balancer's kick, that core's load_balance and active balance, folded in)."""
        cur = self.running
        if cur >= 0 and self._misfit(cur):
            target = self._bigger_idle_core(cur)
            if target is not None:
                self._move_misfit(cur, target)

    def pull_waiting(self) -> bool:
        """newidle_balance: a waiting thread from an overloaded core (CoreKernel's rule); on
        cores of different capacities, failing that, a misfit task running on a smaller core
        is pushed here (active balance: its core is interrupted and moves it when it
        schedules; nothing has come yet, so False)."""
        if super().pull_waiting():
            return True
        if self.asymmetric and self.cpu not in self._moving.values():
            self._pull_misfit()
        return False

    def _pull_misfit(self) -> None:
        here, tcbs = self.core_capacity[self.cpu], self.threads.tcb
        for core in range(self.ncores):
            tcb = int(self.threads.runq["current"][core])
            if core == self.cpu or tcb < 0 or self.core_capacity[core] >= here:
                continue
            if int(tcbs["state"][tcb]) != T_RUNNING or not self.allowed(tcb) >> self.cpu & 1:
                continue
            if self._misfit(tcb):
                self._move_misfit(tcb, self.cpu)
                self._percpu[core]["need_resched"] = True
                self.send_ipis([core], "kernel.migration_ipis")
                return

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

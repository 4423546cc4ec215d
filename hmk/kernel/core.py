"""The core kernel (IC0) booted in simulated RAM and wired to the functional CPU.

`CoreKernel` lays out simulated physical memory, creates the kernel's object pools and serves the
CPU's kernel interface (hmk.cpu.machine: `page_fault`, `syscall`):

    [0, heap)                 kernel heap: every pool (TCBs, VSpaces, CSpace slots, endpoints,
                              activations, frame rings, region tables) at a physical address
    [heap, tables)            frames for page tables, process memory and the frame pools
    [tables, end of RAM)      the kernel's linear map of RAM: KERNEL_BASE + pa, global 4 KiB
                              pages, kernel-only; ASID 0's root, which times kernel accesses

A page fault runs the policy-free kernel paging path (hmk.kernel.paging, compiled twin by
default). What the kernel cannot resolve goes to the memory manager (hmk.services.memmgr) as an
IPC made on the faulting thread's behalf; with user-level paging every fault does. An SVC whose
number is a core-kernel call (hmk.kernel.hmcalls) is served here; any other goes to the Linux
personality (`linux`, hmk.kernel.minimal until the ABI shim exists).

Costs. Every kernel path's accesses are logged (KernelMemory) and timed through the same memory
hierarchy as the program, under the kernel's ASID 0 view; a path costs exception entry + its
instruction budget (hmk.kernel.costs) + its load stalls + exception return. `attach` connects
the timing side. A fault arrives in the middle of a recorded batch: its kernel accesses are timed
before the program accesses that preceded it in that batch (at most one batch, and always the
same ones: deterministic); an SVC ends a block, so syscalls are timed exactly in order.
"""

from __future__ import annotations

import heapq
from collections import Counter
from contextlib import contextmanager
from errno import EINTR

import numpy as np

from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.costs import BUDGETS, path_cycles
from hmk.kernel.cspace import CSpaces
from hmk.kernel.frames import FrameObjects
from hmk.kernel.hmcalls import HM_CALL_BASE, HmCalls, is_hm_call
from hmk.kernel.hmcalls import NAMES as HM_NAMES
from hmk.kernel.ipc import Ipc, ipc_cycles
from hmk.kernel.memory import Frames
from hmk.kernel.minimal import SIGPAGE
from hmk.kernel.notify import Notifications
from hmk.kernel.objects import KERNEL_BASE, KernelMemory
from hmk.kernel.paging import (
    NEED_MEMMGR,
    NEED_PAGER,
    OUTCOMES,
    RESOLVED,
    SEGV,
    KernelPaging,
    fault_budget,
)
from hmk.kernel.syscalls import NAMES as SYSCALL_NAMES
from hmk.kernel.threads import BLOCKED as T_BLOCKED
from hmk.kernel.threads import Threads
from hmk.kernel.tokens import Tokens
from hmk.kernel.vspace import VSpaces
from hmk.services.signals import (
    IGNORED_BY_DEFAULT,
    SEGV_MAPERR,
    SIG_DFL,
    SIG_IGN,
    SIGBUS,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGTRAP,
    restarts,
)
from hmk.services.signals import bit as sig_bit

LINEAR_SPAN = 2 << 20  # the linear map is built a 2 MiB last-level table at a time
# assumed: Linux arm64's defconfig CONFIG_HZ=250 (a 4 ms tick); HM's tick is not published
TICK_US = 4000
SLICE_TICKS = 3  # assumed: a few ticks per slice, as seL4's default (5 ms ticks, 1 tick)...
SCRIPT_CHANNEL = 0x484D4B00  # "HMK\0": hmk.api's private SVC (workloads/script/scripthost.c)
MEMMGR_SLOT = 0  # every process's CSpace slot 0: the memory manager's endpoint (CALL)
MAPPED, REFILLED, REFUSED = range(3)  # what the memory manager did about a fault


class CoreKernel:
    """IC0 on one core of a hardware profile. `linux` serves Linux syscalls (its `syscall(m)`);
    `memmgr` is the memory-manager side (policy), set by the caller after boot."""

    def __init__(
        self,
        ram: np.ndarray,
        *,
        user_level_paging: bool = False,
        capabilities_only: bool = False,
        impl: str = "cython",
        heap_bytes: int = 2 << 20,  # the default pools need ~1.3 MiB
        processes: int = 64,
        threads: int = 256,
        asid_bits: int = 16,
        pool_depth: int = 64,
        max_regions: int = 64,
    ):
        if len(ram) % LINEAR_SPAN or len(ram) < 2 * heap_bytes:
            raise ValueError(
                f"kernel: simulated RAM must be a multiple of 2 MiB and at least "
                f"{2 * heap_bytes >> 20} MiB (twice the kernel heap), not {len(ram) / 2**20:g} MiB"
            )
        if impl not in ("python", "cython"):
            raise ValueError(f"kernel: unknown hot-path implementation {impl!r}")
        self.ram, self.impl = ram, impl
        self.mem = KernelMemory(ram, 0, heap_bytes)
        self.tables_floor = len(ram) - _linear_map_frames(len(ram)) * PAGE_SIZE
        self.frames = Frames(ram, heap_bytes, end=self.tables_floor)
        self.caps = CSpaces(self.mem, slots=processes * 64, cspaces=processes, objects_per_type=256)
        self.threads = Threads(self.mem, threads, cores=1, tick_cycles=1, slice_ticks=SLICE_TICKS)
        self.vspaces = VSpaces(
            self.mem,
            ram,
            self.frames,
            processes,
            asid_bits,
            pool_depth=pool_depth,
            max_regions=max_regions,
        )
        self.paging = KernelPaging(self.vspaces, user_level_paging=user_level_paging)
        self.ipc = Ipc(self.mem, self.caps, self.threads, self.vspaces, 64, 256, 2, 64)
        # call/reply go through the compiled fastpath twin (identical state, logs and results;
        # it falls back to the reference for every slowpath case) unless impl="python"
        self.ipc_paths = self.ipc
        if impl == "cython":
            from hmk._fast.ipcfast import FastIpc  # noqa: PLC0415

            self.ipc_paths = FastIpc(self.ipc)
        self.tokens = Tokens(self.mem, self.vspaces, 4 * processes, capabilities_only)
        self.notifications = Notifications(self.mem, self.threads, 64)
        self.frame_objects = FrameObjects(self.vspaces, 256)
        self.roots = np.full(1 << 16, -1, np.int64)
        self.roots[0] = self._linear_map()
        self.counts: Counter = Counter()
        self.cycles: Counter = Counter()  # kernel-side cycles by path
        self.on_charge = None  # called with (path, cycles) on every charge, when set
        self.context: list[str] = []  # what the kernel is doing on whose behalf (within())
        self.resuming: dict[int, int] = {}  # tcb -> the pc of its blocked SVC (will_restart)
        self._retried: set[int] = set()  # blocked calls that ran again with a handler pending
        self.images: dict = {}  # program image key -> its ElfImage (the profile's symbols)
        self.linux = None
        self.memmgr = None
        self.shim = None  # the Linux ABI shim (hmk.kernel.shim), when a composition is set
        self.procmgr = None  # the process manager (hmk.services.procmgr)
        # hmk.api's channel to scripted processes (SVC number SCRIPT_CHANNEL): the simulator's
        # own traffic, served before anything is charged or counted, so it costs the guest nothing
        self.script_channel = None
        self.fatal = None  # what ended the last process a fault killed
        self.current = None  # the Process whose VSpace is on the core
        self.hmcalls = HmCalls(self)
        self._procs: dict[int, Process] = {}  # tcb -> its process
        self._space: dict[int, Process] = {}  # tcb -> whose VSpace it runs in (IPC moves it)
        self.by_vspace: dict[int, Process] = {}
        self._extra: dict[int, list[int]] = {}  # tcb -> FP/SIMD, FPCR, FPSR, TPIDR_EL0
        self.need_resched = False  # set when a thread changed state: decide at kernel exit
        self.tick_cycles = 0  # 0: no timer interrupts (set by start())
        self.ghz = 1.0  # the core's clock (the runner sets it): timeouts in ns to cycles
        self.deadlines: dict[int, int] = {}  # tcb -> its pending timed wait's end (cycles)
        self._sleepers: list[tuple[int, int, int]] = []  # heap of (deadline, seq, tcb)
        self._sleep_seq = 0
        self._waits: dict[int, list | None] = {}  # tcb -> the wait list it also sleeps on
        self._next_tick = 0
        self._now = lambda: 0  # the simulated clock in core cycles (set by attach)
        self._clock_at_sync = 0
        # the timing side (attach): until then kernel paths run untimed
        self._sync = lambda: None
        self._latencies = None
        self._add_cycles = lambda n: None
        self._flush = lambda pages, asid: None
        self._tlbi_hierarchy = None  # set by the runner: the timing model's TLB maintenance
        self.l1_hit, self.entry, self.exit = 4, 0, 0

    # ---- boot ----------------------------------------------------------------------------
    def _linear_map(self) -> int:
        """ASID 0's root: all of RAM at KERNEL_BASE + pa (table frames above tables_floor)."""
        nxt = [self.tables_floor]

        def table_frame():
            nxt[0] += PAGE_SIZE
            return nxt[0] - PAGE_SIZE

        tables = PageTables(self.ram, table_frame)
        root = tables.new_root()
        tables.map_linear(
            root, KERNEL_BASE, 0, len(self.ram), user=False, executable=False, global_=True
        )
        return root

    def _tlbi_timing(self, pages, asid) -> None:
        """Drop translations from the timing model only (the CPU refills on its own: used
        inside a fault, where flushing the CPU's TLB is not allowed)."""
        if self._tlbi_hierarchy is not None:
            self._tlbi_hierarchy(pages, asid)

    def attach(self, core_type, sync, latencies, add_cycles, flush, now) -> None:  # noqa: PLR0913
        """Time kernel paths: `sync()` waits for the program's pending batches, `latencies(log)`
        times a kernel log through the hierarchy, `add_cycles(n)` charges the core,
        `flush(pages or None, asid)` drops translations (CPU and timing TLBs), `now()` is the
        simulated clock in core cycles."""
        self._sync, self._latencies, self._add_cycles = sync, latencies, add_cycles
        self._flush, self._now = flush, now
        self.l1_hit = core_type.l1d.latency
        self.entry, self.exit = core_type.exception_entry, core_type.exception_return

    # ---- costs ---------------------------------------------------------------------------
    def path(self, budget: int) -> int:
        """Cycles of the kernel work logged since the last call: budget + load stalls."""
        log = self.mem.take_log()
        if self._latencies is None or not len(log):
            return int(budget)
        return path_cycles(budget, self._latencies(log), log["kind"], self.l1_hit)

    def charge(self, what: str, cycles: int) -> None:
        self.cycles[what] += int(cycles)
        self._add_cycles(int(cycles))
        if self.on_charge is not None:  # a stack profile (hmk.report.stacks) is listening
            self.on_charge(what, int(cycles))

    @contextmanager
    def within(self, frame: str):
        """Charges inside are made on behalf of `frame` (a syscall, a service, a fault): the
        stack profile's frames between the program's function and the kernel path."""
        self.context.append(frame)
        try:
            yield
        finally:
            self.context.pop()

    def activate(self, proc) -> int:
        """Make `proc`'s VSpace current on the core (TTBR0/ASID); returns its ASID."""
        asid, flush = self.vspaces.activate(proc.vspace)
        if flush:
            self.counts["kernel.asid.rollovers"] += 1
            self._flush(None, 0)
        self.roots[asid] = proc.root
        self.current = proc
        return asid

    # ---- the CPU's kernel interface ------------------------------------------------------
    def page_fault(self, machine, vaddr: int, access: str, proc=None) -> bool:
        """A translation or permission fault in `proc` (default: the one on the core): resolved
        in the kernel from the VSpace's frame pool, else by an IPC to the memory manager (or
        the pager)."""
        self._sync()
        proc = proc or self.current
        with self.within("kernel:page fault"):
            return self._page_fault(proc, vaddr & ~(PAGE_SIZE - 1), access)

    def _page_fault(self, proc, page: int, access: str) -> bool:
        cycles = self.entry + BUDGETS["exception.frame"]
        for attempt in range(2):
            outcome, log = self.paging.handle_fault(proc.vspace, page, access, self.impl)
            cycles += self.path(fault_budget(outcome, log))
            self.counts[f"kernel.faults.{OUTCOMES[outcome]}"] += 1
            if outcome not in (NEED_MEMMGR, NEED_PAGER):
                break
            self.charge("fault", cycles)
            cycles = 0
            served = self.memmgr.serve_fault(proc, page, access, pager=outcome == NEED_PAGER)
            if served != REFILLED or attempt:
                outcome = RESOLVED if served == MAPPED else SEGV
                break
        self.charge("fault", cycles + (self.exit if outcome == RESOLVED else 0))
        return outcome == RESOLVED

    def ipc_path(self, result) -> int:
        """Cycles of the IPC call or reply path just taken (its log): budget + load stalls."""
        log = self.mem.take_log()
        lat = self._latencies(log) if self._latencies is not None and len(log) else None
        if lat is None:
            lat = np.zeros(len(log), np.int32)
        return ipc_cycles(result, log, lat, self.l1_hit)

    def syscall(self, machine) -> None:
        """An SVC: a core-kernel call (hmk.kernel.hmcalls) or a Linux syscall; then the
        scheduler's decision at kernel exit (a timer tick that fell due is taken here too)."""
        registers = machine.syscall_registers()
        *args, nr = registers
        if nr == SCRIPT_CHANNEL and self.script_channel is not None:
            self.script_channel(machine)
            return
        hm = is_hm_call(nr)
        name = f"hm.{HM_NAMES.get(nr - HM_CALL_BASE, nr)}" if hm else SYSCALL_NAMES.get(nr, nr)
        # a call that blocked is executed again when its thread wakes (ERESTARTSYS): the
        # same call going on, so its entry, dispatch and the IPC to its service are not
        # charged or counted again (the service's own work is: it looks again)
        resumed = self.resuming.pop(self.running, None) == machine.pc
        with self.within(f"syscall:{name}"):
            if not resumed:
                self.charge("syscall", self.entry + BUDGETS["exception.frame"] + self.exit)
                self.counts["kernel.syscalls"] += 1
            if hm:
                result = self.hmcalls.call(machine, nr - HM_CALL_BASE, args)
                if result is not None:
                    machine.set_reg(0, result)
            else:
                proc = self._procs.get(self.running)
                linux = getattr(proc, "linux", None) or self.linux
                if self.shim is not None:
                    self.shim.syscall(machine, registers, linux, resumed)
                else:
                    linux.syscall(machine, registers)
        self.frames.release_code()  # between blocks: freed code frames may be reused now
        if machine._stopped:
            return
        now = self._now()
        self._timer(now)
        if self._sleepers and now >= self._sleepers[0][0]:
            self._wake_sleepers(now)
        if self.need_resched:
            self.reschedule(machine)
        self.deliver_signals(machine)

    # ---- threads and the scheduler (one core) --------------------------------------------
    def start(self, proc, tick_cycles: int) -> None:
        """Make `proc`'s first thread the running one; the timer fires every `tick_cycles`."""
        self.adopt(proc.tcb, proc, None)
        self.threads.resume(proc.tcb)
        self.threads.context_switch(0, -1, proc.tcb, [])
        self.tick_cycles, self._next_tick = tick_cycles, tick_cycles
        self.mem.take_log()

    @property
    def running(self) -> int:
        return int(self.threads.runq["current"][0])

    @property
    def running_process(self):
        """The process whose thread is on the core (the last one active while none is)."""
        return self._procs.get(self.running) or self.current

    def process_of(self, tcb: int):
        return self._procs[tcb]

    def adopt(self, tcb: int, proc, extra) -> None:
        self._procs[tcb] = proc
        if extra is not None:
            self._extra[tcb] = list(extra)

    def set_saved_context(self, tcb: int, ctx) -> None:
        for i, value in enumerate(ctx):
            self.mem.store(self.threads.tcb, tcb, "regs", int(value), i)

    def exit_thread(self, machine, tcb: int) -> None:
        """The thread is gone; the process ends with its last thread (status 0)."""
        proc = self._procs[tcb]
        self.forget_thread(tcb)
        self.charge("hmcall", self.path(BUDGETS["thread.op"]))
        if not any(p is proc for p in self._procs.values()):
            task = getattr(proc.linux, "task", None)
            if task is not None and self.procmgr is not None:
                self.procmgr.exited(machine, task, 0)
            else:
                self.linux.proc.exit_status = 0
                machine.stop()

    # ---- timed waits (nanosleep, futex and ppoll timeouts) -------------------------------
    def wait_deadline(self, timeout_ns: int, absolute: bool = False) -> int:
        """The end (core cycles) of the running thread's timed wait: fixed on the call's first
        run and kept across its restarts (the personality forgets it when the call returns).
        `absolute`: `timeout_ns` is a time on the clock since boot, not a duration."""
        tcb = self.running
        deadline = self.deadlines.get(tcb)
        if deadline is None:
            cycles = -(-int(timeout_ns * self.ghz * 1000) // 1000)  # ns to cycles, rounded up
            deadline = max(cycles, 0) if absolute else self._now() + max(cycles, 0)
            self.deadlines[tcb] = deadline
        return deadline

    def sleep_until(self, deadline: int, queue: list | None = None) -> bool:
        """Block the running thread until `deadline` or, with `queue`, until woken from it;
        False (nothing done) when the deadline has passed: the call times out."""
        if self._now() >= deadline:
            return False
        tcb = self.running
        if queue is not None:
            queue.append(tcb)
        self.threads.block(tcb)
        heapq.heappush(self._sleepers, (deadline, self._sleep_seq, tcb))
        self._sleep_seq += 1
        self._waits[tcb] = queue
        self.need_resched = True
        return True

    def _wake_sleepers(self, now: int) -> None:
        """Wake every thread whose timed wait ended by `now` (taking it off its wait list)."""
        while self._sleepers and self._sleepers[0][0] <= now:
            deadline, _, tcb = heapq.heappop(self._sleepers)
            if not self._sleeping(tcb, deadline):
                continue
            queue = self._waits.pop(tcb, None)
            if queue is not None and tcb in queue:
                queue.remove(tcb)
            self.threads.wake(tcb)
            self.counts["kernel.timeouts"] += 1
            self.need_resched = True

    def _sleeping(self, tcb: int, deadline: int) -> bool:
        """Is `tcb` still blocked in the timed wait ending at `deadline`? (Not when its call
        ended another way: the heap entry is stale.)"""
        if self.deadlines.get(tcb) != deadline or not self.threads.valid(tcb):
            return False
        return int(self.threads.tcb["state"][tcb]) == T_BLOCKED

    def _idle(self) -> bool:
        """Nothing can run: if a timed wait is pending, the core idles until the first one
        ends (charged as `idle`; the timer ticks it sleeps through are skipped, as a tickless
        kernel's) and wakes it. False when no timed wait is pending."""
        while self._sleepers:
            deadline, _, tcb = self._sleepers[0]
            if not self._sleeping(tcb, deadline):
                heapq.heappop(self._sleepers)
                continue
            now = self._now()
            if deadline > now:
                self.charge("idle", deadline - now)
                now = deadline
            period = self.tick_cycles
            if period and now >= self._next_tick:
                self._next_tick = now + period - (now - self._next_tick) % period
            self._wake_sleepers(now)
            return True
        return False

    def will_restart(self, machine, interrupted: bool = False) -> None:
        """The running thread's call blocked: the CPU will execute its SVC (at machine.pc)
        again when the thread wakes, which syscall() treats as the same call resuming (the
        exception's return address: the instruction after the SVC). `interrupted`: a handler
        is pending, so the call does not sleep: the handler's delivery decides what becomes of
        it (restart or EINTR: _interrupt_call)."""
        tcb = self.running
        self.resuming[tcb] = machine.pc + 4
        if interrupted:
            self.interrupt(tcb)
            self._retried.add(tcb)

    def forget_thread(self, tcb: int) -> None:
        """Destroy a thread: its TCB, saved state, waits."""
        self.resuming.pop(tcb, None)
        self._retried.discard(tcb)
        self.deadlines.pop(tcb, None)
        self._waits.pop(tcb, None)
        self._procs.pop(tcb, None)
        self._extra.pop(tcb, None)
        self._space.pop(tcb, None)
        self.hmcalls.forget_thread(tcb)
        self.threads.destroy(tcb)
        self.need_resched = True

    def block_current(self, queue: list) -> None:
        """Block the running thread on `queue` (a wait list a later wake_all empties)."""
        tcb = self.running
        queue.append(tcb)
        self._waits[tcb] = queue
        self.threads.block(tcb)
        self.need_resched = True

    def wake_all(self, queue: list) -> None:
        for tcb in queue:
            if self._waits.get(tcb) is queue:
                del self._waits[tcb]
            if self.threads.valid(tcb) and int(self.threads.tcb["state"][tcb]) == T_BLOCKED:
                self.threads.wake(tcb)
        queue.clear()
        self.need_resched = True

    def interrupt(self, tcb: int) -> None:
        """A signal for a blocked thread: it leaves the list it waits on and runs; when the
        signal is delivered its call goes on or fails with EINTR (deliver_signals)."""
        queue = self._waits.pop(tcb, None)
        if queue is not None and tcb in queue:
            queue.remove(tcb)
        self.threads.wake(tcb)
        self.need_resched = True

    def spawn_domain(self, parent, name: str):
        """A new protection domain running `parent`'s program image: its own VSpace, CSpace
        and memory (the image's VMAs, fresh: file pages from the file, the rest zero), as a
        server started from the same executable."""
        proc = Process(self, name)
        space = self.memmgr.attach(proc)
        space.vmas = [v.copy() for v in parent.space.vmas]
        space.changed()
        return proc

    def switch_space(self, machine, proc, asid: int, flush: bool) -> None:
        """The TTBR0/ASID write an IPC or a context switch made: on the functional CPU too."""
        if flush:
            self.counts["kernel.asid.rollovers"] += 1
            self._flush(None, 0)
        self.roots[asid] = proc.root
        self.current = proc
        self._space[self.running] = proc
        machine.set_space(proc.root, asid, code=_image_of(proc))

    def reschedule(self, machine) -> None:
        """Kernel exit: switch to the thread the scheduler picks, if it is not the running one
        (34 registers through the TCBs, timed; FP/SIMD state and TLS moved functionally)."""
        self.need_resched = False
        cur = self.running
        alive = cur >= 0 and cur in self._procs
        to, regs = self.threads.dispatch(0, machine.context() if alive else [])
        if to == cur and to >= 0:  # (-1 twice: the running thread is gone, nothing is ready)
            self.mem.take_log()  # the pick's loads: part of every path's budget
            return
        if alive:
            self._extra[cur] = machine.extra_context()
        if to == -1 and self._idle():  # the core slept until a timed wait ended
            to, regs = self.threads.dispatch(0, [])
        if to < 0:
            machine.kill("every thread is blocked or suspended: nothing can run", 9)
            return
        machine.set_context(regs)
        if to in self._extra:
            machine.set_extra_context(self._extra[to])
        self.counts["kernel.context_switches"] += 1
        cycles = self.path(BUDGETS["sched.switch"])
        proc = self._space.get(to) or self._procs[to]
        if proc is not self.current:
            asid = self.activate(proc)
            machine.set_space(proc.root, asid, code=_image_of(proc))
            cycles += BUDGETS["ipc.ttbr_switch"]
        self.charge("sched", cycles)

    # ---- Linux signals (hmk.services.signals) ---------------------------------------------
    def deliver_signals(self, machine) -> None:
        """Kernel exit: the running thread's process takes its pending, unblocked signals: a
        handler runs (a signal frame on its stack), or the default action (terminate, which
        may switch to another thread, or ignore)."""
        while not machine._stopped:
            proc = self._procs.get(self.running)
            linux = getattr(proc, "linux", None)
            if linux is None or linux.task is None or linux.task.zombie:
                return
            st = linux.signals
            sig = st.next_signal()
            if not sig:
                return
            handler = st.actions.get(sig, (SIG_DFL,))[0]
            if st.handler_pending() and self._call_goes_first(machine):
                return  # the blocked call looks again first, as Linux's wakeup does
            st.pending &= ~sig_bit(sig)
            if handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT):
                st.info.pop(sig, None)
                continue
            self.counts[f"signals.delivered.{sig}"] += 1
            if handler == SIG_DFL or sig == SIGKILL:
                self.procmgr.exited(machine, linux.task, sig)
                if not machine._stopped:
                    self.reschedule(machine)
                continue
            self._interrupt_call(machine, linux, st.actions[sig][1])
            ctx, extra = machine.context(), machine.extra_context()
            regs = st.build_frame(linux.space, sig, ctx, extra, SIGPAGE)
            if regs is None:  # no room for the frame: Linux forces SIGSEGV
                self.procmgr.exited(machine, linux.task, SIGSEGV)
                if not machine._stopped:
                    self.reschedule(machine)
                continue
            machine.set_context(regs)
            self.charge("signal", BUDGETS["signal.deliver"])
            return

    def _call_goes_first(self, machine) -> bool:
        """Is the running thread at a blocked call's SVC that has not looked again since a
        signal woke it? (It may complete now, a child having exited or data arrived: then
        the handler runs after it, and it is not interrupted.)"""
        tcb = self.running
        at = self.resuming.get(tcb)
        return at is not None and at == machine.pc + 4 and tcb not in self._retried

    def _interrupt_call(self, machine, linux, flags: int) -> None:
        """A handler is about to run on a thread whose call blocked (the CPU would run its SVC
        again): the call goes on after the handler (a new kernel entry then) or fails with
        EINTR now, a sleep storing the time left, as Linux decides (signals.restarts)."""
        tcb = self.running
        after_svc = self.resuming.pop(tcb, None)
        self._retried.discard(tcb)
        if after_svc is None or after_svc != machine.pc + 4:
            return
        *args, nr = machine.syscall_registers()
        name = SYSCALL_NAMES.get(nr, "")
        deadline = self.deadlines.pop(tcb, None)
        if restarts(name, args, flags):
            linux.interrupted(nr, name, args, restarted=True)
            return
        if deadline is not None:
            left = max(deadline - self._now(), 0)
            linux.sleep_interrupted(name, args, int(left / self.ghz))
        linux.interrupted(nr, name, args)
        machine.set_reg(0, -EINTR)
        machine.set_pc(after_svc)

    def guest_fault(self, machine, signal: int, detail: str) -> bool:
        """Machine: the running thread faulted (SIGSEGV, SIGILL, SIGTRAP) or ran the machine
        out of memory (SIGKILL). Its process gets the signal; True when some thread can go on
        (a handler, or another process), False when the run ends (the first process died)."""
        proc = self._procs.get(self.running)
        linux = getattr(proc, "linux", None)
        if self.procmgr is None or linux is None or linux.task is None:
            return False
        self._sync()
        linux.signals.post(signal, SEGV_MAPERR, machine.fault_address)
        if signal in (SIGSEGV, SIGILL, SIGTRAP, SIGBUS):  # blocked or ignored, still fatal
            action = linux.signals.actions.get(signal, (SIG_DFL,))[0]
            if linux.signals.blocked & sig_bit(signal) or action == SIG_IGN:
                linux.signals.actions[signal] = (SIG_DFL, 0, 0, 0)
                linux.signals.blocked &= ~sig_bit(signal)
        self.fatal = detail
        self.deliver_signals(machine)
        return not machine._stopped

    def note_time(self) -> None:
        """Machine.on_sync: every batch before the current one is timed; remember the clock."""
        self._clock_at_sync = self._now()

    def boundary(self, machine) -> None:
        """Machine.on_boundary: a full buffer stopped the CPU between blocks; take a timer
        interrupt that fell due, a tick or a timed wait's end (judged by the clock at the last
        sync: deterministic)."""
        self.frames.release_code()
        clock = self._clock_at_sync
        tick = self.tick_cycles and clock >= self._next_tick
        wake = self._sleepers and clock >= self._sleepers[0][0]  # a timed wait's end
        if tick or wake:
            machine.sync()
            self.charge("timer", self.entry + BUDGETS["exception.frame"] + self.exit)
            self._timer(clock)
            if wake:
                self._wake_sleepers(clock)
            self.reschedule(machine)
            self.deliver_signals(machine)

    def _timer(self, now: int) -> None:
        """Every tick that fell due by `now`: the scheduler's tick (slice accounting)."""
        while self.tick_cycles and now >= self._next_tick:
            self._next_tick += self.tick_cycles
            self.threads.tick(0)
            self.need_resched = True
            self.counts["kernel.timer_ticks"] += 1
            self.charge("timer", self.path(BUDGETS["timer.tick"]))


def _image_of(proc):
    """The program image a process runs (its personality's), or None (a domain started from
    its parent's image: the same code)."""
    state = getattr(getattr(proc, "linux", None), "proc", None)
    return None if state is None else state.image


class Process:
    """A protection domain: a VSpace (root table, ASID), a CSpace and its threads."""

    def __init__(self, kernel: CoreKernel, name: str):
        self.kernel, self.name = kernel, name
        self.vspace = kernel.vspaces.create()
        self.cspace = kernel.caps.create(64)
        if self.vspace < 0 or self.cspace < 0:
            raise MemoryError(f"kernel: no VSpace or CSpace left for {name}")
        self.tcb = kernel.threads.create(100, 0, self.vspace, self.cspace)
        if self.tcb < 0:
            raise MemoryError(f"kernel: no TCB left for {name}")
        kernel.by_vspace[self.vspace] = self
        self.linux = None  # its Linux personality, if it runs a Linux program
        kernel.mem.take_log()  # boot-time set-up is not charged to the program

    @property
    def root(self) -> int:
        return int(self.kernel.vspaces.vspace["root"][self.vspace])


def _linear_map_frames(ram_bytes: int) -> int:
    """Table frames for a linear map of `ram_bytes`: one per 2 MiB, plus the upper levels."""
    return ram_bytes // LINEAR_SPAN + ram_bytes // (1 << 30) + 4


__all__ = ["CoreKernel", "Process", "MEMMGR_SLOT", "MAPPED", "REFILLED", "REFUSED", "TICK_US"]

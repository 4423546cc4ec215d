"""The core kernel (IC0) booted in simulated RAM: HM's mechanisms, and nothing of Linux.

`CoreKernel` lays out simulated physical memory, creates the kernel's object pools and serves the
CPU's kernel entries (hmk.cpu.machine: `page_fault`, `syscall`, `guest_fault`):

    [0, heap)                 kernel heap: every pool (TCBs, VSpaces, CSpace slots, endpoints,
                              activations, frame rings, region tables) at a physical address
    [heap, tables)            frames for page tables, process memory and the frame pools
    [tables, end of RAM)      the kernel's linear map of RAM: KERNEL_BASE + pa, global 4 KiB
                              pages, kernel-only; ASID 0's root, which times kernel accesses

A page fault runs the policy-free kernel paging path (hmk.kernel.paging, compiled twin by
default); what the kernel cannot resolve goes to the faulting process's personality, whose
memory manager gets it as an IPC made on the thread's behalf (with user-level paging, every
fault). An SVC whose number is a core-kernel call (hmk.kernel.hmcalls) is served here; any other
goes to the personality the process was started with (`Personality`: for Linux programs,
hmk.linux.shim), as do the exceptions it raises and the return to user mode, where a personality
delivers what it has pending (Linux's signals).

Costs. Every kernel path's accesses are logged (KernelMemory) and timed through the same memory
hierarchy as the program, under the kernel's ASID 0 view; a path costs exception entry + its
instruction budget (hmk.kernel.costs) + its load stalls + exception return. The core it runs on
(`CorePort`: the clock, the memory hierarchy, the CPU's TLB) is given at construction; the
default is untimed. A fault arrives in the middle of a recorded batch: its kernel accesses are
timed before the program accesses that preceded it in that batch (at most one batch, and always
the same ones: deterministic); an SVC ends a block, so syscalls are timed exactly in order.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np

from hmk.cpu.traps import STUCK
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.costs import BUDGETS, path_cycles
from hmk.kernel.cspace import CSpaces
from hmk.kernel.errors import ENOSYS
from hmk.kernel.frames import FrameObjects
from hmk.kernel.hmcalls import HM_CALL_BASE, HmCalls, is_hm_call
from hmk.kernel.hmcalls import NAMES as HM_NAMES
from hmk.kernel.ipc import Ipc, ipc_budget
from hmk.kernel.memory import Frames, OutOfMemory
from hmk.kernel.notify import Notifications
from hmk.kernel.objects import KERNEL_BASE, KernelMemory
from hmk.kernel.pagerecords import PageRecords
from hmk.kernel.paging import (
    DONE,
    NEED_MEMMGR,
    NEED_PAGER,
    OUTCOMES,
    RESOLVED,
    SEGV,
    ZERO_REPLACED,
    KernelPaging,
    fault_budget,
)
from hmk.kernel.threads import BLOCKED as T_BLOCKED
from hmk.kernel.threads import Threads
from hmk.kernel.timebase import SAME
from hmk.kernel.tokens import Tokens
from hmk.kernel.vspace import VSpaces

LINEAR_SPAN = 2 << 20  # the linear map is built a 2 MiB last-level table at a time
# assumed: Linux arm64's defconfig CONFIG_HZ=250 (a 4 ms tick); HM's tick is not published
TICK_US = 4000
SLICE_TICKS = 3  # assumed: a few ticks per slice, as seL4's default (5 ms ticks, 1 tick)...
MAPPED, REFILLED, REFUSED = range(3)  # what a pager did about a fault the kernel passed on
MAX_CORES = 16  # the most cores a run models (a DynamIQ cluster has at most 8; two of them)
# the kernel's state that is each core's own (CoreKernel.switch_cpu)
PER_CORE = (
    "port",
    "current",
    "need_resched",
    "_on_core",
    "_on_core_since",
    "_next_tick",
    "_clock_at_sync",
    # what the core's type and clock make a path cost there (CoreCosts)
    "entry",
    "exit",
    "l1_hit",
    "mlp",
    "kernel_ipc",
    "dram_line_cycles",
    # its compiled clock's (hmk._fast.kernelclock)
    "work_cycles",
    "path",
    "charge",
    "now",
    "cycles_until",
)
CAPACITY_SCALE = 1024  # the capacity of the run's fastest core (Linux's SCHED_CAPACITY_SCALE)
FAULT_COUNTS = {outcome: f"kernel.faults.{name}" for outcome, name in OUTCOMES.items()}


class CorePort:
    """The core the kernel runs on, as the kernel sees it; this one is untimed (no clock, no
    caches), for a kernel without a CPU. The assembly (hmk.system) gives a timed one.
    `timebase` (hmk.kernel.timebase) says how its cycles count on the run's time base."""

    timebase = SAME

    def sync(self) -> None:
        """Wait until every batch the CPU recorded before now is timed."""

    def latencies(self, log) -> np.ndarray | None:
        """Each logged access's latency through the memory hierarchy (None: untimed)."""
        return None

    def dram_writes(self) -> int:
        """Lines written back to DRAM so far (the hierarchy's counter; 0: untimed)."""
        return 0

    def timed(self, log, ends=None) -> tuple[np.ndarray, np.ndarray] | None:
        """`latencies(log)`, and the lines each segment log[ends[k-1]:ends[k]] wrote back to
        DRAM (`ends` None: one segment, the whole log; None: untimed): the log timed a
        segment at a time."""
        lat, writes, lo = [], [], 0
        for hi in (len(log),) if ends is None else ends:
            before = self.dram_writes()
            part = self.latencies(log[lo:hi]) if hi > lo else np.zeros(0, np.int32)
            if part is None:
                return None
            lat.append(part)
            writes.append(self.dram_writes() - before)
            lo = hi
        return np.concatenate(lat), np.array(writes, np.int64)

    def add_cycles(self, n: int) -> None:
        """Advance the core's clock by `n` cycles of kernel work."""

    def now(self) -> int:
        """The core's clock on the run's time base (cycles of the boot core's clock)."""
        return 0

    def cycles_until(self, time: int) -> int:
        """The core's cycles from now until its clock reads `time` (time base; 0: it has)."""
        return max(time - self.now(), 0)

    def flush(self, pages, asid: int) -> None:
        """TLB maintenance on the CPU and in the timing model: `pages` (None: all) of `asid`."""

    def flush_timing(self, pages, asid: int) -> None:
        """The same in the timing model only (inside a fault the CPU refills on its own)."""

    def flush_code(self) -> None:
        """Drop the CPU's translated code (a frame that held code is reused)."""

    def charged(self, kernel, what: str, cycles: int) -> None:
        """The kernel charged `cycles` to path `what` (a profile may be listening)."""

    def compiled(self):
        """(hierarchy, timing model, charged or None) of a timed core, for the compiled kernel
        clock (hmk._fast.kernelclock.KernelClock); `charged` None when no profile listens. None:
        untimed."""
        return None


class Personality(Protocol):
    """A foreign ABI the core kernel forwards to, for the processes started under it (Linux's is
    hmk.linux.shim.Shim): every SVC that is not a core-kernel call, the faults its pager must
    resolve, the exceptions its threads raise, and the return to user mode."""

    def syscall(self, machine, proc: Process, registers, resumed: bool) -> None:
        """An SVC of `proc`'s running thread; `resumed`: its blocked call going on."""

    def page_fault(self, proc: Process, page: int, access: str, pager: bool) -> int:
        """A fault kernel paging passed on: MAPPED, REFILLED (retry in the kernel), REFUSED."""

    def guest_fault(self, machine, proc: Process, kind: str, detail: str) -> bool:
        """The running thread raised an exception it cannot go on from (`kind`, hmk.cpu.traps:
        an abort the kernel refused, an undefined instruction, a breakpoint, the machine out of
        memory): True when some thread goes on."""

    def to_user(self, machine) -> None:
        """The kernel is about to return to the running thread."""

    def process_exited(self, machine, proc: Process) -> None:
        """The last thread of `proc` exited (a core-kernel thread_exit)."""

    def domain_started(self, parent: Process, child: Process) -> None:
        """`child` is a new domain running `parent`'s image (its memory is to be managed)."""


UNTIMED = CorePort()


@dataclass(frozen=True)
class CoreCosts:
    """What a core's type and clock make a kernel path cost there, in its own cycles: the
    exception entry and return, an L1D hit (loads' stalls are counted beyond it), the misses
    it overlaps (MLP), its kernel code's instructions per cycle, and the cycles DRAM takes to
    absorb a written-back line at its clock."""

    entry: int = 0
    exit: int = 0
    l1_hit: int = 4
    mlp: int = 1
    kernel_ipc: float = 1.0
    dram_line_cycles: float = 0.0

    @classmethod
    def of(cls, core=None, kernel_ipc: float = 1.0, dram_line_cycles: float = 0.0):
        """A core of type `core` (a hmk.hw.profile CoreType; None: untimed defaults)."""
        if not kernel_ipc > 0:
            raise ValueError(f"kernel: kernel_ipc must be positive, not {kernel_ipc!r}")
        if core is None:
            return cls(kernel_ipc=kernel_ipc, dram_line_cycles=dram_line_cycles)
        return cls(
            entry=core.exception_entry,
            exit=core.exception_return,
            l1_hit=core.l1d.latency,
            mlp=max(core.timing.mlp, 1),
            kernel_ipc=kernel_ipc,
            dram_line_cycles=dram_line_cycles,
        )


class CoreKernel:
    """IC0 on one core: `core` (a hmk.hw.profile CoreType: L1D latency, exception entry and
    return) at `ghz`, its clock, caches and TLBs behind `port`; `roots` is the walker's root
    table per ASID (the kernel writes ASID 0's and each activated VSpace's)."""

    hm_calls = True  # HM's own calls (hmk.kernel.hmcalls) are served

    def __init__(  # noqa: PLR0913
        self,
        ram: np.ndarray,
        roots: np.ndarray | None = None,
        *,
        port: CorePort = UNTIMED,
        core=None,
        ghz: float = 1.0,
        user_level_paging: bool = False,
        capabilities_only: bool = False,
        impl: str = "cython",
        dram_line_cycles: float = 0.0,
        kernel_ipc: float = 1.0,
        heap_bytes: int = 2 << 20,  # the default pools need ~1.3 MiB
        processes: int = 64,
        threads: int = 256,
        asid_bits: int = 16,
        pool_depth: int = 64,
        max_regions: int = 64,
        cores: int = 1,
    ):
        if isinstance(cores, bool) or not isinstance(cores, int) or not 1 <= cores <= MAX_CORES:
            raise ValueError(f"kernel: cores must be 1 to {MAX_CORES}, not {cores!r}")
        self.ncores, self.cpu = cores, 0  # the cores, and the one whose kernel code runs now
        if len(ram) % LINEAR_SPAN or len(ram) < 2 * heap_bytes:
            raise ValueError(
                f"kernel: simulated RAM must be a multiple of 2 MiB and at least "
                f"{2 * heap_bytes >> 20} MiB (twice the kernel heap), not {len(ram) / 2**20:g} MiB"
            )
        if impl not in ("python", "cython"):
            raise ValueError(f"kernel: unknown hot-path implementation {impl!r}")
        self.ram, self.impl, self.port, self.ghz = ram, impl, port, ghz
        self.counting_fault = True  # the fault being handled is the CPU's (page_fault)
        # the running core's entry, exit, l1_hit, mlp, kernel_ipc (instructions per cycle of
        # kernel code, calibrated) and dram_line_cycles (core cycles DRAM takes to absorb one
        # written-back line: the SoC's write bandwidth)
        costs = CoreCosts.of(core, kernel_ipc, dram_line_cycles)
        vars(self).update(asdict(costs))
        self.core_capacity = [CAPACITY_SCALE] * cores  # each core's, for placement
        # each core's power at its clock (uW, hmk.system.cores: an energy model's), and
        # whether the run's cores differ in capacity (start(): placement by capacity is on)
        self.core_power = [0] * cores
        self.asymmetric = False
        self.mem = KernelMemory(ram, 0, heap_bytes)
        self.tables_floor = len(ram) - _linear_map_frames(len(ram)) * PAGE_SIZE
        self.frames = Frames(ram, heap_bytes, end=self.tables_floor, on_code_reuse=port.flush_code)
        self.caps = CSpaces(self.mem, slots=processes * 64, cspaces=processes, objects_per_type=256)
        self.threads = self.scheduler(threads)
        self._current = self.threads.runq["current"]  # the running thread per core (running)
        self.vspaces = VSpaces(
            self.mem,
            ram,
            self.frames,
            processes,
            asid_bits,
            cores=cores,
            pool_depth=pool_depth,
            max_regions=max_regions,
        )
        self.zero_page = self.frames.alloc(owner="kernel")  # the shared zero page
        # the page-table walks and edits services ask for: VSpaces's, or its compiled twin
        self.pagetables = self.vspaces.twin() if impl == "cython" else self.vspaces
        self.paging = KernelPaging(
            self.vspaces, user_level_paging=user_level_paging, zero_page=self.zero_page
        )
        self.page_records = PageRecords(self.mem, self.frames)
        # a new anonymous page recorded for the memory manager (impl: the compiled twin)
        records = self.page_records.twin() if impl == "cython" else self.page_records
        self.record_page = records.record
        self.ipc = Ipc(self.mem, self.caps, self.threads, self.vspaces, 64, 256, 2, 64)
        # call/reply go through the compiled fastpath twin (identical state, logs and results;
        # it falls back to the reference for every slowpath case) unless impl="python"
        self.ipc_paths = self.ipc
        self._costs = None  # the compiled path costs (hmk._fast.pathcost), unless impl="python"
        if impl == "cython":
            from hmk._fast import pathcost  # noqa: PLC0415
            from hmk._fast.ipcfast import FastIpc  # noqa: PLC0415

            self.ipc_paths = FastIpc(self.ipc)
            self._costs = pathcost
        self.tokens = Tokens(self.mem, self.vspaces, 4 * processes, capabilities_only)
        self.notifications = Notifications(self.mem, self.threads, 64)
        self.frame_objects = FrameObjects(self.vspaces, 256)
        self.roots = np.full(1 << 16, -1, np.int64) if roots is None else roots
        self.roots[0] = self._linear_map()
        self.counts: Counter = Counter()
        self.cycles: Counter = Counter()  # kernel-side cycles by path
        # CPU time: tcb -> [cycles it ran, of them the system's]; the running thread's list
        # (boot's: nobody's), and the clock when it was last switched to or accounted
        self.thread_cpu: dict[int, list[int]] = {}
        self._on_core, self._on_core_since = [0, 0], 0
        self.context: list[str] = []  # what the kernel is doing on whose behalf (within())
        self._frames: dict[str, _Within] = {}  # within()'s context managers, one per frame
        # a thread whose call blocked runs its SVC again when it wakes: tcb -> the address
        # after that SVC, while the call is the same call going on (restart_call)
        self.resuming: dict[int, int] = {}
        self._retried: set[int] = set()  # blocked calls that ran again with a handler pending
        self.current = None  # the Process whose VSpace is on the core
        self.hmcalls = HmCalls(self)
        self._procs: dict[int, Process] = {}  # tcb -> its process
        self._space: dict[int, Process] = {}  # tcb -> whose VSpace it runs in (IPC moves it)
        self.by_vspace: dict[int, Process] = {}
        self._extra: dict[int, list[int]] = {}  # tcb -> FP/SIMD, FPCR, FPSR, TPIDR_EL0
        self.need_resched = False  # set when a thread changed state: decide at kernel exit
        self._sched_work = 0  # instructions of wake-ups and blocks not yet charged
        self.tick_cycles = 0  # 0: no timer interrupts (set by start())
        self.deadlines: dict[int, int] = {}  # tcb -> its pending timed wait's end (cycles)
        self._sleepers: list[tuple[int, int, int]] = []  # heap of (deadline, seq, tcb)
        # (cycles, why): the simulated time the run may not pass (a run limit, the clock's
        # range); an idle core that would sleep beyond it ends the run there
        self.horizon: tuple[int, str] | None = None
        self._sleep_seq = 0
        self._waits: dict[int, list | None] = {}  # tcb -> the wait list it also sleeps on
        self._alarms: list[tuple[int, int]] = []  # heap of (deadline, handle)
        self._alarm_calls: dict[int, object] = {}  # handle -> what to call (armed alarms)
        self._alarm_seq = 0
        self._next_tick = 0
        self._clock_at_sync = 0
        # the other cores' per-core state (PER_CORE), kept while another core runs
        self._percpu: list[dict | None] = [None]
        # with more than one core, the simulator's: called when the running core has nothing
        # to run, True when another core took the CPU (hmk.system.cores)
        self.other_core = None
        self.asid_cores: dict[int, set[int]] = {}  # the cores each ASID ran on since given out
        # threads to move off the core they run on at its next schedule (set_affinity): tcb ->
        # the core they go to
        self._moving: dict[int, int] = {}
        # on a timed core the compiled clock (hmk._fast.kernelclock) computes work_cycles, path and
        # charge: the same results as the methods below, with no arrays made per kernel path
        vars(self).update(self._clock(port, costs))

    # ---- many cores ------------------------------------------------------------------------
    # The simulator runs one core's kernel code at a time: the kernel's per-core state (its
    # port, clock and timer, the process on it, its running thread's CPU-time account) is that
    # of `cpu`, the core running now, and switch_cpu swaps it for another's, as a real kernel's
    # per-CPU area is found through the core's own register.
    def add_core(
        self, port: CorePort, costs: CoreCosts | None = None, capacity: int = 0, power: int = 0
    ) -> int:
        """Another core behind `port`, idle, its paths costing `costs` (default: the boot
        core's), of `capacity` and `power` (uW) for placement (default: the boot core's);
        returns its number."""
        cpu = len(self._percpu)
        if cpu >= self.ncores:
            raise ValueError(f"kernel: it was made for {self.ncores} cores")
        if costs is None:
            costs = CoreCosts(**{f.name: getattr(self, f.name) for f in fields(CoreCosts)})
        state = {
            "port": port,
            "current": None,
            "need_resched": False,
            "_on_core": [0, 0],
            "_on_core_since": 0,
            "_next_tick": self.tick_cycles,
            "_clock_at_sync": 0,
            **asdict(costs),
            **self._clock(port, costs),
        }
        self.core_capacity[cpu] = capacity or self.core_capacity[0]
        self.core_power[cpu] = power or self.core_power[0]
        self._percpu.append(state)
        return cpu

    def _clock(self, port: CorePort, costs: CoreCosts) -> dict:
        """On a timed core, the compiled clock's methods (hmk._fast.kernelclock computes
        work_cycles, path, charge, now and cycles_until: the same results as the methods
        below, with no arrays made per kernel path); on an untimed one, none."""
        parts = port.compiled() if self.impl == "cython" else None
        if parts is None:
            return {}
        from hmk._fast.kernelclock import KernelClock  # noqa: PLC0415

        clock = KernelClock(self, *parts, timebase=port.timebase, costs=costs)
        names = ("work_cycles", "path", "charge", "now", "cycles_until")
        return {name: getattr(clock, name) for name in names}

    def switch_cpu(self, cpu: int) -> None:
        """Make `cpu` the core whose kernel code runs: its per-core state in place."""
        if cpu == self.cpu:
            return
        mine = vars(self)
        self._percpu[self.cpu] = {name: mine[name] for name in PER_CORE if name in mine}
        mine.update(self._percpu[cpu])
        self._percpu[cpu] = None
        self.cpu = self.mem.core = cpu

    def home_core(self, allowed: int | None = None) -> int:
        """The core a new or moving thread is placed on, among the cores of `allowed` (a mask,
        bit n for core n; None: every core), by the kernel's placement (`place`) of the
        threads that are not blocked on each."""
        if self.ncores == 1:
            return 0
        load = [0] * self.ncores
        tcb = self.threads.tcb
        for t in self._procs:
            if int(tcb["state"][t]) != T_BLOCKED:
                load[int(tcb["core"][t])] += 1
        cores = [c for c in range(self.ncores) if allowed is None or allowed >> c & 1]
        return self.place(cores, load)

    def place(self, cores: list[int], load: list[int]) -> int:
        """HM's placement of a new thread among `cores` (each with `load` threads not
        blocked): an idle core, the one of the highest capacity (`core_capacity`), else the
        least loaded for its capacity, the higher capacity of equals; the lowest-numbered of
        equals in the end. Assumed: the HM paper does not publish its balancing; a phone's
        kernel that starts new work where it runs fastest (docs/smp.md). With cores of one
        capacity, the idlest core, as Linux's select_task_rq_fair picks it."""
        capacity = self.core_capacity
        idle = [c for c in cores if not load[c]]
        if idle:
            return min(idle, key=lambda c: (-capacity[c], c))
        return min(cores, key=lambda c: (load[c] / capacity[c], -capacity[c], c))

    def new_thread(self, priority: int, vspace: int, cspace: int) -> int:
        """A new INACTIVE thread in `vspace` and `cspace` (its TCB index, or the error):
        allowed on the cores its creator, the running thread, may use (every core at boot),
        as Linux's fork and clone copy the creator's mask, and placed on one of them."""
        if self.ncores == 1:
            return self.threads.create(priority, 0, vspace, cspace)
        creator = self.running
        allowed = self.allowed(creator) if self.threads.valid(creator) else None
        tcb = self.threads.create(priority, self.home_core(allowed), vspace, cspace, allowed)
        if self.asymmetric and tcb >= 0:
            self.thread_made(tcb)
        return tcb

    # ---- cores of different capacities (start() sets `asymmetric`) -----------------------
    def thread_made(self, tcb: int) -> None:
        """A new thread was placed (a kernel that tracks utilisation starts its signal)."""

    def on_core(self, prev: int, nxt: int) -> None:
        """The scheduler switched this core from `prev` to `nxt` (either -1: none)."""

    def balance_tick(self) -> None:
        """A timer tick on this core: a kernel that balances by utilisation looks here."""

    def woken_here(self, tcb: int) -> None:
        """Thread `tcb` is about to wake: with cores of different capacities, the kernel's
        wake-up placement (`wake_core`) may move it off the core it slept on first."""
        if not self.asymmetric:
            return  # (cores of one capacity: it wakes where it slept)
        prev = int(self.mem.load(self.threads.tcb, tcb, "core"))
        core = self.wake_core(tcb, prev, self.allowed(tcb))
        if core != prev:
            self.counts["kernel.wake_moves"] += 1
            self.move_woken(tcb, core)

    def wake_core(self, tcb: int, prev: int, allowed: int) -> int:
        """HM's wake-up placement, assumed (the HM paper publishes none; docs/smp.md): the
        performance-first rule of its placement of new threads, applied to a waking one: the
        idle allowed core of the highest capacity if it is bigger than the core it slept on
        (the lowest-numbered of equals), else that core. Each core's run queue is looked at
        (`sched.wake_place` a core)."""
        self.sched_note("wake_place", self.ncores)
        capacity = self.core_capacity
        idle = [c for c in range(self.ncores) if allowed >> c & 1 and not self.has_work(c)]
        best = min(idle, key=lambda c: (-capacity[c], c), default=prev)
        return best if capacity[best] > capacity[prev] else prev

    def move_woken(self, tcb: int, core: int) -> None:
        """Put the blocked thread `tcb` on `core`, where it wakes."""
        self.migrate(tcb, core)

    def allowed(self, tcb: int) -> int:
        """The cores thread `tcb` may run on, a mask (a timed load of its TCB's; with one core,
        that core)."""
        if self.ncores == 1:
            return 1
        return int(self.mem.load(self.threads.tcb, tcb, "affinity"))

    def set_affinity(self, tcb: int, allowed: int) -> bool:
        """Let thread `tcb` run on the modeled cores of `allowed` (a mask; bits of cores not
        modeled are dropped, as Linux keeps only possible CPUs): False, and nothing changed,
        when none is left. A thread on a core it may no longer use moves to the least loaded
        allowed one (Linux's __set_cpus_allowed_ptr): a queued or waiting thread at once; one
        whose registers are on its core when that core next schedules, before it picks
        (Linux's stopper task; another core's is interrupted for it)."""
        allowed &= (1 << self.ncores) - 1
        if not allowed:
            return False
        if self.ncores == 1:
            return True
        self.mem.store(self.threads.tcb, tcb, "affinity", allowed)
        self._moving.pop(tcb, None)
        core = int(self.mem.load(self.threads.tcb, tcb, "core"))
        if allowed >> core & 1:
            return True
        target = self.home_core(allowed)
        if self.threads.current(core) != tcb:
            self.migrate(tcb, target)
            return True
        self._moving[tcb] = target
        if core == self.cpu:  # the caller itself: switched out at this kernel exit
            self.need_resched = True
            return True
        self._percpu[core]["need_resched"] = True
        self.send_ipis([core], "kernel.migration_ipis")
        return True

    def migrate(self, tcb: int, core: int) -> None:
        """Move thread `tcb` to `core` (Threads.migrate: a queued thread to its run queue),
        the scheduler's work charged with the next switch."""
        self.threads.migrate(tcb, core)
        self.sched_note("migrate")
        self.counts["kernel.migrations"] += 1
        self.need_resched = True

    def cores_running(self, procs) -> list[int]:
        """The other cores whose thread on them (their run queues' `current`, timed loads)
        is one of `procs`' threads."""
        out = []
        for core in range(self.ncores):
            if core != self.cpu:
                tcb = self.threads.current(core)
                if tcb >= 0 and self._procs.get(tcb) in procs:
                    out.append(core)
        return out

    def send_ipis(self, cores, counter: str) -> int:
        """Interrupt each of `cores` (other cores, running), counted in `counter`: this core
        writes the GIC's SGI register (`ipi.send` each), each of them takes the interrupt on
        its own clock (its exception entry and return, `ipi.receive`). Returns the cycles of
        the longest interrupt taken, on the time base."""
        self.send_ipi(len(cores), counter)
        here, longest = self.cpu, 0
        for core in cores:
            self.switch_cpu(core)
            longest = max(longest, self.port.timebase.duration(self.take_ipi()))
        self.switch_cpu(here)
        return longest

    def send_ipi(self, n: int = 1, counter: str = "kernel.ipis") -> None:
        """This core writes the GIC's SGI register for `n` interrupts (`ipi.send` each),
        counted in `counter`."""
        self.counts[counter] += n
        self.charge("ipi", self.work_cycles(n * BUDGETS["ipi.send"]))

    def take_ipi(self) -> int:
        """This core takes an interrupt: its exception entry and return and the handler
        (`ipi.receive`). Returns the cycles it charged."""
        handler = self.entry + self.work_cycles(BUDGETS["ipi.receive"]) + self.exit
        self.charge("ipi", handler)
        return handler

    def call_cores(self, cores, counter: str) -> None:
        """Run a function on each of `cores` (other cores, running) and wait until all have,
        as Linux's smp_call_function_many with `wait`: their IPIs (send_ipis), and this core
        waits while they take them side by side (the longest interrupt's time)."""
        if cores:
            timebase = self.port.timebase
            self.charge("ipi", timebase.cycles(self.send_ipis(cores, counter)))

    def pull_waiting(self) -> bool:
        """This core has nothing to run: take a thread waiting on the busiest other core
        (the most runnable threads, at least two; the lowest-numbered of equals) that may run
        here, the one that core would run last (Linux's newidle_balance pulls from the busiest
        run queue, one with more than one task; an assumption for HM's scheduler, whose
        balancing is not published). True if one came."""
        best = None
        for core in range(self.ncores):
            if core == self.cpu:
                continue
            waiting = self.threads.waiting(core)
            runnable = len(waiting) + (int(self.threads.runq["current"][core]) >= 0)
            movable = [t for t in waiting if int(self.threads.tcb["affinity"][t]) >> self.cpu & 1]
            if runnable > 1 and movable and (best is None or runnable > best[0]):
                best = (runnable, movable[-1])
        if best is None:
            return False
        self.migrate(best[1], self.cpu)
        self.counts["kernel.idle_pulls"] += 1
        return True

    def has_work(self, cpu: int) -> bool:
        """Has `cpu` a thread on it or ready for it? (The simulator's question, untimed.)"""
        return self.threads.has_work(cpu)

    # ---- the mechanisms a kernel of another design replaces (hmk.monolithic) -------------
    def scheduler(self, capacity: int) -> Threads:
        """The thread records and run queues: HM's, a priority round robin (threads.py)."""
        return Threads(
            self.mem, capacity, cores=self.ncores, tick_cycles=1, slice_ticks=SLICE_TICKS
        )

    def switch_cycles(self, prev: int, nxt: int, space_changed: bool) -> int:
        """A context switch's cost at kernel exit from thread `prev` (-1: gone) to `nxt` (its
        logged accesses timed): the registers through the TCBs and, when the address space
        changes, the TTBR0/ASID switch."""
        cycles = self.path(BUDGETS["sched.switch"] + self.take_sched_work())
        return cycles + (self.work_cycles(BUDGETS["ipc.ttbr_switch"]) if space_changed else 0)

    def slice_ns(self) -> int:
        """A thread's time slice, ns (sched_rr_get_interval of a normal thread)."""
        return int(SLICE_TICKS * self.tick_cycles / self.ghz)

    def kept_running(self) -> None:
        """The scheduler picked the running thread again: the wake-ups and blocks since the
        last switch (the pick's loads are part of every path's budget here)."""
        work = self.take_sched_work()
        if work:
            self.charge("sched", self.path(work))
        else:
            self.mem.take_log()

    def sched_note(self, what: str, n: int = 1) -> None:
        """`n` threads were woken or blocked ("wake", "block"): the scheduler's work, charged
        with the next switch (or the decision to keep the running thread)."""
        self._sched_work += n * BUDGETS[f"sched.{what}"]

    def take_sched_work(self) -> int:
        work, self._sched_work = self._sched_work, 0
        return work

    def timer_work(self) -> int:
        """A timer tick's scheduler work (the interrupt's entry and exit are charged apart)."""
        return self.path(BUDGETS["timer.tick"])

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

    # ---- costs ---------------------------------------------------------------------------
    def latencies(self, log) -> np.ndarray | None:
        """The latency of each access in `log` through the core's memory hierarchy (None:
        untimed, or an empty log)."""
        return self.port.latencies(log) if len(log) else None

    def work_cycles(self, instructions: float) -> int:
        """Core cycles of `instructions` of kernel straight-line work (every access a hit)."""
        return -(-int(round(instructions * 1000)) // int(round(self.kernel_ipc * 1000)))

    def path(self, budget: int) -> int:
        """Cycles of the kernel work logged since the last call: the budget (instructions) at
        the kernel IPC, and its accesses' stalls."""
        mem = self.mem
        if self._costs is None:
            return self.time_log(budget, mem.take_log())
        cycles = self.time_log(budget, mem.log[: mem.n_log])  # timed where it lies: no copy
        mem.n_log = 0
        return cycles

    def time_log(self, budget: int, log) -> int:
        """Cycles of a path of `budget` instructions that made the accesses in `log`
        (costs.path_cycles), with the DRAM write-backs its accesses caused."""
        if self._costs is not None:
            timed = self.port.timed(log) if len(log) else None
            if timed is None:
                return self.work_cycles(budget)
            lat, writes = timed
            drain = int(writes[0]) * self.dram_line_cycles
            return self._costs.path_cycles(
                self.work_cycles(budget), lat, log, self.l1_hit, self.mlp, drain
            )
        before = self.port.dram_writes()
        lat = self.latencies(log)
        if lat is None:
            return self.work_cycles(budget)
        drain = (self.port.dram_writes() - before) * self.dram_line_cycles
        return path_cycles(self.work_cycles(budget), lat, log, self.l1_hit, self.mlp, drain)

    def time_paths(self, budgets, log, ends) -> int:
        """The cycles of consecutive kernel paths, path k of budgets[k] instructions having made
        the accesses log[ends[k-1]:ends[k]] (the first from 0, the last to the log's end): the
        sum of their time_log, each timed after the one before it; here in one pass through
        the hierarchy, with the compiled costs (hmk._fast.pathcost; impl="python": time_log
        path by path)."""
        if self._costs is None:
            total, lo = 0, 0
            for budget, hi in zip(budgets, ends, strict=True):
                total += self.time_log(budget, log[lo:hi])
                lo = hi
            return total
        known = {b: self.work_cycles(b) for b in set(budgets)}
        cycles = np.array([known[b] for b in budgets], np.int64)
        ends = np.asarray(ends, np.int64)
        timed = self.port.timed(log, ends) if len(log) else None
        if timed is None:
            return int(cycles.sum())
        lat, writes = np.ascontiguousarray(timed[0], np.int32), timed[1]
        line = self.dram_line_cycles
        return self._costs.paths_cycles(cycles, lat, log, ends, writes, self.l1_hit, self.mlp, line)

    def charge(self, what: str, cycles: int) -> None:
        """Add `cycles` of the core's to its clock for path `what` (its totals, and the system
        time of the process on the core, are kept on the time base)."""
        cycles = int(cycles)
        spent = self.port.timebase.spent(cycles)
        self.cycles[what] += spent
        if what != "idle":  # kernel and service work: the process on the core's system time
            self._on_core[1] += spent
        self.port.add_cycles(cycles)
        self.port.charged(self, what, cycles)

    def charge_entry(self, resumed: bool = False) -> None:
        """An SVC's exception entry and return, and its count; not again for a blocked call
        going on (`resumed`: its entry was charged when it was first made)."""
        if not resumed:
            self.charge("syscall", self.entry_cycles())
            self.counts["kernel.syscalls"] += 1

    def entry_cycles(self) -> int:
        """An SVC's exception entry, its frame, and the return to user mode."""
        return self.entry + self.work_cycles(BUDGETS["exception.frame"]) + self.exit

    def within(self, frame: str) -> _Within:
        """`with kernel.within(frame):` charges inside are made on behalf of `frame` (a
        syscall, a service, a fault): the stack profile's frames between the program's
        function and the kernel path."""
        manager = self._frames.get(frame)
        if manager is None:
            manager = self._frames[frame] = _Within(self.context, frame)
        return manager

    def now(self) -> int:
        """The core's clock on the run's time base (hmk.kernel.timebase: cycles of the boot
        core's clock, which every time the kernel keeps is in)."""
        return self.port.now()

    def cycles_until(self, time: int) -> int:
        """The core's own cycles from now until its clock reads `time` (0: it has)."""
        return self.port.cycles_until(time)

    def idle_until(self, time: int) -> None:
        """The core sleeps until its clock reads `time` (charged as idle, nobody's time)."""
        cycles = self.cycles_until(time)
        if cycles:
            self.charge("idle", cycles)

    def now_ns(self) -> int:
        """Simulated nanoseconds since boot."""
        return int(self.port.now() / self.ghz)

    def tlbi(self, pages, asid: int) -> None:
        """Drop the translations of `pages` (None: all) of `asid` from every TLB."""
        self.port.flush(pages, asid)
        if self.ncores > 1:
            self._shootdown(pages, asid)

    def _shootdown(self, pages, asid: int) -> None:
        """With several cores: an invalidation of an ASID that other cores ran since it was
        given out is broadcast (TLBI ...IS, then DSB ISH, which waits until every core has
        dropped the entries), as Linux's arm64 flush_tlb_range and HM's do; one only this core
        ran is local, its cost in the path that made it. ASID 0 (the whole TLB) goes to every
        core."""
        others = self.ncores - 1 if asid == 0 else len(self.asid_cores.get(asid, ()) - {self.cpu})
        if not others:
            return
        self.counts["kernel.tlbi.broadcasts"] += 1
        self.counts["kernel.tlbi.remote_cores"] += others
        n = 1 if pages is None else len(pages)
        budget = n * BUDGETS["tlbi.broadcast"] + others * BUDGETS["tlbi.remote"]
        self.charge("tlbi", self.work_cycles(budget))

    def ran_asid(self, asid: int) -> None:
        """`asid` is on this core now (its TLBs may hold its translations from here on)."""
        if self.ncores > 1 and asid:
            self.asid_cores.setdefault(asid, set()).add(self.cpu)

    def tlbi_timing(self, pages, asid: int) -> None:
        """Drop translations from the timing model only (the CPU refills on its own: used
        inside a fault, where flushing the CPU's TLB is not allowed)."""
        self.port.flush_timing(pages, asid)

    def activate(self, proc) -> int:
        """Make `proc`'s VSpace current on the core (TTBR0/ASID); returns its ASID."""
        asid, flush = self.vspaces.activate(proc.vspace, self.cpu)
        if flush:
            self.counts["kernel.asid.rollovers"] += 1
            self.tlbi(None, 0)
            self.asid_cores.clear()
        self.roots[asid] = proc.root
        self.current = proc
        self.ran_asid(asid)
        return asid

    # ---- the CPU's kernel interface ------------------------------------------------------
    def page_fault(self, machine, vaddr: int, access: str, proc=None, by_service=False) -> bool:
        """A translation or permission fault in `proc` (default: the one on the core): resolved
        in the kernel from the VSpace's frame pool, else passed to the process's pager."""
        self.port.sync()
        self.context.append("kernel:page fault")  # (within(), inline: this is taken often)
        # the outcomes (kernel.faults.*) are those of the faults the CPU raised, so that they
        # add up to kernel.page_faults; a service's own access to a process's memory that
        # faults (`by_service`: copying to or from it) is counted apart
        outer, self.counting_fault = self.counting_fault, not by_service
        if by_service:
            self.counts["kernel.service_faults"] += 1
        try:
            return self._page_fault(proc or self.current, vaddr & ~(PAGE_SIZE - 1), access)
        finally:
            self.counting_fault = outer  # (a service's fault inside the handling of another)
            self.context.pop()

    def count_fault(self, outcome: int) -> None:
        """A fault's outcome in kernel.faults.*, once per fault: the kernel's verdict when it
        resolved or refused it, or the pager it went to (a fault retried after the memory
        manager refilled the VSpace's frame pool counts its retry's outcome, and once in
        kernel.fault_retries)."""
        if self.counting_fault:
            self.counts[FAULT_COUNTS[outcome]] += 1

    def _page_fault(self, proc, page: int, access: str) -> bool:
        cycles = self.entry + self.work_cycles(BUDGETS["exception.frame"])
        for attempt in range(2):
            outcome, zeroed, pa = self.paging.resolve(proc.vspace, page, access, self.impl)
            if pa is not None:  # a new page, recorded for the memory manager (pagerecords)
                self.record_page(pa)
            cycles += self.path(fault_budget(outcome, zeroed))
            if outcome == ZERO_REPLACED:  # the zero page's translation is stale now
                self.tlbi_timing([page], int(self.vspaces.vspace["asid"][proc.vspace]))
            if outcome not in (NEED_MEMMGR, NEED_PAGER):
                self.count_fault(outcome)
                break
            self.charge("fault", cycles)
            cycles = 0
            pager = proc.personality
            served = REFUSED
            if pager is not None:
                served = pager.page_fault(proc, page, access, pager=outcome == NEED_PAGER)
            if served != REFILLED or attempt:
                self.count_fault(outcome)
                outcome = RESOLVED if served == MAPPED else SEGV
                break
            self.counts["kernel.fault_retries"] += 1
        self.charge("fault", cycles + (self.exit if outcome in DONE else 0))
        return outcome in DONE

    def ipc_path(self, result) -> int:
        """Cycles of the IPC call or reply path just taken (its log): budget + stalls."""
        return self.path(ipc_budget(result))

    def syscall(self, machine) -> None:
        """An SVC: a core-kernel call (hmk.kernel.hmcalls) or one for the process's personality;
        then the scheduler's decision at kernel exit (a timer tick that fell due is taken here
        too) and the return to user mode. A call that blocked is executed again when its
        thread wakes: the same call going on (`resumed`), whose entry is not charged again."""
        registers = machine.syscall_registers()
        nr = registers[6]
        tcb = self.running
        after_svc = self.resuming.pop(tcb, None) if self.resuming else None
        resumed = after_svc is not None and after_svc == machine.pc
        if self.hm_calls and is_hm_call(nr):
            args = registers[:6]
            with self.within(f"syscall:hm.{HM_NAMES.get(nr - HM_CALL_BASE, nr)}"):
                self.charge_entry(resumed)
                result = self.hmcalls.call(machine, nr - HM_CALL_BASE, args)
                if result is not None:
                    machine.set_reg(0, result)
        else:
            proc = self._procs.get(tcb)
            personality = proc.personality if proc is not None else None
            if personality is not None:
                personality.syscall(machine, proc, registers, resumed)
            else:  # a process of the core kernel's own: no foreign calls
                with self.within(f"syscall:{nr}"):
                    self.charge_entry(resumed)
                    machine.set_reg(0, ENOSYS)
        self.frames.release_code()  # between blocks: freed code frames may be reused now
        if machine.stopped:
            return
        now = self.now()
        self._timer(now)
        self._expire(now)
        if self.need_resched:
            self.reschedule(machine)
        self.to_user(machine)

    def to_user(self, machine) -> None:
        """Kernel exit: the running thread's personality delivers what it has pending."""
        proc = self._procs.get(self.running)
        if proc is not None and proc.personality is not None and not machine.stopped:
            proc.personality.to_user(machine)

    # ---- threads and the scheduler (one core) --------------------------------------------
    def start(self, proc, tick_cycles: int) -> None:
        """Make `proc`'s first thread the running one, on this core (the boot core, wherever
        placement put it); the timer fires every `tick_cycles`."""
        if int(self.threads.tcb["core"][proc.tcb]) != self.cpu:
            self.threads.migrate(proc.tcb, self.cpu)
        self.adopt(proc.tcb, proc, None)
        self.threads.resume(proc.tcb)
        self.threads.context_switch(self.cpu, -1, proc.tcb, [])
        self.tick_cycles, self._next_tick = tick_cycles, tick_cycles
        self.asymmetric = len(set(self.core_capacity)) > 1
        for state in self._percpu:  # every other core's timer too
            if state is not None:
                state["_next_tick"] = tick_cycles
        self._on_core, self._on_core_since = self._cpu_of(proc.tcb), self.now()
        self.mem.take_log()

    # ---- CPU time (getrusage, times, clock_gettime's CPU clocks) -------------------------
    def _cpu_of(self, tcb: int) -> list[int]:
        return self.thread_cpu.setdefault(tcb, [0, 0])

    def _account(self, now: int) -> None:
        """The time since the last switch goes to the thread that was on the core."""
        self._on_core[0] += now - self._on_core_since
        self._on_core_since = now

    def cpu_cycles(self, proc=None, tcb: int | None = None) -> tuple[int, int]:
        """(user, system) cycles a thread (`tcb`) or all of `proc`'s threads, live and gone,
        have run so far: system is the kernel's and the services' work done for them
        (syscalls, faults, IPC, switches to them), user the rest of their time on the core;
        time the core idled is nobody's."""
        self._account(self.now())
        if tcb is not None:
            run, system = self._cpu_of(tcb)
        else:
            run, system = proc.cpu
            for t in self.threads_of(proc):
                run, system = run + self._cpu_of(t)[0], system + self._cpu_of(t)[1]
        return max(run - system, 0), system

    @property
    def running(self) -> int:
        return self._current.item(self.cpu)

    @property
    def running_process(self):
        """The process whose thread is on the core (the last one active while none is)."""
        return self._procs.get(self.running) or self.current

    def instruction_at(self, va: int) -> bytes | None:
        """The running program's 4 bytes at `va` (None where it has no page mapped)."""
        proc = self.running_process
        pa = None if proc is None or va & 3 else self.vspaces.translate(proc.vspace, va)
        return None if pa is None else bytes(self.ram[pa : pa + 4])

    def process_of(self, tcb: int):
        """The process thread `tcb` belongs to (None: no such thread)."""
        return self._procs.get(tcb)

    def threads_of(self, proc) -> list[int]:
        """The live threads of `proc`."""
        return [t for t, p in self._procs.items() if p is proc]

    def adopt(self, tcb: int, proc, extra) -> None:
        self._procs[tcb] = proc
        if extra is not None:
            self._extra[tcb] = list(extra)

    def set_saved_context(self, tcb: int, ctx) -> None:
        for i, value in enumerate(ctx):
            self.mem.store(self.threads.tcb, tcb, "regs", int(value), i)

    def exit_thread(self, machine, tcb: int) -> None:
        """The thread is gone; the process ends with its last thread."""
        proc = self._procs[tcb]
        self.forget_thread(tcb)
        self.charge("hmcall", self.path(BUDGETS["thread.op"]))
        if not self.threads_of(proc):
            if proc.personality is not None:
                proc.personality.process_exited(machine, proc)
            else:
                machine.stop()

    # ---- alarms: a call at a time on the clock (a timer's expiry) ------------------------
    def set_alarm(self, deadline: int, ring) -> int:
        """Call `ring()` once the clock reaches `deadline` (cycles): at the first kernel entry
        or batch boundary at or after it (a timer interrupt), or when the core idles until it.
        Returns the alarm's handle (for cancel_alarm)."""
        self._alarm_seq += 1
        heapq.heappush(self._alarms, (deadline, self._alarm_seq))
        self._alarm_calls[self._alarm_seq] = ring
        return self._alarm_seq

    def cancel_alarm(self, handle: int | None) -> None:
        """The alarm will not ring (nothing if it rang or was cancelled already)."""
        self._alarm_calls.pop(handle, None)

    def _next_alarm(self) -> int | None:
        """The first armed alarm's deadline (cancelled ones dropped from the heap's top)."""
        while self._alarms and self._alarms[0][1] not in self._alarm_calls:
            heapq.heappop(self._alarms)
        return self._alarms[0][0] if self._alarms else None

    def _ring_alarms(self, now: int) -> None:
        """Ring every alarm due by `now`, in deadline order: each an expired timer's callback
        (`timer.alarm`), whose wake-ups the scheduler charges."""
        while (deadline := self._next_alarm()) is not None and deadline <= now:
            _, handle = heapq.heappop(self._alarms)
            ring = self._alarm_calls.pop(handle)
            self.counts["kernel.alarms"] += 1
            ring()
            self.charge("timer", self.path(BUDGETS["timer.alarm"]))

    def _due(self, now: int) -> bool:
        """Has a timed wait or an alarm ended by `now`?"""
        if self._sleepers and now >= self._sleepers[0][0]:
            return True
        deadline = self._next_alarm()
        return deadline is not None and now >= deadline

    def _expire(self, now: int) -> None:
        """The timed waits and alarms that ended by `now` end."""
        if self._sleepers and now >= self._sleepers[0][0]:
            self._wake_sleepers(now)
        self._ring_alarms(now)

    # ---- timed waits (nanosleep, futex and ppoll timeouts) -------------------------------
    def wait_deadline(self, timeout_ns: int, absolute: bool = False) -> int:
        """The end (core cycles) of the running thread's timed wait: fixed on the call's first
        run and kept across its restarts (until end_wait). `absolute`: `timeout_ns` is a time
        on the clock since boot, not a duration."""
        tcb = self.running
        deadline = self.deadlines.get(tcb)
        if deadline is None:
            cycles = self.ns_cycles(timeout_ns)
            deadline = max(cycles, 0) if absolute else self.now() + max(cycles, 0)
            self.deadlines[tcb] = deadline
        return deadline

    def ns_cycles(self, ns: int) -> int:
        """`ns` nanoseconds in core cycles, rounded up (the time on the clock that `ns` after
        boot is, or a duration)."""
        return -(-int(ns * self.ghz * 1000) // 1000)

    def end_wait(self, tcb: int) -> int | None:
        """The thread's call is over: its timed wait, if any, ends (its deadline returned)."""
        return self.deadlines.pop(tcb, None)

    def sleep_until(self, deadline: int, queue: list | None = None) -> bool:
        """Block the running thread until `deadline` or, with `queue`, until woken from it;
        False (nothing done) when the deadline has passed: the call times out."""
        if self.now() >= deadline:
            return False
        tcb = self.running
        if queue is not None:
            queue.append(tcb)
        self.threads.block(tcb)
        self.sched_note("block")
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
            self.woken_here(tcb)
            self.threads.wake(tcb)
            self.sched_note("wake")
            self.counts["kernel.timeouts"] += 1
            self.need_resched = True

    def _sleeping(self, tcb: int, deadline: int) -> bool:
        """Is `tcb` still blocked in the timed wait ending at `deadline`? (Not when its call
        ended another way: the heap entry is stale.)"""
        if self.deadlines.get(tcb) != deadline or not self.threads.valid(tcb):
            return False
        return self.blocked(tcb)

    def blocked(self, tcb: int) -> bool:
        """Is `tcb` a live thread blocked (in a wait, a sleep or a call)?"""
        return self.threads.valid(tcb) and int(self.threads.tcb["state"][tcb]) == T_BLOCKED

    def _idle(self, machine=None) -> bool:
        """Nothing can run: if a timed wait or an alarm is pending, the core idles until the
        first one ends (charged as `idle`; the timer ticks it sleeps through are skipped, as a
        tickless kernel's) and wakes or rings it (an alarm may wake nobody: the caller looks
        again). False when nothing is pending, or when the first end lies beyond the run's
        `horizon`: then the core idles to the horizon and the run is aborted there."""
        while self._sleepers:
            deadline, _, tcb = self._sleepers[0]
            if self._sleeping(tcb, deadline):
                break
            heapq.heappop(self._sleepers)
        ends = [self._sleepers[0][0]] if self._sleepers else []
        if (alarm := self._next_alarm()) is not None:
            ends.append(alarm)
        if not ends:
            return False
        now, deadline = self.now(), min(ends)
        if self.horizon is not None and deadline > self.horizon[0]:
            limit, reason = self.horizon
            self.idle_until(limit)
            if machine is not None:
                machine.abort(reason)
            return False
        if deadline > now:
            self.idle_until(deadline)
            now = self.now()
        self.skip_ticks(now)
        self._expire(now)
        return True

    def skip_ticks(self, now: int) -> None:
        """The core slept until `now`: the timer ticks it slept through are skipped (a
        tickless kernel's idle), the next one a whole period after the last one due."""
        period = self.tick_cycles
        if period and now >= self._next_tick:
            self._next_tick = now + period - (now - self._next_tick) % period

    # ---- calls that block and run again ---------------------------------------------------
    def restart_call(self, machine, interrupted: bool = False) -> None:
        """The running thread's call blocked: the CPU will execute its SVC (the one before
        machine.pc) again when the thread wakes, which syscall() treats as the same call going
        on. `interrupted`: its personality has something to deliver first (a signal handler),
        so it does not sleep: it is woken at once, and take_restart decides what becomes of
        the call."""
        tcb = self.running
        machine.set_pc(machine.pc - 4)
        self.resuming[tcb] = machine.pc + 4
        if interrupted:
            self.interrupt(tcb)
            self._retried.add(tcb)

    def restart_pending(self, machine) -> bool:
        """Is the running thread at a blocked call's SVC that has not looked again since it
        was woken? (It may complete now: a child exited, data arrived.)"""
        tcb = self.running
        at = self.resuming.get(tcb)
        return at is not None and at == machine.pc + 4 and tcb not in self._retried

    def take_restart(self, machine) -> bool:
        """The running thread's blocked call will not simply run again (a handler runs first):
        forget it; True when the thread is at that call's SVC (the personality then lets it go
        on after the handler, or ends it)."""
        tcb = self.running
        after_svc = self.resuming.pop(tcb, None)
        self._retried.discard(tcb)
        return after_svc is not None and after_svc == machine.pc + 4

    def forget_thread(self, tcb: int) -> None:
        """Destroy a thread: its TCB, saved state, waits."""
        self._account(self.now())
        spent = self.thread_cpu.pop(tcb, None)
        proc = self._procs.get(tcb)
        if spent is not None and proc is not None:  # its time stays its process's
            proc.cpu[0] += spent[0]
            proc.cpu[1] += spent[1]
        self.resuming.pop(tcb, None)
        self._retried.discard(tcb)
        self._moving.pop(tcb, None)
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
        self.sched_note("block")
        self.need_resched = True

    def wake_all(self, queue: list) -> None:
        for tcb in queue:
            if self._waits.get(tcb) is queue:
                del self._waits[tcb]
            if self.blocked(tcb):
                self.woken_here(tcb)
                self.threads.wake(tcb)
                self.sched_note("wake")
        queue.clear()
        self.need_resched = True

    def waits_on(self, tcb: int, queue: list) -> bool:
        """Is `tcb` blocked on `queue` still (not woken, timed out or interrupted since)?"""
        return self._waits.get(tcb) is queue and self.blocked(tcb)

    def wake(self, tcb: int) -> None:
        """Wake the blocked thread `tcb` alone, off the wait list it sleeps on (a waker that
        chooses whom it wakes, as a futex's)."""
        queue = self._waits.pop(tcb, None)
        if queue is not None and tcb in queue:
            queue.remove(tcb)
        if self.blocked(tcb):
            self.woken_here(tcb)
            self.threads.wake(tcb)
            self.sched_note("wake")
            self.need_resched = True

    def interrupt(self, tcb: int) -> None:
        """Wake a blocked thread for its personality (a Linux signal): it leaves the list it
        waits on and runs; its call goes on or fails when the personality delivers."""
        queue = self._waits.pop(tcb, None)
        if queue is not None and tcb in queue:
            queue.remove(tcb)
        if self.blocked(tcb):
            self.woken_here(tcb)
        self.threads.wake(tcb)
        self.sched_note("wake")
        self.need_resched = True

    # ---- protection domains --------------------------------------------------------------
    def spawn_domain(self, parent, name: str):
        """A new protection domain running `parent`'s program image: its own VSpace, CSpace
        and memory (the image's, fresh: file pages from the file, the rest zero, as the
        parent's personality sets it up), as a server started from the same executable."""
        proc = Process(self, name, parent.personality)
        proc.image = parent.image
        if parent.personality is not None:
            parent.personality.domain_started(parent, proc)
        return proc

    def destroy_process(self, proc) -> None:
        """Free `proc`'s kernel objects: its tokens, VSpace (its ASID's translations go too)
        and CSpace. Its threads must be gone."""
        self.tokens.revoke_vspace(proc.vspace)
        _, tlbi, _ = self.vspaces.destroy(proc.vspace)
        if tlbi:  # its ASID goes back to the allocator: no translation of it may outlive it
            self.tlbi(None, tlbi[0][1])
            self.asid_cores.pop(tlbi[0][1], None)
            self.counts["kernel.tlbi.asid"] += 1
        self.caps.destroy(proc.cspace)  # the endpoints it could call stay with their owners
        self.by_vspace.pop(proc.vspace, None)
        self.mem.take_log()

    def switch_space(self, machine, proc, asid: int, flush: bool) -> None:
        """The TTBR0/ASID write an IPC or a context switch made: on the functional CPU too."""
        if flush:
            self.counts["kernel.asid.rollovers"] += 1
            self.tlbi(None, 0)
            self.asid_cores.clear()
        self.roots[asid] = proc.root
        self.current = proc
        self.ran_asid(asid)
        self._space[self.running] = proc
        machine.set_space(proc.root, asid, core=self.cpu, code=proc.image)

    def reschedule(self, machine) -> None:
        """Kernel exit: switch to the thread the scheduler picks, if it is not the running one
        (34 registers through the TCBs, timed; FP/SIMD state and TLS moved functionally)."""
        self.need_resched = False
        cur = self.running
        if self._moving and cur in self._moving:  # it may not stay on this core: it moves
            self.migrate(cur, self._moving.pop(cur))  # before the scheduler picks
        alive = cur >= 0 and cur in self._procs
        to, regs = self.threads.dispatch(self.cpu, machine.context() if alive else [])
        if to == cur and to >= 0:  # (-1 twice: the running thread is gone, nothing is ready)
            self.kept_running()
            return
        if alive:
            self._extra[cur] = machine.extra_context()
        self._account(self.now())
        if self.asymmetric:
            self.on_core(cur, -1)
        while to == -1:
            if self.other_core is not None:
                if self.other_core(machine):
                    return  # another core has the CPU now, and its thread's registers
                if self.has_work(self.cpu):  # a thread was pulled here from a busier core
                    to, regs = self.threads.dispatch(self.cpu, [])
                    continue
            if not self._idle(machine):
                break
            # the core slept until a wait or alarm ended (the idle time is nobody's)
            self._on_core_since = self.now()
            to, regs = self.threads.dispatch(self.cpu, [])
        if to < 0 and machine.aborting:
            return
        if to < 0:
            machine.kill("every thread is blocked or suspended: nothing can run", STUCK)
            return
        if self.asymmetric:
            self.on_core(-1, to)
        machine.set_context(regs)
        if to in self._extra:
            machine.set_extra_context(self._extra[to])
        self.counts["kernel.context_switches"] += 1
        self._on_core = self._cpu_of(to)
        proc = self._space.get(to) or self._procs[to]
        changed = proc is not self.current
        if changed:
            asid = self.activate(proc)
            machine.set_space(proc.root, asid, core=self.cpu, code=proc.image)
        self.charge("sched", self.switch_cycles(cur if alive else -1, to, changed))

    # ---- exceptions and timer interrupts -------------------------------------------------
    def guest_fault(self, machine, kind: str, detail: str) -> bool:
        """Machine: the running thread raised an exception it cannot go on from, or ran the
        machine out of memory. Its personality decides (Linux's: a signal, its handler, or the
        process's end); True when some thread can go on, False when the run ends."""
        proc = self._procs.get(self.running)
        if proc is None or proc.personality is None:
            return False
        self.port.sync()
        return proc.personality.guest_fault(machine, proc, kind, detail)

    def note_time(self) -> None:
        """Machine.on_sync: every batch before the current one is timed; remember the clock."""
        self._clock_at_sync = self.now()

    def boundary(self, machine) -> None:
        """Machine.on_boundary: a full buffer stopped the CPU between blocks; take a timer
        interrupt that fell due, a tick or a timed wait's end (judged by the clock at the last
        sync: deterministic)."""
        self.frames.release_code()
        clock = self._clock_at_sync
        tick = self.tick_cycles and clock >= self._next_tick
        wake = self._due(clock)  # a timed wait's end, an alarm
        if tick or wake:
            machine.sync()
            frame = self.work_cycles(BUDGETS["exception.frame"])
            self.charge("timer", self.entry + frame + self.exit)
            self._timer(clock)
            if wake:
                self._expire(clock)
            self.reschedule(machine)
            self.to_user(machine)

    def _timer(self, now: int) -> None:
        """Every tick that fell due by `now`: the scheduler's tick (slice accounting)."""
        while self.tick_cycles and now >= self._next_tick:
            self._next_tick += self.tick_cycles
            self.threads.tick(self.cpu)
            self.need_resched = True
            self.counts["kernel.timer_ticks"] += 1
            self.charge("timer", self.timer_work())
            if self.asymmetric:
                self.balance_tick()


class _Within:
    """CoreKernel.within's context manager for one frame (reused: its state is the stack)."""

    __slots__ = ("context", "frame")

    def __init__(self, context: list[str], frame: str):
        self.context, self.frame = context, frame

    def __enter__(self) -> None:
        self.context.append(self.frame)

    def __exit__(self, *exc) -> None:
        self.context.pop()


class Process:
    """A protection domain: a VSpace (root table, ASID), a CSpace and its first thread. `image`
    is the program image it runs (the CPU's translated code and a profile's symbols follow
    it); `personality` the ABI its foreign SVCs and faults go to (None: HM-native only)."""

    def __init__(self, kernel: CoreKernel, name: str, personality: Personality | None = None):
        self.kernel, self.name, self.personality = kernel, name, personality
        self.image = None
        self.cpu = [0, 0]  # its gone threads' CPU time (cpu_cycles)
        self.vspace = kernel.vspaces.create()
        self.cspace = kernel.caps.create(64)
        if self.vspace < 0 or self.cspace < 0:
            raise OutOfMemory(f"kernel: no VSpace or CSpace left for {name}")
        self.tcb = kernel.new_thread(100, self.vspace, self.cspace)
        if self.tcb < 0:
            raise OutOfMemory(f"kernel: no TCB left for {name}")
        kernel.by_vspace[self.vspace] = self
        kernel.mem.take_log()  # boot-time set-up is not charged to the program

    @property
    def root(self) -> int:
        return int(self.kernel.vspaces.vspace["root"][self.vspace])


def _linear_map_frames(ram_bytes: int) -> int:
    """Table frames for a linear map of `ram_bytes`: one per 2 MiB, plus the upper levels."""
    return ram_bytes // LINEAR_SPAN + ram_bytes // (1 << 30) + 4


__all__ = [
    "MAPPED",
    "REFILLED",
    "REFUSED",
    "TICK_US",
    "CoreKernel",
    "CorePort",
    "Personality",
    "Process",
]

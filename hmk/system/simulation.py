"""The assembly: one modeled machine, booted, running a program, and what it cost.

The pieces, bottom up, each made once with what it needs: the hardware profile gives one core's
memory hierarchy (hmk.hw.engine) and timing model (hmk.cpu.timing) over simulated RAM; the
functional CPU (hmk.cpu.machine) runs the guest and hands executed blocks and memory events to
the timing side in batches, and traps into the core kernel (hmk.kernel.core), which sees the
core through a port (clock, caches and TLBs, the CPU's TLB); the OS services
(hmk.services.registry) boot in the domains the composition places them in (hmk.system.
composition, hmk.services.placement); the Linux personality (hmk.linux.shim) serves the first
process's syscalls and everything it starts. Every kernel path (SVC, fault, IPC, a service's
work) adds its modeled cost to the core's clock.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from hmk.cpu.blockcache import BlockCache
from hmk.cpu.classify import BlockTable
from hmk.cpu.elf import ElfError, load_elf, parse_elf
from hmk.cpu.machine import EXCP_SWI, GuestFault, Machine, RunAborted
from hmk.cpu.timing import TimingModel
from hmk.errors import InternalError, internal
from hmk.hw.engine import BatchHierarchy
from hmk.hw.layout import NO_COHERENCE
from hmk.hw.profile import Cluster, load_soc
from hmk.hw.tracefile import TraceWriter
from hmk.kernel.core import TICK_US, CoreCosts, CoreKernel, CorePort, Process
from hmk.kernel.timebase import SAME, TimeBase
from hmk.linux.shim import SIGNAL_OF, Shim
from hmk.monolithic.kernel import LinuxKernel
from hmk.outputs import OutputError
from hmk.parallel import cores as host_cores
from hmk.services import registry
from hmk.services.placement import Placement
from hmk.services.service import Boot
from hmk.system.budgets import changed as changed_budgets
from hmk.system.calibrated import kernel_ipc as fitted_kernel_ipc
from hmk.system.composition import DEFAULT_SYSTEM, load_system
from hmk.system.cores import (
    QUANTUM_US,
    Core,
    Cores,
    capacities,
    core_clusters,
    hierarchy_of,
    powers,
)
from hmk.system.invariants import check as check_bookkeeping
from hmk.system.ram import DEFAULT_RAM, ram_bytes
from hmk.system.sampling import FastForward, Sampler, Sampling
from hmk.system.stacks import StackProfile
from hmk.system.stats import level_name, publish
from hmk.workloads import bin_dir, list_workloads

DEFAULT_ENV = (b"PATH=/usr/bin:/bin", b"HOME=/", b"TERM=dumb", b"LANG=C")
CLOCK_RANGE = 1 << 62  # the timing model's clock (int64) with room for a batch beyond it
LIMIT_STATUS = 124  # a run ended by max_instructions/max_cycles, as timeout(1) reports
SCRIPT_CHANNEL = 0x484D4B00  # "HMK\0": hmk.api's private SVC (workloads/script/scripthost.c)
_STDERR = object()  # "this process's stderr at the time of the run"
BATCH_EVENTS = 1 << 20  # memory events the CPU records before the timing side takes them
# with more than one core: a boundary (a turn between cores) every ~10k instructions
SMP_BATCH_EVENTS = 1 << 14


@dataclass
class RunResult:
    exit_status: int
    cycles: int
    instructions: int
    ghz: float
    syscalls: int
    page_faults: int
    stats: dict = field(default_factory=dict)
    fault: str | None = None  # why the program was killed (or the run stopped), if it was
    warnings: list[str] = field(default_factory=list)  # hmk's warnings, each once
    stacks: dict | None = None  # call stack (root first) -> cycles, when collected
    run: dict = field(default_factory=dict)  # what ran where (Simulation.describe)
    windows: list | None = None  # a sampled run's measured windows (hmk.system.sampling)

    @property
    def seconds(self) -> float:
        return self.cycles / (self.ghz * 1e9)

    @property
    def ipc(self) -> float:
        return self.instructions / self.cycles if self.cycles else 0.0


class Messages:
    """hmk's own warnings during a run: one line each, each distinct text once, to `stream`
    (None: only kept); `lines` keeps them for the result. A progress line on the same
    terminal is cleared first."""

    def __init__(self, stream=None, progress=None):
        self.stream, self.progress, self.lines = stream, progress, []

    def warn(self, text: str) -> None:
        if text in self.lines:
            return
        self.lines.append(text)
        if self.stream is not None:
            if self.progress is not None:
                self.progress.clear()
            print(f"hmk: warning: {text}", file=self.stream, flush=True)


class Progress:
    """A one-line progress indicator (simulated instructions and cycles) on a terminal, shown
    once a run has taken `after` host seconds and redrawn at most every `every` seconds; it
    never writes to anything but `stream`, and only when that is a terminal."""

    def __init__(self, stream, after: float = 2.0, every: float = 0.25, clock=time.monotonic):
        self.stream = stream if stream is not None and stream.isatty() else None
        self.after, self.every, self.clock = after, every, clock
        self.start = clock()
        self.shown_at = None

    def update(self, instructions: int, cycles: int, ghz: float) -> None:
        if self.stream is None:
            return
        now = self.clock()
        if now - self.start < self.after or (
            self.shown_at is not None and now - self.shown_at < self.every
        ):
            return
        self.shown_at = now
        line = (
            f"hmk: {instructions / 1e6:,.1f} M instructions, {cycles / 1e6:,.1f} M cycles "
            f"({cycles / ghz / 1e6:,.2f} ms simulated) in {now - self.start:.0f} s"
        )
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        if self.stream is not None and self.shown_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown_at = None


class _ClearsProgress:
    """A program's output stream that clears the progress line before each write, so the two
    do not mix on one terminal."""

    def __init__(self, stream, progress: Progress):
        self.stream, self.progress = stream, progress

    def write(self, data):
        self.progress.clear()
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _TimedPort(CorePort):
    """The core the kernel runs on: its clock (the timing model), its caches and TLBs (the
    hierarchy), the functional CPU's TLB and translated code, and a stack profile listening."""

    def __init__(self, machine: Machine, hierarchy: BatchHierarchy, timing, stacks, timebase=SAME):
        self.machine, self.hierarchy, self.timing, self.stacks = machine, hierarchy, timing, stacks
        self.sync, self.add_cycles = machine.sync, timing.add_cycles
        self.flush_code = machine.flush_code
        self.timebase = timebase  # how its cycles count on the run's time base

    def latencies(self, log):
        return self.hierarchy.run(log, check=False)

    def dram_writes(self) -> int:
        return self.hierarchy.dram_writes()

    def timed(self, log, ends=None):
        return self.hierarchy.run_marked(log, ends)

    def now(self) -> int:
        return self.timebase.time(int(self.timing.cycles))

    def cycles_until(self, time: int) -> int:
        return max(self.timebase.cycles(time) - int(self.timing.cycles), 0)

    def flush(self, pages, asid: int) -> None:
        self.machine.flush_tlb()
        if pages is None:
            self.hierarchy.tlbi_all()
            self.timing.code_changed(None)
            return
        for page in pages:
            self.hierarchy.tlbi_va(page, asid)
        self.timing.code_changed(pages)

    def flush_timing(self, pages, asid: int) -> None:
        for page in pages:
            self.hierarchy.tlbi_va(page, asid)

    def charged(self, kernel, what: str, cycles: int) -> None:
        if self.stacks is not None:
            self.stacks.kernel(kernel, what, cycles)

    def compiled(self):
        return self.hierarchy, self.timing, self.charged if self.stacks is not None else None


class _Traced:
    """The CPU's recorder, each batch of events it hands to the timing side also written to
    the run's trace (hmk.hw.tracefile): the same events, in the same order."""

    def __init__(self, recorder, sim):
        self._recorder, self._sim = recorder, sim

    def take(self):
        blocks, events = self._recorder.take()
        if len(events):
            self._sim.trace.add(events)
        return blocks, events

    def __getattr__(self, name):
        return getattr(self._recorder, name)


class _TracedHierarchy(BatchHierarchy):
    """The memory hierarchy, each batch it times (the program's, the kernel's, the
    services') also written to the run's trace, in the order it times them; those before the
    trace is opened (the boot's) are kept until it is. Only a run whose every hot path is
    Python's (impl="python") reaches the hierarchy through these two methods alone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer, self._early = None, []

    def record_to(self, writer) -> None:
        self._writer = writer
        for events in self._early:
            writer.add(events)
        self._early = []

    def _record(self, events) -> None:
        if not len(events):
            return
        if self._writer is None:
            self._early.append(np.array(events))
        else:
            self._writer.add(events)

    def run(self, events, check=True):
        self._record(events)
        return super().run(events, check)

    def run_marked(self, events, ends=None):
        self._record(events)
        return super().run_marked(events, ends)


class Simulation:
    """One modeled machine, booted: the core kernel and its services (placed as `system` says)
    on one core of `profile`, with a program's file system. `start(image, argv, envp)` makes
    the first process's program; `run()` runs everything to the end and returns a RunResult.
    Most users want run_program (or hmk.System); this is the assembly both use. The CPU traps
    into it (`page_fault`, `syscall`, `guest_fault`): the core kernel's, but for the scripting
    API's private channel (`script_channel`, hmk.api)."""

    def __init__(  # noqa: PLR0913, PLR0915  (one place that wires every part together)
        self,
        program: str,
        *,
        profile: str = "kirin9000",
        cluster: str | int | None = None,
        stdin=b"",  # bytes, or a binary stream read as the program reads (hmk.services.devhost)
        out=None,
        err=None,
        strace=None,
        ram: int | str = DEFAULT_RAM,
        seed: int = 0,
        pipelined: bool | None = None,  # None: when the host gives this process two cores
        system: str = DEFAULT_SYSTEM,
        paging: str | None = None,
        impl: str = "cython",
        tick_us: float = TICK_US,
        capabilities_only: bool | None = None,
        rootfs: str | None = None,
        mounts=(),
        warnings=_STDERR,
        progress=None,
        max_instructions: int | None = None,
        max_cycles: int | None = None,
        stacks: bool = False,
        script_channel=None,
        kernel_ipc: float | None = None,
        check_invariants: bool = False,
        block_cache: bool = True,
        trace=None,
        trace_kernel: bool = False,
        fast_forward: int | FastForward | None = None,
        sample: bool | Sampling | None = None,
        cores: int | str | dict | None = None,
    ):
        soc = load_soc(profile)
        one_core = fast_forward is not None or sample not in (None, False) or trace is not None
        if cores is None and one_core:  # (the default: the whole SoC, unless a mode of one core)
            cores = 1
        # each core's cluster (its type and clock), the boot core's first; the run's time base
        # is the boot core's clock (hmk.kernel.timebase)
        self.core_clusters = clusters = core_clusters(cores, soc, cluster)
        which, ncores = clusters[0], len(clusters)
        if ncores > 1 and (fast_forward is not None or sample not in (None, False)):
            raise ValueError("cores: fast-forward and sampling run on one core")
        if ncores > 1 and trace is not None:
            raise ValueError("cores: a trace is of one core's accesses")
        self.profile, self.cluster, self.core_type = soc.name, which.name, which.core
        # the caches' statistics prefixes and the names the profile gives them: the shared
        # last level (the hierarchy's l3 slot) is named as the profile names it, the Pi 4B's L2
        # system.l2 (docs/stats.md)
        self.level_names = {"l3": level_name(soc.name, soc.l3.name)} if soc.l3 else {}
        levels = {
            "system.cpu0.l1i": which.core.l1i,
            "system.cpu0.l1d": which.core.l1d,
            "system.cpu0.l2": which.core.l2,
            f"system.{self.level_names.get('l3')}": soc.l3,
        }
        self.cache_names = {k: c.name for k, c in levels.items() if c is not None}
        hierarchy_cfg = hierarchy_of(soc, clusters)
        self.ghz = ghz = which.ghz
        timebases = [TimeBase(c.ghz, ghz) for c in clusters]
        self.one_clock = all(t.same for t in timebases)  # every core at the time base's clock
        if rootfs is not None and not os.path.isdir(rootfs):
            raise OSError(f"--rootfs {rootfs}: not a directory")
        mounts = tuple(parse_mount(m) for m in mounts)
        for name, limit in (("max_instructions", max_instructions), ("max_cycles", max_cycles)):
            if limit is not None and limit <= 0:
                raise ValueError(f"{name} must be positive, not {limit}")
        self.limits = (max_instructions, max_cycles)
        plan = _plan(fast_forward, sample)
        if trace is not None and plan is not None:
            raise ValueError(
                "a trace records every access: not with fast_forward or sample, which skip "
                "the timing of most of them"
            )
        self.rootfs = rootfs
        self.script_channel = script_channel

        self.composition = composition = load_system(system)
        if paging is None:
            paging = "kernel" if composition.kernel_paging else "user"
        if paging not in ("kernel", "user"):
            raise ValueError(f"paging must be 'kernel' or 'user', not {paging!r}")
        native = composition.kernel == "linux"
        if native and paging == "user":
            raise ValueError(f"{composition.name}: a linux kernel has no user-level pager")
        self.paging = paging
        if capabilities_only is None:
            capabilities_only = not composition.address_tokens
        self.progress = Progress(progress)
        self.messages = Messages(sys.stderr if warnings is _STDERR else warnings, self.progress)

        # the hardware: RAM, the memory hierarchy and timing model, the CPU
        self.ram = ram = np.zeros(ram_bytes(ram), np.uint8)  # host pages only where touched
        roots = np.full(1 << 16, -1, np.int64)  # the walker's TTBR0 per ASID (-1: none)
        if trace_kernel and (trace is None or impl != "python"):
            raise ValueError(
                "trace_kernel: needs a trace and impl='python' (the compiled kernel paths reach "
                "the memory hierarchy without passing through Python)"
            )
        hierarchy_type = _TracedHierarchy if trace_kernel else BatchHierarchy
        self.hierarchy = hierarchy = hierarchy_type(hierarchy_cfg, ram=ram, roots=roots)
        self.block_cache = BlockCache() if block_cache else None
        self.timing = timing = TimingModel(self.core_type, BlockTable(self.block_cache))
        others = [  # the other cores' clocks, each of its own type
            TimingModel(c.core, BlockTable(self.block_cache)) for c in clusters[1:]
        ]
        for model in (timing, *others):  # stores wait for other cores' copies to go
            model.coherent = hierarchy.layout.protocol != NO_COHERENCE
        self.counter_hz, self._cycles_per_s = round(soc.counter_mhz * 1e6), round(ghz * 1e9)
        # the crossing's compiled twins (hmk._fast.crossing): the common SVC's whole path, the
        # sync point and a batch's timing; impl="python": their references, the methods below
        fast = None
        if impl == "cython":
            from hmk._fast.crossing import Crossing  # noqa: PLC0415

            fast = Crossing(self, SCRIPT_CHANNEL)
        self._crossing = fast
        if ncores > 1:  # turns between cores are taken at batch boundaries, clocks exact
            interrupt = None if fast is None else self._interrupt
            pipelined, batch = False, SMP_BATCH_EVENTS
        else:
            interrupt = None if fast is None else fast.interrupt
            pipelined = host_cores() > 1 if pipelined is None else pipelined
            batch = BATCH_EVENTS
        self.machine = machine = Machine(
            ram,
            self,
            line_bits=hierarchy_cfg.line.bit_length() - 1,
            event_capacity=batch,
            pipelined=pipelined,
            sink=self._time if fast is None else fast.time,
            on_sync=self._on_sync if fast is None else fast.on_sync,
            on_boundary=self._on_boundary,
            interrupt=interrupt,
            impl=impl,
        )
        self.stacks = StackProfile(machine, timing, self._label) if stacks else None
        self.trace, self._trace_path, self._argv = None, trace, []
        self._trace_kernel = trace_kernel
        if trace is not None and not trace_kernel:  # the program's batches (run() opens the file)
            machine.recorder = _Traced(machine.recorder, self)

        # the core kernel, the services in their domains, the Linux personality
        options = {"memcg": composition.memcg} if native else {}

        def costs(c: Cluster) -> CoreCosts:  # what a kernel path costs on a core of `c`
            dram_line = soc.dram_line_write_at(c.ghz, hierarchy_cfg.line)
            return CoreCosts.of(c.core, kernel_ipc or fitted_kernel_ipc(c.core.name), dram_line)

        boot_costs = costs(which)
        self.kernel = kernel = (LinuxKernel if native else CoreKernel)(
            ram,
            roots,
            port=_TimedPort(machine, hierarchy, timing, self.stacks),
            core=self.core_type,
            ghz=ghz,
            user_level_paging=paging == "user",
            impl=impl,
            dram_line_cycles=boot_costs.dram_line_cycles,
            kernel_ipc=boot_costs.kernel_ipc,
            capabilities_only=capabilities_only,
            cores=ncores,
            **options,
        )
        self.cores = None  # with more than one core, their turns (hmk.system.cores)
        if ncores > 1:
            first = Core(0, timing, kernel.port, fast)
            first.stacks = self.stacks
            rest = []
            for j, t in enumerate(others, 1):
                profile_j = StackProfile(machine, t, self._label) if stacks else None
                port = _TimedPort(machine, hierarchy, t, profile_j, timebases[j])
                rest.append(Core(j, t, port, stacks=profile_j))
            capacity, power = capacities(clusters), powers(clusters)
            kernel.core_capacity[0], kernel.core_power[0] = capacity[0], power[0]
            for core in rest:
                j = core.index
                kernel.add_core(core.port, costs(clusters[j]), capacity[j], power[j])
            self.cores = Cores(self, [first, *rest], QUANTUM_US * ghz * 1000)
            kernel.other_core = self.cores.take_over
        placement = Placement(kernel, composition)
        out = out if out is not None else sys.stdout.buffer
        err = err if err is not None else sys.stderr.buffer
        if self.progress.stream is not None:  # the program's output clears the progress line
            out, err = _ClearsProgress(out, self.progress), _ClearsProgress(err, self.progress)
        boot = Boot(
            kernel,
            placement,
            stdin=stdin,
            out=out,
            err=err,
            seed=seed,
            program=program if rootfs is not None else os.path.abspath(program),
            bundled={name: str(bin_dir() / name) for name in list_workloads()},
            rootfs=rootfs,
            mounts=mounts,
            hierarchy=hierarchy_cfg,
        )
        self.services = services = registry.boot(boot)
        self.procmgr, self.memmgr = services["procmgr"], services["memmgr"]
        self.check_invariants = check_invariants
        if check_invariants:
            self.procmgr.on_reaped = lambda task: check_bookkeeping(self, task)
        self.shim = Shim(
            kernel, placement, services, strace=strace, warn=self.messages.warn, native=native
        )

        # the first process, on the core
        proc = Process(kernel, "program", self.shim)
        self.program_task = self.procmgr.start(proc)
        machine.set_space(proc.root, kernel.activate(proc))
        kernel.start(proc, tick_cycles=int(tick_us * ghz * 1000))
        kernel.horizon = self._horizon(max_cycles)
        self._entry = None
        self._batch_code = self.memmgr.space_of(proc).read
        self._sink = machine.sink
        if fast is not None:
            fast.bind()
        if self.cores is not None and fast is not None:  # a crossing for each core, bound on it
            for core in self.cores.cores[1:]:
                core.crossing = Crossing(self, SCRIPT_CHANNEL)
                kernel.switch_cpu(core.index)
                self.use_core(core)
                core.crossing.bind()
            kernel.switch_cpu(0)
            self.use_core(self.cores.cores[0])
        self.sampler = Sampler(self, plan) if plan is not None else None
        if self.sampler is None and max_instructions is not None:
            # the CPU stops at the first block boundary at or past the limit (the recorder
            # counts the blocks it announces), not at the end of a batch
            machine.recorder.stop_at = max_instructions

    def use_core(self, core: Core) -> None:
        """The CPU's batches and exceptions go to `core` (hmk.system.cores)."""
        self.timing = core.timing
        self.stacks = core.stacks
        self._crossing = core.crossing
        if core.crossing is not None:
            self.machine.sink = self._sink = core.crossing.time
            self.machine.on_sync = core.crossing.on_sync

    def _interrupt(self, intno: int) -> None:
        """With more than one core, the CPU's exceptions: the running core's compiled
        crossing takes them, then after an SVC it may be another core's turn."""
        machine = self.machine
        self._crossing.interrupt(intno)
        if intno != EXCP_SWI or machine._bug is not None or machine._error is not None:
            return
        try:
            self.cores.decide(machine)
        except Exception as e:  # unicorn's C frames cannot carry it: run() raises it
            machine._bug = e
            machine.cpu.emu_stop()

    # ---- the CPU's traps -----------------------------------------------------------------
    def page_fault(self, machine, vaddr: int, access: str) -> bool:
        return self.kernel.page_fault(machine, vaddr, access)

    def syscall(self, machine) -> None:
        if self._crossing is not None and self._crossing.syscall(machine):
            return  # the common case, compiled: as below
        if self.script_channel is not None and machine.reg(8) == SCRIPT_CHANNEL:
            self.script_channel(machine)  # the simulator's own traffic: it costs the guest nothing
            return
        self.kernel.syscall(machine)
        if self.cores is not None and self._crossing is None:  # (compiled: _interrupt decides)
            self.cores.decide(machine)

    def guest_fault(self, machine, signal: int, detail: str) -> bool:
        return self.kernel.guest_fault(machine, signal, detail)

    def instruction_at(self, va: int) -> bytes | None:
        return self.kernel.instruction_at(va)

    def counter(self, which: str) -> int:
        """The generic timer as EL0 reads it: CNTFRQ_EL0 is the profile's counter frequency;
        CNTVCT_EL0 and CNTPCT_EL0 (no virtual offset) count at it from boot on the simulated
        clock, so a program timing itself with them sees simulated time, as clock_gettime."""
        if which == "frequency":
            return self.counter_hz
        return self.kernel.now() * self.counter_hz // self._cycles_per_s

    # ---- the timing side -----------------------------------------------------------------
    def _time(self, blocks, events) -> None:
        """Time a batch the CPU recorded: its accesses through the hierarchy, its blocks
        through the timing model (code read in the process that ran it)."""
        latencies = self.hierarchy.run(events, check=False)
        coherent = self.hierarchy.coherent_writes()
        if self.stacks is None:
            self.timing.account(blocks, events, latencies, self._batch_code, coherent=coherent)
        else:
            self.stacks.account(blocks, events, latencies, self._batch_code, coherent)

    def divert(self, sink) -> None:
        """Batches recorded from now on go to `sink(blocks, events)` instead of the timing
        model (None: to the model again): a sampled run's functional stretches
        (hmk.system.sampling). Between batches; a batch handed over before (perhaps still
        being timed on the worker thread) keeps the sink it was handed to."""
        self.machine.sink = self._sink if sink is None else sink
        if self._crossing is not None:
            self._crossing.divert = sink

    def _on_sync(self) -> None:
        """Every batch before the current one is timed: the clock is exact here, so the run
        limits are checked here (deterministically) and the progress line redrawn."""
        k = self.kernel
        k.note_time()
        # the batch about to be timed ran in the current process (a Linux process, or a
        # service domain, whose code is its program's: read through the first process)
        proc = k.running_process
        task = self.procmgr.task_of(proc) or self.program_task
        self._batch_code = self.memmgr.space_of(task.proc).read
        self.timing.table.use(task.proc.image)
        if self.stacks is not None:
            self.stacks.note_owner(proc)
        max_instructions, max_cycles = self.limits
        if max_instructions is None and max_cycles is None and self.progress.stream is None:
            return  # nothing to check or show
        self._check_limits()

    def _check_limits(self) -> None:
        """The run limits checked and the progress line redrawn, at a sync point."""
        max_instructions, max_cycles = self.limits
        timing = self.timing
        instructions = sum(t.instructions + t.functional_instructions for t in self.timings())
        cycles = timing.cycles if self.one_clock else self.kernel.now()  # on the time base
        if max_instructions is not None and instructions >= max_instructions:
            self.machine.abort(
                f"run limit: {max_instructions:,} instructions reached (at {instructions:,}: "
                "the end of a basic block)"
            )
        elif max_cycles is not None and cycles >= max_cycles:
            self.machine.abort(f"run limit: {max_cycles:,} cycles reached")
        self.progress.update(instructions, cycles, self.ghz)

    def _horizon(self, max_cycles: int | None) -> tuple[int, str]:
        """Where simulated time ends (on the time base): the run's cycle limit, or the range
        of the timing models' clocks (an int64 of 1/issue-width cycles, so some years), the
        shortest of the cores'."""
        clock_range = min(
            t.port.timebase.time(CLOCK_RANGE // t.timing.params.unit) for t in self._cores()
        )
        if max_cycles is not None and max_cycles <= clock_range:
            return max_cycles, f"run limit: {max_cycles:,} cycles reached"
        years = clock_range / (self.ghz * 1e9) / (365.25 * 86400)
        return clock_range, f"run limit: the simulated clock's range ({years:.1f} years) reached"

    def _on_boundary(self, machine) -> None:
        if self.sampler is not None:
            self.sampler.boundary()
        self.kernel.boundary(machine)
        if self.cores is not None:
            self.cores.decide(machine)

    def _label(self, proc) -> str | None:
        return self.procmgr.label(proc)

    # ---- running -------------------------------------------------------------------------
    def executable(self, program: str):
        """The ELF image of `program`: a host path, or (with a root file system) a guest one."""
        if self.rootfs is None:
            return load_elf(os.path.abspath(program))  # /proc/self/exe is absolute, as in Linux
        found = self.services["fsmgr"].executable(self.program_task, os.fsencode(program))
        if isinstance(found, int):
            raise OSError(f"{program}: {os.strerror(-found)} in the root file system")
        return parse_elf(found[0], found[1].decode(errors="replace"))

    def start(self, image, argv: list[bytes], envp: list[bytes]) -> None:
        """Load `image` as the first process's program (with its dynamic loader, from the
        guest's file system, if it names one), with Linux's initial stack for argv and envp.
        ElfError when the loader is missing or not one hmk can run."""
        try:
            interp = self.procmgr.interpreter(self.program_task, image)
        except ElfError as e:
            if self.rootfs is None and e.errno == "ENOENT":
                raise ElfError(
                    e.path,
                    f"{e.reason} (a dynamically linked program needs its "
                    "libraries: --rootfs DIR gives the guest a root that has them)",
                ) from None
            raise
        self._entry = self.procmgr.load(self.program_task, image, argv, envp, argv[0], interp)
        self._argv = [os.fsdecode(a) for a in argv]

    def run(self) -> RunResult:
        """Run until the first process and everything it started have exited (or a fault or a
        run limit ends the run)."""
        if self._entry is None:
            raise RuntimeError("Simulation.run: start() a program first")
        machine, fault = self.machine, None
        if self._trace_path is not None:
            self.trace = TraceWriter(self._trace_path, self._trace_header())
            if self._trace_kernel:
                self.hierarchy.record_to(self.trace)
        try:
            try:
                if self.sampler is not None:
                    self.sampler.start()
                machine.run(*self._entry)
                status = self.procmgr.exit_status
            except GuestFault as e:
                fault = str(e)
                status = 128 + SIGNAL_OF[e.kind]  # what a shell reports for a signal's kill
            except RunAborted as e:
                fault = str(e)
                status = LIMIT_STATUS
            finally:
                machine.close()  # waits for the timing of the last batch (it may raise)
            if self.cores is not None:
                self.cores.finish()
            if self.sampler is not None:
                self.sampler.finish()
            if self.check_invariants:
                check_bookkeeping(self)
            if self.block_cache is not None:
                self.block_cache.save()
            if self.trace is not None:
                self.trace.close(exit_status=status, fault=fault)
        except InternalError:
            self._drop_trace()
            raise
        except Exception as e:  # a host exception while simulating is hmk's bug, not the guest's
            self._drop_trace()
            if isinstance(e, OutputError):  # the trace could not be written: the user's to fix
                raise
            raise internal(e) from e
        finally:
            self.progress.clear()
        kernel, timings = self.kernel, self.timings()
        clocks = [c.clock() for c in self._cores()]  # on the time base
        cycles = max(clocks)  # the simulated wall time: the furthest core's clock
        instructions = sum(int(t.instructions + t.functional_instructions) for t in timings)
        stats = {
            "sim.cycles": cycles,
            "sim.busy_cycles": sum(clocks) - kernel.cycles.get("idle", 0),
            "sim.instructions": instructions,
            "sim.seconds": cycles / (self.ghz * 1e9),
            "sim.ghz": self.ghz,
            "sim.exit_status": status,
            **({"sim.cores": len(timings)} if len(timings) > 1 else {}),
            **self.stats(),
        }
        sampler = self.sampler
        return RunResult(
            exit_status=status,
            cycles=cycles,
            instructions=instructions,
            ghz=self.ghz,
            syscalls=kernel.counts["kernel.syscalls"],
            page_faults=machine.recorder.counts["faults"],
            stats=stats,
            fault=fault,
            warnings=list(self.messages.lines),
            stacks=self._stacks(),
            run=self.describe(),
            windows=list(sampler.windows) if sampler is not None else None,
        )

    def _trace_header(self) -> dict:
        """What a recorded trace is of (hmk.hw.tracefile)."""
        return {
            **self.describe(),
            "program": self._argv[0] if self._argv else None,
            "argv": self._argv,
            "line": self.hierarchy.config.line,
            "kernel_accesses": self._trace_kernel,  # (docs/exploration.md)
        }

    def _drop_trace(self) -> None:
        if self.trace is not None and not self.trace.closed:
            self.trace.abort()

    def stats(self) -> dict:
        """Every counter of the run, by its hierarchical name (docs/stats.md)."""
        kernel = self.kernel
        timings = self.timings()
        raw = {**self.hierarchy.stats(), **timings[0].stats()}
        for j, timing in enumerate(timings[1:], 1):  # the other cores': system.cpuN.*
            raw.update(
                {f"cpu{j}.{k.removeprefix('timing.')}": v for k, v in timing.stats().items()}
            )
        if not self.one_clock:  # each core's clock, which its own cycles count
            raw["timing.ghz"] = self.ghz
            raw.update({f"cpu{j}.ghz": c.ghz for j, c in enumerate(self.core_clusters) if j})
        raw["kernel.page_faults"] = self.machine.recorder.counts["faults"]
        raw.update(kernel.counts)
        raw.update(kernel.ipc.counters)
        raw.update({f"kernel.cycles.{k}": v for k, v in kernel.cycles.items()})
        raw.update({f"kernel.pool.{n}.in_use": p.in_use for n, p in kernel.mem.pools.items()})
        raw["kernel.frames.in_use"] = kernel.frames.in_use
        raw["kernel.frames.peak"] = kernel.frames.peak
        raw["fsmgr.pagecache.frames"] = len(self.services["fsmgr"].cache)
        for owner, held in sorted(kernel.frames.peak_by_owner.items()):
            raw[f"frames.{owner}.peak"] = held
            raw[f"frames.{owner}.in_use"] = kernel.frames.by_owner[owner]
        if self.sampler is not None:
            raw.update(self.sampler.stats())
        return publish(raw, self.composition, self.level_names)

    def _stacks(self) -> dict | None:
        """The run's call stacks (with several cores, each under its core's frame)."""
        if self.stacks is None:
            return None
        if self.cores is None:
            return self.stacks.stacks()
        out = {}
        for core in self.cores.cores:
            timebase = core.port.timebase  # (a core's own cycles, on the time base)
            for stack, cycles in core.stacks.stacks().items():
                out[(f"core:{core.index}", *stack)] = (
                    cycles if timebase.same else round(cycles * timebase.num / timebase.den)
                )
        return out

    def timings(self) -> list:
        """Each core's timing model (its clock and counters), the boot core's first."""
        return [c.timing for c in self._cores()]

    def _cores(self) -> list[Core]:
        """The run's cores (hmk.system.cores.Core: a timing model, a port), the boot core's
        first."""
        if self.cores is None:
            return [Core(0, self.kernel.port.timing, self.kernel.port)]
        return self.cores.cores

    def _clusters(self) -> dict:
        """With cores of more than one cluster: how many of each (in the cores' order), and
        the clock the run's cycles count (the boot core's)."""
        counts: dict[str, int] = {}
        for c in self.core_clusters:
            counts[c.name] = counts.get(c.name, 0) + 1
        if len(counts) == 1:
            return {}
        return {"clusters": counts, "core_ghz": [c.ghz for c in self.core_clusters]}

    def describe(self) -> dict:
        """What ran where: the run's metadata beside its statistics (--stats JSON `run`)."""
        return {
            "profile": self.profile,
            "cluster": self.cluster,
            "core": self.core_type.name,
            "ghz": self.ghz,
            "cores": 1 if self.cores is None else len(self.cores.cores),
            **self._clusters(),
            "system": self.composition.name,
            "paging": self.paging,
            "domains": {d.name: [d.ic, *d.services] for d in self.composition.domains},
            "caches": dict(self.cache_names),
            **(self.sampler.describe() if self.sampler is not None else {}),
        }


def _plan(fast_forward, sample) -> FastForward | Sampling | None:
    """The run's plan from run_program's `fast_forward` (a count or a FastForward) and `sample`
    (True: the defaults, or a Sampling); ValueError when it cannot be run."""
    if sample is not None and sample is not False and fast_forward is not None:
        raise ValueError("fast_forward and sample cannot be combined: sampling covers the run")
    if fast_forward is not None:
        return fast_forward if isinstance(fast_forward, FastForward) else FastForward(fast_forward)
    if sample is True:
        return Sampling()
    if sample is None or sample is False:
        return None
    if not isinstance(sample, Sampling):
        raise ValueError(f"sample must be True or an hmk.system.sampling.Sampling, not {sample!r}")
    return sample


def parse_mount(spec) -> tuple[str, str, bool]:
    """A mount as (host path, guest path, read-only): from "HOST:GUEST" or "HOST:GUEST:ro"
    (`hmk run --mount`), or such a triple (or a pair: writable). ValueError when malformed;
    the host path must exist (OSError)."""
    if isinstance(spec, str | os.PathLike):
        parts = os.fspath(spec).split(":")
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            parts = [parts[0], parts[1], parts[2] == "ro"]
        elif len(parts) != 2:
            raise ValueError(f"--mount {spec}: expected HOST:GUEST or HOST:GUEST:ro")
    else:
        parts = list(spec)
    if len(parts) == 2:
        parts.append(False)
    if len(parts) != 3 or not parts[0] or not str(parts[1]).startswith("/"):
        raise ValueError(f"--mount {spec}: expected HOST:GUEST[:ro], GUEST an absolute path")
    host, guest, readonly = os.fspath(parts[0]), os.fspath(parts[1]), bool(parts[2])
    if not os.path.exists(host):
        raise OSError(f"--mount {spec}: {host}: no such file or directory")
    return os.path.abspath(host), guest, readonly


def run_program(
    program: str,
    args: list[str] | None = None,
    *,
    env: list[bytes] | None = None,
    **options,
) -> RunResult:
    """Run `program` with `args` (argv[0] is the program path) on one core of `cluster` (default:
    the SoC's first cluster) and return what it cost. Options (Simulation's):
    `profile`, `cluster`; `cores`: how many of the cluster's cores, or cores of several
    clusters by name ("prime:1,little:2" or {"prime": 1, "little": 2}, the boot core the first
    named; docs/smp.md); `stdin` (bytes, or a binary stream such as sys.stdin.buffer, read as the
    program reads it); `out`/`err`: the program's stdout/stderr (binary
    streams, default this process's); `strace` (a text stream) gets one line per syscall;
    `system`: the composition (a preset name or a system file, hmk.system); `paging` overrides
    its choice: "kernel" (HM's policy-free kernel paging) or "user" (every fault an IPC to a
    user-level pager); `capabilities_only` overrides its address-token choice; `rootfs`: a host
    directory as the guest's root (the guest's changes kept in memory, the host's files never
    written), `program` then a path inside it; `mounts`: host directories or files placed in
    the guest's tree, each "HOST:GUEST" (changes kept in memory) or "HOST:GUEST:ro" (read-only,
    EROFS), or a (host, guest, read_only) triple; `impl`:
    the kernel hot paths' "cython" twins or their "python" references; `tick_us`: the
    scheduler's timer period in simulated microseconds; `warnings`: a text stream for hmk's
    one-line warnings (default stderr; None: only in the result); `progress`: a text stream
    for a progress line when the run is long and it is a terminal; `max_instructions`,
    `max_cycles`: end the run there (exit status 124, like timeout(1)); `ram`: the simulated
    RAM (bytes, or a text such as "2G"; default 512 MiB); `stacks`: collect
    cycle-weighted call stacks for flame graphs (RunResult.stacks); `kernel_ipc`: the kernels'
    instructions per cycle (default: the fitted value for the core, hmk/calibration/fitted.toml);
    `block_cache`: keep the blocks' classifications across runs (hmk.cpu.blockcache; False:
    classify every block anew, as the first run of a program does; the results are the same);
    `trace`: a file to record the program's memory accesses in, as the memory hierarchy gets
    them (hmk.hw.tracefile, for hmk.hw.explore; the results are the same); `trace_kernel`: the
    kernel's and the services' accesses too (needs impl="python"); `budgets`: calibration
    budgets changed for this run ({"kernel.ipc.fast_call": 120, ...}, hmk.system.budgets)."""
    with changed_budgets(options.pop("budgets", None)):
        return _run_program(program, args, env, options)


def _run_program(program: str, args, env, options: dict) -> RunResult:
    # a bad ELF gets its one-line error before anything boots
    image = load_elf(os.path.abspath(program)) if options.get("rootfs") is None else None
    sim = Simulation(program, **options)
    if image is None:
        image = sim.executable(program)
    argv = [os.fsencode(program)] + [os.fsencode(a) for a in (args or [])]
    try:
        sim.start(image, argv, list(DEFAULT_ENV if env is None else env))
    except (ElfError, OSError):  # the program or its loader cannot run: the user's to fix
        raise
    except Exception as e:  # loading is the kernel's and the services' work: a bug is hmk's
        raise internal(e, "loading the program") from e
    return sim.run()

"""Run one static AArch64 Linux program on a modeled core and time it.

The pieces, bottom up: the hardware profile gives one core's memory hierarchy and timing
parameters; the core kernel (hmk.kernel.core) boots in simulated RAM with the memory manager
(hmk.services.memmgr); the program becomes a process whose Linux syscalls the Linux personality
(hmk.kernel.minimal) serves; the functional CPU (hmk.cpu.machine) runs it and hands over
executed blocks and memory events in batches; the memory-hierarchy engine times every event;
the timing model turns blocks and latencies into cycles; every kernel path (SVC, page fault,
IPC to the memory manager) adds its modeled cost.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from hmk.cpu.elf import load_elf, parse_elf
from hmk.cpu.machine import GuestFault, Machine, RunAborted
from hmk.cpu.stack import auxv_for, build_stack
from hmk.hw.engine import BatchHierarchy
from hmk.hw.profile import load_soc
from hmk.kernel.core import TICK_US, CoreKernel, Process
from hmk.kernel.minimal import STACK_TOP, MinimalKernel
from hmk.kernel.shim import Shim
from hmk.kernel.syscalls import format_call
from hmk.report.stacks import StackProfile
from hmk.report.stats import publish
from hmk.services.fsmgr import FsMgr, PageCache, build_root
from hmk.services.memmgr import MemoryManager
from hmk.services.procmgr import ProcMgr
from hmk.system import DEFAULT_SYSTEM, load_system
from hmk.workloads import list_workloads
from hmk.workloads import path as workload_path

DEFAULT_ENV = (b"PATH=/usr/bin:/bin", b"HOME=/", b"TERM=dumb", b"LANG=C")
LIMIT_STATUS = 124  # a run ended by max_instructions/max_cycles, as timeout(1) reports
_STDERR = object()  # "this process's stderr at the time of the run"


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


class Simulation:
    """One modeled machine, booted: the core kernel and its services (placed as `system` says)
    on one core of `profile`, with a program's file system. `start(image, argv, envp)` makes
    the first process; `run()` runs everything to the end and returns a RunResult. Most users
    want run_program (or hmk.System); this is the assembly both use."""

    def __init__(  # noqa: PLR0913, PLR0915  (one place that wires every part together)
        self,
        program: str,
        *,
        profile: str = "kirin9000",
        cluster: str | int | None = None,
        stdin: bytes = b"",
        out=None,
        err=None,
        strace=None,
        ram_mib: int = 512,
        seed: int = 0,
        pipelined: bool = True,
        system: str = DEFAULT_SYSTEM,
        paging: str | None = None,
        impl: str = "cython",
        tick_us: float = TICK_US,
        capabilities_only: bool | None = None,
        rootfs: str | None = None,
        warnings=_STDERR,
        progress=None,
        max_instructions: int | None = None,
        max_cycles: int | None = None,
        stacks: bool = False,
    ):
        from hmk.cpu.timing import TimingModel  # noqa: PLC0415  (the timing model is optional glue)

        soc = load_soc(profile)
        which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
        self.profile, self.cluster, self.core_type = soc.name, which.name, which.core
        hierarchy_cfg = soc.hierarchy(cluster=which.name, cores=1)
        self.ghz = ghz = which.ghz
        if rootfs is not None and not os.path.isdir(rootfs):
            raise OSError(f"--rootfs {rootfs}: not a directory")
        for name, limit in (("max_instructions", max_instructions), ("max_cycles", max_cycles)):
            if limit is not None and limit <= 0:
                raise ValueError(f"{name} must be positive, not {limit}")
        self.limits = (max_instructions, max_cycles)
        self.rootfs = rootfs

        self.composition = composition = load_system(system)
        if paging is None:
            paging = "kernel" if composition.kernel_paging else "user"
        if paging not in ("kernel", "user"):
            raise ValueError(f"paging must be 'kernel' or 'user', not {paging!r}")
        self.paging = paging
        if capabilities_only is None:
            capabilities_only = not composition.address_tokens
        self.progress = Progress(progress)
        self.messages = Messages(sys.stderr if warnings is _STDERR else warnings, self.progress)
        self.ram = ram = np.zeros(ram_mib << 20, np.uint8)
        self.core_kernel = core_kernel = CoreKernel(
            ram,
            user_level_paging=paging == "user",
            impl=impl,
            capabilities_only=capabilities_only,
        )
        memmgr = MemoryManager(core_kernel, shim=Shim(core_kernel, composition))
        self.proc = proc = Process(core_kernel, "init")
        space = memmgr.attach(proc)
        self.linux = kernel = MinimalKernel(
            ram, stdin=stdin, out=out, err=err, random_seed=seed, space=space
        )
        kernel.warn = self.messages.warn
        if self.progress.stream is not None:  # the program's output clears the progress line
            kernel.out = _ClearsProgress(kernel.out, self.progress)
            kernel.err = _ClearsProgress(kernel.err, self.progress)
        core_kernel.linux = kernel
        kernel.core = core_kernel
        kernel.procmgr = ProcMgr(core_kernel, memmgr)
        kernel.procmgr.start(proc, kernel)
        bundled = {name: str(workload_path(name)) for name in list_workloads()}
        self.page_cache = cache = PageCache(core_kernel)
        memmgr.page_cache, memmgr.evict = cache.frame_of, cache.evict
        path = program if rootfs is not None else os.path.abspath(program)
        tree = build_root(kernel, path, bundled, rootfs)
        kernel.fs = FsMgr(kernel, tree, cache)

        self.hierarchy = hierarchy = BatchHierarchy(hierarchy_cfg, ram=ram, roots=core_kernel.roots)
        self.timing = timing = TimingModel(self.core_type)
        self.machine = machine = Machine(
            ram, core_kernel, line_bits=hierarchy_cfg.line.bit_length() - 1, pipelined=pipelined
        )
        self.stacks = StackProfile(machine, core_kernel, timing) if stacks else None

        def timed(blocks, events):
            latencies = hierarchy.run(events, check=False)
            code = self._batch_space.read  # the code of the process that ran the batch
            if self.stacks is None:
                timing.account(blocks, events, latencies, code)
            else:
                self.stacks.account(blocks, events, latencies, code)

        def tlb_change(pages, asid):
            machine.flush_tlb()
            if pages is None:
                hierarchy.tlbi_all()
                timing.code_changed(None)
                return
            for page in pages:
                hierarchy.tlbi_va(page, asid)
            timing.code_changed(pages)

        machine.sink = timed
        kernel.on_tlb_change = tlb_change
        kernel.clock = lambda: int(timing.cycles / ghz)
        core_kernel.attach(
            self.core_type,
            machine.sync,
            lambda log: hierarchy.run(log, check=False),
            timing.add_cycles,
            tlb_change,
            lambda: int(timing.cycles),
        )
        core_kernel.ghz = ghz
        core_kernel.frames.on_code_reuse = machine.flush_code
        core_kernel._tlbi_hierarchy = lambda pages, asid: [
            hierarchy.tlbi_va(p, asid) for p in pages
        ]
        machine.on_sync = self._on_sync
        machine.on_boundary = core_kernel.boundary
        if strace is not None:

            def trace(rec, linux):  # the calling process's pid and memory (a child's after fork)
                pid = linux.task.threads.get(core_kernel.running, [linux.task.pid])[0]
                print(format_call(rec, linux.space.read_cstring, pid), file=strace)

            kernel.strace = trace
        self.asid = core_kernel.activate(proc)
        machine.set_space(proc.root, self.asid)
        core_kernel.start(proc, tick_cycles=int(tick_us * ghz * 1000))
        self._entry = None
        self._batch_space = kernel.space

    def executable(self, program: str):
        """The ELF image of `program`: a host path, or (with a root file system) a guest one."""
        if self.rootfs is None:
            return load_elf(os.path.abspath(program))  # /proc/self/exe is absolute, as in Linux
        found = self.linux.fs.executable(os.fsencode(program))
        if isinstance(found, int):
            raise OSError(f"{program}: {os.strerror(-found)} in the root file system")
        return parse_elf(found[0], found[1].decode(errors="replace"))

    def start(self, image, argv: list[bytes], envp: list[bytes]) -> None:
        """Load `image` as the first process, with Linux's initial stack for argv and envp."""
        kernel = self.linux
        kernel.load_segments(image)
        random16 = kernel._random.bytes(16)
        sp, stack = build_stack(STACK_TOP, argv, envp, auxv_for(image), argv[0], random16)
        kernel.make_stack(stack, sp)
        self._entry = (image.entry, sp)

    def _on_sync(self) -> None:
        """Every batch before the current one is timed: the clock is exact here, so the run
        limits are checked here (deterministically) and the progress line redrawn."""
        k = self.core_kernel
        k.note_time()
        # the batch about to be timed ran in the current process: its code, its program image
        proc = k.running_process
        linux = getattr(proc, "linux", None) or self.linux
        self._batch_space = linux.space
        self.timing.table.use(linux.proc.image if linux.proc is not None else None)
        if self.stacks is not None:
            self.stacks.note_owner(proc)
        timing = self.timing
        instructions, cycles = timing.instructions, timing.cycles
        max_instructions, max_cycles = self.limits
        if max_instructions is not None and instructions >= max_instructions:
            self.machine.abort(f"run limit: {max_instructions:,} instructions reached")
        elif max_cycles is not None and cycles >= max_cycles:
            self.machine.abort(f"run limit: {max_cycles:,} cycles reached")
        self.progress.update(instructions, cycles, self.ghz)

    def run(self) -> RunResult:
        """Run until the first process and everything it started have exited (or a fault or a
        run limit ends the run)."""
        if self._entry is None:
            raise RuntimeError("Simulation.run: start() a program first")
        machine, fault = self.machine, None
        try:
            machine.run(*self._entry)
            status = self.linux.proc.exit_status
        except GuestFault as e:
            fault = str(e)
            status = 128 + e.signal  # what a shell reports for a process a signal killed
        except RunAborted as e:
            fault = str(e)
            status = LIMIT_STATUS
        finally:
            machine.close()
            self.progress.clear()
        core_kernel, timing = self.core_kernel, self.timing
        cycles = int(timing.cycles)
        stats = {
            "sim.cycles": cycles,
            "sim.busy_cycles": cycles - core_kernel.cycles.get("idle", 0),
            "sim.instructions": int(timing.instructions),
            "sim.seconds": cycles / (self.ghz * 1e9),
            "sim.ghz": self.ghz,
            "sim.exit_status": status,
            **self.stats(),
        }
        return RunResult(
            exit_status=status,
            cycles=cycles,
            instructions=int(timing.instructions),
            ghz=self.ghz,
            syscalls=core_kernel.counts["kernel.syscalls"],
            page_faults=machine.recorder.counts["faults"],
            stats=stats,
            fault=fault,
            warnings=list(self.messages.lines),
            stacks=self.stacks.stacks() if self.stacks is not None else None,
            run=self.describe(),
        )

    def stats(self) -> dict:
        """Every counter of the run, by its hierarchical name (docs/stats.md)."""
        core_kernel = self.core_kernel
        raw = {**self.hierarchy.stats(), **self.timing.stats()}
        raw["kernel.page_faults"] = self.machine.recorder.counts["faults"]
        raw.update(core_kernel.counts)
        raw.update(core_kernel.ipc.counters)
        raw.update({f"kernel.cycles.{k}": v for k, v in core_kernel.cycles.items()})
        raw.update({f"kernel.pool.{n}.in_use": p.in_use for n, p in core_kernel.mem.pools.items()})
        raw["kernel.frames.in_use"] = core_kernel.frames.in_use
        raw["kernel.frames.peak"] = core_kernel.frames.peak
        raw["fsmgr.pagecache.frames"] = len(self.page_cache)
        for owner, held in sorted(core_kernel.frames.peak_by_owner.items()):
            raw[f"frames.{owner}.peak"] = held
            raw[f"frames.{owner}.in_use"] = core_kernel.frames.by_owner[owner]
        return publish(raw, self.composition)

    def describe(self) -> dict:
        """What ran where: the run's metadata beside its statistics (--stats JSON `run`)."""
        return {
            "profile": self.profile,
            "cluster": self.cluster,
            "core": self.core_type.name,
            "ghz": self.ghz,
            "system": self.composition.name,
            "paging": self.paging,
            "domains": {d.name: [d.ic, *d.services] for d in self.composition.domains},
        }


def run_program(
    program: str,
    args: list[str] | None = None,
    *,
    env: list[bytes] | None = None,
    **options,
) -> RunResult:
    """Run `program` with `args` (argv[0] is the program path) on one core of `cluster` (default:
    the SoC's first cluster) and return what it cost. Options (Simulation's):
    `profile`, `cluster`; `stdin` (bytes); `out`/`err`: the program's stdout/stderr (binary
    streams, default this process's); `strace` (a text stream) gets one line per syscall;
    `system`: the composition (a preset name or a system file, hmk.system); `paging` overrides
    its choice: "kernel" (HM's policy-free kernel paging) or "user" (every fault an IPC to a
    user-level pager); `capabilities_only` overrides its address-token choice; `rootfs`: a host
    directory to import read-only as the guest's root, `program` then a path inside it; `impl`:
    the kernel hot paths' "cython" twins or their "python" references; `tick_us`: the
    scheduler's timer period in simulated microseconds; `warnings`: a text stream for hmk's
    one-line warnings (default stderr; None: only in the result); `progress`: a text stream
    for a progress line when the run is long and it is a terminal; `max_instructions`,
    `max_cycles`: end the run there (exit status 124, like timeout(1)); `stacks`: collect
    cycle-weighted call stacks for flame graphs (RunResult.stacks)."""
    # a bad ELF gets its one-line error before anything boots
    image = load_elf(os.path.abspath(program)) if options.get("rootfs") is None else None
    sim = Simulation(program, **options)
    if image is None:
        image = sim.executable(program)
    argv = [os.fsencode(program)] + [os.fsencode(a) for a in (args or [])]
    sim.start(image, argv, list(DEFAULT_ENV if env is None else env))
    return sim.run()


def summary(result: RunResult, file=None) -> None:
    file = file if file is not None else sys.stderr
    s = result.stats

    def rate(name):
        hits, misses = s.get(f"{name}.hits", 0), s.get(f"{name}.misses", 0)
        return f"{100 * misses / (hits + misses):.2f}%" if hits + misses else "-"

    print(
        f"hmk: {result.cycles:,} cycles, {result.seconds * 1e3:.3f} ms at {result.ghz} GHz, "
        f"{result.instructions:,} instructions, IPC {result.ipc:.2f}",
        file=file,
    )
    kernel = {
        k.removeprefix("kernel.cycles."): v for k, v in s.items() if k.startswith("kernel.cycles.")
    }
    parts = {
        "execution": s.get("system.cpu0.base_cycles", 0),
        "memory stalls": s.get("system.cpu0.stall.memory", 0),
        "fetch stalls": s.get("system.cpu0.stall.fetch", 0),
        "mispredicts": s.get("system.cpu0.stall.mispredict", 0),
        "dependencies": s.get("system.cpu0.stall.dependency", 0),
        "syscall entry/exit": kernel.get("syscall", 0) + kernel.get("shim", 0),
        "page faults": kernel.get("fault", 0),
        "IPC": kernel.get("ipc", 0),
        "services": sum(
            v for k, v in s.items() if k.startswith("domains.") and k.endswith(".cycles")
        ),
        "scheduling": kernel.get("sched", 0) + kernel.get("timer", 0) + kernel.get("hmcall", 0),
    }
    total = sum(parts.values()) or 1
    shares = ", ".join(f"{name} {100 * v / total:.1f}%" for name, v in parts.items() if v)
    idle = kernel.get("idle", 0)
    if idle:  # sleeping with nothing else to run: not part of the busy cycles' shares
        shares += f"; the core idled {idle:,} cycles ({100 * idle / (result.cycles or 1):.1f}%)"
    print(f"hmk: cycles went to {shares}", file=file)
    print(
        f"hmk: miss rates L1I {rate('system.cpu0.l1i')} L1D {rate('system.cpu0.l1d')} "
        f"L2 {rate('system.cpu0.l2')} L3 {rate('system.l3')} DTLB {rate('system.cpu0.dtlb')}; "
        f"{result.syscalls} syscalls, "
        f"{result.page_faults} page faults ({s.get('kernel.faults.resolved', 0)} resolved in the "
        f"kernel), {s.get('kernel.ipc.fastpath', 0) + s.get('kernel.ipc.slowpath', 0)} IPCs, "
        f"{s.get('kernel.domain_switches', 0)} address-space switches "
        f"({result.run.get('system', '?')})",
        file=file,
    )

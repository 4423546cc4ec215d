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
from dataclasses import dataclass, field

import numpy as np

from hmk.cpu.elf import load_elf, parse_elf
from hmk.cpu.machine import GuestFault, Machine
from hmk.cpu.stack import auxv_for, build_stack
from hmk.hw.engine import BatchHierarchy
from hmk.hw.profile import load_soc
from hmk.kernel.core import TICK_US, CoreKernel, Process
from hmk.kernel.minimal import STACK_TOP, MinimalKernel
from hmk.kernel.shim import Shim
from hmk.kernel.syscalls import format_call
from hmk.services.fsmgr import FsMgr, PageCache, build_root
from hmk.services.memmgr import MemoryManager
from hmk.services.procmgr import ProcMgr
from hmk.system import DEFAULT_SYSTEM, load_system
from hmk.workloads import list_workloads
from hmk.workloads import path as workload_path

DEFAULT_ENV = (b"PATH=/usr/bin:/bin", b"HOME=/", b"TERM=dumb", b"LANG=C")


@dataclass
class RunResult:
    exit_status: int
    cycles: int
    instructions: int
    ghz: float
    syscalls: int
    page_faults: int
    stats: dict = field(default_factory=dict)
    fault: str | None = None  # why the program was killed, if it was

    @property
    def seconds(self) -> float:
        return self.cycles / (self.ghz * 1e9)

    @property
    def ipc(self) -> float:
        return self.instructions / self.cycles if self.cycles else 0.0


def run_program(
    program: str,
    args: list[str] | None = None,
    *,
    profile: str = "kirin9000",
    cluster: str | int | None = None,
    env: list[bytes] | None = None,
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
) -> RunResult:
    """Run `program` with `args` (argv[0] is the program path) on one core of `cluster` (default:
    the SoC's first cluster). The program's stdout/stderr go to `out`/`err` (binary streams,
    default this process's); `strace` (a text stream) gets one line per syscall. `system`: the
    composition (a preset name or a system file, hmk.system). `paging` overrides its choice:
    "kernel" (HM's policy-free kernel paging) or "user" (every fault an IPC to a user-level
    pager); `capabilities_only` overrides its address-token choice; `rootfs`: a host directory
    to import read-only as the guest's root, `program` then a path inside it; `impl`: the kernel hot
    paths' "cython" twins or their "python" references; `tick_us`: the scheduler's timer period
    in simulated microseconds."""
    from hmk.cpu.timing import TimingModel  # noqa: PLC0415  (the timing model is optional glue)

    soc = load_soc(profile)
    which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
    core_type = which.core
    hierarchy_cfg = soc.hierarchy(cluster=which.name, cores=1)
    ghz = which.ghz
    if rootfs is None:
        image = load_elf(os.path.abspath(program))  # /proc/self/exe is absolute, as in Linux
    elif not os.path.isdir(rootfs):
        raise OSError(f"--rootfs {rootfs}: not a directory")

    composition = load_system(system)
    if paging is None:
        paging = "kernel" if composition.kernel_paging else "user"
    if paging not in ("kernel", "user"):
        raise ValueError(f"paging must be 'kernel' or 'user', not {paging!r}")
    if capabilities_only is None:
        capabilities_only = not composition.address_tokens
    ram = np.zeros(ram_mib << 20, np.uint8)
    core_kernel = CoreKernel(
        ram,
        user_level_paging=paging == "user",
        impl=impl,
        capabilities_only=capabilities_only,
    )
    memmgr = MemoryManager(core_kernel, shim=Shim(core_kernel, composition))
    proc = Process(core_kernel, "init")
    space = memmgr.attach(proc)
    kernel = MinimalKernel(ram, stdin=stdin, out=out, err=err, random_seed=seed, space=space)
    core_kernel.linux = kernel
    kernel.core = core_kernel
    kernel.procmgr = ProcMgr(core_kernel, memmgr)
    kernel.procmgr.start(proc, kernel)
    bundled = {name: str(workload_path(name)) for name in list_workloads()}
    cache = PageCache(core_kernel)
    memmgr.page_cache, memmgr.evict = cache.frame_of, cache.evict
    tree = build_root(kernel, os.path.abspath(program), bundled, rootfs)
    kernel.fs = FsMgr(kernel, tree, cache)
    if rootfs is not None:  # the program is a path in the guest's file system
        found = kernel.fs.executable(os.fsencode(program))
        if isinstance(found, int):
            raise OSError(f"{program}: {os.strerror(-found)} in the root file system {rootfs}")
        image = parse_elf(found[0], found[1].decode(errors="replace"))

    hierarchy = BatchHierarchy(hierarchy_cfg, ram=ram, roots=core_kernel.roots)
    timing = TimingModel(core_type)
    machine = Machine(
        ram, core_kernel, line_bits=hierarchy_cfg.line.bit_length() - 1, pipelined=pipelined
    )

    def timed(blocks, events):
        latencies = hierarchy.run(events, check=False)
        timing.account(blocks, events, latencies, kernel.space.read)

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
        core_type,
        machine.sync,
        lambda log: hierarchy.run(log, check=False),
        timing.add_cycles,
        tlb_change,
        lambda: int(timing.cycles),
    )
    core_kernel.ghz = ghz
    core_kernel.frames.on_code_reuse = machine.flush_code
    core_kernel._tlbi_hierarchy = lambda pages, asid: [hierarchy.tlbi_va(p, asid) for p in pages]
    machine.on_sync = core_kernel.note_time
    machine.on_boundary = core_kernel.boundary
    if strace is not None:

        def trace(rec, linux):  # the calling process's pid and memory (a child's after fork)
            pid = linux.task.threads.get(core_kernel.running, [linux.task.pid])[0]
            print(format_call(rec, linux.space.read_cstring, pid), file=strace)

        kernel.strace = trace
    asid = core_kernel.activate(proc)
    machine.set_space(proc.root, asid)
    core_kernel.start(proc, tick_cycles=int(tick_us * ghz * 1000))

    kernel.load_segments(image)
    argv = [os.fsencode(program)] + [os.fsencode(a) for a in (args or [])]
    envp = list(DEFAULT_ENV if env is None else env)
    random16 = kernel._random.bytes(16)
    sp, stack = build_stack(STACK_TOP, argv, envp, auxv_for(image), argv[0], random16)
    kernel.make_stack(stack, sp)
    fault = None
    try:
        machine.run(image.entry, sp=sp)
        status = kernel.proc.exit_status
    except GuestFault as e:
        fault = str(e)
        status = 128 + e.signal  # what a shell reports for a process a signal killed
    finally:
        machine.close()
    stats = {**hierarchy.stats(), **timing.stats()}
    stats["kernel.page_faults"] = machine.recorder.counts["faults"]
    stats.update(core_kernel.counts)
    stats.update(core_kernel.ipc.counters)
    stats.update({f"kernel.cycles.{k}": v for k, v in core_kernel.cycles.items()})
    stats.update({f"kernel.pool.{n}.in_use": p.in_use for n, p in core_kernel.mem.pools.items()})
    stats["kernel.frames.in_use"] = core_kernel.frames.in_use
    stats["kernel.frames.peak"] = core_kernel.frames.peak
    stats["fsmgr.pagecache.frames"] = len(cache.frames)
    for owner, held in sorted(core_kernel.frames.peak_by_owner.items()):
        stats[f"frames.{owner}.peak"] = held
        stats[f"frames.{owner}.in_use"] = core_kernel.frames.by_owner[owner]
    stats["system"] = composition.name
    return RunResult(
        exit_status=status,
        cycles=int(timing.cycles),
        instructions=int(timing.instructions),
        ghz=ghz,
        syscalls=core_kernel.counts["kernel.syscalls"],
        page_faults=machine.recorder.counts["faults"],
        stats=stats,
        fault=fault,
    )


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
        "execution": s.get("timing.base_cycles", 0),
        "memory stalls": s.get("timing.stall.memory", 0),
        "fetch stalls": s.get("timing.stall.fetch", 0),
        "mispredicts": s.get("timing.stall.mispredict", 0),
        "dependencies": s.get("timing.stall.dependency", 0),
        "syscall entry/exit": kernel.get("syscall", 0) + kernel.get("shim", 0),
        "page faults": kernel.get("fault", 0),
        "IPC": kernel.get("ipc", 0),
        "services": sum(v for k, v in kernel.items() if k.startswith("services.")),
        "scheduling": kernel.get("sched", 0) + kernel.get("timer", 0) + kernel.get("hmcall", 0),
    }
    total = sum(parts.values()) or 1
    shares = ", ".join(f"{name} {100 * v / total:.1f}%" for name, v in parts.items() if v)
    idle = kernel.get("idle", 0)
    if idle:  # sleeping with nothing else to run: not part of the busy cycles' shares
        shares += f"; the core idled {idle:,} cycles ({100 * idle / (result.cycles or 1):.1f}%)"
    print(f"hmk: cycles went to {shares}", file=file)
    print(
        f"hmk: miss rates L1I {rate('cpu0.l1i')} L1D {rate('cpu0.l1d')} L2 {rate('cpu0.l2')} "
        f"L3 {rate('l3')} DTLB {rate('cpu0.dtlb')}; {result.syscalls} syscalls, "
        f"{result.page_faults} page faults ({s.get('kernel.faults.resolved', 0)} resolved in the "
        f"kernel), {s.get('kernel.ipc.fastpath', 0) + s.get('kernel.ipc.slowpath', 0)} IPCs, "
        f"{s.get('kernel.domain_switches', 0)} address-space switches ({s['system']})",
        file=file,
    )

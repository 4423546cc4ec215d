"""A run's statistics under stable hierarchical names, in the spirit of gem5's stats.txt.

`publish(raw, composition, levels)` turns the simulator's internal counters into the public names
that RunResult.stats holds (hmk.report.stats writes them as JSON or text); SCHEMA lists every name
pattern with its unit and meaning, and docs/stats.md is generated from it (`python -m
hmk.report.stats --write docs/stats.md`; a test keeps the page current and checks that every name
a run produces matches a pattern). Names only grow: a renamed or removed statistic is a schema
version change (SCHEMA_VERSION).
"""

from __future__ import annotations

import re

SCHEMA_VERSION = 2  # 2: a shared cache level named as the profile names it (the Pi 4B's system.l2)

# (pattern, unit, meaning): `*` matches one name component, `**` one or more
SCHEMA = (
    (
        "sim.cycles",
        "cycles",
        "simulated core cycles, busy and idle, from start to exit (with several cores: the "
        "furthest core's clock, the run's wall time; with cores of different clocks, in "
        "cycles of the boot core's, the run's time base)",
    ),
    ("sim.busy_cycles", "cycles", "the cores' cycles less the cycles they idled (time base)"),
    ("sim.cores", "count", "the modeled cores, when more than one (hmk run --cores)"),
    ("sim.instructions", "count", "user instructions executed (kernel paths are budgets)"),
    ("sim.seconds", "s", "sim.cycles at the core's frequency: the simulated wall time"),
    ("sim.ghz", "GHz", "the modeled core's frequency (several: the boot core's, the time base)"),
    ("sim.exit_status", "status", "the first process's exit status (128+signal if killed)"),
    (
        "sample.cycles",
        "cycles",
        "a sampled run's estimate of sim.cycles: sample.user_cycles + sample.kernel_cycles",
    ),
    ("sample.cycles_ci95", "cycles", "half-width of sample.cycles' 95% confidence interval"),
    (
        "sample.user_cycles",
        "cycles",
        "estimated user cycles: the exact start's, plus sample.cpi times the instructions after it",
    ),
    (
        "sample.kernel_cycles",
        "cycles",
        "kernel and service cycles, modelled in detail throughout (= system.cpu0.external_cycles)",
    ),
    ("sample.cpi", "cycles/instruction", "the measured windows' user CPI (a ratio estimate)"),
    (
        "sample.cpi_ci95",
        "cycles/instruction",
        "half-width of sample.cpi's 95% confidence interval (Student's t over the windows)",
    ),
    ("sample.windows", "count", "measurement windows taken"),
    (
        "sample.instructions.*",
        "count",
        "user instructions by phase: exact (the detailed start), detail (warm-ups), measure "
        "(windows), warm (functional warming), functional",
    ),
    ("system.cpu*.cycles", "cycles", "the core's clock: user execution plus kernel paths"),
    (
        "system.cpu*.ghz",
        "GHz",
        "the core's clock, when the run's cores differ (its system.cpuN.* cycles are its own; "
        "kernel.cycles.* and sim.* are on the time base)",
    ),
    ("system.cpu*.instructions", "count", "user instructions the timing model issued"),
    ("system.cpu*.blocks", "count", "user basic blocks timed"),
    ("system.cpu*.base_cycles", "cycles", "issue cycles with no stall (user code)"),
    (
        "system.cpu*.external_cycles",
        "cycles",
        "cycles charged by kernel paths and services' work (= kernel.cycles.* + services.*.cycles)",
    ),
    (
        "system.cpu*.functional_instructions",
        "count",
        "user instructions run without the timing model (fast-forwarded, or between windows)",
    ),
    (
        "system.cpu*.functional_cycles",
        "cycles",
        "the clock's estimate for them: the last window's CPI, or 1 an instruction before any",
    ),
    (
        "system.cpu*.stall.*",
        "cycles",
        "user stall cycles by cause: memory, fetch, mispredict, dependency",
    ),
    ("system.cpu*.branch.**", "count", "branch predictor lookups and mispredicts, by kind"),
    (
        "system.cpu*.*.hits",
        "count",
        "hits in a private cache or TLB (l1i, l1d, l2, itlb, dtlb, l2tlb)",
    ),
    ("system.cpu*.*.misses", "count", "misses in a private cache or TLB"),
    (
        "system.cpu*.*.*_hits",
        "count",
        "a cache's hits by access kind: read, write, fetch, walk (page-table walker loads)",
    ),
    ("system.cpu*.*.*_misses", "count", "a cache's misses by access kind"),
    (
        "system.cpu*.coherence.upgrades",
        "count",
        "writes that removed copies from other cores' private caches",
    ),
    (
        "system.cpu*.coherence.transfers_*",
        "count",
        "lines received from (in) or given to (out) another core's private caches",
    ),
    (
        "system.cpu*.coherence.downgrades",
        "count",
        "dirty lines written back because another core read them (MESI)",
    ),
    (
        "system.cpu*.coherence.store_wait_cycles",
        "cycles",
        "of stall.memory: barriers, release stores and atomics waiting for stores to be seen by "
        "other cores",
    ),
    (
        "system.cpu*.*.coherence_invalidations",
        "count",
        "copies in this cache that other cores' writes removed",
    ),
    ("system.cpu*.*.evictions", "count", "lines a cache evicted"),
    ("system.cpu*.*.writebacks", "count", "dirty lines a cache wrote back"),
    ("system.cpu*.*.back_invalidations", "count", "lines an inclusive outer level invalidated"),
    ("system.cpu*.walker.*", "count", "page-table walks, walker-cache hits and misses, faults"),
    ("system.*.hits", "count", "hits in a shared cache level, named as the profile does (l2, l3)"),
    ("system.*.misses", "count", "misses in a shared cache level"),
    ("system.*.*_hits", "count", "a shared level's hits by access kind"),
    ("system.*.*_misses", "count", "a shared level's misses by access kind"),
    ("system.*.evictions", "count", "lines a shared level evicted"),
    ("system.*.writebacks", "count", "dirty lines a shared level wrote back"),
    ("system.*.back_invalidations", "count", "lines invalidated to keep inclusion"),
    ("system.dram.*", "count", "DRAM line reads and writes"),
    (
        "kernel.cycles.*",
        "cycles",
        "kernel cycles by path: syscall (exception entry+return), "
        "shim, fault, ipc, sched, timer, hmcall, signal, idle (on the time base)",
    ),
    ("kernel.syscalls", "count", "SVCs taken (Linux syscalls and core-kernel calls)"),
    ("kernel.hmcalls.*", "count", "core-kernel calls by name (HM-native programs)"),
    ("kernel.page_faults", "count", "translation and permission faults the CPU raised"),
    (
        "kernel.faults.*",
        "count",
        "where each fault the CPU raised went (they add up to kernel.page_faults): resolved, "
        "zero_mapped, zero_replaced (in the kernel), need_memmgr, need_pager, segv",
    ),
    (
        "kernel.fault_retries",
        "count",
        "faults tried again in the kernel after the memory manager refilled the VSpace's "
        "frame pool (counted by their second try's outcome)",
    ),
    (
        "kernel.service_faults",
        "count",
        "faults a service's own access to a process's memory took (a copy to or from it), "
        "handled as the CPU's are",
    ),
    ("kernel.ipc.fastpath", "count", "IPC calls taken on the fast path"),
    ("kernel.ipc.slowpath", "count", "IPC calls taken on the slow path"),
    ("kernel.ipc.slowpath.*", "count", "slow-path IPC calls by reason"),
    ("kernel.ipc.reply.*", "count", "IPC replies by path (fast, slow)"),
    (
        "kernel.ipc.*",
        "count",
        "IPC machinery: activations allocated/freed and their frames and bytes, handoffs, errors",
    ),
    ("kernel.domain_switches", "count", "address-space switches an IPC made"),
    ("kernel.context_switches", "count", "thread switches by the scheduler"),
    ("kernel.asid.rollovers", "count", "ASID generation rollovers (a full TLB flush each)"),
    ("kernel.oom_kills", "count", "processes the OOM killer ended (docs/kernel-design.md)"),
    ("kernel.tlbi.*", "count", "TLB invalidations by kind"),
    ("kernel.pool.*.in_use", "objects", "kernel objects of a kind live at exit"),
    (
        "kernel.wake_moves",
        "count",
        "woken threads the kernel's wake-up placement put on another core than they slept on "
        "(cores of different capacities only; docs/smp.md, Placement)",
    ),
    (
        "kernel.eas.wakeups",
        "count",
        "linux: wake-ups placed by the energy model (find_energy_efficient_cpu)",
    ),
    (
        "kernel.eas.overutilized",
        "count",
        "linux: wake-ups while a core was overutilised (EAS off: select_idle_capacity)",
    ),
    (
        "kernel.eas.unfit",
        "count",
        "linux: wake-ups of a thread that fits no core (select_idle_capacity)",
    ),
    (
        "kernel.misfit_migrations",
        "count",
        "linux: running threads moved to a bigger idle core because they outgrew theirs",
    ),
    ("kernel.**", "count", "other core-kernel counters (see docs/kernel-design.md)"),
    ("signals.delivered.*", "count", "signals delivered, by number"),
    ("shim.syscalls.*", "count", "Linux syscalls the ABI shim dispatched, by name"),
    (
        "services.*.cycles",
        "cycles",
        "a service's own work: its operations' budgets at the kernel IPC and its accesses' stalls",
    ),
    (
        "services.*.instructions",
        "instructions",
        "a service's own work in instructions: the budgets of the operations it performed",
    ),
    (
        "services.*.work.*",
        "count",
        "a service's operations by budget (its `costs`: a descriptor found, a line copied, ...)",
    ),
    ("services.**", "count", "a service's counters, by the service's name"),
    ("domains.*.cycles", "cycles", "the cycles of the services a domain holds"),
    (
        "domains.*.calls.*.*",
        "count",
        "calls into a domain by caller ('app' is the program) and "
        "path: fast/slow IPC, failed, direct (a function call: same domain or IC0), or "
        "message (a hybrid kernel's request and reply messages)",
    ),
    ("frames.total.*", "frames", "4 KiB frames allocated from simulated RAM: peak and in_use"),
    (
        "frames.**.peak",
        "frames",
        "the most frames an owner held at once (kernel, memmgr, "
        "memmgr.filepages, fsmgr.pagecache, netmgr.buffers, user)",
    ),
    ("frames.**.in_use", "frames", "the frames an owner held at exit"),
)


def level_name(profile: str, cache: str) -> str:
    """The statistics' name of a shared cache level that `profile` calls `cache`: lower case,
    other characters than letters and digits as "_" (L2 -> l2, "System cache" -> system_cache).
    ValueError for a name that would mix its counters with another component's (cpu0, dram)."""
    name = re.sub(r"[^a-z0-9]+", "_", cache.lower()).strip("_")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or re.fullmatch(r"cpu\d+|dram", name):
        raise ValueError(
            f"profile {profile}: a shared cache named {cache!r} cannot name statistics "
            f"(system.{name}.*): name it after its level, e.g. L3"
        )
    return name


def publish(raw: dict, composition, levels: dict[str, str] | None = None) -> dict:
    """The public statistics from the simulator's counters (`raw`: hierarchy stats unprefixed,
    timing stats as `timing.*`, kernel counters) under `composition`: a service's counters are
    the ones named after it (`fsmgr.pagecache.fills` -> `services.fsmgr.pagecache.fills`), a
    shared cache's under the name `levels` gives its slot (`l3.hits` -> `system.l2.hits` on a
    profile that calls its shared level L2: {"l3": "l2"})."""
    levels = levels or {}
    out: dict[str, int | float] = {}
    domain_of = {s: d.name for d in composition.domains for s in d.services}
    service_counters = tuple(f"{s}." for s in domain_of)
    for name, value in raw.items():
        if name.startswith("timing."):
            out["system.cpu0." + name.removeprefix("timing.")] = value
        elif name.startswith("kernel.cycles.services."):
            service = name.removeprefix("kernel.cycles.services.")
            out[f"services.{service}.cycles"] = value
            domain = f"domains.{domain_of.get(service, service)}.cycles"
            out[domain] = out.get(domain, 0) + value
        elif name.startswith("kernel.frames."):
            out["frames.total." + name.removeprefix("kernel.frames.")] = value
        elif name.startswith("ipc.") and "->" in name:  # ipc.<from>-><to>.<path>
            route, path = name.removeprefix("ipc.").rsplit(".", 1)
            src, dst = route.split("->")
            out[f"domains.{dst}.calls.{src}.{path}"] = value
        elif name.startswith("shim.calls."):  # shim.calls.<from>-><to>: a direct call
            src, dst = name.removeprefix("shim.calls.").split("->")
            out[f"domains.{dst}.calls.{src}.direct"] = value
        elif name.startswith(service_counters):
            out["services." + name] = value
        elif name.startswith(("kernel.", "shim.", "frames.", "signals.", "sample.")):
            out[name] = value
        else:  # the memory hierarchy's: cpu0.l1d.misses, l3.hits, dram.reads
            slot, dot, counter = name.partition(".")
            out[f"system.{levels.get(slot, slot)}{dot}{counter}"] = value
    return dict(sorted(out.items()))


def _regex(pattern: str) -> re.Pattern:
    parts = []
    for part in pattern.split("."):
        if part == "**":
            parts.append(r"[^.]+(?:\.[^.]+)*")
        elif part == "*":
            parts.append(r"[^.]+")
        else:  # a literal, or one with a wildcard inside (`*_hits`)
            parts.append(r"[^.]*".join(re.escape(piece) for piece in part.split("*")))
    return re.compile(r"\.".join(parts))


_COMPILED = [(_regex(p), unit, meaning) for p, unit, meaning in SCHEMA]


def describe(name: str) -> tuple[str, str] | None:
    """(unit, meaning) of a statistic, from the first SCHEMA pattern it matches."""
    for regex, unit, meaning in _COMPILED:
        if regex.fullmatch(name):
            return unit, meaning
    return None

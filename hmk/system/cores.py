"""Many cores on one functional CPU: the modeled cores of a run take turns, in quanta of
simulated time.

Each modeled core has its own clock (a timing model), its private caches and TLBs (its entry
in the shared memory hierarchy, whose shared levels all cores use) and the kernel's per-core
state (CoreKernel.switch_cpu: its running thread, its process, its timer). The one functional
CPU (unicorn, over the one simulated RAM) is lent to one core at a time; a core's thread keeps
its registers while another core has the CPU, as a real core keeps them in its register file.

Which core runs next is decided at every kernel exit and every batch boundary of the core
running (`decide`), on simulated clocks only, so a run is deterministic: the core whose clock
is furthest behind among those with work takes over once the running core is a quantum ahead
of it, or at once when the running core has nothing left to run. Cores therefore stay within
a quantum of each other, and an effect of one core on another (a thread woken there, a value
written to memory it reads) is seen at the next turn at the latest: the lax synchronisation of
quantum-based parallel simulators (e.g. Graphite, HPCA 2010), with its error bounded by the
quantum. A core with nothing to run sleeps; when work arrives for it (a thread woken, made or
placed on it) the core that made it sends an inter-processor interrupt, and the sleeping core's
clock moves on to that moment before it runs the thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from hmk.kernel.core import CAPACITY_SCALE, MAX_CORES

QUANTUM_US = 10.0  # assumed: short against a scheduler tick (4 ms) and a syscall round trip
# across cores (tens of microseconds in lmbench's pipe latency), long against a batch boundary
# while the cores write lines other cores hold: a turn every FINE_INSTRUCTIONS, to the core
# furthest behind (assumed: a few loop iterations; the error of a coarser interleaving is that a
# line two cores use, one writing it, stays with one of them for the whole turn)
FINE_INSTRUCTIONS = 32
FINE_US = 1.0  # for this long after the last upgrade (assumed: a line written again within a
# microsecond is being passed back and forth; data written once and then read moves once)


# a core type's performance per MHz, as Linux's device trees give it (capacity-dmips-mhz, the
# biggest core of a SoC at 1024), for placement: a core's capacity is this times its clock
DMIPS_PER_MHZ = {
    "cortex-a77": 1024,  # Linux arch/arm64/boot/dts/qcom/sm8250.dtsi (Snapdragon 865), its A77s
    "cortex-a55": 448,  # the same file, its A55s
    # sm8150.dtsi (Snapdragon 855) gives its A55s 488 to its A76s' 1024: 1024 * 448 / 488, the
    # A55 the common measure
    "cortex-a76": 940,
    "cortex-a72": 1024,  # the Pi 4B's only type (cores of one type have equal capacities)
}


# a core type's dynamic power coefficient (uW/MHz/V^2: Linux's DT binding cpus.yaml, its
# dynamic-power-coefficient; the energy model's power = coefficient x MHz x V^2), for
# energy-aware placement
DYNAMIC_POWER = {
    # Linux arch/arm64/boot/dts/qcom/sm8250.dtsi: its three gold A77s (its prime A77, binned
    # for its higher clock, has 444: one coefficient a core type here)
    "cortex-a77": 379,
    "cortex-a55": 205,  # the same file, its four silver A55s
    # assumed: the A77's per unit of performance (no Linux device tree gives an A76's)
    "cortex-a76": round(379 * 940 / 1024),
}
# assumed: a core's voltage at its clock, proportional to it, 1 V at 3 GHz (the usual first
# approximation of a DVFS ladder, dynamic power growing with the clock's cube; no public
# voltage table for these SoCs' top clocks, and sm8250's are read from its firmware by
# cpufreq-hw, not from the device tree)
VOLTS_PER_GHZ = 1 / 3


def core_clusters(cores, soc, cluster=None) -> list:
    """The cluster of each core a run models, the boot core's first, from run_program's
    `cores`: a count of the `cluster`'s cores (default: the SoC's first), the clusters'
    counts by name ("big:1,little:2" or {"big": 1, "little": 2}, cores numbered in that
    order), or None: every core of the `cluster` given, else of the whole SoC (whole_soc).
    ValueError, one line naming the clusters and their counts, when it cannot be."""
    which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
    if cores is None:  # the whole SoC, or the whole of the cluster chosen
        return [which] * which.count if cluster is not None else whole_soc(soc)
    if isinstance(cores, str) and cores.strip().isdigit():
        cores = int(cores)
    if isinstance(cores, int) and not isinstance(cores, bool):
        if cores < 1:
            raise ValueError(f"cores must be a positive whole number, not {cores!r}")
        return [which] * _count(which, cores, soc)
    counts = _counts(cores, soc)
    if cluster is not None:
        raise ValueError(f"cores: {cores} names its clusters: give no cluster (--core) with it")
    out = [c for c, n in counts for _ in range(n)]
    if len(out) > MAX_CORES:
        raise ValueError(f"cores: at most {MAX_CORES} cores are modelled, not {len(out)}")
    return out


def whole_soc(soc) -> list:
    """Every core of the SoC, its clusters in the profile's order (the first holds the boot
    core, whose clock is the run's time base)."""
    out = [c for c in soc.clusters for _ in range(c.count)]
    if len(out) > MAX_CORES:
        raise ValueError(
            f"cores: {soc.name} has {len(out)} cores and at most {MAX_CORES} are modelled: "
            "give --cores N or CLUSTER:N,..."
        )
    return out


def _counts(cores, soc) -> list[tuple]:
    """(cluster, count) pairs from "name:count,..." or a mapping of names to counts."""
    names = {c.name: c for c in soc.clusters}
    known = ", ".join(f"{c.name}:{c.count}" for c in soc.clusters)
    if isinstance(cores, Mapping):
        pairs = list(cores.items())
    elif isinstance(cores, str):
        pairs = [part.partition(":")[::2] for part in cores.split(",")]
    else:
        raise ValueError(f"cores must be a count or CLUSTER:COUNT,..., not {cores!r}")
    out = []
    for name, count in pairs:
        name = str(name).strip()
        if name not in names:
            raise ValueError(f"cores: {soc.name} has no cluster {name!r} (its clusters: {known})")
        if any(c.name == name for c, _ in out):
            raise ValueError(f"cores: cluster {name} is named twice")
        if isinstance(count, str) and count.strip().isdigit():
            count = int(count)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(
                f"cores: {name}:{count}: a cluster's count must be a positive whole number "
                f"(its clusters: {known})"
            )
        out.append((names[name], _count(names[name], count, soc)))
    return out


def _count(cluster, n: int, soc) -> int:
    if n > cluster.count:
        known = ", ".join(f"{c.name}:{c.count}" for c in soc.clusters)
        more = f" (its clusters: {known}; --cores CLUSTER:N,...)" if len(soc.clusters) > 1 else ""
        raise ValueError(
            f"cores: {soc.name}'s cluster {cluster.name} has {cluster.count} core"
            f"{'s' if cluster.count > 1 else ''}, not {n}{more}"
        )
    return n


def hierarchy_of(soc, clusters: list):
    """The memory hierarchy of the run's cores (each with its cluster's private caches and
    latencies at its clock), the shared levels as the SoC has them."""
    if all(c is clusters[0] for c in clusters):  # one cluster: the profile's own
        return soc.hierarchy(cluster=clusters[0].name, cores=len(clusters))
    base = soc.hierarchy(cluster=clusters[0].name, cores=1)
    return replace(
        base,
        cores=tuple(soc.core_config(c) for c in clusters),
        extras={**base.extras, "cluster_of_core": tuple(c.name for c in clusters)},
    )


def capacities(clusters: list) -> list[int]:
    """Each core's capacity for placement, the fastest at CAPACITY_SCALE (as Linux scales
    capacity-dmips-mhz times the clock: topology_normalize_cpu_scale). A core type the table
    does not know is taken to be as big as the biggest it knows (assumed)."""
    raw = [DMIPS_PER_MHZ.get(c.core.name, 1024) * c.ghz for c in clusters]
    return [max(1, round(CAPACITY_SCALE * r / max(raw))) for r in raw]


def powers(clusters: list) -> list[int]:
    """Each core's power at its clock, uW (the energy model's: DYNAMIC_POWER x MHz x V^2, at
    the voltage VOLTS_PER_GHZ gives); a core type the table does not know: the A77's."""
    out = []
    for c in clusters:
        volts = c.ghz * VOLTS_PER_GHZ
        coefficient = DYNAMIC_POWER.get(c.core.name, DYNAMIC_POWER["cortex-a77"])
        out.append(round(coefficient * c.ghz * 1000 * volts**2))
    return out


@dataclass
class Core:
    """One modeled core: its clock (`timing`), the kernel's port to it, its compiled
    crossing (None: the Python references), and while another core has the CPU the
    registers of its thread (`saved`: its tcb, registers, FP/SIMD and TLS) or, asleep, when
    work was sent to it (`woken_at`)."""

    index: int
    timing: object
    port: object
    crossing: object | None = None
    saved: tuple | None = None
    woken_at: int | None = None
    batch_code: object = None  # where its batches' code is read (Simulation._batch_code)
    kicked: bool = False  # sent a reschedule IPI while another core had the CPU
    stacks: object = None  # its call-stack profile (hmk.system.stacks), when collected

    def clock(self) -> int:
        """Its clock on the run's time base (hmk.kernel.timebase)."""
        return self.port.now()


class Cores:
    """The cores of a run (`cores[0]` the boot core) and the turns they take on the CPU."""

    def __init__(self, sim, cores: list[Core], quantum_cycles: int):
        self.sim, self.cores, self.quantum = sim, cores, max(int(quantum_cycles), 1)
        self.turns = 0  # how often the CPU went to another core
        self.fine = False  # the cores are passing cache lines: turns every few instructions
        self._shared = 0  # the hierarchy's coherence upgrades at the last decision
        self._fine_until = 0  # fine turns until this clock: FINE_US after the last upgrade
        self.fine_span = max(int(quantum_cycles * FINE_US / QUANTUM_US), 1)
        self._limit = None  # the recorder's own stop (a run's max_instructions)

    @property
    def active(self) -> Core:
        return self.cores[self.sim.kernel.cpu]

    def elapsed(self) -> int:
        """The run's simulated wall time so far: the furthest clock (not the cores' sum)."""
        return max(c.clock() for c in self.cores)

    def finish(self) -> None:
        """The run is over: every core's clock runs on to the end, the cores that had
        nothing left to run idle (so each core's cycles are the run's wall time; a core of
        another clock than the boot core's to its last cycle that does not pass it)."""
        k = self.sim.kernel
        end, here = self.elapsed(), k.cpu
        for core in self.cores:
            if core.clock() < end:
                k.switch_cpu(core.index)
                k.charge("idle", core.port.timebase.cycles_by(end) - int(core.timing.cycles))
        k.switch_cpu(here)

    def decide(self, machine) -> bool:
        """At a kernel exit or batch boundary of the running core: hand the CPU to another
        core if it is its turn (True when it was). While cores write lines other cores hold
        (for FINE_US after a coherence upgrade: a line written on one core and read or
        written on another, contended or falsely shared) turns come every
        FINE_INSTRUCTIONS to the core furthest behind, so that their accesses to those lines
        interleave as finely as that; otherwise a quantum apart. Data made on one core and
        only read on others (transfers without upgrades) needs no finer turns."""
        if machine.stopped or machine.aborting:
            return False
        k = self.sim.kernel
        shared, now = self.sim.hierarchy.upgrades(), k.now()
        if shared != self._shared:  # a line written on one core that another held: fine
            # turns until FINE_US past the furthest clock, so that a core behind the one it
            # took the line from catches up with it in fine turns, not in one quantum
            self._shared, self._fine_until = shared, self.elapsed() + self.fine_span
        self.fine = now < self._fine_until
        switched = self._turn(machine, idle=not k.has_work(k.cpu))
        self._next_boundary(machine)
        return switched

    def _next_boundary(self, machine) -> None:
        """Stop the CPU again after FINE_INSTRUCTIONS while the turns are fine."""
        rec = machine.recorder
        if self._limit is None:
            self._limit = (rec.stop_at,)
        limit = self._limit[0]
        if self.fine:
            at = rec.instructions + FINE_INSTRUCTIONS
            rec.stop_at = at if limit is None else min(at, limit)
        else:
            rec.stop_at = limit

    def take_over(self, machine) -> bool:
        """The running core has nothing to run (CoreKernel.reschedule found no thread): it
        pulls a thread waiting on a busier core if there is one (False: it runs it), else it
        hands the CPU to a core that has work (True), else it sleeps until its next timed
        event (False)."""
        if self.sim.kernel.pull_waiting():
            return False
        return self._turn(machine, idle=True)

    def _turn(self, machine, idle: bool) -> bool:
        k = self.sim.kernel
        now = k.now()
        best = None
        for c in self.cores:
            if c.index == k.cpu or not k.has_work(c.index):
                continue
            if c.saved is None and c.woken_at is None:  # asleep, work just arrived: an IPI
                c.woken_at = now
                k.send_ipi()
            elif c.saved is not None and not c.kicked and k.threads.preempted(c.index):
                c.kicked = True  # a thread woken there should run first: a reschedule IPI
                k.send_ipi()
            start = c.clock() if c.saved is not None else max(c.clock(), c.woken_at)
            if best is None or start < best[0]:
                best = (start, c)
        quantum = 0 if self.fine else self.quantum
        if best is None or (not idle and best[0] + quantum > now):
            return False
        self._switch(machine, best[1])
        return True

    def _switch(self, machine, core: Core) -> None:
        """Give the CPU to `core`: the running core's thread keeps its registers; `core`'s
        thread gets the CPU back, or, if it slept, it wakes at the IPI and runs what the
        scheduler picks."""
        sim, k = self.sim, self.sim.kernel
        machine.sync()  # every batch of the core leaving is timed on its own clock
        leaving = self.active
        if k.running >= 0:
            leaving.saved = (k.running, machine.context(), machine.extra_context())
        leaving.batch_code = sim._batch_code
        leaving_space = k.current
        k.switch_cpu(core.index)
        sim.use_core(core)
        if core.batch_code is not None:  # (its crossing remembers what it last set)
            sim._batch_code = core.batch_code
        self.turns += 1
        k.counts["kernel.core_turns"] += 1
        proc = k.current  # the address space on the core (its TTBR0 and ASID)
        if proc is not None:
            asid = int(k.vspaces.vspace["asid"][proc.vspace])
            if proc is leaving_space:  # the same process (its threads on two cores): the
                machine.recorder.set_space(proc.root, asid, core.index)  # CPU's TLB holds
            else:
                machine.set_space(proc.root, asid, core=core.index, code=proc.image)
        saved, core.saved = core.saved, None
        if saved is not None and saved[0] == k.running:  # its thread goes on
            tcb, regs, extra = saved
            machine.set_context(regs)
            machine.set_extra_context(extra)
            if k.blocked(tcb) or not k.threads.valid(tcb):  # stopped meanwhile from elsewhere
                k.need_resched = True
            if core.kicked:
                core.kicked = False
                k.take_ipi()
                k.need_resched = True
            if k.need_resched:
                k.reschedule(machine)
            k.to_user(machine)  # (a signal sent to it from another core: Linux kicks it)
            return
        now, woken = k.now(), core.woken_at
        core.woken_at = None
        if woken is not None and woken > now:
            k.idle_until(woken)  # it slept until the IPI
            now = k.now()
        k.skip_ticks(now)
        k._on_core_since = now  # (the time it slept is nobody's)
        k.take_ipi()
        k.reschedule(machine)
        k.to_user(machine)

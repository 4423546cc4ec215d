"""sysfs on /sys: the CPUs as an arm64 Linux kernel lists them in /sys/devices/system/cpu.

The guest sees the run's modeled cores (`--cores N`, CPUs 0 to N-1, all online): `online`,
`possible` and `present` list them (Linux's CPU-list format: `0`, `0-3`), `offline` none, and
each has a cpu<N> directory whose cache/index<N> describe its caches in the order Linux's
cacheinfo gives them (the level 1 data cache, the level 1 instruction cache, then the unified
levels below: the core's L2 where the profile gives it one, and the SoC's shared level). Each
index has Linux's attributes with its formats (drivers/base/cacheinfo.c): level, type (Data,
Instruction, Unified), size in KiB with a K, coherency_line_size, ways_of_associativity,
number_of_sets, shared_cpu_map (a hex mask as wide as the CPUs, in hex digits) and
shared_cpu_list: the core alone for a private level, every modeled core for the shared one,
as the model shares them. An arm64 kernel learns sizes, ways and lines from the device tree or
ACPI's PPTT; the hardware profile's caches stand in for those tables. Glibc's sysconf
(_SC_NPROCESSORS_ONLN, get_nprocs) reads `online`; _SC_NPROCESSORS_CONF counts the cpu<N>
entries.

Each cpu<N> also has Linux's `cpu_capacity` (drivers/base/arch_topology.c: the core's capacity,
its type's performance per MHz times its clock, the fastest core at 1024, as the scheduler's
placement uses it: hmk.system.cores) and `cpufreq`, a link to its cluster's policy
cpufreq/policy<M> (M its first CPU; drivers/cpufreq/cpufreq.c's attributes and formats):
cpuinfo_min_freq, cpuinfo_max_freq, scaling_min_freq, scaling_max_freq, scaling_cur_freq and
scaling_available_frequencies all the cluster's clock in kHz (every core runs at its cluster's
top clock throughout: frequency scaling is not modelled), scaling_governor and
scaling_available_governors `performance` (the governor that holds that clock), affected_cpus
and related_cpus its cluster's cores.
"""

from __future__ import annotations

from hmk.services.vfs import Dir, Generated, Symlink


def cpu_dir(hierarchy, cores: int = 1, capacity=None) -> Dir:
    """/sys/devices/system/cpu for a run on the first `cores` cores of `hierarchy` (a
    hmk.hw.config.HierarchyConfig; None: no caches or clocks described), each core of
    `capacity` (default: 1024 each)."""
    every = cpu_list(range(cores))
    top = Dir(readonly=True)
    for name, text in (("online", every), ("possible", every), ("present", every)):
        _attribute(top, name, text)
    _attribute(top, "offline", "")
    policies = _policies(top, hierarchy, cores)
    for cpu in range(cores):
        d = top.add(f"cpu{cpu}".encode(), Dir(readonly=True))
        _attribute(d, "cpu_capacity", 1024 if capacity is None else capacity[cpu])
        if hierarchy is not None:
            _caches(d, hierarchy, cpu, cores)
            d.add(b"cpufreq", Symlink(f"../cpufreq/policy{policies[cpu]}".encode()))
    return top


def _policies(top: Dir, hierarchy, cores: int) -> list[int]:
    """cpufreq/policy<M>, one for each cluster's cores (M its first): their fixed clock. The
    policy of each core is returned."""
    if hierarchy is None:
        return []
    clusters = hierarchy.extras.get("cluster_of_core") or ("",) * cores
    members: dict[str, list[int]] = {}
    for cpu in range(cores):
        members.setdefault(clusters[cpu], []).append(cpu)
    cpufreq = top.add(b"cpufreq", Dir(readonly=True))
    for cpus in members.values():
        khz = round(hierarchy.cores[cpus[0]].ghz * 1e6)
        policy = cpufreq.add(f"policy{cpus[0]}".encode(), Dir(readonly=True))
        listed = " ".join(map(str, cpus))
        for name in ("cpuinfo_min_freq", "cpuinfo_max_freq", "scaling_cur_freq"):
            _attribute(policy, name, khz)
        for name in ("scaling_min_freq", "scaling_max_freq"):
            _attribute(policy, name, khz)
        _attribute(policy, "scaling_available_frequencies", f"{khz} ")
        _attribute(policy, "scaling_governor", "performance")
        _attribute(policy, "scaling_available_governors", "performance ")
        _attribute(policy, "affected_cpus", listed)
        _attribute(policy, "related_cpus", listed)
    return [next(c[0] for c in members.values() if cpu in c) for cpu in range(cores)]


def _caches(cpu_dir: Dir, hierarchy, cpu: int, cores: int) -> None:
    """cpu<N>/cache: the core's private levels (shared with no other core), then the shared
    level (with every core)."""
    core = hierarchy.cores[cpu]
    alone, every = (cpu,), tuple(range(cores))
    levels = [(1, "Data", core.l1d, alone), (1, "Instruction", core.l1i, alone)]
    levels += [(2, "Unified", core.l2, alone)] if core.l2 is not None else []
    if hierarchy.l3 is not None:
        levels.append((levels[-1][0] + 1, "Unified", hierarchy.l3, every))
    caches = cpu_dir.add(b"cache", Dir(readonly=True))
    for index, (level, kind, cache, sharing) in enumerate(levels):
        d = caches.add(f"index{index}".encode(), Dir(readonly=True))
        for name, value in (
            ("level", level),
            ("type", kind),
            ("size", f"{cache.size >> 10}K"),
            ("coherency_line_size", cache.line),
            ("ways_of_associativity", cache.ways),
            ("number_of_sets", cache.sets),
            ("shared_cpu_map", cpu_map(sharing, cores)),
            ("shared_cpu_list", cpu_list(sharing)),
        ):
            _attribute(d, name, value)


def cpu_list(cpus) -> str:
    """CPUs in Linux's list format (%*pbl): ascending runs, `a-b` for a run of several."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def cpu_map(cpus, cores: int) -> str:
    """CPUs as Linux's hex mask (%*pb over its `cores` CPUs): zero-padded to a digit per 4
    CPUs, a comma between 32-bit groups."""
    mask = sum(1 << cpu for cpu in cpus)
    groups = []
    for low in range(0, cores, 32):
        bits = min(cores - low, 32)
        groups.append(f"{mask >> low & (1 << bits) - 1:0{-(-bits // 4)}x}")
    return ",".join(reversed(groups))


def _attribute(d: Dir, name: str, value) -> None:
    text = f"{value}\n".encode()
    d.add(name.encode(), Generated(lambda: text))

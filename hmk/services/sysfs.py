"""sysfs on /sys: the CPUs as an arm64 Linux kernel lists them in /sys/devices/system/cpu.

A run models one core of its hardware profile (the scheduler has one CPU; sched_getaffinity and
getcpu say CPU 0), so the guest sees one CPU: `online`, `possible` and `present` list CPU 0,
`offline` none, and cpu0/cache/index<N> describes that core's caches in the order Linux's
cacheinfo gives them (the level 1 data cache, the level 1 instruction cache, then the unified
levels below: the core's or its cluster's L2 and the SoC's L3, each shared by CPU 0 alone
since no other core is modelled). Each index has Linux's attributes with its formats
(drivers/base/cacheinfo.c): level, type (Data, Instruction, Unified), size in KiB with a K,
coherency_line_size, ways_of_associativity, number_of_sets, shared_cpu_map (a hex mask) and
shared_cpu_list. An arm64 kernel learns sizes, ways and lines from the device tree or ACPI's
PPTT; the hardware profile's caches stand in for those tables. Glibc's sysconf
(_SC_NPROCESSORS_ONLN, _SC_NPROCESSORS_CONF) reads `online` and counts the cpu<N> entries.
"""

from __future__ import annotations

from hmk.services.vfs import Dir, Generated

CPU = 0  # the modeled core, as the guest knows it


def cpu_dir(hierarchy) -> Dir:
    """/sys/devices/system/cpu for a run on the first core of `hierarchy` (a
    hmk.hw.config.HierarchyConfig; None: no caches described)."""
    top = Dir(readonly=True)
    for name, text in (("online", CPU), ("possible", CPU), ("present", CPU), ("offline", "")):
        _attribute(top, name, text)
    cpu = top.add(f"cpu{CPU}".encode(), Dir(readonly=True))
    if hierarchy is None:
        return top
    core = hierarchy.cores[0]
    levels = [(1, "Data", core.l1d), (1, "Instruction", core.l1i)]
    levels += [(2, "Unified", core.l2)] if core.l2 is not None else []
    if hierarchy.l3 is not None:
        levels.append((levels[-1][0] + 1, "Unified", hierarchy.l3))
    caches = cpu.add(b"cache", Dir(readonly=True))
    for index, (level, kind, cache) in enumerate(levels):
        d = caches.add(f"index{index}".encode(), Dir(readonly=True))
        for name, value in (
            ("level", level),
            ("type", kind),
            ("size", f"{cache.size >> 10}K"),
            ("coherency_line_size", cache.line),
            ("ways_of_associativity", cache.ways),
            ("number_of_sets", cache.sets),
            ("shared_cpu_map", 1 << CPU),
            ("shared_cpu_list", CPU),
        ):
            _attribute(d, name, value)
    return top


def _attribute(d: Dir, name: str, value) -> None:
    text = f"{value}\n".encode()
    d.add(name.encode(), Generated(lambda: text))

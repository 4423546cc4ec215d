"""Modeled memory latency of a profile, measured the way lmbench's lat_mem_rd measures hardware:
a dependent pointer chase through a random cyclic order of the lines of a working set.

The chase runs on the batch engine with TLBs and real page tables (`FlatMemory`), one core of the
chosen cluster. Each working set is chased twice; the second pass is reported, so the figure is
the steady-state load-to-use latency: L1, L2, L3 and DRAM plateaus, plus TLB-walk costs once the
set outgrows the TLB reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import READ, make_events
from hmk.hw.pagetable import PAGE_SHIFT, FlatMemory

DEFAULT_SIZES = tuple(1 << s for s in range(12, 27, 2))  # 4 KiB .. 64 MiB


@dataclass(frozen=True)
class LadderStep:
    size: int  # bytes in the working set
    cycles: float  # mean cycles per load in the measured pass
    ns: float
    l1d_miss_rate: float
    dtlb_miss_rate: float


def latency_ladder(soc, cluster=0, sizes=DEFAULT_SIZES, seed=0) -> list[LadderStep]:
    cfg = soc.hierarchy(cluster=cluster, cores=1)
    ghz = cfg.cores[0].ghz
    line = cfg.line
    steps = []
    for size in sizes:
        lines = max(size // line, 1)
        order = np.random.default_rng(seed).permutation(lines).astype(np.uint64)
        ev = make_events(order * np.uint64(line), READ)
        mem = FlatMemory(((size + (1 << PAGE_SHIFT) - 1) & ~((1 << PAGE_SHIFT) - 1)) + (8 << 20))
        mem.map_events(ev)
        hier = BatchHierarchy(cfg, ram=mem.ram, roots=mem.roots)
        hier.run(ev)  # warm-up pass
        before = hier.stats()
        lat = hier.run(ev)
        after = hier.stats()
        n = len(ev)
        cycles = float(lat.mean())
        steps.append(
            LadderStep(
                size=size,
                cycles=cycles,
                ns=cycles / ghz,
                l1d_miss_rate=(after["cpu0.l1d.read_misses"] - before["cpu0.l1d.read_misses"]) / n,
                dtlb_miss_rate=(
                    after.get("cpu0.dtlb.misses", 0) - before.get("cpu0.dtlb.misses", 0)
                )
                / n,
            )
        )
    return steps


def format_size(n: int) -> str:
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"

"""How the caches of a HierarchyConfig are wired: numbering, names, who is below whom.

This is configuration, not behaviour, so both implementations of the model share it.
Caches are numbered per core as L1I, L1D, [L2], then the shared L3 last.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.hw.config import CacheConfig, HierarchyConfig

NINE, INCLUSIVE, EXCLUSIVE = 0, 1, 2
INCLUSION_CODE = {"nine": NINE, "inclusive": INCLUSIVE, "exclusive": EXCLUSIVE}
LRU, PLRU = 0, 1
REPLACEMENT_CODE = {"lru": LRU, "plru": PLRU}
NO_COHERENCE, MESI, MOESI = 0, 1, 2
PROTOCOL_CODE = {"MESI": MESI, "MOESI": MOESI}

# Access kinds as counted per cache: the three event kinds plus page-table-walk descriptor loads.
COUNT_KINDS = ("read", "write", "fetch", "walk")
WALK = 3


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]  # stat names: "cpu0.l1i", "cpu0.l1d", "cpu0.l2", "l3"
    caches: tuple[CacheConfig, ...]
    below: tuple[int, ...]  # index of the next level down, -1 for DRAM
    is_l1: tuple[bool, ...]
    descendants: tuple[tuple[int, ...], ...]  # every cache above (for back-invalidation)
    l1i: tuple[int, ...]  # per core
    l1d: tuple[int, ...]  # per core
    walk_entry: tuple[int, ...]  # per core: where walk descriptor loads enter (-1: no TLB)
    latency: tuple[tuple[int, ...], ...]  # [core][cache]: cycles for a hit there (0: unreachable)
    dram_latency: tuple[int, ...]  # per core
    # coherence between the cores' private caches
    protocol: int = NO_COHERENCE  # MESI or MOESI with two cores or more (hardware mode), else none
    owner: tuple[int, ...] = ()  # per cache: the core it is private to, -1 for the shared level
    private_len: tuple[int, ...] = ()  # per cache: how many levels from it down are its core's
    shared: int = -1  # the shared level (the L3), -1 for none
    transfer_latency: tuple[int, ...] = ()  # per core, cycles (0 without coherence)
    upgrade_latency: tuple[int, ...] = ()  # per core, cycles (0 without coherence)

    @classmethod
    def of(cls, cfg: HierarchyConfig) -> Layout:
        names, caches, below, is_l1, owner = [], [], [], [], []
        l1i, l1d, walk_entry = [], [], []

        def add(name, cache, l1, core):
            names.append(name)
            caches.append(cache)
            below.append(-1)
            is_l1.append(l1)
            owner.append(core)
            return len(names) - 1

        l2_of = []
        for c, core in enumerate(cfg.cores):
            i = add(f"cpu{c}.l1i", core.l1i, True, c)
            d = add(f"cpu{c}.l1d", core.l1d, True, c)
            l2 = add(f"cpu{c}.l2", core.l2, False, c) if core.l2 is not None else -1
            l1i.append(i)
            l1d.append(d)
            l2_of.append(l2)
        l3 = add("l3", cfg.l3, False, -1) if cfg.l3 is not None else -1
        for c in range(len(cfg.cores)):
            i, d, l2 = l1i[c], l1d[c], l2_of[c]
            first_lower = l2 if l2 >= 0 else l3
            below[i] = below[d] = first_lower
            if l2 >= 0:
                below[l2] = l3
            tlb = cfg.cores[c].tlb
            walk_entry.append(-1 if tlb is None else (l2 if tlb.walk_from == "l2" else d))

        def above(x):
            return [j for j in range(len(names)) if below[j] == x]

        def all_above(x):
            out = []
            for j in above(x):
                out.append(j)
                out.extend(all_above(j))
            return tuple(sorted(out))

        latency = []
        for c, core in enumerate(cfg.cores):
            row = [0] * len(names)
            for x in (l1i[c], l1d[c], l2_of[c]):
                if x >= 0:
                    row[x] = caches[x].latency
            if l3 >= 0:
                row[l3] = core.l3_latency if core.l3_latency is not None else cfg.l3.latency
            latency.append(tuple(row))
        coherent = cfg.coherence is not None and len(cfg.cores) > 1 and cfg.mode == "hardware"

        def private_len(x):
            n, y = 0, x
            while y >= 0 and owner[y] == owner[x] >= 0:
                n, y = n + 1, below[y]
            return n

        return cls(
            names=tuple(names),
            caches=tuple(caches),
            below=tuple(below),
            is_l1=tuple(is_l1),
            descendants=tuple(all_above(x) for x in range(len(names))),
            l1i=tuple(l1i),
            l1d=tuple(l1d),
            walk_entry=tuple(walk_entry),
            latency=tuple(latency),
            dram_latency=tuple(core.dram_latency for core in cfg.cores),
            protocol=PROTOCOL_CODE[cfg.coherence] if coherent else NO_COHERENCE,
            owner=tuple(owner),
            private_len=tuple(private_len(x) for x in range(len(names))),
            shared=l3,
            transfer_latency=tuple(c.transfer_latency if coherent else 0 for c in cfg.cores),
            upgrade_latency=tuple(c.upgrade_latency if coherent else 0 for c in cfg.cores),
        )


def stats_dict(
    layout: Layout, cfg: HierarchyConfig, cache_counts, cache_events, dram, tlb, coherence=None
) -> dict:
    """Name every counter. cache_counts[cache][hit=0/miss=1][kind], cache_events[cache] =
    (evictions, writebacks, back_invalidations), dram = (reads, writes),
    tlb[core] = 10 counters in TLB_COUNTERS order; with coherence (layout.protocol), coherence =
    (invalidations[cache], counters[core] in COHERENCE_COUNTERS order)."""
    out: dict[str, int] = {}
    for x, name in enumerate(layout.names):
        for k, kind in enumerate(COUNT_KINDS):
            out[f"{name}.{kind}_hits"] = int(cache_counts[x][0][k])
            out[f"{name}.{kind}_misses"] = int(cache_counts[x][1][k])
        out[f"{name}.hits"] = int(sum(cache_counts[x][0]))
        out[f"{name}.misses"] = int(sum(cache_counts[x][1]))
        ev, wb, bi = cache_events[x]
        out[f"{name}.evictions"] = int(ev)
        out[f"{name}.writebacks"] = int(wb)
        out[f"{name}.back_invalidations"] = int(bi)
    if layout.protocol != NO_COHERENCE:
        invalidations, counters = coherence
        for x, name in enumerate(layout.names):
            if layout.owner[x] >= 0:
                out[f"{name}.coherence_invalidations"] = int(invalidations[x])
        for c in range(len(cfg.cores)):
            for name, value in zip(COHERENCE_COUNTERS, counters[c], strict=True):
                out[f"cpu{c}.coherence.{name}"] = int(value)
    out["dram.reads"] = int(dram[0])
    out["dram.writes"] = int(dram[1])
    for c, core in enumerate(cfg.cores):
        if core.tlb is None:
            continue
        for name, value in zip(TLB_COUNTERS, tlb[c], strict=True):
            out[f"cpu{c}.{name}"] = int(value)
    return out


EXCLUSIVE_HINTS = 256  # per core, the compiled engine's lines known to be held by that core only
TLB_FILTER = 256  # entries of the compiled engine's lookup filter per translation structure
TLB_COUNTERS = (
    "itlb.hits",
    "itlb.misses",
    "dtlb.hits",
    "dtlb.misses",
    "l2tlb.hits",
    "l2tlb.misses",
    "walker.walks",
    "walker.cache_hits",
    "walker.cache_misses",
    "walker.faults",
)
(
    ITLB_HIT,
    ITLB_MISS,
    DTLB_HIT,
    DTLB_MISS,
    L2TLB_HIT,
    L2TLB_MISS,
    WALKS,
    WC_HIT,
    WC_MISS,
    WALK_FAULT,
) = range(len(TLB_COUNTERS))

# Per core, with coherence: writes that invalidated copies in other cores' private caches (each
# costs at least the upgrade latency), lines that came from / went to another core's private
# caches, and dirty lines written back because another core read them (MESI: Modified to Shared).
COHERENCE_COUNTERS = ("upgrades", "transfers_in", "transfers_out", "downgrades")
UPGRADES, TRANSFERS_IN, TRANSFERS_OUT, DOWNGRADES = range(len(COHERENCE_COUNTERS))

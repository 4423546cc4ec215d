"""The compiled batch engine and the Python reference agree on every counter and every latency."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig, TLBConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE
from hmk.hw.pagetable import PAGE_SHIFT, FlatMemory
from hmk.hw.reference import MemoryHierarchy


@st.composite
def caches(draw, name, line, min_sets=1, inclusion=("nine",), latency=1):
    replacement = draw(st.sampled_from(["lru", "plru"]))
    ways = draw(st.sampled_from([1, 2, 4, 8] if replacement == "plru" else [1, 2, 3, 4, 5, 8]))
    sets = draw(st.sampled_from([s for s in (1, 2, 4, 8) if s >= min_sets]))
    return CacheConfig(
        name,
        size=sets * ways * line,
        ways=ways,
        line=line,
        latency=latency,
        replacement=replacement,
        inclusion=draw(st.sampled_from(inclusion)),
    )


@st.composite
def hierarchies(draw):
    mode = draw(st.sampled_from(["hardware", "hardware", "cachegrind"]))
    policies = ("nine",) if mode == "cachegrind" else ("nine", "inclusive", "exclusive")
    line = draw(st.sampled_from([16, 32, 64]))
    ncores = 1 if mode == "cachegrind" else draw(st.integers(1, 2))
    l3 = draw(st.none() | caches("l3", line, 4, policies, 30))
    use_tlb = mode == "hardware" and draw(st.booleans())
    cores = []
    for _ in range(ncores):
        l1i = draw(caches("l1i", line))
        l1d = draw(caches("l1d", line))
        l2 = draw(st.none() | caches("l2", line, 2, policies, 9))
        if l2 is not None and l2.inclusion == "inclusive" and l2.size < max(l1i.size, l1d.size):
            l2 = None
        tlb = None
        if use_tlb:
            l2ways = draw(st.sampled_from([1, 2, 3]))
            wcways = draw(st.sampled_from([1, 2]))
            tlb = TLBConfig(
                l1i_entries=draw(st.integers(1, 4)),
                l1d_entries=draw(st.integers(1, 4)),
                l2_entries=l2ways * draw(st.sampled_from([1, 2, 4])),
                l2_ways=l2ways,
                l2_latency=3,
                walk_cache_entries=wcways * draw(st.sampled_from([1, 2])),
                walk_cache_ways=wcways,
                walk_cache_latency=2,
                walk_from="l2" if l2 is not None and draw(st.booleans()) else "l1d",
            )
        cores.append(CoreConfig(l1i, l1d, l2, tlb, l3_latency=None, dram_latency=100))
    if l3 is not None:
        for core in cores:
            upper = core.l2 if core.l2 is not None else core.l1d
            if l3.inclusion == "inclusive" and l3.size < max(upper.size, core.l1i.size):
                l3 = CacheConfig("l3", l3.size, l3.ways, line, 30, l3.replacement, "nine")
    return HierarchyConfig(cores=tuple(cores), l3=l3, mode=mode)


@st.composite
def traces(draw, cfg):
    """Batches of events over a few hot lines (so sets conflict), with TLB invalidations between
    batches when the hierarchy translates."""
    line = cfg.line
    ncores = len(cfg.cores)
    tlb = cfg.cores[0].tlb is not None
    # a pool of addresses: few distinct lines in few pages, some near line and page boundaries
    pool = draw(
        st.lists(
            st.integers(0, 1 << 22).map(lambda a: a * 4 if tlb else a),
            min_size=1,
            max_size=24,
        )
    )
    batches = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 120))
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        for i in range(n):
            ev[i]["addr"] = draw(st.sampled_from(pool)) + draw(st.sampled_from([0, line - 1, 4096]))
            ev[i]["kind"] = draw(st.integers(0, 2))
            ev[i]["size"] = draw(st.sampled_from([1, 2, 4, 8, line]))
            ev[i]["asid"] = draw(st.integers(0, 2)) if tlb else 0
            ev[i]["core"] = draw(st.integers(0, ncores - 1))
        op = draw(st.sampled_from(["none", "all", "asid", "va", "va_all"])) if tlb else "none"
        batches.append((ev, op, int(draw(st.sampled_from(pool))), draw(st.integers(0, 2))))
    return batches


def _memory(cfg, batches, data):
    """Page tables for every page the trace touches, except some left unmapped; some global."""
    if cfg.cores[0].tlb is None:
        return None, None
    mem = FlatMemory(1 << 24, table_frames=256)
    for ev, *_ in batches:
        pages = np.union1d(ev["addr"] >> PAGE_SHIFT, (ev["addr"] + ev["size"] - 1) >> PAGE_SHIFT)
        for vpn in pages:
            for asid in range(3):
                choice = data.draw(st.sampled_from(["map", "map", "map", "skip", "global"]))
                if choice != "skip":
                    mem.map_pages(asid, [vpn], global_=choice == "global")
    return mem.ram, mem.roots


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_engine_matches_reference(data):
    cfg = data.draw(hierarchies())
    batches = data.draw(traces(cfg))
    ram, roots = _memory(cfg, batches, data)
    ref = MemoryHierarchy(cfg, ram=ram, roots=roots)
    eng = BatchHierarchy(cfg, ram=ram, roots=roots)
    for ev, op, va, asid in batches:
        assert np.array_equal(ref.run(ev), eng.run(ev))
        for model in (ref, eng):
            if op == "all":
                model.tlbi_all()
            elif op == "asid":
                model.tlbi_asid(asid)
            elif op == "va":
                model.tlbi_va(va, asid)
            elif op == "va_all":
                model.tlbi_va(va)
    a, b = ref.stats(), eng.stats()
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}


def test_batches_compose():
    """Feeding a trace in pieces gives the same result as one batch."""
    cfg = HierarchyConfig.cachegrind((1024, 2, 32), (1024, 2, 32), (8192, 4, 32))
    rng = np.random.default_rng(1)
    ev = np.zeros(5000, dtype=EVENT_DTYPE)
    ev["addr"] = rng.integers(0, 1 << 16, 5000)
    ev["kind"] = rng.integers(0, 3, 5000)
    ev["size"] = rng.choice([1, 4, 8], 5000)
    whole, pieces = BatchHierarchy(cfg), BatchHierarchy(cfg)
    lat_whole = whole.run(ev)
    lat_pieces = np.concatenate([pieces.run(ev[i : i + 777]) for i in range(0, 5000, 777)])
    assert np.array_equal(lat_whole, lat_pieces)
    assert whole.stats() == pieces.stats()

"""The compiled batch engine and the Python reference agree on every counter and every latency.

Beyond random hierarchies (some with their cores' private caches kept coherent, MESI or MOESI;
tests/test_coherence.py shares lines between cores much more) and traces, the engine's own
representation has corners the traces are drawn to reach: sets of 16 ways (a full LRU order
word) and more (per-way ages), tags past 32 bits whose low 32 bits (the keys compared at once)
collide, the same line or page used again (the shortcuts that skip a lookup) across line
crossings, core switches, writes, back-invalidations and TLB invalidations, and fully
associative TLBs whose entries share a filter bucket.
"""

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
    plru_ways, lru_ways = [1, 2, 4, 8, 16, 32], [1, 2, 3, 4, 5, 8, 16, 17, 24]
    ways = draw(st.sampled_from(plru_ways if replacement == "plru" else lru_ways))
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
def hierarchies(draw, l1_tlb=(1, 4), tlb=None, cores=(1, 2), coherence=None):
    """l1_tlb: the range of L1 TLB sizes; tlb: True for TLBs always (else drawn); cores: the
    range of core counts (hardware mode); coherence: the protocols to draw from (None: any, or
    none)."""
    mode = (
        "hardware" if tlb or coherence else draw(st.sampled_from(["hardware"] * 2 + ["cachegrind"]))
    )
    policies = ("nine",) if mode == "cachegrind" else ("nine", "inclusive", "exclusive")
    line = draw(st.sampled_from([16, 32, 64]))
    ncores = 1 if mode == "cachegrind" else draw(st.integers(*cores))
    protocol = None
    if mode == "hardware":
        protocol = draw(st.sampled_from(coherence or (None, "MESI", "MOESI")))
    l3 = draw(st.none() | caches("l3", line, 4, policies, 30))
    use_tlb = mode == "hardware" and (tlb or draw(st.booleans()))
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
                l1i_entries=draw(st.integers(*l1_tlb)),
                l1d_entries=draw(st.integers(*l1_tlb)),
                l2_entries=l2ways * draw(st.sampled_from([1, 2, 4])),
                l2_ways=l2ways,
                l2_latency=3,
                walk_cache_entries=wcways * draw(st.sampled_from([1, 2])),
                walk_cache_ways=wcways,
                walk_cache_latency=2,
                walk_from="l2" if l2 is not None and draw(st.booleans()) else "l1d",
            )
        transfer, upgrade = draw(st.sampled_from([(60, 20), (7, 12), (150, 30)]))
        cores.append(
            CoreConfig(
                l1i,
                l1d,
                l2,
                tlb,
                l3_latency=None,
                dram_latency=100,
                transfer_latency=transfer,
                upgrade_latency=upgrade,
            )
        )
    if l3 is not None:
        for core in cores:
            upper = core.l2 if core.l2 is not None else core.l1d
            if l3.inclusion == "inclusive" and l3.size < max(upper.size, core.l1i.size):
                l3 = CacheConfig("l3", l3.size, l3.ways, line, 30, l3.replacement, "nine")
    return HierarchyConfig(cores=tuple(cores), l3=l3, mode=mode, coherence=protocol)


# Addresses this far apart have tags with the same low 32 bits in every cache drawn here (at most
# 8 sets of 64-byte lines): the engine's keys collide and only the bits above tell them apart.
KEY_ALIAS = 1 << 41


@st.composite
def address_pools(draw, tlb, page_stride=False):
    """A few distinct lines in few pages, some near line and page boundaries, some aliasing
    others' keys; `page_stride`: pages 256 apart (one fully associative TLB filter bucket)."""
    if page_stride:
        base = draw(st.integers(0, 1 << 10))
        page = st.integers(0, 15).map(lambda k: (base + 256 * k) << 12)
        low = st.builds(lambda p, off: p + off, page, st.integers(0, 4095))
    else:
        low = st.integers(0, 1 << 22).map(lambda a: a * 4 if tlb else a)
    alias = st.builds(lambda a, k: a + k * KEY_ALIAS, low, st.integers(1, 3))
    return draw(st.lists(low | alias, min_size=1, max_size=24))


@st.composite
def traces(draw, cfg, page_stride=False):
    """Batches of events over a few hot lines (so sets conflict), with TLB invalidations between
    batches when the hierarchy translates."""
    line = cfg.line
    ncores = len(cfg.cores)
    tlb = cfg.cores[0].tlb is not None
    pool = draw(address_pools(tlb, page_stride))
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
        batches.append((ev, *draw(tlbi(cfg, pool))))
    return batches


@st.composite
def tlbi(draw, cfg, pool):
    """What to invalidate after a batch: (op, va, asid)."""
    op = draw(st.sampled_from(["none", "all", "asid", "va", "va_all"]))
    if cfg.cores[0].tlb is None:
        op = "none"
    return op, int(draw(st.sampled_from(pool))), draw(st.integers(0, 2))


@st.composite
def hot_traces(draw, cfg):
    """Many short batches where an event mostly reuses the previous one's line or page: a step
    of 0, a few bytes, up to the line's end (and across it with the size) or to another line of
    the page; kinds, cores and ASIDs switch now and then; a TLB invalidation may follow any
    batch, between two uses of the same page."""
    line = cfg.line
    ncores = len(cfg.cores)
    tlb = cfg.cores[0].tlb is not None
    pool = draw(address_pools(tlb))
    steps = st.sampled_from([0, 0, 0, 8, line - 1, line, 4096 - line, -line])
    batches, addr, core, asid = [], draw(st.sampled_from(pool)), 0, 0
    for _ in range(draw(st.integers(1, 8))):
        n = draw(st.integers(1, 40))
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        for i in range(n):
            if draw(st.integers(0, 9)) == 0:
                addr = draw(st.sampled_from(pool))
            else:
                addr = max(0, addr + draw(steps))
            if draw(st.integers(0, 7)) == 0:
                core = draw(st.integers(0, ncores - 1))
            if tlb and draw(st.integers(0, 7)) == 0:
                asid = draw(st.integers(0, 2))
            ev[i]["addr"] = addr
            ev[i]["kind"] = draw(st.sampled_from([0, 0, 1, 2]))
            ev[i]["size"] = draw(st.sampled_from([1, 4, 8, 8, line]))
            ev[i]["asid"] = asid
            ev[i]["core"] = core
        batches.append((ev, *draw(tlbi(cfg, pool))))
    return batches


def _memory(cfg, batches, data):
    """Page tables for every page the trace touches, except some left unmapped; some global."""
    if cfg.cores[0].tlb is None:
        return None, None
    mem = FlatMemory(1 << 24, table_frames=1024)  # aliasing addresses spread the tables
    for ev, *_ in batches:
        pages = np.union1d(ev["addr"] >> PAGE_SHIFT, (ev["addr"] + ev["size"] - 1) >> PAGE_SHIFT)
        for vpn in pages:
            for asid in range(3):
                choice = data.draw(st.sampled_from(["map", "map", "map", "skip", "global"]))
                if choice != "skip":
                    mem.map_pages(asid, [vpn], global_=choice == "global")
    return mem.ram, mem.roots


SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(st.data())
def test_engine_matches_reference(data):
    cfg = data.draw(hierarchies())
    _compare(cfg, data.draw(traces(cfg)), data)


@SETTINGS
@given(st.data())
def test_engine_matches_reference_on_reused_lines(data):
    """The same line or page again, as a loop or a sequential scan uses it."""
    cfg = data.draw(hierarchies())
    _compare(cfg, data.draw(hot_traces(cfg)), data)


@settings(SETTINGS, max_examples=100)
@given(st.data())
def test_engine_matches_reference_with_crowded_tlb_buckets(data):
    """Large fully associative L1 TLBs over pages 256 apart: many entries in one filter bucket."""
    cfg = data.draw(hierarchies(l1_tlb=(8, 48), tlb=True))
    _compare(cfg, data.draw(traces(cfg, page_stride=True)), data)


@SETTINGS
@given(st.data())
def test_engine_matches_reference_with_many_ways(data):
    """LRU sets past 16 ways (kept as per-way ages): small caches of 17-24 ways over many
    lines, so that lines are evicted, back-invalidated by an inclusive level and moved out of an
    exclusive one."""
    line = 16
    ways = st.sampled_from([17, 20, 24])

    def cache(name, sets, inclusion="nine", latency=1):
        n = data.draw(ways)
        return CacheConfig(name, sets * n * line, n, line, latency, "lru", inclusion)

    l2 = cache("l2", 2, data.draw(st.sampled_from(["inclusive", "exclusive"])), 9)
    core = CoreConfig(cache("l1i", 1), cache("l1d", 1), l2, None, None, 100)
    l3 = cache("l3", 4, "inclusive", 30) if data.draw(st.booleans()) else None
    if l3 is not None and l3.size < l2.size:
        l3 = None
    cfg = HierarchyConfig(cores=(core,), l3=l3)
    _compare(cfg, data.draw(traces(cfg)), data)


def _compare(cfg, batches, data):
    """Run both models batch by batch (invalidating TLBs between), compare every latency and
    which writes needed coherence work and, at the end, every counter."""
    ram, roots = _memory(cfg, batches, data)
    ref = MemoryHierarchy(cfg, ram=ram, roots=roots)
    eng = BatchHierarchy(cfg, ram=ram, roots=roots)
    for ev, op, va, asid in batches:
        assert np.array_equal(ref.run(ev), eng.run(ev))
        assert np.array_equal(ref.coherent_writes(), eng.coherent_writes())
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

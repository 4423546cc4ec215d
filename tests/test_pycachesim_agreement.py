"""On loads, the batch engine counts exactly the misses pycachesim counts at every level.

pycachesim (https://github.com/RRZE-HPC/pycachesim) models true-LRU, write-allocate caches that
are filled on a miss and whose evictions leave the levels above alone: the engine's "nine"
levels. Both therefore miss on the same loads; this test holds them to it on 200k-access traces
in several geometries. The throughput benchmark (benchmarks/test_hierarchy_bench.py) checks the
same on its 10 M-access traces. pycachesim is a benchmark-only dependency: without it, skip.
"""

import numpy as np
import pytest

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import READ, make_events

cachesim = pytest.importorskip(
    "cachesim", reason="pycachesim is a benchmark-only dependency: pip install -e '.[bench]'"
)

KiB, MiB = 1 << 10, 1 << 20
N = 200_000

# name: (line, L1 (size, ways), L2 (size, ways) or None, L3 (size, ways) or None)
GEOMETRIES = {
    # the benchmark's hierarchy
    "bench": (64, (64 * KiB, 4), (512 * KiB, 8), (4 * MiB, 16)),
    # small caches, 32-byte lines: many hits and misses at every level
    "small": (32, (1 * KiB, 2), (4 * KiB, 4), (16 * KiB, 8)),
    # direct-mapped L1, a 3-way L2 (way count not a power of two)
    "odd-ways": (64, (4 * KiB, 1), (48 * KiB, 3), (256 * KiB, 16)),
    # no L2: the L1 misses into the shared L3
    "l1-l3": (64, (8 * KiB, 2), None, (64 * KiB, 4)),
    # no L3: two private levels, then memory
    "l1-l2": (128, (16 * KiB, 8), (128 * KiB, 16), None),
}

# name: (pattern, span in bytes)
TRACES = {
    "random-64MiB": ("random", 64 * MiB),
    "random-256KiB": ("random", 256 * KiB),
    "sequential-1MiB": ("sequential", 1 * MiB),  # 1.6 MB of loads: wraps around once
    "strided-mixed": ("mixed", 2 * MiB),
}


def make_trace(pattern: str, span: int, n: int = N, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if pattern == "random":
        return rng.integers(0, span // 8, n, dtype=np.int64) * 8
    if pattern == "sequential":
        return (np.arange(n, dtype=np.int64) * 8) % span
    # a 4 KiB stride interleaved with random loads in a hot 32 KiB region
    strided = (np.arange(n, dtype=np.int64) * 4096) % span
    hot = rng.integers(0, 32 * KiB // 8, n, dtype=np.int64) * 8
    return np.where(rng.random(n) < 0.5, strided, hot)


def engine_misses(geometry, addr) -> list[int]:
    line, l1, l2, l3 = geometry
    core = CoreConfig(
        l1i=CacheConfig("l1i", *l1, line, 1),
        l1d=CacheConfig("l1d", *l1, line, 1),
        l2=CacheConfig("l2", *l2, line, 9) if l2 else None,
    )
    cfg = HierarchyConfig(cores=(core,), l3=CacheConfig("l3", *l3, line, 30) if l3 else None)
    hier = BatchHierarchy(cfg)
    hier.run(make_events(addr, READ, size=8))
    st = hier.stats()
    return [st[name] for name in ("cpu0.l1d.misses", "cpu0.l2.misses", "l3.misses") if name in st]


def pycachesim_misses(geometry, addr) -> list[int]:
    line, *sizes = geometry
    mem = cachesim.MainMemory()
    below, levels = None, []
    for name, geo in reversed(list(zip(("L1", "L2", "L3"), sizes, strict=True))):
        if geo is None:
            continue
        size, ways = geo
        if below is None:
            cache = cachesim.Cache(name, size // (ways * line), ways, line, "LRU")
            mem.load_to(cache)
            mem.store_from(cache)
        else:
            sets = size // (ways * line)
            cache = cachesim.Cache(name, sets, ways, line, "LRU", store_to=below, load_from=below)
        levels.insert(0, cache)
        below = cache
    sim = cachesim.CacheSimulator(levels[0], mem)
    sim.load(addr, length=8)  # the whole trace in one call
    return [int(c.MISS_count) for c in levels]


@pytest.mark.parametrize("trace_name", list(TRACES))
@pytest.mark.parametrize("geometry_name", list(GEOMETRIES))
def test_miss_counts_equal_pycachesim(geometry_name, trace_name):
    geometry = GEOMETRIES[geometry_name]
    addr = make_trace(*TRACES[trace_name])
    ours = engine_misses(geometry, addr)
    theirs = pycachesim_misses(geometry, addr)
    assert ours == theirs
    assert len(ours) == sum(g is not None for g in geometry[1:])
    assert ours[0] > 0


def test_nontrivial_counts():
    """The agreement means something: on the bench geometry the random 256 KiB trace hits in
    the L2 and the sequential one misses at every level once per line."""
    geometry = GEOMETRIES["bench"]
    l1, l2, l3 = engine_misses(geometry, make_trace("random", 256 * KiB))
    assert 0 < l2 < l1 and l3 <= l2
    l1, l2, l3 = engine_misses(geometry, make_trace("sequential", 64 * MiB))
    assert l1 == l2 == l3 == N * 8 // 64

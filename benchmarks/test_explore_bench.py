"""hmk explore's passes (hmk.hw.explore, Numba) against the batch engine run once per geometry.

    python -m pytest benchmarks/test_explore_bench.py --benchmark-only -s

Two 10 M-event traces: `compute`, the first 10 M events of a recorded run of the bundled
compute program (`compute 140 200000`: a 140 x 140 matrix multiply and a sieve; loads, stores
and instruction fetches), and `random`, 10 M uniformly random 8-byte loads over 64 MiB
(hmk.hw.synthetic; no locality at all: the worst case). Every access is one cache's (the
engine's L1D: fetches are made loads for it), 64-byte lines, each model cold.

    stack distances   miss_curve(events, 64, sets=64): the LRU misses of every associativity
                      of a 64-set cache, from the events (line conversion included)
    2 engine runs     BatchHierarchy.run of a 64-set 8-way and a 64-set 16-way L1D alone
    evaluate 32       evaluate(events, 32 LRU geometries: 4K..512K x 2, 4, 8, 16 ways)
    32 engine runs    BatchHierarchy.run of each of the 32
    evaluate 32 plru  the same 32 geometries with tree-PLRU (each simulated on its own)

Each result is checked against the engine's (not timed). The Numba passes are compiled (or
loaded from their on-disk cache) before timing; test_jit_compile times a cold compilation and
a warm load in fresh processes. docs/performance.md has the measured figures.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import FETCH, READ, make_events
from hmk.hw.explore import Geometry, evaluate, miss_curve
from hmk.hw.synthetic import load_events
from hmk.hw.tracefile import TraceFile

N = 10_000_000
SIZES = [4096 << k for k in range(8)]  # 4K..512K
WAYS = (2, 4, 8, 16)
TIMES: dict = {}


@functools.lru_cache(maxsize=2)
def events(name: str) -> np.ndarray:
    if name == "random":
        ev = load_events("random", 64 << 20, N)
    else:
        from hmk.system import run_program  # noqa: PLC0415
        from hmk.workloads import path  # noqa: PLC0415

        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "compute.trace")
            run_program(str(path("compute")), ["140", "200000"], trace=trace, out=io.BytesIO())
            ev = TraceFile(trace).events()[:N].copy()
        assert len(ev) == N
    ev["kind"][ev["kind"] == FETCH] = READ  # one cache: every access enters the L1D
    ev.flags.writeable = False
    return ev


def engine(size: int, ways: int, replacement: str = "lru") -> BatchHierarchy:
    l1 = CacheConfig("l1d", size, ways, 64, 1, replacement)
    return BatchHierarchy(
        HierarchyConfig(cores=(CoreConfig(CacheConfig("l1i", 64, 1, 64, 1), l1),))
    )


def geometries(replacement: str) -> list[Geometry]:
    return [Geometry(s, w, 64, replacement) for s in SIZES for w in WAYS]


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """The passes compiled (or loaded from the disk cache) before anything is timed."""
    tiny = make_events(np.arange(100) * 8, READ, 8)
    miss_curve(tiny, 64, 64)
    evaluate(tiny, geometries("lru")[:2] + geometries("plru")[:2])


def record(benchmark, key):
    """The best round's seconds, kept for the summary."""
    best = min(benchmark.stats.stats.data)
    TIMES[key] = best
    benchmark.extra_info["best_s"] = best


@pytest.mark.parametrize("trace", ["compute", "random"])
def test_stack_distances(benchmark, trace):
    ev = events(trace)
    curve = benchmark.pedantic(lambda: miss_curve(ev, 64, 64), rounds=3, iterations=1)
    record(benchmark, ("stack", trace))
    for ways in (8, 16):
        hier = engine(64 * ways * 64, ways)
        hier.run(ev)
        assert curve[64 * ways] == hier.stats()["cpu0.l1d.misses"]


@pytest.mark.parametrize("trace", ["compute", "random"])
def test_two_engine_runs(benchmark, trace):
    ev = events(trace)

    def runs():
        for hier in hiers:
            hier.run(ev)

    def setup():
        hiers[:] = [engine(64 * 8 * 64, 8), engine(64 * 16 * 64, 16)]

    hiers: list = []
    benchmark.pedantic(runs, setup=setup, rounds=3, iterations=1)
    record(benchmark, ("engine2", trace))


@pytest.mark.parametrize("replacement", ["lru", "plru"])
@pytest.mark.parametrize("trace", ["compute", "random"])
def test_evaluate_32(benchmark, trace, replacement):
    ev = events(trace)
    configs = geometries(replacement)
    rows = benchmark.pedantic(lambda: evaluate(ev, configs), rounds=2, iterations=1)
    record(benchmark, (f"evaluate-{replacement}", trace))
    for c, row in list(zip(configs, rows, strict=True))[::7]:  # a few, checked untimed
        hier = engine(c.size, c.ways, replacement)
        hier.run(ev)
        assert row["l1.misses"] == hier.stats()["cpu0.l1d.misses"]


@pytest.mark.parametrize("replacement", ["lru", "plru"])
@pytest.mark.parametrize("trace", ["compute", "random"])
def test_32_engine_runs(benchmark, trace, replacement):
    ev = events(trace)

    def runs():
        for hier in hiers:
            hier.run(ev)

    def setup():
        hiers[:] = [engine(c.size, c.ways, replacement) for c in geometries(replacement)]

    hiers: list = []
    benchmark.pedantic(runs, setup=setup, rounds=1, iterations=1)
    record(benchmark, (f"engine32-{replacement}", trace))


def test_jit_compile(benchmark):
    """Fresh processes: a cold compilation (an empty cache directory), then a load from it."""
    code = (
        "import numpy as np, time; t = time.perf_counter();"
        "from hmk.hw.events import make_events; from hmk.hw.explore import *;"
        "e = make_events(np.arange(100) * 8, 0, 8); miss_curve(e, 64, 64);"
        "evaluate(e, [Geometry(4096, 4), Geometry(4096, 4, 64, 'plru')]);"
        "print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}

        def once():
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            return float(out.stdout)

        start = time.perf_counter()
        cold = once()
        warm = benchmark.pedantic(once, rounds=1, iterations=1)
        benchmark.extra_info.update(cold_s=cold, warm_s=warm)
        TIMES["compile"] = (cold, warm, time.perf_counter() - start)


def test_zz_summary():
    """The ratios (printed with -s)."""
    lines = []
    for trace in ("compute", "random"):
        if ("stack", trace) in TIMES and ("engine2", trace) in TIMES:
            s, e = TIMES[("stack", trace)], TIMES[("engine2", trace)]
            lines.append(
                f"{trace}: stack distances {s:.3f} s, 2 engine runs {e:.3f} s: {e / s:.1f}x"
            )
        for r in ("lru", "plru"):
            key, ref = (f"evaluate-{r}", trace), (f"engine32-{r}", trace)
            if key in TIMES and ref in TIMES:
                s, e = TIMES[key], TIMES[ref]
                lines.append(
                    f"{trace}: evaluate 32 {r} {s:.3f} s, 32 engine runs {e:.3f} s: {e / s:.1f}x"
                )
    if "compile" in TIMES:
        cold, warm, _ = TIMES["compile"]
        lines.append(f"numba: cold compile {cold:.1f} s, warm load {warm:.1f} s (import and call)")
    print("\n" + "\n".join(lines))

"""Throughput of the memory-hierarchy batch engine, side by side with pycachesim.

    python -m pytest benchmarks --benchmark-only

Every benchmark runs one 10 M-access trace of 8-byte loads through a cold model (a fresh
hierarchy per round: `benchmark.pedantic(..., setup=...)`, 3 rounds of 1 iteration) and records
accesses/s in `extra_info`. The models:

    hmk         hmk.hw.engine.BatchHierarchy, no TLB (addresses are physical)
    hmk+tlb     the same with TLBs; every page of the span mapped with FlatMemory
    pycachesim  pycachesim 0.3.1 with the same three levels, the whole trace (the int64 array)
                in one load() call
    pycachesim-list  the same, given the trace as a Python list of ints (converted untimed):
                pycachesim iterates over its argument, and Python ints are cheaper for it to
                read than numpy scalars: the fastest input form for it that we found
    hmk@base, hmk+tlb@base  with `--engine-baseline REV`: hmk and hmk+tlb on the engine of git
                revision REV (tools/baseline_engine.py builds it), for before/after in one run

The hierarchy is built by hand: L1I/L1D 64 KiB 4-way, private L2 512 KiB 8-way, shared L3 4 MiB
16-way, 64-byte lines, LRU, NINE, write-back. The traces: uniform random 8-byte-aligned
addresses (fixed seed) and a sequential 8-byte stride, each over a 64 MiB span (16x the L3)
and over a 1 MiB span (wrapping around when the trace is longer than the span).

Not timed, but checked after the pycachesim rounds: L1/L2/L3 miss counts of hmk and pycachesim
are equal on the shared trace. docs/performance.md has the measured figures.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import READ, make_events
from hmk.hw.synthetic import LINE, KiB, MiB, cold_model, load_addresses

try:
    import cachesim
except ImportError:  # a benchmark-only dependency: pip install -e ".[bench]"
    cachesim = None

N = 10_000_000  # accesses per trace
SPANS = {"64MiB": 64 * MiB, "1MiB": 1 * MiB}
PATTERNS = ("random", "sequential")
MODELS = ("hmk", "hmk+tlb", "pycachesim", "pycachesim-list")
BASELINE = ("hmk@base", "hmk+tlb@base")  # only with --engine-baseline REV
PYCACHESIM = ("pycachesim", "pycachesim-list")
ROUNDS = 3


def trace(pattern: str, span: int, n: int = N) -> np.ndarray:
    """int64 byte addresses of `n` 8-byte loads within [0, span)."""
    return _trace(pattern, span, n)


@functools.lru_cache(maxsize=4)
def _trace(pattern: str, span: int, n: int) -> np.ndarray:
    addr = load_addresses(pattern, span, n)
    addr.flags.writeable = False
    return addr


@functools.lru_cache(maxsize=4)
def _events(pattern: str, span: int, n: int) -> np.ndarray:
    ev = make_events(trace(pattern, span, n), READ, size=8)
    ev.flags.writeable = False
    return ev


def events(pattern: str, span: int, n: int = N) -> np.ndarray:
    return _events(pattern, span, n)


def new_engine(tlb: bool, span: int, cls=BatchHierarchy) -> BatchHierarchy:
    return cold_model(tlb, span, cls)


def baseline_class(rev: str):
    """The BatchHierarchy of git revision `rev` (tools/baseline_engine.py)."""
    path = Path(__file__).resolve().parents[1] / "tools" / "baseline_engine.py"
    spec = importlib.util.spec_from_file_location("hmk_baseline_engine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.batch_hierarchy(rev)


def new_pycachesim():
    """pycachesim's model of the same hierarchy: (simulator, (l1, l2, l3))."""
    if cachesim is None:
        raise RuntimeError("pycachesim is not installed (pip install -e '.[bench]')")
    mem = cachesim.MainMemory()
    l3 = cachesim.Cache("L3", 4 * MiB // (16 * LINE), 16, LINE, "LRU")
    mem.load_to(l3)
    mem.store_from(l3)
    l2 = cachesim.Cache("L2", 512 * KiB // (8 * LINE), 8, LINE, "LRU", store_to=l3, load_from=l3)
    l1 = cachesim.Cache("L1", 64 * KiB // (4 * LINE), 4, LINE, "LRU", store_to=l2, load_from=l2)
    return cachesim.CacheSimulator(l1, mem), (l1, l2, l3)


def setup_round(model: str, pattern: str, span: int, n: int = N, base=None):
    """A cold model and its input, as pedantic's `setup` returns them: ((target args), {});
    `base`: the baseline BatchHierarchy class, for the @base models."""
    if model in ("hmk", "hmk+tlb"):
        return (new_engine(model == "hmk+tlb", span), events(pattern, span, n)), {}
    if model in BASELINE:
        return (new_engine(model == "hmk+tlb@base", span, base), events(pattern, span, n)), {}
    if model in PYCACHESIM:
        sim, levels = new_pycachesim()
        addr = trace(pattern, span, n)
        return (sim, levels, addr.tolist() if model == "pycachesim-list" else addr), {}
    raise ValueError(f"unknown model {model!r}")


def run_hmk(engine: BatchHierarchy, ev: np.ndarray) -> BatchHierarchy:
    engine.run(ev)  # check=True: the compiled input pre-check is part of a user's call
    return engine


def run_pycachesim(sim, levels, addr):
    sim.load(addr, length=8)
    return levels


def target(model: str):
    return run_pycachesim if model in PYCACHESIM else run_hmk


def misses(model: str, result) -> tuple[int, int, int]:
    """(L1D, L2, L3) misses of a finished run."""
    if model in PYCACHESIM:
        return tuple(int(c.MISS_count) for c in result)
    st = result.stats()
    return st["cpu0.l1d.misses"], st["cpu0.l2.misses"], st["l3.misses"]


def workload(model: str, pattern: str, span: int, n: int = N, base=None) -> dict:
    """One cold run, untimed harness: what each benchmark round does. For the smoke test."""
    args, kwargs = setup_round(model, pattern, span, n, base)
    result = target(model)(*args, **kwargs)
    out = dict(zip(("l1_misses", "l2_misses", "l3_misses"), misses(model, result), strict=True))
    if model in ("hmk+tlb", "hmk+tlb@base"):
        st = result.stats()
        out["dtlb_misses"] = st["cpu0.dtlb.misses"]
        out["walks"] = st["cpu0.walker.walks"]
    return out


_ENGINE_MISSES: dict[tuple[str, int, int], tuple[int, int, int]] = {}


def engine_misses(pattern: str, span: int, n: int = N) -> tuple[int, int, int]:
    """hmk's (no TLB) miss counts on a trace: recorded by its benchmark, or computed now."""
    key = (pattern, span, n)
    if key not in _ENGINE_MISSES:
        args, _ = setup_round("hmk", pattern, span, n)
        _ENGINE_MISSES[key] = misses("hmk", run_hmk(*args))
    return _ENGINE_MISSES[key]


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ == "test_throughput":
        rev = metafunc.config.getoption("engine_baseline")
        metafunc.parametrize("model", MODELS + (BASELINE if rev else ()))


@pytest.mark.parametrize("span_name", list(SPANS))
@pytest.mark.parametrize("pattern", PATTERNS)
def test_throughput(benchmark, throughput_log, request, pattern, span_name, model):
    if model in PYCACHESIM and cachesim is None:
        pytest.skip("pycachesim is not installed (pip install -e '.[bench]')")
    base = None
    if model in BASELINE:
        base = baseline_class(request.config.getoption("engine_baseline"))
    span = SPANS[span_name]
    trace(pattern, span)  # build the trace (and events) before timing starts
    if model not in PYCACHESIM:
        events(pattern, span)
    benchmark.group = f"{pattern} {span_name}"
    benchmark.extra_info["accesses"] = N
    result = benchmark.pedantic(
        target(model),
        setup=lambda: setup_round(model, pattern, span, base=base),
        rounds=ROUNDS,
        iterations=1,
    )
    counts = misses(model, result)
    benchmark.extra_info["misses_l1_l2_l3"] = list(counts)
    if model == "hmk":
        _ENGINE_MISSES[(pattern, span, N)] = counts
    if model in BASELINE:  # the same model: the same counts
        twin = "hmk" if model == "hmk@base" else "hmk+tlb"
        args, _ = setup_round(twin, pattern, span)
        assert run_hmk(*args).stats() == result.stats(), f"{model} counts differ from {twin}'s"
    if model == "hmk+tlb":
        st = result.stats()
        benchmark.extra_info["dtlb_misses"] = st["cpu0.dtlb.misses"]
        benchmark.extra_info["walks"] = st["cpu0.walker.walks"]
    if benchmark.stats is not None:  # None under --benchmark-disable
        times = benchmark.stats.stats
        benchmark.extra_info["accesses_per_s"] = N / times.min
        benchmark.extra_info["accesses_per_s_mean"] = N / times.mean
        throughput_log[(pattern, span_name, model)] = (N / times.min, N / times.mean)
    if model in PYCACHESIM:
        # correctness guard (untimed): both models count the same misses at every level
        assert counts == engine_misses(pattern, span), (
            f"pycachesim (L1, L2, L3) misses {counts} != hmk's {engine_misses(pattern, span)}"
        )

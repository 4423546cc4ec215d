"""A kernel path's cycles (hmk.kernel.costs.path_cycles) and its compiled twin
(hmk._fast.pathcost), one path or consecutive paths timed in one pass (CoreKernel.time_paths
over BatchHierarchy.run_marked): the same integers, under hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk._fast import pathcost
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE, READ, WRITE, make_events
from hmk.hw.synthetic import bench_hierarchy
from hmk.kernel import paging
from hmk.kernel.core import CoreKernel, CorePort
from hmk.kernel.costs import path_cycles
from hmk.kernel.objects import KERNEL_BASE

ACCESS = st.tuples(
    st.integers(0, (1 << 20) - 1),  # address (line-aligned below for the line-sized ones)
    st.sampled_from([0, 1, 2]),  # kind
    st.sampled_from([1, 2, 4, 8, 16, 64]),  # size
    st.integers(0, 400),  # latency
)


def log_of(accesses) -> tuple[np.ndarray, np.ndarray]:
    log = np.zeros(len(accesses), EVENT_DTYPE)
    for k, (addr, kind, size, _) in enumerate(accesses):
        log[k]["addr"] = KERNEL_BASE + (addr & ~63 if size == 64 else addr & ~(size - 1))
        log[k]["kind"], log[k]["size"] = kind, size
    return log, np.array([lat for *_, lat in accesses], np.int32)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(ACCESS, max_size=80),
    st.integers(0, 5000),
    st.integers(1, 12),
    st.integers(0, 16),
    st.floats(0, 20000, allow_nan=False),
)
def test_the_twin_gives_the_references_cycles(accesses, budget, l1_hit, mlp, drain):
    log, lat = log_of(accesses)
    want = path_cycles(budget, lat, log, l1_hit, mlp, drain)
    assert pathcost.path_cycles(budget, lat, log, l1_hit, mlp, drain) == want


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.lists(ACCESS, max_size=20), st.integers(0, 900), st.integers(0, 9))),
    st.integers(1, 12),
    st.integers(1, 16),
    st.sampled_from([0.0, 1.5, 37.25, 400.0]),
)
def test_consecutive_paths_cost_the_sum_of_each(paths, l1_hit, mlp, line_cycles):
    accesses = [a for part, _, _ in paths for a in part]
    log, lat = log_of(accesses)
    ends = np.cumsum([len(part) for part, _, _ in paths], dtype=np.int64)
    budgets = np.array([b for _, b, _ in paths], np.int64)
    writes = np.array([w for *_, w in paths], np.int64)
    want, lo = 0, 0
    for hi, budget, w in zip(ends, budgets, writes, strict=True):
        want += path_cycles(int(budget), lat[lo:hi], log[lo:hi], l1_hit, mlp, w * line_cycles)
        lo = hi
    got = pathcost.paths_cycles(budgets, lat, log, ends, writes, l1_hit, mlp, line_cycles)
    assert got == want


@settings(max_examples=100, deadline=None)
@given(st.lists(ACCESS, max_size=300))
def test_zeroed_frames_counts_as_the_fault_path_does(accesses):
    log, _ = log_of(accesses)
    assert pathcost.zeroed_frames(log) == paging._zeroed(log)


def test_ends_out_of_order_are_refused():
    log, lat = log_of([(0, READ, 8, 9)] * 4)
    one = np.ones(2, np.int64)
    with pytest.raises(ValueError):
        pathcost.paths_cycles(one, lat, log, np.array([3, 2]), one, 4, 1, 0.0)
    with pytest.raises(ValueError):
        pathcost.paths_cycles(one, lat, log, np.array([2, 5]), one, 4, 1, 0.0)


def _writes_trace(n: int) -> np.ndarray:
    """Stores over 16 MiB (four times the L3): dirty lines go back to DRAM as it runs."""
    addr = np.random.default_rng(7).integers(0, (16 << 20) // 64, n, dtype=np.int64) * 64
    return make_events(addr, np.where(np.arange(n) % 3 == 0, READ, WRITE), 8)


def test_run_marked_times_as_run_and_counts_each_segments_write_backs():
    events = _writes_trace(200_000)
    ends = np.array([0, 1, 5000, 5000, 120_000, 200_000], np.int64)
    marked, whole = BatchHierarchy(bench_hierarchy()), BatchHierarchy(bench_hierarchy())
    lat, writes = marked.run_marked(events, ends)
    assert np.array_equal(lat, whole.run(events))
    assert writes.sum() == whole.dram_writes() == marked.dram_writes() > 0
    stepwise, lo = BatchHierarchy(bench_hierarchy()), 0
    for hi, w in zip(ends, writes, strict=True):
        before = stepwise.dram_writes()
        stepwise.run(events[lo:hi])
        assert stepwise.dram_writes() - before == w
        lo = hi
    assert marked.stats() == whole.stats()
    with pytest.raises(ValueError):
        marked.run_marked(events, np.array([10, 5]))


class _Hierarchy(CorePort):
    """A core whose memory hierarchy is the benchmark one (latencies and write-backs)."""

    def __init__(self):
        self.h = BatchHierarchy(bench_hierarchy())
        self.h.run(_writes_trace(150_000))  # full of dirty lines: stores now write back

    def latencies(self, log):
        return self.h.run(log)

    def dram_writes(self) -> int:
        return self.h.dram_writes()


@pytest.mark.parametrize("line_cycles", [0.0, 11.5, 500.0])  # 500: the drain decides
@pytest.mark.parametrize("marked", [False, True])
def test_time_paths_is_time_log_path_by_path(marked, line_cycles):
    """The compiled kernel (generic port, or one that times the segments in one run) against
    the Python reference's time_log of each path in turn."""
    ram = np.zeros(16 << 20, np.uint8)
    events = _writes_trace(30_000)
    events["addr"] += KERNEL_BASE
    ends = [0, 700, 700, 9000, 30_000]
    budgets = [40, 7, 900, 13, 1000]
    totals = []
    for impl in ("python", "cython"):
        port = _Hierarchy()
        if marked and impl == "cython":
            port.timed = port.h.run_marked
        k = CoreKernel(ram, port=port, impl=impl, dram_line_cycles=line_cycles)
        totals.append(k.time_paths(budgets, events, ends))
    assert totals[0] == totals[1]

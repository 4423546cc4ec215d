"""A 24-point sweep (3 workloads x 4 compositions x 2 boards) on a Dask LocalCluster with one
worker and with two, in the same session: the ratio is the point.

    python -m pytest benchmarks/test_sweep_bench.py --benchmark-only -s

Each round runs every point from scratch (a fresh results folder), each in a process of its own.
"""

from __future__ import annotations

import itertools

import pytest

from hmk.sweep import parse_sweep, run_sweep

SPEC = {
    "statistics": ["sim.cycles"],
    "axes": {
        "workload": ["lat null 300", "lat read 300", "hello"],
        "system": ["linux", "hm-phone", "sel4", "hm-vehicle"],
        "profile": ["kirin9000", "rpi4"],
    },
}
ROUND = itertools.count()


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_24_points(benchmark, workers, tmp_path):
    sweep = parse_sweep(SPEC)
    assert len(sweep.points) == 24

    def run():
        return run_sweep(sweep, tmp_path / f"round{next(ROUND)}", workers=workers)

    frame = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    assert list(frame["status"]) == ["ok"] * 24
    benchmark.extra_info["workers"] = workers

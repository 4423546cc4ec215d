"""A 24-point sweep (3 workloads x 4 compositions x 2 boards) on a Dask LocalCluster with one
worker and with two, in the same session: the ratio is the point. A lone worker's runs time on a
second thread (the pipeline, hmk.parallel.cores), so one worker already uses the second core
in part; `1-on-1-core` runs the one-worker sweep with this process (and so its points) held to
one core, the sweep as a one-core machine runs it.

    python -m pytest benchmarks/test_sweep_bench.py --benchmark-only -s

Each round runs every point from scratch (a fresh results folder), each in a process of its own.
"""

from __future__ import annotations

import itertools
import os

import pytest

from hmk.sweep import parse_sweep, run_sweep

SPEC = {
    "statistics": ["sim.cycles"],
    "axes": {
        "workload": ["lat null 4000", "lat read 4000", "randsweep 1024 150000"],
        "system": ["linux", "hm-phone", "sel4", "hm-vehicle"],
        "profile": ["kirin9000", "rpi4"],
    },
}
ROUND = itertools.count()


@pytest.mark.parametrize("case", ["1", "2", "1-on-1-core"])
def test_sweep_24_points(benchmark, case, tmp_path):
    sweep = parse_sweep(SPEC)
    assert len(sweep.points) == 24
    workers = int(case[0])
    cores = os.sched_getaffinity(0)

    def run():
        if case == "1-on-1-core":
            os.sched_setaffinity(0, {min(cores)})
        try:
            return run_sweep(sweep, tmp_path / f"round{next(ROUND)}", workers=workers)
        finally:
            os.sched_setaffinity(0, cores)

    frame = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    assert list(frame["status"]) == ["ok"] * 24
    benchmark.extra_info["workers"] = workers

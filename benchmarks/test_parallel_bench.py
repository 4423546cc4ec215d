"""`hmk bench`'s suite and `hmk fidelity`'s page on one worker process and on every core, in the
same session (the ratio is the point: this machine is shared and noisy).

    python -m pytest benchmarks/test_parallel_bench.py --benchmark-only -s

Each round runs the whole `hmk bench` suite on one profile (every operation under linux, sel4
and hm-phone: 36 measurements of two runs each), or the whole fidelity page (its rows and the
suite on two profiles), through the same code as the command line.
"""

from __future__ import annotations

import pytest

from hmk import bench, fidelity
from hmk.parallel import cores

JOBS = sorted({1, cores()})


@pytest.mark.parametrize("jobs", JOBS)
def test_bench_suite(benchmark, jobs):
    def run():
        return bench.run_suite(bench.OPS, bench.DEFAULT_SYSTEMS, ["kirin9000"], jobs=jobs)

    results = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    assert all(r.cycles is not None or r.error == bench.NOT_HM for r in results)
    benchmark.extra_info["jobs"] = jobs


@pytest.mark.parametrize("jobs", JOBS)
def test_fidelity_page(benchmark, jobs):
    page = benchmark.pedantic(
        fidelity.render, kwargs={"jobs": jobs}, rounds=1, iterations=1, warmup_rounds=0
    )
    assert page.startswith("# Fidelity")
    benchmark.extra_info["jobs"] = jobs

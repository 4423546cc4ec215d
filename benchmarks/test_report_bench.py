"""What reporting costs: a whole run with and without cycle-weighted call stacks (the flame
graphs' input), and writing the flame graph of that run, in one session.

    python -m pytest benchmarks/test_report_bench.py --benchmark-only

Two workloads: `fsx 100` (syscall-heavy: a stack entry per kernel charge) and `compute` (the
bundled demo: mostly user code, a symbol lookup per batch of blocks).
"""

from __future__ import annotations

import io

import pytest

from hmk.report import flame
from hmk.system.simulation import run_program
from hmk.workloads import path

WORKLOADS = {"fsx": ["100"], "compute": []}


def _run(name, stacks):
    return run_program(
        str(path(name)), WORKLOADS[name], out=io.BytesIO(), stacks=stacks, warnings=None, cores=1
    )


@pytest.mark.parametrize("stacks", [False, True], ids=["plain", "stacks"])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_run(benchmark, name, stacks):
    result = benchmark.pedantic(_run, args=(name, stacks), rounds=5, iterations=1)
    assert result.exit_status == 0
    assert (result.stacks is not None) == stacks


def test_write_svg(benchmark):
    stacks = _run("fsx", True).stacks
    out = io.StringIO()

    def write():
        out.seek(0)
        out.truncate()
        flame.write_svg(stacks, out, title="fsx")

    benchmark(write)
    assert out.getvalue().startswith("<?xml")

"""Host time of page faults and of fork + exit + wait, end to end: whole runs of the bundled `lat`
(`fault-write` / `fault-read`: the first touch of N fresh anonymous pages; `fork`: fork, the
child exits at once, the parent waits) under a composition, everything on (native hooks, the
memory hierarchy with TLBs, the timing model). Per operation: the best round of a run of MANY
operations less the best of a run of FEW, over the difference (start-up and exit cancel out).
Goals: a first-touch fault at most 15 us, fork + exit + wait at most 5 ms. On a busy machine,
CPU time is steadier than wall time: add `--benchmark-timer time.process_time`.

    python -m pytest benchmarks/test_fork_fault_bench.py --benchmark-only
"""

from __future__ import annotations

import importlib
import io

import pytest

from hmk.system.simulation import run_program
from hmk.workloads import path

OPS = {"fault-write": (200, 16200), "fault-read": (200, 16200), "fork": (5, 45)}  # (FEW, MANY)
SYSTEMS = ["hm-phone", "linux", "sel4"]
ROUNDS = 5


def run(op: str, n: int, system: str) -> None:
    out = io.BytesIO()
    result = run_program(
        str(path("lat")), [op, str(n)], system=system, out=out, err=io.BytesIO(), cores=1
    )
    assert result.exit_status == 0 and out.getvalue() == f"lat: op={op} n={n} ok={n}\n".encode()


def timer_of(request):
    """The benchmark's own timer (--benchmark-timer), for the baseline runs."""
    timer = request.config.getoption("benchmark_timer")
    if isinstance(timer, str):  # the option's default, not parsed
        module, _, name = timer.rpartition(".")
        return getattr(importlib.import_module(module), name)
    return timer.target


def best(op: str, n: int, system: str, timer) -> float:
    times = []
    for _ in range(ROUNDS):
        start = timer()
        run(op, n, system)
        times.append(timer() - start)
    return min(times)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("op", list(OPS))
def test_per_operation(request, benchmark, per_op_log, op, system):
    few, many = OPS[op]
    base = best(op, few, system, timer_of(request)) if benchmark.enabled else 0.0
    benchmark.pedantic(run, args=(op, many, system), rounds=ROUNDS, iterations=1)
    if benchmark.stats is not None:  # None under --benchmark-disable
        per_op = (benchmark.stats.stats.min - base) / (many - few)
        benchmark.extra_info["us_per_op"] = per_op_log[(op, system)] = per_op * 1e6

"""Speed of the kernel crossing: host time per guest syscall, the bundled `lat null` (getppid in
a loop) under linux, hm-phone and sel4, with the compiled crossing (`impl="cython"`, the
default) beside the Python references (`impl="python"`) in the same run; and, when
HMK_BASELINE names another checkout of hmk (its extensions built in place), that checkout's
default beside them, each run in a process of its own.

    python -m pytest benchmarks/test_crossing_bench.py --benchmark-only -s
    HMK_BASELINE=/path/to/old/hmk python -m pytest benchmarks/test_crossing_bench.py \\
        --benchmark-only -s

A syscall's cost is the difference between `lat null LARGE` and `lat null SMALL` (the start-up,
the first calls' classification and the exit cancel out) divided by the calls between them,
each the best of ROUNDS runs; the benchmark's own timing is of the LARGE run. The summary at
the end prints the table (docs/performance.md, "The kernel crossing").
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest

from hmk.system import run_program
from hmk.workloads import path

SYSTEMS = ("linux", "hm-phone", "sel4")
SMALL, LARGE, ROUNDS = 1000, 41000, 3
# the measurement, as a script for another checkout: prints "wall_s cpu_s syscalls" per run
SCRIPT = """
import io, sys, time
sys.path.insert(0, sys.argv[1])
from hmk.system import run_program
from hmk.workloads import path
for n in sys.argv[3:]:
    wall, cpu = time.perf_counter(), time.process_time()
    r = run_program(str(path("lat")), ["null", n], system=sys.argv[2], out=io.BytesIO(),
                    err=io.BytesIO(), cores=1)
    print(time.perf_counter() - wall, time.process_time() - cpu, r.syscalls)
"""


def timed(system: str, n: int, impl: str = "cython") -> tuple[float, float, int]:
    """(wall s, CPU s, syscalls) of one `lat null n` run in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_program(
        str(path("lat")), ["null", str(n)], system=system, impl=impl, out=io.BytesIO(),
        err=io.BytesIO(), cores=1,
    )  # fmt: skip
    assert result.exit_status == 0
    return time.perf_counter() - wall, time.process_time() - cpu, result.syscalls


def baseline_runs(root: str, system: str, sizes) -> list[tuple[float, float, int]]:
    """`timed` in a fresh process on the checkout at `root`, one run per size."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, root, system, *map(str, sizes)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [
        (float(w), float(c), int(n)) for w, c, n in map(str.split, done.stdout.split("\n")[:-1])
    ]


def per_syscall(runs) -> dict:
    """Host µs per syscall (wall and CPU, best rounds) from (size, (wall, cpu, syscalls)) runs
    of the small and the large size."""
    best = {}
    for size, (wall, cpu, calls) in runs:
        w, c, _ = best.get(size, (wall, cpu, calls))
        best[size] = (min(w, wall), min(c, cpu), calls)
    (w1, c1, n1), (w2, c2, n2) = best[SMALL], best[LARGE]
    calls = n2 - n1
    return {
        "us_per_syscall": 1e6 * (w2 - w1) / calls,
        "cpu_us_per_syscall": 1e6 * (c2 - c1) / calls,
        "syscalls_per_s": calls / max(w2 - w1, 1e-9),
    }


@pytest.fixture(scope="module")
def crossing_log(request):
    """{(system, which): per_syscall(...)}; the table is written when the module is done."""
    log: dict = {}
    yield log
    if not log:
        return
    write = request.config.pluginmanager.get_plugin("terminalreporter").write_line
    write("")
    write("kernel crossing: host us per syscall (wall, best rounds), syscalls per host second")
    for which in ("baseline", "references", "compiled"):
        for system in SYSTEMS:
            if (system, which) in log:
                r = log[(system, which)]
                write(
                    f"  {which:<11} {system:<9} {r['us_per_syscall']:8.2f} us"
                    f" ({r['cpu_us_per_syscall']:.2f} CPU)  {r['syscalls_per_s']:>12,.0f}/s"
                )


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("impl", ["cython", "python"], ids=["compiled", "references"])
def test_crossing(benchmark, crossing_log, system, impl):
    small = [(SMALL, timed(system, SMALL, impl)) for _ in range(ROUNDS)]
    large = []

    def run():
        large.append((LARGE, timed(system, LARGE, impl)))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    result = per_syscall(small + large)
    benchmark.extra_info.update(result)
    crossing_log[(system, "compiled" if impl == "cython" else "references")] = result


@pytest.mark.parametrize("system", SYSTEMS)
def test_baseline(benchmark, crossing_log, system):
    root = os.environ.get("HMK_BASELINE")
    if not root:
        pytest.skip("HMK_BASELINE: a checkout of hmk to measure beside this one")
    runs = []

    def run():
        sizes = (SMALL, LARGE)
        runs.extend(zip(sizes, baseline_runs(root, system, sizes), strict=True))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    result = per_syscall(runs)
    benchmark.extra_info.update(result)
    crossing_log[(system, "baseline")] = result

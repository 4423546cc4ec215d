"""asv benchmarks of the kernel crossing: a guest syscall's host cost (the bundled `lat null`,
getppid in a loop) under linux, hm-phone and sel4.

time_lat_null: a whole run of `lat null 20000` (start-up included).
track_syscalls_per_second: guest syscalls per host second, the difference between `lat null
    41000` and `lat null 1000` (start-up and exit cancel out), best of three runs each.
track_cycles: the modeled cycles of `lat null 1000` (machine-independent: a step in its graph is
    a behaviour change to explain, never a speed-up).
"""

from __future__ import annotations

import io
import time

from hmk.system.simulation import run_program
from hmk.workloads import path

SYSTEMS = ["linux", "hm-phone", "sel4"]


def _run(system, n):
    return run_program(
        str(path("lat")),
        ["null", str(n)],
        system=system,
        cores=1,
        out=io.BytesIO(),
        err=io.BytesIO(),
    )


def _best(system, n):
    best, calls = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        calls = _run(system, n).syscalls
        best = min(best, time.perf_counter() - start)
    return best, calls


class Crossing:
    params = SYSTEMS
    param_names = ["system"]
    timeout = 300
    number = 1
    repeat = (2, 5, 30.0)

    def time_lat_null(self, system):
        _run(system, 20_000)

    def track_syscalls_per_second(self, system):
        (small, n1), (large, n2) = _best(system, 1_000), _best(system, 41_000)
        return (n2 - n1) / max(large - small, 1e-9)

    track_syscalls_per_second.unit = "syscalls/s"

    def track_cycles(self, system):
        return _run(system, 1_000).cycles

    track_cycles.unit = "cycles"

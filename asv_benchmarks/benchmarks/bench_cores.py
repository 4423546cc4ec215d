"""asv benchmarks of runs on several modeled cores (hmk.system.cores, docs/smp.md): what the
cores' turns cost the host, and what the model computes.

time_cores: the bundled `threads` program (two threads taking one mutex in turn) on the
    Raspberry Pi 4B, on 1, 2 and 4 cores: each turn of the functional CPU between cores, the
    IPIs that wake a sleeping core, the coherence of the lines the threads share.
track_cycles / track_turns: the run's simulated wall time and how often the CPU went to
    another core; machine-independent, so a step in their graph is a behaviour change a
    commit must explain.
"""

from __future__ import annotations

import io

from hmk.system.simulation import run_program
from hmk.workloads import path

CORES = [1, 2, 4]


def _run(cores: int):
    return run_program(
        str(path("threads")), ["20000"], profile="rpi4", cores=cores, out=io.BytesIO(),
        err=io.BytesIO(), warnings=None,
    )  # fmt: skip


class CoresRun:
    params = CORES
    param_names = ["cores"]
    timeout = 300
    number = 1
    repeat = (2, 5, 30.0)

    def time_cores(self, cores):
        _run(cores)


class CoresModel:
    timeout = 300

    def setup_cache(self):
        return {
            cores: (r.cycles, r.stats.get("kernel.core_turns", 0))
            for cores in CORES
            for r in [_run(cores)]
        }

    def track_cycles(self, results, cores):
        return results[cores][0]

    track_cycles.params = CORES
    track_cycles.param_names = ["cores"]
    track_cycles.unit = "cycles"

    def track_turns(self, results, cores):
        return results[cores][1]

    track_turns.params = CORES
    track_turns.param_names = ["cores"]
    track_turns.unit = "turns"

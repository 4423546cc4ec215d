"""asv benchmarks of whole program runs (hmk.system.simulation): host speed, and the modeled
results.

time_run: a bundled program on the kirin9000 prime core alone (cores=1, so that the figures
    stay comparable across versions), everything on (native hooks, memory
    hierarchy with TLBs, timing model).
track_cycles / track_instructions: what the model computes for those runs; machine-independent,
    so a step in their graph is a behaviour change a commit must explain.
"""

from __future__ import annotations

import io

from hmk.system.simulation import run_program
from hmk.workloads import path

PROGRAMS = {
    "randsweep 1024 200000": ("randsweep", ["1024", "200000"]),
    "pchase 4096 100000": ("pchase", ["4096", "100000"]),
    "compute 32 20000": ("compute", ["32", "20000"]),
    "syscalls 2000": ("syscalls", ["2000"]),
}


def _run(key, cluster=None):
    name, args = PROGRAMS[key]
    return run_program(
        str(path(name)), args, cluster=cluster, cores=1, out=io.BytesIO(), err=io.BytesIO()
    )


class ProgramRun:
    params = list(PROGRAMS)
    param_names = ["program"]
    timeout = 300
    number = 1
    repeat = (2, 5, 30.0)

    def time_run(self, key):
        _run(key)


class ProgramModel:
    timeout = 300

    def setup_cache(self):
        return {
            (key, cluster): (r.cycles, r.instructions)
            for key in PROGRAMS
            for cluster in ("prime", "little")
            for r in [_run(key, cluster)]
        }

    def track_cycles(self, results, key, cluster):
        return results[(key, cluster)][0]

    track_cycles.params = (list(PROGRAMS), ["prime", "little"])
    track_cycles.param_names = ["program", "cluster"]
    track_cycles.unit = "cycles"

    def track_instructions(self, results, key, cluster):
        return results[(key, cluster)][1]

    track_instructions.params = (list(PROGRAMS), ["prime", "little"])
    track_instructions.param_names = ["program", "cluster"]
    track_instructions.unit = "instructions"


class FaultsAndForks:
    """Host time of `lat`'s page faults and forks, whole runs (as
    benchmarks/test_fork_fault_bench.py): a run of many operations less one of few, over the
    difference, is the time per first-touch fault or per fork + exit + wait."""

    params = (
        ["fault-write 200", "fault-write 4200", "fault-read 200", "fault-read 4200"]
        + ["fork 5", "fork 45"],
        ["hm-phone", "linux", "sel4"],
    )
    param_names = ["run", "system"]
    timeout = 300
    number = 1
    repeat = (2, 5, 30.0)

    def time_lat(self, run, system):
        op, n = run.split()
        result = run_program(
            str(path("lat")), [op, n], system=system, cores=1, out=io.BytesIO(), err=io.BytesIO()
        )
        assert result.exit_status == 0

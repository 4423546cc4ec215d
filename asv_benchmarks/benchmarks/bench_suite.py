"""asv track_ benchmarks of `hmk bench` (hmk.bench): the modeled cycles per operation of a few
key lmbench-style operations under two compositions on the kirin9000 prime core. They are
machine-independent, so a step in these graphs is a change to the model (a kernel path's
budget, a service's placement, the cache/TLB engine) that a commit must explain.
"""

from __future__ import annotations

from hmk.bench import BY_NAME, measure

OPS = ("null", "pipe", "ctx", "fault-read", "fork", "ipc")
SYSTEMS = ("linux", "hm-phone")


class BenchSuiteModel:
    timeout = 600

    def setup_cache(self):
        cache: dict = {}
        return {
            (op, system): measure(BY_NAME[op], system, "kirin9000", cache=cache).cycles
            for op in OPS
            for system in SYSTEMS
        }

    def track_cycles_per_op(self, results, op, system):
        cycles = results[(op, system)]
        return float("nan") if cycles is None else cycles  # a failed op: a gap in the graph

    track_cycles_per_op.params = (list(OPS), list(SYSTEMS))
    track_cycles_per_op.param_names = ["operation", "system"]
    track_cycles_per_op.unit = "cycles"

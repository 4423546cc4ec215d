"""asv track_ benchmarks of `hmk bench` (hmk.bench): the modeled cycles per operation of a few
key lmbench-style operations under two compositions on the kirin9000 prime core. They are
machine-independent, so a step in these graphs is a change to the model (a kernel path's
budget, a service's placement, the cache/TLB engine) that a commit must explain. `ipc` is
HM's core-kernel IPC: skipped under linux (n/a, the reason in asv's log).
"""

from __future__ import annotations

from hmk.bench import BY_NAME, NOT_HM, measure

OPS = ("null", "pipe", "ctx", "fault-read", "fork", "ipc")
SYSTEMS = ("linux", "hm-phone")


class BenchSuiteModel:
    timeout = 600

    def setup_cache(self):
        cache: dict = {}
        return {
            (op, system): measure(BY_NAME[op], system, "kirin9000", cache=cache)
            for op in OPS
            for system in SYSTEMS
        }

    def setup(self, results, op, system):
        if results[(op, system)].error == NOT_HM:  # HM-native IPC under a Linux kernel
            raise NotImplementedError(NOT_HM)  # asv's skip: "n/a", the reason in its log

    def track_cycles_per_op(self, results, op, system):
        result = results[(op, system)]
        if result.cycles is None:  # a run that failed: asv reports it failed, with the error
            raise RuntimeError(f"{op} under {system}: {result.error}")
        return result.cycles

    track_cycles_per_op.params = (list(OPS), list(SYSTEMS))
    track_cycles_per_op.param_names = ["operation", "system"]
    track_cycles_per_op.unit = "cycles"

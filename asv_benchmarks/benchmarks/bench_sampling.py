"""asv benchmarks of fast-forward and SMARTS sampling (hmk.system.sampling; docs/performance.md,
"Fast-forward and sampling").

time_run: one long program (randsweep 1024 2000000: 26.5 M instructions) in full detail,
    sampled (defaults: functional warming all through), sampled with limited warming, and
    fast-forwarded to its end (warming all, and none): host speed of each mode.
track_error: the sampled estimate's error against the full run, in per cent, and the half-width
    of its 95% confidence interval (deterministic, machine-independent: a step in its graph
    is a change of the model or of the sampler).
"""

from __future__ import annotations

import io

from hmk.system.sampling import FastForward, Sampling
from hmk.system.simulation import run_program
from hmk.workloads import path

PROGRAM = ("randsweep", ["1024", "2000000"])
MODES = {
    "full": {},
    "sampled": {"sample": True},
    "sampled, limited warming": {"sample": Sampling(period=100_000, warming=10_000)},
    "fast-forward, warming all": {"fast_forward": FastForward(10**15)},
    "fast-forward, no warming": {"fast_forward": FastForward(10**15, 0)},
}


def _run(**options):
    name, args = PROGRAM
    options.setdefault("cores", 1)  # (sampling is of one core: the full run is held to one)
    return run_program(str(path(name)), args, out=io.BytesIO(), err=io.BytesIO(), **options)


class SampledRun:
    params = list(MODES)
    param_names = ["mode"]
    timeout = 300
    number = 1
    repeat = (2, 3, 60.0)

    def time_run(self, mode):
        _run(**MODES[mode])


class SampledModel:
    timeout = 600

    def setup_cache(self):
        full = _run().cycles
        out = {}
        for mode in ("sampled", "sampled, limited warming"):
            s = _run(**MODES[mode]).stats
            out[mode] = (
                100 * (s["sample.cycles"] - full) / full,
                100 * s["sample.cycles_ci95"] / full,
            )
        return out

    def track_error(self, results, mode, what):
        return results[mode][0 if what == "error" else 1]

    track_error.params = (["sampled", "sampled, limited warming"], ["error", "ci95"])
    track_error.param_names = ["mode", "what"]
    track_error.unit = "percent"

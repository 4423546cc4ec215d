"""Design-space sweeps: many runs of the model over knobs (workloads, profiles, compositions,
budgets, cache and TLB geometry, RAM), on Dask, into one table (docs/sweeps.md).

    from hmk.sweep import load_sweep, run_sweep
    frame = run_sweep(load_sweep("l3.toml"), "sweeps/l3", workers=2)
"""

from hmk.sweep.engine import read_table, run_sweep
from hmk.sweep.spec import Sweep, SweepError, load_sweep, parse_sweep

__all__ = ["Sweep", "SweepError", "load_sweep", "parse_sweep", "read_table", "run_sweep"]

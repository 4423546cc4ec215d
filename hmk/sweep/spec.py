"""A sweep's specification (a TOML file) and the points it names.

    name = "l3-size"                          # optional: the results' default folder name
    statistics = ["sim.cycles", "system.l2.misses"]  # columns (default: DEFAULT_STATS); the
                                              #   Pi 4B's shared level (its [l3]) is its L2
    sample = 10                               # optional: that many points of the product, at
    seed = 1                                  #   random (seeded; default seed 0)

    [fixed]                                   # knobs with one value for every point
    profile = "rpi4"

    [axes]                                    # knobs to vary: their cross product
    workload = ["hello", "lat null 200"]
    system = ["linux", "hm-phone"]
    "soc.l3.size_kib" = [512, 1024, 2048]

    [[point]]                                 # or (instead of [axes]) the points themselves
    workload = "hello"
    system = "sel4"

A point is a dict of knob -> value. KNOBS are run_program's options; `budget.kernel.NAME`,
`budget.linux.NAME` and `budget.SERVICE.OP` set an instruction budget of the calibration table
(hmk.kernel.costs, hmk.monolithic.costs, a service's `costs`); `soc.KEY...` and `core.KEY...`
set a key of the SoC profile or of the core type its cluster runs (e.g. `soc.l3.size_kib`,
`core.l1d.ways`, `core.tlb.l2_entries`). Workloads: a bundled program with its arguments
("lat null 200", "hm/hmipc"), or a table: {program = PATH, args = [...], rootfs = DIR} or
{script = FILE.py, function = "main", args = [...]} (a scripted workload, docs/scripting.md).
"""

from __future__ import annotations

import itertools
import random
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATS = (
    "sim.cycles",
    "sim.instructions",
    "kernel.syscalls",
    "kernel.page_faults",
    "kernel.context_switches",
)
# run_program's options a sweep may set, and what each takes
KNOBS = {
    "workload": "a bundled program with arguments, or a {program, args, rootfs} or {script} table",
    "profile": "a SoC profile's name or file",
    "cluster": "a cluster's name or index",
    "system": "a composition's name or system file",
    "paging": '"kernel" or "user"',
    "capabilities_only": "true or false (address tokens off)",
    "ram": 'a size: bytes or "512M"',
    "kernel_ipc": "the kernels' instructions per cycle",
    "max_instructions": "a run's instruction limit",
    "tick_us": "the scheduler tick in simulated microseconds",
    "cores": 'a count of the cluster\'s cores or "CLUSTER:N,..." (default: the whole SoC)',
    "impl": '"cython" (the compiled twins) or "python" (their references)',
}
PREFIXES = ("budget.", "soc.", "core.")
MAX_POINTS = 100_000


class SweepError(ValueError):
    """A bad sweep specification (one line for `hmk: error:`)."""


@dataclass(frozen=True)
class Sweep:
    name: str
    points: tuple[dict, ...]  # in the specification's order
    statistics: tuple[str, ...] = DEFAULT_STATS
    knobs: tuple[str, ...] = field(default=())  # the knobs that vary, in the axes' order
    source: str = ""  # the specification's file


def load_sweep(path: str | Path) -> Sweep:
    """The sweep a TOML file specifies; SweepError naming the file and the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SweepError(f"{path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SweepError(f"{path}: not TOML: {e}") from None
    try:
        return parse_sweep(data, default_name=path.stem, source=str(path))
    except SweepError as e:
        raise SweepError(f"{path}: {e}") from None


def parse_sweep(data: dict, default_name: str = "sweep", source: str = "") -> Sweep:
    unknown = set(data) - {"name", "statistics", "sample", "seed", "fixed", "axes", "point"}
    if unknown:
        raise SweepError(f"unknown key {sorted(unknown)[0]!r} (see hmk/sweep/spec.py)")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name:
        raise SweepError("name must be a non-empty string without '/'")
    stats = data.get("statistics", list(DEFAULT_STATS))
    if not (isinstance(stats, list) and stats and all(isinstance(s, str) and s for s in stats)):
        raise SweepError("statistics must be a non-empty list of statistic names")
    fixed = _table(data, "fixed")
    axes = _table(data, "axes")
    explicit = data.get("point", [])
    if not isinstance(explicit, list) or not all(isinstance(p, dict) for p in explicit):
        raise SweepError("[[point]] entries must be tables")
    if axes and explicit:
        raise SweepError("give [axes] or [[point]] tables, not both")
    for knob, values in axes.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"axis {knob!r} must be a non-empty list of values")
    if explicit:
        points = [{**fixed, **p} for p in explicit]
        varied = list(dict.fromkeys(k for p in explicit for k in p))
    else:
        count = 1
        for values in axes.values():
            count *= len(values)
        if count > MAX_POINTS:
            raise SweepError(f"the axes make {count} points; at most {MAX_POINTS}")
        product = itertools.product(*axes.values())
        points = [{**fixed, **dict(zip(axes, combo, strict=True))} for combo in product]
        varied = list(axes)
    points = _sampled(points, data)
    for k, point in enumerate(points):
        check_point(point, f"point {k + 1}")
    return Sweep(name, tuple(points), tuple(stats), tuple(varied), source)


def _table(data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SweepError(f"[{key}] must be a table")
    return value


def _sampled(points: list[dict], data: dict) -> list[dict]:
    sample, seed = data.get("sample"), data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SweepError("seed must be an integer")
    if sample is None:
        return points
    if not isinstance(sample, int) or isinstance(sample, bool) or sample < 1:
        raise SweepError("sample must be a positive integer")
    if sample >= len(points):
        return points
    chosen = sorted(random.Random(seed).sample(range(len(points)), sample))
    return [points[k] for k in chosen]


def check_point(point: dict, where: str) -> None:
    """A point's knobs are known and the workload is there (values are checked when it runs:
    a value a run refuses is that point's recorded failure, not the sweep's)."""
    if "workload" not in point:
        raise SweepError(f"{where}: no workload (give it in [fixed], [axes] or the point)")
    for knob in point:
        if knob not in KNOBS and not knob.startswith(PREFIXES):
            known = ", ".join([*KNOBS, *(p + "..." for p in PREFIXES)])
            raise SweepError(f"{where}: unknown knob {knob!r}; knobs: {known}")
        if knob.startswith("budget.") and len(knob.split(".")) < 3:
            raise SweepError(f"{where}: {knob!r}: budget knobs are budget.WHERE.NAME")
        if knob.endswith(".") or ".." in knob:
            raise SweepError(f"{where}: {knob!r} names no key")
    workload(point["workload"], where)


@dataclass(frozen=True)
class Workload:
    label: str  # how the table names it
    program: str | None = None  # a bundled name ("lat", "hm/hmipc") or a path
    args: tuple[str, ...] = ()
    rootfs: str | None = None
    script: str | None = None  # a Python file with the script function
    function: str = "main"


def workload(value, where: str = "workload") -> Workload:
    """The Workload a knob value names; SweepError when it names nothing runnable."""
    if isinstance(value, str):
        words = shlex.split(value)
        if not words:
            raise SweepError(f"{where}: an empty workload")
        return Workload(value, words[0], tuple(words[1:]))
    if not isinstance(value, dict):
        raise SweepError(f"{where}: a workload is a string or a table, not {value!r}")
    extra = set(value) - {"program", "args", "rootfs", "script", "function", "label"}
    if extra or ("program" in value) == ("script" in value):
        raise SweepError(
            f"{where}: a workload table has `program` (with args, rootfs) or `script` (with "
            "function, args), and an optional label"
        )
    args = value.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise SweepError(f"{where}: workload args must be a list of strings or numbers")
    args = tuple(str(a) for a in args)
    main = value.get("program") or value.get("script")
    if not isinstance(main, str) or not main:
        raise SweepError(f"{where}: the workload's program or script must be a path")
    label = value.get("label") or " ".join([Path(main).name, *args])
    if "script" in value:
        return Workload(label, None, args, None, main, value.get("function", "main"))
    return Workload(label, main, args, value.get("rootfs"))

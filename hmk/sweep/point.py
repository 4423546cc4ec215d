"""One point of a sweep, run in a process of its own (`python -m hmk.sweep.point`, the point as
JSON on stdin, its record as JSON on stdout).

A fresh process per point keeps the points apart: nothing of one (a budget it changed, a module
it loaded, memory it left) can reach the next, so a sweep's table is the same whatever its
workers ran before. The cost, the interpreter's start-up, is small beside a run.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

# a record's status: the run exited 0, exited otherwise (or was killed), stopped at a limit,
# could not run (a bad knob value, program or profile), or hit a bug of hmk
OK, EXITED, LIMIT, FAILED, BUG = "ok", "exit-status", "limit", "failed", "hmk-bug"


def run_point(point: dict) -> dict:
    """The record of one point, run here: {"status", "exit_status", "error", "stats", "run",
    "host_seconds"}."""
    from hmk.errors import InternalError  # noqa: PLC0415

    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="hmk-sweep-") as tmp:
            options = _options(point, Path(tmp))
            result = _run(point["workload"], options)
    except InternalError as e:
        return _record(BUG, None, f"{e} ({e.where})", {}, {}, start)
    except Exception as e:  # noqa: BLE001  (a point that cannot run is a recorded failure)
        return _record(FAILED, None, str(e).splitlines()[0] if str(e) else repr(e), {}, {}, start)
    status = OK if result.exit_status == 0 else EXITED
    if result.exit_status == 124 and (result.fault or "").startswith("run limit"):
        status = LIMIT
    return _record(status, result.exit_status, result.fault, result.stats, result.run, start)


def _record(status, exit_status, error, stats, run, start) -> dict:
    seconds = round(time.perf_counter() - start, 3)
    return {"status": status, "exit_status": exit_status, "error": error, "stats": stats,
            "run": run, "host_seconds": seconds}  # fmt: skip


def _options(point: dict, tmp: Path) -> dict:
    """run_program's options for `point` (its budgets among them), its profile written to
    `tmp` when it changes one."""
    from hmk.sweep.spec import KNOBS  # noqa: PLC0415

    options = {k: v for k, v in point.items() if k in KNOBS and k != "workload"}
    budgets = {k[len("budget.") :]: v for k, v in point.items() if k.startswith("budget.")}
    if budgets:
        options["budgets"] = budgets
    hardware = {k: v for k, v in point.items() if k.startswith(("soc.", "core."))}
    if hardware:
        options["profile"] = _profile(options.get("profile"), options.get("cluster"), hardware, tmp)
    return options


def _profile(profile, cluster, changes: dict, tmp: Path) -> str:
    """The SoC profile `profile` with `changes` (soc.KEY... and core.KEY... -> value) written to
    `tmp`: the path to load it from."""
    import tomli_w  # noqa: PLC0415

    from hmk.hw.profile import DEFAULT_PROFILE, load_soc  # noqa: PLC0415

    soc = load_soc(profile or DEFAULT_PROFILE)
    data = tomllib.loads(Path(soc.source).read_text(encoding="utf-8"))
    which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
    core = tomllib.loads(Path(which.core.source).read_text(encoding="utf-8"))
    for knob, value in changes.items():
        kind, _, key = knob.partition(".")
        _set(data if kind == "soc" else core, key.split("."), value, knob)
    if any(k.startswith("core.") for k in changes):
        (tmp / "cores").mkdir()
        (tmp / "cores" / Path(which.core.source).name).write_text(tomli_w.dumps(core), "utf-8")
    target = tmp / Path(soc.source).name
    target.write_text(tomli_w.dumps(data), encoding="utf-8")
    return str(target)


def _set(data, keys: list[str], value, knob: str) -> None:
    for k, key in enumerate(keys):
        last = k == len(keys) - 1
        if isinstance(data, list):
            if not key.isdigit() or int(key) >= len(data):
                raise ValueError(f"{knob}: {key!r} is not an index of its list")
            if last:
                data[int(key)] = value
            else:
                data = data[int(key)]
        elif last:
            data[key] = value
        else:
            data = data.setdefault(key, {})
            if not isinstance(data, dict | list):
                raise ValueError(f"{knob}: {key!r} is a value, not a table")


def _run(value, options: dict):
    from hmk.sweep.spec import workload  # noqa: PLC0415
    from hmk.system import run_program  # noqa: PLC0415

    w = workload(value)
    out = io.BytesIO()
    common = {"out": out, "err": out, "warnings": None, **options}
    if w.script is not None:
        return _run_script(w, common)
    program = w.program
    if w.rootfs is None and not os.path.exists(program):  # a bundled program's name
        from hmk.workloads import hm_path, path  # noqa: PLC0415

        if program.startswith("hm/"):
            program = str(hm_path(program[3:]))
        elif os.path.sep not in program:
            program = str(path(program))
    return run_program(program, list(w.args), rootfs=w.rootfs, **common)


def _run_script(w, options: dict):
    import importlib.util  # noqa: PLC0415

    from hmk.api import System  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("hmk_sweep_script", w.script)
    if spec is None or spec.loader is None:
        raise ValueError(f"{w.script}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = getattr(module, w.function, None)
    if not callable(function):
        raise ValueError(f"{w.script}: no function {w.function!r}")
    profile, system = options.pop("profile", None), options.pop("system", None)
    chosen = {k: v for k, v in (("profile", profile), ("system", system)) if v is not None}
    return System(**chosen, **options).run(function, *w.args)


def main() -> None:
    point = json.loads(sys.stdin.read())
    json.dump(run_point(point), sys.stdout)


if __name__ == "__main__":
    main()

"""A sweep's points run on Dask, kept as they finish, and gathered into one table.

Each point runs in a process of its own (hmk.sweep.point); Dask schedules them: by default a
`distributed.LocalCluster` in this process with a thread per worker (a thread only waits for its
point's process, so `workers` points run at once on as many cores), or the cluster at
`scheduler` ("tcp://HOST:PORT", whose workers must have hmk installed and see the same files).

Results live in a folder: `points/KEY.json`, one per point (KEY: a hash of the point's knobs),
written when the point finishes, with its status, error, every statistic and what ran where;
and the table, `results.parquet` (pandas with pyarrow) or `results.csv`, one row per point in
the specification's order. A point whose record is there is not run again (resumable); a point
that failed is recorded with its error, and run again only with `retry_failed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from hmk.sweep.point import BUG, FAILED, OK
from hmk.sweep.spec import Sweep, workload

RECORD_KEYS = ("status", "exit_status", "error", "stats", "run", "host_seconds")


def key(point: dict) -> str:
    """A point's name in the results folder: a hash of its knobs (canonical JSON)."""
    text = json.dumps(point, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def execute(point: dict, one_core: bool = False) -> dict:
    """A point's record, from a fresh process (hmk.sweep.point) of this hmk (its package's
    folder first on the path, wherever the process starts); `one_core`: other points run
    beside it (hmk.parallel.cores)."""
    from hmk.parallel import ONE_CORE  # noqa: PLC0415

    here = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, (here, os.environ.get("PYTHONPATH"))))
    extra = {ONE_CORE: "1"} if one_core else {}
    run = subprocess.run(
        [sys.executable, "-m", "hmk.sweep.point"],
        input=json.dumps(point),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path, **extra},
    )
    if run.returncode != 0 or not run.stdout.strip():
        said = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": BUG, "exit_status": None, "error": f"the point's process: {said}",
                "stats": {}, "run": {}, "host_seconds": 0.0}  # fmt: skip
    return json.loads(run.stdout)


class Results:
    """The results folder of a sweep."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.points = self.folder / "points"

    def record(self, point: dict) -> dict | None:
        path = self.points / f"{key(point)}.json"
        if not path.is_file():
            return None
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a record cut short (a run killed as it wrote): run the point again
        return saved if saved.get("point") == point else None

    def keep(self, point: dict, record: dict) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        path = self.points / f"{key(point)}.json"
        part = path.with_suffix(".part")
        part.write_text(json.dumps({"point": point, **record}, indent=1), encoding="utf-8")
        os.replace(part, path)  # whole or not at all


def run_sweep(
    sweep: Sweep,
    folder: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress=None,
):
    """Run the points of `sweep` not yet in `folder` and return the table (a pandas
    DataFrame), also written there."""
    results = Results(folder)
    todo = []
    for point in sweep.points:
        saved = results.record(point)
        if saved is None or (retry_failed and saved["status"] in (FAILED, BUG)):
            todo.append(point)
    todo = list({key(p): p for p in todo}.values())  # a point listed twice runs once
    if todo:
        _on_dask(todo, results, workers, scheduler, progress)
    return write_table(sweep, results)


def _on_dask(points, results: Results, workers: int, scheduler, progress) -> None:
    from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415

    from hmk.parallel import Progress  # noqa: PLC0415

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=1,
            threads_per_worker=max(1, workers),
            processes=False,
            dashboard_address=None,
        )
    client = Client(cluster if cluster is not None else scheduler)
    ticker = Progress(progress, "hmk sweep", len(points))
    try:
        one_core = scheduler is None and workers > 1
        futures = {client.submit(execute, p, one_core, pure=False): p for p in points}
        for future in as_completed(futures):
            results.keep(futures[future], future.result())
            ticker.done()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def table(sweep: Sweep, results: Results):
    """One row per point in the specification's order: its knobs (the workload by its label),
    status, exit status, error and the chosen statistics (absent: 0, as a counter that never
    counted; empty for a cache level the point's profile does not have)."""
    import pandas as pd  # noqa: PLC0415

    knobs = list(dict.fromkeys(k for p in sweep.points for k in p))
    rows = []
    for point in sweep.points:
        saved = results.record(point) or {"status": "not run", "stats": {}}
        row = {k: _cell(k, point.get(k)) for k in knobs}
        row |= {
            "status": saved["status"],
            "exit_status": saved.get("exit_status"),
            "error": saved.get("error"),
        }
        stats = saved.get("stats") or {}
        ran = saved["status"] not in (FAILED, BUG)
        for name in sweep.statistics:
            here = ran and not _no_such_level(name, saved.get("run"))
            row[name] = stats.get(name, 0) if here else None
        rows.append(row)
    for k in knobs:  # a column of mixed kinds ("512M" and 1 << 30): its values as text
        if len({type(row[k]) for row in rows if row[k] is not None}) > 1:
            for row in rows:
                row[k] = None if row[k] is None else str(row[k])
    return pd.DataFrame(rows)


def unseen(sweep: Sweep, results: Results) -> list[str]:
    """The chosen statistics that no finished run reported (a misspelt name, most likely: a
    counter that never counted is absent too, and its column reads 0)."""
    seen = set()
    for point in sweep.points:
        saved = results.record(point)
        if saved is not None:
            seen.update(saved.get("stats") or {})
    return [name for name in sweep.statistics if seen and name not in seen]


def absent_levels(sweep: Sweep, results: Results) -> dict[str, list[str]]:
    """{a chosen cache statistic: the profiles of the finished points that have no such level}
    (system.l3.* on the Pi 4B, whose shared level is system.l2)."""
    absent: dict[str, set[str]] = {}
    for point in sweep.points:
        saved = results.record(point)
        for name in sweep.statistics if saved is not None else ():
            if _no_such_level(name, saved.get("run")):
                absent.setdefault(name, set()).add(saved["run"].get("profile", "?"))
    return {name: sorted(profiles) for name, profiles in absent.items()}


def _no_such_level(name: str, run: dict | None) -> bool:
    """`name` counts in a cache (system.cpu0.l1i|l1d|l2.*, or a shared level's system.X.*)
    that the run's profile does not have (its run.caches lists those it has)."""
    caches = (run or {}).get("caches")
    parts = name.split(".")
    if not caches or len(parts) < 3 or parts[0] != "system" or parts[1] == "dram":
        return False
    if parts[1] == "cpu0":
        return (
            len(parts) == 4
            and parts[2] in ("l1i", "l1d", "l2")
            and ".".join(parts[:3]) not in caches
        )
    return ".".join(parts[:2]) not in caches


def _cell(knob: str, value):
    if knob == "workload" and value is not None:
        return workload(value).label
    return value


def write_table(sweep: Sweep, results: Results):
    frame = table(sweep, results)
    results.folder.mkdir(parents=True, exist_ok=True)
    try:
        import pyarrow  # noqa: F401, PLC0415
    except ImportError:
        frame.to_csv(results.folder / "results.csv", index=False)
    else:
        frame.to_parquet(results.folder / "results.parquet", index=False)
    return frame


def read_table(folder: str | Path):
    """The table a sweep wrote to `folder` (Parquet or CSV)."""
    import pandas as pd  # noqa: PLC0415

    folder = Path(folder)
    if (folder / "results.parquet").is_file():
        return pd.read_parquet(folder / "results.parquet")
    if (folder / "results.csv").is_file():
        return pd.read_csv(folder / "results.csv")
    raise FileNotFoundError(f"{folder}: no results.parquet or results.csv (run the sweep first)")


__all__ = ["OK", "Results", "execute", "key", "read_table", "run_sweep", "table"]

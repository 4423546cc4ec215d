"""`hmk sweep SPEC.toml` and `hmk sweep plot RESULTS`: the command line of hmk.sweep."""

from __future__ import annotations

import argparse
import os
import sys

USAGE = """hmk sweep SPEC.toml [--out DIR] [--jobs N | --scheduler tcp://HOST:PORT] [--retry-failed]
       hmk sweep plot DIR --stat NAME --x KNOB [--y KNOB | --by KNOB | --wins KNOB --y KNOB]
                     --out FILE.png|svg"""


def add_parser(commands) -> None:
    from hmk.parallel import add_jobs_option  # noqa: PLC0415

    sweep = commands.add_parser(
        "sweep",
        help="run a design-space sweep (a TOML specification) on Dask; plot its table",
        description="Run every point of a sweep specification (docs/sweeps.md) and write a table, "
        "one row per point, beside every run's statistics; or plot a sweep's table.",
        usage=USAGE,
    )
    sweep.set_defaults(func=cmd_sweep)
    sweep.add_argument("target", nargs="+", metavar="SPEC.toml | plot DIR")
    sweep.add_argument(
        "--out", metavar="PATH", help="results folder (default: sweeps/NAME) or the plot's file"
    )
    add_jobs_option(sweep)
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler: tcp://HOST:PORT")
    sweep.add_argument("--retry-failed", action="store_true", help="run failed points again")
    sweep.add_argument(
        "--sensitivity",
        nargs="?",
        const="kernel.*,linux.*",
        metavar="PATTERNS",
        help="also vary each budget matching PATTERNS (default kernel.*,linux.*) by --change "
        "and rank the budgets by their effect",
    )
    sweep.add_argument(
        "--change", type=float, default=0.5, help="--sensitivity: the budgets' change (0.5: +-50%%)"
    )
    sweep.add_argument("--stat", metavar="NAME", help="plot: the statistic")
    sweep.add_argument("--x", metavar="KNOB", help="plot: the knob across")
    sweep.add_argument("--y", metavar="KNOB", help="plot: the knob down (a heatmap)")
    sweep.add_argument("--by", metavar="KNOB", help="plot: a line per value of this knob")
    sweep.add_argument("--wins", metavar="KNOB", help="plot: which value of KNOB is least")
    sweep.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="plot: leave out the rows where KNOB is VALUE (repeatable)",
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    try:
        if args.target[0] == "plot":
            return _plot(args)
        return _run(args)
    except ValueError as e:  # SweepError, PlotError, a bad --jobs
        print(f"hmk: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from hmk.parallel import parse_jobs, terminal_progress  # noqa: PLC0415
    from hmk.sweep.engine import Results, absent_levels, run_sweep, unseen  # noqa: PLC0415
    from hmk.sweep.point import BUG, OK  # noqa: PLC0415
    from hmk.sweep.spec import SweepError, load_sweep  # noqa: PLC0415

    if len(args.target) != 1:
        raise SweepError("sweep takes one specification file (or: sweep plot DIR ...)")
    if args.scheduler is not None and args.jobs is not None:
        raise SweepError("--jobs is for the local cluster; a --scheduler has its own workers")
    sweep = load_sweep(args.target[0])
    jobs = parse_jobs(args.jobs)
    chosen = None
    if args.sensitivity is not None:
        from hmk.sweep import sensitivity  # noqa: PLC0415

        chosen = sensitivity.budgets(args.sensitivity)
        base, sweep = sweep, sensitivity.expand(sweep, chosen, args.change)
    folder = args.out or os.path.join("sweeps", sweep.name)
    progress = terminal_progress()
    if progress is not None:
        print(f"hmk sweep: {len(sweep.points)} points into {folder}", file=progress, flush=True)
    frame = run_sweep(
        sweep,
        folder,
        workers=jobs,
        scheduler=args.scheduler,
        retry_failed=args.retry_failed,
        progress=progress,
    )
    counts = frame["status"].value_counts().to_dict()
    if chosen is not None:
        _ranking(base, chosen, args.change, Results(folder))
    else:
        print(frame.to_string(index=False))
    absent = absent_levels(sweep, Results(folder))
    for name in unseen(sweep, Results(folder)):
        if name not in absent:
            print(f"hmk: warning: no run reported a statistic {name!r} (docs/stats.md lists "
                  "them; its column reads 0)", file=sys.stderr)  # fmt: skip
    for name, profiles in absent.items():
        print(f"hmk: warning: {name}: no such cache level on {', '.join(profiles)} (run.caches "
              "in a point's record lists a profile's levels; its cells are empty)",
              file=sys.stderr)  # fmt: skip
    print(f"hmk sweep: {len(frame)} points: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if counts.get(BUG):
        print(f"hmk: {counts[BUG]} points hit a bug of hmk (status {BUG}; their error in the "
              "table and the points/ records)", file=sys.stderr)  # fmt: skip
        return 70
    return 0 if counts.get(OK, 0) == len(frame) else 1


def _ranking(sweep, chosen, change, results) -> None:
    """The budgets ranked by their effect, printed and written beside the table."""
    import pandas as pd  # noqa: PLC0415

    from hmk.sweep.sensitivity import rank  # noqa: PLC0415

    ranked = pd.DataFrame(rank(sweep, chosen, change, results.record))
    ranked.to_csv(results.folder / "sensitivity.csv", index=False)
    print(f"effect of each budget x{1 - change:g} .. x{1 + change:g} (relative change of the "
          "statistic per relative change of the budget; mean over the points):")  # fmt: skip
    print(ranked.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _plot(args) -> int:
    from hmk.outputs import check, written  # noqa: PLC0415
    from hmk.sweep import plot  # noqa: PLC0415
    from hmk.sweep.engine import read_table  # noqa: PLC0415

    if len(args.target) != 2:
        raise plot.PlotError("sweep plot takes one results folder")
    if not (args.stat and args.x and args.out):
        raise plot.PlotError("sweep plot needs --stat, --x and --out")
    if not args.out.endswith(plot.FORMATS):
        raise plot.PlotError("--out: a .png or .svg file")
    check(args.out, "--out")
    try:
        frame = read_table(args.target[1])
    except FileNotFoundError as e:
        raise plot.PlotError(str(e)) from None
    for rule in args.drop:
        knob, sep, value = rule.partition("=")
        if not sep or knob not in frame.columns:
            raise plot.PlotError(f"--drop {rule}: KNOB=VALUE with a knob of the table")
        frame = frame[frame[knob].astype(str) != value]
    with written(args.out, "--out") as path:
        if args.wins:
            if not args.y:
                raise plot.PlotError("--wins needs --y")
            best = plot.wins(frame, args.stat, args.wins, args.x, args.y, path)
            for (xv, yv), winner in best.items():
                print(f"{args.x}={xv} {args.y}={yv}: {winner}")
        elif args.y:
            plot.heatmap(frame, args.stat, args.x, args.y, path)
        else:
            plot.line(frame, args.stat, args.x, args.by, path)
    return 0

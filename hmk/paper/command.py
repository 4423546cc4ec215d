"""`hmk paper`: the HM paper's evaluation regenerated on the model (docs/paper.md).

This module is imported by every `hmk` command line (for its parser): the model, the
experiments and matplotlib load only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

EXPERIMENT_NAMES = ("faults", "lmbench", "block", "bookkeeping", "coldstart")
# the Kirin 9000's published faults are far slower than its Cortex-A77 at 3.13 GHz would make
# them (docs/calibration.md): its little cores are shown beside it
DEFAULT_PROFILES = ("rpi4", "kirin9000", "kirin9000:little")


class PaperError(ValueError):
    """A bad choice of experiments, profiles or jobs (one line for `hmk: error:`)."""


def choose(value: str | None, default, what: str, known=None) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()] if value is not None else default
    bad = [n for n in names if known is not None and n not in known]
    if bad or not names:
        choices = f"; choose from: {', '.join(known)}" if known is not None else ""
        raise PaperError(f"unknown {what} {', '.join(bad) or '(none)'}{choices}")
    return list(dict.fromkeys(names))


def measure(experiments, profiles, jobs: int = 1, progress=None) -> list:
    """Every cell of `experiments` on `profiles`, the runs spread over `jobs` processes."""
    from hmk.paper.runs import execute_all  # noqa: PLC0415

    runs = [run for e in experiments for run in e.runs(profiles)]
    outcomes = execute_all(runs, jobs, progress)
    return [cell for e in experiments for cell in e.cells(outcomes, profiles)]


def add_parser(commands) -> None:
    paper = commands.add_parser(
        "paper",
        help="the HM paper's evaluation on the model, beside the published values (docs/paper.md)",
        description="Run the HM paper's experiments on the model and print Markdown tables of "
        "the model's values, the published ones and the error of each. Experiments: "
        + ", ".join(EXPERIMENT_NAMES),
    )
    paper.set_defaults(func=cmd_paper)
    paper.add_argument("--only", metavar="A,B", help="experiments (default: all)")
    paper.add_argument(
        "--profiles", metavar="A,B", help=f"SoC profiles (default: {','.join(DEFAULT_PROFILES)})"
    )
    paper.add_argument(
        "--jobs", metavar="N", help="worker processes for the runs (default: every core)"
    )
    paper.add_argument("--write", metavar="FILE.md", help="write the page instead of printing it")
    paper.add_argument(
        "--out",
        metavar="DIR",
        help="write a PNG figure per experiment there (default with --write: img/paper/ beside "
        "the page, where it links them; otherwise no figures)",
    )
    paper.add_argument("--json", metavar="FILE", help="also write every cell and row as JSON")


def cmd_paper(args: argparse.Namespace) -> int:
    from hmk.hw.profile import ProfileError, load_soc  # noqa: PLC0415
    from hmk.outputs import OutputError, check, check_dir, write_text, written  # noqa: PLC0415
    from hmk.parallel import parse_jobs, terminal_progress  # noqa: PLC0415

    try:
        names = choose(args.only, list(EXPERIMENT_NAMES), "experiment", EXPERIMENT_NAMES)
        profiles = choose(args.profiles, list(DEFAULT_PROFILES), "profile")
        for name in profiles:
            soc, _, cluster = name.partition(":")
            if cluster:
                load_soc(soc).cluster(cluster)
            else:
                load_soc(soc)
        jobs = parse_jobs(args.jobs)
        out = args.out
        if out is None and args.write:
            out = os.path.join(os.path.dirname(os.path.abspath(args.write)), "img", "paper")
        for flag, path in (("--write", args.write), ("--json", args.json)):
            if path is not None:
                check(path, flag)
        if out is not None:
            check_dir(out, "--out")
    except (PaperError, ProfileError, OutputError, ValueError) as e:
        print(f"hmk: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    from hmk.paper import page  # noqa: PLC0415
    from hmk.paper.experiments import EXPERIMENTS  # noqa: PLC0415

    experiments = [EXPERIMENTS[n] for n in names]
    progress = terminal_progress()
    if progress is not None:
        count = len({r for e in experiments for r in e.runs(profiles)})
        print(f"hmk paper: {count} runs on {min(jobs, count)} processes", file=progress, flush=True)
    cells = measure(experiments, profiles, jobs, progress)
    text = page.render(cells)
    if args.write is not None:
        write_text(args.write, text, "--write")
    else:
        print(text, end="")
    if out:
        from hmk.paper.figures import write_figures  # noqa: PLC0415

        try:
            os.makedirs(out, exist_ok=True)
            write_figures(cells, out)
        except OSError as e:
            raise OutputError(f"--out {out}: cannot write: {e.strerror or e}") from None
    if args.json is not None:
        with written(args.json, "--json") as path, open(path, "w", encoding="utf-8") as f:
            json.dump(as_json(cells), f, indent=1)
    return 0


def as_json(cells) -> dict:
    """Every cell, and every row of the tables with its published value and error."""
    from hmk.paper.experiments import EXPERIMENTS  # noqa: PLC0415

    rows = []
    for e in EXPERIMENTS.values():
        for r in e.rows(cells) if any(c.experiment == e.name for c in cells) else []:
            rows.append({"experiment": e.name, **asdict(r), "error_pct": r.error})
    return {"cells": [asdict(c) for c in cells], "rows": rows}

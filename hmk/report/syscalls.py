"""`hmk syscalls`: the syscall table as a user reads it, and docs/syscalls.md.

One row per AArch64 Linux syscall number (hmk.linux.syscalls): its name, the service that owns
it (or `shim`), its status (implemented, ENOSYS on purpose, missing) and the bundled programs that
make it. Which program makes which call is measured, not declared: `python -m hmk.report.syscalls
--refresh` runs every bundled program (EXERCISES: each with the arguments that reach its calls)
and records the calls each made in hmk/workloads/syscalls.json; a test runs them again and
compares, and another keeps docs/syscalls.md equal to `render_markdown()`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys

from hmk.fuzz import known
from hmk.linux.shimcalls import ShimCalls
from hmk.linux.syscalls import ENOSYS_BY_DESIGN, IMPLEMENTED, MISSING, SHIM, SyscallTable
from hmk.outputs import OutputError, check, write_text
from hmk.services import registry
from hmk.workloads import bin_dir

EXERCISED = bin_dir().parent / "syscalls.json"
PREFIX = "shim.syscalls."  # the statistic that counts a call by name
LAT_OPS = (
    "null getpid read write open stat pipe pipe-self fault-read fault-write mmap fork exec thread"
)
# the programs and the arguments that reach their calls (lat: every operation once, and the
# timed mode)
EXERCISES = {
    "hello": [[]],
    "exitcode": [[]],
    "seqsweep": [["64", "1"]],
    "randsweep": [["64", "100"]],
    "pchase": [["64", "100"]],
    "syscalls": [["10"]],
    "compute": [["4", "100"]],
    "fsx": [[]],
    "minish": [[]],
    "sigtest": [[], ["segv"]],
    "threads": [[]],
    "filemap": [[]],
    "procgrp": [[]],
    "remap": [[]],
    "shmem": [[]],
    "procinfo": [[]],
    "timers": [[], ["rtc"]],
    "spawn": [[]],
    "eintr": [["read"], ["restart"], ["wait"], ["sleep"]],
    "lat": [[op, "2"] for op in LAT_OPS.split()] + [["null", "1", "1"]],
    "coldstart": [["1"]],
    "hm/hmipc": [[]],
    "hm/hmbench": [["null", "2"]],
    "hm/hmmem": [[]],
    "hm/blkio": [[]],
    "hm/ramstream": [["read", "4", "16"], ["write", "4", "16"]],
}


DIFFERENCES_INTRO = (
    "Where hmk's answers differ from Linux's on purpose (hmk.fuzz.known), as the differential "
    "syscall fuzzing (`python -m hmk.fuzz.diff SEED`, tests/test_fuzz.py) meets them: every "
    "other disagreement with this machine's Linux is a bug. A call hmk does not implement "
    "answers ENOSYS (above)."
)


def table() -> SyscallTable:
    """The table as the registered services define it (no simulation booted)."""
    return SyscallTable({SHIM: ShimCalls, **{cls.name: cls for cls in registry.SERVICES}})


def exercised() -> dict[str, list[str]]:
    """Call name -> the bundled programs that make it (hmk/workloads/syscalls.json)."""
    by_program = json.loads(EXERCISED.read_text(encoding="utf-8"))
    by_call: dict[str, list[str]] = {}
    for program, calls in sorted(by_program.items()):
        for name in calls:
            by_call.setdefault(name, []).append(program)
    return by_call


def measure() -> dict[str, list[str]]:
    """Program -> the calls it makes (run on `hm-ic0`: HM's kernel, so that HM-native programs
    run too, with every service in IC0; default profile)."""
    from hmk.system import run_program  # noqa: PLC0415  (the model loads only here)

    out = {}
    for program, arg_sets in EXERCISES.items():
        calls = set()
        for args in arg_sets:
            result = run_program(
                str(bin_dir() / program),
                args,
                system="hm-ic0",
                out=io.BytesIO(),
                err=io.BytesIO(),
                warnings=None,
                max_instructions=200_000_000,
            )
            calls |= {k[len(PREFIX) :] for k in result.stats if k.startswith(PREFIX)}
        out[program] = sorted(calls)
    return out


def rows() -> list[dict]:
    seen = exercised()
    return [
        {
            "nr": r.nr,
            "name": r.name,
            "service": r.service,
            "status": r.status,
            "why": r.why_enosys,
            "exercised_by": seen.get(r.name, []),
        }
        for r in table()
    ]


def _counts(all_rows) -> str:
    n = {
        s: sum(r["status"] == s for r in all_rows) for s in (IMPLEMENTED, ENOSYS_BY_DESIGN, MISSING)
    }
    return (
        f"{len(all_rows)} AArch64 syscalls: {n[IMPLEMENTED]} implemented, "
        f"{n[ENOSYS_BY_DESIGN]} ENOSYS on purpose, {n[MISSING]} missing (ENOSYS, with a warning)"
    )


def render_text(all_rows=None) -> str:
    all_rows = rows() if all_rows is None else all_rows
    width = max(len(r["name"]) for r in all_rows)
    lines = [f"{'NR':>4}  {'NAME':<{width}}  {'SERVICE':<8}  {'STATUS':<17}  EXERCISED BY"]
    for r in all_rows:
        used = ", ".join(r["exercised_by"]) or "-"
        lines.append(
            f"{r['nr']:>4}  {r['name']:<{width}}  {r['service'] or '-':<8}  {r['status']:<17}  "
            f"{used}"
        )
    lines += ["", _counts(all_rows), "", DIFFERENCES_INTRO]
    for calls, when, why in known.listing():
        lines.append(f"- {calls}{f' ({when})' if when else ''}: {why}")
    return "\n".join(lines) + "\n"


def render_markdown(all_rows=None) -> str:
    all_rows = rows() if all_rows is None else all_rows
    head = [
        "# Syscalls",
        "",
        "Generated by `python -m hmk.report.syscalls --write docs/syscalls.md` (`hmk syscalls`",
        "prints the same table); do not edit by hand.",
        "",
        "Every AArch64 Linux syscall number (the asm-generic table as arm64 configures it,",
        "hmk/linux/numbers.py), the OS service that answers it in hmk (`shim`: the Linux shim",
        "itself, with no service behind it), and its status: *implemented*, *ENOSYS on purpose*",
        "(why, below the table) or *missing* (ENOSYS, and one warning per run naming the call).",
        "*Exercised by* lists the bundled programs (hmk/workloads/bin) that make the call, as",
        "measured by running them (hmk/workloads/syscalls.json). Where each call's work is",
        "modeled: docs/services.md. Adding a call: docs/architecture.md.",
        "",
        _counts(all_rows) + ".",
        "",
        "| nr | name | service | status | exercised by |",
        "| ---: | --- | --- | --- | --- |",
    ]
    body = [
        f"| {r['nr']} | `{r['name']}` | {r['service'] or '-'} | {r['status']} | "
        f"{', '.join(r['exercised_by']) or '-'} |"
        for r in all_rows
    ]
    why = ["", "## ENOSYS on purpose", ""]
    why += [f"- `{r['name']}`: {r['why']}." for r in all_rows if r["status"] == ENOSYS_BY_DESIGN]
    differ = ["", "## Documented differences from Linux", "", DIFFERENCES_INTRO, ""]
    for calls, when, reason in known.listing():
        named = ", ".join(f"`{c}`" for c in calls.split(", "))
        differ.append(f"- {named}{f' ({when})' if when else ''}: {reason}.")
    return "\n".join([*head, *body, *why, *differ]) + "\n"


def main(argv: list[str]) -> int:
    """python -m hmk.report.syscalls [--refresh] [--write FILE.md]"""
    parser = argparse.ArgumentParser(
        prog="python -m hmk.report.syscalls",
        description="Keep docs/syscalls.md and the measured calls of the bundled programs.",
    )
    parser.add_argument(
        "--refresh", action="store_true", help=f"run every bundled program again: {EXERCISED}"
    )
    parser.add_argument("--write", metavar="FILE.md", help="write the syscall table's page")
    args = parser.parse_args(argv)
    try:
        if args.refresh:
            check(EXERCISED, "--refresh")
        if args.write is not None:
            check(args.write, "--write")
        if args.refresh:
            write_text(EXERCISED, json.dumps(measure(), indent=1, sort_keys=True) + "\n")
        if args.write is not None:
            write_text(args.write, render_markdown(), "--write")
    except OutputError as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

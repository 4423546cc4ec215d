"""Sampled runs against full-detail runs, and the speed of fast-forward and sampling
(docs/performance.md, "Fast-forward and sampling").

    python tools/samplecheck.py                     the validation table: every bundled program
                                                    and three long ones, full and sampled
    python tools/samplecheck.py --fast              the same with limited warming (FAST below)
    python tools/samplecheck.py --programs "randsweep 1024 2000000,compute"
    python tools/samplecheck.py --speed [--rounds 3] [--program "randsweep 1024 8000000"]
                                                    host time: bare unicorn, full, sampled,
                                                    fast-forwarded
    python tools/samplecheck.py --hooks [--rounds 3]    what the functional CPU's memory hook
                                                    costs: removed, or kept and returning at
                                                    once, in a run fast-forwarded to its end

The table: each program's full-detail cycles, the sampled estimate, its error, the half-width
of its 95% confidence interval (both in % of the full run's cycles), whether the interval holds
the full run's value, the windows, the share of the instructions run in detail, and the host
time of each run (one run each, wall clock). Speed: each configuration run in turn, `--rounds`
times (the machine's load falls on all alike), best round; bare unicorn is
benchmarks/test_engine_bench.py's runner (segments as plain unicorn regions, no hooks but SVC).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's hmk
sys.path.insert(0, str(ROOT / "benchmarks"))

from hmk.system.sampling import FastForward, Sampling  # noqa: E402
from hmk.system.simulation import run_program  # noqa: E402
from hmk.workloads import hm_path, path  # noqa: E402

BUNDLED = (
    "coldstart,compute,eintr read,exitcode,filemap,fsx,hello,lat,minish,pchase,procgrp,"
    "procinfo,randsweep,remap,seqsweep,shmem,sigtest,spawn,syscalls,threads,timers,hm/blkio,"
    "hm/hmbench ipc 1000,hm/hmipc,hm/hmmem,hm/ramstream read 64"
)
LONG = "randsweep 1024 2000000,pchase 4096 4000000,compute 96 2000000"
FAST = Sampling(period=100_000, warming=10_000)  # limited warming: the fast configuration
SPEED_PROGRAM = "randsweep 1024 2000000"


def executable(name: str) -> str:
    return str(hm_path(name[3:]) if name.startswith("hm/") else path(name))


def timed(spec: str, **options):
    name, *args = spec.split()
    out = io.BytesIO()
    start = time.perf_counter()
    result = run_program(executable(name), args, out=out, err=io.BytesIO(), **options)
    return result, out.getvalue(), time.perf_counter() - start


def validate(specs: list[str], plan: Sampling) -> int:
    print(
        "| program | instructions | full cycles | sampled cycles | error | 95% CI | covers "
        "| windows | in detail | host time full / sampled |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |")
    worst = 0.0
    for spec in specs:
        full, full_out, full_time = timed(spec)
        sampled, out, sampled_time = timed(spec, sample=plan)
        if sampled.exit_status != full.exit_status:
            raise SystemExit(f"{spec}: the sampled run's exit status differs")
        s = sampled.stats
        error = s["sample.cycles"] - full.cycles
        half = s.get("sample.cycles_ci95")
        covers = "-" if half is None else "yes" if abs(error) <= half else "no"
        ci = "-" if half is None else f"\u00b1{100 * half / full.cycles:.2f}%"
        if "system.cpu0.functional_instructions" not in s:
            covers, ci = "exact", "0"  # the run ended in its detailed start
        detail = sum(s[f"sample.instructions.{k}"] for k in ("exact", "cold", "detail", "measure"))
        worst = max(worst, abs(error) / full.cycles)
        count = f"{full.instructions:,}"
        if sampled.instructions != full.instructions:  # a program whose work follows the clock
            count += f" ({sampled.instructions:,} sampled)"
        if out != full_out:  # one that prints times it measured
            count += " (its output differs)"
        print(
            f"| `{spec}` | {count} | {full.cycles:,} | {s['sample.cycles']:,} "
            f"| {100 * error / full.cycles:+.2f}% | {ci} | {covers} | {s['sample.windows']:,} "
            f"| {100 * detail / full.instructions:.0f}% | {full_time:.2f} / {sampled_time:.2f} s |",
            flush=True,
        )
    print(f"\nlargest error: {100 * worst:.2f}%")
    return 0 if worst <= 0.02 else 1


def speed(spec: str, rounds: int) -> int:
    from test_engine_bench import bare_unicorn  # noqa: PLC0415

    name, *args = spec.split()
    configs = {
        "bare unicorn, no hooks": None,
        "full detail": {},
        "sampled (defaults: warming all)": {"sample": True},
        f"sampled, --warming {FAST.warming} --sample-period {FAST.period}": {"sample": FAST},
        "fast-forward to the end, warming all": {"fast_forward": FastForward(10**15)},
        "fast-forward to the end, --warming 0": {"fast_forward": FastForward(10**15, 0)},
    }
    best: dict[str, float] = {}
    cycles: dict[str, int] = {}
    for _ in range(rounds):
        for label, options in configs.items():
            start = time.perf_counter()
            if options is None:
                bare_unicorn(executable(name), args)
            else:
                result, _, _ = timed(spec, **options)
                cycles[label] = result.stats.get("sample.cycles", result.cycles)
            best[label] = min(best.get(label, float("inf")), time.perf_counter() - start)
    bare = best["bare unicorn, no hooks"]
    print(f"`{spec}`, best of {rounds} rounds\n")
    print("| run | host time | of bare unicorn's speed | cycles reported |")
    print("| --- | ---: | ---: | ---: |")
    for label in configs:
        shown = f"{cycles[label]:,}" if label in cycles else "-"
        share = 100 * bare / best[label]
        print(f"| {label} | {1000 * best[label]:,.0f} ms | {share:.1f}% | {shown} |")
    return 0


def hooks(spec: str, rounds: int) -> int:
    """A run fast-forwarded to its end with no warming, the memory hook removed (as hmk does)
    or kept (its code returns at once, but unicorn's translations send every access through
    its slow path to it), beside a full run and one warmed all through."""
    from hmk.cpu.machine import Machine  # noqa: PLC0415

    def kept(machine, on):  # the hook stays registered: only the recorder stops recording
        machine.recorder.record_events = on

    removed = Machine.record_memory
    configs = {
        "full detail": ({}, removed),
        "functional warming all through (hook on, caches, no timing model)": (
            {"fast_forward": FastForward(10**15)},
            removed,
        ),
        "functional, memory hook kept, returning at once": (
            {"fast_forward": FastForward(10**15, 0)},
            kept,
        ),
        "functional, memory hook removed (hmk)": (
            {"fast_forward": FastForward(10**15, 0)},
            removed,
        ),
    }
    best: dict[str, float] = {}
    try:
        for _ in range(rounds):
            for label, (options, record_memory) in configs.items():
                Machine.record_memory = record_memory
                _, _, seconds = timed(spec, **options)
                best[label] = min(best.get(label, float("inf")), seconds)
    finally:
        Machine.record_memory = removed
    print(f"`{spec}`, best of {rounds} rounds\n")
    print("| run | host time |")
    print("| --- | ---: |")
    for label in configs:
        print(f"| {label} | {1000 * best[label]:,.0f} ms |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", help="comma-separated programs with their arguments")
    parser.add_argument("--fast", action="store_true", help="limited warming (FAST)")
    parser.add_argument("--speed", action="store_true", help="host time, not the estimates")
    parser.add_argument("--hooks", action="store_true", help="the memory hook's cost")
    parser.add_argument("--program", default=SPEED_PROGRAM, help="the program --speed runs")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.speed:
        return speed(args.program, args.rounds)
    if args.hooks:
        return hooks(args.program, args.rounds)
    specs = (args.programs or f"{BUNDLED},{LONG}").split(",")
    return validate(specs, FAST if args.fast else Sampling())


if __name__ == "__main__":
    sys.exit(main())

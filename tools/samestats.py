"""Whole-program statistics kept, to show that a change to how hmk runs (not what it models)
leaves every simulated figure as it was.

    python tools/samestats.py --save FILE      run the set below and write every run's result
    python tools/samestats.py --check FILE     run it again and compare: exit 1 on a difference

A run's result is its exit status, what it printed and every statistic (RunResult.stats:
cycles, instructions, counters, kernel cycles by path, ...). The set: the syscall-heavy `lat`
workload (null, read, pipe-self, fork), hello, minish (fork, execve, a pipe), threads (futexes),
sigtest (signals), HM-native IPC (hmipc, not under linux) and a few tests/guest programs (select
and poll, signal calls, futexes, epoll, AF_UNIX sockets, timers: built with the cross compiler
into a fixed directory, since a program's path is in its memory), each under linux, hm-phone,
sel4, hm-vehicle and fiasco. `--quick`: lat null and hello only. `--cores 1`: on one core
(default: the whole SoC, as hmk runs). ~2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's hmk

from hmk.system import run_program  # noqa: E402
from hmk.workloads import hm_path, path  # noqa: E402

SYSTEMS = ("linux", "hm-phone", "sel4", "hm-vehicle", "fiasco")
BUNDLED = (
    ("lat", "null", "300"),
    ("lat", "read", "300"),
    ("lat", "pipe-self", "200"),
    ("lat", "fork", "10"),
    ("hello",),
    ("minish",),
    ("threads", "2000"),
    ("sigtest",),
    ("hm/hmipc",),
)
GUEST = ("selectpoll", "sigcalls", "futexes", "epoll", "sockunix", "timers")
QUICK = (("lat", "null", "300"), ("hello",))
BUILD = Path("/tmp/hmk-samestats")


def programs(quick: bool) -> list[tuple[str, str, list[str]]]:
    """(label, executable, arguments) of every program of the set."""
    out = []
    for name, *args in QUICK if quick else BUNDLED:
        exe = hm_path(name[3:]) if name.startswith("hm/") else path(name)
        out.append((" ".join((name, *args)), str(exe), args))
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if quick or cc is None:
        if cc is None:
            print("samestats: no aarch64-linux-gnu-gcc: the guest programs are left out")
        return out
    BUILD.mkdir(exist_ok=True)
    for name in GUEST:
        exe = BUILD / name
        source = ROOT / "tests" / "guest" / f"{name}.c"
        subprocess.run([cc, "-O1", "-static", "-o", exe, source], check=True)
        out.append((f"guest/{name}", str(exe), []))
    return out


def results(quick: bool = False, cores=None) -> dict:
    """label@system -> {status, output, stats} of every run."""
    found = {}
    for label, exe, args in programs(quick):
        for system in SYSTEMS:
            if label.startswith("hm/") and system == "linux":
                continue  # HM-native calls: not a Linux kernel's
            out = io.BytesIO()
            began = time.perf_counter()
            result = run_program(
                exe, args, system=system, cores=cores, out=out, err=io.BytesIO(), warnings=None
            )
            took = time.perf_counter() - began
            print(f"  {label}@{system}: {result.cycles:,} cycles, {took:.2f} s", flush=True)
            found[f"{label}@{system}"] = {
                "status": result.exit_status,
                "output": out.getvalue().decode(errors="replace"),
                "stats": result.stats,
            }
    return found


def differences(old: dict, new: dict) -> list[str]:
    lines = []
    for run in sorted(old.keys() | new.keys()):
        a, b = old.get(run), new.get(run)
        if a is None or b is None:
            lines.append(f"{run}: only in the {'new' if a is None else 'saved'} results")
            continue
        for key in ("status", "output"):
            if a[key] != b[key]:
                lines.append(f"{run}: {key} {a[key]!r} -> {b[key]!r}")
        sa, sb = a["stats"], b["stats"]
        for name in sorted(sa.keys() | sb.keys()):
            if sa.get(name) != sb.get(name):
                lines.append(f"{run}: {name} {sa.get(name)!r} -> {sb.get(name)!r}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--save", metavar="FILE")
    what.add_argument("--check", metavar="FILE")
    parser.add_argument("--quick", action="store_true", help="lat null and hello only")
    parser.add_argument("--cores", help="N or CLUSTER:N,... (default: the whole SoC)")
    opts = parser.parse_args(argv)
    found = results(opts.quick, opts.cores)
    if opts.save:
        Path(opts.save).write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"samestats: {len(found)} runs saved to {opts.save}")
        return 0
    saved = json.loads(Path(opts.check).read_text())
    if opts.quick:
        saved = {k: v for k, v in saved.items() if k in found}
    diff = differences(saved, json.loads(json.dumps(found)))
    for line in diff[:200]:
        print(line)
    print(f"samestats: {len(found)} runs, {len(diff)} differences")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

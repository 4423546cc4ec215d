"""Every statistic of a fixed set of runs, saved before a change that must not move the model
(a speed-up) and compared after it: bundled programs that fork, exec, fault, map and unmap,
under linux, hm-phone and sel4 (and a few runs under the other compositions and options), each
run's statistics (cycles included), output, exit status and flame-graph stacks.

    python tools/statsnapshot.py save before.json      # on the version before the change
    python tools/statsnapshot.py check before.json     # after it: exit 1, and the differences
    python tools/statsnapshot.py check before.json --impl python   # the Python references too
    python tools/statsnapshot.py save one.json --cores 1   # one core (default: the whole SoC)

Save and check in the same checkout (the programs' paths are part of what they print and hold):
check out the old version, save, check out the new one, check.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hmk.system.simulation import run_program  # noqa: E402
from hmk.workloads import path  # noqa: E402

PROGRAMS = [
    ("lat", ["fork", "12"]),
    ("lat", ["exec", "3"]),
    ("lat", ["fault-read", "300"]),
    ("lat", ["fault-write", "300"]),
    ("lat", ["mmap", "40"]),
    ("lat", ["pipe", "20"]),
    ("minish", []),
    ("spawn", []),
    ("shmem", []),
    ("filemap", []),
    ("remap", []),
    ("sigtest", []),
    ("procgrp", []),
    ("coldstart", []),
    ("randsweep", ["256", "5000"]),
    ("threads", []),
]
SYSTEMS = ["linux", "hm-phone", "sel4"]
FORK = ("lat", ["fork", "6"])
OTHERS = [(*FORK, {}, system) for system in ("hm-ic0", "hm-vehicle", "fiasco", "linux-rpi")]
OTHERS += [
    (*FORK, {"paging": "user"}, "hm-phone"),
    (*FORK, {"capabilities_only": True}, "hm-phone"),
    ("lat", ["fault-write", "100"], {"capabilities_only": True}, "hm-phone"),
]


def runs():
    for name, args in PROGRAMS:
        for system in SYSTEMS:
            yield name, args, {}, system
    yield from OTHERS


def one(name, args, options, system, impl, cores=None) -> dict:
    out = io.BytesIO()
    options = {"cores": cores, **options}
    if any(k in options for k in ("sample", "fast_forward", "trace")):
        options.pop("cores")  # (modes of one core)
    result = run_program(
        str(path(name)), args, system=system, impl=impl, stacks=True, out=out,
        err=io.BytesIO(), warnings=None, **options,
    )  # fmt: skip
    return {
        "out": out.getvalue().decode(errors="replace"),
        "status": result.exit_status,
        "fault": result.fault,
        "stats": result.stats,
        "stacks": {";".join(stack): cycles for stack, cycles in result.stacks.items()},
    }


def snapshot(impl: str, cores=None) -> dict:
    return {
        f"{name} {' '.join(args)} {system} {sorted(options.items())}": one(
            name, args, options, system, impl, cores
        )
        for name, args, options, system in runs()
    }


def differences(want: dict, got: dict) -> list[str]:
    lines = []
    for key in want.keys() | got.keys():
        a, b = want.get(key, {}), got.get(key, {})
        for part in a.keys() | b.keys():
            x, y = a.get(part), b.get(part)
            if x == y:
                continue
            if isinstance(x, dict) and isinstance(y, dict):
                moved = sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
                lines += [f"{key}: {part} {k}: {x.get(k)} -> {y.get(k)}" for k in moved[:10]]
            else:
                lines.append(f"{key}: {part}: {x!r} -> {y!r}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["save", "check"])
    ap.add_argument("file")
    ap.add_argument("--impl", default="cython", choices=["cython", "python"])
    ap.add_argument("--cores", help="N or CLUSTER:N,... (default: the whole SoC, as hmk runs)")
    a = ap.parse_args(argv)
    start = time.monotonic()
    got = json.loads(json.dumps(snapshot(a.impl, a.cores), sort_keys=True))  # as it reads back
    print(f"{len(got)} runs in {time.monotonic() - start:.0f} s")
    if a.mode == "save":
        Path(a.file).write_text(json.dumps(got, sort_keys=True))
        return 0
    lines = differences(json.loads(Path(a.file).read_text()), got)
    print("\n".join(lines) if lines else "identical")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())

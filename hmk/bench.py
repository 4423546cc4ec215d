"""`hmk bench`: an lmbench-style suite of operating-system operations on the whole model.

Each operation is a bundled AArch64 program looping N times: `lat OP N` (workloads/src/lat.c,
a Linux program) or, for the raw core-kernel IPC, `hmbench ipc-domain N` (workloads/hm). Its
cost is per_operation's: (cycles at N long - cycles at N short) / the difference,
timer ticks off, from a temporary root file system. A run that fails, or does not finish within
an instruction budget (a guest that hangs), is reported in its cell, not raised.

This module is imported by every `hmk` command line (for its parser): it imports the model
only when the suite runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass

from hmk.errors import InternalError

N_SHORT, N_LONG = 200, 1200  # per_operation's default loop lengths
DEFAULT_SYSTEMS = ("linux", "sel4", "hm-phone")
DEFAULT_PROFILES = ("kirin9000",)
HW = "L4Re and seL4 performance pages"
PAPER = "HM paper, OSDI 2024"
FIG8 = "HM paper, OSDI 2024, Fig. 8 (secondary transcription)"


@dataclass(frozen=True)
class Published:
    text: str
    source: str
    profile: str | None = None  # the profile of the hardware measured on; None: shown always


@dataclass(frozen=True)
class Op:
    name: str
    what: str
    terms: tuple  # (program, its operation, weight): the cost is the weighted sum per iteration
    n: tuple[int, int]  # (N short, N long): a multiple of 16 apart for faults (pool refills)
    published: tuple[Published, ...] = ()


def _lat(op: str) -> tuple:
    return (("lat", op, 1.0),)


OPS = (
    Op(
        "null",
        "null syscall (getppid)",
        _lat("null"),
        (20, 100),
        (Published("L4Re syscall 138 cyc (A76), 230 cyc (A53)", "L4Re performance page"),),
    ),
    Op("getpid", "getpid", _lat("getpid"), (20, 100)),
    Op("read", "read 1 byte of /dev/null", _lat("read"), (20, 100)),
    Op("write", "write 1 byte to /dev/null", _lat("write"), (20, 100)),
    Op("open", "open + close /etc/passwd", _lat("open"), (20, 100)),
    Op("stat", "stat /etc/passwd", _lat("stat"), (20, 100)),
    Op("pipe", "pipe round trip, 2 processes", _lat("pipe"), (10, 50)),
    Op(
        "ctx",
        "context switch, 2 processes (lat_ctx)",
        (("lat", "pipe", 0.5), ("lat", "pipe-self", -1.0)),
        (10, 50),
        (Published("HM 32% faster than Linux", PAPER),),
    ),
    Op(
        "fault-read",
        "minor anonymous fault, read",
        _lat("fault-read"),
        (16, 80),
        (
            Published("HM 456 ns, Linux 551 ns", FIG8, "kirin9000"),
            Published("HM 244 ns, Linux 395 ns, Fiasco.OC 1469 ns", FIG8, "rpi4"),
        ),
    ),
    Op(
        "fault-write",
        "minor anonymous fault, write",
        _lat("fault-write"),
        (16, 80),
        (
            Published("HM 1816 ns, Linux 1921 ns", FIG8, "kirin9000"),
            Published("HM 772 ns, Linux 656 ns", FIG8, "rpi4"),
        ),
    ),
    Op("mmap", "mmap + munmap 64 KiB, untouched", _lat("mmap"), (20, 100)),
    Op(
        "fork",
        "fork + exit + wait",
        _lat("fork"),
        (4, 12),
        (Published("HM slower than Linux (VMA copying)", PAPER),),
    ),
    Op("exec", "fork + execve /bin/exitcode + wait", _lat("exec"), (2, 6)),
    Op(
        "thread",
        "thread create + join",
        _lat("thread"),
        (10, 30),
        (Published("HM ~2x slower than Linux (clone)", PAPER),),
    ),
    Op(
        "ipc",
        "core-kernel IPC call + reply, across address spaces",
        (("hmbench", "ipc-domain", 1.0),),
        (20, 100),
        (Published("L4Re 768 cyc (2 x 384, A76); seL4 812 cyc (404 + 408, A57)", HW),),
    ),
)
BY_NAME = {op.name: op for op in OPS}
# instructions a run may take: start-up and exit, plus a generous bound per iteration (a fork +
# execve child's whole glibc start-up is ~20k); a guest that hangs stops there
RUN_BUDGET, ITERATION_BUDGET = 2_000_000, 200_000


@dataclass
class Result:
    op: str
    system: str
    profile: str
    cycles: float | None  # per operation; None when a run failed
    ghz: float
    error: str | None = None

    @property
    def ns(self) -> float | None:
        return None if self.cycles is None else round(self.cycles) / self.ghz


class BenchError(ValueError):
    """A bad choice of operations, systems or profiles (one line for `hmk: error:`)."""


def _choose(value: str | None, known, what: str, default) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()] if value else list(default)
    bad = [n for n in names if known is not None and n not in known]
    if bad or not names:
        choices = ", ".join(known) if known is not None else ""
        raise BenchError(f"unknown {what} {', '.join(bad) or '(none)'}; choose from: {choices}")
    return names


NOT_HM = "n/a: HM's core-kernel calls do not exist on a linux kernel"


@dataclass(frozen=True)
class Cell:
    """One per_operation measurement (two runs of `program op N`): the unit a pool runs."""

    program: str
    op: str
    n: tuple[int, int]
    system: str
    profile: str
    cluster: str | int | None = None
    paging: str | None = None  # None: the system's own (sel4: a user-level pager)
    max_instructions: int | None = None


def cost(cell: Cell) -> tuple:
    """(cycles per iteration, core GHz) of `cell`, or (None, why it failed in one line)."""
    try:
        return per_operation(
            cell.op,
            cell.profile,
            cell.paging,
            cell.n,
            cell.system,
            program=cell.program,
            cluster=cell.cluster,
            max_instructions=cell.max_instructions,
        )
    except InternalError:
        raise  # hmk's own bug stops the suite loudly
    except Exception as e:  # noqa: BLE001  (a failed op is a cell, not a traceback)
        return None, str(e).splitlines()[0] if str(e) else type(e).__name__


def cells_of(op: Op, system: str, profile: str, cluster=None) -> list[Cell]:
    """The measurements `op` needs under `system` on `profile` (none where it cannot run)."""
    from hmk.system import load_system  # noqa: PLC0415

    if any(p == "hmbench" for p, _, _ in op.terms) and load_system(system).kernel != "hm":
        return []
    budget = RUN_BUDGET + ITERATION_BUDGET * op.n[1]
    return [
        Cell(program, arg, op.n, system, profile, cluster, max_instructions=budget)
        for program, arg, _ in op.terms
    ]


def measure(op: Op, system: str, profile: str, cluster=None, cache=None) -> Result:
    """One operation's cost per iteration under `system` on `profile`'s `cluster`; `cache`:
    {Cell: cost(cell)}, measured cells (filled with those measured here)."""
    cache = {} if cache is None else cache
    cells = cells_of(op, system, profile, cluster)
    if not cells:
        return Result(op.name, system, profile, None, 0.0, NOT_HM)
    total, ghz = 0.0, 0.0
    for cell, (_, _, weight) in zip(cells, op.terms, strict=True):
        if cell not in cache:
            cache[cell] = cost(cell)
        cycles, ghz_or_error = cache[cell]
        if cycles is None:
            return Result(op.name, system, profile, None, 0.0, ghz_or_error)
        total, ghz = total + weight * cycles, ghz_or_error
    return Result(op.name, system, profile, total, ghz)


def suite_cells(ops, systems, profiles, cluster=None) -> list[Cell]:
    """Every distinct measurement of the suite, in a fixed order."""
    cells = (
        cells_of(op, system, profile, cluster)
        for profile in profiles
        for op in ops
        for system in systems
    )
    return list(dict.fromkeys(c for group in cells for c in group))


def run_suite(ops, systems, profiles, cluster=None, progress=None, jobs=1, measured=None):
    """The suite's results; its runs on `jobs` processes (hmk.parallel), a progress line per
    measurement on `progress`. `measured`: {Cell: cost} already known (not run again)."""
    from hmk.parallel import pool_map  # noqa: PLC0415

    cache = dict(measured or {})
    todo = [c for c in suite_cells(ops, systems, profiles, cluster) if c not in cache]
    cache.update(zip(todo, pool_map(cost, todo, jobs, progress, "hmk bench"), strict=True))
    return [
        measure(op, system, profile, cluster, cache)
        for profile in profiles
        for op in ops
        for system in systems
    ]


def _cell(r: Result) -> str:
    if r.error == NOT_HM:
        return "n/a"
    return "failed (below)" if r.cycles is None else f"{r.ns:.0f} ns / {round(r.cycles)} cyc"


def published_for(op: Op, profile: str) -> str:
    shown = [p for p in op.published if p.profile in (None, profile)]
    return "; ".join(f"{p.text} ({p.source})" for p in shown) or "-"


def render_tables(results: list[Result], cluster=None) -> str:
    """One Markdown table per profile: operations down, systems across, published beside."""
    from hmk.hw.profile import load_soc  # noqa: PLC0415

    out = []
    for profile in dict.fromkeys(r.profile for r in results):
        soc = load_soc(profile)
        which = soc.clusters[0] if cluster is None else soc.cluster(cluster)
        rows = [r for r in results if r.profile == profile]
        systems = list(dict.fromkeys(r.system for r in rows))
        out += [
            f"### {profile} ({which.core.name} @ {which.ghz:g} GHz): ns / cycles per operation",
            "",
            "| operation | " + " | ".join(systems) + " | published |",
            "| --- | " + " | ".join("---:" for _ in systems) + " | --- |",
        ]
        failed, na = [], False
        for name in dict.fromkeys(r.op for r in rows):
            op = BY_NAME[name]
            cells = {r.system: r for r in rows if r.op == name}
            failed += [cells[s] for s in systems if cells[s].cycles is None]
            na = na or any(cells[s].error == NOT_HM for s in systems)
            line = " | ".join(_cell(cells[s]) for s in systems)
            out.append(f"| {op.what} | {line} | {published_for(op, profile)} |")
        out.append("")
        failed = [r for r in failed if r.error != NOT_HM]
        if failed:
            out += [f"- failed: {r.op} on {r.system}: {r.error}" for r in failed] + [""]
        if na:
            out += [f"- {NOT_HM}", ""]
    return "\n".join(out)


_ROW = re.compile(r"^\| (?P<what>[^|]+) \| (?P<cells>.+) \| [^|]+ \|$")
_HEAD = re.compile(r"^### (?P<profile>\S+) \(\S+ @ (?P<ghz>[\d.]+) GHz\)")
_FAILED = re.compile(r"^- failed: (?P<op>\S+) on (?P<system>\S+): (?P<error>.*)$")


def parse_tables(text: str) -> list[Result]:
    """The results in render_tables' Markdown (cycles as printed): a page's committed tables."""
    by_what = {op.what: op.name for op in OPS}
    results, profile, ghz, systems = [], None, 0.0, []
    for line in text.splitlines():
        if m := _HEAD.match(line):
            profile, ghz = m["profile"], float(m["ghz"])
        elif line.startswith("| operation | "):
            systems = line.split(" | ")[1:-1]
        elif (m := _ROW.match(line)) and m["what"] in by_what and profile:
            for system, cell in zip(systems, m["cells"].split(" | "), strict=True):
                cycles = None if cell.startswith(("failed", "n/a")) else float(cell.split()[-2])
                error = NOT_HM if cell == "n/a" else None
                results.append(Result(by_what[m["what"]], system, profile, cycles, ghz, error))
        elif m := _FAILED.match(line):
            for r in results:
                if (r.op, r.system, r.profile) == (m["op"], m["system"], profile):
                    r.error = m["error"]
    return results


def add_parser(commands) -> None:
    from hmk.parallel import add_jobs_option  # noqa: PLC0415

    bench = commands.add_parser(
        "bench",
        help="an lmbench-style suite on the model, beside published numbers",
        description="Run lmbench-style operations (bundled AArch64 programs) under each "
        "system on each profile; print ns and cycles per operation. Operations: "
        + ", ".join(op.name for op in OPS),
    )
    bench.set_defaults(func=cmd_bench)
    bench.add_argument(
        "--systems", metavar="A,B", help=f"compositions (default: {','.join(DEFAULT_SYSTEMS)})"
    )
    bench.add_argument(
        "--profiles", metavar="A,B", help=f"SoC profiles (default: {','.join(DEFAULT_PROFILES)})"
    )
    bench.add_argument("--ops", metavar="A,B", help="operations (default: all)")
    bench.add_argument("--core", metavar="CLUSTER", help="cluster name or index (default: first)")
    bench.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    add_jobs_option(bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from hmk.hw.profile import ProfileError, load_soc  # noqa: PLC0415
    from hmk.outputs import OutputError, check, written  # noqa: PLC0415
    from hmk.parallel import parse_jobs, terminal_progress  # noqa: PLC0415
    from hmk.system import SystemFileError, load_system  # noqa: PLC0415

    cluster = args.core
    try:
        ops = [BY_NAME[n] for n in _choose(args.ops, list(BY_NAME), "operation", BY_NAME)]
        systems = _choose(args.systems, None, "system", DEFAULT_SYSTEMS)
        profiles = _choose(args.profiles, None, "profile", DEFAULT_PROFILES)
        for system in systems:
            load_system(system)
        for profile in profiles:
            soc = load_soc(profile)
            if cluster is not None:
                soc.cluster(cluster)
        if args.json is not None:
            check(args.json, "--json")
        jobs = parse_jobs(args.jobs)
    except (BenchError, ProfileError, SystemFileError, OutputError, ValueError) as e:
        message = str(e).splitlines()[0]
        print(f"hmk: error: {message}", file=sys.stderr)
        return 2
    results = run_suite(ops, systems, profiles, cluster, terminal_progress(), jobs)
    print(render_tables(results, cluster), end="")
    if args.json is not None:
        with written(args.json, "--json") as path, open(path, "w", encoding="utf-8") as f:
            json.dump([{**asdict(r), "ns": r.ns} for r in results], f, indent=1)
    return 0


def per_operation(
    op: str,
    profile: str,
    paging: str | None = "kernel",
    n=(N_SHORT, N_LONG),
    system: str = "hm-phone",
    *,
    program: str = "hmbench",
    cluster: str | int | None = None,
    max_instructions: int | None = None,
    kernel_ipc: float | None = None,
):
    """(cycles, core GHz) of one `program op` iteration on `cluster` (default: the first) of
    `profile`, under the composition `system` (`paging` None: the system's choice). `program`:
    the HM-native hmbench or a bundled Linux program (`lat`, with /bin/exitcode beside it for
    its exec). RuntimeError when a run fails or reaches `max_instructions` (a guest that hangs).
    `kernel_ipc`: the kernels' speed (default: the fitted one, hmk/calibration/fitted.toml)."""
    from hmk.system import run_program  # noqa: PLC0415

    runs = []
    with guest_root(program) as root:
        for count in n:
            out, err = io.BytesIO(), io.BytesIO()
            result = run_program(
                f"/bin/{program}",
                [op, str(count)],
                profile=profile,
                cluster=cluster,
                system=system,
                paging=paging,
                rootfs=root,
                out=out,
                err=err,
                warnings=None,
                tick_us=1e9,  # no timer interrupts inside the measurement
                cores=1,  # one core, as the budgets were fitted (docs/smp.md)
                max_instructions=max_instructions,
                kernel_ipc=kernel_ipc,
            )
            if result.exit_status != 0:
                said = (err.getvalue() or out.getvalue()).decode(errors="replace").strip()
                why = result.fault or (said.splitlines() or [""])[-1]
                stop = f"{program} {op} {count}: exit status {result.exit_status}"
                raise RuntimeError(f"{stop}: {why}" if why else stop)
            runs.append(result)
    return (runs[1].cycles - runs[0].cycles) / (n[1] - n[0]), runs[0].ghz


@contextlib.contextmanager
def guest_root(program: str):
    """A temporary root file system with the program as /bin/NAME. glibc reads /proc/self/exe
    as it starts, so a run from the host path would make the figures depend on where hmk is
    installed."""
    from hmk.workloads import hm_path, path  # noqa: PLC0415

    bins = [hm_path(program)] if program == "hmbench" else [path(program), path("exitcode")]
    with tempfile.TemporaryDirectory(prefix="hmk-bench-") as root:
        os.mkdir(os.path.join(root, "bin"))
        for exe in bins:
            shutil.copy(exe, os.path.join(root, "bin", exe.name))
        yield root

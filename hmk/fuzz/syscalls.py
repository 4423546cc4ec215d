"""`hmk fuzz syscalls`: the guest-syscall fuzzer under every composition, failures reported.

Each run is `sysfuzz SEED CALLS` (quiet) under one composition, in a worker process of its own
(`python -m hmk.fuzz.syscalls --one SYSTEM SEED CALLS`, which prints its Outcome as JSON), so
that a run that wedges the simulator can be ended from outside. A run fails when:

- an exception escapes run_program (an `hmk.errors.InternalError`, or any other): hmk's bug;
- its fault says a kernel path or a handler "raised" (how a host exception inside the
  simulation ended a run before such runs became InternalErrors);
- the fuzzer does not end as it always does on Linux (exit status 0 and its summary line):
  a guest killed, or the fuzzer's own complaint;
- it hangs: a run limit ends it (no end within CYCLES_PER_CALL simulated cycles or
  INSTRUCTIONS_PER_CALL instructions a call), or the simulation makes no progress (no syscall
  for STALL_SECONDS of wall time: the fuzzer's 10 ms watchdog makes one at least every 10 ms
  of simulated time, so none means simulated time stopped), or the worker exceeds its wall
  time.

A failure is reported with its composition, seed and call count, the command that replays it
with one line per call (`hmk run ... sysfuzz SEED CALLS verbose`), and the last calls the
run made (--strace's lines, kept in a ring).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field

from hmk.fuzz import fuzzer

DEFAULT_CALLS = 2000  # fuzz calls per run
DEFAULT_SEEDS = "1-2"
LONG_TOTAL = 1_000_000  # --long: at least this many fuzz calls, spread over the compositions
LONG_CALLS = 10_000  # --long: calls per run
TAIL = 25  # the last calls a report shows
STALL_SECONDS = 60.0  # no syscall for this long (wall time): the simulation is stuck
# run limits: generous (a run of the fuzzer takes ~125 k cycles and ~2.5 k instructions a call
# on `linux`, up to ~4x that on the HM compositions, plus 10 ms of simulated idle time for a
# call that blocks until the watchdog interrupts it), so only a runaway run meets them
CYCLES_PER_CALL = 20_000_000
INSTRUCTIONS_PER_CALL = 1_000_000
BASE_LIMIT = 1_000_000_000
WALL_BASE, WALL_PER_CALL = 120.0, 0.05  # seconds: the worker's own limit

OK, INTERNAL, RAISED, DIED, LIMIT, HANG = (
    "ok",
    "internal error",
    "handler raised",
    "fuzzer died",
    "run limit",
    "hang",
)


@dataclass
class Outcome:
    system: str
    seed: int
    calls: int
    verdict: str
    detail: str = ""
    exit_status: int | None = None
    syscalls: int = 0  # every syscall the run made (the fuzzer's children and set-up included)
    cycles: int = 0
    seconds: float = 0.0  # wall time
    last: list[str] = field(default_factory=list)  # the last calls, as --strace shows them

    @property
    def failed(self) -> bool:
        return self.verdict != OK

    def replay(self) -> str:
        return (
            f"hmk run --system {self.system} --max-cycles {cycle_limit(self.calls)} "
            f"{os.path.relpath(fuzzer())} {self.seed} {self.calls} verbose"
        )


def cycle_limit(calls: int) -> int:
    return BASE_LIMIT + CYCLES_PER_CALL * calls


class Tail(io.TextIOBase):
    """A text stream that keeps its last `n` lines, and the time of its last write."""

    def __init__(self, n: int):
        self.lines: collections.deque[str] = collections.deque(maxlen=n)
        self.partial = ""
        self.written_at = time.monotonic()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written_at = time.monotonic()
        *done, self.partial = (self.partial + text).split("\n")
        self.lines.extend(done)
        return len(text)

    def snapshot(self) -> list[str]:
        return list(self.lines) + ([self.partial] if self.partial else [])


def run_one(
    system: str, seed: int, calls: int, *, tail: int = TAIL, on_stall=None, stall=STALL_SECONDS
) -> Outcome:
    """One run of the fuzzer, in this process. `on_stall(outcome)` is called (from another
    thread) when the run makes no syscall for `stall` seconds; it must end the process (the
    simulation is stuck and cannot be interrupted)."""
    from hmk.system import run_program  # noqa: PLC0415  (the model loads only here)

    last, out, started = Tail(tail), io.BytesIO(), time.monotonic()
    outcome = Outcome(system, seed, calls, OK)
    done = threading.Event()

    def watch():
        while not done.wait(1.0):
            if time.monotonic() - last.written_at > stall:
                outcome.verdict = HANG
                outcome.detail = f"no syscall for {stall:.0f} s: the simulation is stuck"
                outcome.last = last.snapshot()
                outcome.seconds = time.monotonic() - started
                on_stall(outcome)
                return

    if on_stall is not None:
        threading.Thread(target=watch, daemon=True).start()
    try:
        result = run_program(
            fuzzer(),
            [str(seed), str(calls), "quiet"],
            system=system,
            stdin=b"",
            out=out,
            err=io.BytesIO(),
            strace=last,
            warnings=None,
            max_cycles=cycle_limit(calls),
            max_instructions=BASE_LIMIT + INSTRUCTIONS_PER_CALL * calls,
            check_invariants=True,  # the bookkeeping after every reaped child (untimed)
        )
    except Exception as e:  # noqa: BLE001  (any escaping exception is hmk's failure)
        outcome.verdict = INTERNAL
        outcome.detail = "".join(traceback.format_exception(e)).rstrip()
        outcome.last = last.snapshot()
        outcome.seconds = time.monotonic() - started
        return outcome
    finally:
        done.set()
    outcome.exit_status = result.exit_status
    outcome.syscalls, outcome.cycles = result.syscalls, result.cycles
    outcome.seconds = time.monotonic() - started
    outcome.last = last.snapshot()
    said = out.getvalue().decode(errors="replace")
    if result.fault and "raised" in result.fault:
        outcome.verdict, outcome.detail = RAISED, result.fault
    elif result.exit_status == 124:
        outcome.verdict, outcome.detail = LIMIT, result.fault or "run limit"
    elif result.exit_status != 0 or f"seed={seed} calls={calls} mode=quiet done" not in said:
        outcome.verdict = DIED
        outcome.detail = f"exit status {result.exit_status}" + (
            f": {result.fault}" if result.fault else ""
        )
    return outcome


# ---- workers ---------------------------------------------------------------------------------
def _worker(system: str, seed: int, calls: int) -> int:
    def stalled(outcome):
        print(json.dumps(asdict(outcome)), flush=True)
        os._exit(0)

    print(json.dumps(asdict(run_one(system, seed, calls, on_stall=stalled))), flush=True)
    return 0


def _start(system: str, seed: int, calls: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "hmk.fuzz.syscalls", "--one", system, str(seed), str(calls)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _collect(proc: subprocess.Popen, system: str, seed: int, calls: int, seconds: float):
    out, err = proc.communicate()
    if proc.returncode == 0 and out.strip():
        data = json.loads(out.strip().splitlines()[-1])
        return Outcome(**data)
    return Outcome(
        system,
        seed,
        calls,
        INTERNAL,
        f"the worker ended with status {proc.returncode}: {err.strip()[-2000:]}",
        seconds=seconds,
    )


def fuzz(systems, seeds, calls: int, *, jobs: int = 1, wall=None, report=None) -> list[Outcome]:
    """Run the fuzzer `calls` calls for every seed under every system, `jobs` worker processes
    at a time; `report(outcome)` is called as each run ends."""
    wall = WALL_BASE + WALL_PER_CALL * calls if wall is None else wall
    todo = collections.deque((system, seed) for seed in seeds for system in systems)
    running: dict = {}  # Popen -> (system, seed, start time)
    outcomes = []
    while todo or running:
        while todo and len(running) < jobs:
            system, seed = todo.popleft()
            running[_start(system, seed, calls)] = (system, seed, time.monotonic())
        time.sleep(0.2)
        for proc, (system, seed, began) in list(running.items()):
            spent = time.monotonic() - began
            if proc.poll() is None and spent <= wall:
                continue
            if proc.poll() is None:  # past its wall time: end it (the worker is ours)
                proc.kill()
                proc.communicate()
                outcome = Outcome(
                    system,
                    seed,
                    calls,
                    HANG,
                    f"no end within {wall:.0f} s of wall time",
                    seconds=spent,
                )
            else:
                outcome = _collect(proc, system, seed, calls, spent)
            del running[proc]
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
    return outcomes


def parse_seeds(text: str) -> list[int]:
    """'3' (one seed), '1-8' (a range), '1,5,9' or a mix: the seeds."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a seed or range of seeds: {part!r}") from None
        if low < 0 or high < low:
            raise argparse.ArgumentTypeError(f"not a seed or range of seeds: {part!r}")
        seeds.extend(range(low, high + 1))
    return seeds


def describe(outcome: Outcome) -> str:
    """A failure's report: what, where, how to replay it, the last calls."""
    lines = [
        f"FAIL {outcome.system} seed {outcome.seed} ({outcome.calls} calls): {outcome.verdict}",
        *("  " + line for line in outcome.detail.splitlines()[-12:]),
        f"  replay: {outcome.replay()}",
        f"  last calls ({len(outcome.last)}):",
        *("    " + line for line in outcome.last),
    ]
    return "\n".join(lines)


def summary(outcomes: list[Outcome], systems) -> str:
    lines = [
        f"{'system':<11} {'runs':>5} {'calls':>10} {'syscalls':>10} {'failed':>6} {'wall s':>8}"
    ]
    for system in systems:
        mine = [o for o in outcomes if o.system == system]
        lines.append(
            f"{system:<11} {len(mine):>5} {sum(o.calls for o in mine):>10,} "
            f"{sum(o.syscalls for o in mine):>10,} {sum(o.failed for o in mine):>6} "
            f"{sum(o.seconds for o in mine):>8.0f}"
        )
    calls = sum(o.calls for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    lines.append(f"{len(outcomes)} runs, {calls:,} fuzz calls, {failed} failed")
    return "\n".join(lines)


# ---- the command line --------------------------------------------------------------------
def add_parser(commands) -> None:
    fuzz_cmd = commands.add_parser(
        "fuzz",
        help="fuzz the model: random guest syscalls under every composition",
        description="Fuzz hmk with the bundled guest fuzzer (docs/validation.md).",
    )
    kinds = fuzz_cmd.add_subparsers(dest="kind", metavar="KIND", required=True)
    calls = kinds.add_parser(
        "syscalls",
        help="seeded random syscalls under every composition; fail on any internal error, "
        "host exception, dead fuzzer or hang",
        description="Run the guest-syscall fuzzer (hmk/workloads/bin/fuzz/sysfuzz) for every "
        "seed under every composition, each run in a worker process with run limits. Exit "
        "status 1 and a report (composition, seed, the command that replays the run, its last "
        "calls) for each run that failed.",
    )
    calls.set_defaults(func=cmd_fuzz_syscalls)
    calls.add_argument(
        "--systems", metavar="A,B", help="compositions (default: every preset, `hmk systems`)"
    )
    calls.add_argument(
        "--seeds",
        type=parse_seeds,
        metavar="S",
        help=f"seeds: N, A-B, or a list (default: {DEFAULT_SEEDS})",
    )
    calls.add_argument(
        "--calls", type=int, metavar="N", help=f"fuzz calls per run (default {DEFAULT_CALLS})"
    )
    calls.add_argument(
        "--long",
        action="store_true",
        help=f"at least {LONG_TOTAL:,} calls in all: runs of {LONG_CALLS:,} calls, as many "
        "seeds as that takes (from --seeds' first, default 1)",
    )
    calls.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="worker processes at a time (default 1)"
    )
    calls.add_argument(
        "--wall", type=float, metavar="S", help="a run's wall-time limit (default: by its calls)"
    )
    calls.add_argument("--json", metavar="FILE", help="also write every run's outcome as JSON")


def cmd_fuzz_syscalls(args: argparse.Namespace) -> int:
    from hmk.system import list_systems, load_system  # noqa: PLC0415

    systems = args.systems.split(",") if args.systems else list_systems()
    for system in systems:
        load_system(system)  # an unknown one is a usage error before anything runs
    seeds = args.seeds or parse_seeds(DEFAULT_SEEDS)
    calls = args.calls or (LONG_CALLS if args.long else DEFAULT_CALLS)
    if args.long:
        runs = -(-LONG_TOTAL // (calls * len(systems)))
        seeds = list(range(seeds[0], seeds[0] + runs))

    def report(outcome):
        mark = "ok  " if not outcome.failed else "FAIL"
        print(
            f"{mark} {outcome.system:<11} seed {outcome.seed:<5} {outcome.calls} calls, "
            f"{outcome.syscalls} syscalls, {outcome.seconds:.0f} s"
            + (f": {outcome.verdict}" if outcome.failed else ""),
            flush=True,
        )

    outcomes = fuzz(systems, seeds, calls, jobs=max(1, args.jobs), wall=args.wall, report=report)
    failures = [o for o in outcomes if o.failed]
    for outcome in failures:
        print("\n" + describe(outcome))
    print("\n" + summary(outcomes, systems))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([asdict(o) for o in outcomes], f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"] and len(sys.argv) == 5:
        sys.exit(_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    print("usage: python -m hmk.fuzz.syscalls --one SYSTEM SEED CALLS", file=sys.stderr)
    sys.exit(2)

"""Start-up: short hmk commands beside importing hmk's dependencies, in one run, interleaved.

    python -m pytest benchmarks/test_startup_bench.py --benchmark-only -s
    python benchmarks/test_startup_bench.py [--baseline DIR]   # the table, without pytest

Each round runs every command once as a fresh process (`python -m hmk ...`, output discarded),
in an order rotated from round to round, so that the machine's load falls on all of them alike;
the table gives each command's median and best round, and its median over the dependencies'
(numpy, unicorn, capstone and pyelftools imported by a bare interpreter). hmk's bytecode is
cached (PYTHONPYCACHEPREFIX, as an installed hmk writes its __pycache__ on its first run) and
its block classifications are cached in a private HMK_CACHE_DIR, warmed by one untimed run;
"no cache" empties that directory before each of its runs (a program's first run).
`--baseline DIR` adds the hmk commands run from another checkout (its extensions built), in
the same rounds: before and after a change, side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO = "hmk/workloads/bin/hello"  # from the checkout's root
ROUNDS = 9
REFERENCE = "dependencies"
COMMANDS = {  # name -> (interpreter arguments, whether its block cache is emptied first)
    REFERENCE: (["-c", "import numpy, unicorn, capstone, elftools.elf.elffile"], False),
    "hmk --version": (["-m", "hmk", "--version"], False),
    "hmk systems": (["-m", "hmk", "systems"], False),
    "hmk run hello": (["-m", "hmk", "run", HELLO], False),
    "hmk run hello, no cache": (["-m", "hmk", "run", HELLO], True),
    "hmk run (the demo)": (["-m", "hmk", "run"], False),
}


class Startup:
    """Runs the commands round by round and keeps every command's wall times."""

    def __init__(self, scratch: Path, baseline: Path | None = None):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc")
        self.commands = {}  # name -> (arguments, the directory it runs in, its environment)
        self.cold = set()  # the commands whose block cache is emptied before each run
        for root, label in ((ROOT, ""), (baseline, " [baseline]")):
            if root is None:
                continue
            for name, (args, cold) in COMMANDS.items():
                if root is baseline and (name == REFERENCE or cold):
                    continue
                cache = scratch / f"cache{label.strip(' []')}" / ("cold" if cold else "warm")
                self.commands[name + label] = (args, root, {**env, "HMK_CACHE_DIR": str(cache)})
                if cold:
                    self.cold.add(name + label)
        self.times: dict[str, list[float]] = {name: [] for name in self.commands}
        self.rounds = 0
        for name in self.commands:  # bytecode compiled, the warm block cache filled: not timed
            self._run(name)

    def _run(self, name: str) -> float:
        args, root, env = self.commands[name]
        if name in self.cold:
            shutil.rmtree(env["HMK_CACHE_DIR"], ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - start

    def round(self) -> None:
        names = list(self.commands)
        shift = self.rounds % len(names)
        for name in names[shift:] + names[:shift]:
            self.times[name].append(self._run(name))
        self.rounds += 1

    def table(self) -> list[str]:
        reference = statistics.median(self.times[REFERENCE])
        lines = [f"{'command':<37}{'median':>9}{'best':>9}{'/ deps':>8}   ({self.rounds} rounds)"]
        for name, times in self.times.items():
            median = statistics.median(times)
            lines.append(
                f"{name:<37}{median * 1e3:>6.0f} ms{min(times) * 1e3:>6.0f} ms"
                f"{median / reference:>7.2f}x"
            )
        return lines


def test_startup(benchmark, startup_log, tmp_path):
    """One benchmark round: every command once (the rounds' own times are their sum); the
    table is printed at the end of the session (benchmarks/conftest.py)."""
    startup = Startup(tmp_path)
    benchmark.pedantic(startup.round, rounds=ROUNDS, iterations=1)
    assert startup.rounds == ROUNDS
    startup_log[:] = startup.table()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout of hmk, built")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        startup = Startup(Path(scratch), options.baseline)
        for _ in range(options.rounds):
            startup.round()
        print("\n".join(startup.table()))

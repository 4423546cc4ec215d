"""Start-up: short hmk commands beside importing hmk's dependencies, in one run, interleaved.

    python -m pytest benchmarks/test_startup_bench.py --benchmark-only -s
    python benchmarks/test_startup_bench.py          # the same table, without pytest

Each round runs every command once as a fresh process (`python -m hmk ...`, output discarded),
in an order rotated from round to round, so that the machine's load falls on all of them alike;
the table gives each command's median and best round, and its median over the dependencies'
(numpy, unicorn, capstone and pyelftools imported by a bare interpreter). hmk's bytecode is
cached (PYTHONPYCACHEPREFIX, as an installed hmk writes its __pycache__ on its first run) and
its block classifications are cached in a private HMK_CACHE_DIR, warmed by one untimed run;
"no cache" empties that directory before each of its runs (a program's first run).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELLO = str(ROOT / "hmk" / "workloads" / "bin" / "hello")
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
    """Runs COMMANDS round by round and keeps every command's wall times."""

    def __init__(self, scratch: Path):
        self.times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        self.rounds = 0
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pyc")
        self.envs = {}
        for name, (_, cold) in COMMANDS.items():
            self.envs[name] = {**env, "HMK_CACHE_DIR": str(scratch / ("cold" if cold else "warm"))}
        for name in COMMANDS:  # bytecode compiled, the warm block cache filled: not timed
            self._run(name)

    def _run(self, name: str) -> float:
        args, cold = COMMANDS[name]
        if cold:
            shutil.rmtree(self.envs[name]["HMK_CACHE_DIR"], ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.envs[name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - start

    def round(self) -> None:
        names = list(COMMANDS)
        shift = self.rounds % len(names)
        for name in names[shift:] + names[:shift]:
            self.times[name].append(self._run(name))
        self.rounds += 1

    def table(self) -> list[str]:
        reference = statistics.median(self.times[REFERENCE])
        lines = [f"{'command':<26}{'median':>9}{'best':>9}{'/ deps':>8}   ({self.rounds} rounds)"]
        for name, times in self.times.items():
            median = statistics.median(times)
            lines.append(
                f"{name:<26}{median * 1e3:>6.0f} ms{min(times) * 1e3:>6.0f} ms"
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
    with tempfile.TemporaryDirectory() as scratch:
        startup = Startup(Path(scratch))
        for _ in range(ROUNDS):
            startup.round()
        print("\n".join(startup.table()))

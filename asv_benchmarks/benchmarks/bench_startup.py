"""asv benchmarks of start-up: short commands as fresh processes (docs/performance.md,
"Start-up").

Startup.time_command: the wall time of `python -m hmk ...` (a run of the bundled hello from
its cached block classifications; --version; systems) and, for reference, of importing hmk's
dependencies (numpy, unicorn, capstone, pyelftools) in a bare interpreter.
Startup.track_ratio: `hmk run hello` over the dependencies' import, both run in turn, medians
of 7: the figure the start-up goal is set in (at most 2).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hmk

ROOT = Path(hmk.__file__).resolve().parents[1]  # the hmk benchmarked, for the subprocesses too
HELLO = str(ROOT / "hmk" / "workloads" / "bin" / "hello")
COMMANDS = {
    "dependencies": ["-c", "import numpy, unicorn, capstone, elftools.elf.elffile"],
    "hmk --version": ["-m", "hmk", "--version"],
    "hmk systems": ["-m", "hmk", "systems"],
    "hmk run hello": ["-m", "hmk", "run", HELLO],
}
SCRATCH = Path(tempfile.gettempdir()) / "hmk-asv-startup"  # bytecode and block caches


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(SCRATCH / "pyc")
    env["HMK_CACHE_DIR"] = str(SCRATCH / "cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(name: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *COMMANDS[name]],
        cwd=ROOT,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


class Startup:
    timeout = 300
    number = 1
    repeat = (3, 9, 60.0)

    def setup(self, *params):
        for name in COMMANDS:  # bytecode compiled, hello's blocks classified: not timed
            _run(name)

    def time_command(self, name):
        _run(name)

    time_command.params = list(COMMANDS)
    time_command.param_names = ["command"]

    def track_ratio(self):
        runs = {"hmk run hello": [], "dependencies": []}
        for _ in range(7):
            for name, times in runs.items():
                times.append(_run(name))
        return statistics.median(runs["hmk run hello"]) / statistics.median(runs["dependencies"])

    track_ratio.unit = "ratio"

"""Start-up: a plain `hmk run` loads only what it uses (docs/performance.md, "Start-up")."""

from __future__ import annotations

import os
import subprocess
import sys

from hmk import cli
from hmk.workloads import path

UNUSED = (  # not needed by a run whose blocks are all in the cache
    "capstone",  # decodes a block the cache does not hold (hmk.cpu.decode), a fault's address
    "elftools",  # names an unknown machine in an error
    "matplotlib",
    "pandas",
    "hmk.api",
    "hmk.bench",
    "hmk.calibration.page",
    "hmk.cpu.decode",
    "hmk.cpu.far",
    "hmk.debian",
    "hmk.fidelity",
    "hmk.fuzz",
    "hmk.paper",
    "hmk.report.compare",
    "hmk.report.flame",
    "hmk.report.stats",
)


def modules_of_a_run(cache_dir, *args: str) -> set[str]:
    code = (
        "import sys\nfrom hmk.cli import main\n"
        f"status = main(['run', '--quiet', *{list(args)!r}, {str(path('hello'))!r}])\n"
        "print(status, ' '.join(sys.modules))\n"
    )
    env = {**os.environ, "HMK_CACHE_DIR": str(cache_dir)}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    status, _, modules = run.stdout.splitlines()[-1].partition(" ")
    assert status == "0", run.stderr
    return set(modules.split())


def loaded(modules: set[str], names) -> set[str]:
    return {m for m in modules if any(m == n or m.startswith(n + ".") for n in names)}


def test_a_run_loads_only_what_it_uses(tmp_path):
    first = modules_of_a_run(tmp_path)
    assert loaded(first, ["capstone", "hmk.cpu.decode"]) >= {"capstone", "hmk.cpu.decode"}
    assert loaded(modules_of_a_run(tmp_path), UNUSED) == set()
    with_stats = modules_of_a_run(tmp_path, "--stats", str(tmp_path / "stats.json"))
    assert loaded(with_stats, UNUSED) == {"hmk.report.stats"}


def test_the_command_lines_own_commands():
    """main() leaves the EXTENSIONS out for OWN_COMMANDS: exactly the commands the parser
    has without them."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    extensions = {"bench", "calibrate", "paper", "fuzz", "sweep", "explore"}
    assert set(commands) == cli.OWN_COMMANDS | extensions
    assert not cli.OWN_COMMANDS & extensions
    small = cli.build_parser("run")
    assert set(next(a for a in small._actions if a.dest == "command").choices) == cli.OWN_COMMANDS

"""The simulations behind `hmk paper`: each a bundled program run once under one composition on
one profile, from a temporary root file system; many at once on a pool of processes.

A run is a value (`Run`), its result another (`Outcome`): the key=value pairs of the program's
last line of output (the programs time themselves and print what they measured) and the run's
frame statistics. Runs share nothing, so a pool of any size gives the same outcomes.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hmk.errors import InternalError

# compositions that are a preset with some switches changed: name -> (preset, changes)
VARIANTS = {
    "hm-phone-dc": (
        "hm-phone",
        {
            "description": "hm-phone without its twin driver: every block request goes to the "
            "driver container (IC2)",
            "twin_driver": False,
        },
    ),
}
# what a program needs beside it in /bin (lat's exec runs /bin/exitcode)
HELPERS = {"lat": ("exitcode",)}
# instructions a run may take before it counts as hung
MAX_INSTRUCTIONS = 200_000_000


@dataclass(frozen=True, order=True)
class Run:
    program: str  # a bundled program: "lat", or "hm/ramstream" for one of bin/hm/
    args: tuple[str, ...]
    system: str  # a preset or a name in VARIANTS
    profile: str  # a SoC profile, or PROFILE:CLUSTER for a core other than its first


def board(profile: str) -> str:
    """The SoC profile of a paper profile (`kirin9000:little` -> `kirin9000`)."""
    return profile.partition(":")[0]


@dataclass(frozen=True)
class Outcome:
    output: dict[str, str] = field(default_factory=dict)  # the last line's key=value pairs
    frames: dict[str, int] = field(default_factory=dict)  # the run's frames.* statistics
    failure: str | None = None  # why the run failed (one line); None when it exited 0


def execute(run: Run) -> Outcome:
    """One run, timer ticks off (the programs time themselves between two clock reads)."""
    from hmk.system import run_program  # noqa: PLC0415  (the model loads in the workers)

    name = run.program.rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="hmk-paper-") as tmp:
        root = Path(tmp, "root")
        (root / "bin").mkdir(parents=True)
        for program in (run.program, *HELPERS.get(name, ())):
            shutil.copy(_bundled(program), root / "bin")
        out = io.BytesIO()
        try:
            soc, _, cluster = run.profile.partition(":")
            result = run_program(
                f"/bin/{name}",
                list(run.args),
                profile=soc,
                cluster=cluster or None,
                system=system_file(run.system, Path(tmp)),
                rootfs=str(root),
                out=out,
                err=out,
                warnings=None,
                tick_us=1e9,
                cores=1,  # one core, as the budgets were fitted (docs/smp.md)
                max_instructions=MAX_INSTRUCTIONS,
            )
        except InternalError:
            raise  # hmk's own bug stops the suite loudly
        except Exception as e:  # noqa: BLE001  (a run that cannot start is a failed cell)
            return Outcome(failure=f"{name}: {str(e).splitlines()[0] if str(e) else e!r}")
    lines = out.getvalue().decode(errors="replace").strip().splitlines() or [""]
    if result.exit_status != 0:
        said = result.fault or lines[-1]
        stop = f"{name} {' '.join(run.args)}: exit status {result.exit_status}"
        return Outcome(failure=f"{stop}: {said}" if said else stop)
    pairs = dict(word.split("=", 1) for word in lines[-1].split() if "=" in word)
    frames = {k: v for k, v in result.stats.items() if k.startswith("frames.")}
    return Outcome(pairs, frames)


def execute_all(runs, jobs: int = 1, progress=None) -> dict[Run, Outcome]:
    """Every run's outcome, on `jobs` worker processes (hmk.parallel; 1: here, one after
    another), a line per finished run on `progress`."""
    from hmk.parallel import pool_map  # noqa: PLC0415

    runs = sorted(set(runs))
    return dict(zip(runs, pool_map(execute, runs, jobs, progress, "hmk paper"), strict=True))


def _bundled(program: str) -> Path:
    from hmk.workloads import hm_path, path  # noqa: PLC0415

    return hm_path(program[3:]) if program.startswith("hm/") else path(program)


def system_file(system: str, directory: Path) -> str:
    """`system` as run_program takes it: a preset's name, or a variant written to `directory`."""
    if system not in VARIANTS:
        return system
    from hmk.system import systems_dir  # noqa: PLC0415

    preset, changes = VARIANTS[system]
    data = tomllib.loads((systems_dir() / f"{preset}.toml").read_text(encoding="utf-8"))
    data |= {"name": system, **changes}
    target = directory / f"{system}.toml"
    target.write_text(_toml(data), encoding="utf-8")
    return str(target)


def _toml(data: dict) -> str:
    """A system file's TOML: top-level strings and booleans, then the [[domain]] tables."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"{k} = {value(v)}" for k, v in data.items() if k != "domain"]
    for domain in data.get("domain", []):
        lines += ["", "[[domain]]", *(f"{k} = {value(v)}" for k, v in domain.items())]
    return "\n".join(lines) + "\n"

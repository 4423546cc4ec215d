"""Oracle: in cachegrind mode the hierarchy reproduces valgrind's cachegrind exactly.

Each program runs twice under valgrind, with the same argv, environment and working directory:
once under cachegrind (its totals are the expected counts) and once under lackey --trace-mem=yes
(its trace is the input). Both tools instrument the same accesses, so the trace read with
modify="read" holds exactly cachegrind's Ir, Dr and Dw; the hierarchy built with the same
--I1/--D1/--LL must then reproduce all nine counts. See docs/validation.md, "Cachegrind oracle".
"""

import random
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from hmk.hw import traces
from hmk.hw.config import HierarchyConfig

VALGRIND = shutil.which("valgrind")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        VALGRIND is None, reason="valgrind is not installed (apt-get install valgrind)"
    ),
]

# The environment shapes the client's initial stack, and with it the alignment of strings that
# libc routines scan: a different environment (even a shell's `_` or SHLVL) changes the counts.
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}

# --I1, --D1, --LL as (size, ways, line)
CONFIGS = {
    # typical: 32 KiB 8-way L1s, 256 KiB 8-way LL, 64-byte lines
    "typical": ((32768, 8, 64), (32768, 8, 64), (262144, 8, 64)),
    # small 2-way caches with 32-byte lines: many misses, many accesses straddling two lines
    "small": ((4096, 2, 32), (2048, 2, 32), (16384, 4, 32)),
}


@dataclass(frozen=True)
class Program:
    name: str
    argv: tuple[str, ...]  # argv[0] is looked up on ENV's PATH
    inputs: tuple[tuple[str, int, int], ...]  # (file name, seed, lines) of generated text


PROGRAMS = {
    # ~0.6 M instructions, ~0.9 M events: small enough for the Python reference model
    "sort": Program("sort", ("sort", "words.txt"), (("words.txt", 1, 300),)),
    # ~2.5 M instructions: LZ77 over a 16 KB buffer, a data-heavy access pattern
    "gzip": Program("gzip", ("gzip", "-6", "-c", "text.txt"), (("text.txt", 2, 800),)),
}


def write_text(path: Path, seed: int, lines: int) -> None:
    """Deterministic text: words from a fixed vocabulary, so gzip and sort have work to do."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(400)]
    text = "\n".join(" ".join(rng.choices(vocabulary, k=rng.randint(1, 8))) for _ in range(lines))
    path.write_text(text + "\n")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle")
    for program in PROGRAMS.values():
        for name, seed, lines in program.inputs:
            write_text(path / name, seed, lines)
    return path


def valgrind(workdir: Path, tool_args: list[str], program: Program) -> None:
    exe = shutil.which(program.argv[0], path=ENV["PATH"])
    if exe is None:
        pytest.skip(f"{program.argv[0]} is not installed")
    subprocess.run(
        [VALGRIND, *tool_args, exe, *program.argv[1:]],
        env=ENV,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        timeout=300,
    )


@cache
def lackey_events(workdir: Path, name: str):
    log = workdir / f"{name}.lackey"
    valgrind(workdir, ["--tool=lackey", "--trace-mem=yes", f"--log-file={log}"], PROGRAMS[name])
    events = traces.read_lackey(log, modify="read")
    log.unlink()  # tens of MB
    return events


@cache
def cachegrind_totals(workdir: Path, name: str, config: str) -> dict[str, int]:
    out = workdir / f"{name}.{config}.cachegrind"
    i1, d1, ll = (",".join(map(str, c)) for c in CONFIGS[config])
    args = ["--tool=cachegrind", "--cache-sim=yes", "--branch-sim=no"]
    args += [f"--I1={i1}", f"--D1={d1}", f"--LL={ll}", f"--cachegrind-out-file={out}"]
    valgrind(workdir, args, PROGRAMS[name])
    return traces.parse_cachegrind_out(out)


def differences(got: dict, want: dict) -> str:
    rows = [f"{k}: model {got[k]} cachegrind {want[k]} ({got[k] - want[k]:+d})" for k in want]
    return "\n".join(row for row, k in zip(rows, want, strict=True) if got[k] != want[k])


@pytest.mark.parametrize("name", PROGRAMS)
def test_trace_holds_cachegrinds_accesses(workdir, name):
    """The harness itself: lackey's trace has exactly the accesses cachegrind counted."""
    want = cachegrind_totals(workdir, name, "typical")
    got = traces.trace_counts(lackey_events(workdir, name))
    assert got == {k: want[k] for k in got}, differences(got, want)


@pytest.mark.parametrize(
    ("name", "config"), [("sort", "typical"), ("sort", "small"), ("gzip", "typical")]
)
def test_engine_matches_cachegrind(workdir, name, config):
    from hmk.hw.engine import BatchHierarchy

    want = cachegrind_totals(workdir, name, config)
    model = BatchHierarchy(HierarchyConfig.cachegrind(*CONFIGS[config]))
    model.run(lackey_events(workdir, name))
    got = traces.cachegrind_counts(model.stats())
    assert got == want, f"{name}, {config} caches:\n" + differences(got, want)


@pytest.mark.parametrize("config", CONFIGS)
def test_reference_matches_cachegrind(workdir, config):
    from hmk.hw.reference import MemoryHierarchy

    want = cachegrind_totals(workdir, "sort", config)
    model = MemoryHierarchy(HierarchyConfig.cachegrind(*CONFIGS[config]))
    model.run(lackey_events(workdir, "sort"))
    got = traces.cachegrind_counts(model.stats())
    assert got == want, f"sort, {config} caches:\n" + differences(got, want)

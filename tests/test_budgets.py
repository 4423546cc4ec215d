"""Calibration budgets changed for a run (hmk.system.budgets: run_program(budgets=...), `hmk run
--set` and `--budgets`): a change reaches the compiled twins and the references alike, moves
the cycles it should, ends with the run, and bad names and values are one-line errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hmk.cli import main
from hmk.system import budgets, run_program
from hmk.workloads import path

# budgets taken on the paths of these runs: fork's page sharing (compiled twin), the IPC
# fastpath, the exception frame, a service's work, Linux's fault path
CASES = [
    ("lat", ["fork", "2"], "hm-phone", "kernel.vs.map", 4000),
    ("lat", ["null", "50"], "hm-phone", "kernel.ipc.fast_call", 900),
    ("lat", ["null", "50"], "sel4", "kernel.exception.frame", 20),
    ("lat", ["open", "20"], "hm-phone", "fsmgr.walk", 5000),
    ("lat", ["fault-write", "40"], "linux", "linux.page.lru_add", 900),
]


def cycles(name, args, system, impl="cython", **options):
    out = io.BytesIO()
    result = run_program(str(path(name)), args, system=system, out=out, impl=impl, **options)
    assert result.exit_status == 0, out.getvalue()
    return result.cycles


@pytest.mark.parametrize(("name", "args", "system", "budget", "value"), CASES)
def test_a_budget_reaches_both_implementations_and_ends_with_the_run(
    name, args, system, budget, value
):
    before = budgets.known()[budget]
    base = cycles(name, args, system)
    changed = [cycles(name, args, system, impl, budgets={budget: value}) for impl in IMPLS]
    assert changed[0] == changed[1] != base
    assert (changed[0] > base) == (value > before)
    assert budgets.known()[budget] == before and cycles(name, args, system) == base


IMPLS = ("cython", "python")


def test_no_compiled_module_reads_a_budget_when_it_is_imported():
    """A budget read at import would keep its old value in a run that changed it."""
    fast = Path(__file__).resolve().parents[1] / "hmk" / "_fast"
    for pyx in fast.glob("*.pyx"):
        for line in pyx.read_text().splitlines():
            assert not re.match(r"^\S.*(BUDGETS|costs)\[", line), f"{pyx.name}: {line}"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"kernel.nope": 3}, "kernel has no budget 'nope'"),
        ({"gpu.x": 3}, "no budgets 'gpu'"),
        ({"fsmgr.walk": -1}, "0 or more"),
        ({"fsmgr.walk": "lots"}, "is not a number"),
        ({"fsmgr.walk": True}, "0 or more"),
    ],
)
def test_bad_budgets_are_refused_before_the_run(change, says):
    with pytest.raises(ValueError, match=says):
        run_program(str(path("hello")), [], out=io.BytesIO(), budgets=change)
    assert "nope" not in budgets.known()


def test_the_command_line_sets_budgets(tmp_path, capfd):
    lat = str(path("lat"))
    stats = tmp_path / "s.json"

    def run(*flags):
        argv = ["run", "--quiet", *flags, "--stats", str(stats), "--", lat, "fork", "2"]
        assert main(argv) == 0
        return int(re.search(r'"sim.cycles": (\d+)', stats.read_text())[1])

    base = run()
    direct = cycles("lat", ["fork", "2"], "hm-phone", budgets={"kernel.vs.map": 4000})
    assert run("--set", "kernel.vs.map=4000") == direct
    file = tmp_path / "b.toml"
    file.write_text('"kernel.vs.map" = 4000\n[fsmgr]\nwalk = 100\n')
    both = run("--budgets", str(file))
    assert both != base and run("--budgets", str(file), "--set", "fsmgr.walk=808") == run(
        "--set", "kernel.vs.map=4000"
    )
    capfd.readouterr()
    for flags, says in (
        (["--set", "kernel.nope=3"], "kernel has no budget 'nope'"),
        (["--set", "kernel.vs.map"], "give NAME=VALUE"),
        (["--budgets", str(tmp_path / "missing.toml")], "--budgets"),
    ):
        assert main(["run", *flags, lat]) == 2
        err = capfd.readouterr().err
        assert err.startswith("hmk: error: ") and says in err and err.count("\n") == 1


def test_a_scripted_run_takes_budgets_too():
    import hmk
    from hmk.script import O_CREAT, O_WRONLY

    def main(libc):
        fd = libc.open("/tmp/x", O_CREAT | O_WRONLY)
        libc.write(fd, b"x")
        return 0

    quiet = {"out": io.BytesIO(), "warnings": None}
    base = hmk.System(**quiet).run(main).cycles
    more = hmk.System(budgets={"fsmgr.file_open": 5000}, **quiet).run(main).cycles
    assert more > base and hmk.System(**quiet).run(main).cycles == base
    with pytest.raises(ValueError, match="hmk.System: budget 'x.y'"):
        hmk.System(budgets={"x.y": 1})
    with pytest.raises(TypeError, match="budgets must be a dict"):
        hmk.System(budgets=[("fsmgr.walk", 1)])

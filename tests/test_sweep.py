"""`hmk sweep`: specifications checked with one-line errors, points run in processes of their
own on Dask (the same table on one or two workers, equal to direct runs), knobs that reach the
model (a budget in compiled code and its reference alike, a cache's size), records kept so a
sweep resumes, a failed point recorded, plots."""

from __future__ import annotations

import io
import json

import pytest

from hmk.cli import main
from hmk.sweep import SweepError, load_sweep, parse_sweep, read_table, run_sweep
from hmk.sweep.engine import Results, key
from hmk.sweep.plot import PlotError, winners
from hmk.system import run_program
from hmk.workloads import path

SMALL = {
    "statistics": ["sim.cycles", "kernel.syscalls"],
    "axes": {"workload": ["hello", "lat null 20"], "system": ["linux", "hm-phone"]},
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small sweep on one worker and on two (and four, kept for one test)."""
    sweep = parse_sweep(SMALL)
    one = run_sweep(sweep, tmp_path_factory.mktemp("one"), workers=1)
    folder = tmp_path_factory.mktemp("two")
    two = run_sweep(sweep, folder, workers=2)
    four = run_sweep(sweep, tmp_path_factory.mktemp("four"), workers=4)
    assert four.equals(two)
    return sweep, one, two, folder


def test_the_table_is_the_same_on_one_two_or_four_workers(small):
    _, one, two, _ = small
    assert one.equals(two)
    assert list(one["status"]) == ["ok"] * 4
    assert list(one["workload"]) == ["hello", "hello", "lat null 20", "lat null 20"]


def test_the_table_holds_what_a_direct_run_gives(small):
    _, one, _, _ = small
    direct = run_program(
        str(path("lat")), ["null", "20"], system="hm-phone", out=io.BytesIO(), warnings=None
    )
    row = one[(one["workload"] == "lat null 20") & (one["system"] == "hm-phone")].iloc[0]
    assert row["sim.cycles"] == direct.stats["sim.cycles"]
    assert row["kernel.syscalls"] == direct.stats["kernel.syscalls"]


def test_a_sweep_resumes_without_running_its_points_again(small, monkeypatch):
    sweep, _, two, folder = small
    import hmk.sweep.engine as engine

    def never(*_):
        raise AssertionError("a point already recorded ran again")

    monkeypatch.setattr(engine, "_on_dask", never)
    again = run_sweep(sweep, folder, workers=2)
    assert again.equals(two)
    columns = ["workload", "system", "status", "sim.cycles", "kernel.syscalls"]
    assert read_table(folder)[columns].equals(two[columns])  # (as written: CSV or Parquet)
    saved = json.loads((folder / "points" / f"{key(sweep.points[0])}.json").read_text())
    assert saved["point"] == sweep.points[0] and saved["stats"]["sim.cycles"] > 0


def test_knobs_reach_the_model(tmp_path):
    """A kernel budget read by compiled code at import (vs.map: fork's page sharing) moves the
    cycles, equally in the compiled twins and the references; the shared level's size moves
    its misses (the Pi 4B's L2, system.l2: no system.l3 there, that column empty)."""
    spec = {
        "statistics": ["sim.cycles", "system.l2.misses", "system.l3.misses"],
        "fixed": {"system": "hm-phone", "cores": 1},
        "point": [
            {"workload": "lat fork 2", "impl": "cython"},
            {"workload": "lat fork 2", "impl": "cython", "budget.kernel.vs.map": 4000},
            {"workload": "lat fork 2", "impl": "python", "budget.kernel.vs.map": 4000},
            {"workload": "randsweep 2048 20000", "profile": "rpi4", "soc.l3.size_kib": 512},
            {"workload": "randsweep 2048 20000", "profile": "rpi4", "soc.l3.size_kib": 4096},
        ],
    }
    t = run_sweep(parse_sweep(spec), tmp_path, workers=2)
    assert list(t["status"]) == ["ok"] * 5
    cycles, misses = list(t["sim.cycles"]), list(t["system.l2.misses"])
    assert cycles[1] > cycles[0] and cycles[1] == cycles[2]
    assert misses[3] > 2 * misses[4]
    assert t["system.l3.misses"][:3].gt(0).all() and t["system.l3.misses"][3:].isna().all()
    assert t["system.l2.misses"][:3].isna().all()  # the Kirin 9000's L2s are private


def test_a_failed_point_is_recorded_not_lost(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'statistics = ["sim.cycles"]\n[axes]\nworkload = ["hello", "nope", "exitcode 3"]\n'
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "r"), "--jobs", "2"]) == 1
    t = read_table(tmp_path / "r")
    assert list(t["status"]) == ["ok", "failed", "exit-status"]
    assert "unknown workload 'nope'" in t["error"][1]
    assert t["exit_status"][2] == 3
    assert "3 points: 1 ok, 1 failed, 1 exit-status" in capsys.readouterr().out


def test_a_statistic_no_run_reported_is_warned_of(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('statistics = ["sim.cycles", "l3.misses"]\n[axes]\nworkload = ["hello"]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "no run reported a statistic 'l3.misses'" in err and "sim.cycles" not in err


def test_a_cache_level_a_profile_lacks_is_warned_of(tmp_path, capsys):
    """The Kirin 9000's shared level is system.l3, the Pi 4B's system.l2: each column is empty
    where the profile has no such level, and the command says so."""
    spec = tmp_path / "s.toml"
    spec.write_text(
        'statistics = ["system.l3.misses", "system.l2.misses", "system.cpu0.l2.misses"]\n'
        '[axes]\nworkload = ["hello"]\nprofile = ["kirin9000", "rpi4"]\n'
    )
    assert main(["sweep", str(spec), "--out", str(tmp_path / "r"), "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "system.l3.misses: no such cache level on rpi4" in err
    assert "system.l2.misses: no such cache level on kirin9000" in err
    assert "system.cpu0.l2.misses: no such cache level on rpi4" in err
    assert "no run reported" not in err
    t = read_table(tmp_path / "r")
    assert t["system.l3.misses"][0] > 0 and t["system.l3.misses"].isna()[1]
    assert t["system.l2.misses"].isna()[0] and t["system.l2.misses"][1] > 0
    assert t["system.cpu0.l2.misses"][0] > 0 and t["system.cpu0.l2.misses"].isna()[1]


def test_a_bad_budget_is_that_points_failure(tmp_path):
    spec = {"point": [{"workload": "hello", "budget.kernel.no.such": 5}]}
    t = run_sweep(parse_sweep(spec), tmp_path)
    assert t["status"][0] == "failed" and "no budget 'no.such'" in t["error"][0]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"axes": {"workload": []}}, "axis 'workload' must be a non-empty list"),
        ({"axes": {"system": ["linux"]}}, "no workload"),
        ({"axes": {"workload": ["hello"], "colour": [1]}}, "unknown knob 'colour'"),
        ({"speed": 1}, "unknown key 'speed'"),
        ({"axes": {"workload": ["hello"]}, "point": [{"workload": "x"}]}, "not both"),
        ({"axes": {"workload": ["hello"]}, "sample": 0}, "sample must be a positive"),
        ({"axes": {"workload": [{"program": "a", "script": "b"}]}}, "a workload table has"),
        ({"axes": {"workload": ["hello"]}, "statistics": []}, "statistics must be"),
    ],
)
def test_bad_specifications_are_one_line(spec, says):
    with pytest.raises(SweepError, match=says):
        parse_sweep(spec)


def test_a_bad_file_is_one_line_on_the_command_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[axes\n")
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hmk: error: ") and "not TOML" in err and err.count("\n") == 1
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2


def test_a_sample_is_seeded_and_a_subset():
    spec = {"axes": {"workload": ["hello"], "ram": ["128M", "256M", "512M", "1G"]}, "sample": 2}
    a, b = parse_sweep(spec), parse_sweep(spec)
    assert a.points == b.points and len(a.points) == 2
    assert parse_sweep({**spec, "seed": 7}).points != a.points or len(a.points) == 2


def test_load_sweep_names_it_after_its_file(tmp_path):
    spec = tmp_path / "my-sweep.toml"
    spec.write_text('[axes]\nworkload = ["hello"]\n')
    assert load_sweep(spec).name == "my-sweep"


def test_plots_and_the_winners(small, tmp_path):
    _, one, _, folder = small
    best = winners(one, "sim.cycles", "system", "workload", "workload")
    assert set(best.values()) == {"linux"}  # no IPC: the fewest cycles on both workloads
    for extra in (["--y", "system"], ["--by", "system"], ["--wins", "system", "--y", "workload"]):
        out = tmp_path / f"p{len(extra)}.svg"
        argv = ["sweep", "plot", str(folder), "--stat", "sim.cycles", "--x", "workload"]
        assert main([*argv, *extra, "--out", str(out)]) == 0
        assert out.read_text().lstrip().startswith("<?xml")
    out = tmp_path / "drop.png"
    argv = ["sweep", "plot", str(folder), "--stat", "sim.cycles", "--x", "workload"]
    argv += ["--wins", "system", "--y", "workload", "--drop", "system=linux", "--out", str(out)]
    assert main(argv) == 0 and out.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(PlotError, match="no column 'nope'"):
        winners(one, "nope", "system", "workload", "workload")


def test_results_ignore_a_record_cut_short(tmp_path):
    results = Results(tmp_path)
    point = {"workload": "hello"}
    results.points.mkdir(parents=True)
    (results.points / f"{key(point)}.json").write_text('{"point": {"work')
    assert results.record(point) is None


def test_sensitivity_ranks_the_budgets_a_workload_takes(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('statistics = ["sim.cycles"]\n[axes]\nworkload = ["lat null 20"]\n')
    patterns = "kernel.exception.frame,kernel.sched.switch"
    argv = ["sweep", str(spec), "--out", str(tmp_path / "r"), "--sensitivity", patterns]
    assert main([*argv, "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines() if line.strip().startswith("kernel.")]
    assert [line[0] for line in lines] == ["kernel.exception.frame", "kernel.sched.switch"]
    assert float(lines[0][2]) > 0.01  # every syscall and fault takes the exception frame
    assert float(lines[1][2]) == 0  # a single process never switches
    assert (tmp_path / "r" / "sensitivity.csv").is_file()
    assert main(["sweep", str(spec), "--sensitivity", "kernel.nope*"]) == 2
    assert "no budget matches 'kernel.nope*'" in capsys.readouterr().err

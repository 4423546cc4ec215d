"""The `hmk` command line: profiles, profiles show, run, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hmk
from hmk.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOCS = ["kirin9000", "kirin990", "rpi4"]
CORES = ["cortex-a55", "cortex-a72", "cortex-a76", "cortex-a77"]


@pytest.fixture(autouse=True)
def _bundled_profiles(monkeypatch):
    monkeypatch.delenv("HMK_PROFILES", raising=False)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_profiles_lists_all_seven(capsys):
    code, out, err = run(capsys, "profiles")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "DESCRIPTION"]
    kinds = {line.split()[0]: line.split()[1] for line in lines[1:8]}
    assert kinds == {**dict.fromkeys(SOCS, "SoC"), **dict.fromkeys(CORES, "core")}
    assert "Kirin 9000" in out and "Cortex-A72" in out


@pytest.mark.parametrize("name", SOCS + CORES)
def test_profiles_show(capsys, name):
    code, out, err = run(capsys, "profiles", "show", name)
    assert code == 0 and err == ""
    assert out.startswith(name)
    for word in ("L1I", "L1D", "TLB", "walk cache", "exception entry", "cycles"):
        assert word in out


@pytest.mark.parametrize("name", SOCS + CORES)
def test_profiles_show_json(capsys, name):
    code, out, _ = run(capsys, "profiles", "show", name, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == name and data["kind"] == ("soc" if name in SOCS else "core")


def test_show_soc_has_every_cluster_and_the_l3(capsys):
    _, out, _ = run(capsys, "profiles", "show", "kirin9000")
    for text in (
        "1 x cortex-a77 @ 3.13 GHz",
        "3 x cortex-a77 @ 2.54 GHz",
        "4 x cortex-a55 @ 2.05 GHz",
    ):
        assert text in out
    assert "4 MiB" in out and "DRAM latency 115 ns" in out and "exclusive" in out


def test_show_a_file(capsys):
    code, out, _ = run(capsys, "profiles", "show", str(ROOT / "hardware_profiles" / "rpi4.toml"))
    assert code == 0 and "4 x cortex-a72 @ 1.5 GHz" in out


def test_run_without_arguments_runs_the_demo(capfd):
    code = main(["run"])
    out, err = capfd.readouterr()
    assert code == 0
    assert out.startswith("compute: n=64")
    assert "bundled demo" in err and "cycles" in err and "IPC" in err


def test_run_a_bundled_program_on_a_profile(capfd, tmp_path):
    from hmk.workloads import path

    stats = tmp_path / "s.json"
    code = main(
        ["run", "--profile", "rpi4", "--stats", str(stats), "--quiet", str(path("exitcode")), "5"]
    )
    out, err = capfd.readouterr()
    assert code == 5 and out == "" and "cycles" not in err
    assert json.loads(stats.read_text())["stats"]["system.cpu0.instructions"] > 1000


def test_run_environment_flags(capfd):
    from hmk.cli import _environment
    from hmk.system.simulation import DEFAULT_ENV

    env = _environment(DEFAULT_ENV, ["A=1", "HOME=/root"], ["TERM"])
    assert b"A=1" in env and b"HOME=/root" in env and not any(e.startswith(b"TERM=") for e in env)


def test_run_a_non_aarch64_program_is_one_error_line(capfd):
    code = main(["run", "--profile", "kirin990", "/bin/true", "-x", "--flag"])
    out, err = capfd.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("hmk: error: /bin/true: not an AArch64 ELF") and err.count("\n") == 1


def test_core_type_as_run_profile(capsys):
    code, out, err = run(capsys, "run", "--profile", "cortex-a76")
    assert code == 2 and out == ""
    assert err.startswith("hmk: error: ") and err.count("\n") == 1
    assert "is a core type, not a SoC" in err and "kirin9000" in err
    assert "Traceback" not in err


def test_bad_profile_file_is_one_error_line(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    text = (ROOT / "hardware_profiles" / "rpi4.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("count = 4", "count = 0"), encoding="utf-8")
    code, _, err = run(capsys, "run", "--profile", str(bad))
    assert code == 2
    assert (
        err == f"hmk: error: {bad}: cluster[0].count: must be positive (allowed: 1 to 255), got 0\n"
    )


def test_unknown_profile_name(capsys):
    code, _, err = run(capsys, "profiles", "show", "pixel9")
    assert code == 2 and "no profile named 'pixel9'" in err and "rpi4" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"hmk {hmk.__version__}"


def test_no_command_prints_help(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "profiles" in err and "run" in err


def test_usage_error_exits_2(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


def test_python_m_hmk_profiles():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("HMK_PROFILES", None)
    done = subprocess.run(
        [sys.executable, "-m", "hmk", "profiles"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for name in SOCS + CORES:
        assert name in done.stdout

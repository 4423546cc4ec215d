"""What a user hands hmk, refused in one line: output paths, profiles, system files, command-line
numbers, hmk.System's options and ELF files. Each refusal is `hmk: error: <one line>` with exit
status 2 on the command line (an exception whose message is one line from Python), never a
traceback, a hang or host memory out of proportion to the input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hmk.cli import main
from hmk.outputs import OutputError, check, check_dir, written
from hmk.workloads import path as workload

HELLO = str(workload("hello"))


def refused(capsys, *argv) -> str:
    """Run `hmk argv...`, expect a one-line refusal, return it."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hmk: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- output paths --------------------------------------------------------------------------
# checked before anything runs: a directory, a missing directory, a place no file can be made,
# an empty name, two outputs into one file


@pytest.mark.parametrize(
    ("flag", "path", "says"),
    [
        ("--stats", "/tmp", "is a directory"),
        ("--stats", "/proc/x", "cannot write"),
        ("--stats", "/no/such/dir/s.json", "no such directory: /no/such/dir"),
        ("--stats", "/etc/hostname/x", "cannot write: Not a directory"),
        ("--stats", "", "--stats: an empty file name"),
        ("--flamegraph", "/tmp/", "is a directory"),
        ("--folded", "/proc/x", "cannot write"),
        ("--speedscope", "/sys/x.json", "cannot write"),
        ("--flamegraph", "-", "only --stats takes -"),
    ],
)
def test_run_refuses_an_output_before_it_runs(capsys, flag, path, says):
    line = refused(capsys, "run", flag, path, "--", "/no/such/program")
    assert says in line and flag in line  # the program is never looked at


@pytest.mark.parametrize(
    ("flag", "path", "says"),
    [
        ("--plot", "/tmp", "is a directory"),
        ("--plot", "/tmp/chart.txt", "matplotlib cannot write .txt images"),
        ("--json", "/proc/x.json", "cannot write"),
        ("--diff-flamegraph", "/no/such/d.svg", "no such directory"),
    ],
)
def test_compare_refuses_an_output_before_it_runs(capsys, flag, path, says):
    line = refused(capsys, "compare", "--systems", "linux,sel4", flag, path, "--", "/no/such/p")
    assert says in line and flag in line


def test_two_outputs_into_one_file_are_refused(capsys, tmp_path):
    out = str(tmp_path / "same")
    line = refused(capsys, "run", "--stats", out, "--folded", out, "--", HELLO)
    assert "--stats writes the same file" in line
    assert not os.path.exists(out)  # the check made it and removed it again


def test_the_check_neither_truncates_nor_leaves_files(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("keep me")
    check(str(old), "--stats")
    check(str(tmp_path / "new.txt"), "--stats")
    assert old.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_a_write_that_fails_after_the_run_is_one_line(capfd):
    """/dev/full opens and only fails when written: the run's output, then one error line."""
    assert main(["run", "--quiet", "--stats", "/dev/full", "--", HELLO]) == 2
    out, err = capfd.readouterr()
    assert out == "hello, world\n"
    assert err == "hmk: error: --stats /dev/full: cannot write: No space left on device\n"


def test_compare_reports_a_plot_it_could_not_write(capfd):
    argv = ["compare", "--systems", "linux,hm-phone", "--plot", "/dev/full", "--", HELLO]
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert err.endswith("hmk: error: --plot /dev/full: cannot write: No space left on device\n")
    assert "Traceback" not in err


def test_a_plot_is_written_where_asked(tmp_path, capfd):
    """An extension-less name gets a PNG under exactly that name (matplotlib alone would add
    .png to it: a plot asked for at DIR went to DIR.png)."""
    pytest.importorskip("matplotlib")
    chart = tmp_path / "chart"
    assert main(["compare", "--systems", "linux,sel4", "--plot", str(chart), "--", HELLO]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


def test_written_replaces_a_file_whole_or_not_at_all(tmp_path):
    target = tmp_path / "stats.txt"
    target.write_text("old")
    target.chmod(0o640)
    with pytest.raises(
        OutputError, match=r"^x .*/stats.txt: cannot write: No space left on device$"
    ):
        with written(str(target), "x") as name:
            Path(name).write_text("partial")
            raise OSError(28, os.strerror(28))
    assert target.read_text() == "old"
    with written(str(target)) as name:
        Path(name).write_text("new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # its permissions kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.txt"]  # no temporary left


def test_written_through_a_symbolic_link_writes_its_target(tmp_path):
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    target.write_text("{}")
    link.symlink_to(target.name)
    with written(str(link)) as name:
        Path(name).write_text("[1]")
    assert link.is_symlink() and json.loads(target.read_text()) == [1]


def test_a_name_with_a_newline_stays_one_line():
    with pytest.raises(OutputError) as e:
        check("/no/such\ndir/x", "--stats")
    assert "\n" not in str(e.value) and "no such directory" in str(e.value)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["bench", "--ops", "null", "--json", "/tmp"], "--json /tmp: is a directory"),
        (["paper", "--only", "faults", "--write", "/proc/p.md"], "--write /proc/p.md"),
        (["paper", "--only", "faults", "--json", "/no/dir/p.json"], "no such directory"),
        (["paper", "--only", "faults", "--out", "/dev/null/figs"], "is not a directory"),
        (["paper", "--only", "faults", "--jobs", "\u00b2"], "--jobs must be a positive integer"),
        (["paper", "--only", "faults", "--jobs", "9" * 5000], "--jobs must be"),
        (["fidelity", "--write", "/tmp"], "--write /tmp: is a directory"),
        (["rootfs", "debian", "/dev/full", "bash"], "/dev/full: is not a directory"),
        (["rootfs", "debian", "/tmp/r", "bash", "--cache", "/dev/null/c"], "--cache /dev/null/c"),
    ],
)
def test_other_commands_check_their_outputs_first(capsys, argv, says):
    assert says in refused(capsys, *argv)


def test_calibrate_checks_its_files_before_the_runs(capsys, monkeypatch):
    from hmk.calibration import page  # noqa: PLC0415

    monkeypatch.setattr(page, "PAGE", Path("/proc/calibration.md"))
    monkeypatch.setattr(page, "run", lambda **_: pytest.fail("ran before checking its outputs"))
    assert "--write /proc/calibration.md" in refused(capsys, "calibrate", "--write")


def test_the_syscall_page_tool_checks_its_output(capsys):
    from hmk.report import syscalls  # noqa: PLC0415

    assert syscalls.main(["--write", "/tmp"]) == 2
    assert capsys.readouterr().err == "hmk: error: --write /tmp: is a directory; give a file name\n"
    with pytest.raises(SystemExit):  # argparse: --write needs a file name
        syscalls.main(["--write"])


def test_check_dir(tmp_path):
    check_dir(str(tmp_path / "new" / "deeper"))  # can be made
    assert not (tmp_path / "new").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match=r"/f is not a directory$"):
        check_dir(str(tmp_path / "f" / "x"))

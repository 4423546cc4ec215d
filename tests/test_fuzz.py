"""The guest-syscall fuzzer (hmk.fuzz, workloads/fuzz/sysfuzz.c) and `hmk fuzz syscalls`.

- its call table is the AArch64 table, bar a documented deny list;
- it runs under every composition without an internal error, a host exception, a dead fuzzer
  or a hang (a small budget here; `hmk fuzz syscalls --long` is the long run,
  docs/validation.md);
- the harness does fail when hmk does (a handler made to raise, a run that cannot end);
- its safe subset answers as this machine's Linux, call by call, for a fixed set of seeds,
  but for the differences hmk.fuzz.known documents.
"""

import json

import pytest

from hmk.fuzz import diff, known, syscalls, table
from hmk.linux.numbers import NUMBERS
from hmk.system import list_systems

# the calls the fuzzer never makes: they would end the run (exit, exit_group, reboot,
# kexec_load, kexec_file_load), return to a made-up frame (rt_sigreturn) or stop it (ptrace)
DENIED = {"exit", "exit_group", "rt_sigreturn", "reboot", "kexec_load", "kexec_file_load", "ptrace"}
SEEDS = (1, 2, 3)  # the differential runs' seeds, and how many calls each makes
DIFF_CALLS = 1500


def test_the_table_is_the_aarch64_table():
    rows = {r.name: r for r in table() if not r.name.startswith("nosys_")}
    assert {(r.nr, r.name) for r in rows.values()} == {(nr, name) for nr, name, _ in NUMBERS}
    assert {name for name, r in rows.items() if "D" in r.flags} == DENIED
    for _, name, kinds in NUMBERS:  # an argument kind for every argument the call has
        assert len(rows[name].kinds) == len(kinds), name
    assert any(r.name.startswith("nosys_") for r in table())  # numbers that are no call
    assert len([r for r in rows.values() if "S" in r.flags]) > 200  # the safe subset


def test_every_composition_survives_the_fuzzer():
    """Every preset, one seed, a few hundred calls: ~20 s on two workers."""
    outcomes = syscalls.fuzz(list_systems(), [5], 400, jobs=2)
    failures = [syscalls.describe(o) for o in outcomes if o.failed]
    assert not failures, "\n\n".join(failures)
    assert len(outcomes) == len(list_systems())
    assert all(o.syscalls > 400 for o in outcomes)


def test_a_handler_that_raises_is_a_failure(monkeypatch):
    from hmk.services.procmgr import ProcMgr

    def broken(self, call, *_):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ProcMgr, "sys_getppid", broken)
    outcome = syscalls.run_one("linux", 1, 2000)
    assert outcome.failed and outcome.verdict in (syscalls.INTERNAL, syscalls.RAISED)
    assert "ZeroDivisionError" in outcome.detail
    report = syscalls.describe(outcome)
    assert "linux seed 1" in report and "replay: hmk run --system linux" in report
    assert outcome.last  # the calls before it


def test_a_run_that_cannot_end_is_a_hang():
    (outcome,) = syscalls.fuzz(["linux"], [1], 100_000, wall=2)
    assert outcome.verdict == syscalls.HANG and outcome.failed


def test_the_command_line_reports_and_fails(capsys, monkeypatch, tmp_path):
    from hmk.cli import main

    def fake(systems, seeds, calls, *, jobs, wall, report):
        out = [
            syscalls.Outcome("linux", 4, calls, syscalls.OK, syscalls=123),
            syscalls.Outcome("sel4", 4, calls, syscalls.RAISED, "x raised y", last=["3 a() = 0"]),
        ]
        for o in out:
            report(o)
        return out

    monkeypatch.setattr(syscalls, "fuzz", fake)
    path = tmp_path / "out.json"
    argv = ["fuzz", "syscalls", "--systems", "linux,sel4", "--seeds", "4", "--json", str(path)]
    assert main(argv) == 1
    text = capsys.readouterr().out
    assert "FAIL sel4 seed 4" in text and "3 a() = 0" in text and "1 failed" in text
    assert [o["verdict"] for o in json.loads(path.read_text())] == ["ok", "handler raised"]


def test_seeds_parse():
    assert syscalls.parse_seeds("3") == [3]
    assert syscalls.parse_seeds("1-3,7") == [1, 2, 3, 7]


def test_the_long_mode_spreads_a_million_calls(monkeypatch):
    from hmk.cli import main

    seen = {}

    def fake(systems, seeds, calls, **_):
        seen.update(systems=systems, seeds=seeds, calls=calls)
        return []

    monkeypatch.setattr(syscalls, "fuzz", fake)
    assert main(["fuzz", "syscalls", "--long"]) == 0
    total = len(seen["systems"]) * len(seen["seeds"]) * seen["calls"]
    assert total >= syscalls.LONG_TOTAL and seen["calls"] == syscalls.LONG_CALLS


# ---- differential conformance -------------------------------------------------------------
def _native_or_skip():
    try:
        diff.native_fuzzer()
        if diff.os.geteuid() != 0:
            raise diff.NoLinux("needs root")
    except diff.NoLinux as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_safe_subset_answers_as_linux(seed):
    """Every result of the seed's calls as this machine's Linux gives it, or a documented
    difference (hmk.fuzz.known)."""
    _native_or_skip()
    found, stopped = diff.differences(seed, DIFF_CALLS)
    unexplained = [str(d) for d in found if d.why is None]
    assert not unexplained, "\n".join(unexplained)
    assert stopped is None or "different states (" in stopped and "finding" not in stopped


def test_the_comparison_finds_a_difference():
    """compare() against lines that disagree: a finding, and a desync stops it."""
    hmk = diff.parse("#0 63 read(0x3, 0x1, 0x2, 0, 0, 0) = 5\n#1 64 write(0, 0, 0, 0, 0, 0) = 0\n")
    linux = diff.parse("#0 63 read(0x3, 0x1, 0x2, 0, 0, 0) = -14\n#1 57 close(0) = 0\n")
    found, stopped = diff.compare(hmk, linux)
    assert [(d.name, d.hmk, d.linux, d.why) for d in found] == [("read", "5", "-14", None)]
    assert "different states (a finding)" in stopped
    hmk = diff.parse("#0 63 read(0x3, 0x1, 0x2, 0, 0, 0) = -9\n#1 64 write(0, 0, 0, 0, 0, 0) = 0\n")
    found, stopped = diff.compare(hmk, linux)
    assert [(d.hmk, d.linux) for d in found] == [("-9", "-14")]
    assert "different calls at #1" in stopped


def test_known_differences_are_explained():
    assert known.explain("io_setup", "-38", "0") is not None  # hmk does not implement it
    assert known.explain("read", "5", "-14") is None
    for d in known.DIFFERENCES:
        assert d.why and d.call
    # a difference this machine causes applies on such a machine only, to the calls it names
    alarm = known.explain("clock_getres", "0", "-22", "0x9, 0x4f000001b0, 0, 0, 0, 0")
    assert alarm == (None if known.host_has_rtc() else known.NO_RTC)
    assert known.explain("clock_getres", "0", "-22", "0x1, 0x4f000001b0, 0, 0, 0, 0") is None


def test_hmk_syscalls_lists_the_documented_differences():
    from hmk.report.syscalls import render_markdown, render_text

    text, markdown = render_text(), render_markdown()
    for d in known.DIFFERENCES:
        assert d.call in text and d.why in text
        assert f"`{d.call}`" in markdown and d.why in markdown
    assert known.UNPRIVILEGED in markdown

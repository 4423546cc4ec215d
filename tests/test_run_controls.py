"""Run limits, the progress line and hmk's warnings (hmk.system.simulation: Simulation, Progress,
Messages)."""

from __future__ import annotations

import io

import pytest

from hmk.cli import main
from hmk.system.simulation import LIMIT_STATUS, Messages, Progress, run_program
from hmk.workloads import path


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_an_instruction_limit_stops_the_run_deterministically():
    runs = [
        run_program(str(path("compute")), [], out=io.BytesIO(), max_instructions=200_000)
        for _ in range(2)
    ]
    a, b = runs
    assert a.exit_status == LIMIT_STATUS == 124
    assert "run limit: 200,000 instructions" in a.fault
    # stopped at the end of the basic block that reached the limit, and says so
    assert 200_000 <= a.instructions < 200_000 + 256
    assert f"(at {a.instructions:,}: the end of a basic block)" in a.fault
    assert (a.cycles, a.instructions, a.stats) == (b.cycles, b.instructions, b.stats)


def test_a_cycle_limit_stops_a_sleeping_program():
    result = run_program(str(path("timers")), [], out=io.BytesIO(), max_cycles=1_000_000)
    assert result.exit_status == 124 and "1,000,000 cycles" in result.fault


def test_a_program_within_its_limits_is_not_touched():
    free = run_program(str(path("hello")), [], out=io.BytesIO())
    limited = run_program(str(path("hello")), [], out=io.BytesIO(), max_instructions=10**9)
    assert limited.exit_status == 0 and limited.cycles == free.cycles


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="max_cycles must be positive"):
        run_program(str(path("hello")), [], max_cycles=0)


def test_the_cli_limit(capsys):
    assert main(["run", "--max-instructions", "1e5", str(path("compute"))]) == 124
    err = capsys.readouterr().err
    assert "hmk: program stopped by a run limit: run limit: 100,000 instructions" in err
    assert main(["run", "--max-cycles", "-3", str(path("compute"))]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_progress_shows_on_a_terminal_after_a_while_and_clears():
    now = [0.0]
    term = Terminal()
    progress = Progress(term, after=2.0, every=0.25, clock=lambda: now[0])
    progress.update(10, 20, 1.0)
    assert term.getvalue() == ""  # too early
    now[0] = 2.5
    progress.update(12_300_000, 45_600_000, 3.0)
    assert term.getvalue().startswith("\rhmk: 12.3 M instructions, 45.6 M cycles")
    shown = term.getvalue()
    now[0] = 2.6
    progress.update(13_000_000, 46_000_000, 3.0)
    assert term.getvalue() == shown  # not redrawn within `every`
    progress.clear()
    assert term.getvalue().endswith("\r\x1b[K")


def test_no_progress_on_a_pipe_or_in_the_programs_output():
    pipe = io.StringIO()
    progress = Progress(pipe, after=0.0, clock=lambda: 5.0)
    progress.update(1, 2, 1.0)
    progress.clear()
    assert pipe.getvalue() == ""
    out = io.BytesIO()
    run_program(str(path("hello")), [], out=out, progress=Terminal())
    assert out.getvalue() == b"hello, world\n"


def test_warnings_are_one_line_each_and_once():
    term = Terminal()
    progress = Progress(term, after=0.0, clock=lambda: 1.0)
    progress.update(1, 1, 1.0)
    messages = Messages(term, progress)
    messages.warn("unsupported syscall x (1): -ENOSYS")
    messages.warn("unsupported syscall x (1): -ENOSYS")
    messages.warn("another")
    lines = term.getvalue().split("\r\x1b[K")[-1].splitlines()  # after the cleared progress
    assert lines == ["hmk: warning: unsupported syscall x (1): -ENOSYS", "hmk: warning: another"]
    assert messages.lines == ["unsupported syscall x (1): -ENOSYS", "another"]


def test_a_runs_warnings_are_in_its_result(capsys):
    import hmk  # noqa: PLC0415

    result = hmk.System(warnings=None).run(lambda libc: libc.syscall(425) and 0)
    assert result.warnings == ["unsupported syscall io_uring_setup (425): -ENOSYS"]
    assert capsys.readouterr().err == ""


def test_the_programs_output_clears_the_progress_line_first():
    from hmk.system.simulation import _ClearsProgress

    term, out = Terminal(), io.BytesIO()
    progress = Progress(term, after=0.0, clock=lambda: 1.0)
    progress.update(1_000_000, 2_000_000, 1.0)
    assert term.getvalue().startswith("\rhmk: 1.0 M instructions")
    stream = _ClearsProgress(out, progress)
    stream.write(b"program output\n")
    assert term.getvalue().endswith("\r\x1b[K") and out.getvalue() == b"program output\n"
    stream.flush()  # the rest of the stream's interface passes through


@pytest.mark.parametrize("impl", ["cython", "python"])
def test_each_limit_stops_at_its_own_count(impl):
    """A limit is not rounded to a batch: 1e3, 1e5 and 1e6 stop at three places, each within a
    block of its limit, syscalls' batches included."""
    for program, args, limits in (
        ("compute", [], (1_000, 100_000, 1_000_000)),
        ("lat", ["null", "20000"], (1_000, 50_000, 150_000)),  # 230,000 in all
    ):
        for limit in limits:
            r = run_program(
                str(path(program)), args, out=io.BytesIO(), warnings=None, impl=impl,
                max_instructions=limit,
            )  # fmt: skip
            assert r.exit_status == LIMIT_STATUS, (program, limit)
            assert limit <= r.instructions < limit + 256, (program, limit, r.instructions)

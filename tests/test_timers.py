"""Timers that signal a process: interval timers on wall and CPU time (setitimer, getitimer,
alarm) and POSIX timers (timer_create, timer_settime, timer_gettime, timer_getoverrun,
timer_delete) under three compositions, against qemu-aarch64 (tests/guest/timers.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""setitimer real 20 ms: 0
remaining within 20 ms: 1 interval 0
alarms 1 code is SI_KERNEL 1
disarmed after: 1
periodic: 3 alarms, old interval 5000
alarm(5) before: 0
alarm(0) left: 1
virtual timer fired: 1
prof timer fired: 1
bad which: -1 errno 22
bad usec: -1 errno 22
timer_create: 0
timer_settime 10 ms: 0
armed: 1
expired: sig 10 code is SI_TIMER 1 value 77
one-shot disarmed: 1
periodic while blocked: overruns >= 3: 1
absolute: 0
absolute expired: 1
timer_delete: 0
deleted again: -1 errno 22
bad clock: -1 errno 22
bad signal: -1 errno 22
SIGEV_NONE expired quietly: 1
bad timespec: -1 errno 22
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "timers")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_timers_signal_as_on_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    assert result.stats["services.procmgr.timers.expired"] >= 8

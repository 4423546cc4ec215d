"""A call that blocks is one call: when its thread wakes, the CPU executes the SVC again
(ERESTARTSYS), and the kernel treats that as the same call going on: not counted, entered,
dispatched or sent to its service a second time (hmk.kernel.core.CoreKernel.will_restart)."""

from __future__ import annotations

import io

import pytest

from hmk.system.simulation import run_program
from hmk.workloads import path

# each blocks: on a pipe and in wait4, on futexes, in vfork and waitid, in nanosleep and
# futex timeouts; none has a signal handler interrupt a call (a restart after a handler is a
# new kernel entry, as on Linux, where strace shows the call twice)
BLOCKING = [("minish", []), ("threads", ["4"]), ("spawn", []), ("timers", [])]


@pytest.mark.parametrize("system", ["hm-phone", "sel4"])
@pytest.mark.parametrize("name, args", BLOCKING, ids=[b[0] for b in BLOCKING])
def test_each_call_is_counted_once(name, args, system):
    trace = io.StringIO()
    result = run_program(
        str(path(name)), args, out=io.BytesIO(), strace=trace, system=system, warnings=None
    )
    assert result.exit_status == 0
    calls = trace.getvalue().count("\n")  # --strace prints a call when it completes
    dispatched = sum(v for k, v in result.stats.items() if k.startswith("shim.syscalls."))
    assert result.syscalls == dispatched == calls


@pytest.mark.parametrize("case", ["read", "restart", "wait", "sleep"])
def test_a_call_a_handler_interrupts_is_one_line_and_one_count(case):
    """EINTR: the call ends once (strace shows -1 errno=4); restarted under SA_RESTART: two
    kernel entries, two lines, the first `= ? ERESTARTSYS`, as Linux's strace shows them."""
    trace = io.StringIO()
    result = run_program(str(path("eintr")), [case], out=io.BytesIO(), strace=trace, warnings=None)
    assert result.exit_status == 0
    lines = trace.getvalue().splitlines()
    assert result.syscalls == len(lines)
    # (the program is pid 3: a shell, pid 2, started it under init)
    interrupted = [line for line in lines if line.startswith("3 ") and "errno=4" in line]
    restarted = [line for line in lines if "ERESTARTSYS" in line]
    assert (len(interrupted), len(restarted)) == ((0, 1) if case == "restart" else (1, 0))

"""A call that blocks is one call: when its thread wakes, the CPU executes the SVC again
(ERESTARTSYS), and the kernel treats that as the same call going on: not counted, entered,
dispatched or sent to its service a second time (hmk.kernel.core.CoreKernel.will_restart)."""

from __future__ import annotations

import io

import pytest

from hmk.runner import run_program
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

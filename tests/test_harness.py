"""A benchmark harness in the manner of lmbench's benchmp (tests/guest/harness.c): forked workers
that check their parent is alive (getppid, which is not 1 under a shell), select (glibc:
pselect6) with a setitimer alarm as the timeout, gettimeofday around a null-syscall loop,
pipes, and getrusage of the reaped workers: under three compositions, against qemu-aarch64."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""my parent is alive: 1
workers ready: 2
results: 2, all timed: 1
workers exited cleanly: 2
timeout still armed, not fired: 1 1
children used CPU: 1
I used CPU: 1
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "harness")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_a_harness_runs_its_workers_as_on_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    made = result.stats
    assert made["shim.syscalls.pselect6"] >= 2 and made["shim.syscalls.setitimer"] == 1
    assert made["shim.syscalls.getrusage"] == 2 and made["shim.syscalls.getppid"] >= 4000

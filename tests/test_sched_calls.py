"""Scheduling-class queries, membarrier and the mlock family as Linux answers them for a normal
process, under three compositions, against qemu-aarch64 (tests/guest/schedcalls.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""priority other 0..0 fifo 1..99 rr 1..99 bad -22
scheduler 0 param 0 0 nobody -3 -22
membarrier query has global 1 private-expedited 1
membarrier unregistered -1 register 0 then 0 global 0 bad -22 bad flags -22
mlock 0 unaligned 0 unmapped -12 mlock2 bad flags -22
munlock 0 mlockall 0 bad -22 munlockall 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "schedcalls")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_scheduling_queries_membarrier_and_mlock_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

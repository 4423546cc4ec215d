"""Scheduling policies set and read back (sched_setscheduler, sched_setparam, sched_getattr,
sched_setattr, sched_rr_get_interval, SCHED_RESET_ON_FORK) under three compositions, against
qemu-aarch64 (tests/guest/schedset.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""batch: 0 errno 0
policy 3
batch with priority 5: -1 errno 22
bad policy: -1 errno 22
null param: -1 errno 22
no such pid: -1 errno 3
idle: 0 errno 0
policy 5
setparam 0: 0 errno 0
setparam 3 on idle: -1 errno 22
other, reset on fork: 0 errno 0
policy has reset flag 1
child policy 0 nice 0
getattr: 0 errno 0
attr size 56 policy 0 nice 0 prio 0
getattr small: -1 errno 22
getattr flags: -1 errno 22
setattr batch nice 7: 0 errno 0
nice now 7 policy 3
setattr too big size: -1 errno 7
size written back 56
setattr bad policy: -1 errno 22
rr interval: 0 errno 0
rr interval no such: -1 errno 3
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "schedset")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_policies_are_set_and_read_as_on_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

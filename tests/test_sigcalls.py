"""Signal calls beyond sigaction and kill (the alternate stack, the pending set, sigsuspend,
sigtimedwait, sigqueue and the raw queueinfo calls' checks) under four compositions, against
qemu-aarch64 (tests/guest/sigcalls.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""initial altstack disabled: 1
too small: -1 errno 12
bad flags: -1 errno 22
set: 0
read back: size ok 1 flags 0
handler on altstack: 1, flags inside 1, change inside errno 1, code -6
after handler flags: 0
pending has usr1: 1 usr2: 0
delivered on unblock: 1
sigpending bad size: -1 errno 22
sigsuspend: -1 errno 4 handled 1 usr1 blocked again 1
sigtimedwait pending: 12 signo 12 code 0 pid is mine 1
sigtimedwait timeout: -1 errno 11
sigtimedwait bad timeout: -1 errno 22
sigwaitinfo from child: 12 from it 1 code 0
sigqueue self: 0 handled 1 value 42 code -1
forged code to another: -1 errno 1
bad signal: -1 errno 22
bad info pointer: -1 errno 14
no such process: -1 errno 3
tgsigqueueinfo self: 0 handled 1
tgsigqueueinfo bad tid: -1 errno 22
tgsigqueueinfo other tid: -1 errno 3
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "sigcalls")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hm-ic0", "hybrid"])
def test_signal_calls_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

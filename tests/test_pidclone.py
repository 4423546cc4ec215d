"""Process descriptors (pidfd_open, pidfd_send_signal, pidfd_getfd, waitid's P_PIDFD), clone3,
mincore and process_vm_readv/writev under three compositions (tests/guest/pidclone.c).

LINUX is qemu-aarch64's output except where qemu 7.2 has no such call (clone3 and
process_vm_readv/writev answer ENOSYS there, and the pidfd lines after the clone3 follow from
it): those lines, QEMU_DIFFERS, are written from Linux's semantics (kernel/fork.c clone3's
checks: EINVAL for a short struct, a bad exit signal, signal bits in the flags, a stack without
a size; E2BIG for fields set beyond the known struct; mm/process_vm_access.c: bytes copied,
EINVAL for flags, EFAULT when nothing could be copied, ESRCH for no such process).
"""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""clone3: child 1 pidfd 1
poll pidfd: 1 revents 0x1
waitid P_PIDFD: 0 pid ok 1 status 5
signal after reap: -1 errno 3
clone3 small: -1 errno 22
clone3 bad exit signal: -1 errno 22
clone3 signal in flags: -1 errno 22
clone3 stack without size: -1 errno 22
clone3 unknown field set: -1 errno 7
pidfd_open bad flags: -1 errno 22
pidfd_open no such: -1 errno 3
pidfd_open: 1 cloexec 1
poll running: 0
read pidfd: -1 errno 22
send SIGTERM: 0
killed by 15
send bad flags: -1 errno 22
send on non-pidfd: -1 errno 9
getfd: same file 1 cloexec 1
getfd bad target fd: -1 errno 9
getfd bad flags: -1 errno 22
mincore: 0 1 0 1 0
mincore unaligned: -1 errno 22
mincore unmapped: -1 errno 12
readv: 20 'the child's own text'
writev: 21
readv bad flags: -1 errno 22
readv bad remote: -1 errno 14
child sees: written from outside
readv no such: -1 errno 3
"""
QEMU_DIFFERS = (
    b"clone3",
    b"poll pidfd",
    b"waitid P_PIDFD",
    b"signal after reap",
    b"readv",
    b"writev",
    b"child sees",
)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "pidclone")


def _common(out: bytes) -> list[bytes]:
    return [line for line in out.splitlines() if not line.startswith(QEMU_DIFFERS)]


def test_qemu_agrees_where_it_can(program):
    assert _common(linux_output(program)) == _common(LINUX)


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_process_descriptors_clone3_and_cross_memory_calls_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

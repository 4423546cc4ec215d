"""A process's attributes (nice values, resource limits and their enforcement, prctl, getcpu,
personality, capabilities, fs ids, the robust-futex list) under three compositions
(tests/guest/procattrs.c).

LINUX is qemu-aarch64's output except where qemu 7.2 cannot give Linux's answer, written from
Linux's semantics instead: qemu refuses prctl(PR_SET_CHILD_SUBREAPER) (EINVAL, so the orphaned
grandchild never comes back to the program; on Linux it does, and dies of its parent-death
signal, SIGUSR1 = 10), and has no get_robust_list (ENOSYS; Linux gives the head glibc
registered, its length 24, and ESRCH for a missing pid). QEMU_DIFFERS lists those lines.
"""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""nice 0
set 5: 0 now 5
set -3 (root): 0 now -3
clamped 99: 0 now 19
bad which: -1 errno 22
no such pid: -1 errno 3
raw getpriority: 20
nofile soft <= hard: 1
nofile 16: 0
dup2 to 20: -1 errno 9
dup2 to 15: 15
F_DUPFD from 16: -1 errno 22
soft above hard: -1 errno 22
bad resource: -1 errno 22
stack soft 8 MiB: 1
prlimit self: 0 soft ok 1
nproc 1 for a user: fork EAGAIN 1
set name: 0
name: a-rather-long-t
pdeathsig 0
pdeathsig bad: -1 errno 22
no_new_privs 0 set 0 now 1
no_new_privs bad: -1 errno 22
dumpable 1
dumpable bad: -1 errno 22
capbset chown 1
capbset bad: -1 errno 22
unknown option: -1 errno 22
subreaper: 0
adopted grandchild reaped: 1 killed by 10
getcpu: 0 node 0 cpu known 1
personality: 0
capget: 0 setuid effective 1
capget bad version: 0 errno 0 version now 0x20080522
fsuid 0
setfsuid 1000: old 0 now 1000
robust list: 0 len 24 head set 1
robust list no such: -1 errno 3
"""
QEMU_DIFFERS = (b"subreaper:", b"adopted grandchild", b"robust list")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "procattrs")


def _common(out: bytes) -> list[bytes]:
    return [line for line in out.splitlines() if not line.startswith(QEMU_DIFFERS)]


def test_qemu_agrees_where_it_can(program):
    assert _common(linux_output(program)) == _common(LINUX)


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_attributes_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

"""Calls glibc reaches through other calls (or not at all), made directly
(tests/guest/rawcalls.c), under three compositions.

LINUX is qemu-aarch64's output except one line: qemu 7.2 accepts setrlimit(RLIMIT_STACK) without
applying it (it does not limit its own stack for the guest), so getrlimit reads the old value
back; Linux applies it (kernel/sys.c do_prlimit).
"""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""fstat: 0 errno 0
fstat regular 1 size 0
fstat bad fd: -1 errno 9
fstat bad buffer: -1 errno 14
writev: 12 errno 0
readv: 12 errno 0
readv got 'hel' 'lo world
'
readv too many: -1 errno 22
fsync: 0 errno 0
fdatasync: 0 errno 0
fsync bad fd: -1 errno 9
fchdir: 0 errno 0
cwd ends in sub: 1
fchdir to a file: -1 errno 20
renameat2 noreplace onto existing: -1 errno 17
renameat2 exchange: 0 errno 0
exchanged: f size 0 g size 12
renameat2 bad flags: -1 errno 22
renameat2 noreplace to new: 0 errno 0
nanosleep: 0 errno 0
nanosleep bad: -1 errno 22
sched_yield: 0 errno 0
getrlimit: 0 errno 0
stack 8 MiB: 1
setrlimit: 0 errno 0
stack now 4 MiB: 1
getrlimit bad: -1 errno 22
uname: 0 errno 0
sysname Linux machine aarch64
uname bad: -1 errno 14
tkill self: 0 errno 0
got 10
tkill bad tid: -1 errno 22
getsid of self by pid: 1
getsid no such: -1 errno 3
getresgid: 0 errno 0
gids 0 0 0
setregid: 0 errno 0
gids 10 20 20
setgid: 0 errno 0
gids 30 30 30
setfsgid old 30
capset drop chown: 0 errno 0
chown effective 0 permitted 1
capset back: 0 errno 0
capset another: -1 errno 1
vhangup in a new session: 0 errno 0
setreuid: 0 errno 0
setreuid back to root: -1 errno 1
capset raise after root is gone: -1 errno 1
vhangup without CAP_SYS_TTY_CONFIG: -1 errno 1
"""
QEMU_DIFFERS = (b"stack now",)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "rawcalls")


def _common(out: bytes) -> list[bytes]:
    return [line for line in out.splitlines() if not line.startswith(QEMU_DIFFERS)]


def test_qemu_agrees_where_it_can(program):
    assert _common(linux_output(program)) == _common(LINUX)


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_direct_calls_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

"""flock and fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and the OFD forms) as Linux answers
them, between open files and processes, under three compositions (tests/guest/fslocks.c says
what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 5.15 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""flock ex 0 other nb -11 sh nb -11
same description 0 to shared 0 other shared 0 other ex -11
conversion that fails drops the lock 0 then other ex -11
unlock 0 and 0 again 0
a dup keeps it: -11 last close releases: 0
errors: 0 -22 sh|ex -22 nb -22 bad fd -9 mand 0
child: inherited 0 own file -11
child: waits
parent: releases
child: got it 0
parent: after the child's exit 0
setlk 0 own overlap 0 unlock middle 0
self: getlk 0 type 2
child whole: getlk type 1 start 0 len 40 pid parent
child hole: getlk 0 type 2
child right: getlk type 1 start 60 len 40 pid parent
child: setlk -11 in the hole 0 to the end 0
parent sees the child's: getlk type 0 start 45 len 5 pid other
parent sees the child's end: getlk type 1 start 100 len 0 pid other
after its exit: getlk 0 type 2
merge 0 and 0 downgrade 0
child merged: getlk type 0 start 200 len 20 pid parent
child downgraded: getlk type 0 start 0 len 10 pid parent
child: read beside a read 0
child after the parent's close: getlk 0 type 2
child: setlk -11, waits
parent: unlocks
child: setlkw 0
parent: byte 1 would deadlock -35
child: waits for byte 0 0
errors: whence -22 type -22 getlk unlck -22 negative start -22 len -22 back 0
write on read-only -9 read on write-only -9 unlock on read-only 0 bad pointer -14 bad fd -9
ofd setlk 0 other description -11 same description 0
ofd: getlk type 1 start 0 len 10 pid -1
posix lock of the same process -11
posix getlk: getlk type 1 start 0 len 10 pid -1
ofd with a pid -22
another close keeps it -11 one of two descriptors -11 the description's last 0
child: getlk type 1 start 0 len 1 pid -1
child: inherited description 0
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fslocks")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fslocks", since=(5, 15)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fslocks_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("flock", "fcntl"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

"""statfs, fstatfs, fallocate, fchown, fchownat and fchmodat2 as Linux answers them on a tmpfs,
under three compositions (tests/guest/fsattrs.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.6 or later (this machine's, natively, on tmpfs; tests/linux_native.py)
LINUX = b"""statfs: tmpfs 1 bsize 4096 frsize 4096 namelen 255 rdonly 0
statfs: blocks 1 free <= blocks 1 avail == free 1 files 1 ffree <= files 1
fstatfs same type 1 bsize 1
a 256 KiB write uses blocks 1
pipe: pipefs 1
proc: 1
statfs errors: missing -2 bad fd -9 bad buf -14
fallocate 0: 0 size 10000 keep size: 0 size 10000 within: 0 size 10000
punch: 0 size 10000
punched bytes ab....ghij
punch without keep -95 zero range -95 collapse -95 insert -95 unknown -95
bad: offset -22 len -22 overflow -27 fd -9
read-only -9 dir -9 pipe -29 -9 device -19
new file: uid 0 gid 0 statx 0 0 mode 0644
fchown 0
after fchown: uid 1000 gid 2000 statx 1000 2000 mode 0644
fchown -1 3000 0
group only: uid 1000 gid 3000 statx 1000 3000 mode 0644
chown of a set-id file 0
set-id bits: uid 5 gid 3000 statx 5 3000 mode 0755
sgid without group exec 0
kept: uid 6 gid 6 statx 6 6 mode 2644
lchown 0
link: uid 7 gid 8 statx 7 8 mode 0777
its target: uid 6 gid 6 statx 6 6 mode 2644
empty path 0
by descriptor: uid 9 gid 9 statx 9 9 mode 2644
errors: flags -22 missing -2 bad fd -9 empty -2
unprivileged: chown -1
its own file: uid 100 gid 100 statx 100 100 mode 0644
give away -1 keep 0 other group -1
fchmodat2 0 follows: uid 0 gid 0 statx 0 0 mode 0640
symlink itself -95 flags -22 empty path 0
by descriptor: uid 0 gid 0 statx 0 0 mode 0604
regular with nofollow 0 missing -2
cleaned 0
"""

# qemu-aarch64's: the same but where it does not know a call (fchmodat2, Linux 6.6: ENOSYS,
# so the mode stays 0600)
QEMU = (
    LINUX[: LINUX.index(b"fchmodat2 0")]
    + b"""fchmodat2 -38 follows: uid 0 gid 0 statx 0 0 mode 0600
symlink itself -38 flags -38 empty path -38
by descriptor: uid 0 gid 0 statx 0 0 mode 0600
regular with nofollow -38 missing -38
cleaned 0
"""
)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fsattrs")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fsattrs", since=(6, 6)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == QEMU


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fsattrs_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("statfs", "fstatfs", "fallocate", "fchown", "fchownat", "fchmodat2"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

"""openat2 (struct open_how, RESOLVE_*) and openat's O_CREAT | O_DIRECTORY as Linux answers
them, under three compositions (tests/guest/fsopen.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.6 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""openat2 0 size 23 -22 32 zero tail 1 32 tail set -7 4097 -7 bad pointer -14
fields: unknown flag -22 mode without O_CREAT -22 bad mode -22 O_CREAT|O_DIRECTORY -22
unknown resolve -22 beneath and in root -22 O_PATH|O_RDWR -22 cached create -11 cached 0
create 0 mode 416 openat O_CREAT|O_DIRECTORY -22 made -2
no symlinks: file 0 link -40 through a dir link -40 nofollow link -40
beneath: file 0 link 0 up and back -18 absolute -18 absolute link -18
link up -18 down and up 0
in root: /file 0 ../../file 0 absolute link -2 link up -2
magic link 0 no magic links -40 no symlinks -40 beneath /proc -18
no xdev: file 0 out of the mount -18 into /proc -18 plain 0
errors: missing -2 bad dirfd -9 not a dir -20
cleaned 0
"""

# qemu-aarch64's: the same but where it does not know a call (openat2,
# Linux 5.6: ENOSYS)
QEMU = b"""openat2 -38 size 23 -38 32 zero tail 0 32 tail set -38 4097 -38 bad pointer -38
fields: unknown flag -38 mode without O_CREAT -38 bad mode -38 O_CREAT|O_DIRECTORY -38
unknown resolve -38 beneath and in root -38 O_PATH|O_RDWR -38 cached create -38 cached -38
create -38 mode 0 openat O_CREAT|O_DIRECTORY -22 made -2
no symlinks: file -38 link -38 through a dir link -38 nofollow link -38
beneath: file -38 link -38 up and back -38 absolute -38 absolute link -38
link up -38 down and up -38
in root: /file -38 ../../file -38 absolute link -38 link up -38
magic link -38 no magic links -38 no symlinks -38 beneath /proc -38
no xdev: file -38 out of the mount -38 into /proc -38 plain -38
errors: missing -38 bad dirfd -38 not a dir -38
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fsopen")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fsopen", since=(6, 6)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == QEMU


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fsopen_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("openat2", "openat"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

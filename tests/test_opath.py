"""O_PATH descriptors as Linux makes them (tests/guest/opath.c says what each line checks):
the calls that take one (fstat, fstatfs, fchdir, dup, fcntl's descriptor commands, a dirfd,
an empty path) and those that refuse it (EBADF: read, write, lseek, ioctl, fsync, mmap, ...);
an O_PATH open of a FIFO (no wait) and of a symlink with O_NOFOLLOW (the link itself)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.18 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""open O_PATH: 1; F_GETFL O_PATH 1, access 0
read -9 readv -9 pread -9; write -9 writev -9 pwrite -9
lseek -9 getdents64 -9 ioctl -9 fsync -9 fchmod -9 fchown -9
ftruncate -9 flock -9 mmap -9 epoll_ctl -9
fstat 0 size 5 fstatfs 0 fstatat empty 0; dup 1 dup3 40 F_DUPFD 50 F_SETFL -9 F_GETFD 0 F_GETLK -9
fchownat empty 0 close 0; the file was not truncated: 5 bytes
O_PATH dir: faccessat 0 fchdir 0 file there 0 back 0; read -9 getdents64 -9
O_PATH|O_NOFOLLOW link: 1 fstat 0 a link 1 readlinkat empty 4 "file";
the link: O_DIRECTORY -20; as a dirfd -20
readlinkat empty: a file -2 the cwd -2 a bad fd -9
O_PATH fifo: 1 (no wait); write -9
O_PATH|O_CREAT of a missing file -2
cleaned 0
"""

# qemu-aarch64 7.2 answers a vector of no entries itself (0) before the descriptor's checks
QEMU = LINUX.replace(b"readv -9", b"readv 0").replace(b"writev -9", b"writev 0")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "opath")


def test_linux_answers_so(tmp_path_factory):
    assert native_output(tmp_path_factory, "opath", since=(6, 18)) == LINUX


def test_qemu_answers_so(program):
    assert linux_output(program, tmpfs_dir()) == QEMU


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_hmk_answers_as_linux(program, system):
    out, result = run(program, "/tmp", system=system)
    assert (out, result.exit_status) == (LINUX, 0)

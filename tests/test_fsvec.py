"""preadv, pwritev, preadv2, pwritev2, sync_file_range, readahead, fdatasync and close_range as
Linux answers them on a tmpfs, under three compositions (tests/guest/fsvec.c says what each line
checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.17 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""pwritev 18 pos 0
preadv 18 pos 0 got hell and o vector world
pwritev2 at -1 6 pos 6
preadv2 at -1 12 pos 22 got vect and or world
flags on a file: hipri 5 dsync 5 sync 5 read sync 4
nowait read -95 nowait write -95 atomic -95 dontcache -95
append at 0 5 pos kept 1 size 27 append at -1 5 pos 32
append|noappend -22 unknown -95 empty vector with bad flags 0 bad flags on a read-only file -9
errors: negative -22 -2 for v2 -22 bad fd -9 bad vector -14 too many -22 read-only pwritev -9
pipe: preadv -29 pwritev2 at -1 5 preadv2 at -1 4 got hell
nowait on the rest 1 nowait on empty -11
no reader, nosignal -32
sync_file_range 0 all flags 0 bad flags -22 negative -22 overflow -22 pipe -29 bad fd -9
readahead 0 beyond the end 0 pipe -22 write-only -9 bad fd -9 dir -22
fdatasync 0 fsync 0 bad fd -9
close_range 21..22 0 open 1 open 0 open 0 open 1 open 1
cloexec 23..~0 0 flags 1 flags 1 unshare 0 still open 0
errors: first > last -22 flags -22 empty range 0
cleaned 0
"""

# qemu-aarch64's: the same but where it does not know a call (preadv2 and pwritev2:
# glibc answers EOPNOTSUPP for any RWF_* flag)
QEMU = b"""pwritev 18 pos 0
preadv 18 pos 0 got hell and o vector world
pwritev2 at -1 6 pos 6
preadv2 at -1 12 pos 22 got vect and or world
flags on a file: hipri -95 dsync -95 sync -95 read sync -95
nowait read -95 nowait write -95 atomic -95 dontcache -95
append at 0 -95 pos kept 1 size 22 append at -1 -95 pos 3
append|noappend -95 unknown -95 empty vector with bad flags -95 bad flags on a read-only file -95
errors: negative -22 -2 for v2 -22 bad fd -9 bad vector -14 too many -22 read-only pwritev -9
pipe: preadv -29 pwritev2 at -1 5 preadv2 at -1 4 got hell
nowait on the rest -95 nowait on empty -95
no reader, nosignal -95
sync_file_range 0 all flags 0 bad flags -22 negative -22 overflow -22 pipe -29 bad fd -9
readahead 0 beyond the end 0 pipe -22 write-only -9 bad fd -9 dir -22
fdatasync 0 fsync 0 bad fd -9
close_range 21..22 0 open 1 open 0 open 0 open 1 open 1
cloexec 23..~0 0 flags 1 flags 1 unshare 0 still open 0
errors: first > last -22 flags -22 empty range 0
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fsvec")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fsvec", since=(6, 17)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == QEMU


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fsvec_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in (
        "preadv",
        "pwritev",
        "preadv2",
        "pwritev2",
        "sync_file_range",
        "readahead",
        "fdatasync",
        "close_range",
    ):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

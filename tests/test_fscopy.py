"""sendfile, copy_file_range, splice, tee and vmsplice as Linux answers them on a tmpfs, under three
compositions (tests/guest/fscopy.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.6 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""sendfile 5000 in pos 5000 out pos 5000 bytes 10 [000000499 ]
at 8000 2000 offset 10000 in pos 5000 out pos 7000 at the end 0
to a pipe 9 bytes 9 [000000002] to /dev/null 3000
errors: write-only in -9 read-only out -9 pipe in -22 append out -22
negative offset -22 bad offset pointer -14 bad fd -9 count 0 0 dir in -22
full pipe, nonblocking -11 no reader -32
copy_file_range 4000 offsets 4000 and 4100 positions 0 and 0 bytes 10 [000000000 ]
by position, short at the end 5 positions 10000 and 5 at the end 0
same file overlapping -22 not overlapping 100 overlap past the end is cut first 0
errors: flags -22 append out -9 write-only in -9 pipe -22 dir -21
negative offset -75 bad offset pointer -14 bad fd -9 len 0 0
from a memfd (another file system) -18 at its end -18
file to pipe 25 offset 55 position 0 pipe to file 5 offset 12 bytes 5 [00000]
by position 5 position 5 pipe to pipe 8 bytes 8 [00000000] left 7 [4 00000]
errors: no pipe -22 offset on a pipe -29 same pipe -22 flags -22 len 0 with bad flags 0
append out -22 write-only in -9 read end as out -9 bad fd -9 bad offset pointer -14
empty pipe, nonblocking -11 no writer 0
tee 5 copy 5 [hello] original 11 [hello world]
errors: same pipe -22 not pipes -22 flags -22 len 0 0
write end in -9 empty nonblocking -11 no writer 0
vmsplice in 6 out 4 bytes abcd left 2 [ef]
errors: not a pipe -9 flags -22 bad fd -9 empty 0 bad vector -14
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fscopy")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fscopy", since=(6, 6)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fscopy_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("sendfile", "copy_file_range", "splice", "tee", "vmsplice"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

"""utimensat and futimens as Linux answers them (files are stamped with the wall clock), under
three compositions, against qemu-aarch64 (tests/guest/utimes.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""set 0
given: atime 1000000000.000000123 mtime 1100000000.000000456
omit atime 0
omitted: atime 1000000000.000000123 mtime 1200000000.000000789
now 0
atime now is later 1 mtime kept 1200000000
on the link 0
link: atime 1300000000.000000000 mtime 1300000000.000000001
its target: atime after 2020 1 mtime 1200000000
bad nsec -22 missing -2 bad flags -22 bad fd -9
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "utimes")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_file_times_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

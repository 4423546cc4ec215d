"""symlinkat and linkat as Linux answers them, under three compositions, against qemu-aarch64
(tests/guest/links.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""symlink 0 again -17 empty -2
readlink 10 /tmp/l.txt
through the symlink 5 hello
link 0 nlink 2 2
link again -17 missing -2 dir -1 flags -22
link to the symlink itself 0 nlink 2
unlink 0 nlink 1
the other name 5 hello dangling -2
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "links")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_links_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    assert (
        result.stats["shim.syscalls.symlinkat"] >= 3 and result.stats["shim.syscalls.linkat"] >= 5
    )

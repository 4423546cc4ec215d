"""memfd_create as Linux answers it, under three compositions, against qemu-aarch64
(tests/guest/memfd.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""memfd ok cloexec 1
write 11
pread 11 hello memfd
ftruncate 0
fstat reg 1 size 8192 mode 0777
through the mapping 6 mapped first h
child reads 5 hello
bad flags -22 long name -22
plain cloexec 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "memfd")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_memfd_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    assert result.stats["frames.fsmgr.pagecache.in_use"] == 0  # freed with its last user

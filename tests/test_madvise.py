"""madvise as Linux answers it (tests/guest/madvise.c), and a write to a private file mapping,
under four compositions (with the memory manager beside the file manager or apart), against
qemu-aarch64. qemu-aarch64 7.2 accepts any advice on any range, so the errors' line is Linux's
own (mm/madvise.c: unknown advice EINVAL, MADV_REMOVE on a private mapping EINVAL, a range not
mapped ENOMEM)."""

import pytest
from guest_programs import build, linux_output, run

COMMON = b"""dontneed 0 -> 97 0 97
private file x dontneed 0 -> f
shared dontneed 0 -> s
hints 0 0 0 -> b
"""
ERRORS = b"unaligned -22 bad advice -22 remove private -22 unmapped -12\n"


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "madvise")


def test_qemu_agrees_but_for_the_errors(program):
    assert linux_output(program).startswith(COMMON)


@pytest.mark.parametrize("system", ["hm-phone", "hm-ic0", "linux", "sel4", "hybrid"])
def test_madvise_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (COMMON + ERRORS, 0)

"""umask, fchmod and fchmodat, truncate, faccessat2, fadvise64, sync and syncfs as Linux answers
them, under three compositions, against qemu-aarch64 (tests/guest/filecalls.c)."""

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""umask old 022
umask now 027
created file 0640 dir 0750
child umask 027
fchmod 0 -> 0604
fchmodat 0 -> 04755
fchmod bad fd -9
fchmodat missing -2
truncate 0 size 5000
truncate down 0 size 10
truncate dir -21 negative -22 missing -2
faccessat2 0 -2 bad flags -22
fadvise 0 pipe 29 bad fd 9 bad advice 22
syncfs 0 bad fd -9
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "filecalls")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_the_file_calls_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("umask", "fchmod", "fchmodat", "truncate", "faccessat2", "fadvise64", "syncfs"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

"""select (pselect6) and poll (ppoll) as Linux answers them, under three compositions, against
qemu-aarch64 (tests/guest/selectpoll.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run

# Linux's answers (what qemu-aarch64 prints on this machine's Linux): compared with qemu's when it
# is installed
LINUX = b"""empty: select 0 poll 0
one byte: select 11 poll 0x1
write end: select 11 poll 0x4
hung up: select 11 poll 0x10
closed: select -9 poll 0x20
no reader: select 11 poll 0xc
file: select 11 11 poll 0x5
timeout: select 0 waited 20ms yes
woken: select 11
child status 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "selectpoll")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_select_and_poll_answer_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    assert result.stats["shim.syscalls.pselect6"] >= 10

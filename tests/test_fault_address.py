"""A fault's si_addr is the faulting byte's address, as Linux gives it (FAR_EL1), not its page:
for loads and stores in each addressing mode and for a fetch, against qemu-aarch64."""

import pytest
from guest_programs import build, linux_output, run

from hmk.cpu.far import data_address

CASES = ["base", "offset", "index", "post", "pair", "fetch"]


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "siaddr")


EXPECTED = {  # what Linux reports (qemu-aarch64 agrees: the test below compares when it is here)
    "base": 0x12345678,
    "offset": 0x12346010,
    "index": 0x12345660,
    "post": 0x12345678,
    "pair": 0x12345658,
    "fetch": 0x76543210,
}


@pytest.mark.parametrize("case", CASES)
def test_si_addr_is_the_faulting_address(program, case):
    out, result = run(program, case)
    assert result.exit_status == 0
    assert out == b"signal 11 code 1 addr %#x\n" % EXPECTED[case]


@pytest.mark.parametrize("case", CASES)
def test_linux_gives_the_same_addresses(program, case):
    assert linux_output(program, case) == b"signal 11 code 1 addr %#x\n" % EXPECTED[case]


def test_an_instruction_that_is_no_access_has_no_address():
    assert data_address(bytes.fromhex("1f2003d5"), 0x1000, lambda r: 0) is None  # nop

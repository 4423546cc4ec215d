"""A fault's si_addr is the faulting byte's address, as Linux gives it (FAR_EL1), not its page:
for loads and stores in each addressing mode and for a fetch, against qemu-aarch64."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from hmk.cpu.far import data_address
from hmk.system import run_program

GUEST = Path(__file__).parent / "guest"
CC = shutil.which("aarch64-linux-gnu-gcc")
QEMU = shutil.which("qemu-aarch64")
CASES = ["base", "offset", "index", "post", "pair", "fetch"]


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    if CC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path_factory.mktemp("guest") / "siaddr"
    subprocess.run([CC, "-O1", "-static", "-o", exe, GUEST / "siaddr.c"], check=True)
    return str(exe)


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
    out = io.BytesIO()
    result = run_program(program, [case], out=out, err=io.BytesIO(), warnings=None)
    assert result.exit_status == 0
    assert out.getvalue() == b"signal 11 code 1 addr %#x\n" % EXPECTED[case]
    if QEMU is not None:
        linux = subprocess.run([QEMU, program, case], capture_output=True, check=True).stdout
        assert out.getvalue() == linux


def test_an_instruction_that_is_no_access_has_no_address():
    assert data_address(bytes.fromhex("1f2003d5"), 0x1000, lambda r: 0) is None  # nop

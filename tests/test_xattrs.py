"""The twelve extended-attribute calls as Linux answers them on a tmpfs, under three compositions
(tests/guest/xattrs.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.13 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""set 0 size 3 get 3 value one small buffer -34 missing -61
create existing -17 replace missing -61 both, missing -61 both, existing -17 bad flags -22
replace 0 create 0 empty value 0 trusted 0 another 0
list 31 [user.b,user.a,user.0,trusted.t] size 31 small -34
64 KiB 0 read back 65536 one more -7 removed 0 again -61
names: 255 bytes 0 removed 0 256 -34 get 256 -34 empty -34 prefix only -22
unknown namespace -95 get -95 remove -95 system -95
errors: missing file -2 bad name pointer -14 bad value pointer -14
bad list pointer -14 bad fd -9 bad fd, bad flags -22
through a link 3 the link itself -61 user on a link -1 trusted on a link 0
its list 10 [trusted.x] remove user -1 trusted 0
fifo: user -1 get -61 trusted 0 dir: user 0 list 7 [user.x]
by descriptor: set 0 get 1 list 39 remove 0 again -61
pipe: user -1 trusted -95 get -95 list 0 procfs get -95
unprivileged: set trusted -1 get trusted -61 remove trusted -1 list 21 [user.b,user.a,user.0]
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "xattrs")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "xattrs", since=(6, 13)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_xattrs_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for op in ("set", "get", "list", "remove"):
        for how in ("", "l", "f"):  # by path, by path of a link itself, by descriptor
            assert result.stats[f"shim.syscalls.{how}{op}xattr"] >= 1

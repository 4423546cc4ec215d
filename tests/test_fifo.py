"""mknodat's nodes, named pipes (FIFOs) and pipe sizes as Linux answers them, under three
compositions (tests/guest/fifo.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 5.5 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""mknod fifo 0 reg 0 zero 0 chr 0 blk 0 sock 0
fifo: type 1 perm 644 rdev 0:0 size 0
reg: type 10 perm 640 rdev 0:0 size 0
zero: type 10 perm 600 rdev 0:0 size 0
chr: type 2 perm 600 rdev 60:7 size 0
blk: type 6 perm 600 rdev 61:300 size 0
sock: type 14 perm 644 rdev 0:0 size 0
errors: exists -17 dir -1 bad type -22 missing dir -2 at bad fd -9
open chr -6 blk -6 sock -6 reg 3
write-only nonblocking, no reader -6
read-only nonblocking 1 read 0
now a writer opens 1 writes 5
read 5
writer gone: read 0
read-write 1 writes 3 reads 3
fstat type 1 lseek -29
bytes left when every end closed: read 0
parent: opens for reading, waits
child: opens for writing
child: writes 14
parent: opened, reads 14 bytes from the child
parent: end of file 0
parent: opens for writing, waits
child: opens for reading
parent: opened, writes 6
child: reads 6 bytes to kid
interrupted open -4
then no reader: -6
restarted open 1 reads 1 byte 114
pipe size 65536
set 1 -> 4096 5000 -> 8192 65536 -> 65536 100000 -> 131072 get 131072
fills 131072
smaller than its bytes -16
drain 126072: 5000 bytes on two pages
to one page -16 to two 8192
drain 5000 then -11
size 8192 bytes fit 8192
and read back 8192
errors: too big -22 not a pipe -9 bad fd -9
fifo size 65536 set 4096
reopened: size 65536
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fifo")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "fifo", since=(5, 5)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_fifo_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("mknodat", "fcntl"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

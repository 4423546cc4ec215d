"""A guest cannot make hmk hold more host memory than its machine has: file growth by holes
(ftruncate, truncate, a write far past the end) and shared anonymous mappings are checked
against the room there is (tests/guest/bigfiles.c says what each line shows)."""

import pytest
from guest_programs import build, run

# hmk's answers. Linux's differ in the first four lines (0, 1, 1, 0: tmpfs keeps holes free,
# while hmk keeps a file's bytes whole and answers ENOSPC past the room a tmpfs has, half the
# RAM) and in the size (1 TiB after its ftruncate); the rest are Linux's, as qemu-aarch64
# gives them, but the last: /dev/null's write never reads the buffer (drivers/char/mem.c
# write_null), where qemu checks it first (EFAULT).
EXPECTED = b"""ftruncate 1 TiB: -1 errno 28
lseek 512 GiB: 1 errno 0
write there: -1 errno 28
truncate 1 TiB: -1 errno 28
shared anonymous 1 TiB: -1 errno 12
pwrite past a hole: 1 errno 0
size: 8388609 errno 0
pread in the hole: 1 errno 0
hole byte 0
write to /dev/null from no buffer: 1073741824 errno 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "bigfiles")


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_growth_past_the_room_is_refused(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (EXPECTED, 0)


def test_the_room_is_half_the_ram(program):
    out = run(program, "40", system="hm-phone", ram=64 << 20)[0]
    assert b"pwrite past a hole: -1 errno 28" in out
    out = run(program, "24", system="hm-phone", ram=64 << 20)[0]
    assert b"pwrite past a hole: 1 errno 0" in out

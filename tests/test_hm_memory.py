"""Frames and address tokens from a guest (workloads/hm/hmmem.c on hmk.kernel.hmcalls): the
expected output follows the core-kernel call semantics (HM-native calls, so no Linux or qemu
reference exists)."""

import errno
import io

import pytest

from hmk.kernel.errors import EBADTYPE
from hmk.system.simulation import run_program
from hmk.workloads import hm_path

EEXIST, EINVAL, ENOENT = -errno.EEXIST, -errno.EINVAL, -errno.ENOENT
EXPECTED = (
    f"frame: alloc 0, map 0, zeroed 0, wrote and read 0x1234, remap {EEXIST}, read-only 0, "
    "unmap 0\n"
    "token: create 0, grant in window 1, word 0x99 then 0x199, wait 0x199, word 0, revoke 0\n"
    f"bad: map outside {EINVAL}, unaligned {EINVAL}, empty slot {ENOENT}, token of a frame "
    f"{EBADTYPE}\n"
)


def _run(*args):
    out = io.BytesIO()
    result = run_program(str(hm_path("hmmem")), list(args), out=out, err=io.BytesIO())
    return result, out.getvalue().decode()


@pytest.fixture(scope="module")
def normal():
    return _run()


def test_frames_and_tokens_behave_as_specified(normal):
    result, out = normal
    assert result.exit_status == 0 and out == EXPECTED


def test_the_token_reads_cost_no_kernel_call(normal):
    result, _ = normal
    s = result.stats
    # the four word reads are plain loads: the only notification calls are the two notifies,
    # the wait and the create
    assert s["kernel.hmcalls.notify"] == 2 and s["kernel.hmcalls.wait"] == 1
    assert s["kernel.tokens.granted"] == 1


def test_pools_after_the_run(normal):
    result, _ = normal
    s = result.stats
    assert s["kernel.pool.frame.in_use"] == 1  # its capability is still held
    assert s["kernel.pool.notification.in_use"] == 1
    # the program's token is revoked; the memory manager holds none in kernel space (IC1)
    assert s["kernel.pool.token.in_use"] == 0


def test_reading_through_a_revoked_token_is_sigsegv():
    result, out = _run("after-revoke")
    assert out == EXPECTED
    assert result.exit_status == 139 and "not mapped" in result.fault

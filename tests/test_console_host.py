"""When the host cannot take the console's bytes (hmk's standard output on a full disk, or a
pipe whose reader has gone), the guest gets what qemu-user's guest gets: the host's errno from
its write (ENOSPC, EPIPE with SIGPIPE), never an hmk internal error."""

import errno
import io

import pytest
from guest_programs import build

from hmk.system import run_program
from hmk.workloads import path


class Refusing(io.RawIOBase):
    def __init__(self, code):
        self.code = code

    def writable(self):
        return True

    def write(self, data):
        raise OSError(self.code, "refused")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "fullout")


@pytest.mark.parametrize("system", ["linux", "hm-phone"])
def test_a_full_disk_is_the_guests_enospc(program, system):
    err = io.BytesIO()
    result = run_program(program, [], system=system, out=Refusing(errno.ENOSPC), err=err)
    # qemu-aarch64 /path/to/fullout > /dev/full prints the same
    assert err.getvalue() == b"write: -1 No space left on device\n"
    assert result.exit_status == 0


def test_a_closed_pipe_is_sigpipe(program):
    result = run_program(
        str(path("hello")), [], system="hm-phone", out=Refusing(errno.EPIPE), err=io.BytesIO()
    )
    assert result.exit_status == 128 + 13  # SIGPIPE's default action, as in `prog | true`

"""ioctls on sockets (hmk.services.netctl), a file's owner (hmk.services.fsowner), a pipe's
FIONREAD and a timerfd's TFD_IOC_SET_TICKS: tests/guest/sockioctl.c under four compositions
against this machine's own Linux in a network namespace whose only interface is the loopback
(qemu-aarch64 7.2 does not translate SIOCOUTQNSD and aborts on SIOCGIFCONF with a bad buffer;
the program prints nothing that differs by architecture)."""

import shutil
import subprocess
import sys

import pytest
from guest_programs import GUEST, build, run

SYSTEMS = ("hm-phone", "linux", "sel4", "fiasco")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "sockioctl")


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    cc = shutil.which("cc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("no host C compiler on Linux")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip is not installed")
    exe = tmp_path_factory.mktemp("host") / "sockioctl"
    subprocess.run([cc, "-O1", "-o", exe, GUEST / "sockioctl.c"], check=True)
    up = 'ip link set lo up && exec "$@"'
    done = subprocess.run(["unshare", "-n", "sh", "-c", up, "sh", exe], capture_output=True)
    if done.returncode and not done.stdout:
        pytest.skip(f"no network namespace: {done.stderr.decode(errors='replace').strip()}")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("system", SYSTEMS)
def test_socket_ioctls_answer_as_linux(program, native, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (native, 0)
    assert b"tcp inq 10 outq 0" in out and b"ifconf: 0 len 40 lo 2 127.0.0.1" in out
    assert result.stats["services.netmgr.work.ioctl"] > 10

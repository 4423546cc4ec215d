"""Socket ioctls (hmk.services.netctl), a file's owner (hmk.services.fsowner), a pipe's
FIONREAD and a timerfd's TFD_IOC_SET_TICKS (tests/guest/sockioctl.c), and the socket options
of tests/guest/sockopts2.c (hmk.services.sockopts), under several compositions against this
machine's own Linux, run on CPU 0 in a network namespace whose only interface is the loopback:
qemu-aarch64 7.2 does not translate SIOCOUTQNSD or IP_MTU, nor SO_INCOMING_CPU and
SO_RESERVE_MEM, and aborts on SIOCGIFCONF with a bad buffer; the programs print nothing that
differs by architecture."""

import shutil
import subprocess
import sys

import pytest
from guest_programs import GUEST, build, run

PROGRAMS = ("sockioctl", "sockopts2")
SYSTEMS = ("hm-phone", "linux", "sel4", "fiasco", "hybrid")


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return {name: build(tmp_path_factory, name) for name in PROGRAMS}


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """name -> what the program prints built for this machine and run on its Linux."""
    cc = shutil.which("cc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("no host C compiler on Linux")
    if not all(shutil.which(tool) for tool in ("unshare", "ip", "taskset")):
        pytest.skip("unshare, ip or taskset is not installed")
    outputs = {}
    for name in PROGRAMS:
        exe = tmp_path_factory.mktemp("host") / name
        subprocess.run([cc, "-O1", "-o", exe, GUEST / f"{name}.c"], check=True)
        up = 'ip link set lo up && exec "$@"'
        cmd = ["unshare", "-n", "sh", "-c", up, "sh", "taskset", "-c", "0", exe]
        done = subprocess.run(cmd, capture_output=True)
        if done.returncode and not done.stdout:
            pytest.skip(f"no network namespace: {done.stderr.decode(errors='replace')}")
        assert done.returncode == 0, done.stderr
        outputs[name] = done.stdout
    return outputs


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_socket_controls_answer_as_linux(programs, native, name, system):
    out, result = run(programs[name], system=system)
    assert (out, result.exit_status) == (native[name], 0)
    if name == "sockioctl":
        assert b"tcp inq 10 outq 0" in out and b"ifconf: 0 len 40 lo 2 127.0.0.1" in out
        assert result.stats["services.netmgr.work.ioctl"] > 10
    else:
        assert b"set defer 5: 0\ndefer: 0 7\n" in out and b"ip_mtu: 0 65535" in out

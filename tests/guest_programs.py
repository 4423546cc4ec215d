"""Small C test programs of tests/guest/, built for AArch64 at test time (static glibc), and
run under qemu-aarch64 for Linux's own answers."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest

GUEST = Path(__file__).parent / "guest"
CC = shutil.which("aarch64-linux-gnu-gcc")
QEMU = shutil.which("qemu-aarch64")


def build(tmp_path_factory, name: str) -> str:
    """tests/guest/NAME.c as a static AArch64 executable (skip without the cross compiler)."""
    if CC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path_factory.mktemp("guest") / name
    subprocess.run([CC, "-O1", "-static", "-o", exe, GUEST / f"{name}.c"], check=True)
    return str(exe)


def linux_output(program: str, *args: str) -> bytes:
    """What the program prints on Linux (qemu-aarch64 on this machine's kernel)."""
    if QEMU is None:
        pytest.skip("qemu-aarch64 is not installed")
    return subprocess.run([QEMU, program, *args], capture_output=True, check=True).stdout


def loopback_output(program: str, *args: str) -> bytes:
    """What the program prints on a Linux machine whose only network is the loopback:
    qemu-aarch64 in a network namespace of its own (unshare -n) with `lo` up (skip where no
    namespace can be made)."""
    if QEMU is None:
        pytest.skip("qemu-aarch64 is not installed")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip is not installed")
    up = 'ip link set lo up && exec "$@"'
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", up, "sh", QEMU, program, *args], capture_output=True
    )
    if done.returncode and not done.stdout:
        pytest.skip(f"no network namespace: {done.stderr.decode(errors='replace').strip()}")
    assert done.returncode == 0, done.stderr
    return done.stdout


def run(program: str, *args: str, system: str = "hm-phone"):
    """(what the program printed, its RunResult) on hmk under `system`."""
    from hmk.system import run_program  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(
        program, list(args), system=system, out=out, err=io.BytesIO(), warnings=None
    )
    return out.getvalue(), result

"""Futexes between processes and futex_waitv (hmk.services.procfutex): tests/guest/futexes.c
against qemu-aarch64, tests/guest/futex_waitv.c against this machine's own Linux (qemu 7.2 does
not translate futex_waitv), each under three compositions."""

import shutil
import subprocess
import sys

import pytest
from guest_programs import GUEST, build, linux_output, run

SYSTEMS = ("hm-phone", "linux", "sel4", "hybrid")


@pytest.fixture(scope="module")
def futexes(tmp_path_factory):
    exe = build(tmp_path_factory, "futexes")
    return exe, linux_output(exe)


@pytest.fixture(scope="module")
def waitv(tmp_path_factory):
    exe = build(tmp_path_factory, "futex_waitv")
    cc = shutil.which("cc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("no host C compiler on Linux")
    host = tmp_path_factory.mktemp("host") / "futex_waitv"
    subprocess.run([cc, "-O1", "-o", host, GUEST / "futex_waitv.c"], check=True)
    native = subprocess.run([host], capture_output=True, check=True).stdout
    if b"flags: -38" in native:
        pytest.skip("this machine's Linux has no futex_waitv (5.16 or later has)")
    return exe, native


@pytest.mark.parametrize("system", SYSTEMS)
def test_futexes_between_processes_answer_as_linux(futexes, system):
    exe, want = futexes
    out, result = run(exe, system=system)
    assert (out, result.exit_status) == (want, 0)
    assert b"child: shared wait 0" in out and b"shared wake woke 1" in out


@pytest.mark.parametrize("system", SYSTEMS)
def test_futex_waitv_answers_as_linux(waitv, system):
    exe, want = waitv
    out, result = run(exe, system=system)
    assert (out, result.exit_status) == (want, 0)
    assert b"child: woken from futex 2" in out
    assert result.stats["shim.syscalls.futex_waitv"] > 0

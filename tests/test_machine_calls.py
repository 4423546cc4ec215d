"""sysinfo and CPU affinity as Linux answers them (tests/guest/sysinfo.c), on one modelled core
(cores=1; tests/test_smp_abi.py has several), so the affinity mask is CPU 0 and the kernel's
mask is one long: Linux on a one-CPU machine (NR_CPUS <= 64) gives the same. qemu-aarch64 runs
on this machine's CPUs, so its affinity lines are the host's; every other line is compared
with it."""

import pytest
from guest_programs import build, linux_output, run

ONE_CPU = b"""sysinfo 0 unit 1 ram big free some procs some swap 0
sysinfo fault -14
getaffinity 8 mask 0x1
getaffinity small -22 odd -22 nobody -3
setaffinity cpu0 0 cpu5-only -22
nprocs 1
"""
HOST_SPECIFIC = (b"getaffinity ", b"nprocs ")


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "sysinfo")


def _portable(text: bytes) -> list[bytes]:
    return [line for line in text.splitlines() if not line.startswith(HOST_SPECIFIC)]


def test_qemu_agrees_where_the_host_does_not_show(program):
    linux = linux_output(program)
    assert _portable(linux) == _portable(ONE_CPU)
    assert b"getaffinity small -22 odd -22 nobody -3" in linux


@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_sysinfo_and_affinity_answer_as_linux_on_one_cpu(program, system):
    out, result = run(program, system=system, cores=1)
    assert (out, result.exit_status) == (ONE_CPU, 0)

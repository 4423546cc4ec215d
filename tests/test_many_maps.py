"""A process with many mappings (more than the kernel's region table holds: the rest is the
memory manager's), against qemu-aarch64 (tests/guest/manymaps.c); and thread and fork bombs
stopped by EAGAIN (tests/guest/bombs.c: Linux's limits are far higher than hmk's, so its
expected output is Linux's behaviour at a limit, not qemu's run)."""

import pytest
from guest_programs import build, linux_output, run

MANY = b"""mapped 300 failed 0 sum 17202
child sum 8676
child status 0
"""
BOMBS = b"threads stopped: 11 (made some: 1)\nfork stopped: 11 (made some: 0)\n"
SYSTEMS = ["hm-phone", "linux", "sel4", "hybrid"]


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return {name: build(tmp_path_factory, name) for name in ("manymaps", "bombs")}


def test_qemu_agrees_with_the_expected_output(programs):
    assert linux_output(programs["manymaps"]) == MANY


@pytest.mark.parametrize("system", SYSTEMS)
def test_many_mappings_work_past_the_region_table(programs, system):
    out, result = run(programs["manymaps"], system=system)
    assert (out, result.exit_status) == (MANY, 0)
    assert result.stats["services.memmgr.regions_overflowed"] > 0


@pytest.mark.parametrize("system", SYSTEMS)
def test_thread_and_fork_bombs_end_in_eagain(programs, system):
    out, result = run(programs["bombs"], system=system)
    assert (out, result.exit_status) == (BOMBS, 0)

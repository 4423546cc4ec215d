"""Out of memory, as Linux's OOM killer (mm/oom_kill.c) handles it: the process with the most
resident memory gets SIGKILL and the kill is logged; the run goes on with the others (the
faulting access runs again once the victim is gone). `--ram` / `ram` sizes the machine.

qemu-aarch64 cannot show this (its guest has the host's memory), so the expected outputs are
written from Linux's rules: tests/guest/oomkill.c says what each case should print."""

import pytest
from guest_programs import build, run

RAM = 64 << 20


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "oomkill")


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_the_largest_process_is_killed_and_the_faulting_one_goes_on(program, system):
    out, result = run(program, "40", "30", system=system, ram=RAM)
    assert out == b"child ready 1\nparent touched 30 MiB\nchild signaled 1 signal 9\n"
    assert result.exit_status == 0
    assert result.stats["kernel.oom_kills"] == 1
    (line,) = [w for w in result.warnings if "Out of memory" in w]
    assert line.startswith("kernel: Out of memory: Killed process 4 (oomkill) total-vm:")
    rss_kib = int(line.split("anon-rss:")[1].split("kB")[0])
    assert 40 << 10 <= rss_kib < 48 << 10  # the child's 40 MiB and its share of the program


@pytest.mark.parametrize("system", ["linux", "hm-phone"])
def test_the_faulting_process_is_killed_when_it_is_the_largest(program, system):
    out, result = run(program, "8", "80", system=system, ram=RAM)
    assert out == b"child ready 1\n"
    assert result.exit_status == 128 + 9  # the first process was killed: the run ends
    assert any("Killed process 3 (oomkill)" in w for w in result.warnings)


def test_the_same_memory_fits_in_a_bigger_machine(program):
    out, result = run(program, "40", "30", system="hm-phone", ram=256 << 20)
    assert out == b"child ready 1\nparent touched 30 MiB\nchild signaled 1 signal 15\n"
    assert result.stats.get("kernel.oom_kills", 0) == 0

"""The process manager (hmk.services.procmgr) on a real program: minish forks, execs a bundled
program with a pipe between them, waits, and forks again (expected output: Linux semantics,
tests/workload_expectations.py; qemu-aarch64 agrees where it can follow, test_workloads_qemu)."""

import io

import pytest
from workload_expectations import expected

from hmk.system import load_system
from hmk.system.simulation import run_program
from hmk.workloads import path

PRESETS = ["linux", "hm-phone", "sel4", "hybrid"]


def _run(args=(), **kw):
    out = io.BytesIO()
    result = run_program(str(path("minish")), list(args), out=out, err=io.BytesIO(), **kw)
    return result, out.getvalue()


@pytest.mark.parametrize("system", PRESETS)
def test_minish_gives_linux_output_under_every_preset(system):
    result, out = _run(system=system)
    assert (out, result.exit_status) == expected("minish")
    assert result.stats["services.procmgr.forks"] == 2
    # copy-on-write: most shared pages are never copied
    assert (
        result.stats["services.memmgr.cow.copies"]
        < result.stats["services.procmgr.fork.pages_shared"] / 4
    )


def test_exited_children_give_back_their_kernel_objects():
    result, _ = _run(system="hm-phone")
    s = result.stats
    services = load_system("hm-phone").booted_domains
    # only the service domains and the shell's memory remain (the run ends as the shell exits,
    # its thread already gone): both children were reaped and gave everything back
    assert s["kernel.pool.vspace.in_use"] == services + 1
    assert s["kernel.pool.cspace.in_use"] == services + 1
    assert s["kernel.pool.tcb.in_use"] == services


def test_a_failed_exec_is_enoent_in_the_child_and_127_for_the_parent():
    result, out = _run(["/nonexistent", "x"])
    assert (out, result.exit_status) == expected("minish", ["/nonexistent", "x"])


def test_fork_runs_are_deterministic():
    a, _ = _run()
    b, _ = _run()
    assert a.cycles == b.cycles and a.stats == b.stats


@pytest.mark.parametrize("system", PRESETS)
@pytest.mark.parametrize("tick_us", [4000, 5])  # 5 us: preempted while they run
def test_two_threads_share_a_counter_under_every_preset(system, tick_us):
    out = io.BytesIO()
    result = run_program(
        str(path("threads")),
        ["3000"],
        system=system,
        tick_us=tick_us,
        out=out,
        err=io.BytesIO(),
    )
    assert (out.getvalue(), result.exit_status) == expected("threads", ["3000"])
    assert result.stats["services.procmgr.threads"] == 1
    assert result.stats["shim.syscalls.futex"] >= 1  # pthread_join waits on the tid word


@pytest.mark.parametrize("system", PRESETS)
def test_waitid_statx_and_credentials_under_every_preset(system):
    out = io.BytesIO()
    result = run_program(str(path("procinfo")), [], system=system, out=out, err=io.BytesIO())
    assert (out.getvalue(), result.exit_status) == expected("procinfo")
    assert result.stats["shim.syscalls.waitid"] >= 7  # + restarts of the blocked ones
    # every child was reaped and gave back its kernel objects
    services = load_system(system).booted_domains
    assert result.stats["kernel.pool.vspace.in_use"] == services + 1


@pytest.mark.parametrize("system", PRESETS)
def test_sleeps_and_timeouts_under_every_preset(system):
    """nanosleep, futex, condition-variable and ppoll timeouts end on the simulated clock;
    with nothing else to run the core idles until the first one (charged as idle)."""
    out = io.BytesIO()
    result = run_program(str(path("timers")), ["rtc"], system=system, out=out, err=io.BytesIO())
    assert (out.getvalue(), result.exit_status) == expected("timers", ["rtc"])
    s = result.stats
    assert s["kernel.timeouts"] >= 6  # 2 sleeps, a futex, a condvar, a ppoll, the child's sleep
    assert s["kernel.cycles.idle"] > 0.9 * result.cycles  # ~48 ms asleep, ~0.1 ms of work
    assert result.seconds >= 0.045


def test_timed_runs_are_deterministic():
    runs = [
        run_program(str(path("timers")), [], out=io.BytesIO(), err=io.BytesIO()) for _ in (0, 1)
    ]
    assert runs[0].cycles == runs[1].cycles and runs[0].stats == runs[1].stats


@pytest.mark.parametrize("system", PRESETS)
def test_vfork_and_posix_spawn_under_every_preset(system):
    """A vfork child borrows its parent's memory (posix_spawn learns of a failed exec through
    it) and its parent waits; each exec'd child runs its own program's code (the CPU's
    translated code of another image is dropped on the switch)."""
    out = io.BytesIO()
    result = run_program(str(path("spawn")), [], system=system, out=out, err=io.BytesIO())
    assert (out.getvalue(), result.exit_status) == expected("spawn")
    assert (
        result.stats["services.procmgr.vforks"] == 4
        and "services.procmgr.forks" not in result.stats
    )
    services = load_system(system).booted_domains
    assert result.stats["kernel.pool.vspace.in_use"] == services + 1


def test_fork_and_execve_again_and_again():
    """A freed frame that held code is reused only after the CPU's translated code is dropped
    between blocks: dropping it inside the page fault that reused the frame made unicorn run
    the faulting block forever (the second exec'd child hung in glibc's start-up)."""
    result = run_program(str(path("lat")), ["exec", "5"], out=io.BytesIO(), max_instructions=10**7)
    assert result.exit_status == 0, result.fault
    assert result.stats["services.procmgr.forks"] == 5


def test_ids_are_32_bits_as_linux_keeps_them():
    """setresuid with ids at and above 2^31 reads back as the same 32-bit ids (they were once
    stored signed and getresuid failed on them)."""
    import struct  # noqa: PLC0415

    import hmk  # noqa: PLC0415

    seen = {}

    def main(libc):
        assert libc.syscall("setresuid", 0x90000000, 0x1_0000_0005, -1 & (1 << 64) - 1) == 0
        buf = libc.mmap(4096)
        assert libc.syscall("getresuid", buf, buf + 4, buf + 8) == 0
        seen["ids"] = struct.unpack("<3I", libc.memread(buf, 12))
        return 0

    assert hmk.System(warnings=None).run(main).exit_status == 0
    assert seen["ids"] == (0x90000000, 5, 0)  # a 64-bit id truncated; -1 left the saved one

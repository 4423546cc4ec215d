"""CPU time (getrusage, times, clock, the CPU clocks, wait4's rusage) and the program's place
under a shell (its parent is not pid 1), under three compositions, against qemu-aarch64
(tests/guest/cputime.c)."""

import io

import pytest
from guest_programs import build, linux_output, run

LINUX = b"""parent is pid 1: 0
parent alive (kill 0): 1
cpu time grew: 1
cpu time under 1 s: 1
process clock grew: 1, thread clock grew: 1
thread clock <= process clock read after it: 1
cpu clock res ok: 1
children time before any child: 0
wait4 child: 1 status 7
child cpu time > 0: 1
children time after wait > 0: 1
children time = wait4's: 1
times ok: 1, tms_cutime >= 0: 1
clock() > 0: 1
getrusage bad who: -1 errno 22
getrusage bad buffer: -1 errno 14
clock_gettime bad clock: -1 errno 22
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "cputime")


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_cpu_time_and_parent_read_as_on_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)


def test_cpu_time_is_the_kernel_s_accounting_and_deterministic(program):
    """The program's user and system time add up to no more than the run's cycles; system
    time is the kernel's and services' share; the same run gives the same times."""
    from hmk.system.simulation import DEFAULT_ENV, Simulation, load_elf  # noqa: PLC0415

    def times():
        sim = Simulation(program, out=io.BytesIO(), err=io.BytesIO(), warnings=None)
        sim.start(load_elf(program), [program.encode()], list(DEFAULT_ENV))
        result = sim.run()
        task = sim.program_task
        return task.cpu_at_exit, result.cycles

    (user, system), cycles = times()
    assert 0 < system < user and user + system <= cycles
    assert times() == ((user, system), cycles)

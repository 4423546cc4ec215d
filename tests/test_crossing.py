"""The kernel crossing's compiled twins against their references: whole programs give the same
output, cycles and statistics with `impl="cython"` (the compiled crossing, kernel clock, batch
timer, unicorn binding and kernel hot paths) as with `impl="python"` (every reference), under
several compositions; and each twin on its own: the kernel clock (hmk._fast.kernelclock)
against CoreKernel's work_cycles, path and charge, the unicorn binding (hmk._fast.ucapi)
against unicorn's Python binding (hmk.cpu.ucpython)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, UC_PROT_ALL, Uc, UcError
from unicorn import arm64_const as A

from hmk.cpu import ucpython
from hmk.cpu.machine import CONTEXT_REGS, EXTRA_REGS, Q
from hmk.cpu.timing import TimingModel
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import READ, WRITE
from hmk.hw.profile import load_soc
from hmk.kernel.core import CoreKernel, CorePort
from hmk.system import run_program
from hmk.workloads import hm_path, path

ucapi = pytest.importorskip("hmk._fast.ucapi")

PROGRAMS = [
    ("lat", ["null", "200"]),  # getppid: the common path
    ("lat", ["read", "100"]),  # a file call: fsmgr
    ("lat", ["pipe-self", "100"]),
    ("lat", ["fork", "5"]),  # fork, exit, wait: blocked calls going on (the references)
    ("minish", []),  # execve and a pipe to a child
    ("sigtest", []),  # signals delivered at the kernel exit
    ("threads", ["500"]),  # futexes: threads blocking and woken, rescheduling
]
SYSTEMS = ["linux", "hm-phone", "sel4", "hybrid"]  # the kernel's own calls, IC1 services, IC2 ones


def _run(program, args, **options):
    out = io.BytesIO()
    result = run_program(str(program), args, out=out, err=io.BytesIO(), **options)
    return out.getvalue(), result


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize(("name", "args"), PROGRAMS, ids=[" ".join([n, *a]) for n, a in PROGRAMS])
def test_compiled_crossing_gives_the_references_run(name, args, system):
    out_c, fast = _run(path(name), args, system=system, impl="cython")
    out_p, ref = _run(path(name), args, system=system, impl="python")
    assert fast.exit_status == ref.exit_status == 0
    assert out_c == out_p
    assert fast.cycles == ref.cycles and fast.syscalls == ref.syscalls
    assert fast.stats == ref.stats


def test_hm_native_calls_and_stacks_are_the_references():
    """Core-kernel calls (the crossing leaves them to CoreKernel.syscall) and a run collecting
    call stacks (the kernel clock tells the profile of every charge)."""
    hm = [str(hm_path("hmipc")), ["20", "200000"]]
    out_c, fast = _run(*hm, system="hm-phone", impl="cython")
    out_p, ref = _run(*hm, system="hm-phone", impl="python")
    assert (out_c, fast.stats) == (out_p, ref.stats)
    out_c, fast = _run(path("lat"), ["pipe-self", "50"], stacks=True, impl="cython")
    out_p, ref = _run(path("lat"), ["pipe-self", "50"], stacks=True, impl="python")
    assert (out_c, fast.stats, fast.stacks) == (out_p, ref.stats, ref.stacks)


# ---- the kernel clock ---------------------------------------------------------------------


class TimedPort(CorePort):
    """A core with its own hierarchy and timing model, as the assembly's port times them."""

    def __init__(self, ram, roots, charged_log=None):
        soc = load_soc("kirin9000")
        config = soc.hierarchy(cluster=soc.clusters[0].name, cores=1)
        self.hierarchy = BatchHierarchy(config, ram=ram, roots=roots)
        self.timing = TimingModel(soc.clusters[0].core)
        self.charged_log = charged_log

    def latencies(self, log):
        return self.hierarchy.run(log, check=False)

    def dram_writes(self) -> int:
        return self.hierarchy.dram_writes()

    def timed(self, log, ends):
        return self.hierarchy.run_marked(log, ends)

    def add_cycles(self, n: int) -> None:
        self.timing.add_cycles(n)

    def now(self) -> int:
        return int(self.timing.cycles)

    def charged(self, kernel, what, cycles):
        if self.charged_log is not None:
            self.charged_log.append((what, cycles))

    def compiled(self):
        charged = self.charged if self.charged_log is not None else None
        return self.hierarchy, self.timing, charged


def _kernels(ipc: float):
    kernels = []
    for impl in ("cython", "python"):
        ram, roots = np.zeros(16 << 20, np.uint8), np.full(1 << 16, -1, np.int64)
        core = load_soc("kirin9000").clusters[0].core
        port = TimedPort(ram, roots, [])
        options = {"impl": impl, "kernel_ipc": ipc, "dram_line_cycles": 3.25}
        kernels.append(CoreKernel(ram, roots, port=port, core=core, **options))
    return kernels


ACCESS = st.tuples(
    st.integers(0, 64 * 1024 - 64),  # offset in the kernel heap
    st.sampled_from([READ, WRITE]),
    st.sampled_from([1, 4, 8, 16, 64]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.lists(ACCESS, max_size=40), st.integers(0, 3000)), max_size=12),
    st.sampled_from([0.5, 1.0, 1.37, 2.25]),
)
def test_the_kernel_clock_times_and_charges_as_the_reference(paths, ipc):
    fast, ref = _kernels(ipc)
    assert type(fast.path.__self__).__name__ == "KernelClock"  # the compiled clock is in place
    for accesses, budget in paths:
        for k in (fast, ref):
            for offset, kind, size in accesses:
                k.mem.record(offset & ~(size - 1), kind, size)
        assert fast.path(budget) == ref.path(budget)
        assert fast.mem.n_log == ref.mem.n_log == 0
        cycles = fast.work_cycles(budget) + 7
        fast.charge("test", cycles)
        ref.charge("test", cycles)
        fast.charge("idle", 3)
        ref.charge("idle", 3)
    assert fast.cycles == ref.cycles and fast._on_core == ref._on_core
    assert fast.now() == ref.now() and fast.port.charged_log == ref.port.charged_log
    assert fast.port.hierarchy.stats() == ref.port.hierarchy.stats()


@given(st.one_of(st.integers(-(10**6), 10**6), st.floats(0, 10**6), st.integers(2**41, 2**70)))
def test_work_cycles_rounds_as_the_reference(instructions):
    fast, ref = _kernels(1.37)
    assert fast.work_cycles(instructions) == ref.work_cycles(instructions)


def test_a_negative_charge_is_refused_by_both():
    for k in _kernels(1.0):
        with pytest.raises(ValueError, match="cannot add"):
            k.charge("test", -1)


# ---- the unicorn binding ------------------------------------------------------------------

CODE = 0x10000
# movz x0, #1; svc #0; movz x1, #2; svc #0; b . (the test stops at the second SVC)
PROGRAM = bytes.fromhex("200080d2010000d4410080d2010000d400000014")
U64 = st.integers(0, 2**64 - 1)


def _bindings():
    out = []
    for binding, registers in (
        (ucapi.Cpu, ucapi.Registers),
        (ucpython.UcPython, ucpython.Registers),
    ):
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        uc.mem_map(CODE, 0x1000, UC_PROT_ALL)
        uc.mem_write(CODE, PROGRAM)
        out.append((uc, binding(uc), registers))
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(U64, min_size=34, max_size=34),
    st.lists(st.integers(0, 2**128 - 1), min_size=32, max_size=32),
    st.lists(U64, min_size=3, max_size=3),
)
def test_registers_read_and_write_as_unicorns_binding(context, q, extra):
    seen = []
    for uc, cpu, registers in _bindings():
        ctx, wide = registers(CONTEXT_REGS), registers(EXTRA_REGS, wide=Q)
        cpu.write(ctx, context)
        cpu.write(wide, [*q, *extra])
        cpu.set_reg(A.UC_ARM64_REG_X3, -5)  # modulo 2**64
        got = (
            cpu.read(ctx),
            cpu.read(wide),
            cpu.reg(A.UC_ARM64_REG_X3),
            cpu.reg(A.UC_ARM64_REG_PC),
        )
        assert got[1][:32] == tuple(q)
        assert uc.reg_read_batch(CONTEXT_REGS) == got[0]  # the same engine state
        seen.append(got)
    assert seen[0] == seen[1]
    assert seen[0][2] == 2**64 - 5


def test_a_batch_needs_one_value_per_register():
    for _, cpu, registers in _bindings():
        with pytest.raises(ValueError):
            cpu.write(registers(CONTEXT_REGS[:3]), [1, 2])


@pytest.mark.parametrize("which", [0, 1], ids=["compiled", "reference"])
def test_svcs_reach_the_interrupt_callback_and_stop(which):
    uc, cpu, _ = _bindings()[which]
    seen = []

    def interrupt(intno):
        seen.append((intno, cpu.reg(A.UC_ARM64_REG_X0), cpu.reg(A.UC_ARM64_REG_X1)))
        if len(seen) == 2:
            cpu.emu_stop()

    cpu.on_interrupt(interrupt)
    cpu.emu_start(CODE, CODE + len(PROGRAM))
    assert seen == [(2, 1, 0), (2, 1, 2)]  # EXCP_SWI, after each movz
    assert cpu.reg(A.UC_ARM64_REG_PC) == CODE + 16
    with pytest.raises(RuntimeError):
        cpu.on_interrupt(interrupt)


@pytest.mark.parametrize("which", [0, 1], ids=["compiled", "reference"])
def test_what_the_callback_raises_comes_out_of_emu_start(which):
    uc, cpu, _ = _bindings()[which]

    def interrupt(intno):
        raise KeyboardInterrupt

    cpu.on_interrupt(interrupt)
    with pytest.raises(KeyboardInterrupt):
        cpu.emu_start(CODE, CODE + len(PROGRAM))
    assert cpu.reg(A.UC_ARM64_REG_PC) == CODE + 8  # stopped at the first SVC
    with pytest.raises(UcError):
        cpu.emu_start(0x900000, 0x900004)  # nothing mapped there

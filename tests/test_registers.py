"""The machine's register batches (a context switch's and a syscall's registers in one call,
through the compiled binding hmk._fast.ucapi or its reference hmk.cpu.ucpython) read and write
what unicorn's own binding does, 128-bit Q registers and 32-bit system registers included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.cpu.machine import CONTEXT_REGS, EXTRA_REGS, SYSCALL_REGS, Machine

MACHINES = [
    Machine(np.zeros(1 << 20, np.uint8), traps=None, pipelined=False, impl=impl)
    for impl in ("cython", "python")
]
U64, U128 = st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 128) - 1)
NZCV = st.sampled_from([0, 0x8000_0000, 0x6000_0000, 0xF000_0000])  # pstate: its flags only
FP = st.sampled_from([0, 0x0300_0000, 0x9F, 0x0800_009F])  # FPCR / FPSR bits unicorn keeps


@settings(max_examples=60, deadline=None)
@given(st.lists(U64, min_size=33, max_size=33), NZCV)
def test_the_context_is_the_bindings(regs, nzcv):
    for machine in MACHINES:
        _context_is_the_bindings(machine, regs, nzcv)


def _context_is_the_bindings(machine, regs, nzcv):
    uc = machine.uc
    values = [*regs, nzcv]
    machine.set_context(values)
    assert list(uc.reg_read_batch(CONTEXT_REGS)) == machine.context()
    uc.reg_write_batch(list(zip(CONTEXT_REGS, values[::-1][:-1] + [nzcv], strict=True)))
    assert machine.context() == list(uc.reg_read_batch(CONTEXT_REGS))
    assert machine.syscall_registers() == uc.reg_read_batch(SYSCALL_REGS)


@settings(max_examples=60, deadline=None)
@given(st.lists(U128, min_size=32, max_size=32), FP, FP, U64)
def test_the_fp_simd_context_is_the_bindings(q, fpcr, fpsr, tpidr):
    for machine in MACHINES:
        _fp_simd_context_is_the_bindings(machine, q, fpcr, fpsr, tpidr)


def _fp_simd_context_is_the_bindings(machine, q, fpcr, fpsr, tpidr):
    uc = machine.uc
    values = [*q, fpcr, fpsr, tpidr]
    machine.set_extra_context(values)
    assert list(uc.reg_read_batch(EXTRA_REGS)) == machine.extra_context()
    assert machine.extra_context()[:32] == q and machine.extra_context()[34] == tpidr
    uc.reg_write_batch(list(zip(EXTRA_REGS, [*q[::-1], fpcr, fpsr, tpidr], strict=True)))
    assert machine.extra_context() == list(uc.reg_read_batch(EXTRA_REGS))


def test_values_wrap_as_the_bindings_do():
    for machine in MACHINES:
        machine.set_context([-1, 1 << 64 | 5, *range(31), 0])
        assert machine.context()[:2] == [(1 << 64) - 1, 5]

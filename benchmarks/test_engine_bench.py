"""Speed of the execution engine: guest instructions per host second with full timing, beside
unicorn with no hooks on the same binary and arguments (the ceiling), and unicorn carrying one
native memory hook that does nothing (the ceiling of any design that sees every access), in the
same run.

    python -m pytest benchmarks/test_engine_bench.py --benchmark-only -s

The bare unicorn run maps the ELF segments, the stack and every brk/mmap request as plain
unicorn regions (no page tables, no virtual TLB, no hooks but the SVC one) and answers the
handful of syscalls glibc's start-up makes. Both runs execute the same instructions: the count
is the one hmk's timing model measured (the programs are deterministic).
"""

from __future__ import annotations

import ctypes
import io

import pytest
from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_ALL, Uc
from unicorn import arm64_const as A
from unicorn.unicorn_const import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE
from unicorn.unicorn_py3.unicorn import uclib

from hmk.cpu.elf import load_elf
from hmk.linux.stack import auxv_for, build_stack
from hmk.system.simulation import DEFAULT_ENV, run_program
from hmk.workloads import path

WORKLOAD = ("randsweep", ["1024", "2000000"])  # 1 MiB array, 2 M random accesses
STACK_TOP = 0xFFFF_FFFF_F000
PAGE = 4096


def _up(n):
    return (n + PAGE - 1) & ~(PAGE - 1)


def bare_unicorn(program: str, args: list[str], memory_hook: bool = False) -> int:
    """Run `program` on unicorn with no hooks but SVC (and, `memory_hook`, a native no-op hook
    on every load and store); return its exit status."""
    image = load_elf(program)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    if memory_hook:
        from hmk._fast.uchooks import Recorder  # noqa: PLC0415

        handle = ctypes.c_size_t()
        noop = ctypes.c_void_p(Recorder.hook_addresses()["noop_mem"])
        kinds = UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE
        everywhere = (ctypes.c_uint64(1), ctypes.c_uint64(0))  # begin > end: all addresses
        status = uclib.uc_hook_add(
            uc._uch, ctypes.byref(handle), kinds, noop, ctypes.c_void_p(0), *everywhere
        )
        assert status == 0
    uc.reg_write(A.UC_ARM64_REG_CPACR_EL1, 3 << 20)
    for seg in image.segments:
        start = seg.vaddr & ~(PAGE - 1)
        uc.mem_map(start, _up(seg.vaddr + seg.memsz) - start, UC_PROT_ALL)
        uc.mem_write(seg.vaddr, seg.data)
    argv = [program.encode()] + [a.encode() for a in args]
    sp, stack = build_stack(STACK_TOP, argv, list(DEFAULT_ENV), auxv_for(image), argv[0], bytes(16))
    uc.mem_map(STACK_TOP - (8 << 20), 8 << 20, UC_PROT_ALL)
    uc.mem_write(sp, stack)
    uc.reg_write(A.UC_ARM64_REG_SP, sp)
    state = {"brk": image.brk, "mapped_brk": image.brk, "mmap": 0x7F00_0000_0000, "status": None}

    def svc(uc, intno, _):
        nr = uc.reg_read(A.UC_ARM64_REG_X8)
        x0 = uc.reg_read(A.UC_ARM64_REG_X0)
        x1 = uc.reg_read(A.UC_ARM64_REG_X1)
        result = 0
        if nr in (93, 94):  # exit, exit_group
            state["status"] = x0 & 0xFF
            uc.emu_stop()
            return
        if nr == 214:  # brk
            if x0 > state["mapped_brk"]:
                uc.mem_map(state["mapped_brk"], _up(x0) - state["mapped_brk"], UC_PROT_ALL)
                state["mapped_brk"] = _up(x0)
            state["brk"] = max(state["brk"], x0)
            result = state["brk"]
        elif nr == 222:  # mmap (anonymous)
            size = _up(x1)
            state["mmap"] -= size
            uc.mem_map(state["mmap"], size, UC_PROT_ALL)
            result = state["mmap"]
        elif nr == 64:  # write
            result = uc.reg_read(A.UC_ARM64_REG_X2)
        elif nr in (78, 293):  # readlinkat, rseq
            result = -2 if nr == 78 else -38
        uc.reg_write(A.UC_ARM64_REG_X0, result & (1 << 64) - 1)

    uc.hook_add(UC_HOOK_INTR, svc)
    uc.emu_start(image.entry, (1 << 64) - 1)
    return state["status"]


@pytest.fixture(scope="module")
def instructions():
    result = run_program(
        str(path(WORKLOAD[0])), WORKLOAD[1], out=io.BytesIO(), err=io.BytesIO(), cores=1
    )
    return result.instructions


def test_hmk_full_timing(benchmark, instructions):
    program = str(path(WORKLOAD[0]))

    def run():
        return run_program(program, WORKLOAD[1], out=io.BytesIO(), err=io.BytesIO(), cores=1)

    result = benchmark.pedantic(run, rounds=3, iterations=1)
    assert result.exit_status == 0 and result.instructions == instructions
    benchmark.extra_info["guest_instructions"] = instructions
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["mips"] = instructions / benchmark.stats.stats.min / 1e6


def test_unicorn_no_hooks(benchmark, instructions):
    program = str(path(WORKLOAD[0]))
    status = benchmark.pedantic(bare_unicorn, args=(program, WORKLOAD[1]), rounds=3, iterations=1)
    assert status == 0
    benchmark.extra_info["guest_instructions"] = instructions
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["mips"] = instructions / benchmark.stats.stats.min / 1e6


def test_unicorn_noop_memory_hook(benchmark, instructions):
    program = str(path(WORKLOAD[0]))
    status = benchmark.pedantic(
        bare_unicorn, args=(program, WORKLOAD[1], True), rounds=3, iterations=1
    )
    assert status == 0
    benchmark.extra_info["guest_instructions"] = instructions
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["mips"] = instructions / benchmark.stats.stats.min / 1e6

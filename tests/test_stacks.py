"""Cycle-weighted call stacks (hmk.system.stacks): they add up to the run's cycles, put the
kernel's cycles under the syscall, services and fault that caused them, and name functions."""

from __future__ import annotations

import io

import numpy as np
import pytest

from hmk.cpu.elf import Symbol
from hmk.cpu.timing import BLOCK_DTYPE, TimingModel
from hmk.hw.events import EVENT_DTYPE
from hmk.hw.profile import load_core
from hmk.system.simulation import run_program
from hmk.system.stacks import IDLE, START, Symbols
from hmk.workloads import path


def _run(name, args=(), **kw):
    kw.setdefault("cores", 1)  # (the stacks of several cores: tests/test_smp.py)
    result = run_program(str(path(name)), list(args), out=io.BytesIO(), stacks=True, **kw)
    assert result.exit_status == 0
    return result


@pytest.fixture(scope="module", params=["linux", "sel4", "hm-phone"])
def minish(request):
    return _run("minish", system=request.param)


def test_the_stacks_add_up_to_the_cycles(minish):
    total = sum(minish.stacks.values())
    assert abs(total - minish.cycles) <= len(minish.stacks)  # rounding: under a cycle each


def test_kernel_stacks_add_up_to_the_kernel_cycles(minish):
    s = minish.stacks
    kernel = sum(v for k, v in s.items() if k[-1].split(":")[0] in ("kernel", "service", "idle"))
    assert abs(kernel - minish.stats["system.cpu0.external_cycles"]) <= len(s)


def test_syscalls_go_through_their_services(minish):
    s = minish.stacks
    writes = [k for k in s if "syscall:write" in k]
    assert writes and all(k.index("syscall:write") == 2 for k in writes)  # process, function
    assert any(k[3:5] == ("service:fsmgr", "service:devhost") for k in writes)  # the console
    ipc = sum(v for k, v in s.items() if k[-1] == "kernel:ipc")
    if minish.run["system"] == "linux":
        assert ipc == 0
    else:
        assert ipc == minish.stats["kernel.cycles.ipc"]
    processes = {k[0] for k in s}
    assert {"process:minish[3]", "process:hello[4]"} <= processes  # the exec'd child by name


def test_faults_are_under_the_faulting_function(minish):
    faults = [k for k in minish.stacks if "kernel:page fault" in k]
    assert faults and all(k[0].startswith("process:") and k[1].startswith("user:") for k in faults)
    if minish.run["system"] == "sel4":  # the user-level pager: every fault an IPC to memmgr
        assert any(k[-2:] == ("kernel:page fault", "kernel:ipc") for k in faults)


def test_stacks_are_deterministic():
    a, b = _run("hello"), _run("hello")
    assert a.stacks == b.stacks


def test_idle_and_start_up():
    timers = _run("timers")
    assert timers.stacks[IDLE] == timers.stats["kernel.cycles.idle"]
    assert any(k[1:2] == (START,) for k in timers.stacks)  # loading the program


def test_symbols_name_functions_and_ranges():
    class Image:
        symbols = (Symbol(0x400100, 0x40, "main"), Symbol(0x400200, 0x10, "f"))

    syms = Symbols(Image())
    addrs = np.array([0x400100, 0x40013F, 0x400140, 0x400205, 0x401000], np.uint64)
    idx, names = syms.frames(addrs)
    assert [names[i] for i in idx] == [
        "user:main",
        "user:main",
        "user:0x400000-0x400fff",  # between symbols: its 4 KiB range
        "user:f",
        "user:0x401000-0x401fff",
    ]
    assert Symbols(None).frame(0x1234) == "user:0x1000-0x1fff"  # no image known


def test_timing_rejects_a_bad_times_array():
    model = TimingModel(load_core("cortex-a76"))
    blocks = np.zeros(2, BLOCK_DTYPE)
    blocks["size"], blocks["ninsn"] = 4, 1
    args = (
        blocks,
        np.zeros(0, EVENT_DTYPE),
        np.zeros(0, np.int32),
        lambda a, n: b"\x1f\x20\x03\xd5",
    )
    for bad in (np.zeros(1, np.int64), np.zeros(2, np.int32), [0, 0]):
        with pytest.raises(ValueError, match="times"):
            model.account(*args, bad)
    assert model.instructions == 0  # nothing ran


@pytest.mark.parametrize("cores", [1, None])  # (None: the whole SoC)
def test_collecting_stacks_does_not_change_the_cycles(cores):
    plain = run_program(str(path("minish")), [], out=io.BytesIO(), cores=cores)
    profiled = _run("minish", cores=cores)
    assert (plain.cycles, plain.stats) == (profiled.cycles, profiled.stats)

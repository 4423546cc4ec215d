"""A budget of the calibration tables is charged by the path it names, once per time the path
runs: raising it by D raises that path's cycles by exactly D per run of the path (runs without
timer ticks or sleeps, so nothing else moves). One case per table: the core kernel's
(hmk.kernel.costs), the Linux shim's (hmk.linux.shim.COSTS) and a service's (`costs`)."""

import io

import pytest

from hmk.kernel import costs
from hmk.linux import shim
from hmk.monolithic import costs as linux_costs
from hmk.services.fsmgr import FsMgr
from hmk.services.memmgr import MemoryManager
from hmk.system.simulation import run_program
from hmk.workloads import bin_dir

D = 1000


def _run(program, args, system):
    return run_program(
        str(bin_dir() / program),
        args,
        system=system,
        out=io.BytesIO(),
        err=io.BytesIO(),
        warnings=None,
        tick_us=1e9,  # no timer interrupts: only the budget moves the clock
        kernel_ipc=1.0,  # an instruction a cycle: a budget's change is the clock's
    ).stats


def _calls_of(service):
    def count(s):
        owned = {name for name in dir(service) if name.startswith("sys_")}
        return sum(
            v for k, v in s.items() if k.startswith("shim.syscalls.") and f"sys_{k[14:]}" in owned
        )

    return count


def _faults_checked(s):
    """Kernel paging's decisions that include its check (all but a pager's upcall)."""
    outcomes = ("resolved", "need_memmgr", "segv", "spurious")
    return sum(s.get(f"kernel.faults.{o}", 0) for o in outcomes)


CASES = [
    # (table, key, program, args, system, the path's cycles, how often the path ran)
    (costs.BUDGETS, "sched.switch", "minish", [], "hm-phone", "kernel.cycles.sched",
     lambda s: s["kernel.context_switches"]),
    (costs.BUDGETS, "exception.frame", "hello", [], "linux", "kernel.cycles.syscall",
     lambda s: s["kernel.syscalls"]),
    (costs.BUDGETS, "pf.check", "randsweep", ["64", "100"], "hm-phone", "kernel.cycles.fault",
     _faults_checked),
    (costs.BUDGETS, "token.grant", "hm/hmmem", [], "hm-phone", "kernel.cycles.hmcall",
     lambda s: s["kernel.hmcalls.token_grant"]),
    (shim.COSTS, "dispatch", "hello", [], "hm-phone", "kernel.cycles.shim",
     lambda s: sum(v for k, v in s.items() if k.startswith("shim.syscalls."))),
    (FsMgr.costs, "call", "hello", [], "linux", "services.fsmgr.cycles", _calls_of(FsMgr)),
    (linux_costs.BUDGETS, "syscall.dispatch", "hello", [], "linux", "kernel.cycles.syscall",
     lambda s: s["kernel.syscalls"]),
    (MemoryManager.costs, "call", "hello", [], "sel4", "services.memmgr.cycles",
     _calls_of(MemoryManager)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "key", "program", "args", "system", "cycles", "runs"),
    CASES,
    ids=[f"{c[1]}-{c[2]}" for c in CASES],
)
def test_a_budget_is_charged_once_per_run_of_its_path(
    monkeypatch, table, key, program, args, system, cycles, runs
):
    base = _run(program, args, system)
    monkeypatch.setitem(table, key, table[key] + D)
    more = _run(program, args, system)
    n = runs(base)
    assert n > 0 and runs(more) == n  # the same work, only costlier
    assert more[cycles] - base[cycles] == D * n
    if key != "exception.frame":  # (every exception's frame: faults and IPCs pay it too)
        assert more["sim.cycles"] - base["sim.cycles"] == D * n

"""Core-kernel calls from a real guest program (workloads/hm/hmipc.c on hmk.kernel.hmcalls):
threads, the scheduler with timer preemption, migrating-thread IPC, capability rights.

The program makes HM-native calls, which Linux and qemu-aarch64 do not have, so its expected
output is derived here from the semantics in hmk/kernel/hmcalls.py and hmipc.c's comments."""

import errno
import io

import pytest

from hmk.system import DEFAULT_SYSTEM, load_system
from hmk.system.simulation import run_program
from hmk.workloads import hm_path

# every service domain outside the kernel gets a TCB at boot, before the program's first thread
SERVICE_DOMAINS = load_system(DEFAULT_SYSTEM).booted_domains
MAIN_TID = SERVICE_DOMAINS


def _run(*args, **kw):
    kw.setdefault("cores", 1)  # its threads share one core: what it prints is preemption's
    out = io.BytesIO()
    result = run_program(str(hm_path("hmipc")), list(args), out=out, err=io.BytesIO(), **kw)
    return result, out.getvalue().decode()


def expected(calls: int, preempted: bool) -> str:
    total = sum(i + 2 * i + 3 for i in range(calls))
    e = errno
    return (
        f"ipc: ep_create 0, {calls} calls, sum {total}\n"
        f"caps: derive 0, call without CALL {-e.EPERM}, delete 0, call empty {-e.ENOENT}, "
        f"call outside {-e.EINVAL}\n"
        "round robin: 1 2 1 2 1 2 1 2\n"
        f"priority: 3 then {MAIN_TID}\n"
        f"timer: other thread ran while the spinner spun: {'yes' if preempted else 'no'}\n"
        f"domain: ep_create_domain 0, {calls} calls, sum {sum(3 * i for i in range(calls))}\n"
        "notify: create 0, notify 0, waiter got 5, pending taken 48\n"
        f"dead endpoint: destroy 0, call {-e.EPIPE}\n"
        f"bad: thread at 0 {-e.EINVAL}, small ep {-e.EINVAL}, stray reply {-e.EINVAL}, "
        f"no thread {-e.ENOENT}, priority {-e.EINVAL}, unknown {-e.ENOSYS}, "
        f"memmgr {-e.ENOSYS}\n"
    )


@pytest.fixture(scope="module")
def preempting():
    return _run("50", tick_us=20)


def test_output_follows_the_core_kernel_semantics(preempting):
    result, out = preempting
    assert result.exit_status == 0 and result.fault is None
    assert out == expected(50, preempted=True)


def test_only_the_timer_lets_the_other_thread_run():
    # no tick within the run: the spinner hits its bound before the other thread runs
    result, out = _run("5", "200000", tick_us=1e9)
    assert out == expected(5, preempted=False)
    assert result.stats.get("kernel.timer_ticks", 0) == 0


def test_ipc_takes_the_fastpath_and_involves_no_scheduler(preempting):
    result, _ = preempting
    s = result.stats
    calls = s["kernel.hmcalls.ipc_call"]
    # 50 in each sum loop (same domain, across domains), 3 refused (no CALL right, empty
    # slot, outside the CSpace), 1 to a dead endpoint, 1 to the memory manager's endpoint
    assert calls == 2 * 50 + 3 + 1 + 1
    # 100 successful calls, 1 to the memory manager's endpoint (answered ENOSYS), and the
    # calls the shim and the kernel made to services (counted per caller and callee)
    services = sum(v for k, v in s.items() if k.startswith("domains.") and k.endswith(".fast"))
    assert s["kernel.ipc.fastpath"] == 2 * 50 + 1 + services
    assert s["kernel.hmcalls.ipc_reply"] == 2 * 50 + 1  # one stray reply
    # context switches come from yields, creations at high priority, exits and ticks only
    assert s["kernel.context_switches"] <= (
        s["kernel.hmcalls.thread_yield"]
        + s["kernel.hmcalls.thread_create"]
        + s["kernel.hmcalls.thread_exit"]
        + s["kernel.timer_ticks"]
    )


def test_threads_and_activations_are_released(preempting):
    result, _ = preempting
    s = result.stats
    # the service domains' and the server domain's threads; the main thread is gone with the
    # process's exit (its address space stays: the run ends there)
    n = SERVICE_DOMAINS + 2
    assert s["kernel.pool.tcb.in_use"] == n - 1 and s["kernel.pool.vspace.in_use"] == n
    assert s["kernel.pool.notification.in_use"] == 1
    assert s["kernel.pool.endpoint.in_use"] == n
    assert s["kernel.pool.ipcwait.in_use"] == 0


def test_runs_are_deterministic_and_the_twins_agree(preempting):
    result, out = preempting
    again, out2 = _run("50", tick_us=20, impl="python")
    assert out2 == out and again.cycles == result.cycles and again.stats == result.stats


def test_calls_across_address_spaces_cost_more_than_within_one():
    short, _ = _run("10", "1000", tick_us=1e9)
    long, _ = _run("110", "1000", tick_us=1e9)
    # 100 more calls of each kind; both loops warm after their first calls
    both = (long.cycles - short.cycles) / 100
    s_long, s_short = long.stats, short.stats
    switches = s_long["kernel.hmcalls.ipc_call"] - s_short["kernel.hmcalls.ipc_call"]
    assert switches == 200
    # a round trip within one domain: two kernel entries and exits, the call and reply paths,
    # the handler's few instructions; across: that plus two TTBR0/ASID switches
    assert 2 * 100 < both < 2 * 2000

"""Threads and the scheduler (hmk.kernel.threads): each operation and each error result, round
robin, preemption, tick rotation, per-core queues, the context switch's register round trip and
its logged accesses, determinism, and random operation sequences keeping the invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.events import READ, WRITE
from hmk.kernel import threads as T
from hmk.kernel.errors import EINVAL, ENOMEM, OK
from hmk.kernel.objects import KERNEL_BASE, KernelMemory

SLICE = 3


def make(capacity=8, cores=2, slice_ticks=SLICE):
    mem = KernelMemory(np.zeros(1 << 20, np.uint8), 0, 64 * 1024)
    return T.Threads(mem, capacity, cores, tick_cycles=1000, slice_ticks=slice_ticks)


def state(th):
    """Everything an operation may change, to check that errors change nothing."""
    arrays = [th.tcb.used, *th.tcb.arrays.values(), *th.runq.arrays.values()]
    return [a.copy() for a in arrays] + [th.tcb.in_use]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def queue(th, core, p):
    """The FIFO of priority `p` on `core`, walked over the raw arrays (untimed)."""
    out, i = [], int(th.runq["head"][core, p])
    while i >= 0:
        out.append(i)
        i = int(th.tcb["next"][i])
    return out


def regs_of(n):
    return [(n << 32) + k for k in range(T.N_REGS)]


def run(th, core, regs=None):
    """Kernel exit on `core`: switch if needed; the thread now running."""
    to, _ = th.dispatch(core, regs if regs is not None else regs_of(0))
    return to


def check_invariants(th):
    live = np.flatnonzero(th.tcb.used)
    assert th.tcb.in_use == len(live)
    seen = {}
    for core in range(th.cores):
        bitmap = [int(w) for w in th.runq["bitmap"][core]]
        for p in range(T.N_PRIORITIES):
            q = queue(th, core, p)
            assert bool(bitmap[p // 64] >> (p % 64) & 1) == bool(q)
            assert int(th.runq["tail"][core, p]) == (q[-1] if q else -1)
            prev = -1
            for i in q:
                assert i not in seen and th.tcb.used[i]
                assert int(th.tcb["prev"][i]) == prev
                assert (int(th.tcb["core"][i]), int(th.tcb["priority"][i])) == (core, p)
                seen[i] = core
                prev = i
        running = [i for i in live if th.tcb["state"][i] == T.RUNNING and th.tcb["core"][i] == core]
        assert len(running) <= 1
        cur = int(th.runq["current"][core])
        if running:
            assert running == [cur]
        assert cur == -1 or th.tcb.used[cur]
    queued = {int(i) for i in live if th.tcb["state"][i] in (T.RUNNABLE, T.RUNNING)}
    assert queued == set(seen)


# ---- lifecycle and each operation -------------------------------------------------------------


def test_create_initialises_the_tcb_and_destroy_frees_it():
    th = make()
    a = th.create(7, 1, 4, 5)
    assert a == 0 and th.tcb.in_use == 1
    assert th.tcb["state"][a] == T.INACTIVE and th.tcb["priority"][a] == 7
    assert (th.tcb["core"][a], th.tcb["vspace"][a], th.tcb["cspace"][a]) == (1, 4, 5)
    assert th.tcb["slice"][a] == SLICE and th.tcb["regs"][a].tolist() == [0] * 34
    assert th.destroy(a) == OK and th.tcb.in_use == 0
    assert th.destroy(a) == T.ESRCH


def test_pool_exhaustion_is_enomem_and_changes_nothing():
    th = make(capacity=2)
    assert th.create(1, 0, 0, 0) == 0 and th.create(1, 0, 0, 0) == 1
    before = state(th)
    assert th.create(1, 0, 0, 0) == ENOMEM
    assert same(before, state(th))
    assert th.destroy(0) == OK and th.destroy(1) == OK and th.tcb.in_use == 0


def test_state_transitions():
    th = make()
    a = th.create(5, 0, 0, 0)
    assert th.resume(a) == OK and th.tcb["state"][a] == T.RUNNABLE and queue(th, 0, 5) == [a]
    assert th.block(a) == OK and th.tcb["state"][a] == T.BLOCKED and queue(th, 0, 5) == []
    assert th.wake(a) == OK and th.tcb["state"][a] == T.RUNNABLE and queue(th, 0, 5) == [a]
    assert run(th, 0) == a and th.tcb["state"][a] == T.RUNNING and th.current(0) == a
    assert th.suspend(a) == OK and th.tcb["state"][a] == T.INACTIVE and queue(th, 0, 5) == []
    assert th.resume(a) == OK and queue(th, 0, 5) == [a]
    assert th.block(a) == OK and th.resume(a) == OK  # resume also restarts a blocked thread
    assert th.set_priority(a, 9) == OK and queue(th, 0, 5) == [] and queue(th, 0, 9) == [a]
    check_invariants(th)
    assert th.destroy(a) == OK and th.tcb.in_use == 0 and queue(th, 0, 9) == []
    assert th.runq["bitmap"].sum() == 0
    check_invariants(th)


@pytest.mark.parametrize(
    "op, err",
    [
        (lambda th, a: th.create(256, 0, 0, 0), EINVAL),
        (lambda th, a: th.create(-1, 0, 0, 0), EINVAL),
        (lambda th, a: th.create(1, 2, 0, 0), EINVAL),
        (lambda th, a: th.create(1, 0, -2, 0), EINVAL),
        (lambda th, a: th.create(1, 0, 0, 1 << 31), EINVAL),
        (lambda th, a: th.destroy(7), T.ESRCH),
        (lambda th, a: th.destroy(-1), T.ESRCH),
        (lambda th, a: th.resume(99), T.ESRCH),
        (lambda th, a: th.resume(a), EINVAL),  # already RUNNABLE
        (lambda th, a: th.wake(a), EINVAL),  # not BLOCKED
        (lambda th, a: th.suspend(3), T.ESRCH),
        (lambda th, a: th.block("x"), T.ESRCH),
        (lambda th, a: th.set_priority(a, 300), EINVAL),
        (lambda th, a: th.set_priority(5, 3), T.ESRCH),
        (lambda th, a: th.pick(2), EINVAL),
        (lambda th, a: th.tick(-1), EINVAL),
        (lambda th, a: th.yield_(9), EINVAL),
        (lambda th, a: th.context_switch(0, -1, a, []), EINVAL),  # core 0 is running a
        (lambda th, a: th.context_switch(0, a, 5, regs_of(1)), T.ESRCH),
        (lambda th, a: th.context_switch(0, a, a + 1, regs_of(1)), EINVAL),  # b is INACTIVE
        (lambda th, a: th.context_switch(0, a, a, regs_of(1)), EINVAL),  # a is RUNNING
        (lambda th, a: th.context_switch(0, a, -1, [1] * 33), EINVAL),
        (lambda th, a: th.context_switch(0, a, -1, [-1] * 34), EINVAL),
        (lambda th, a: th.context_switch(0, a, -1, None), EINVAL),
        (lambda th, a: th.context_switch(1, -1, a, []), EINVAL),  # a is not on core 1
        (lambda th, a: th.context_switch(1, -1, -1, []), EINVAL),
    ],
)
def test_errors_change_nothing(op, err):
    th = make()
    a = th.create(4, 0, 0, 0)
    th.create(4, 0, 0, 0)
    assert th.resume(a) == OK and run(th, 0) == a
    th.resume(th.create(4, 0, 0, 0))  # a RUNNABLE thread queued behind a
    before = state(th)
    assert op(th, a) == err
    assert same(before, state(th))
    check_invariants(th)


def test_wrong_states():
    th = make()
    a = th.create(1, 0, 0, 0)
    before = state(th)
    assert th.suspend(a) == EINVAL and th.block(a) == EINVAL and th.wake(a) == EINVAL
    assert same(before, state(th))
    th.resume(a)
    th.block(a)
    before = state(th)
    assert th.block(a) == EINVAL
    assert same(before, state(th))


# ---- scheduling --------------------------------------------------------------------------------


def test_pick_is_highest_priority_then_fifo():
    th = make()
    assert th.pick(0) == -1
    a, b, c = (th.create(p, 0, 0, 0) for p in (3, 200, 200))
    for t in (a, b, c):
        th.resume(t)
    assert th.pick(0) == b
    th.block(b)
    assert th.pick(0) == c
    th.block(c)
    assert th.pick(0) == a and th.pick(1) == -1


def test_round_robin_among_equal_priorities_on_ticks():
    th = make(slice_ticks=2)
    ts = [th.create(10, 0, 0, 0) for _ in range(3)]
    for t in ts:
        th.resume(t)
    order = [run(th, 0)]
    for _ in range(12):
        th.tick(0)
        order.append(run(th, 0))
    # each thread runs for a slice of 2 ticks, then the next one, in FIFO order
    assert order == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0]
    check_invariants(th)


def test_tick_rotation_after_slice_ticks_and_refill():
    th = make(slice_ticks=SLICE)
    a, b = th.create(1, 0, 0, 0), th.create(1, 0, 0, 0)
    th.resume(a), th.resume(b)
    assert run(th, 0) == a
    for k in range(SLICE - 1):
        assert th.tick(0) == a and th.tcb["slice"][a] == SLICE - 1 - k
    assert th.tick(0) == b and queue(th, 0, 1) == [b, a] and th.tcb["slice"][a] == SLICE
    assert run(th, 0) == b and th.tcb["state"][a] == T.RUNNABLE


def test_alone_at_its_priority_keeps_running_through_rotation():
    th = make()
    a = th.create(1, 0, 0, 0)
    th.resume(a)
    run(th, 0)
    for _ in range(10):
        assert th.tick(0) == a and run(th, 0) == a
    assert th.yield_(0) == a


def test_yield_moves_to_the_tail():
    th = make()
    a, b = th.create(1, 0, 0, 0), th.create(1, 0, 0, 0)
    th.resume(a), th.resume(b)
    run(th, 0)
    th.tick(0)
    assert th.yield_(0) == b and th.tcb["slice"][a] == SLICE and queue(th, 0, 1) == [b, a]


def test_higher_priority_preempts_and_the_preempted_resumes_first():
    th = make()
    a, b, h = th.create(1, 0, 0, 0), th.create(1, 0, 0, 0), th.create(9, 0, 0, 0)
    th.resume(a), th.resume(b)
    assert run(th, 0, regs_of(0)) == a
    th.tick(0)  # a has SLICE - 1 ticks left
    th.resume(h)
    assert th.pick(0) == h  # preemption: h should run now
    to, regs = th.dispatch(0, regs_of(0xA))
    assert to == h and th.tcb["state"][a] == T.RUNNABLE
    assert queue(th, 0, 1) == [a, b] and th.tcb["slice"][a] == SLICE - 1
    th.block(h)
    to, regs = th.dispatch(0, regs_of(0xB))
    assert to == a and regs == regs_of(0xA)  # a continues where it was preempted
    # raising a waiting thread's priority above the running one's also preempts
    assert th.set_priority(b, 5) == OK and th.pick(0) == b


def test_per_core_queues_are_independent():
    th = make(cores=2)
    a, b = th.create(5, 0, 0, 0), th.create(5, 1, 0, 0)
    c = th.create(1, 1, 0, 0)
    for t in (a, b, c):
        th.resume(t)
    assert (run(th, 0), run(th, 1)) == (a, b)
    before0 = [x.copy() for x in (th.runq["bitmap"][0], th.runq["head"][0], th.runq["tail"][0])]
    for _ in range(SLICE):
        th.tick(1)
    th.block(b)
    assert run(th, 1) == c and th.current(0) == a
    after0 = (th.runq["bitmap"][0], th.runq["head"][0], th.runq["tail"][0])
    assert all(np.array_equal(x, y) for x, y in zip(before0, after0, strict=True))
    check_invariants(th)


def test_destroy_and_suspend_of_the_running_thread():
    th = make()
    a, b = th.create(2, 0, 0, 0), th.create(1, 0, 0, 0)
    th.resume(a), th.resume(b)
    run(th, 0, regs_of(1))
    assert th.suspend(a) == OK and th.current(0) == a  # its registers are still on the core
    to, _ = th.dispatch(0, regs_of(2))
    assert to == b and th.tcb["regs"][a].tolist() == regs_of(2)
    assert th.tcb["state"][a] == T.INACTIVE
    assert th.destroy(b) == OK and th.current(0) == -1
    assert th.dispatch(0, regs_of(3)) == (-1, regs_of(3))  # nothing runnable: idle
    assert th.resume(a) == OK
    assert th.dispatch(0, []) == (a, regs_of(2))
    check_invariants(th)
    assert th.destroy(a) == OK and th.tcb.in_use == 0


def test_suspended_and_resumed_before_its_switch_runs_again_without_a_save():
    th = make()
    a = th.create(2, 0, 0, 0)
    th.resume(a)
    run(th, 0)
    th.suspend(a), th.resume(a)
    assert th.tcb["state"][a] == T.RUNNABLE and th.current(0) == a
    assert th.dispatch(0, regs_of(4)) == (a, regs_of(4))
    assert th.tcb["state"][a] == T.RUNNING
    check_invariants(th)


# ---- the context switch ------------------------------------------------------------------------


def test_context_switch_round_trips_registers_and_logs_34_stores_and_34_loads():
    th = make()
    a, b = th.create(1, 0, 0, 0), th.create(1, 0, 0, 0)
    th.resume(a), th.resume(b)
    assert th.context_switch(0, -1, a, []) == [0] * 34
    out_a = [(1 << 64) - 1 - k for k in range(34)]
    th.block(a)
    th.mem.take_log()
    assert th.context_switch(0, a, b, out_a) == [0] * 34
    log = th.mem.take_log()
    regs_a = [KERNEL_BASE + th.tcb.addr(a, "regs", k) for k in range(34)]
    regs_b = [KERNEL_BASE + th.tcb.addr(b, "regs", k) for k in range(34)]
    assert regs_a[0] == KERNEL_BASE + th.tcb.base + a * T.TCB_RECORD
    stores = log[np.isin(log["addr"], regs_a)]
    loads = log[np.isin(log["addr"], regs_b)]
    assert stores["addr"].tolist() == regs_a and set(stores["kind"].tolist()) == {WRITE}
    assert loads["addr"].tolist() == regs_b and set(loads["kind"].tolist()) == {READ}
    assert set(stores["size"].tolist()) == set(loads["size"].tolist()) == {8}
    assert th.tcb["regs"][a].tolist() == out_a
    th.wake(a)
    out_b = regs_of(7)
    assert th.context_switch(0, b, a, out_b) == out_a  # exact, full 64-bit values
    assert th.context_switch(0, a, b, out_a) == out_b
    assert th.tcb["state"][a] == T.RUNNABLE and th.tcb["state"][b] == T.RUNNING
    check_invariants(th)


# ---- determinism and random sequences ----------------------------------------------------------

CAP, CORES = 6, 2
OP_NAMES = ["create", "destroy", "resume", "suspend", "set_priority", "yield", "block", "wake"]
OP_NAMES += ["create", "resume", "resume", "wake", "tick", "tick", "dispatch", "dispatch"]
PRIORITIES = [0, 1, 2, 63, 64, 200, 255]


def random_ops(rng, n):
    """`n` operations: (name, thread index (some invalid), priority, core, then dispatch)."""
    return [
        (
            rng.choice(OP_NAMES),
            rng.randint(0, 3) if rng.random() < 0.8 else rng.randint(-1, CAP),
            rng.choice(PRIORITIES),
            rng.randint(0, CORES - 1),
            rng.random() < 0.5,  # kernel exit on that core afterwards (a dispatch)
        )
        for _ in range(n)
    ]


def replay(ops):
    """Run `ops`, checking the invariants after each one and that each dispatched thread gets
    back exactly the registers it was switched out with; returns (results, log)."""
    th = make(capacity=CAP, cores=CORES, slice_ticks=2)
    saved = {}  # thread -> the registers it left the core with
    results, logs = [], []

    def dispatch(core, n):
        cur = th.current(core)
        out = regs_of(n) if cur >= 0 else []
        to, regs = th.dispatch(core, out)
        if cur >= 0 and to != cur:
            saved[cur] = out
        if to >= 0 and to != cur:
            assert regs == saved[to]
        return to

    for n, (op, i, p, core, exit_) in enumerate(ops):
        if op == "create":
            r = th.create(p, core, 0, 0)
            if r >= 0:
                saved[r] = [0] * 34
        elif op == "destroy":
            r = th.destroy(i)
        elif op in ("resume", "suspend", "block", "wake"):
            r = getattr(th, op)(i)
        elif op == "set_priority":
            r = th.set_priority(i, p)
        elif op == "yield":
            r = th.yield_(core)
        elif op == "tick":
            r = th.tick(core)
        else:
            r = dispatch(core, n)
        results.append(r)
        check_invariants(th)
        if exit_:
            results.append(dispatch(core, n))
            check_invariants(th)
        logs.append(th.mem.take_log())
    for i in np.flatnonzero(th.tcb.used).tolist():
        assert th.destroy(i) == OK
    assert th.tcb.in_use == 0 and int(th.runq["bitmap"].sum()) == 0
    assert (th.runq["current"] == -1).all()
    return results, np.concatenate(logs) if logs else np.zeros(0)


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 150))
def test_random_sequences_keep_the_invariants_and_are_deterministic(rng, n):
    ops = random_ops(rng, n)
    r1, log1 = replay(ops)
    r2, log2 = replay(ops)
    assert r1 == r2
    assert np.array_equal(log1, log2)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from("rwb")), max_size=30)
)
@settings(max_examples=60, deadline=None)
def test_untimed_questions_agree_with_the_scheduler(ops):
    """has_work and preempted (the simulator's untimed questions about another core) answer
    what the timed pick and current say: work is a running or ready thread, and a core is
    preempted when its pick is not its running thread."""
    th = make(capacity=8, cores=2)
    tcbs = [th.create(p, core, 0, 0) for p, core in ((10, 0), (10, 1), (50, 1), (5, 1))]
    for i, _, op in ops:
        t = tcbs[i % len(tcbs)]
        {"r": th.resume, "w": th.wake, "b": th.block}[op](t)
        for core in range(2):
            cur = th.current(core)
            if cur < 0 or th.tcb["state"][cur] != T.RUNNING:
                to = th.pick(core)
                regs = [0] * T.N_REGS if cur >= 0 else []
                th.context_switch(core, cur, to, regs)
        for core in range(2):
            cur, pick = th.current(core), th.pick(core)
            assert th.has_work(core) == (cur >= 0 or pick >= 0)
            assert th.preempted(core) == (cur >= 0 and pick >= 0 and pick != cur)

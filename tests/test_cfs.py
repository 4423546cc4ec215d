"""The Linux kernel's CFS scheduler (hmk.monolithic.cfs): its red-black tree keeps Linux's
invariants under any sequence of operations, and its decisions are CFS's (fairness by virtual
runtime, sleeper credit, wakeup preemption, slices, yield)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.kernel.objects import KernelMemory
from hmk.kernel.threads import BLOCKED, RUNNABLE, RUNNING
from hmk.monolithic import cfs as C

RAM = 2 << 20


class Clock:
    def __init__(self):
        self.ns = 0

    def __call__(self):
        return self.ns


def make(n=0):
    mem = KernelMemory(np.zeros(RAM, np.uint8), 0, 1 << 20)
    clock = Clock()
    sched = C.Cfs(mem, 32, 1, 1, 1, clock_ns=clock)
    threads = [sched.create(100, 0, -1, -1) for _ in range(n)]
    return sched, clock, threads


def check_tree(s: C.Cfs) -> list[int]:
    """Red-black invariants, parent links, the cached leftmost; returns the in-order list."""
    se, root = s.se, int(s.rq["root"][0])
    assert root == C.NIL or se["parent"][root] == C.NIL
    assert root == C.NIL or se["color"][root] == C.BLACK

    def black_height(node):
        if node == C.NIL:
            return 1
        left, right = int(se["left"][node]), int(se["right"][node])
        for child in (left, right):
            if child != C.NIL:
                assert se["parent"][child] == node
                if se["color"][node] == C.RED:
                    assert se["color"][child] == C.BLACK, "a red node with a red child"
        hl, hr = black_height(left), black_height(right)
        assert hl == hr, "unequal black heights"
        return hl + (se["color"][node] == C.BLACK)

    black_height(root)
    order = s.in_order()
    keys = [int(se["vruntime"][i]) for i in order]
    assert keys == sorted(keys)
    assert int(s.rq["leftmost"][0]) == (order[0] if order else C.NIL)
    return order


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 3_000_000)), max_size=80))
def test_the_tree_stays_a_sorted_red_black_tree(ops):
    s, clock, threads = make(12)
    s.resume(threads[0])
    s.context_switch(0, -1, threads[0], [])
    for k, advance in ops:
        clock.ns += advance
        t = threads[k]
        state = int(s.tcb["state"][t])
        if state == RUNNING:
            s.block(t)
        elif state == BLOCKED or state == 0:
            s.resume(t)
        cur = int(s.runq["current"][0])
        alive = cur >= 0 and int(s.tcb["state"][cur]) == RUNNING
        to, _ = s.dispatch(0, [0] * 34 if alive else [])
        waiting = check_tree(s)
        running = [i for i in threads if s.tcb["state"][i] == RUNNING]
        assert len(running) <= 1 and running == ([to] if to >= 0 else [])
        assert sorted(waiting) == sorted(i for i in threads if s.tcb["state"][i] == RUNNABLE)
        assert int(s.rq["nr_running"][0]) == len(waiting) + len(running)


def run_for(s, clock, ns, tick_ns=1_000_000):
    """Let time pass with timer ticks; returns the thread on the core after each tick."""
    seen = []
    for _ in range(ns // tick_ns):
        clock.ns += tick_ns
        s.tick(0)
        to, _ = s.dispatch(0, [0] * 34)
        seen.append(to)
    return seen


def test_cpu_bound_threads_share_the_core_by_slices():
    s, clock, (a, b) = make(2)
    for t in (a, b):
        s.resume(t)
    s.dispatch(0, [])
    seen = run_for(s, clock, 60_000_000)
    share = seen.count(a) / len(seen)
    assert 0.4 <= share <= 0.6  # fair
    # each turn lasts about a slice (6 ms shared by two: 3 ms), never a single tick
    turns = [len(list(g)) for _, g in __import__("itertools").groupby(seen)]
    assert min(turns[1:-1]) >= 3 and max(turns) <= 5


def test_a_long_sleeper_gets_only_half_a_latency_of_credit_and_preempts_on_waking():
    s, clock, (hog, sleeper) = make(2)
    s.resume(hog)
    s.resume(sleeper)
    s.dispatch(0, [])
    first = int(s.runq["current"][0])
    if first == sleeper:  # let the sleeper sleep, the hog run
        s.block(sleeper)
        s.dispatch(0, [0] * 34)
    else:
        s.block(sleeper)
    run_for(s, clock, 100_000_000)
    assert int(s.runq["current"][0]) == hog
    s.resume(sleeper)  # woken after 100 ms asleep
    vr_hog = int(s.se["vruntime"][hog])
    vr_sleeper = int(s.se["vruntime"][sleeper])
    assert vr_hog - vr_sleeper <= C.LATENCY_NS // 2 + 1_000_000
    assert vr_hog - vr_sleeper > C.WAKEUP_GRANULARITY_NS
    assert s.pick(0) == sleeper  # wakeup preemption
    to, _ = s.dispatch(0, [0] * 34)
    assert to == sleeper


def test_a_wakee_close_in_vruntime_does_not_preempt():
    s, clock, (a, b) = make(2)
    s.resume(a)
    s.dispatch(0, [])
    s.resume(b)  # a new thread starts a slice behind: no preemption
    assert s.pick(0) == a
    clock.ns += 100_000
    s.block(a)
    s.dispatch(0, [0] * 34)
    assert int(s.runq["current"][0]) == b


def test_yield_hands_the_core_to_the_other_thread_and_a_new_thread_waits_its_turn():
    s, clock, (a, b) = make(2)
    s.resume(a)
    s.dispatch(0, [])
    clock.ns += 10_000
    s.resume(b)
    assert s.yield_(0) == b
    to, _ = s.dispatch(0, [0] * 34)
    assert to == b and int(s.tcb["state"][a]) == RUNNABLE


def test_every_operation_is_timed_memory_and_accounted_work():
    s, clock, (a, b) = make(2)
    s.mem.take_log()
    s.resume(a)
    s.resume(b)
    log = s.mem.take_log()
    base = s.se.base
    assert len(log) > 10
    touched = log["addr"] - (0xE000_0000_0000 + base)
    assert ((touched >= 0) & (touched < s.se.nbytes)).any()  # the tree links
    assert s.take_work() == 2 * (C.BUDGETS["cfs.enqueue"] + C.BUDGETS["sched.wakeup"])
    assert s.take_work() == 0

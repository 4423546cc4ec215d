"""IPC on activations (hmk.kernel.ipc): the fastpath and each guard's failure, pool growth up to
the maximum then blocking, reply handing the activation to the first waiter, dead endpoints,
VSpace switches, the fast call's access log, no leaks, costs, and random call/reply/destroy
sequences keeping the invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.events import READ, WRITE
from hmk.kernel import ipc as I
from hmk.kernel.cspace import CALL, ENDPOINT, CSpaces
from hmk.kernel.cspace import READ as R_READ
from hmk.kernel.cspace import TCB as T_TCB
from hmk.kernel.errors import EBADTYPE, ENOENT, ENOMEM, EPERM, OK
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KERNEL_BASE, KernelMemory
from hmk.kernel.threads import Threads
from hmk.kernel.vspace import VSpaces

RAM = 4 << 20
HEAP = 1 << 20
SLOT = 0  # every test CSpace holds the endpoint capability in slot 0


class Sys:
    """A kernel with two VSpaces (client, server), a server thread, callers, one endpoint."""

    def __init__(self, acts=16, initial=2, pool_max=4, callers=6, eps=4, max_pool=5120):
        ram = np.zeros(RAM, np.uint8)
        self.mem = mem = KernelMemory(ram, 0, HEAP)
        self.cs = CSpaces(mem, slots=256, cspaces=16, objects_per_type=16)
        self.th = Threads(mem, 16, cores=1, tick_cycles=1000, slice_ticks=3)
        self.vs = VSpaces(mem, ram, Frames(ram, HEAP), 8)
        self.ipc = I.Ipc(mem, self.cs, self.th, self.vs, eps, acts, initial, max_pool)
        self.client_vs, self.server_vs = self.vs.create(), self.vs.create()
        self.cspace = self.cs.create(8)
        self.server = self.th.create(10, 0, self.server_vs, self.cspace)
        self.callers = [self.th.create(10, 0, self.client_vs, self.cspace) for _ in range(callers)]
        self.ep = self.ipc.create_endpoint(
            self.server, self.server_vs, 0x4000, initial=initial, pool_max=pool_max
        )
        assert self.ep >= 0
        assert self.cs.install(self.cspace, SLOT, ENDPOINT, self.ep, CALL) == OK
        mem.take_log()

    def call(self, caller, msg_len=16, vspace=None, slot=SLOT, **kw):
        v = self.client_vs if vspace is None else vspace
        return self.ipc.call(self.callers[caller], v, self.cspace, slot, msg_len, **kw)


def state(s):
    """Everything an IPC operation may change, to check that errors change nothing."""
    pools = (s.ipc.ep, s.ipc.act, s.ipc.buf, s.ipc.wait, s.th.tcb, s.vs.vspace)
    arrays = [a.copy() for p in pools for a in (p.used, *p.arrays.values())]
    return arrays + [p.in_use for p in pools] + [dict(s.ipc.counters) | {"kernel.ipc.errors": 0}]


def same(a, b):
    return all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        for x, y in zip(a, b, strict=True)
    )


def busy(s):
    return int((s.ipc.act.used & (s.ipc.act["state"] == I.BUSY)).sum())


def check_invariants(s, outstanding, waiting):
    """`outstanding`: {activation: caller} of the calls in progress; `waiting`: [(caller, ep)]
    in queue order."""
    ipc = s.ipc
    used = np.flatnonzero(ipc.act.used)
    # every activation is FREE or BUSY with a caller; busy ones == outstanding calls
    for a in used:
        st_ = int(ipc.act["state"][a])
        assert st_ in (I.FREE, I.BUSY)
        assert (int(ipc.act["caller"][a]) >= 0) == (st_ == I.BUSY)
        assert ipc.ep.used[int(ipc.act["owner"][a])]
    assert sorted(outstanding) == sorted(int(a) for a in used if ipc.act["state"][a])
    for a, caller in outstanding.items():
        assert int(ipc.act["caller"][a]) == caller
    for ep in np.flatnonzero(ipc.ep.used):
        owned = [a for a in used if ipc.act["owner"][a] == ep]
        assert int(ipc.ep["pool_size"][ep]) == len(owned)
        assert len(owned) <= int(ipc.ep["pool_max"][ep]) or ipc.ep["server"][ep] < 0
        free, a = [], int(ipc.ep["free_head"][ep])
        while a >= 0:
            free.append(a)
            a = int(ipc.act["next"][a])
        assert sorted(free) == sorted(a for a in owned if ipc.act["state"][a] == I.FREE)
        q, w = [], int(ipc.ep["wait_head"][ep])
        while w >= 0:
            q.append(w)
            w = int(ipc.wait["next"][w])
        assert q == [c for c, e in waiting if e == ep]
        if q:  # waiters only when the pool is at its maximum and every activation is busy
            assert len(owned) == int(ipc.ep["pool_max"][ep]) and not free
    n = len(used)
    assert ipc.counters["kernel.ipc.activation_bytes"] == n * I.ACT_BYTES
    assert ipc.counters["kernel.ipc.activation_frames"] == n * I.ACT_FRAMES
    c = ipc.counters
    assert c["kernel.ipc.activations_allocated"] - c["kernel.ipc.activations_freed"] == n


# ---- the fastpath -----------------------------------------------------------------------------


def test_fastpath_short_message_free_activation():
    s = Sys()
    r = s.call(0, msg_len=96, ret=(0x1234, 0x8000, 0x3C5))
    assert r.err == OK and r.path == "fast" and r.reason == ""
    assert r.activation >= 0 and r.entry == 0x4000 and r.copied == 0 and not r.grew
    a = r.activation
    assert s.ipc.act["state"][a] == I.BUSY and s.ipc.act["caller"][a] == s.callers[0]
    assert s.th.tcb["activation"][s.callers[0]] == a
    assert s.ipc.counters["kernel.ipc.fastpath"] == 1
    assert s.ipc.counters["kernel.ipc.slowpath"] == 0
    rr = s.ipc.reply(a, 256, endpoint=s.ep)
    assert rr.err == OK and rr.path == "fast" and rr.caller_tcb == s.callers[0]
    assert rr.ret == (0x1234, 0x8000, 0x3C5) and rr.woken == -1
    assert s.ipc.act["state"][a] == I.FREE and s.th.tcb["activation"][s.callers[0]] == -1
    assert s.ipc.counters["kernel.ipc.reply.fast"] == 1


def test_vspace_switch_only_across_spaces():
    s = Sys()
    cross = s.call(0)
    assert cross.switch_vspace and cross.asid > 0
    assert s.ipc.reply(cross.activation, 8).switch_vspace
    same_vs = s.call(1, vspace=s.server_vs)  # IC1-style / coalesced: one VSpace
    assert same_vs.err == OK and same_vs.path == "fast" and not same_vs.switch_vspace
    assert not s.ipc.reply(same_vs.activation, 8).switch_vspace


def test_fast_call_access_log_touches_slot_endpoint_activation():
    s = Sys()
    r = s.call(0)
    log = s.mem.take_log()
    addrs = set(int(a) - KERNEL_BASE for a in log["addr"])

    def region(pool, i):
        return {
            a for a in addrs if pool.base + i * pool.record <= a < pool.base + (i + 1) * pool.record
        }

    slot = int(s.cs.cspace["first"][s.cspace]) + SLOT
    assert region(s.cs.slot, slot)
    assert s.cs.slot.addr(slot, "rights") in addrs and s.cs.slot.addr(slot, "object") in addrs
    ep, a = s.ep, r.activation
    for f in ("server", "server_vspace", "free_head", "entry"):
        assert s.ipc.ep.addr(ep, f) in addrs
    for f in ("state", "caller", "caller_vspace", "prev_act", "msg_len"):
        assert s.ipc.act.addr(a, f) in addrs
    writes = {int(x["addr"]) - KERNEL_BASE for x in log if x["kind"] == WRITE}
    assert s.ipc.act.addr(a, "state") in writes and s.ipc.ep.addr(ep, "free_head") in writes
    assert s.th.tcb.addr(s.callers[0], "activation") in writes
    assert not any(s.ipc.buf.base <= x < s.ipc.buf.base + s.ipc.buf.nbytes for x in addrs)
    assert (log["kind"] == READ).any()


# ---- each guard ---------------------------------------------------------------------------------


def test_long_message_takes_slowpath_and_copies():
    s = Sys()
    r = s.call(0, msg_len=97)
    assert r.err == OK and r.path == "slow" and r.reason == "long message"
    assert r.copied == 97
    log = s.mem.take_log()
    buf = s.ipc.buf
    lo, hi = buf.base + r.activation * buf.record, buf.base + (r.activation + 1) * buf.record
    copies = [x for x in log if lo <= int(x["addr"]) - KERNEL_BASE < hi]
    assert len(copies) == 13 and all(x["kind"] == WRITE and x["size"] == 8 for x in copies)
    assert s.ipc.counters["kernel.ipc.slowpath.long message"] == 1
    rr = s.ipc.reply(r.activation, 257)
    assert rr.path == "slow" and rr.copied == 257
    assert s.ipc.counters["kernel.ipc.reply.slow"] == 1


def test_capability_transfer_takes_slowpath():
    s = Sys()
    r = s.call(0, cap_transfer=True)
    assert r.err == OK and r.path == "slow" and r.reason == "capability transfer"
    assert s.ipc.counters["kernel.ipc.slowpath.capability transfer"] == 1


@pytest.mark.parametrize(
    "setup, call_kw, err",
    [
        (None, {"slot": 1}, ENOENT),  # empty slot
        (None, {"slot": 99}, I.EINVAL),  # outside the CSpace
        ("no_call_right", {"slot": 2}, EPERM),
        ("wrong_type", {"slot": 3}, EBADTYPE),
        ("dead", {}, I.EPIPE),
        (None, {"msg_len": 2049}, I.EMSGSIZE),
        (None, {"msg_len": -1}, I.EINVAL),
        (None, {"vspace": 7}, I.EINVAL),
    ],
)
def test_errors_change_nothing(setup, call_kw, err):
    s = Sys()
    if setup == "no_call_right":
        s.cs.install(s.cspace, 2, ENDPOINT, s.ep, R_READ)
    elif setup == "wrong_type":
        s.cs.install(s.cspace, 3, T_TCB, s.server, CALL)
    elif setup == "dead":
        assert s.ipc.destroy_endpoint(s.ep).err == OK
    before = state(s)
    r = s.call(0, **call_kw)
    assert r.err == err and r.activation == -1 and r.path == "slow"
    assert same(state(s), before)
    assert s.ipc.counters["kernel.ipc.errors"] == 1


def test_reply_errors_change_nothing():
    s = Sys()
    r = s.call(0)
    before = state(s)
    free_act = int(s.ipc.ep["free_head"][s.ep])
    assert s.ipc.reply(free_act, 8).err == I.EINVAL  # not busy
    assert s.ipc.reply(15, 8).err == I.EINVAL  # not allocated
    assert s.ipc.reply(r.activation, 2049).err == I.EMSGSIZE
    assert s.ipc.reply(r.activation, 8, endpoint=s.ep + 1).err == EPERM
    assert same(state(s), before)


def test_pool_growth_then_blocking_then_handoff():
    s = Sys(initial=2, pool_max=4)
    got = [s.call(k) for k in range(4)]
    assert [r.path for r in got] == ["fast", "fast", "slow", "slow"]
    assert [r.reason for r in got[2:]] == ["pool growth", "pool growth"] and got[3].grew
    assert s.ipc.ep["pool_size"][s.ep] == 4
    assert s.ipc.counters["kernel.ipc.activations_allocated"] == 4
    assert s.ipc.counters["kernel.ipc.activation_bytes"] == 4 * I.ACT_BYTES == 4 * 19584
    b1 = s.call(4, msg_len=200)
    b2 = s.call(5)
    assert b1.err == b2.err == I.BLOCKED and b1.activation == -1
    assert b1.reason == "long message+blocked" and b2.reason == "blocked"
    assert s.ipc.counters["kernel.ipc.slowpath.blocked"] == 2
    assert s.ipc.ep["pool_size"][s.ep] == 4  # no growth beyond the maximum
    # a waiter cannot call again while queued
    assert s.call(4).err == I.EINVAL
    rr = s.ipc.reply(got[1].activation, 8)
    assert rr.woken == s.callers[4] and rr.handoff == got[1].activation
    assert rr.copied == 200  # the waiter's long message went into the buffer
    a = got[1].activation
    assert s.ipc.act["state"][a] == I.BUSY and s.ipc.act["caller"][a] == s.callers[4]
    assert s.th.tcb["activation"][s.callers[4]] == a
    rr2 = s.ipc.reply(got[0].activation, 8)
    assert rr2.woken == s.callers[5]
    rr3 = s.ipc.reply(got[2].activation, 8)
    assert rr3.woken == -1 and s.ipc.ep["free_head"][s.ep] == got[2].activation
    outstanding = {got[3].activation: s.callers[3]}
    outstanding |= {got[1].activation: s.callers[4], got[0].activation: s.callers[5]}
    check_invariants(s, outstanding, [])


def test_growth_fails_cleanly_when_kernel_pool_exhausted():
    s = Sys(acts=3, initial=2, pool_max=3)
    # the second endpoint takes the last activation
    ep2 = s.ipc.create_endpoint(s.server, s.server_vs, 0x5000, initial=1, pool_max=2)
    assert ep2 >= 0 and s.ipc.act.in_use == 3
    s.call(0), s.call(1)
    before = state(s)
    r = s.call(2)
    assert r.err == ENOMEM and r.reason == "no memory"
    assert same(state(s), before)
    assert s.ipc.create_endpoint(s.server, s.server_vs, 0, initial=1) == ENOMEM


def test_max_pool_clamped_to_capacity():
    s = Sys(acts=6, initial=0, pool_max=1)
    ipc = I.Ipc(KernelMemory(np.zeros(RAM, np.uint8), 0, HEAP), s.cs, s.th, s.vs, 2, 6, 8, 5120)
    assert ipc.max_pool == 6 and ipc.initial_pool == 6
    assert ipc.create_endpoint(s.server, s.server_vs, 0, pool_max=7) == I.EINVAL
    ep = ipc.create_endpoint(s.server, s.server_vs, 0)
    assert ep >= 0 and ipc.ep["pool_size"][ep] == ipc.ep["pool_max"][ep] == 6


def test_cancel_wait_keeps_the_queue_linked():
    s = Sys(initial=1, pool_max=1)
    r = s.call(0)
    assert [s.call(k).err for k in (1, 2, 3)] == [I.BLOCKED] * 3
    assert s.ipc.cancel_wait(s.callers[2]) == OK  # middle
    assert s.ipc.cancel_wait(s.callers[3]) == OK  # tail
    assert s.ipc.cancel_wait(s.callers[3]) == I.EINVAL
    check_invariants(s, {r.activation: s.callers[0]}, [(s.callers[1], s.ep)])
    assert s.call(3).err == I.BLOCKED  # the tail was fixed: it appends after caller 1
    check_invariants(s, {r.activation: s.callers[0]}, [(s.callers[1], s.ep), (s.callers[3], s.ep)])
    assert s.ipc.reply(r.activation, 8).woken == s.callers[1]


def test_dead_endpoint_aborts_and_frees_everything():
    s = Sys(initial=1, pool_max=1)
    r = s.call(0)
    assert s.call(1).err == I.BLOCKED
    d = s.ipc.destroy_endpoint(s.ep)
    assert d.err == OK and d.aborted == [s.callers[0]] and d.waiters == [s.callers[1]]
    assert d.freed == 1 and s.ipc.act.in_use == 0
    assert s.th.tcb["activation"][s.callers[0]] == -1
    assert s.ipc.wait["endpoint"][s.callers[1]] == -1
    assert s.call(2).err == I.EPIPE
    assert s.ipc.reply(r.activation, 8).err == I.EINVAL  # its activation is gone
    assert s.ipc.destroy_endpoint(s.ep).err == I.EPIPE
    assert s.ipc.release_endpoint(s.ep) == OK
    assert s.call(2).err == I.EPIPE  # a stale capability to a released endpoint
    assert s.ipc.ep.in_use == 0 and s.ipc.counters["kernel.ipc.activation_bytes"] == 0


def test_nested_call_restores_previous_activation():
    s = Sys()
    ep2 = s.ipc.create_endpoint(s.server, s.client_vs, 0x6000, initial=1, pool_max=1)
    s.cs.install(s.cspace, 4, ENDPOINT, ep2, CALL)
    outer = s.call(0)
    inner = s.call(0, slot=4, vspace=s.server_vs)  # the handler calls on
    assert inner.err == OK and s.th.tcb["activation"][s.callers[0]] == inner.activation
    s.ipc.reply(inner.activation, 8)
    assert s.th.tcb["activation"][s.callers[0]] == outer.activation
    s.ipc.reply(outer.activation, 8)
    assert s.th.tcb["activation"][s.callers[0]] == -1


def test_no_leaks_after_destroying_everything():
    s = Sys()
    for k in range(5):
        s.call(k, msg_len=100 * k)
    s.ipc.release_endpoint(s.ep)
    assert s.ipc.act.in_use == 0 and s.ipc.ep.in_use == 0
    assert not (s.ipc.wait["endpoint"] >= 0).any()
    c = s.ipc.counters
    assert c["kernel.ipc.activation_bytes"] == 0 and c["kernel.ipc.activation_frames"] == 0
    assert c["kernel.ipc.activations_allocated"] == c["kernel.ipc.activations_freed"]


# ---- costs --------------------------------------------------------------------------------------


def test_ipc_budgets_and_stalls():
    s = Sys()
    from hmk.kernel.costs import BUDGETS as b
    from hmk.kernel.costs import path_cycles

    def cycles(result, log, lat):
        return path_cycles(I.ipc_budget(result), lat, log, hit)

    r = s.call(0)
    log = s.mem.take_log()
    hit = 4
    lat = np.full(len(log), hit)
    assert cycles(r, log, lat) == b["ipc.fast_call"] + b["ipc.ttbr_switch"]
    lat[log["kind"] == READ] = hit + 10
    n_loads = int(((log["kind"] == READ) & (log["size"] < 64)).sum())
    want = b["ipc.fast_call"] + b["ipc.ttbr_switch"] + 10 * n_loads
    assert cycles(r, log, lat) == want
    r2 = s.call(1, msg_len=200, vspace=s.server_vs)
    log2 = s.mem.take_log()
    c2 = cycles(r2, log2, np.full(len(log2), hit))
    assert c2 == b["ipc.fast_call"] + b["ipc.slow_extra"] + 25 * b["ipc.copy_per_word"]
    rr = s.ipc.reply(r.activation, 8)
    log3 = s.mem.take_log()
    assert cycles(rr, log3, np.full(len(log3), hit)) == b["ipc.fast_reply"] + b["ipc.ttbr_switch"]


# ---- random sequences ---------------------------------------------------------------------------

ops = st.lists(
    st.tuples(
        st.sampled_from(["call", "call", "call", "reply", "reply", "destroy", "cancel"]),
        st.integers(0, 5),  # caller / which outstanding call
        st.integers(0, 300),  # message or reply length
        st.booleans(),  # same VSpace / cap transfer
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_random_sequences_keep_invariants(seq):
    s = Sys(acts=8, initial=1, pool_max=3, eps=4)
    ep2 = s.ipc.create_endpoint(s.server, s.client_vs, 0x7000, initial=2, pool_max=2)
    s.cs.install(s.cspace, 1, ENDPOINT, ep2, CALL)
    out, waiting = {}, []  # activation -> caller; [(caller, ep)] in queue order
    for op, k, n, flag in seq:
        caller = s.callers[k]
        if op == "call":
            slot = k % 2
            ep = s.ep if slot == 0 else ep2
            before = state(s)
            r = s.call(k, msg_len=n, slot=slot, cap_transfer=flag)
            if any(c == caller for c, _ in waiting):  # a queued caller cannot call
                assert r.err == I.EINVAL and same(state(s), before)
            elif r.err == OK:  # (a caller with a call out may call on: a nested call)
                assert r.switch_vspace == (int(s.ipc.ep["server_vspace"][ep]) != s.client_vs)
                assert (r.path == "fast") == (n <= 96 and not flag and not r.grew)
                out[r.activation] = caller
            elif r.err == I.BLOCKED:
                waiting.append((caller, ep))
            else:
                assert r.err in (I.EPIPE, ENOMEM) and same(state(s), before)
        elif op == "reply" and out:
            a = sorted(out)[k % len(out)]
            del out[a]
            ep = int(s.ipc.act["owner"][a])
            rr = s.ipc.reply(a, n)
            assert rr.err == OK and (rr.path == "fast") == (n <= 256)
            firsts = [c for c, e in waiting if e == ep]
            if firsts:
                assert rr.woken == firsts[0] and rr.handoff == a
                waiting.remove((firsts[0], ep))
                out[a] = firsts[0]
            else:
                assert rr.woken == -1
        elif op == "destroy":
            ep = s.ep if k % 2 == 0 else ep2
            owned = {a for a in out if s.ipc.act["owner"][a] == ep}
            d = s.ipc.destroy_endpoint(ep)
            if d.err == OK:
                assert sorted(d.aborted) == sorted(out[a] for a in owned)
                assert d.waiters == [c for c, e in waiting if e == ep]
                out = {a: c for a, c in out.items() if a not in owned}
                waiting = [(c, e) for c, e in waiting if e != ep]
            else:
                assert d.err == I.EPIPE
        elif op == "cancel":
            queued = [(c, e) for c, e in waiting if c == caller]
            assert s.ipc.cancel_wait(caller) == (OK if queued else I.EINVAL)
            if queued:
                waiting.remove(queued[0])
        check_invariants(s, out, waiting)
    s.ipc.release_endpoint(s.ep)
    s.ipc.release_endpoint(ep2)
    assert s.ipc.act.in_use == 0 and s.ipc.ep.in_use == 0
    assert not (s.ipc.wait["endpoint"] >= 0).any()
    assert s.ipc.counters["kernel.ipc.activation_bytes"] == 0

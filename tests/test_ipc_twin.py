"""The compiled IPC fastpath (hmk._fast.ipcfast.FastIpc) against the Python reference
(hmk.kernel.ipc.Ipc): two identical kernels, one driven by each, must give identical results,
identical kernel state (every pool array, counters, the ASID allocator) and identical access
logs after every operation; the plain fast call and reply run compiled."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ipc import SLOT, Sys

from hmk.hw.events import READ, WRITE
from hmk.kernel import cspace as C
from hmk.kernel import ipc as I

ipcfast = pytest.importorskip("hmk._fast.ipcfast")

# slots of the test CSpace: 0 the endpoint (CALL), 1 a same-VSpace endpoint (CALL),
# 2 the endpoint without CALL, 3 empty, 4 a TCB capability, 9 outside the CSpace
SLOTS = (0, 0, 0, 1, 1, 1, 2, 3, 4, 9)  # weighted towards the endpoints


def make(acts=8, initial=2, pool_max=3, callers=5):
    s = Sys(acts=acts, initial=initial, pool_max=pool_max, callers=callers)
    # a second endpoint served in the client's own VSpace (no switch)
    s.ep2 = s.ipc.create_endpoint(s.server, s.client_vs, 0x8000, initial=1, pool_max=2)
    assert s.ep2 >= 0
    assert s.cs.install(s.cspace, 1, C.ENDPOINT, s.ep2, C.CALL) == C.OK
    assert s.cs.install(s.cspace, 2, C.ENDPOINT, s.ep, C.READ) == C.OK
    assert s.cs.install(s.cspace, 4, C.TCB, s.server, C.CALL) == C.OK
    s.mem.take_log()
    return s


def full_state(s):
    out = []
    for name, p in s.mem.pools.items():
        out.append((name, p.in_use, p.used.copy()))
        out.extend((name, f, a.copy()) for f, a in p.arrays.items())
    a = s.vs.asids
    out.append(("asid", a.generation, bytes(a.used), a.next, list(a.active), a.rollovers))
    out.append(("counters", dict(s.ipc.counters)))
    out.append(("core", s.mem.core, s.mem.n_log))
    return out


def assert_same_state(a, b):
    for x, y in zip(full_state(a), full_state(b), strict=True):
        assert len(x) == len(y)
        for u, v in zip(x, y, strict=True):
            if isinstance(u, np.ndarray):
                assert np.array_equal(u, v), x[:2]
            else:
                assert u == v, x[:2]


def assert_same_log(a, b):
    la, lb = a.mem.take_log(), b.mem.take_log()
    assert la.dtype == lb.dtype and len(la) == len(lb)
    assert la.tobytes() == lb.tobytes()


def assert_same_result(ra, rb):
    assert type(ra) is type(rb)
    assert ra == rb
    if isinstance(ra, tuple):
        assert [type(x) for x in ra] == [type(x) for x in rb]


def test_plain_fast_call_and_reply_run_compiled():
    py, cy = make(), make()
    fast = ipcfast.FastIpc(cy.ipc)
    for s in (py, cy):  # same-VSpace endpoint too
        assert s.client_vs != s.server_vs
    ra = py.ipc.call(py.callers[0], py.client_vs, py.cspace, SLOT, 16, ret=(1, 2, 3))
    rb = fast.call(cy.callers[0], cy.client_vs, cy.cspace, SLOT, 16, ret=(1, 2, 3))
    assert ra.path == "fast" and ra.switch_vspace
    assert_same_result(ra, rb)
    assert_same_log(py, cy)
    assert_same_state(py, cy)
    assert fast.fast_calls == 1 and fast.fallback_calls == 0
    ra = py.ipc.reply(ra.activation, 64)
    rb = fast.reply(rb.activation, 64)
    assert ra.path == "fast" and ra.ret == (1, 2, 3)
    assert_same_result(ra, rb)
    assert_same_log(py, cy)
    assert_same_state(py, cy)
    assert fast.fast_replies == 1 and fast.fallback_replies == 0
    # same VSpace: no switch
    ra = py.ipc.call(py.callers[1], py.client_vs, py.cspace, 1, 0)
    rb = fast.call(cy.callers[1], cy.client_vs, cy.cspace, 1, 0)
    assert ra.path == "fast" and not ra.switch_vspace and ra.entry == 0x8000
    assert_same_result(ra, rb)
    assert_same_log(py, cy)
    assert fast.fast_calls == 2


def test_fast_call_log_is_the_reference_shape():
    cy = make()
    fast = ipcfast.FastIpc(cy.ipc)
    r = fast.call(cy.callers[0], cy.client_vs, cy.cspace, 1, 8)
    log = cy.mem.take_log()
    assert r.path == "fast" and fast.fast_calls == 1
    # lookup 5 loads, endpoint 3 loads, pop (load, store), next, fill (6 stores, load, 3 stores),
    # entry
    kinds = [READ] * 8 + [READ, WRITE, WRITE] + [WRITE] * 6 + [READ, WRITE, WRITE, WRITE, READ]
    assert list(log["kind"]) == kinds


def test_fallbacks_change_nothing_then_run_the_reference():
    py, cy = make(), make()
    fast = ipcfast.FastIpc(cy.ipc)
    cases = [
        (0, 97, SLOT, False),  # long message
        (0, 16, 2, False),  # no CALL right
        (0, 16, 3, False),  # empty slot
        (0, 16, 4, False),  # wrong type
        (0, 16, 9, False),  # outside the CSpace
        (0, 16, SLOT, True),  # capability transfer
        (0, -1, SLOT, False),  # bad length
    ]
    for k, (caller, n, slot, cap) in enumerate(cases, 1):
        ra = py.ipc.call(py.callers[caller], py.client_vs, py.cspace, slot, n, cap)
        rb = fast.call(cy.callers[caller], cy.client_vs, cy.cspace, slot, n, cap)
        assert_same_result(ra, rb)
        assert_same_log(py, cy)
        assert_same_state(py, cy)
        assert fast.fallback_calls == k and fast.fast_calls == 0


CALL_OP = st.tuples(
    st.just("call"),
    st.integers(0, 4),  # caller
    st.sampled_from((0, 8, 16, 95, 96, 96, 97, 256, 2048, 2049)),  # msg_len
    st.sampled_from(SLOTS),
    st.booleans(),  # the caller runs in the server's VSpace
    st.sampled_from((False,) * 6 + (True,)),  # capability transfer
    st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 99), st.integers(0, 99)),
)
REPLY_OP = st.tuples(
    st.just("reply"),
    st.integers(0, 55),  # which busy activation (below 48), else activation index pick - 48
    st.sampled_from((0, 8, 64, 256, 256, 257, 2048, 2049)),
    st.sampled_from((-1, -1, -1, 0, 1)),  # the endpoint argument (0/1: s.ep / s.ep2)
)
OPS = st.one_of(
    CALL_OP,
    CALL_OP,
    CALL_OP,
    REPLY_OP,
    REPLY_OP,
    REPLY_OP,
    st.tuples(st.just("destroy"), st.integers(0, 7)),  # 2..7: nothing (destroys stay rare)
    st.tuples(st.just("cancel"), st.integers(0, 4)),
)


def apply(s, fast, op):
    """Run `op` on system `s`: through `fast` if given, else the Python reference."""
    ipc = fast if fast is not None else s.ipc
    eps = (s.ep, s.ep2)
    if op[0] == "call":
        _, c, n, slot, in_server, cap, ret = op
        v = s.server_vs if in_server else s.client_vs
        return ipc.call(s.callers[c], v, s.cspace, slot, n, cap, ret)
    if op[0] == "reply":
        _, pick, n, e = op
        busy = [int(a) for a in np.flatnonzero(s.ipc.act.used & (s.ipc.act["state"] == I.BUSY))]
        act = busy[pick % len(busy)] if busy and pick < 48 else pick - 48
        return ipc.reply(act, n, eps[e] if e >= 0 else -1)
    if op[0] == "destroy":
        return s.ipc.destroy_endpoint(eps[op[1]]) if op[1] < 2 else None
    return s.ipc.cancel_wait(s.callers[op[1]])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(OPS, min_size=10, max_size=60),
    st.sampled_from(((8, 2, 3), (6, 1, 4), (16, 0, 3), (5, 2, 2))),
)
def test_random_sequences_match_the_reference(ops, sizes):
    acts, initial, pool_max = sizes
    py, cy = make(acts, initial, pool_max), make(acts, initial, pool_max)
    fast = ipcfast.FastIpc(cy.ipc)
    assert_same_state(py, cy)
    for op in ops:
        ra, rb = apply(py, None, op), apply(cy, fast, op)
        assert_same_result(ra, rb)
        assert_same_log(py, cy)
        assert_same_state(py, cy)


def test_fast_reply_hands_off_to_waiters_compiled():
    py, cy = make(acts=8, initial=1, pool_max=1), make(acts=8, initial=1, pool_max=1)
    fast = ipcfast.FastIpc(cy.ipc)
    acts = []
    for caller, n in ((0, 16), (1, 300), (2, 8)):  # one call runs, two wait (one long message)
        ra = py.ipc.call(py.callers[caller], py.client_vs, py.cspace, SLOT, n, ret=(caller, 0, 0))
        rb = fast.call(cy.callers[caller], cy.client_vs, cy.cspace, SLOT, n, ret=(caller, 0, 0))
        assert_same_result(ra, rb)
        assert_same_log(py, cy)
        assert_same_state(py, cy)
        acts.append(ra.activation)
    assert acts[0] >= 0 and acts[1:] == [-1, -1]
    for woken, copied in ((py.callers[1], 300), (py.callers[2], 0)):
        ra, rb = py.ipc.reply(acts[0], 8), fast.reply(acts[0], 8)
        assert ra.path == "fast" and ra.woken == woken and ra.handoff == acts[0]
        assert ra.copied == copied
        assert_same_result(ra, rb)
        assert_same_log(py, cy)
        assert_same_state(py, cy)
    assert fast.fast_replies == 2 and fast.fallback_replies == 0

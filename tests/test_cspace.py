"""Capability spaces (hmk.kernel.cspace): each operation and each error result, the CDT
(revoke, delete), and the compiled lookup against the Python reference (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.kernel import cspace as C
from hmk.kernel.objects import KERNEL_BASE, KernelMemory

OBJS = 8
IMPLS = ["python", "cython"]


def make(slots=32, cspaces=4):
    mem = KernelMemory(np.zeros(1 << 20, np.uint8), 0, 64 * 1024)
    return C.CSpaces(mem, slots, cspaces, OBJS)


def state(caps):
    """Everything an operation may change, to check that errors change nothing."""
    arrays = [caps.slot.used, caps.cspace.used, *caps.slot.arrays.values()]
    arrays += [*caps.cspace.arrays.values(), caps.refs["count"]]
    return [a.copy() for a in arrays] + [caps.slot.in_use, caps.cspace.in_use]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def refs(caps, t, o):
    return int(caps.refs["count"][t * OBJS + o])


@pytest.fixture
def caps():
    caps = make()
    caps.a, caps.b = caps.create(8), caps.create(8)
    assert caps.install(caps.a, 0, C.ENDPOINT, 3, C.ALL_RIGHTS) == C.OK
    caps.mem.take_log()
    return caps


@pytest.mark.parametrize("impl", IMPLS)
def test_lookup_finds_the_object_and_logs_five_loads(caps, impl):
    assert caps.lookup(caps.a, 0, C.ENDPOINT, C.CALL | C.READ, impl=impl) == (C.OK, 3)
    log = caps.mem.take_log()
    slot = KERNEL_BASE + caps.slot.addr(0, "type") - caps.slot.offset["type"]
    assert log["kind"].tolist() == [0] * 5 and log["size"].tolist() == [4, 4, 1, 1, 4]
    assert log["addr"][2:].tolist() == [
        slot + caps.slot.offset[f] for f in ("type", "rights", "object")
    ]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "args, err",
    [
        ((0, 8, C.ENDPOINT, 0), C.EINVAL),  # past the end
        ((0, -1, C.ENDPOINT, 0), C.EINVAL),
        ((0, 1 << 70, C.ENDPOINT, 0), C.EINVAL),
        ((3, 0, C.ENDPOINT, 0), C.EINVAL),  # no such CSpace
        ((99, 0, C.ENDPOINT, 0), C.EINVAL),
        ((0, 1, C.ENDPOINT, 0), C.ENOENT),
        ((0, 0, C.TCB, 0), C.EBADTYPE),
        ((1, 0, C.ENDPOINT, 0), C.ENOENT),  # the other CSpace
    ],
)
def test_lookup_errors_change_nothing(caps, impl, args, err):
    before = state(caps)
    assert caps.lookup(*args, impl=impl) == (err, -1)
    assert same(before, state(caps))


@pytest.mark.parametrize("impl", IMPLS)
def test_lookup_checks_rights(caps, impl):
    assert caps.derive(caps.a, 0, caps.b, 0, C.READ, 0) == C.OK
    assert caps.lookup(caps.b, 0, C.ENDPOINT, C.READ, impl=impl) == (C.OK, 3)
    assert caps.lookup(caps.b, 0, C.ENDPOINT, C.READ | C.WRITE, impl=impl) == (C.EPERM, -1)


def test_create_exhaustion_is_enomem_and_allocates_nothing(caps):
    before = state(caps)
    assert caps.create(17) == C.ENOMEM  # 16 of 32 slots are free
    assert caps.create(0) == C.EINVAL
    assert same(before, state(caps))
    assert caps.create(16) == 2 and caps.slot.in_use == 32
    assert caps.create(1) == C.ENOMEM
    small = make(slots=64, cspaces=1)
    assert small.create(1) == 0 and small.create(1) == C.ENOMEM and small.slot.in_use == 1


def test_install_errors(caps):
    before = state(caps)
    assert caps.install(caps.a, 0, C.TCB, 0, 0) == C.EEXIST
    assert caps.install(caps.a, 8, C.TCB, 0, 0) == C.EINVAL
    assert caps.install(caps.a, 1, C.NULL, 0, 0) == C.EINVAL
    assert caps.install(caps.a, 1, C.TCB, OBJS, 0) == C.EINVAL
    assert caps.install(caps.a, 1, C.TCB, 0, 16) == C.EINVAL
    assert same(before, state(caps))


def test_copy_keeps_rights_and_badge_and_becomes_a_child(caps):
    assert caps.derive(caps.a, 0, caps.a, 1, C.READ | C.CALL, 42) == C.OK
    assert caps.copy(caps.a, 1, caps.b, 5) == C.OK
    s, src = caps.cspace["first"][caps.b] + 5, caps.cspace["first"][caps.a] + 1
    assert caps.slot["rights"][s] == C.READ | C.CALL and caps.slot["badge"][s] == 42
    assert caps.slot["parent"][s] == src and caps.slot["first_child"][src] == s
    assert refs(caps, C.ENDPOINT, 3) == 3


@pytest.mark.parametrize(
    "args, err",
    [
        ((0, 8, 1, 0), C.EINVAL),
        ((0, 1, 1, 0), C.ENOENT),
        ((0, 0, 1, 8), C.EINVAL),
        ((0, 0, 0, 0), C.EEXIST),
        ((0, 0, 3, 0), C.EINVAL),
    ],
)
def test_copy_and_derive_errors_change_nothing(caps, args, err):
    before = state(caps)
    assert caps.copy(*args) == err
    assert caps.derive(*args, C.READ, 0) == err
    assert same(before, state(caps))


def test_derive_needs_a_subset_and_cannot_rebadge(caps):
    assert caps.derive(caps.a, 0, caps.a, 1, C.READ, 7) == C.OK
    before = state(caps)
    assert caps.derive(caps.a, 1, caps.a, 2, C.READ | C.WRITE, 0) == C.EPERM
    assert caps.derive(caps.a, 1, caps.a, 2, C.READ, 8) == C.EPERM
    assert caps.derive(caps.a, 1, caps.a, 2, -1, 0) == C.EPERM
    assert same(before, state(caps))
    assert caps.derive(caps.a, 1, caps.a, 2, 0, 0) == C.OK
    assert caps.slot["badge"][2] == 7 and caps.slot["rights"][2] == 0


def test_delete_reports_the_last_capability(caps):
    caps.copy(caps.a, 0, caps.b, 0)
    before = state(caps)
    assert caps.delete(caps.a, 1) == (C.ENOENT, False)
    assert caps.delete(caps.a, 9) == (C.EINVAL, False)
    assert same(before, state(caps))
    assert caps.delete(caps.a, 0) == (C.OK, False)
    assert caps.delete(caps.b, 0) == (C.OK, True)
    assert refs(caps, C.ENDPOINT, 3) == 0
    assert caps.lookup(caps.b, 0, C.ENDPOINT, 0) == (C.ENOENT, -1)


def test_delete_moves_children_up_to_the_parent(caps):
    a = caps.a
    caps.copy(a, 0, a, 1)  # 0 -> 1
    caps.copy(a, 1, a, 2)  # 1 -> 2, 3
    caps.copy(a, 1, a, 3)
    caps.copy(a, 0, a, 4)  # 0 -> 4, 1
    assert caps.delete(a, 1) == (C.OK, False)
    assert caps.slot["parent"][[2, 3]].tolist() == [0, 0]
    assert children(caps, 0) == [4, 3, 2]
    assert caps.delete(a, 0) == (C.OK, False)  # the root: its children become roots
    assert caps.slot["parent"][[2, 3, 4]].tolist() == [-1] * 3
    assert caps.slot["next_sibling"][[2, 3, 4]].tolist() == [-1] * 3


def children(caps, s):
    out, c = [], int(caps.slot["first_child"][s])
    while c >= 0:
        out.append(c)
        c = int(caps.slot["next_sibling"][c])
    return out


def test_revoke_removes_exactly_the_descendants_depth_first(caps):
    a, b = caps.a, caps.b
    caps.copy(a, 0, a, 1)  # 0 -> 1 -> 2 -> 3
    caps.copy(a, 1, a, 2)
    caps.copy(a, 2, a, 3)
    caps.copy(a, 1, b, 0)  # 1 -> b0 (slot 8), 2
    caps.copy(a, 0, a, 4)  # 0 -> 4, 1
    assert caps.install(a, 5, C.ENDPOINT, 3, C.READ) == C.OK  # another root, same object
    caps.mem.take_log()
    assert caps.revoke(a, 1) == (C.OK, 3)
    emptied = [
        (int(e["addr"]) - KERNEL_BASE - caps.slot.base) // 32
        for e in caps.mem.take_log()
        if e["kind"] == 1
        and (int(e["addr"]) - KERNEL_BASE - caps.slot.base) % 32 == 24
        and e["addr"] >= KERNEL_BASE + caps.slot.base
    ]  # the slots whose type was written, in order: each deepest first child first
    assert emptied == [8, 3, 2]
    assert caps.slot["type"][[0, 1, 4, 5]].tolist() == [C.ENDPOINT] * 4
    assert caps.slot["type"][[2, 3, 8]].tolist() == [C.NULL] * 3
    assert children(caps, 1) == [] and children(caps, 0) == [4, 1]
    assert refs(caps, C.ENDPOINT, 3) == 4
    assert caps.revoke(a, 6) == (C.ENOENT, 0) and caps.revoke(a, 1) == (C.OK, 0)


def test_destroy_frees_the_slots_and_reports_objects_whose_last_cap_went(caps):
    caps.install(caps.a, 1, C.FRAME, 2, C.READ)
    caps.copy(caps.a, 0, caps.b, 0)
    assert caps.destroy(caps.a) == [(C.FRAME, 2)]
    assert caps.slot.in_use == 8 and caps.cspace.in_use == 1
    assert caps.destroy(caps.b) == [(C.ENDPOINT, 3)]
    assert caps.slot.in_use == 0 and not caps.refs["count"].any()
    with pytest.raises(ValueError):
        caps.destroy(caps.b)


# ---- random operation sequences: both lookups agree, nothing leaks -----------------------


def operations(cs_, ix, typ, obj):
    rights = st.integers(0, 15)
    args = {
        "create": st.tuples(st.integers(0, 12)),
        "destroy": st.tuples(st.integers(2, 3)),  # the seeded CSpaces stay
        "install": st.tuples(cs_, ix, typ, obj, rights),
        "copy": st.tuples(cs_, ix, cs_, ix),
        "derive": st.tuples(cs_, ix, cs_, ix, rights, st.integers(0, 3)),
        "delete": st.tuples(cs_, ix),
        "revoke": st.tuples(cs_, ix),
        "lookup": st.tuples(cs_, ix, typ, rights),
    }
    names = ["create", "destroy", *["install"] * 4, *["copy", "derive"] * 5, "delete", "revoke"]
    return st.sampled_from([*names, "lookup", "lookup", "lookup"]).flatmap(
        lambda name: args[name].map(lambda a: (name, *a))
    )


# mostly valid arguments, and bad ones: every error path
op = operations(
    cs_=st.sampled_from([0, 1, 0, 1, 0, 1, 2, 3, -1]),
    ix=st.one_of(*[st.integers(0, 4)] * 3, st.integers(-2, 12)),
    typ=st.sampled_from([C.TCB, C.ENDPOINT, C.ENDPOINT, C.ENDPOINT, C.FRAME, C.NULL, C.N_TYPES]),
    obj=st.sampled_from([0, 0, 1, 1, 2, OBJS]),
)
# only the seeded CSpaces' first slots, valid types and objects: deep CDTs, revokes, deletes
dense = operations(
    cs_=st.sampled_from([0, 1]),
    ix=st.integers(0, 4),
    typ=st.sampled_from([C.ENDPOINT, C.TCB]),
    obj=st.integers(0, 1),
)


def seed(caps):
    """Two CSpaces and a few original capabilities, so random operations find some."""
    assert caps.create(8) == 0 and caps.create(6) == 1
    for i, (t, o) in enumerate([(C.ENDPOINT, 0), (C.ENDPOINT, 1), (C.TCB, 0), (C.FRAME, 2)]):
        assert caps.install(i % 2, i // 2, t, o, C.ALL_RIGHTS, badge=i % 2) == C.OK
    assert caps.copy(0, 0, 1, 2) == C.OK and caps.derive(1, 2, 0, 4, C.CALL, 5) == C.OK


def apply(caps, o, impl):
    name, *args = o
    if name == "lookup":
        return caps.lookup(*args, impl=impl)
    if name == "destroy":
        return caps.destroy(args[0]) if caps._valid_cs(args[0]) else None
    return getattr(caps, name)(*args)


def check_invariants(caps):
    full = caps.slot["type"] != C.NULL
    live = np.flatnonzero(caps.cspace.used)
    assert caps.slot.in_use == int(caps.cspace["size"][live].sum())  # reserved slots
    assert not (full & ~caps.slot.used).any()  # no capability outside a live CSpace
    counts = np.zeros(C.N_TYPES * OBJS, np.int64)
    np.add.at(counts, caps.slot["type"][full] * OBJS + caps.slot["object"][full], 1)
    assert np.array_equal(counts, caps.refs["count"])  # no leaked or lost references
    for s in np.flatnonzero(full):  # the CDT is consistent
        p = int(caps.slot["parent"][s])
        assert p < 0 or s in children(caps, p)
        assert all(caps.slot["parent"][c] == s for c in children(caps, s))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.lists(op, max_size=60), st.lists(dense, max_size=60)))
def test_random_sequences_python_and_cython_agree_and_leak_nothing(ops):
    py, cy = make(), make()
    for caps in (py, cy):
        seed(caps)
    for o in ops:
        assert apply(py, o, "python") == apply(cy, o, "cython"), o
        assert np.array_equal(py.mem.take_log(), cy.mem.take_log()), o
        assert same(state(py), state(cy))
        check_invariants(py)
    for cs in np.flatnonzero(py.cspace.used):
        py.destroy(int(cs))
    assert py.slot.in_use == py.cspace.in_use == 0 and not py.refs["count"].any()

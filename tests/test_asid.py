"""ASID allocation with generations and roll-over (hmk.kernel.asid), and the compiled VSpace
activation (hmk._fast.asidfast) against VSpaces.activate."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.kernel.asid import AsidAllocator, Context
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory
from hmk.kernel.vspace import VSpaces


def test_distinct_asids_until_exhausted_then_roll_over():
    alloc = AsidAllocator(bits=8)
    ctxs = []
    for _ in range(255):  # ASIDs 1..255 (0 is the kernel's)
        ctx, flush = alloc.activate(Context())
        assert not flush
        ctxs.append(ctx)
    assert sorted(c.asid for c in ctxs) == list(range(1, 256))
    ctx, flush = alloc.activate(Context())  # the 256th address space
    assert flush and alloc.rollovers == 1 and ctx.generation == 2


def test_current_generation_is_free_and_stable():
    alloc = AsidAllocator()
    ctx, _ = alloc.activate(Context())
    again, flush = alloc.activate(ctx)
    assert again == ctx and not flush


def test_running_address_space_keeps_its_asid_across_roll_over():
    alloc = AsidAllocator(bits=8, cores=2)
    keep, _ = alloc.activate(Context(), core=1)  # runs on core 1 throughout
    for _ in range(254):
        alloc.activate(Context(), core=0)
    fresh, flush = alloc.activate(Context(), core=0)
    assert flush
    assert alloc.active[1] == Context(alloc.generation, keep.asid)
    assert fresh.asid != keep.asid


def test_old_generation_keeps_its_asid_when_still_free():
    alloc = AsidAllocator(bits=8)
    ctxs = [alloc.activate(Context())[0] for _ in range(255)]
    newcomer, flush = alloc.activate(Context())  # roll-over; takes the first free ASID, 1
    assert flush and newcomer.asid == 1
    back, flush = alloc.activate(ctxs[6])  # ASID 7 of the old generation is free again
    assert not flush and back == Context(alloc.generation, 7)
    again, _ = alloc.activate(ctxs[0])  # ASID 1 is taken now: a new one
    assert again.asid not in (1, 7, 255)


def test_bad_width():
    with pytest.raises(ValueError, match="8 or 16"):
        AsidAllocator(bits=12)


# ---- the compiled activate (hmk._fast.asidfast) against VSpaces.activate ----------------------


def _vspaces(n):
    ram = np.zeros(2 << 20, np.uint8)
    mem = KernelMemory(ram, 0, 64 * 1024)
    vs = VSpaces(mem, ram, Frames(ram, 64 * 1024), n, asid_bits=8, cores=2, pool_depth=4)
    for _ in range(n - 1):  # one slot left free: an invalid index to activate
        assert vs.create() >= 0
    mem.take_log()
    return vs


def _asid_state(vs):
    a = vs.asids
    arrays = [x.tobytes() for x in (vs.vspace.used, *vs.vspace.arrays.values())]
    return arrays, a.generation, bytes(a.used), a.next, list(a.active), a.rollovers, vs.mem.n_log


ACTIVATE = st.tuples(
    st.just("activate"),
    st.sampled_from((-1, 0, 0, 1, 1, 2, 3, 5, 6)),
    st.sampled_from((0, 0, 0, 1, 2)),
)
ACTIVATE_OPS = st.one_of(
    ACTIVATE,
    ACTIVATE,
    ACTIVATE,
    # every free ASID but `leave` taken by address spaces outside the test: a roll-over comes
    # after a few new activations
    st.tuples(st.just("pressure"), st.integers(0, 3)),
    st.tuples(st.just("destroy"), st.integers(0, 5)),
    st.tuples(st.just("create")),
)


def _apply(vs, fast, op):
    if op[0] == "activate":
        _, i, core = op
        act = fast.activate if fast is not None else vs.activate
        try:
            return act(i, core)
        except IndexError:  # core 2 of a 2-core allocator: the reference's error
            return "IndexError"
    if op[0] == "pressure":
        free = [k for k in range(256) if not vs.asids.used[k]]
        for k in free[: max(len(free) - op[1], 0)]:
            vs.asids.used[k] = 1
        return None
    if op[0] == "destroy":
        return vs.destroy(op[1])[0] if vs.valid(op[1]) else None
    return vs.create()


@settings(max_examples=300, deadline=None)
@given(st.lists(ACTIVATE_OPS, min_size=5, max_size=80))
def test_compiled_activate_matches_vspaces_activate(ops):
    asidfast = pytest.importorskip("hmk._fast.asidfast")
    py, cy = _vspaces(7), _vspaces(7)
    fast = asidfast.FastActivate(cy)
    for op in ops:
        ra, rb = _apply(py, None, op), _apply(cy, fast, op)
        assert ra == rb, op
        if isinstance(ra, tuple):
            assert [type(x) for x in ra] == [type(x) for x in rb], op
        assert py.mem.take_log().tobytes() == cy.mem.take_log().tobytes(), op
        assert _asid_state(py) == _asid_state(cy), op


def test_compiled_activate_is_compiled_while_the_generation_is_current():
    asidfast = pytest.importorskip("hmk._fast.asidfast")
    py, cy = _vspaces(5), _vspaces(5)  # VSpaces 0-3; 4 does not exist
    fast = asidfast.FastActivate(cy)
    for i in (0, 1, 0, 1, 2, 0):
        assert py.activate(i) == fast.activate(i)
        assert py.mem.take_log().tobytes() == cy.mem.take_log().tobytes()
    assert fast.fallback == 3 and fast.fast == 3  # the first activation of each is Python's
    for k in range(4, 256):  # every ASID taken: the next new one rolls the generation over
        py.asids.used[k] = cy.asids.used[k] = 1
    for i in (0, 1, 2):  # still current: compiled, no roll-over
        assert py.activate(i) == fast.activate(i) == (i + 1, False)
    assert py.activate(3, 1) == fast.activate(3, 1) == (1, True)  # roll-over, flush
    for i in (0, 1, 2, 0, 3):
        assert py.activate(i) == fast.activate(i)
        assert py.mem.take_log().tobytes() == cy.mem.take_log().tobytes()
    assert _asid_state(py) == _asid_state(cy) and py.asids.rollovers == 1
    assert fast.activate(4) == (-22, False) and fast.activate(3.0) == (-22, False)

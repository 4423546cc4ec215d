"""Physical frames (hmk.kernel.memory.Frames): a bulk allocation (a frame pool's refill) gives
the frames, owners, counts and peaks that as many single allocations give, code frames held
until a safe point included, and stops where RAM runs out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.memory import Frames, OutOfMemory

RAM = 64 * PAGE_SIZE
FIRST = 4 * PAGE_SIZE


def state(frames):
    return (
        frames._next,
        list(frames._free),
        list(frames._held),
        sorted(frames.code),
        dict(frames.owner_of),
        dict(frames.by_owner),
        dict(frames.peak_by_owner),
        frames.peak,
        frames.in_use,
        frames.ram.tobytes(),
    )


def one_by_one(frames, n, **options):
    got = []
    try:
        while len(got) < n:
            got.append(frames.alloc(**options))
    except OutOfMemory:
        if not got:
            raise
    return got


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(1, 20), st.sampled_from(["a", "b"])),
        st.tuples(st.just("free"), st.integers(0, 59), st.booleans()),  # (frame, held code)
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(OPS, st.booleans())
def test_a_bulk_allocation_is_as_many_single_ones(ops, zero):
    bulk, single = (Frames(np.full(RAM, 7, np.uint8), FIRST) for _ in range(2))
    flushes = {id(bulk): 0, id(single): 0}
    for frames in (bulk, single):
        frames.on_code_reuse = lambda f=frames: flushes.__setitem__(id(f), flushes[id(f)] + 1)
    for op, a, b in ops:
        if op == "alloc":
            options = {"zero": zero, "owner": b}
            try:
                want = one_by_one(single, a, **options)
            except OutOfMemory:
                with pytest.raises(OutOfMemory):
                    bulk.alloc_many(a, **options)
                continue
            assert bulk.alloc_many(a, **options) == want
        else:
            pa = FIRST + a * PAGE_SIZE
            if pa in single.owner_of:
                for frames in (bulk, single):
                    if b:
                        frames.code.add(pa)
                    frames.free(pa)
        assert state(bulk) == state(single)
    assert flushes[id(bulk)] == flushes[id(single)]

"""ASID allocation with generations and roll-over (hmk.kernel.asid)."""

import pytest

from hmk.kernel.asid import AsidAllocator, Context


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

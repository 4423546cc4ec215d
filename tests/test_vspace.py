"""VSpaces (hmk.kernel.vspace): map/unmap/protect against PageTables.translate, error results
that change nothing, destroy without leaks, TLB maintenance requests, ASID reuse."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel import vspace as V
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KERNEL_BASE, KernelMemory

RAM = 4 << 20
HEAP = 64 * 1024


def make(capacity=4, asid_bits=16, ram_bytes=RAM):
    ram = np.zeros(ram_bytes, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    frames = Frames(ram, HEAP)
    vs = V.VSpaces(mem, ram, frames, capacity, asid_bits, pool_depth=8)
    return vs


def state(vs):
    arrays = [vs.vspace.used, *vs.vspace.arrays.values(), vs.ram]
    return [a.copy() for a in arrays] + [vs.vspace.in_use, vs.frames.in_use]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def translate(vs, i, va, access=None):
    return PageTables(vs.ram, lambda: -1).translate(int(vs.vspace["root"][i]), va, access)


def test_map_translate_protect_unmap_round_trip():
    vs = make()
    i = vs.create()
    assert i == 0
    va, pa = 0x40_0000, 0x20_0000
    assert vs.map(i, va, pa, writable=False, executable=True) == (V.OK, [])
    assert translate(vs, i, va + 5) == pa + 5
    assert translate(vs, i, va, "write") is None and translate(vs, i, va, "fetch") == pa
    assert vs.translate(i, va) == pa
    assert vs.protect(i, va, True, False) == (V.OK, [])  # no ASID yet: nothing to invalidate
    assert translate(vs, i, va, "write") == pa and translate(vs, i, va, "fetch") is None
    assert vs.unmap(i, va) == (V.OK, [])
    assert translate(vs, i, va) is None


def test_accesses_are_logged_at_kernel_addresses():
    vs = make()
    i = vs.create()
    vs.mem.take_log()
    assert vs.map(i, 0x1000, 0x30_0000)[0] == V.OK
    log = vs.mem.take_log()
    assert (log["addr"] >= KERNEL_BASE).all()
    root = int(vs.vspace["root"][i])
    assert log["addr"][1] == KERNEL_BASE + root and log["kind"][1] == READ  # level-0 descriptor
    # three new tables, each zeroed as 64 line writes, and four descriptor writes
    assert int(((log["kind"] == WRITE) & (log["size"] == 64)).sum()) == 3 * 64
    assert int(((log["kind"] == WRITE) & (log["size"] == 8)).sum()) == 4


def test_tlb_maintenance_once_the_vspace_has_an_asid():
    vs = make()
    i = vs.create()
    asid, flush = vs.activate(i)
    assert asid == 1 and not flush
    assert vs.map(i, 0x1000, 0x30_0000) == (V.OK, [])
    assert vs.protect(i, 0x1000, False, False) == (V.OK, [(0x1000, 1)])
    assert vs.unmap(i, 0x1000) == (V.OK, [(0x1000, 1)])
    assert vs.destroy(i) == (V.OK, [(V.ALL_VA, 1)], [])


@pytest.mark.parametrize(
    "call, err",
    [
        (lambda vs, i: vs.map(i, 0x1001, 0x30_0000), V.EINVAL),  # unaligned va
        (lambda vs, i: vs.map(i, 0x1000, 0x30_0800), V.EINVAL),  # unaligned pa
        (lambda vs, i: vs.map(i, KERNEL_BASE, 0x30_0000), V.EINVAL),  # kernel range
        (lambda vs, i: vs.map(i, -4096, 0x30_0000), V.EINVAL),
        (lambda vs, i: vs.map(i, 0x1000, RAM), V.EINVAL),  # outside RAM
        (lambda vs, i: vs.map(i, 0x1000, 0), V.EINVAL),  # the kernel heap
        (lambda vs, i: vs.map(i, 0x8000, 0x30_0000), V.EEXIST),
        (lambda vs, i: vs.map(3, 0x1000, 0x30_0000), V.EINVAL),  # no such VSpace
        (lambda vs, i: vs.unmap(i, 0x9000), V.ENOENT),
        (lambda vs, i: vs.unmap(i, 1 << 40), V.ENOENT),
        (lambda vs, i: vs.unmap(i, 0x8001), V.EINVAL),
        (lambda vs, i: vs.protect(i, 0x9000, True, True), V.ENOENT),
        (lambda vs, i: vs.protect(-1, 0x8000, True, True), V.EINVAL),
        (lambda vs, i: vs.destroy(7)[0], V.EINVAL),
    ],
)
def test_errors_change_nothing(call, err):
    vs = make()
    i = vs.create()
    assert vs.map(i, 0x8000, 0x31_0000) == (V.OK, [])
    before = state(vs)
    result = call(vs, i)
    assert (result if isinstance(result, int) else result[0]) == err
    assert same(before, state(vs))


def test_enomem_when_table_frames_run_out_changes_nothing():
    vs = make(ram_bytes=HEAP + 3 * PAGE_SIZE)  # a root and two more frames
    i = vs.create()
    before = state(vs)
    assert vs.map(i, 0x1000, HEAP + PAGE_SIZE) == (V.ENOMEM, [])  # needs three tables
    assert same(before, state(vs))


def test_create_enomem_when_the_pool_is_full():
    vs = make(capacity=2)
    assert vs.create() == 0 and vs.create() == 1
    frames = vs.frames.in_use
    assert vs.create() == V.ENOMEM and vs.frames.in_use == frames


def test_destroy_frees_every_table_and_returns_the_data_frames():
    vs = make()
    frames0, pool0 = vs.frames.in_use, vs.vspace.in_use
    i = vs.create()
    data = [vs.frames.alloc() for _ in range(5)]
    for k, pa in enumerate(data):  # spread over several tables
        assert vs.map(i, (k << 30) + (k << 21) + 0x1000, pa)[0] == V.OK
    code, tlbi, leaves = vs.destroy(i)
    assert code == V.OK and tlbi == [] and sorted(leaves) == sorted(data)
    for pa in leaves:
        vs.frames.free(pa)
    assert vs.frames.in_use == frames0 and vs.vspace.in_use == pool0
    assert vs.create() == i  # the record is reusable


def test_asid_is_given_back_and_reused():
    vs = make(capacity=2, asid_bits=8)
    seen = []
    for _ in range(300):  # more than the 255 ASIDs of 8 bits: reuse without a roll-over
        i = vs.create()
        asid, flush = vs.activate(i)
        assert not flush
        seen.append(asid)
        code, tlbi, _ = vs.destroy(i)
        assert code == V.OK and tlbi == [(V.ALL_VA, asid)]
    assert vs.asids.rollovers == 0 and len(set(seen)) == 255 and seen[255] == seen[0]


def test_old_generation_needs_no_tlb_maintenance():
    vs = make(capacity=2, asid_bits=8)
    a = vs.create()
    vs.activate(a)
    vs.map(a, 0x1000, 0x30_0000)
    vs.asids._roll_over()  # e.g. other address spaces used up the ASIDs; TLBs were flushed
    assert vs.unmap(a, 0x1000) == (V.OK, [])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["map", "unmap", "protect"]),
            st.integers(0, 7),
            st.booleans(),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_random_operations_match_a_dictionary(ops):
    vs = make()
    i = vs.create()
    vas = [(k % 3) << 39 | (k % 2) << 30 | k << 12 for k in range(8)]
    model = {}
    for op, k, w, x in ops:
        va, pa = vas[k], HEAP + (100 + k) * PAGE_SIZE
        if op == "map":
            assert vs.map(i, va, pa, w, x)[0] == (V.EEXIST if va in model else V.OK)
            model.setdefault(va, (pa, w, x))
        elif op == "unmap":
            assert vs.unmap(i, va)[0] == (V.OK if model.pop(va, None) else V.ENOENT)
        else:
            assert vs.protect(i, va, w, x)[0] == (V.OK if va in model else V.ENOENT)
            if va in model:
                model[va] = (model[va][0], w, x)
    for va in vas:
        if va in model:
            pa, w, x = model[va]
            assert translate(vs, i, va, "read") == pa
            assert (translate(vs, i, va, "write") == pa) == w
            assert (translate(vs, i, va, "fetch") == pa) == x
        else:
            assert translate(vs, i, va) is None
    frames0 = vs.frames.in_use
    code, _, leaves = vs.destroy(i)
    assert code == V.OK and sorted(leaves) == sorted(p for p, _, _ in model.values())
    assert vs.frames.in_use < frames0 and vs.vspace.in_use == 0

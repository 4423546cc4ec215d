"""The compiled twin of VSpaces's page-table walks and edits (hmk._fast.vspacefast) against the
Python reference (hmk.kernel.vspace): under hypothesis, the same results, access logs, RAM
(the tables), VSpace records and frames, and `mapped` reading each table once."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel import vspace as V
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KERNEL_BASE, KernelMemory

RAM = 4 << 20
HEAP = 64 * 1024
FRAMES_END = HEAP + 9 * PAGE_SIZE  # table frames run out: ENOMEM happens
DATA = 2 << 20  # mapped frames come from [DATA, RAM)
IMPLS = ("python", "cython")

# neighbours in one leaf table, across tables and levels, the ends; then bad ones
GOOD_VAS = [0x1000, 0x2000, 0x1F_F000, 0x20_0000, 0x4000_0000, 0x7F_FFFF_F000]
GOOD_VAS += [0x8000_0000_0000, KERNEL_BASE - PAGE_SIZE]
VAS = st.sampled_from(GOOD_VAS[:3] * 10 + GOOD_VAS[3:] * 2 + [KERNEL_BASE, 0x1234, -1, 1 << 48])
PAS = st.sampled_from([DATA, DATA + PAGE_SIZE, RAM - PAGE_SIZE] * 4 + [RAM, 0, HEAP, DATA + 8])
VSPACES = st.sampled_from([0, 1] * 8 + [2, 5, -1])  # two made; one free, beyond, negative


def make(frames_end=FRAMES_END):
    ram = np.zeros(RAM, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    vs = V.VSpaces(mem, ram, Frames(ram, HEAP, end=frames_end), 4, pool_depth=8)
    assert vs.create() == 0 and vs.create() == 1
    assert vs.activate(1)[0] > 0  # VSpace 1's edits need TLB maintenance, 0's do not
    mem.take_log()
    return vs


def state(vs):
    arrays = [vs.ram, vs.vspace.used, *vs.vspace.arrays.values()]
    frames = vs.frames
    return [a.tobytes() for a in arrays] + [frames.in_use, sorted(frames.code), frames._free]


OPS = st.one_of(
    st.tuples(
        st.just("map"),
        VSPACES,
        VAS,
        PAS,
        st.booleans(),
        st.booleans(),
    ),
    st.tuples(
        st.just("protect"),
        VSPACES,
        VAS,
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    st.tuples(st.just("unmap"), VSPACES, VAS),
    st.tuples(st.just("translate"), VSPACES, VAS),
    st.tuples(
        st.just("mapped"),
        VSPACES,
        st.sampled_from([0, 0x2000, 0x20_0000, 0x4000_0000, -PAGE_SIZE]),
        st.sampled_from([0x2000, 0x20_1000, 1 << 40, 1 << 48, 1 << 50, 0]),
    ),
)


def run(vs, impl, op):
    name, *args = op
    target = vs if impl == "python" else vs.twin()
    if name == "mapped":
        return vs.mapped(*args, impl=impl)
    try:
        return getattr(target, name)(*args)
    except ValueError as e:  # translate of an address beyond 48 bits
        return f"ValueError: {e}"


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, min_size=5, max_size=60))
def test_the_twin_edits_and_walks_as_the_reference(ops):
    systems = [make() for _ in IMPLS]
    for op in ops:
        results = [run(vs, impl, op) for vs, impl in zip(systems, IMPLS, strict=True)]
        logs = [vs.mem.take_log().tobytes() for vs in systems]
        assert results[0] == results[1], op
        assert logs[0] == logs[1], op
    assert state(systems[0]) == state(systems[1])


def test_mapped_finds_every_page_in_order_and_only_in_the_range():
    vs = make(frames_end=DATA)
    pages = [0x1000, 0x1F_F000, 0x20_0000, 0x4000_0000, 0x7F_FFFF_F000, 0x8000_0000_0000]
    for k, va in enumerate(pages):
        assert vs.map(0, va, DATA + k * PAGE_SIZE)[0] == V.OK
    assert vs.protect(0, 0x20_0000, False, False, False)[0] == V.OK  # PROT_NONE: still mapped
    for impl in IMPLS:
        every = [(va, DATA + k * PAGE_SIZE) for k, va in enumerate(pages)]
        assert vs.mapped(0, 0, 1 << 48, impl=impl) == every
        assert vs.mapped(0, 0x2000, 0x4000_1000, impl=impl) == every[1:4]
        assert vs.mapped(0, 0x20_0000, 0x20_0000, impl=impl) == []
        assert vs.mapped(2, 0, 1 << 48, impl=impl) == []  # no such VSpace
        assert vs.mapped(0, 0, 1 << 48, impl=impl) == vs.mapped(0, -5, 1 << 60, impl=impl)

"""Policy-free kernel paging (hmk.kernel.paging): each outcome, the mapping a resolved fault
leaves, errors of the memory manager's calls, and the compiled fault handler against the Python
reference (hypothesis: identical outcomes, RAM, kernel state and access logs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.events import FETCH, READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel import paging as P
from hmk.kernel import vspace as V
from hmk.kernel.costs import BUDGETS
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KERNEL_BASE, KernelMemory

IMPLS = ["python", "cython"]
RAM = 4 << 20
HEAP = 64 * 1024
RW = (0x10000, 0x20000)  # anonymous, read/write
RX = (0x4000_0000, 0x4000_8000)  # anonymous, read/execute
FILE = (0x50000, 0x60000)  # file-backed, read/write


def make(user_level=False, depth=16, zero_page=False):
    ram = np.zeros(RAM, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    frames = Frames(ram, HEAP)
    zero = frames.alloc() if zero_page else -1
    vs = V.VSpaces(mem, ram, frames, 4, pool_depth=depth)
    pg = P.KernelPaging(vs, user_level_paging=user_level, zero_page=zero)
    i = vs.create()
    assert pg.add_region(i, *RW, writable=True, executable=False) == V.OK
    assert pg.add_region(i, *RX, writable=False, executable=True) == V.OK
    assert pg.add_region(i, *FILE, anonymous=False) == V.OK
    mem.take_log()
    return pg, i


def refill(pg, i, n):
    return pg.refill(i, [pg.vs.frames.alloc() for _ in range(n)])


def state(pg):
    V_ = pg.vs
    arrays = [V_.ram, *V_.vspace.arrays.values(), *V_.ring.arrays.values()]
    arrays += [*V_.region.arrays.values()]
    return [a.copy() for a in arrays] + [V_.frames.in_use]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def translate(pg, i, va, access=None):
    return PageTables(pg.vs.ram, lambda: -1).translate(int(pg.vs.vspace["root"][i]), va, access)


@pytest.mark.parametrize("impl", IMPLS)
def test_anonymous_fault_resolves_with_the_region_permissions(impl):
    pg, i = make()
    assert refill(pg, i, 5) == V.OK
    first = int(pg.vs.ring["pa"][i * pg.vs.depth + 3])  # three tables, then the page
    pg.vs.ram[first : first + PAGE_SIZE] = 0xAB  # garbage the kernel must zero
    outcome, log = pg.handle_fault(i, RW[0] + 0x123, "write", impl=impl)
    assert outcome == P.RESOLVED
    assert translate(pg, i, RW[0] + 0x123, "write") == first + 0x123
    assert translate(pg, i, RW[0], "fetch") is None
    assert not pg.vs.ram[first : first + PAGE_SIZE].any()
    assert pg.pool_count(i) == 1
    zeroed = (log["kind"] == WRITE) & (log["size"] == 64)
    assert zeroed.sum() == 4 * 64 and (log["addr"] >= KERNEL_BASE).all()
    budget = P.fault_budget(outcome, P.zeroed_frames(log))
    assert (
        budget
        == sum(BUDGETS[k] for k in ("pf.check", "pf.install", "pf.record"))
        + 4 * BUDGETS["pf.zero_page"]
    )
    # a second page under the same tables takes one frame; the text region maps r-x
    outcome, log = pg.handle_fault(i, RW[0] + PAGE_SIZE, "read", impl=impl)
    assert outcome == P.RESOLVED and pg.pool_count(i) == 0
    assert int(((log["kind"] == WRITE) & (log["size"] == 64)).sum()) == 64
    assert refill(pg, i, 3) == V.OK
    assert pg.handle_fault(i, RX[0], FETCH, impl=impl)[0] == P.RESOLVED
    pa = translate(pg, i, RX[0], "fetch")
    assert pa is not None and translate(pg, i, RX[0], "write") is None


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    "va, access",
    [
        (0x0, "read"),  # no region
        (RW[1], "read"),  # just past the end
        (RW[0], "fetch"),  # not executable
        (RX[0], "write"),  # not writable
        (KERNEL_BASE + 0x1000, "read"),  # the kernel's half
        (-1, "read"),
    ],
)
def test_segv_changes_nothing(impl, va, access):
    pg, i = make()
    refill(pg, i, 4)
    before = state(pg)
    assert pg.handle_fault(i, va, access, impl=impl)[0] == P.SEGV
    assert same(before, state(pg))


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_pool_and_file_backed_need_the_memory_manager(impl):
    pg, i = make()
    refill(pg, i, 3)  # one short of three tables and a page
    before = state(pg)
    assert pg.handle_fault(i, RW[0], "read", impl=impl)[0] == P.NEED_MEMMGR
    assert pg.handle_fault(i, FILE[0], "read", impl=impl)[0] == P.NEED_MEMMGR
    assert same(before, state(pg))
    assert refill(pg, i, 1) == V.OK
    assert pg.handle_fault(i, RW[0], "read", impl=impl)[0] == P.RESOLVED


@pytest.mark.parametrize("impl", IMPLS)
def test_write_to_a_read_only_page_of_a_writable_region_is_copy_on_write(impl):
    pg, i = make()
    shared = pg.vs.frames.alloc()
    assert pg.vs.map(i, RW[0], shared, writable=False) == (V.OK, [])
    refill(pg, i, 4)
    before = state(pg)
    outcome, log = pg.handle_fault(i, RW[0], "write", impl=impl)
    assert outcome == P.NEED_MEMMGR and same(before, state(pg))
    assert P.fault_budget(outcome, P.zeroed_frames(log)) == BUDGETS["pf.check"] + 10
    # a read of the present page is spurious: resolved, nothing written
    outcome, log = pg.handle_fault(i, RW[0], "read", impl=impl)
    assert outcome == P.RESOLVED and same(before, state(pg))
    assert (log["kind"] == READ).all()


@pytest.mark.parametrize("impl", IMPLS)
def test_a_read_maps_the_zero_page_and_a_write_replaces_it(impl):
    pg, i = make(zero_page=True)
    zero = pg.zero_page
    refill(pg, i, 5)
    outcome, log = pg.handle_fault(i, RW[0] + 8, "read", impl=impl)
    assert outcome == P.ZERO_MAPPED and pg.pool_count(i) == 2  # three tables, no page
    assert translate(pg, i, RW[0] + 8, "read") == zero + 8
    assert translate(pg, i, RW[0], "write") is None  # read-only
    assert int(((log["kind"] == WRITE) & (log["size"] == 64)).sum()) == 3 * 64
    tables = P.fault_budget(outcome, P.zeroed_frames(log))
    assert tables == BUDGETS["pf.check"] + BUDGETS["pf.install"] + 3 * BUDGETS["pf.zero_page"]
    # under the same tables a read takes no frame and zeroes nothing
    outcome, log = pg.handle_fault(i, RW[0] + PAGE_SIZE, "read", impl=impl)
    assert outcome == P.ZERO_MAPPED and pg.pool_count(i) == 2
    assert not ((log["kind"] == WRITE) & (log["size"] == 64)).any()
    assert (
        P.fault_budget(outcome, P.zeroed_frames(log)) == BUDGETS["pf.check"] + BUDGETS["pf.install"]
    )
    # the first write: a fresh zeroed frame replaces the zero page, which stays zero
    first = int(pg.vs.ring["pa"][i * pg.vs.depth + 3])
    pg.vs.ram[first : first + PAGE_SIZE] = 0xCD
    outcome, log = pg.handle_fault(i, RW[0] + 8, "write", impl=impl)
    assert outcome == P.ZERO_REPLACED and pg.pool_count(i) == 1
    assert translate(pg, i, RW[0] + 8, "write") == first + 8
    assert not pg.vs.ram[first : first + PAGE_SIZE].any()
    assert not pg.vs.ram[zero : zero + PAGE_SIZE].any()
    assert P.fault_budget(outcome, P.zeroed_frames(log)) == sum(
        BUDGETS[k] for k in ("pf.check", "pf.replace", "pf.install", "pf.zero_page", "pf.record")
    )
    # fetches and writes of pages not there still take a frame; a read-only region's
    # zero page is no way to write
    refill(pg, i, 4)
    assert pg.handle_fault(i, RX[0], FETCH, impl=impl)[0] == P.RESOLVED
    assert pg.handle_fault(i, RX[0] + PAGE_SIZE, "read", impl=impl)[0] == P.ZERO_MAPPED
    assert pg.handle_fault(i, RX[0] + PAGE_SIZE, "write", impl=impl)[0] == P.SEGV
    # with the pool empty, a write to the zero page needs the memory manager
    pg2, j = make(zero_page=True)
    refill(pg2, j, 3)
    assert pg2.handle_fault(j, RW[0], "read", impl=impl)[0] == P.ZERO_MAPPED
    before = state(pg2)
    assert pg2.handle_fault(j, RW[0], "write", impl=impl)[0] == P.NEED_MEMMGR
    assert same(before, state(pg2))


@pytest.mark.parametrize("impl", IMPLS)
def test_user_level_paging_makes_every_fault_an_ipc(impl):
    pg, i = make(user_level=True)
    refill(pg, i, 4)
    before = state(pg)
    for va in (RW[0], 0, FILE[0]):
        outcome, log = pg.handle_fault(i, va, "read", impl=impl)
        assert outcome == P.NEED_PAGER and len(log) == 0
    assert same(before, state(pg))


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_vspace_or_access_is_a_caller_bug(impl):
    pg, _ = make()
    for bad in (3, -1, 99, "0"):
        with pytest.raises(ValueError):
            pg.handle_fault(bad, RW[0], "read", impl=impl)
    with pytest.raises(ValueError):
        pg.handle_fault(0, RW[0], "erase", impl=impl)
    with pytest.raises(ValueError):
        pg.handle_fault(0, RW[0], "read", impl="rust")


def test_memory_manager_call_errors_change_nothing():
    pg, i = make(depth=4)
    before = state(pg)
    assert pg.add_region(i, RW[0] + 0x1000, RW[1] + 0x1000) == V.EEXIST
    assert pg.add_region(i, 0x1001, 0x2000) == V.EINVAL
    assert pg.add_region(i, 0x2000, 0x2000) == V.EINVAL
    assert pg.add_region(i, 0x2000, KERNEL_BASE + PAGE_SIZE) == V.EINVAL
    assert pg.add_region(2, 0x1000, 0x2000) == V.EINVAL
    assert pg.refill(i, [0x1000]) == V.EINVAL  # the kernel heap
    assert pg.refill(i, [HEAP + 8]) == V.EINVAL
    assert pg.refill(i, [HEAP] * 5) == V.ENOMEM  # a ring of 4
    assert same(before, state(pg))
    for k in range(5):
        assert pg.add_region(i, (k + 1) << 32, ((k + 1) << 32) + PAGE_SIZE) == V.OK
    assert pg.add_region(i, 0x100 << 32, (0x100 << 32) + PAGE_SIZE) == V.ENOMEM  # 8 regions


@pytest.mark.parametrize("impl", IMPLS)
def test_destroy_after_kernel_paging_leaks_nothing(impl):
    pg, i = make()
    frames0 = pg.vs.frames.in_use - 1  # the root is the VSpace's
    refill(pg, i, 12)
    for va in (RW[0], RW[0] + PAGE_SIZE, RX[0]):
        assert pg.handle_fault(i, va, "read", impl=impl)[0] == P.RESOLVED
    code, _, leaves = pg.vs.destroy(i)
    assert code == V.OK and len(leaves) == 3
    for pa in leaves:
        pg.vs.frames.free(pa)
    assert pg.vs.frames.in_use == frames0 and pg.vs.vspace.in_use == 0


ACCESSES = [READ, WRITE, FETCH]
VAS = [RW[0], RW[0] + 0x1234, RW[1] - 1, RW[1], RX[0] + 0x10, FILE[0], 0x999_0000, KERNEL_BASE]


@settings(max_examples=80, deadline=None)
@given(
    st.booleans(),
    st.lists(
        st.one_of(
            st.tuples(st.just("fault"), st.sampled_from(VAS), st.sampled_from(ACCESSES)),
            st.tuples(st.just("resolve"), st.sampled_from(VAS), st.sampled_from(ACCESSES)),
            st.tuples(st.just("refill"), st.integers(0, 5), st.just(0)),
            st.tuples(st.just("unmap"), st.sampled_from(VAS[:5]), st.just(0)),
            st.tuples(st.just("map_ro"), st.sampled_from(VAS[:3]), st.just(0)),
        ),
        max_size=40,
    ),
)
def test_cython_twin_matches_the_reference(zero_page, ops):
    systems = [make(depth=8, zero_page=zero_page) for _ in IMPLS]
    for op, a, b in ops:
        results = []
        for (pg, i), impl in zip(systems, IMPLS, strict=True):
            if op == "fault":
                outcome, log = pg.handle_fault(i, a, b, impl=impl)
                results.append((outcome, log.tobytes()))
            elif op == "resolve":  # the fault, the frames it cleared, the new page's frame
                results.append(pg.resolve(i, a & ~(PAGE_SIZE - 1), b, impl=impl))
            elif op == "refill":
                results.append(refill(pg, i, a))
            elif op == "unmap":
                page = a & ~(PAGE_SIZE - 1)
                pa = translate(pg, i, page)
                results.append(pg.vs.unmap(i, page))
                if pa is not None and pa < HEAP + 0x10_0000:  # a frame of `frames`
                    pg.vs.frames.free(pa)
            else:
                page = a & ~(PAGE_SIZE - 1)
                results.append(pg.vs.map(i, page, HEAP + 0x10_0000 + (page >> 12) * PAGE_SIZE, 0))
            results[-1] = (results[-1], pg.mem.take_log().tobytes())
        assert results[0] == results[1], op
    assert same(state(systems[0][0]), state(systems[1][0]))


REFILLS = st.lists(
    st.one_of(
        st.integers(0, 40),  # frames to push, fresh from the allocator
        st.sampled_from(["bad-vspace", "heap-frame", "unaligned", "negative", "past-ram"]),
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(REFILLS, st.integers(2, 16))
def test_the_refill_twin_pushes_and_refuses_as_the_reference(steps, depth):
    """refill with impl="cython" (hmk._fast.pagefault): the same results (OK, EINVAL, ENOMEM),
    ring, counts and access log as the reference, bad VSpaces and frames included."""
    runs = [make(depth=depth) for _ in IMPLS]
    for step in steps:
        results, logs = [], []
        for (pg, i), impl in zip(runs, IMPLS, strict=True):
            frames, vspace = [], i
            if isinstance(step, int):
                frames = [pg.vs.frames.alloc() for _ in range(step)]
            elif step == "bad-vspace":
                vspace, frames = 3, [pg.vs.frames.alloc()]
            else:
                frames = [
                    {
                        "heap-frame": HEAP - PAGE_SIZE,
                        "unaligned": RAM // 2 + 8,
                        "negative": -PAGE_SIZE,
                        "past-ram": RAM,
                    }[step]
                ]
            results.append(pg.refill(vspace, frames, impl=impl))
            logs.append(pg.mem.take_log().tobytes())
        assert results[0] == results[1] and logs[0] == logs[1]
        assert same(state(runs[0][0]), state(runs[1][0]))

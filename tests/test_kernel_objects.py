"""Kernel objects in simulated memory (hmk.kernel.objects): the modeled layout, the pool
allocator, the access log, the kernel's global mappings, and timing a logged path."""

from __future__ import annotations

import numpy as np
import pytest

from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE, READ, WRITE
from hmk.hw.pagetable import AP_EL0, NG, PAGE_SIZE, PXN, UXN, PageTables
from hmk.hw.profile import load_soc
from hmk.kernel import cspace as C
from hmk.kernel.costs import BUDGETS, path_cycles
from hmk.kernel.objects import KERNEL_BASE, KernelMemory, Pool

HEAP = 64 * 1024


def tcb_pool(capacity=4):
    return Pool(
        "tcb",
        capacity,
        1024,
        {"state": (np.uint8, 1), "priority": (np.uint8, 1), "core": (np.uint16, 1),
         "slice": (np.uint32, 1), "vspace": (np.int32, 1), "regs": (np.uint64, 34)},
    )  # fmt: skip


@pytest.fixture
def mem():
    return KernelMemory(np.zeros(1 << 20, np.uint8), 0, HEAP)


def test_offsets_follow_declaration_order_each_aligned_to_its_size():
    p = tcb_pool()
    assert p.offset == {"state": 0, "priority": 1, "core": 2, "slice": 4, "vspace": 8, "regs": 16}
    assert p["regs"].shape == (4, 34) and p["regs"].dtype == np.uint64
    assert p["state"].shape == (4,)


def test_fields_larger_than_the_record_are_refused():
    with pytest.raises(ValueError, match="fields need 24 bytes"):
        Pool("x", 2, 16, {"a": (np.uint8, 1), "b": (np.uint64, 2)})


def test_pools_are_record_aligned_and_do_not_overlap(mem):
    a = mem.register(Pool("a", 3, 24, {"x": (np.uint64, 1)}))
    b = mem.register(tcb_pool())
    c = mem.register(Pool("c", 5, 32, {"y": (np.uint32, 1)}))
    assert a.base == 0 and b.base == 1024 and c.base == 1024 + 4 * 1024
    spans = sorted((p.base, p.base + p.nbytes) for p in (a, b, c))
    assert all(end <= nxt for (_, end), (nxt, _) in zip(spans, spans[1:], strict=False))
    assert b.addr(2, "regs", 5) == 1024 + 2 * 1024 + 16 + 5 * 8


def test_a_heap_too_small_is_a_clear_error(mem):
    mem.register(Pool("big", 60, 1024, {"x": (np.uint64, 1)}))
    with pytest.raises(ValueError, match="kernel heap too small: pool tcb"):
        mem.register(tcb_pool(8))
    with pytest.raises(ValueError, match="outside RAM"):
        KernelMemory(np.zeros(PAGE_SIZE, np.uint8), 0, 2 * PAGE_SIZE)


def test_alloc_lowest_first_exhaustion_and_free():
    p = Pool("p", 3, 8, {"x": (np.uint64, 1)})
    assert [p.alloc() for _ in range(3)] == [0, 1, 2] and p.in_use == 3
    assert p.alloc() == -1 and p.in_use == 3
    p.free(1)
    p.free(0)
    assert p.in_use == 1 and p.alloc() == 0 and p.alloc() == 1 and p.alloc() == -1


def test_alloc_range_takes_the_lowest_run_that_fits():
    p = Pool("p", 8, 8, {"x": (np.uint64, 1)})
    assert p.alloc_range(3) == 0 and p.alloc_range(2) == 3 and p.alloc_range(3) == 5
    p.free(3, 2)
    assert p.alloc_range(3) == -1 and p.in_use == 6
    assert p.alloc_range(2) == 3 and p.alloc_range(1) == -1


def test_double_free_is_a_kernel_bug():
    p = Pool("p", 2, 8, {"x": (np.uint64, 1)})
    i = p.alloc()
    p.free(i)
    with pytest.raises(ValueError, match="double free"):
        p.free(i)
    with pytest.raises(ValueError):
        p.free(5)
    assert p.in_use == 0


def test_the_access_log_records_exact_addresses_kinds_and_sizes(mem):
    mem.register(Pool("pad", 1, 4096, {"x": (np.uint8, 1)}))
    t = mem.register(tcb_pool())
    mem.core = 2
    mem.store(t, 1, "priority", 7)
    mem.store(t, 1, "regs", 0xDEAD, k=33)
    assert mem.load(t, 1, "priority") == 7 and mem.load(t, 1, "regs", 33) == 0xDEAD
    assert t["regs"][1, 33] == 0xDEAD
    log = mem.take_log()
    assert log.dtype == EVENT_DTYPE
    rec = t.base + 1024
    assert log["addr"].tolist() == [KERNEL_BASE + rec + a for a in (1, 16 + 33 * 8) * 2]
    assert log["kind"].tolist() == [WRITE, WRITE, READ, READ]
    assert log["size"].tolist() == [1, 8, 1, 8]
    assert set(log["core"]) == {2} and set(log["asid"]) == {0}
    assert len(mem.take_log()) == 0


def test_the_log_grows(mem):
    p = mem.register(Pool("p", 1, 8, {"x": (np.uint64, 1)}))
    for _ in range(1000):
        mem.load(p, 0, "x")
    log = mem.take_log()
    assert len(log) == 1000 and (log["addr"] == KERNEL_BASE + p.base).all()


def test_out_of_range_accesses_raise_instead_of_wrapping(mem):
    t = mem.register(tcb_pool())
    with pytest.raises(IndexError):
        mem.load(t, -1, "state")
    with pytest.raises(IndexError):
        mem.store(t, 0, "regs", 1, k=34)


def tables_with_kernel(mem, ram):
    top = [len(ram)]

    def alloc_frame():
        top[0] -= PAGE_SIZE
        return top[0]

    tables = PageTables(ram, alloc_frame)
    root = tables.new_root()
    mem.kernel_mappings(tables, root)
    return tables, root


def test_kernel_mappings_are_global_kernel_only_and_not_executable(mem):
    tables, root = tables_with_kernel(mem, mem.ram)
    for pa in (0, PAGE_SIZE, HEAP - 8):
        va = KERNEL_BASE + pa
        assert tables.translate(root, va) == pa  # the descriptor exists
        assert tables.translate(root, va, "read") is None  # but EL0 may not use it
        slot = tables._leaf_slot(root, va, False)
        desc = int(tables.words[slot])
        assert not desc & NG
        assert not desc & AP_EL0 and desc & PXN and desc & UXN
    assert tables.translate(root, KERNEL_BASE + HEAP) is None


def test_a_cold_lookup_costs_more_than_a_warm_one():
    ram = np.zeros(4 << 20, np.uint8)
    mem = KernelMemory(ram, 0, 1 << 20)
    caps = C.CSpaces(mem, 256, 8, 16)
    cs = caps.create(16)
    assert caps.install(cs, 3, C.ENDPOINT, 2, C.CALL) == 0
    tables, root = tables_with_kernel(mem, ram)
    roots = np.full(1 << 16, -1, np.int64)
    roots[0] = root
    config = load_soc("kirin9000").hierarchy(cluster="big", cores=1)
    hier = BatchHierarchy(config, ram, roots)
    l1_hit = config.cores[0].l1d.latency
    mem.take_log()

    def timed_lookup():
        assert caps.lookup(cs, 3, C.ENDPOINT, C.CALL) == (0, 2)
        log = mem.take_log()
        return path_cycles(BUDGETS["cap.lookup"], hier.run(log), log, l1_hit)

    cold, warm = timed_lookup(), timed_lookup()
    assert warm == BUDGETS["cap.lookup"]  # every load an L1D hit
    assert cold > warm + 100  # DRAM misses and page walks
    assert hier.stats()["cpu0.walker.faults"] == 0


def _log(*accesses):
    log = np.zeros(len(accesses), EVENT_DTYPE)
    for k, (kind, size) in enumerate(accesses):
        log[k]["kind"], log[k]["size"] = kind, size
    return log


def test_path_cycles_waits_for_loads_overlaps_fills_and_drains_write_backs():
    # a dependent load waits in full; an L1 hit or faster costs nothing extra
    assert path_cycles(10, [50, 2], _log((READ, 8), (READ, 8)), l1_hit=4) == 10 + 46
    # a partial store's write-allocate fill and a streamed line read overlap, mlp at a time
    fills = _log((WRITE, 8), (WRITE, 8), (READ, 64), (READ, 64))
    assert path_cycles(10, [104] * 4, fills, l1_hit=4, mlp=4) == 10 + 100
    assert path_cycles(10, [104] * 4, fills, l1_hit=4, mlp=1) == 10 + 400
    # a whole-line store (DC ZVA) fetches nothing
    zero = _log(*[(WRITE, 64)] * 64)
    assert path_cycles(130, [300] * 64, zero, l1_hit=4, mlp=8) == 130
    # but the path lasts as long as DRAM needs for the lines it evicted
    assert path_cycles(130, [300] * 64, zero, l1_hit=4, mlp=8, drain=64 * 28.3) == 1812


def test_records_lines_and_many_stores_log_as_one_at_a_time(mem):
    """record_lines and store_many: the records (and values) a record or store each gives."""
    pool = mem.register(tcb_pool(8))
    one = KernelMemory(np.zeros(1 << 20, np.uint8), 0, HEAP)
    one_pool = one.register(tcb_pool(8))
    mem.core = one.core = 1
    mem.record_lines(0x3010, 200, READ)
    for line in range(0x3000, 0x3010 + 200, 64):
        one.record(line, READ, 64)
    mem.store_many(pool, [3, 0, 7, 3], "slice", [9, 8, 7, 6])
    for i, value in zip([3, 0, 7, 3], [9, 8, 7, 6], strict=True):
        one.store(one_pool, i, "slice", value)
    assert mem.take_log().tobytes() == one.take_log().tobytes()
    assert list(pool["slice"]) == list(one_pool["slice"]) == [8, 0, 0, 6, 0, 0, 0, 7]
    with pytest.raises(IndexError):
        mem.store_many(pool, [8], "slice", [1])

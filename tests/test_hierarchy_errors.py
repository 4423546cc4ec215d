"""Bad input to the memory-hierarchy models: bad events, bad calls and bad configurations.

Every bad event is a ValueError whose message names the event (its index in the batch) and the
problem, from both implementations alike, and a rejected batch changes no state at all: not the
counters, not the caches, not the TLBs (a later run behaves exactly as if the bad batch had never
been offered). A negative address cannot be put in an event at all: make_events refuses it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig, TLBConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE, READ, WRITE, make_events
from hmk.hw.pagetable import FlatMemory
from hmk.hw.reference import MemoryHierarchy

LINE = 64
DRAM = 200
L1 = 4
TLB_L2, WC = 3, 2


@pytest.fixture(params=[MemoryHierarchy, BatchHierarchy], ids=["reference", "engine"])
def impl(request):
    return request.param


def config(cores=1):
    # L1D 64 sets x 8 ways: the four descriptor lines of ASID 1's tables (all in set 0) and the
    # data lines stay in it; walk cache 8 entries x 4 ways: nothing is evicted from it
    core = CoreConfig(
        l1i=CacheConfig("l1i", 2 * 2 * LINE, 2, LINE, 2),
        l1d=CacheConfig("l1d", 64 * 8 * LINE, 8, LINE, L1),
        l2=CacheConfig("l2", 256 * 4 * LINE, 4, LINE, 9, "plru", "inclusive"),
        tlb=TLBConfig(
            l1i_entries=2,
            l1d_entries=2,
            l2_entries=8,
            l2_ways=2,
            l2_latency=TLB_L2,
            walk_cache_entries=8,
            walk_cache_ways=4,
            walk_cache_latency=WC,
            walk_from="l1d",
        ),
        dram_latency=DRAM,
    )
    return HierarchyConfig(cores=(core,) * cores, l3=CacheConfig("l3", 16 * 4 * LINE, 4, LINE, 30))


def model(impl, cores=1):
    """A model with translation (ASID 1 maps pages 0x400-0x403) and some warm state."""
    mem = FlatMemory(8 << 20)
    mem.map_pages(1, range(0x400, 0x404))
    h = impl(config(cores), ram=mem.ram, roots=mem.roots)
    h.run(make_events([0x400000, 0x400040, 0x401000], [READ, WRITE, READ], 8, 1))
    return h


# three good events: a new page (walks), a new line of a translated page, a write
GOOD = [(0x402000, READ), (0x400080, READ), (0x401000, WRITE)]


def good_events():
    return make_events([a for a, _ in GOOD], [k for _, k in GOOD], 8, 1)


def assert_untouched(h, impl, stats_before):
    """Nothing changed: the same counters, and the good events now give exactly what they give
    on a twin model that was never offered the bad batch (so caches and TLBs are unchanged)."""
    assert h.stats() == stats_before
    twin = model(impl)
    assert twin.stats() == stats_before
    expected = twin.run(good_events()).tolist()
    # page 0x402 is new: DTLB and L2 TLB miss, a level-2 walk-cache hit, one load of a cached
    # descriptor line (0x403010, the line of 0x403000), a cold data line
    assert expected[0] == TLB_L2 + WC + L1 + DRAM
    assert h.run(good_events()).tolist() == expected
    assert h.stats() == twin.stats()


# (field, bad value, message after "event 2: ")
BAD_FIELDS = [
    ("addr", 1 << 48, "address beyond 48 bits: addr=0x1000000000000"),
    ("addr", (1 << 64) - 1, "address beyond 48 bits: addr=0xffffffffffffffff"),
    ("kind", 3, "unknown access kind (0 read, 1 write, 2 fetch): kind=3"),
    ("kind", 255, "unknown access kind (0 read, 1 write, 2 fetch): kind=255"),
    ("size", 0, "zero-size access: size=0"),
    ("size", LINE + 1, f"access wider than a {LINE}-byte cache line: size={LINE + 1}"),
    ("size", 255, f"access wider than a {LINE}-byte cache line: size=255"),
    ("core", 1, "core out of range (the hierarchy has 1): core=1"),
    ("core", 255, "core out of range (the hierarchy has 1): core=255"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_bad_event_is_named_and_changes_nothing(impl, field, value, message):
    h = model(impl)
    before = h.stats()
    # events 0 and 1 are good (and would walk and miss), event 2 is bad, event 3 good
    ev = make_events([0x402000, 0x403000, 0x400000, 0x400080], READ, 8, 1)
    ev[2][field] = value
    with pytest.raises(ValueError) as info:
        h.run(ev)
    assert str(info.value) == f"event 2: {message}"
    assert_untouched(h, impl, before)


@pytest.mark.parametrize(("field", "value", "message"), [b for b in BAD_FIELDS if b[0] != "kind"])
def test_bad_single_access(impl, field, value, message):
    # access() builds one event: a bad one is event 0 (a bad kind: test_access_with_unknown_kind)
    h = model(impl)
    before = h.stats()
    args = {"addr": 0x400000, "kind": READ, "size": 8, "asid": 1, "core": 0, field: value}
    with pytest.raises(ValueError) as info:
        h.access(**args)
    assert str(info.value) == f"event 0: {message}"
    assert_untouched(h, impl, before)


def test_last_good_address_is_accepted(impl):
    # 2**48 - 8 is the last 8-byte access below the 48-bit limit; a hierarchy without TLBs takes
    # it as a physical address: a cold line (DRAM), then an L1D hit
    core = CoreConfig(
        l1i=CacheConfig("l1i", 2 * LINE, 1, LINE, 2),
        l1d=CacheConfig("l1d", 2 * LINE, 1, LINE, L1),
        dram_latency=DRAM,
    )
    h = impl(HierarchyConfig(cores=(core,)))
    assert h.access((1 << 48) - 8) == DRAM
    assert h.access((1 << 48) - 8) == L1
    assert h.stats()["cpu0.l1d.read_misses"] == 1


def test_negative_address(impl):
    # the event record cannot hold a negative address: make_events refuses it
    with pytest.raises(ValueError, match=re.escape("negative address -64")):
        make_events([0, 64, -64])
    h = model(impl)
    before = h.stats()
    with pytest.raises(ValueError, match="negative address"):
        h.access(-8)
    assert_untouched(h, impl, before)


def test_non_integer_addresses(impl):
    with pytest.raises(ValueError, match="addresses must be integers, got dtype float64"):
        make_events([0.0, 64.0])
    h = model(impl)
    before = h.stats()
    with pytest.raises(ValueError, match="addresses must be integers"):
        h.access(64.0)
    assert_untouched(h, impl, before)


@pytest.mark.parametrize(
    "events",
    [
        np.zeros(3, dtype=np.uint64),
        np.zeros(3, dtype=[("addr", "<u8"), ("asid", "<u2"), ("kind", "u1"), ("size", "u1")]),
        np.zeros(3, dtype=EVENT_DTYPE.newbyteorder(">")),
        [(0, 0, 0, 8, 0, (0, 0, 0))],
        None,
    ],
    ids=["uint64", "other-record", "big-endian", "list", "none"],
)
def test_wrong_events_type(impl, events):
    h = model(impl)
    before = h.stats()
    with pytest.raises(
        ValueError, match=re.escape("events must be a numpy array of hmk.hw.events.EVENT_DTYPE")
    ):
        h.run(events)
    assert_untouched(h, impl, before)


@pytest.mark.parametrize(("shape", "shown"), [((2, 3), "(2, 3)"), ((), "()"), ((1, 1), "(1, 1)")])
def test_events_not_one_dimensional(impl, shape, shown):
    h = model(impl)
    before = h.stats()
    ev = make_events(np.full(shape, 0x400000), READ, 8, 1)
    with pytest.raises(ValueError) as info:
        h.run(ev)
    assert str(info.value) == f"events must be one-dimensional, got shape {shown}"
    assert_untouched(h, impl, before)


def test_first_bad_check_wins_with_several_bad_events(impl):
    # with every event bad in the same way, the first is named
    h = model(impl)
    before = h.stats()
    ev = make_events([0x400000] * 4, READ, 8, 1)
    ev["size"][1:] = 0
    with pytest.raises(ValueError, match=re.escape("event 1: zero-size access: size=0")):
        h.run(ev)
    assert_untouched(h, impl, before)


def test_first_bad_event_is_named(impl):
    # event 1 has a zero size, event 2 an unknown kind: check_events' docstring says it names
    # "the first bad event", i.e. event 1; it names event 2 (the kind is checked before the size)
    h = model(impl)
    ev = make_events([0x400000] * 4, READ, 8, 1)
    ev[1]["size"] = 0
    ev[2]["kind"] = 3
    with pytest.raises(ValueError, match=re.escape("event 1: zero-size access")):
        h.run(ev)


def test_bad_batch_after_good_batches_in_a_run(impl):
    # a good batch is applied, the next (bad) one is not, and the model goes on from the state
    # the good batch left
    h = model(impl)
    first = h.run(make_events([0x403000], READ, 8, 1)).tolist()
    assert first == [TLB_L2 + WC + L1 + DRAM]  # page 0x403: a walk-cache hit, a cold line
    before = h.stats()
    ev = make_events([0x403000, 0x403040], READ, 8, 1)
    ev[1]["core"] = 7
    with pytest.raises(ValueError, match=re.escape("event 1: core out of range")):
        h.run(ev)
    assert h.stats() == before
    assert h.run(make_events([0x403000], READ, 8, 1)).tolist() == [L1]  # DTLB hit, L1D hit


def test_core_out_of_range_with_two_cores(impl):
    h = model(impl, cores=2)
    before = h.stats()
    ev = make_events([0x400000, 0x400000, 0x400000], READ, 8, 1, [0, 1, 2])
    with pytest.raises(ValueError) as info:
        h.run(ev)
    assert str(info.value) == "event 2: core out of range (the hierarchy has 2): core=2"
    assert h.stats() == before


@pytest.mark.parametrize(
    ("kind", "shown"), [("bogus", "'bogus'"), ("READ", "'READ'"), (3, "3"), (True, "True")]
)
def test_access_with_unknown_kind(impl, kind, shown):
    h = model(impl)
    before = h.stats()
    with pytest.raises(ValueError) as info:
        h.access(0x400000, kind=kind, asid=1)
    assert str(info.value) == (
        f"unknown access kind {shown}; expected one of ['fetch', 'read', 'write']"
    )
    assert_untouched(h, impl, before)


@pytest.mark.parametrize("kwargs", [{"size": 300}, {"core": 256}, {"asid": 1 << 16}])
def test_access_with_field_too_wide_for_the_record(impl, kwargs):
    # values that do not fit the event record's fields are refused before anything runs (numpy
    # raises OverflowError while building the record; it is not a ValueError - see the report)
    h = model(impl)
    before = h.stats()
    with pytest.raises((ValueError, OverflowError)):
        h.access(0x400000, **{"asid": 1, **kwargs})
    assert_untouched(h, impl, before)


def test_strided_events_are_accepted(impl):
    # a non-contiguous view of good events is a good batch: the same as its contiguous copy
    ev = make_events(np.arange(8) * 0x40 + 0x400000, READ, 8, 1)
    a, b = model(impl), model(impl)
    assert a.run(ev[::2]).tolist() == b.run(ev[::2].copy()).tolist()
    assert a.stats() == b.stats()


# ---------------------------------------------------------------------------------------------
# Configuration errors (the configuration is shared by both implementations)


def cache(**kw):
    args = {"name": "c", "size": 4 * 2 * LINE, "ways": 2, "line": LINE, "latency": 1}
    return CacheConfig(**{**args, **kw})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"size": 3 * 2 * LINE}, "cache 'c': set count 3 is not a power of two"),
        ({"size": 6 * 4 * LINE, "ways": 4}, "cache 'c': set count 6 is not a power of two"),
        (
            {"size": 4 * 3 * LINE, "ways": 3, "replacement": "plru"},
            "cache 'c': tree pseudo-LRU needs a power-of-two way count, got 3",
        ),
        ({"line": 48, "size": 4 * 2 * 48}, "cache 'c': line size 48 is not a power of two"),
        ({"size": 1000}, "cache 'c': size 1000 is not a multiple of ways*line"),
        ({"ways": 0}, "cache 'c': ways must be a positive integer, got 0"),
        ({"latency": -1}, "cache 'c': latency must be a positive integer, got -1"),
        ({"size": 4.0}, "cache 'c': size must be a positive integer, got 4.0"),
        ({"ways": True}, "cache 'c': ways must be a positive integer, got True"),
        ({"replacement": "fifo"}, "cache 'c': replacement 'fifo' is not one of ('lru', 'plru')"),
        (
            {"inclusion": "strict"},
            "cache 'c': inclusion 'strict' is not one of ('nine', 'inclusive', 'exclusive')",
        ),
        (
            {"size": 128 * LINE, "ways": 128},
            "cache 'c': at most 64 ways are modelled, got 128",
        ),
    ],
)
def test_cache_config_errors(kw, message):
    with pytest.raises(ValueError) as info:
        cache(**kw)
    assert str(info.value) == message


def test_plru_with_power_of_two_ways_is_fine():
    assert cache(size=4 * 4 * LINE, ways=4, replacement="plru").sets == 4


def tlb(**kw):
    args = {
        "l1i_entries": 4,
        "l1d_entries": 4,
        "l2_entries": 16,
        "l2_ways": 4,
        "l2_latency": 3,
        "walk_cache_entries": 8,
        "walk_cache_ways": 2,
        "walk_cache_latency": 2,
    }
    return TLBConfig(**{**args, **kw})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"l2_entries": 12}, "tlb: l2 set count 12/4 is not a power-of-two integer"),
        ({"l2_entries": 10}, "tlb: l2 set count 10/4 is not a power-of-two integer"),
        (
            {"walk_cache_entries": 6},
            "tlb: walk cache set count 6/2 is not a power-of-two integer",
        ),
        ({"l1d_entries": 0}, "tlb: l1d_entries must be a positive integer, got 0"),
        ({"l2_latency": -1}, "tlb: l2_latency must be a non-negative integer, got -1"),
        ({"walk_from": "l3"}, "tlb: walk_from must be 'l1d' or 'l2', got 'l3'"),
    ],
)
def test_tlb_config_errors(kw, message):
    with pytest.raises(ValueError) as info:
        tlb(**kw)
    assert str(info.value) == message


def l1(size=2 * 2 * LINE):
    return CacheConfig("L1D", size, 2, LINE, 4)


def test_inclusive_l2_smaller_than_l1():
    core = CoreConfig(
        l1i=l1(), l1d=l1(), l2=CacheConfig("L2", 2 * LINE, 2, LINE, 9, "lru", "inclusive")
    )
    with pytest.raises(ValueError) as info:
        HierarchyConfig(cores=(core,))
    assert str(info.value) == (
        "core 0: L2 (128 B) is inclusive but smaller than the level above it (256 B)"
    )


def test_inclusive_l3_smaller_than_l2():
    core = CoreConfig(l1i=l1(), l1d=l1(), l2=CacheConfig("L2", 16 * LINE, 2, LINE, 9))
    l3 = CacheConfig("L3", 8 * LINE, 2, LINE, 30, "lru", "inclusive")
    with pytest.raises(ValueError, match=re.escape("core 0: L3 (512 B) is inclusive but smaller")):
        HierarchyConfig(cores=(core,), l3=l3)


def test_inclusive_l2_as_large_as_l1_is_fine():
    l2 = CacheConfig("L2", 2 * 2 * LINE, 2, LINE, 9, "lru", "inclusive")
    HierarchyConfig(cores=(CoreConfig(l1i=l1(), l1d=l1(), l2=l2),))


@pytest.mark.parametrize("where", ["l2", "l3"])
@pytest.mark.parametrize("inclusion", ["inclusive", "exclusive"])
def test_cachegrind_mode_needs_nine(where, inclusion):
    lower = CacheConfig(where.upper(), 64 * LINE, 2, LINE, 9, "lru", inclusion)
    core = CoreConfig(l1i=l1(), l1d=l1(), l2=lower if where == "l2" else None)
    with pytest.raises(ValueError) as info:
        HierarchyConfig(cores=(core,), l3=lower if where == "l3" else None, mode="cachegrind")
    assert str(info.value) == "cachegrind mode needs non-inclusive ('nine') lower levels"


def test_cachegrind_mode_has_no_tlb():
    core = CoreConfig(l1i=l1(), l1d=l1(), tlb=tlb(walk_from="l1d"))
    with pytest.raises(ValueError, match="cachegrind mode models no TLB"):
        HierarchyConfig(cores=(core,), mode="cachegrind")


def test_other_hierarchy_config_errors():
    core = CoreConfig(l1i=l1(), l1d=l1())
    with pytest.raises(ValueError, match="a hierarchy needs at least one core"):
        HierarchyConfig(cores=())
    with pytest.raises(ValueError, match=re.escape("mode 'fast' is not one of")):
        HierarchyConfig(cores=(core,), mode="fast")
    with pytest.raises(ValueError, match="walks start at the L2 but the core has no L2"):
        HierarchyConfig(cores=(CoreConfig(l1i=l1(), l1d=l1(), tlb=tlb(walk_from="l2")),))
    odd = CacheConfig("L2", 64 * 32, 2, 32, 9)
    with pytest.raises(ValueError, match="L2 has 32-byte lines but the level above"):
        HierarchyConfig(cores=(CoreConfig(l1i=l1(), l1d=l1(), l2=odd),))
    with pytest.raises(ValueError, match="at most 255 cores"):
        HierarchyConfig(cores=(core,) * 256)


def test_fully_associative_tlb_too_large():
    from hmk.hw.config import TLBConfig

    with pytest.raises(ValueError, match="l1d_entries above 255"):
        TLBConfig(48, 256, 1024, 4, 3, 64, 4, 4)

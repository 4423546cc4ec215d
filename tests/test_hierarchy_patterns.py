"""Access patterns with hand-derived results, run against both memory-hierarchy implementations.

Every expected counter and latency below is derived from the specification (the docstring and
code of hmk.hw.reference); the comment next to each derivation shows the reasoning. Both the
Python reference and the compiled batch engine must produce exactly these numbers.

Conventions: lines are 64 bytes; "line n" is the address n * 64; caches are true LRU and
non-inclusive ("nine") unless a test says otherwise; DRAM costs 200 cycles.
"""

from __future__ import annotations

import numpy as np
import pytest

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig, TLBConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import FETCH, READ, WRITE, make_events
from hmk.hw.pagetable import PAGE_SHIFT, FlatMemory
from hmk.hw.profile import load_soc
from hmk.hw.reference import MemoryHierarchy

LINE = 64
DRAM = 200
L1 = 4  # L1D hit latency used throughout
L1I = 2  # L1I hit latency
L2 = 9  # private L2 hit latency
L3 = 28  # shared L3 hit latency (CacheConfig.latency)


@pytest.fixture(params=[MemoryHierarchy, BatchHierarchy], ids=["reference", "engine"])
def impl(request):
    return request.param


def cache(name, sets, ways, latency, replacement="lru", inclusion="nine"):
    return CacheConfig(name, sets * ways * LINE, ways, LINE, latency, replacement, inclusion)


def hierarchy(
    l1d,
    l2=None,
    l3=None,
    *,
    l1i=None,
    tlb=None,
    l3_latency=None,
    dram=DRAM,
    mode="hardware",
    cores=1,
):
    core = CoreConfig(
        l1i=l1i or cache("l1i", 1, 1, L1I),
        l1d=l1d,
        l2=l2,
        tlb=tlb,
        l3_latency=l3_latency,
        dram_latency=dram,
    )
    return HierarchyConfig(cores=(core,) * cores, l3=l3, mode=mode)


def run(h, addrs, kind=READ, size=8, asid=0, core=0):
    """Run one batch; return the latencies as a list."""
    return h.run(make_events(np.asarray(addrs, dtype=np.int64), kind, size, asid, core)).tolist()


def counters(h):
    """The non-zero counters, without the per-cache totals (`cpu0.l1d.hits` = sum over kinds),
    so that an exact comparison with a dict lists every event that happened and nothing else."""
    names = set(h.layout.names)
    out = {}
    for key, value in h.stats().items():
        prefix, last = key.rsplit(".", 1)
        if value and not (prefix in names and last in ("hits", "misses")):
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# Replacement: ways+1 lines in one set, round-robin


def set0_lines(n, sets=4):
    """n distinct lines that all map to set 0 of a cache with `sets` sets."""
    return [k * sets * LINE for k in range(n)]


def test_lru_ways_plus_one_round_robin_always_misses(impl):
    # 4 sets x 4 ways, LRU. A B C D E A B C D E ...: with 5 lines cycling through 4 ways the
    # least recently used line is always the one requested next, so every access misses:
    # 5 rounds = 25 misses, 4 cold fills, then every fill evicts (21 evictions).
    h = impl(hierarchy(cache("l1d", 4, 4, L1)))
    lat = run(h, set0_lines(5) * 5)
    assert lat == [DRAM] * 25
    assert counters(h) == {
        "cpu0.l1d.read_misses": 25,
        "cpu0.l1d.evictions": 21,
        "dram.reads": 25,
    }


def test_plru_ways_plus_one_round_robin(impl):
    # 4 ways, tree PLRU. Bits: b0 (root: 1 = victim in ways 2-3), b1 (1 = victim is way 1),
    # b2 (1 = victim is way 3); touching a way points every node on its path away from it.
    #   A B C D fill ways 0..3 (empty slots first); after touching way 3: b0 b1 b2 = 0 0 0
    #   #4 E: victim way 0 (A) -> [E B C D], bits 1 1 0
    #   #5 A: victim way 2 (C) -> [E B A D], bits 0 1 1
    #   #6 B: HIT in way 1      ->            bits 1 0 1
    #   #7 C: victim way 3 (D) -> [E B A C], bits 0 0 0
    #   #8 D: victim way 0 (E) -> [D B A C]; #9 E: way 2 (A); #10 A: way 1 (B); #11 B: way 3 (C)
    # From #7 on the tree cycles through ways 0, 2, 1, 3 and the victim is always the line
    # requested next, so everything after the one hit misses: 25 accesses = 24 misses + 1 hit,
    # unlike true LRU (25 misses, previous test).
    h = impl(hierarchy(cache("l1d", 4, 4, L1, "plru")))
    lat = run(h, set0_lines(5) * 5)
    assert lat == [DRAM] * 6 + [L1] + [DRAM] * 18
    assert counters(h) == {
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 24,
        "cpu0.l1d.evictions": 20,
        "dram.reads": 24,
    }


@pytest.mark.parametrize("replacement", ["lru", "plru"])
def test_two_way_plru_is_lru(impl, replacement):
    # With 2 ways the PLRU tree is one bit pointing at the way not touched last: exactly LRU.
    # 3 lines round-robin in 2 ways: every access misses, with either policy.
    h = impl(hierarchy(cache("l1d", 4, 2, L1, replacement)))
    lat = run(h, set0_lines(3) * 4)
    assert lat == [DRAM] * 12
    assert counters(h) == {
        "cpu0.l1d.read_misses": 12,
        "cpu0.l1d.evictions": 10,
        "dram.reads": 12,
    }


@pytest.mark.parametrize("replacement", ["lru", "plru"])
def test_ways_lines_round_robin_hit_after_warm_up(impl, replacement):
    # 4 lines in a 4-way set: 4 cold misses fill the set, then every access hits; no evictions.
    h = impl(hierarchy(cache("l1d", 4, 4, L1, replacement)))
    lat = run(h, set0_lines(4) * 5)
    assert lat == [DRAM] * 4 + [L1] * 16
    assert counters(h) == {"cpu0.l1d.read_hits": 16, "cpu0.l1d.read_misses": 4, "dram.reads": 4}


def test_stride_of_sets_times_line_conflicts_in_one_set(impl):
    # 64 sets x 4 ways: a 4096-byte stride (sets*line) puts all 8 lines in set 0. Two passes
    # over 8 lines in 4 LRU ways: every access misses (16), 12 evictions.
    h = impl(hierarchy(cache("l1d", 64, 4, L1)))
    lat = run(h, [k * 64 * LINE for k in range(8)] * 2)
    assert lat == [DRAM] * 16
    assert counters(h) == {
        "cpu0.l1d.read_misses": 16,
        "cpu0.l1d.evictions": 12,
        "dram.reads": 16,
    }


def test_stride_of_one_line_spreads_over_sets(impl):
    # A 64-byte stride puts the 8 lines in sets 0..7: 8 cold misses, then the second pass hits.
    h = impl(hierarchy(cache("l1d", 64, 4, L1)))
    lat = run(h, [k * LINE for k in range(8)] * 2)
    assert lat == [DRAM] * 8 + [L1] * 8
    assert counters(h) == {"cpu0.l1d.read_hits": 8, "cpu0.l1d.read_misses": 8, "dram.reads": 8}


# ---------------------------------------------------------------------------------------------
# Write-back

A, B, C, D, E = (k * LINE for k in range(5))  # lines 0..4; in a 1-set cache they share the set


def test_dirty_eviction_writes_back_clean_eviction_does_not(impl):
    # L1D 1 set x 2 ways, DRAM below. write A (miss, dirty); read B; read C evicts A (LRU) ->
    # one eviction, one write-back, one DRAM write. read D evicts B, which is clean: an eviction
    # with no write-back.
    h = impl(hierarchy(cache("l1d", 1, 2, L1)))
    run(h, [A], WRITE)
    run(h, [B, C])
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_misses": 2,
        "cpu0.l1d.evictions": 1,
        "cpu0.l1d.writebacks": 1,
        "dram.reads": 3,
        "dram.writes": 1,
    }
    run(h, [D])
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_misses": 3,
        "cpu0.l1d.evictions": 2,
        "cpu0.l1d.writebacks": 1,
        "dram.reads": 4,
        "dram.writes": 1,
    }


@pytest.mark.parametrize("second", [READ, WRITE])
def test_write_hit_marks_dirty(impl, second):
    # read A (clean), then A again (a hit: a read leaves it clean, a write makes it dirty);
    # read B, read C evicts A: a write-back and a DRAM write only if the hit was a write.
    h = impl(hierarchy(cache("l1d", 1, 2, L1)))
    assert run(h, [A]) == [DRAM]
    assert run(h, [A], second) == [L1]
    run(h, [B, C])
    dirty = int(second == WRITE)
    expected = {
        "cpu0.l1d.read_misses": 3,
        "cpu0.l1d.evictions": 1,
        "cpu0.l1d.writebacks": dirty,
        "dram.reads": 3,
        "dram.writes": dirty,
        "cpu0.l1d.write_hits" if dirty else "cpu0.l1d.read_hits": 1,
    }
    assert counters(h) == {k: v for k, v in expected.items() if v}


def test_dirty_l1_victim_marks_l2_copy_then_l2_writes_back(impl):
    # L1D 1 way, L2 (nine) 1 set x 2 ways.
    #   write A: misses everywhere; L2 = {A}, L1 = {A dirty}
    #   read B:  L2 = {A, B}; L1 fill evicts A (dirty) -> L1 write-back: A is in L2, so L2's
    #            copy becomes dirty (no replacement update) and DRAM is not written
    #   read C:  L2 is filled first (bottom-up) and evicts its LRU line A, now dirty -> L2
    #            write-back, DRAM write; then L1 evicts B (clean)
    h = impl(hierarchy(cache("l1d", 1, 1, L1), cache("l2", 1, 2, L2)))
    run(h, [A], WRITE)
    run(h, [B])
    assert counters(h)["cpu0.l1d.writebacks"] == 1
    assert "dram.writes" not in counters(h)
    run(h, [C])
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_misses": 2,
        "cpu0.l1d.evictions": 2,
        "cpu0.l1d.writebacks": 1,
        "cpu0.l2.write_misses": 1,
        "cpu0.l2.read_misses": 2,
        "cpu0.l2.evictions": 1,
        "cpu0.l2.writebacks": 1,
        "dram.reads": 3,
        "dram.writes": 1,
    }


def test_dirty_victim_not_held_below_goes_to_dram(impl):
    # L1D 1 set x 2 ways over a 1-way L2 (nine).
    #   write A: L2 = {A}, L1 = {A dirty}
    #   read B:  L2 evicts A (clean there: no write-back); L1 = {A dirty, B}
    #   read C:  L2 evicts B (clean); L1 evicts A (dirty): A is in no level below -> DRAM write
    h = impl(hierarchy(cache("l1d", 1, 2, L1), cache("l2", 1, 1, L2)))
    run(h, [A], WRITE)
    run(h, [B, C])
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_misses": 2,
        "cpu0.l1d.evictions": 1,
        "cpu0.l1d.writebacks": 1,
        "cpu0.l2.write_misses": 1,
        "cpu0.l2.read_misses": 2,
        "cpu0.l2.evictions": 2,
        "dram.reads": 3,
        "dram.writes": 1,
    }


# ---------------------------------------------------------------------------------------------
# Inclusion policies


def test_nine_l2_eviction_leaves_l1_alone(impl):
    # L1D 1 set x 2 ways over a 1-way non-inclusive L2. read A, read B: the L2 evicts A but
    # the L1 keeps it, so the third read of A hits the L1. No back-invalidation.
    h = impl(hierarchy(cache("l1d", 1, 2, L1), cache("l2", 1, 1, L2, inclusion="nine")))
    assert run(h, [A, B, A]) == [DRAM, DRAM, L1]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 2,
        "cpu0.l2.read_misses": 2,
        "cpu0.l2.evictions": 1,
        "dram.reads": 2,
    }


def inclusive_l2(impl):
    # L1D 1 set x 2 ways (128 B), L1I 64 B, inclusive L2 1 set x 2 ways (128 B, not smaller)
    return impl(hierarchy(cache("l1d", 1, 2, L1), cache("l2", 1, 2, L2, inclusion="inclusive")))


def test_inclusive_l2_eviction_back_invalidates_l1(impl):
    #   read A, read B: L1 = L2 = {A, B}
    #   read A: L1 hit (the L2 sees nothing: A stays its LRU line)
    #   read C: L2 evicts A and back-invalidates the L1's copy; C takes the freed L1 slot, so
    #           the L1 evicts nothing
    #   read A: misses the L1 (it was invalidated) and the L2 -> DRAM; the L2 evicts B
    #           (LRU) and back-invalidates it; A takes the freed L1 slot
    h = inclusive_l2(impl)
    assert run(h, [A, B, A, C, A]) == [DRAM, DRAM, L1, DRAM, DRAM]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 4,
        "cpu0.l2.read_misses": 4,
        "cpu0.l2.evictions": 2,
        "cpu0.l2.back_invalidations": 2,
        "dram.reads": 4,
    }


def test_inclusive_l2_victim_dirty_in_l1_is_written_back(impl):
    #   write A: L2 = {A clean}, L1 = {A dirty}; read B; read A (L1 hit, L2 LRU unchanged)
    #   read C: the L2 evicts A, clean in the L2, but the back-invalidated L1 copy is dirty, so
    #           the L2 victim is written back (to DRAM). The L1 evicted nothing itself.
    h = inclusive_l2(impl)
    assert run(h, [A], WRITE) + run(h, [B, A, C]) == [DRAM, DRAM, L1, DRAM]
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 2,
        "cpu0.l2.write_misses": 1,
        "cpu0.l2.read_misses": 2,
        "cpu0.l2.evictions": 1,
        "cpu0.l2.back_invalidations": 1,
        "cpu0.l2.writebacks": 1,
        "dram.reads": 3,
        "dram.writes": 1,
    }


def exclusive_l2(impl):
    # L1D 1 way, exclusive (victim) L2 of 1 way, like Cortex-A55's L2 in miniature; L2 hit = 8
    return impl(hierarchy(cache("l1d", 1, 1, L1), cache("l2", 1, 1, 8, inclusion="exclusive")))


def test_exclusive_l2_is_a_victim_cache(impl):
    #   read A: misses L1 and L2 -> DRAM; the L2 is NOT filled on the way up. L1 = {A}, L2 = {}
    #   read B: misses both -> DRAM; L1 evicts A, which goes into the L2: L2 = {A}. Had the
    #           L2 been filled on the way up, this would already have cost two L2 evictions.
    #   read A: L2 hit (8): A moves up and out of the L2; L1 evicts B into the L2. The L2 has
    #           room because A left it: still no L2 eviction (a second L1 eviction, of another
    #           line, shows A is gone from the L2).
    #   read B: L2 hit (8); B moves up, A goes down: L2 = {A}
    #   read C: misses both -> DRAM; L1 evicts B into the L2, which evicts A (first L2 eviction)
    #   read A: misses both -> DRAM (A was evicted); L1 evicts C into the L2, evicting B
    h = exclusive_l2(impl)
    assert run(h, [A, B]) == [DRAM, DRAM]
    assert "cpu0.l2.evictions" not in counters(h)
    assert run(h, [A, B, C, A]) == [8, 8, DRAM, DRAM]
    assert counters(h) == {
        "cpu0.l1d.read_misses": 6,
        "cpu0.l1d.evictions": 5,
        "cpu0.l2.read_hits": 2,
        "cpu0.l2.read_misses": 4,
        "cpu0.l2.evictions": 2,
        "dram.reads": 4,
    }


def test_exclusive_l2_carries_dirty_state(impl):
    #   write A: L1 = {A dirty}
    #   read B:  L1 evicts A (dirty: an L1 write-back) into the exclusive L2 - not to DRAM
    #   read A:  L2 hit (8): A moves up with its dirty bit; L1 evicts B (clean) into the L2
    #   read C:  L1 evicts A (dirty: second L1 write-back) into the L2, which evicts B (clean)
    #   read D:  L1 evicts C into the L2, which evicts A, dirty -> L2 write-back, DRAM write.
    #            Had the L2 hit dropped A's dirty bit, DRAM would never be written.
    h = exclusive_l2(impl)
    assert run(h, [A], WRITE) + run(h, [B, A, C, D]) == [DRAM, DRAM, 8, DRAM, DRAM]
    assert counters(h) == {
        "cpu0.l1d.write_misses": 1,
        "cpu0.l1d.read_misses": 4,
        "cpu0.l1d.evictions": 4,
        "cpu0.l1d.writebacks": 2,
        "cpu0.l2.write_misses": 1,
        "cpu0.l2.read_hits": 1,
        "cpu0.l2.read_misses": 3,
        "cpu0.l2.evictions": 2,
        "cpu0.l2.writebacks": 1,
        "dram.reads": 4,
        "dram.writes": 1,
    }


def test_exclusive_l2_over_shared_l3(impl):
    # Cortex-A55's arrangement: exclusive L2, non-inclusive shared L3 (filled on the way up).
    #   read A: DRAM; L3 = {A}, L1 = {A}, L2 = {}
    #   read B: DRAM; L3 = {A, B}; L1 evicts A into the L2
    #   read C: DRAM; L3 = {A, B, C}; L1 evicts B into the L2, which evicts A (clean)
    #   read A: misses L1 and L2, hits L3 (28); L1 evicts C into the L2, which evicts B
    h = impl(
        hierarchy(
            cache("l1d", 1, 1, L1),
            cache("l2", 1, 1, 8, inclusion="exclusive"),
            cache("l3", 1, 4, L3),
        )
    )
    assert run(h, [A, B, C, A]) == [DRAM, DRAM, DRAM, L3]
    assert counters(h) == {
        "cpu0.l1d.read_misses": 4,
        "cpu0.l1d.evictions": 3,
        "cpu0.l2.read_misses": 4,
        "cpu0.l2.evictions": 2,
        "l3.read_hits": 1,
        "l3.read_misses": 3,
        "dram.reads": 3,
    }


# ---------------------------------------------------------------------------------------------
# Latency per level; accesses that straddle two lines


@pytest.mark.parametrize(("l3_latency", "expected"), [(23, 23), (None, L3)])
def test_latency_of_each_level(impl, l3_latency, expected):
    # L1D 1 way (4), L2 1 set x 2 ways (9), L3 1 set x 4 ways (28, or the core's l3_latency).
    #   A: DRAM. A: L1 hit. B: DRAM (L1 = {B}, L2 = {A, B})
    #   A: L1 miss, L2 hit -> 9 (A becomes the L2's MRU)
    #   C: DRAM; the L2 evicts B. D: DRAM; the L2 evicts A (L3 still holds A B C D)
    #   A: misses L1 and L2, hits the L3 -> the core's L3 latency; the L2 evicts C
    h = impl(
        hierarchy(
            cache("l1d", 1, 1, L1),
            cache("l2", 1, 2, L2),
            cache("l3", 1, 4, L3),
            l3_latency=l3_latency,
        )
    )
    assert run(h, [A, A, B, A, C, D, A]) == [DRAM, L1, DRAM, L2, DRAM, DRAM, expected]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 6,
        "cpu0.l1d.evictions": 5,
        "cpu0.l2.read_hits": 1,
        "cpu0.l2.read_misses": 5,
        "cpu0.l2.evictions": 3,
        "l3.read_hits": 1,
        "l3.read_misses": 4,
        "dram.reads": 4,
    }


def straddle_model(impl, mode):
    # L1D 2 sets x 1 way (line 0 -> set 0, line 1 -> set 1), L2 1 set x 4 ways
    return impl(hierarchy(cache("l1d", 2, 1, L1), cache("l2", 1, 4, L2), mode=mode))


def test_straddling_access_hardware_mode(impl):
    # Warm up: line 1, line 3 (evicts line 1 from the L1's set 1; the L2 keeps both), line 0.
    # Then 8 bytes at 60 (lines 0 and 1): line 0 hits the L1 (4), line 1 hits the L2 (9): the
    # access costs max = 9 and counts two line accesses (1 L1 hit + 1 L1 miss). Again: both
    # lines are now in the L1: 4, two more L1 hits.
    h = straddle_model(impl, "hardware")
    assert run(h, [1 * LINE, 3 * LINE, 0]) == [DRAM] * 3
    assert run(h, [60], size=8) == [L2]
    assert run(h, [60], size=8) == [L1]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 3,
        "cpu0.l1d.read_misses": 4,
        "cpu0.l1d.evictions": 2,
        "cpu0.l2.read_hits": 1,
        "cpu0.l2.read_misses": 3,
        "dram.reads": 3,
    }


def test_straddling_access_cachegrind_mode(impl):
    # The same sequence under cachegrind's rule: the straddling access is one access per level;
    # at the L1 line 0 hits but line 1 misses (and is filled), so it counts ONE L1 miss; at the
    # L2 both lines hit: one L2 hit, latency 9. Again: both hit the L1: one L1 hit, 4.
    h = straddle_model(impl, "cachegrind")
    assert run(h, [1 * LINE, 3 * LINE, 0]) == [DRAM] * 3
    assert run(h, [60], size=8) == [L2]
    assert run(h, [60], size=8) == [L1]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 1,
        "cpu0.l1d.read_misses": 4,
        "cpu0.l1d.evictions": 2,
        "cpu0.l2.read_hits": 1,
        "cpu0.l2.read_misses": 3,
        "dram.reads": 3,
    }


@pytest.mark.parametrize(("mode", "count"), [("hardware", 2), ("cachegrind", 1)])
def test_cold_straddling_access(impl, mode, count):
    # 8 bytes at 60 on cold caches: both lines miss everywhere; latency DRAM either way. Hardware
    # mode counts two line accesses (2 misses per level, 2 DRAM reads); cachegrind mode counts
    # the access once per level and one DRAM read.
    h = straddle_model(impl, mode)
    assert run(h, [60], size=8) == [DRAM]
    assert counters(h) == {
        "cpu0.l1d.read_misses": count,
        "cpu0.l2.read_misses": count,
        "dram.reads": count,
    }


def test_fetch_goes_through_l1i(impl):
    # A fetch is looked up in the L1I (hit latency 2), never the L1D; both fill the shared L2.
    h = impl(hierarchy(cache("l1d", 1, 1, L1), cache("l2", 1, 4, L2), l1i=cache("l1i", 1, 1, L1I)))
    assert run(h, [A], FETCH) + run(h, [A], FETCH) + run(h, [A]) == [DRAM, L1I, L2]
    assert counters(h) == {
        "cpu0.l1i.fetch_hits": 1,
        "cpu0.l1i.fetch_misses": 1,
        "cpu0.l1d.read_misses": 1,
        "cpu0.l2.fetch_misses": 1,
        "cpu0.l2.read_hits": 1,
        "dram.reads": 1,
    }


# ---------------------------------------------------------------------------------------------
# Translation: TLBs, walker, walk cache
#
# FlatMemory(8 MiB) puts page-table frames from 0x400000 up (in allocation order) and data frames
# from 0 up. Mapping VA page 0x400 of ASID 1 allocates its level 0-3 tables at 0x400000,
# 0x401000, 0x402000, 0x403000 and the data frame 0. VA 0x400000 has level indexes 0, 0, 2, 0,
# so its four descriptors are at 0x400000, 0x401000, 0x402010, 0x403000 (four distinct lines,
# all in L1D set 0; the L1D has 16 ways so they are never evicted here). Data accesses use page
# offset 0x100 (L1D set 4). Walk cache: 32 entries, 8 ways: nothing is evicted from it here.

TLB_L2 = 3  # L2 TLB latency
WC = 2  # walk-cache latency
P = 0x100  # page offset of the data accesses


def tlb_config(walk_from="l1d", l1_entries=4):
    return hierarchy(
        cache("l1d", 64, 16, L1),
        cache("l2", 1024, 8, L2),
        l1i=cache("l1i", 64, 2, L1I),
        tlb=TLBConfig(
            l1i_entries=l1_entries,
            l1d_entries=l1_entries,
            l2_entries=16,
            l2_ways=4,
            l2_latency=TLB_L2,
            walk_cache_entries=32,
            walk_cache_ways=8,
            walk_cache_latency=WC,
            walk_from=walk_from,
        ),
    )


def tlb_model(impl, mappings, **kw):
    """mappings: (asid, vpns, global) in allocation order."""
    mem = FlatMemory(8 << 20)
    for asid, vpns, global_ in mappings:
        mem.map_pages(asid, vpns, global_=global_)
    return impl(tlb_config(**kw), ram=mem.ram, roots=mem.roots)


def va(vpn):
    return (vpn << PAGE_SHIFT) + P


def tlb_counters(h):
    return {k: v for k, v in counters(h).items() if "tlb" in k or "walker" in k}


@pytest.mark.parametrize("walk_from", ["l1d", "l2"])
def test_walk_then_tlb_hit_then_walk_cache_hit(impl, walk_from):
    h = tlb_model(impl, [(1, [0x400, 0x401], False)], walk_from=walk_from)
    entry = L1 if walk_from == "l1d" else L2  # a descriptor load that hits the walker's entry
    # 1st touch of page 0x400: DTLB miss, L2 TLB miss, walk: walk-cache miss, 4 cold descriptor
    # loads (DRAM each), then the data (frame 0, cold): 3 + 2 + 4 * 200 + 200
    assert run(h, [va(0x400)], asid=1) == [TLB_L2 + WC + 4 * DRAM + DRAM]
    # same page again: DTLB hit adds nothing; the data line is in the L1D
    assert run(h, [va(0x400) + 8], asid=1) == [L1]
    # page 0x401, same 2 MiB region: the walk cache holds its level-2 descriptor, so one load,
    # of the level-3 descriptor 0x403008 (the line of 0x403000: cached) + cold data (frame 1)
    assert run(h, [va(0x401)], asid=1) == [TLB_L2 + WC + entry + DRAM]
    assert tlb_counters(h) == {
        "cpu0.dtlb.hits": 1,
        "cpu0.dtlb.misses": 2,
        "cpu0.l2tlb.misses": 2,
        "cpu0.walker.walks": 2,
        "cpu0.walker.cache_hits": 1,
        "cpu0.walker.cache_misses": 1,
    }
    walk = {
        f"cpu0.{walk_from}.walk_misses": 4,  # walk-kind accesses: 4 + 1 descriptor loads
        f"cpu0.{walk_from}.walk_hits": 1,
    }
    if walk_from == "l1d":
        walk["cpu0.l2.walk_misses"] = 4  # L1D walk misses go on to the L2
    assert {k: v for k, v in counters(h).items() if "walk_" in k} == walk
    c = counters(h)
    assert (c["cpu0.l1d.read_hits"], c["cpu0.l1d.read_misses"]) == (1, 2)
    assert c["dram.reads"] == 4 + 2


def test_l2_tlb_hit(impl):
    # A 2-entry DTLB: pages 0x400, 0x401, 0x402 walk (0x400: full walk; then walk-cache hits);
    # 0x402 evicts 0x400 from the DTLB (LRU) but the L2 TLB (16 entries) keeps it. Page 0x400
    # again: DTLB miss, L2 TLB hit: 3 cycles + an L1D hit, no walk. Then it is back in the DTLB.
    h = tlb_model(impl, [(1, [0x400, 0x401, 0x402], False)], l1_entries=2)
    lat = run(h, [va(0x400), va(0x401), va(0x402)], asid=1)
    assert lat == [TLB_L2 + WC + 5 * DRAM, TLB_L2 + WC + L1 + DRAM, TLB_L2 + WC + L1 + DRAM]
    assert run(h, [va(0x400), va(0x400)], asid=1) == [TLB_L2 + L1, L1]
    assert tlb_counters(h) == {
        "cpu0.dtlb.hits": 1,
        "cpu0.dtlb.misses": 4,
        "cpu0.l2tlb.hits": 1,
        "cpu0.l2tlb.misses": 3,
        "cpu0.walker.walks": 3,
        "cpu0.walker.cache_hits": 2,
        "cpu0.walker.cache_misses": 1,
    }


def test_unmapped_page_faults_and_is_timed(impl):
    h = tlb_model(impl, [(1, [0x400], False)])
    run(h, [va(0x400)], asid=1)  # full walk; the walk cache now has region 2 (0x400000-0x5fffff)
    # page 0x500 (same region) is unmapped: walk-cache hit, one load of the level-3 descriptor
    # 0x403800 (cold line) finds it invalid: a fault. The access is timed identity-mapped
    # (physical 0x500100, cold): 3 + 2 + 200 + 200
    assert run(h, [va(0x500)], asid=1) == [TLB_L2 + WC + DRAM + DRAM]
    # a fault caches no translation: the same access walks and faults again, now with the
    # descriptor line and the data line in the L1D
    assert run(h, [va(0x500)], asid=1) == [TLB_L2 + WC + L1 + L1]
    # ASID 9 has no page tables at all: the walk faults before loading anything; the data
    # (identity-mapped 0x400100, a cold line) is still timed
    assert run(h, [va(0x400)], asid=9) == [TLB_L2 + WC + DRAM]
    assert tlb_counters(h) == {
        "cpu0.dtlb.misses": 4,
        "cpu0.l2tlb.misses": 4,
        "cpu0.walker.walks": 4,
        "cpu0.walker.cache_hits": 2,
        "cpu0.walker.cache_misses": 2,
        "cpu0.walker.faults": 3,
    }
    c = counters(h)
    assert (c["cpu0.l1d.walk_misses"], c["cpu0.l1d.walk_hits"]) == (5, 1)


def test_fetch_uses_the_itlb(impl):
    h = tlb_model(impl, [(1, [0x400], False)])
    # a fetch first: ITLB miss, L2 TLB miss, a full walk (its loads enter the walker's entry
    # level, the L1D, not the L1I), then an L1I miss to DRAM
    assert run(h, [va(0x400)], FETCH, asid=1) == [TLB_L2 + WC + 4 * DRAM + DRAM]
    # fetch again: ITLB hit, L1I hit
    assert run(h, [va(0x400)], FETCH, asid=1) == [L1I]
    # a read of the same page: the DTLB misses, the L2 TLB hits (filled by the fetch's walk);
    # the line misses the L1D and hits the L2 (filled by the fetch)
    assert run(h, [va(0x400)], asid=1) == [TLB_L2 + L2]
    assert tlb_counters(h) == {
        "cpu0.itlb.hits": 1,
        "cpu0.itlb.misses": 1,
        "cpu0.dtlb.misses": 1,
        "cpu0.l2tlb.hits": 1,
        "cpu0.l2tlb.misses": 1,
        "cpu0.walker.walks": 1,
        "cpu0.walker.cache_misses": 1,
    }
    c = counters(h)
    assert c["cpu0.l1d.walk_misses"] == 4
    assert "cpu0.l1i.walk_misses" not in c
    assert (c["cpu0.l1i.fetch_misses"], c["cpu0.l1i.fetch_hits"]) == (1, 1)


def test_access_straddling_two_pages(impl):
    # ASID 1 maps 0x400 -> frame 0 and 0x401 -> frame 2 (ASID 2's page took frame 1 between
    # them), so the two pages are not physically adjacent. 8 bytes at VA 0x400ffc: both pages
    # are translated, each translation's cycles are added, then the two lines cost the max.
    #   page 0x400: full walk, 4 cold loads: 3 + 2 + 800
    #   page 0x401: level-2 walk-cache hit, 1 load of 0x403008 (now in the L1D): 3 + 2 + 4
    #   lines: frame 0's last line and frame 2's first, both cold: max(200, 200)
    h = tlb_model(impl, [(1, [0x400], False), (2, [0x400], False), (1, [0x401], False)])
    assert run(h, [0x400FFC], asid=1) == [(TLB_L2 + WC + 4 * DRAM) + (TLB_L2 + WC + L1) + DRAM]
    # both translations and both lines are now held: frame 2's first line is VA 0x401000
    assert run(h, [0x400FFC, 0x401000, 0x400FC0], asid=1) == [L1, L1, L1]
    assert tlb_counters(h) == {
        "cpu0.dtlb.hits": 4,  # 2 for the straddling access, 1 each for the others
        "cpu0.dtlb.misses": 2,
        "cpu0.l2tlb.misses": 2,
        "cpu0.walker.walks": 2,
        "cpu0.walker.cache_hits": 1,
        "cpu0.walker.cache_misses": 1,
    }
    c = counters(h)
    assert (c["cpu0.l1d.read_misses"], c["cpu0.l1d.read_hits"]) == (2, 4)


def test_exclusive_l2_as_walk_entry_is_filled(impl):
    # Walks that start at an exclusive L2: the level an access enters is always filled, so the
    # descriptor lines go into the L2 even though it is exclusive, and a later walk hits there
    # (a hit at the entry level does not move the line anywhere). Data reads still enter at
    # the L1D and do not fill the L2.
    mem = FlatMemory(8 << 20)
    mem.map_pages(1, [0x400, 0x401])
    cfg = tlb_config(walk_from="l2")
    core = cfg.cores[0]
    l2 = cache("l2", 1024, 8, L2, inclusion="exclusive")
    cfg = HierarchyConfig(cores=(CoreConfig(core.l1i, core.l1d, l2, core.tlb, None, DRAM),))
    h = impl(cfg, ram=mem.ram, roots=mem.roots)
    assert run(h, [va(0x400)], asid=1) == [TLB_L2 + WC + 4 * DRAM + DRAM]
    assert run(h, [va(0x401)], asid=1) == [TLB_L2 + WC + L2 + DRAM]
    assert run(h, [va(0x401) + 0x40], asid=1) == [DRAM]  # a new line; DTLB hit
    c = counters(h)
    assert {k: v for k, v in c.items() if ".l2." in k or ".l1d." in k} == {
        "cpu0.l1d.read_misses": 3,
        "cpu0.l2.read_misses": 3,
        "cpu0.l2.walk_misses": 4,
        "cpu0.l2.walk_hits": 1,
    }


def test_two_asids_same_va_different_frames(impl):
    # ASID 1 and 2 both map page 0x400, to frames 0 and 1. Neither hits the other's TLB entry,
    # and their data lines are different physical lines: each first access misses the L1D.
    h = tlb_model(impl, [(1, [0x400], False), (2, [0x400], False)])
    run(h, [va(0x400)], asid=1)
    run(h, [va(0x400)], asid=2)
    assert tlb_counters(h)["cpu0.walker.walks"] == 2
    assert counters(h)["cpu0.l1d.read_misses"] == 2
    assert run(h, [va(0x400)], asid=1) + run(h, [va(0x400)], asid=2) == [L1, L1]
    c = counters(h)
    assert (c["cpu0.dtlb.hits"], c["cpu0.dtlb.misses"]) == (2, 2)
    assert (c["cpu0.l1d.read_hits"], c["cpu0.l1d.read_misses"]) == (2, 2)


# TLB shoot-down. ASID 1: pages 0x400, 0x401 (frames 0, 1); ASID 2: page 0x400 (frame 2, tables
# 0x404000-0x407000); ASID 1: page 0x600 global (frame 3; level-3 table 0x408000, level-2 index
# 3: descriptor 0x402018, the line of 0x402010). The 4-entry DTLB holds exactly these four
# translations after the warm-up; the L2 TLB holds them too.
#
# After the warm-up every descriptor line and data line is in the L1D, so a walk costs
# 3 + 2 + 4 per descriptor load, and its data access 4:
FULL_WALK = TLB_L2 + WC + 4 * L1 + L1  # walk-cache miss: 4 loads
WC_L1_WALK = TLB_L2 + WC + 2 * L1 + L1  # level-1 walk-cache hit: 2 loads
WC_L2_WALK = TLB_L2 + WC + 1 * L1 + L1  # level-2 walk-cache hit: 1 load
SHOOTDOWN_PAGES = [(0x400, 1), (0x401, 1), (0x400, 2), (0x600, 1)]


def shootdown_model(impl):
    h = tlb_model(impl, [(1, [0x400, 0x401], False), (2, [0x400], False), (1, [0x600], True)])
    for vpn, asid in SHOOTDOWN_PAGES:
        run(h, [va(vpn)], asid=asid)
    # warm-up walks: (0x400, 1) full; (0x401, 1) level-2 hit; (0x400, 2) full; (0x600, 1)
    # level-1 hit (level 2 prefix 3 is new)
    assert tlb_counters(h) == {
        "cpu0.dtlb.misses": 4,
        "cpu0.l2tlb.misses": 4,
        "cpu0.walker.walks": 4,
        "cpu0.walker.cache_hits": 2,
        "cpu0.walker.cache_misses": 2,
    }
    for vpn, asid in SHOOTDOWN_PAGES:  # all four translations are held: DTLB hits
        assert run(h, [va(vpn)], asid=asid) == [L1]
    return h


def delta(h, before):
    after = tlb_counters(h)
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_tlbi_asid(impl):
    h = shootdown_model(impl)
    before = tlb_counters(h)
    h.tlbi_asid(1)
    # ASID 2's entry and the global page stay (DTLB hits, no extra latency); ASID 1's
    # non-global pages walk again, and its walk-cache entries are gone too: 0x400 walks in full,
    # then 0x401 reuses the level-2 entry that walk put back
    lat = [run(h, [va(vpn)], asid=asid)[0] for vpn, asid in [(0x400, 2), (0x600, 1)]]
    lat += run(h, [va(0x400), va(0x401)], asid=1)
    assert lat == [L1, L1, FULL_WALK, WC_L2_WALK]
    assert delta(h, before) == {
        "cpu0.dtlb.hits": 2,
        "cpu0.dtlb.misses": 2,
        "cpu0.l2tlb.misses": 2,
        "cpu0.walker.walks": 2,
        "cpu0.walker.cache_hits": 1,
        "cpu0.walker.cache_misses": 1,
    }


def test_tlbi_va_with_asid(impl):
    h = shootdown_model(impl)
    before = tlb_counters(h)
    h.tlbi_va(0x400000, 1)
    # only (0x400, ASID 1) is dropped from the TLBs: 0x401 of ASID 1, 0x400 of ASID 2 and the
    # global 0x600 still hit. ASID 1's walk-cache entries for the prefixes of 0x400000 (levels
    # 0, 1, 2) are dropped too, so the re-walk loads all four descriptors.
    lat = [run(h, [va(vpn)], asid=asid)[0] for vpn, asid in [(0x401, 1), (0x400, 2), (0x600, 1)]]
    lat += run(h, [va(0x400)], asid=1)
    assert lat == [L1, L1, L1, FULL_WALK]
    assert delta(h, before) == {
        "cpu0.dtlb.hits": 3,
        "cpu0.dtlb.misses": 1,
        "cpu0.l2tlb.misses": 1,
        "cpu0.walker.walks": 1,
        "cpu0.walker.cache_misses": 1,
    }


def test_tlbi_va_with_asid_drops_global_entry(impl):
    h = shootdown_model(impl)
    before = tlb_counters(h)
    h.tlbi_va(0x600000, 2)
    # invalidation by VA and ASID also drops a global translation of that page, even one made
    # under another ASID; ASID 1's walk-cache entries survive (they are tagged ASID 1), so the
    # re-walk of 0x600 hits its level-2 entry: one load
    assert run(h, [va(0x400)], asid=1) + run(h, [va(0x600)], asid=1) == [L1, WC_L2_WALK]
    assert delta(h, before) == {
        "cpu0.dtlb.hits": 1,
        "cpu0.dtlb.misses": 1,
        "cpu0.l2tlb.misses": 1,
        "cpu0.walker.walks": 1,
        "cpu0.walker.cache_hits": 1,
    }


def test_tlbi_va_every_asid(impl):
    h = shootdown_model(impl)
    before = tlb_counters(h)
    h.tlbi_va(0x400000)
    # page 0x400 is dropped for both ASIDs (with both ASIDs' walk-cache entries for its
    # prefixes); 0x401 and 0x600 stay
    lat = [run(h, [va(vpn)], asid=asid)[0] for vpn, asid in [(0x401, 1), (0x600, 1)]]
    lat += run(h, [va(0x400)], asid=1) + run(h, [va(0x400)], asid=2)
    assert lat == [L1, L1, FULL_WALK, FULL_WALK]
    assert delta(h, before) == {
        "cpu0.dtlb.hits": 2,
        "cpu0.dtlb.misses": 2,
        "cpu0.l2tlb.misses": 2,
        "cpu0.walker.walks": 2,
        "cpu0.walker.cache_misses": 2,
    }


def test_tlbi_all(impl):
    h = shootdown_model(impl)
    before = tlb_counters(h)
    h.tlbi_all()
    # everything walks, the global page too. Empty walk cache: (0x400, 2) and (0x600, 1) walk
    # in full; (0x400, 1) then finds ASID 1's level-1 entry (prefix 0) from the 0x600 walk:
    # 2 loads; (0x401, 1) finds the level-2 entry the 0x400 walk made: 1 load
    lat = run(h, [va(0x400)], asid=2) + run(h, [va(0x600), va(0x400), va(0x401)], asid=1)
    assert lat == [FULL_WALK, FULL_WALK, WC_L1_WALK, WC_L2_WALK]
    assert delta(h, before) == {
        "cpu0.dtlb.misses": 4,
        "cpu0.l2tlb.misses": 4,
        "cpu0.walker.walks": 4,
        "cpu0.walker.cache_hits": 2,
        "cpu0.walker.cache_misses": 2,
    }


# ---------------------------------------------------------------------------------------------
# Several cores; state across batches


def test_private_l1s_shared_l3(impl):
    # Two cores, each with a private 2-way L1D and no L2; a shared 4-way L3 (core 0 sees it at
    # 20 cycles, core 1 at 25; DRAM at 200 / 250).
    cores = (
        CoreConfig(
            cache("l1i", 1, 1, L1I), cache("l1d", 1, 2, L1), l3_latency=20, dram_latency=DRAM
        ),
        CoreConfig(
            cache("l1i", 1, 1, L1I), cache("l1d", 1, 2, L1), l3_latency=25, dram_latency=250
        ),
    )
    h = impl(HierarchyConfig(cores=cores, l3=cache("l3", 1, 4, L3)))
    lat = []
    for addr, kind, core in [
        (A, READ, 0),  # DRAM (core 0's 200); fills the L3
        (A, READ, 1),  # core 1's L1 misses, the shared L3 hits: core 1's 25
        (A, READ, 0),  # core 0's L1 still has it
        (B, READ, 1),  # DRAM at core 1's 250
        (B, READ, 0),  # L3 hit brought in by core 1: 20
        (A, WRITE, 1),  # core 1's L1 hit
        (C, READ, 1),  # core 1: DRAM; its L1 = {A, B} -> evicts B
        (D, READ, 1),  # core 1: DRAM; evicts A (dirty: goes to the L3's copy, no DRAM write)
        (A, READ, 0),  # core 0's private L1 was not disturbed by core 1's evictions
        (B, READ, 0),
    ]:
        lat += run(h, [addr], kind, core=core)
    assert lat == [DRAM, 25, L1, 250, 20, L1, 250, 250, L1, L1]
    assert counters(h) == {
        "cpu0.l1d.read_hits": 3,
        "cpu0.l1d.read_misses": 2,
        "cpu1.l1d.read_misses": 4,
        "cpu1.l1d.write_hits": 1,
        "cpu1.l1d.evictions": 2,
        "cpu1.l1d.writebacks": 1,
        "l3.read_hits": 2,
        "l3.read_misses": 4,
        "dram.reads": 4,
    }


def test_shared_inclusive_l3_back_invalidates_every_core(impl):
    # rpi4's arrangement in miniature: two cores with private 2-way L1Ds and no L2, a shared
    # inclusive L3 of 1 set x 2 ways (as large as an L1D).
    #   c0 A: DRAM; L3 = {A}.  c1 A: L3 hit (28).  c0 B: DRAM; L3 = {A, B}
    #   c0 C: the L3 evicts A (LRU: A at step 2, B at step 3) and back-invalidates BOTH cores'
    #         copies (2); C takes the hole in core 0's L1D
    #   c1 A: core 1's copy is gone: DRAM; the L3 evicts B, invalidating core 0's copy (3)
    #   c0 B: DRAM; the L3 evicts C, invalidating core 0's copy (4). No L1D ever evicts: every
    #         fill finds a hole left by a back-invalidation.
    core = CoreConfig(cache("l1i", 1, 1, L1I), cache("l1d", 1, 2, L1), dram_latency=DRAM)
    h = impl(HierarchyConfig(cores=(core, core), l3=cache("l3", 1, 2, L3, inclusion="inclusive")))
    lat = []
    for addr, c in [(A, 0), (A, 1), (B, 0), (C, 0), (A, 1), (B, 0)]:
        lat += run(h, [addr], core=c)
    assert lat == [DRAM, L3, DRAM, DRAM, DRAM, DRAM]
    assert counters(h) == {
        "cpu0.l1d.read_misses": 4,
        "cpu1.l1d.read_misses": 2,
        "l3.read_hits": 1,
        "l3.read_misses": 5,
        "l3.evictions": 3,
        "l3.back_invalidations": 4,
        "dram.reads": 5,
    }


def test_state_persists_across_batches(impl):
    h = impl(hierarchy(cache("l1d", 1, 2, L1)))
    assert run(h, [A]) == [DRAM]
    assert run(h, [A]) == [L1]  # the second batch sees the first batch's fill
    assert run(h, [], READ) == []  # an empty batch changes nothing
    assert run(h, [B, A]) == [DRAM, L1]
    assert counters(h) == {"cpu0.l1d.read_hits": 2, "cpu0.l1d.read_misses": 2, "dram.reads": 2}


def test_batches_in_pieces_equal_one_batch(impl):
    # a mixed trace (reads, writes, fetches, straddling accesses, two ASIDs, an unmapped page)
    # with translation and an inclusive PLRU L2: feeding it in pieces gives the same latencies
    # and counters as one batch
    rng = np.random.default_rng(7)
    n = 600
    vpns = 0x400 + rng.integers(0, 6, n)
    ev = make_events(
        (vpns << PAGE_SHIFT) + rng.integers(0, 64, n) * 64 + rng.choice([0, 60], n),
        0,
        rng.choice([1, 4, 8], n),
        rng.integers(1, 3, n),
    )
    ev["kind"] = rng.integers(0, 3, n)

    def model():
        mem = FlatMemory(8 << 20)
        for asid in (1, 2):
            mem.map_pages(asid, range(0x400, 0x406))
        cfg = tlb_config()
        core = cfg.cores[0]
        small = CoreConfig(
            cache("l1i", 2, 2, L1I),
            cache("l1d", 4, 2, L1),
            cache("l2", 4, 4, L2, "plru", "inclusive"),
            core.tlb,
            dram_latency=DRAM,
        )
        return impl(HierarchyConfig(cores=(small,), l3=cache("l3", 8, 4, L3)), mem.ram, mem.roots)

    whole, pieces = model(), model()
    lat_whole = whole.run(ev).tolist()
    lat_pieces = []
    for i in range(0, n, 97):
        lat_pieces += pieces.run(ev[i : i + 97]).tolist()
    assert lat_pieces == lat_whole
    assert pieces.stats() == whole.stats()
    assert whole.stats()["cpu0.walker.walks"] > 0


# ---------------------------------------------------------------------------------------------
# The bundled hardware profiles: a cold sequential read of 4 MiB

MIB4 = 4 << 20
SEQ_BASE = 0x10000000  # VA 256 MiB: level indexes 0, 0, 0x80 (0x81 for the second 2 MiB)


@pytest.mark.parametrize(
    ("soc", "cluster"),
    [("kirin9000", "big"), ("kirin9000", "little"), ("rpi4", None)],
)
def test_profile_cold_sequential_read(impl, soc, cluster):
    cfg = load_soc(soc).hierarchy(cluster=cluster, cores=1)
    core = cfg.cores[0]
    mem = FlatMemory(16 << 20)  # 12 MiB of data frames, page tables above
    pages = MIB4 >> PAGE_SHIFT  # 1024
    mem.map_pages(1, range(SEQ_BASE >> PAGE_SHIFT, (SEQ_BASE >> PAGE_SHIFT) + pages))
    h = impl(cfg, ram=mem.ram, roots=mem.roots)
    lines = MIB4 // LINE  # 65536: one 8-byte read per line
    lat = np.array(run(h, SEQ_BASE + np.arange(lines) * LINE, asid=1))
    s = h.stats()
    levels = [n for n in h.layout.names if n != "cpu0.l1i"]  # l1d, [l2], l3
    for name in levels:
        # every data line is read once, for the first time: it misses every level
        assert (s[f"{name}.read_misses"], s[f"{name}.read_hits"]) == (lines, 0), name
        assert s[f"{name}.writebacks"] == 0  # nothing was written
    assert s["cpu0.l1d.read_misses"] == MIB4 // 64
    assert s["dram.writes"] == 0
    assert s["dram.reads"] == s["l3.misses"]  # every L3 miss, data or descriptor, reads DRAM
    # one DTLB miss per page; every page is new to the L2 TLB too
    assert (s["cpu0.dtlb.misses"], s["cpu0.dtlb.hits"]) == (pages, lines - pages)
    assert (s["cpu0.l2tlb.misses"], s["cpu0.l2tlb.hits"]) == (pages, 0)
    # walks: the first misses the walk cache (4 loads); the first of the second 2 MiB region
    # hits its level-1 entry (2 loads); the other 1022 hit their region's level-2 entry (1 load)
    assert s["cpu0.walker.walks"] == pages
    assert (s["cpu0.walker.cache_misses"], s["cpu0.walker.cache_hits"]) == (1, pages - 1)
    assert s["cpu0.walker.faults"] == 0
    assert core.tlb.walk_from == "l1d"
    assert s["cpu0.l1d.walk_hits"] + s["cpu0.l1d.walk_misses"] == 4 + 2 + (pages - 2)
    # descriptor lines: 1 (level 0) + 1 (level 1) + 1 (level 2, both regions' descriptors share
    # it) + 128 (level 3: 2 tables of 64 lines); each misses at least once
    assert s["cpu0.l1d.walk_misses"] >= 131
    # latency: a read within a page already translated costs exactly DRAM; the first read of
    # the run walks 4 cold descriptors; the first of every 8th page loads a new level-3
    # descriptor line (cold) after a level-2 walk-cache hit
    tlb, dram = core.tlb, core.dram_latency
    first = np.arange(lines) % (4096 // LINE) == 0
    assert (lat[~first] == dram).all()
    walk = tlb.l2_latency + tlb.walk_cache_latency
    assert lat[0] == walk + 4 * dram + dram
    page_lat = lat[first]
    cold_l3_line = [p for p in range(8, pages, 8) if p != 512]
    assert (page_lat[cold_l3_line] == walk + dram + dram).all()
    assert (page_lat[1:] >= walk + core.l1d.latency + dram).all()
    assert (page_lat[1:] <= walk + 2 * dram + dram).all()
    if cluster == "little":
        # the A55's exclusive L2 and non-inclusive L3 never remove an L1D line, so once the
        # 512-line L1D is full every L1D miss (data or descriptor) evicts exactly one line
        l1d_lines = core.l1d.size // LINE
        assert s["cpu0.l1d.evictions"] == s["cpu0.l1d.misses"] - l1d_lines
        # every L1D victim is filled into the exclusive L2 (2048 lines); an L2 hit moves a line
        # out and leaves a hole, so its evictions are between fills - 2048 - hits and fills - 2048
        l2_lines = core.l2.size // LINE
        fills = s["cpu0.l1d.evictions"]
        assert fills - l2_lines - s["cpu0.l2.hits"] <= s["cpu0.l2.evictions"] <= fills - l2_lines

"""Numba twin of hmk.hw.reference: the same model over flat arrays, one compiled loop per batch.

The state lives in two named tuples of numpy arrays built by hmk.hw.engine: `P` (parameters,
never written here) and `S` (state and counters, updated in place, kept between batches).
Function names and order follow the reference so the two can be read side by side.
LRU keeps a last-use stamp per line (the least recent is the smallest stamp); this evicts the
same line as the reference's ordering. PLRU keeps ways-1 tree bits per set in one int64.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

NINE, INCLUSIVE, EXCLUSIVE = 0, 1, 2
LRU, PLRU = 0, 1
READ, WRITE, FETCH, WALK = 0, 1, 2, 3
ITLB, DTLB, L2TLB, WCACHE = 0, 1, 2, 3  # the four translation structures of a core
(
    ITLB_HIT,
    ITLB_MISS,
    DTLB_HIT,
    DTLB_MISS,
    L2TLB_HIT,
    L2TLB_MISS,
    WALKS,
    WC_HIT,
    WC_MISS,
    WALK_FAULT,
) = range(10)
PAGE_SHIFT = 12
ADDR_MASK = ((1 << 48) - 1) & ~((1 << PAGE_SHIFT) - 1)
NG = 1 << 11

Params = namedtuple(
    "Params",
    [
        # caches, indexed by cache number
        "sets",  # int64: number of sets
        "ways",
        "repl",  # LRU / PLRU
        "incl",  # NINE / INCLUSIVE / EXCLUSIVE
        "base",  # first line slot of the cache in S.tags
        "sbase",  # first set of the cache in S.tree
        "below",  # next level down, -1 = DRAM
        "is_l1",
        "desc_off",  # descendants of cache x: desc[desc_off[x]:desc_off[x+1]]
        "desc",
        "lat",  # [core, cache] hit latency
        "dram_lat",  # [core]
        "l1i",  # [core]
        "l1d",
        "walk_entry",
        # translation structures, indexed by core*4 + ITLB/DTLB/L2TLB/WCACHE
        "t_sets",
        "t_ways",
        "t_base",
        "has_tlb",  # [core]
        "l2tlb_lat",  # [core]
        "wc_lat",  # [core]
        # scalars as 0-d-like 1-element arrays
        "misc",  # [line_bits, cachegrind_mode]
    ],
)

State = namedtuple(
    "State",
    [
        "tags",  # int64 line number, -1 = empty
        "dirty",  # uint8
        "stamp",  # int64 last use (LRU)
        "tree",  # int64 PLRU bits per set
        "clock",  # int64 per cache
        "cnt",  # int64 [cache, hit/miss, kind]
        "cev",  # int64 [cache, evictions/writebacks/back_invalidations]
        "dram",  # int64 [reads, writes]
        "t_key",  # int64: vpn (TLB) or VA prefix (walk cache); -1 = empty
        "t_asid",
        "t_flag",  # global (TLB) or level (walk cache)
        "t_val",  # pfn (TLB) or next table address (walk cache)
        "t_stamp",
        "t_clock",  # per structure
        "tcnt",  # int64 [core, counter]
        "ram",  # uint64 view of simulated RAM (page tables)
        "roots",  # int64 per ASID, -1 = none
    ],
)


# ---------------------------------------------------------------- one cache


@njit(cache=True, inline="always")
def _find(P, S, x, s, line):
    b = P.base[x] + s * P.ways[x]
    for w in range(P.ways[x]):
        if S.tags[b + w] == line:
            return w
    return -1


@njit(cache=True, inline="always")
def _touch(P, S, x, s, w):
    S.clock[x] += 1
    S.stamp[P.base[x] + s * P.ways[x] + w] = S.clock[x]
    if P.repl[x] == PLRU:
        t = S.tree[P.sbase[x] + s]
        node = 0
        span = P.ways[x]
        while span > 1:
            span //= 2
            right = (w // span) % 2
            if right:
                t &= ~(1 << node)
            else:
                t |= 1 << node
            node = 2 * node + 1 + right
        S.tree[P.sbase[x] + s] = t


@njit(cache=True)
def cache_lookup(P, S, x, line):
    s = line & (P.sets[x] - 1)
    w = _find(P, S, x, s, line)
    if w < 0:
        return False
    _touch(P, S, x, s, w)
    return True


@njit(cache=True)
def _victim_way(P, S, x, s):
    b = P.base[x] + s * P.ways[x]
    ways = P.ways[x]
    for w in range(ways):
        if S.tags[b + w] < 0:
            return w
    if P.repl[x] == LRU:
        best = 0
        for w in range(1, ways):
            if S.stamp[b + w] < S.stamp[b + best]:
                best = w
        return best
    t = S.tree[P.sbase[x] + s]
    node = 0
    way = 0
    span = ways
    while span > 1:
        span //= 2
        right = (t >> node) & 1
        way += right * span
        node = 2 * node + 1 + right
    return way


@njit(cache=True)
def cache_insert(P, S, x, line, dirty):
    """Returns (victim line or -1, victim dirty)."""
    s = line & (P.sets[x] - 1)
    w = _find(P, S, x, s, line)
    b = P.base[x] + s * P.ways[x]
    if w >= 0:
        if dirty:
            S.dirty[b + w] = 1
        _touch(P, S, x, s, w)
        return -1, False
    w = _victim_way(P, S, x, s)
    victim = S.tags[b + w]
    victim_dirty = S.dirty[b + w] != 0
    S.tags[b + w] = line
    S.dirty[b + w] = 1 if dirty else 0
    _touch(P, S, x, s, w)
    return victim, victim_dirty


@njit(cache=True)
def cache_remove(P, S, x, line):
    """-1 if absent, else the removed line's dirty bit (0/1)."""
    s = line & (P.sets[x] - 1)
    w = _find(P, S, x, s, line)
    if w < 0:
        return -1
    b = P.base[x] + s * P.ways[x]
    S.tags[b + w] = -1
    d = S.dirty[b + w]
    S.dirty[b + w] = 0
    return np.int64(d)


@njit(cache=True)
def cache_mark_dirty(P, S, x, line):
    s = line & (P.sets[x] - 1)
    w = _find(P, S, x, s, line)
    if w < 0:
        return False
    S.dirty[P.base[x] + s * P.ways[x] + w] = 1
    return True


# ---------------------------------------------------------------- the hierarchy


@njit(cache=True)
def fill(P, S, x, line, dirty):
    """Insert into cache x; evict and cascade victims into exclusive levels below."""
    while True:
        victim, vdirty = cache_insert(P, S, x, line, dirty)
        if victim < 0:
            return
        S.cev[x, 0] += 1
        if not P.is_l1[x] and P.incl[x] == INCLUSIVE:
            for k in range(P.desc_off[x], P.desc_off[x + 1]):
                r = cache_remove(P, S, P.desc[k], victim)
                if r >= 0:
                    S.cev[x, 2] += 1
                    if r:
                        vdirty = True
        if vdirty:
            S.cev[x, 1] += 1
        b = P.below[x]
        if b >= 0 and P.incl[b] == EXCLUSIVE:
            x, line, dirty = b, victim, vdirty
            continue
        if vdirty:
            write_back(P, S, b, victim)
        return


@njit(cache=True)
def write_back(P, S, x, line):
    while x >= 0:
        if cache_mark_dirty(P, S, x, line):
            return
        x = P.below[x]
    S.dram[1] += 1


@njit(cache=True)
def access_line(P, S, core, entry, line, kind):
    """One line, 'hardware' mode; returns its latency."""
    chain = np.empty(4, np.int64)
    n = 0
    x = entry
    while x >= 0:
        chain[n] = x
        n += 1
        x = P.below[x]
    hit_at = n
    for i in range(n):
        x = chain[i]
        if cache_lookup(P, S, x, line):
            S.cnt[x, 0, kind] += 1
            hit_at = i
            break
        S.cnt[x, 1, kind] += 1
    if hit_at == n:
        S.dram[0] += 1
        latency = P.dram_lat[core]
    else:
        latency = P.lat[core, chain[hit_at]]
    carried = False
    if 0 < hit_at < n and P.incl[chain[hit_at]] == EXCLUSIVE:
        carried = cache_remove(P, S, chain[hit_at], line) == 1
    for i in range(hit_at - 1, -1, -1):
        x = chain[i]
        if i > 0 and P.incl[x] == EXCLUSIVE:
            continue
        fill(P, S, x, line, carried)
        carried = False
    if kind == WRITE:
        cache_mark_dirty(P, S, entry, line)
    return latency


@njit(cache=True)
def access_levelwise(P, S, core, entry, first, last, kind):
    """cachegrind's rule (see the reference)."""
    x = entry
    while x >= 0:
        missed = False
        for j in range(2):
            line = first if j == 0 else last
            if j == 1 and last == first:
                break
            if not cache_lookup(P, S, x, line):
                missed = True
                fill(P, S, x, line, False)
        if kind == WRITE and x == entry:
            cache_mark_dirty(P, S, x, first)
            if last != first:
                cache_mark_dirty(P, S, x, last)
        if not missed:
            S.cnt[x, 0, kind] += 1
            return P.lat[core, x]
        S.cnt[x, 1, kind] += 1
        x = P.below[x]
    S.dram[0] += 1
    return P.dram_lat[core]


# ---------------------------------------------------------------- translation


@njit(cache=True)
def tlb_lookup(P, S, t, vpn, asid):
    """Index of the matching entry (its use refreshed), or -1."""
    ways = P.t_ways[t]
    b = P.t_base[t] + (vpn & (P.t_sets[t] - 1)) * ways
    for k in range(b, b + ways):
        if S.t_key[k] == vpn and (S.t_flag[k] != 0 or S.t_asid[k] == asid):
            S.t_clock[t] += 1
            S.t_stamp[k] = S.t_clock[t]
            return k
    return -1


@njit(cache=True)
def _t_slot(P, S, t, key):
    ways = P.t_ways[t]
    b = P.t_base[t] + (key & (P.t_sets[t] - 1)) * ways
    best = b
    for k in range(b, b + ways):
        if S.t_key[k] < 0:
            return k
        if S.t_stamp[k] < S.t_stamp[best]:
            best = k
    return best


@njit(cache=True)
def tlb_insert(P, S, t, key, asid, flag, val):
    if t % 4 != WCACHE:  # drop conflicting translations (see the reference)
        ways = P.t_ways[t]
        b = P.t_base[t] + (key & (P.t_sets[t] - 1)) * ways
        for k in range(b, b + ways):
            if S.t_key[k] == key and (flag != 0 or S.t_flag[k] != 0 or S.t_asid[k] == asid):
                S.t_key[k] = -1
    k = _t_slot(P, S, t, key)
    S.t_clock[t] += 1
    S.t_key[k] = key
    S.t_asid[k] = asid
    S.t_flag[k] = flag
    S.t_val[k] = val
    S.t_stamp[k] = S.t_clock[t]


@njit(cache=True)
def wc_lookup(P, S, t, level, prefix, asid):
    ways = P.t_ways[t]
    b = P.t_base[t] + (prefix & (P.t_sets[t] - 1)) * ways
    for k in range(b, b + ways):
        if S.t_key[k] == prefix and S.t_flag[k] == level and S.t_asid[k] == asid:
            S.t_clock[t] += 1
            S.t_stamp[k] = S.t_clock[t]
            return S.t_val[k]
    return -1


@njit(cache=True)
def walk(P, S, core, vpn, asid):
    """Returns (pfn or -1, global, cycles)."""
    va = vpn << PAGE_SHIFT
    S.tcnt[core, WALKS] += 1
    latency = P.wc_lat[core]
    wc = core * 4 + WCACHE
    level = 0
    table = S.roots[asid]
    for cached in (2, 1, 0):
        found = wc_lookup(P, S, wc, cached, va >> (12 + 9 * (3 - cached)), asid)
        if found >= 0:
            level = cached + 1
            table = found
            break
    if level > 0:
        S.tcnt[core, WC_HIT] += 1
    else:
        S.tcnt[core, WC_MISS] += 1
    line_bits = P.misc[0]
    entry = P.walk_entry[core]
    while True:
        if table < 0:
            S.tcnt[core, WALK_FAULT] += 1
            return -1, False, latency
        desc_pa = table + 8 * ((va >> (12 + 9 * (3 - level))) & 511)
        if desc_pa + 8 > S.ram.shape[0] * 8:
            S.tcnt[core, WALK_FAULT] += 1
            return -1, False, latency
        latency += access_line(P, S, core, entry, desc_pa >> line_bits, WALK)
        desc = np.int64(S.ram[desc_pa >> 3] & np.uint64(0x7FFFFFFFFFFFFFFF))
        if desc & 3 != 3:
            S.tcnt[core, WALK_FAULT] += 1
            return -1, False, latency
        nxt = desc & ADDR_MASK
        if level == 3:
            return nxt >> PAGE_SHIFT, (desc & NG) == 0, latency
        tlb_insert(P, S, wc, va >> (12 + 9 * (3 - level)), asid, level, nxt)
        level += 1
        table = nxt


@njit(cache=True)
def translate(P, S, core, vpn, asid, fetch):
    """Returns (pfn, cycles); an untranslatable page is timed as identity-mapped."""
    l1 = core * 4 + (ITLB if fetch else DTLB)
    k = tlb_lookup(P, S, l1, vpn, asid)
    if k >= 0:
        S.tcnt[core, ITLB_HIT if fetch else DTLB_HIT] += 1
        return S.t_val[k], 0
    S.tcnt[core, ITLB_MISS if fetch else DTLB_MISS] += 1
    latency = P.l2tlb_lat[core]
    l2 = core * 4 + L2TLB
    k = tlb_lookup(P, S, l2, vpn, asid)
    if k >= 0:
        S.tcnt[core, L2TLB_HIT] += 1
        pfn = S.t_val[k]
        glob = S.t_flag[k]
    else:
        S.tcnt[core, L2TLB_MISS] += 1
        pfn, g, cost = walk(P, S, core, vpn, asid)
        latency += cost
        if pfn < 0:
            return vpn, latency
        glob = 1 if g else 0
        tlb_insert(P, S, l2, vpn, asid, glob, pfn)
    tlb_insert(P, S, l1, vpn, asid, glob, pfn)
    return pfn, latency


@njit(cache=True)
def tlb_invalidate(P, S, va, asid):
    """va < 0: no VA given; asid < 0: no ASID given. TLBI semantics as in the reference."""
    n = P.t_sets.shape[0]
    vpn = va >> PAGE_SHIFT
    for t in range(n):
        is_wc = t % 4 == WCACHE
        b = P.t_base[t]
        for k in range(b, b + P.t_sets[t] * P.t_ways[t]):
            key = S.t_key[k]
            if key < 0:
                continue
            if is_wc:
                hit = (asid < 0 or S.t_asid[k] == asid) and (
                    va < 0 or key == va >> (12 + 9 * (3 - S.t_flag[k]))
                )
            elif va >= 0 and key != vpn:
                hit = False
            elif asid < 0:
                hit = True
            elif va < 0:
                hit = S.t_asid[k] == asid and S.t_flag[k] == 0
            else:
                hit = S.t_flag[k] != 0 or S.t_asid[k] == asid
            if hit:
                S.t_key[k] = -1


# ---------------------------------------------------------------- the batch


@njit(cache=True)
def run_batch(P, S, addr, kind, size, asid, core, out):
    line_bits = P.misc[0]
    levelwise = P.misc[1] != 0
    offset_bits = PAGE_SHIFT - line_bits
    mask = (1 << offset_bits) - 1
    for i in range(addr.shape[0]):
        a = np.int64(addr[i])
        k = np.int64(kind[i])
        c = np.int64(core[i])
        end = a + np.int64(size[i]) - 1
        entry = P.l1i[c] if k == FETCH else P.l1d[c]
        first = a >> line_bits
        last = end >> line_bits
        latency = 0
        if P.has_tlb[c]:
            asd = np.int64(asid[i])
            fp = a >> PAGE_SHIFT
            lp = end >> PAGE_SHIFT
            pf, cost = translate(P, S, c, fp, asd, k == FETCH)
            latency += cost
            pl = pf
            if lp != fp:
                pl, cost = translate(P, S, c, lp, asd, k == FETCH)
                latency += cost
            first = (pf << offset_bits) | (first & mask)
            last = (pl << offset_bits) | (last & mask)
        if levelwise:
            latency += access_levelwise(P, S, c, entry, first, last, k)
        else:
            lat = access_line(P, S, c, entry, first, k)
            if last != first:
                lat2 = access_line(P, S, c, entry, last, k)
                if lat2 > lat:
                    lat = lat2
            latency += lat
        out[i] = latency

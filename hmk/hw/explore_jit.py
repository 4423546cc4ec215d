"""The compiled passes of hmk.hw.explore (Numba; docs/architecture.md says why Numba here).

Each is one flat loop over arrays: a trace's line accesses (int64 line numbers, and whether
each is a write), turned into a histogram of LRU stack distances or into the counters of many
cache configurations, simulated side by side on the host's cores. Compiled on first use and
kept on disk (cache=True), so only a checkout's first call pays for the compilation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

NINE, INCLUSIVE, EXCLUSIVE = 0, 1, 2  # hmk.hw.layout's inclusion codes
# the columns of simulate's counters (hmk.hw.explore.COUNTERS names them)
L1_HITS, L1_MISSES, L1_EVICTIONS, L1_WRITEBACKS = 0, 1, 2, 3
L2_HITS, L2_MISSES, L2_EVICTIONS, L2_WRITEBACKS, L2_BACK_INVALIDATIONS = 4, 5, 6, 7, 8
DRAM_READS, DRAM_WRITES = 9, 10
NCOUNTERS = 11
# a configuration's row: level 1 (sets, ways, plru), level 2 (sets, ways, plru; sets 0 when
# there is none) and the level 2's inclusion
CONFIG_FIELDS = ("sets1", "ways1", "plru1", "sets2", "ways2", "plru2", "inclusion2")


# ---- a trace's events to line accesses -------------------------------------------------------


@njit(cache=True, inline="always")
def _decode(words, i, line_bits, kinds, asid_shift):
    """Event i of `words` (an EVENT_DTYPE array seen as int64 pairs, no copy: the address,
    then the little-endian asid (bits 0-15), kind (16-23), size (24-31)) as line accesses:
    (n, first, last, write) with n the lines it is (1, or 2 when it straddles two: first then
    last, as the hierarchy's hardware mode counts it), 0 when its kind is not in the bit mask
    `kinds` (1 << READ | ...), -1 when the hierarchy would refuse it. `asid_shift` > 0 tags
    each line with its ASID above that bit."""
    addr, w = words[i, 0], words[i, 1]
    kind, size = (w >> 16) & 0xFF, (w >> 24) & 0xFF
    if addr >> 48 != 0 or kind > 2 or size == 0 or size > 1 << line_bits:
        return -1, 0, 0, 0
    if not (kinds >> kind) & 1:
        return 0, 0, 0, 0
    tag = (w & 0xFFFF) << asid_shift if asid_shift > 0 else 0
    first = addr >> line_bits
    last = (addr + size - 1) >> line_bits
    return (1 if last == first else 2), first | tag, last | tag, kind == 1


@njit(cache=True)
def count_lines(words, line_bits, kinds, asid_shift, counts):
    """Add the events' line accesses to `counts`, by set (line % len(counts), a power of
    two). Returns the index of the first event the hierarchy would refuse
    (hmk.hw.events.check_events names its problem), -1 when there is none."""
    mask = len(counts) - 1
    for i in range(words.shape[0]):
        n, first, last, _ = _decode(words, i, line_bits, kinds, asid_shift)
        if n < 0:
            return i
        if n > 0:
            counts[first & mask] += 1
        if n > 1:
            counts[last & mask] += 1
    return -1


@njit(cache=True)
def put_lines(words, line_bits, kinds, asid_shift, at, lines, writes):
    """The events' line accesses into `lines` (and whether each is a write into `writes`,
    unless it is empty), grouped by set (line % len(at)): the next of set s at at[s], which
    moves on. The events are count_lines's, so they are all good and the room is there.
    Sizing the arrays with count_lines first, rather than for every event straddling, spares
    the host the page faults of memory never used (on a 10 M-event trace, most of the time)."""
    mask = len(at) - 1
    flags = len(writes) > 0
    for i in range(words.shape[0]):
        n, first, last, write = _decode(words, i, line_bits, kinds, asid_shift)
        for k in range(n):
            line = first if k == 0 else last
            j = at[line & mask]
            lines[j] = line
            if flags:
                writes[j] = write
            at[line & mask] = j + 1


@njit(cache=True, parallel=True)
def count_parts(words, line_bits, kinds, asid_shift, counts):
    """count_lines over len(counts) consecutive parts of the events in parallel, part p's
    counts into counts[p]; returns the index of the first bad event or -1."""
    parts, n = counts.shape[0], words.shape[0]
    bad = np.full(parts, -1, np.int64)
    for p in prange(parts):
        lo = n * p // parts
        i = count_lines(words[lo : n * (p + 1) // parts], line_bits, kinds, asid_shift, counts[p])
        if i >= 0:
            bad[p] = lo + i
    for p in range(parts):
        if bad[p] >= 0:
            return bad[p]
    return -1


@njit(cache=True, parallel=True)
def put_parts(words, line_bits, kinds, asid_shift, at, lines, writes):
    """put_lines over len(at) consecutive parts of the events in parallel, part p's next
    places at at[p] (count_parts's parts, their places apart)."""
    parts, n = at.shape[0], words.shape[0]
    for p in prange(parts):
        part = words[n * p // parts : n * (p + 1) // parts]
        put_lines(part, line_bits, kinds, asid_shift, at[p], lines, writes)


# ---- LRU stack distances (Mattson, Gecsei, Slutz and Traiger, 1970) --------------------------


@njit(cache=True)
def by_set(lines, sets):
    """The accesses grouped by set (set 0's first), each set's in trace order: a stable
    counting sort on line % sets."""
    mask = sets - 1
    start = np.zeros(sets + 1, np.int64)
    for i in range(len(lines)):
        start[(lines[i] & mask) + 1] += 1
    for s in range(sets):
        start[s + 1] += start[s]
    out = np.empty_like(lines)
    for i in range(len(lines)):
        s = lines[i] & mask
        out[start[s]] = lines[i]
        start[s] += 1
    return out


@njit(cache=True, inline="always")
def _slot(table, mask, line):
    """The hash table's slot of `line`: where it is, or the empty one where it goes."""
    h = line * -7046029254386353131  # 0x9E3779B97F4A7C15 (Fibonacci hashing), wrapping
    i = (h ^ (h >> 31)) & mask
    while table[2 * i] != -1 and table[2 * i] != line:
        i = (i + 1) & mask
    return i


@njit(cache=True, nogil=True)
def stack_histogram(seq):
    """LRU stack distances of line accesses grouped by set (by_set, put_lines: each set's
    accesses together, in trace order; one set: fully associative). Returns (histogram, cold):
    histogram[d] counts the accesses that found their line with d other lines of its set used
    since its last use (a hit in an LRU cache of more than d ways, a miss in one of d or
    fewer); cold counts first uses.

    One pass, O(log) an access: a Fenwick tree over access times marks each line's last use, so
    the lines used since a line's last use are the marks after it. Counting them and moving the
    mark both walk the tree only up to where the two times' paths meet: O(log) of the time
    since the last use, a few steps for the short reuses that dominate real programs. The
    times are renumbered (the marks packed to the front) whenever the tree fills, so it stays
    a few times the number of distinct lines. As the accesses are grouped by set, the marks
    between two uses of a line are those of its own set; and the sets (or runs of them) can be
    passed apart, on as many threads (nogil)."""
    table = np.full(2 << 12, -1, np.int64)  # line -> its last use's time; at most half full
    tree = np.zeros((1 << 12) + 1, np.int32)  # marks at times 1..len - 1
    owner = np.full(len(tree), -1, np.int64)  # time -> the table slot whose last use it is
    hist = np.zeros(1 << 12, np.int64)  # longer than the distinct lines so far
    state = np.zeros(4, np.int64)  # cold, live (distinct lines: the marks), now, top distance
    t = 0
    while True:
        t = _distances(seq, t, table, tree, owner, hist, state)
        if t == len(seq):
            break
        live, now = state[1], state[2]
        if 2 * (live + 1) > len(table) // 2:  # the table doubles (and the slots move)
            table = _rehashed(table, owner)
        if live + 1 >= len(hist):
            grown = np.zeros(2 * len(hist), np.int64)
            grown[: len(hist)] = hist
            hist = grown
        if now == len(tree) - 1:  # the tree is full: the marks renumbered 1..live
            if 4 * live > len(tree) - 1:
                tree = np.zeros(2 * (len(tree) - 1) + 1, np.int32)
                grown = np.full(len(tree), -1, np.int64)
                grown[: len(owner)] = owner
                owner = grown
            _pack(table, tree, owner, state)
    return hist[: state[3] + 1].copy(), state[0]


@njit(cache=True)
def _distances(seq, t, table, tree, owner, hist, state):
    """stack_histogram's pass from access t, until the end or until a structure must grow
    (then returns where it stopped)."""
    cold, live, now, top = state[0], state[1], state[2], state[3]
    mask = len(table) // 2 - 1
    size = len(tree) - 1
    while t < len(seq):
        if now == size or 2 * (live + 1) > mask + 1 or live + 1 >= len(hist):
            break
        line = seq[t]
        i = _slot(table, mask, line)
        now += 1
        if table[2 * i] == -1:
            table[2 * i] = line
            cold += 1
            live += 1
        else:
            last = table[2 * i + 1]
            a, b, d = now - 1, last, 0  # marks in (last, now): both prefix sums walked down
            while a != b:
                if a > b:
                    d += tree[a]
                    a -= a & -a
                else:
                    d -= tree[b]
                    b -= b & -b
            hist[d] += 1
            top = max(top, d)
            # the mark moves from `last` to `now`: up both paths to the first node covering
            # both (above it, -1 + 1 changes nothing; `size` is a power of two, so one exists)
            a, b = last, now
            while a != b:
                if a < b:
                    tree[a] -= 1
                    a += a & -a
                else:
                    tree[b] += 1
                    b += b & -b
            table[2 * i + 1] = now
            owner[now] = i
            t += 1
            continue
        q = now
        while q <= size:
            tree[q] += 1
            q += q & -q
        table[2 * i + 1] = now
        owner[now] = i
        t += 1
    state[0], state[1], state[2], state[3] = cold, live, now, top
    return t


@njit(cache=True)
def _rehashed(table, owner):
    out = np.full(2 * len(table), -1, np.int64)
    mask = len(out) // 2 - 1
    for i in range(len(table) // 2):
        if table[2 * i] != -1:
            j = _slot(out, mask, table[2 * i])
            out[2 * j] = table[2 * i]
            out[2 * j + 1] = table[2 * i + 1]
            owner[table[2 * i + 1]] = j
    return out


@njit(cache=True)
def _pack(table, tree, owner, state):
    """Renumber the marks 1..live in order; the tree then marks exactly those times."""
    live, now = state[1], state[2]
    packed = 0
    for q in range(1, now + 1):
        slot = owner[q]
        owner[q] = -1
        if slot >= 0 and table[2 * slot + 1] == q:
            packed += 1
            table[2 * slot + 1] = packed
            owner[packed] = slot
    for q in range(1, len(tree)):  # node q sums the marks in (q - lowbit(q), q]
        low = q - (q & -q)
        tree[q] = min(q, live) - low if low < live else 0
    state[2] = live


# ---- many configurations at once --------------------------------------------------------------
# A set of `ways` slots from tags[b]; a slot holds line << 1 | dirty, -1 when empty. LRU sets
# are kept most recently used first with the empty slots at the tail; a tree-PLRU set is
# positional, with ways - 1 bits of tree in tree[s]. The rules are hmk.hw.reference's (and so
# the engine's, which keeps the same representation).


@njit(cache=True, inline="always")
def _find(tags, b, ways, plru, line):
    """The way holding `line`, or -1."""
    w = 0
    if plru:  # (an empty slot, -1 >> 1, matches no line)
        while w < ways and tags[b + w] >> 1 != line:
            w += 1
        return w if w < ways else -1
    while w < ways and tags[b + w] >= 0 and tags[b + w] >> 1 != line:
        w += 1
    return w if w < ways and tags[b + w] >= 0 else -1


@njit(cache=True, inline="always")
def _plru_touch(tree, s, ways, w):
    """Point every node on way w's path away from it."""
    t = tree[s]
    node = 0
    span = ways >> 1
    while span > 0:
        if w & span:
            t &= ~(1 << node)
            node = 2 * node + 2
        else:
            t |= 1 << node
            node = 2 * node + 1
        span >>= 1
    tree[s] = t


@njit(cache=True, inline="always")
def _touch(tags, tree, b, s, ways, plru, w):
    if plru:
        _plru_touch(tree, s, ways, w)
        return
    e = tags[b + w]
    while w > 0:
        tags[b + w] = tags[b + w - 1]
        w -= 1
    tags[b] = e


@njit(cache=True, inline="always")
def _insert(tags, tree, b, s, ways, plru, line, dirty, absent):
    """Put `line` in as the most recently used (`absent`: known not to be here); returns the
    victim (line << 1 | dirty) or -1."""
    w = -1 if absent else _find(tags, b, ways, plru, line)
    if w >= 0:
        if dirty:
            tags[b + w] |= 1
        _touch(tags, tree, b, s, ways, plru, w)
        return -1
    if not plru:
        w = ways - 1
        old = tags[b + w]
        while w > 0:
            tags[b + w] = tags[b + w - 1]
            w -= 1
        tags[b] = line << 1 | dirty
        return old
    w = 0
    while w < ways and tags[b + w] >= 0:  # the first empty way, else the tree's
        w += 1
    if w == ways:
        t = tree[s]
        node = 0
        w = 0
        span = ways
        while span > 1:
            span >>= 1
            right = (t >> node) & 1
            w += right * span
            node = 2 * node + 1 + right
    old = tags[b + w]
    tags[b + w] = line << 1 | dirty
    _touch(tags, tree, b, s, ways, plru, w)
    return old


@njit(cache=True, inline="always")
def _remove(tags, b, ways, plru, line):
    """Invalidate `line`: -1 if absent, else its dirty bit."""
    w = _find(tags, b, ways, plru, line)
    if w < 0:
        return -1
    e = tags[b + w]
    if plru:
        tags[b + w] = -1
    else:
        while w < ways - 1:
            tags[b + w] = tags[b + w + 1]
            w += 1
        tags[b + w] = -1
    return e & 1


@njit(cache=True)
def simulate_one(lines, writes, config, out):
    """One configuration (a row of CONFIG_FIELDS) over the line accesses; its counters go to
    `out`. The hierarchy's hardware mode with one entry level: a miss looks down, the levels
    missed are filled bottom-up (an exclusive level 2 only with level 1's victims), a dirty
    victim not taken by an exclusive level below is written back to the first level that holds
    it, else to DRAM."""
    sets1, ways1, plru1 = config[0], config[1], config[2] != 0
    sets2, ways2, plru2, incl2 = config[3], config[4], config[5] != 0, config[6]
    two = sets2 > 0
    tags1 = np.full(sets1 * ways1, -1, np.int64)
    tree1 = np.zeros(sets1, np.int64)
    tags2 = np.full(max(sets2 * ways2, 1), -1, np.int64)
    tree2 = np.zeros(max(sets2, 1), np.int64)
    mask1, mask2 = sets1 - 1, max(sets2, 1) - 1
    h1 = m1 = e1 = wb1 = h2 = m2 = e2 = wb2 = bi2 = reads = dram_writes = 0
    for t in range(len(lines)):
        line = lines[t]
        write = writes[t]
        s1 = line & mask1
        b1 = s1 * ways1
        # a hit in level 1, written out here: through _find and _touch it ran 5x slower
        w = 0
        if plru1:  # (an empty slot, -1 >> 1, matches no line)
            while w < ways1 and tags1[b1 + w] >> 1 != line:
                w += 1
            if w < ways1:
                h1 += 1
                _plru_touch(tree1, s1, ways1, w)
                tags1[b1 + w] |= write
                continue
        else:
            while w < ways1 and tags1[b1 + w] >= 0 and tags1[b1 + w] >> 1 != line:
                w += 1
            if w < ways1 and tags1[b1 + w] >= 0:
                h1 += 1
                e = tags1[b1 + w] | write
                while w > 0:
                    tags1[b1 + w] = tags1[b1 + w - 1]
                    w -= 1
                tags1[b1] = e
                continue
        m1 += 1
        carried = 0
        s2 = line & mask2
        b2 = s2 * ways2
        if two:
            w = _find(tags2, b2, ways2, plru2, line)
            if w >= 0:
                h2 += 1
                _touch(tags2, tree2, b2, s2, ways2, plru2, w)
                if incl2 == EXCLUSIVE:  # the line moves up
                    carried = _remove(tags2, b2, ways2, plru2, line)
            else:
                m2 += 1
                reads += 1
                if incl2 != EXCLUSIVE:
                    v = _insert(tags2, tree2, b2, s2, ways2, plru2, line, 0, True)
                    if v >= 0:
                        e2 += 1
                        victim, dirty = v >> 1, v & 1
                        if incl2 == INCLUSIVE:
                            r = _remove(tags1, (victim & mask1) * ways1, ways1, plru1, victim)
                            if r >= 0:
                                bi2 += 1
                                dirty |= r
                        if dirty:
                            wb2 += 1
                            dram_writes += 1
        else:
            reads += 1
        v = _insert(tags1, tree1, b1, s1, ways1, plru1, line, carried | write, True)
        if v < 0:
            continue
        e1 += 1
        victim, dirty = v >> 1, v & 1
        if dirty:
            wb1 += 1
        if two and incl2 == EXCLUSIVE:  # level 1's victim goes down
            s2 = victim & mask2
            v = _insert(tags2, tree2, s2 * ways2, s2, ways2, plru2, victim, dirty, False)
            if v >= 0:
                e2 += 1
                if v & 1:
                    wb2 += 1
                    dram_writes += 1
        elif dirty:
            w = -1
            if two:
                b2 = (victim & mask2) * ways2
                w = _find(tags2, b2, ways2, plru2, victim)
            if w >= 0:
                tags2[b2 + w] |= 1  # a write-back is not a use
            else:
                dram_writes += 1
    out[L1_HITS], out[L1_MISSES], out[L1_EVICTIONS], out[L1_WRITEBACKS] = h1, m1, e1, wb1
    out[L2_HITS], out[L2_MISSES], out[L2_EVICTIONS], out[L2_WRITEBACKS] = h2, m2, e2, wb2
    out[L2_BACK_INVALIDATIONS], out[DRAM_READS], out[DRAM_WRITES] = bi2, reads, dram_writes


@njit(cache=True, parallel=True)
def simulate(lines, writes, configs):
    """Every configuration (a row of `configs`) over the same line accesses, in parallel on
    the host's cores; returns their counters, a row each."""
    out = np.zeros((configs.shape[0], NCOUNTERS), np.int64)
    for k in prange(configs.shape[0]):
        simulate_one(lines, writes, configs[k], out[k])
    return out


# ---- every associativity of an LRU cache at once ----------------------------------------------


@njit(cache=True)
def lru_all_ways(lines, writes, sets, ways, out):
    """Single-level LRU caches of `sets` sets and 1..`ways` ways over the line accesses, in one
    pass: a set of `ways` slots, most recently used first, is the first W slots of every
    smaller cache's set (LRU's inclusion property), so an access found at position p hits in
    the caches of more than p ways. A line only moves down between two of its uses: found at
    p, it left each cache of at most p ways once in between (a write-back there if it was
    dirty there); a line that falls off the last slot left them all. It is dirty in the caches
    of more than m ways, m being the largest position it was found at since it was last
    written (-1 just after a write, `ways` when never written since it entered): so its
    write-backs are those caches in (m, p], counted with a difference array. A W-way cache's
    evictions are its misses less its fills of an empty slot: min(lines the set ever had, W).
    `out[W]` = hits, misses, evictions, write-backs of the W-way cache (row 0 unused)."""
    tags = np.full(sets * ways, -1, np.int64)
    deepest = np.zeros(sets * ways, np.int8)  # m of each slot's line (ways <= 64)
    found = np.zeros(ways + 1, np.int64)  # accesses found at each position (ways: not found)
    written = np.zeros(ways + 2, np.int64)  # write-backs by ways, as differences
    mask = sets - 1
    for t in range(len(lines)):
        line = lines[t]
        b = (line & mask) * ways
        p = 0
        while p < ways and tags[b + p] >= 0 and tags[b + p] != line:
            p += 1
        if p < ways and tags[b + p] >= 0:
            found[p] += 1
            m = np.int64(deepest[b + p])
            if m < p:
                written[m + 1] += 1
                written[p + 1] -= 1
            m = max(m, p)
        else:
            found[ways] += 1
            m = ways
            if p == ways:  # the last line falls off: it leaves every cache
                p = ways - 1
                gone = deepest[b + p]
                if gone < ways:
                    written[gone + 1] += 1
                    written[ways + 1] -= 1
        while p > 0:
            tags[b + p] = tags[b + p - 1]
            deepest[b + p] = deepest[b + p - 1]
            p -= 1
        tags[b] = line
        deepest[b] = -1 if writes[t] else m
    lines_in = np.zeros(ways + 1, np.int64)  # sets holding at least W lines, by W
    for s in range(sets):
        for q in range(ways):  # what is still in a set left the caches of at most q ways
            if tags[s * ways + q] < 0:
                break
            lines_in[q + 1] += 1
            m = deepest[s * ways + q]
            if m < q:
                written[m + 1] += 1
                written[q + 1] -= 1
    hits = fills = 0
    wb = written[0]
    for w in range(1, ways + 1):
        hits += found[w - 1]
        wb += written[w]
        fills += lines_in[w]  # sum over sets of min(lines it had, w)
        out[w, 0] = hits
        out[w, 1] = len(lines) - hits
        out[w, 2] = len(lines) - hits - fills
        out[w, 3] = wb


@njit(cache=True, parallel=True)
def lru_groups(lines, writes, sets, ways):
    """lru_all_ways for each (sets[g], ways[g]), in parallel; out[g, W] as there."""
    out = np.zeros((len(sets), ways.max() + 1, 4), np.int64)
    for g in prange(len(sets)):
        lru_all_ways(lines, writes, sets[g], ways[g], out[g])
    return out

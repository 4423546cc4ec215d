"""The memory-hierarchy model in plain Python: the specification the batch engine must match.

Read this file to learn what the model does; `hmk.hw.engine` does the same thing fast.

Caches are physically indexed and tagged (bit-select set index), write-back and write-allocate.
A miss looks down the levels until one hits (or DRAM), then fills the levels above it from the
bottom up, each according to its inclusion policy:
  * nine       filled on the way up; its evictions leave the levels above alone.
  * inclusive  filled on the way up; evicting a line back-invalidates every copy above it, and a
               dirty copy found there makes the evicted line dirty.
  * exclusive  not filled on the way up; a hit moves the line (and its dirty state) up and out;
               it is filled with the victims of the level directly above, clean or dirty.
A dirty victim that does not go into an exclusive level below is written back: the first level
below that holds the line becomes dirty (without a replacement update), else DRAM is written.
The level an access enters (its L1, or the walker's entry level) is always filled.

With coherence (two cores or more, HierarchyConfig.coherence), a core's copy of a line is any of
its private caches holding it; a copy is dirty (Modified, or MOESI's Owned) when a dirty bit says
so. An access that misses every private level of its core first looks for a dirty copy in
another core: if there is one, the line comes from there (a transfer, at the transfer latency)
instead of from the shared level or DRAM; for a read, under MESI that core writes the line back
and keeps a clean copy, under MOESI it keeps it dirty. A write then removes every other core's
copy, and if there was any it costs at least the upgrade latency. A write that removed copies or
came by transfer is one the other cores see only after its latency: `coherent_writes()` lists
the last batch's (docs/timing-model.md, "Store visibility across cores").
"""

from __future__ import annotations

import numpy as np

from hmk.hw.config import HierarchyConfig
from hmk.hw.events import FETCH, WRITE, check_events, check_memory, kind_code, make_events
from hmk.hw.layout import (
    COHERENCE_COUNTERS,
    DOWNGRADES,
    DTLB_HIT,
    DTLB_MISS,
    EXCLUSIVE,
    INCLUSION_CODE,
    INCLUSIVE,
    ITLB_HIT,
    ITLB_MISS,
    L2TLB_HIT,
    L2TLB_MISS,
    MESI,
    NO_COHERENCE,
    TLB_COUNTERS,
    TRANSFERS_IN,
    TRANSFERS_OUT,
    UPGRADES,
    WALK,
    WALK_FAULT,
    WALKS,
    WC_HIT,
    WC_MISS,
    Layout,
    stats_dict,
)
from hmk.hw.pagetable import PAGE_SHIFT, descriptor_fields, level_index, level_shift


class Cache:
    """One set-associative cache. A set is a list of `ways` slots; a slot is None or
    [line, dirty, last_use]. True LRU evicts the least recently used line; tree pseudo-LRU
    follows a binary tree of ways-1 bits per set. An empty slot (lowest index first) is
    always used before anything is evicted."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.ways = cfg.ways
        self.sets = [[None] * cfg.ways for _ in range(cfg.sets)]
        self.tree = [0] * cfg.sets  # PLRU: bit n set = the victim is in node n's right half
        self.plru = cfg.replacement == "plru"
        self.inclusion = INCLUSION_CODE[cfg.inclusion]
        self.clock = 0
        self.hits = [0, 0, 0, 0]  # by kind: read, write, fetch, walk
        self.misses = [0, 0, 0, 0]
        self.evictions = self.writebacks = self.back_invalidations = 0

    def _set(self, line):
        return self.sets[line % len(self.sets)], line % len(self.sets)

    def _touch(self, set_index, way, slot):
        self.clock += 1
        slot[2] = self.clock
        if self.plru:
            node, span = 0, self.ways
            while span > 1:
                span //= 2
                right = (way // span) % 2
                # point the node at the half this way is not in
                if right:
                    self.tree[set_index] &= ~(1 << node)
                else:
                    self.tree[set_index] |= 1 << node
                node = 2 * node + 1 + right

    def _find(self, line):
        ways, s = self._set(line)
        for way, slot in enumerate(ways):
            if slot is not None and slot[0] == line:
                return ways, s, way, slot
        return ways, s, -1, None

    def lookup(self, line) -> bool:
        """Probe; a hit updates the replacement state."""
        _, s, way, slot = self._find(line)
        if slot is None:
            return False
        self._touch(s, way, slot)
        return True

    def insert(self, line, dirty):
        """Put `line` in (it becomes most recently used); return the victim (line, dirty) or None.
        A line already present just merges the dirty bit."""
        ways, s, way, slot = self._find(line)
        if slot is not None:
            slot[1] = slot[1] or dirty
            self._touch(s, way, slot)
            return None
        victim = None
        if None in ways:
            way = ways.index(None)
        else:
            way = self._victim_way(ways, s)
            victim = (ways[way][0], ways[way][1])
        ways[way] = [line, dirty, 0]
        self._touch(s, way, ways[way])
        return victim

    def _victim_way(self, ways, s):
        if not self.plru:
            return min(range(self.ways), key=lambda w: ways[w][2])
        node, way, span = 0, 0, self.ways
        while span > 1:
            span //= 2
            right = (self.tree[s] >> node) & 1
            way += right * span
            node = 2 * node + 1 + right
        return way

    def remove(self, line):
        """Invalidate; return the dirty bit of the removed line, or None if absent."""
        ways, _, way, slot = self._find(line)
        if slot is None:
            return None
        ways[way] = None
        return slot[1]

    def dirty(self, line):
        """None if `line` is absent, else its dirty bit; no replacement update (a snoop)."""
        slot = self._find(line)[3]
        return None if slot is None else slot[1]

    def mark_dirty(self, line) -> bool:
        slot = self._find(line)[3]
        if slot is None:
            return False
        slot[1] = True
        return True

    def clear_dirty(self, line):
        slot = self._find(line)[3]
        if slot is not None:
            slot[1] = False


class TLB:
    """Set-associative, true-LRU TLB of 4 KiB translations; fully associative when sets == 1.
    An entry is [vpn, asid, global, pfn, last_use]; a global entry matches every ASID."""

    def __init__(self, entries, ways):
        self.ways = ways
        self.sets = [[] for _ in range(entries // ways)]
        self.clock = 0

    def _set(self, vpn):
        return self.sets[vpn % len(self.sets)]

    def lookup(self, vpn, asid):
        """The matching entry (its use refreshed), or None."""
        for entry in self._set(vpn):
            if entry[0] == vpn and (entry[2] or entry[1] == asid):
                self.clock += 1
                entry[4] = self.clock
                return entry
        return None

    def insert(self, vpn, asid, global_, pfn):
        """Add a translation. Entries it conflicts with (same page, and either is global or the
        ASIDs are equal: a lookup could match both) are dropped first; real hardware would raise
        a TLB conflict abort for the mismatched page tables that cause this."""
        entries = self._set(vpn)
        entries[:] = [e for e in entries if not (e[0] == vpn and (global_ or e[2] or e[1] == asid))]
        if len(entries) == self.ways:
            entries.remove(min(entries, key=lambda e: e[4]))
        self.clock += 1
        entries.append([vpn, asid, global_, pfn, self.clock])

    def invalidate(self, vpn=None, asid=None):
        """TLBI semantics: all (no vpn, no asid); by ASID (non-global entries of that ASID); by VA
        and ASID (that page for that ASID, and global entries); by VA for every ASID."""
        for entries in self.sets:
            entries[:] = [e for e in entries if not _tlbi_match(e, vpn, asid)]


def _tlbi_match(entry, vpn, asid):
    if vpn is not None and entry[0] != vpn:
        return False
    if asid is None:
        return True
    if vpn is None:
        return entry[1] == asid and not entry[2]
    return entry[2] or entry[1] == asid


class WalkCache:
    """Caches table descriptors of levels 0-2 (the address of the next table), tagged by level,
    the VA bits that select them, and ASID. Set index: the VA prefix. True LRU."""

    def __init__(self, entries, ways):
        self.ways = ways
        self.sets = [[] for _ in range(entries // ways)]
        self.clock = 0

    def lookup(self, level, prefix, asid):
        for entry in self.sets[prefix % len(self.sets)]:
            if entry[:3] == [level, prefix, asid]:
                self.clock += 1
                entry[4] = self.clock
                return entry[3]
        return None

    def insert(self, level, prefix, asid, table):
        entries = self.sets[prefix % len(self.sets)]
        if len(entries) == self.ways:
            entries.remove(min(entries, key=lambda e: e[4]))
        self.clock += 1
        entries.append([level, prefix, asid, table, self.clock])

    def invalidate(self, va=None, asid=None):
        for entries in self.sets:
            entries[:] = [
                e
                for e in entries
                if not (
                    (asid is None or e[2] == asid)
                    and (va is None or e[1] == va >> level_shift(e[0]))
                )
            ]


class MemoryHierarchy:
    """Per-core L1I/L1D (+ L2), shared L3, DRAM; TLBs and a page-table walker per core.

    ram: the simulated physical memory holding page tables (numpy uint8 array), roots: per-ASID
    physical address of the level-0 table (numpy int64, -1 = none). Only needed with TLBs.
    """

    def __init__(self, config: HierarchyConfig, ram=None, roots=None):
        check_memory(ram, roots)
        self.config = config
        self.layout = lay = Layout.of(config)
        self.line_bits = config.line.bit_length() - 1
        self.caches = [Cache(c) for c in lay.caches]
        self.dram = [0, 0]  # reads, writes
        self.coherent = lay.protocol != NO_COHERENCE
        self._marks = np.zeros(0, np.int64)  # the last run's coherent writes
        self._coherence_work = False  # whether the access being timed needed any
        self.invalidations = [0] * len(self.caches)  # copies other cores' writes removed
        self.coherence_counts = [[0] * len(COHERENCE_COUNTERS) for _ in config.cores]
        self.ram = ram
        self.roots = roots
        self.tlb_counts = [[0] * len(TLB_COUNTERS) for _ in config.cores]
        self.tlbs = []
        for core in config.cores:
            t = core.tlb
            if t is None:
                self.tlbs.append(None)
                continue
            self.tlbs.append(
                {
                    "itlb": TLB(t.l1i_entries, t.l1i_entries),
                    "dtlb": TLB(t.l1d_entries, t.l1d_entries),
                    "l2": TLB(t.l2_entries, t.l2_ways),
                    "walk": WalkCache(t.walk_cache_entries, t.walk_cache_ways),
                }
            )

    # ---- public API (shared with hmk.hw.engine.BatchHierarchy) ----

    def run(self, events: np.ndarray, check: bool = True) -> np.ndarray:
        """Time every event; return per-event latencies in cycles."""
        if check:
            check_events(events, self.config.line, len(self.config.cores))
        out = np.zeros(len(events), dtype=np.int32)
        marks = []
        for i, e in enumerate(events):
            self._coherence_work = False
            out[i] = self._access(
                int(e["addr"]), int(e["kind"]), int(e["size"]), int(e["asid"]), int(e["core"])
            )
            if self._coherence_work:
                marks.append(i)
        self._marks = np.array(marks, dtype=np.int64)
        return out

    def coherent_writes(self) -> np.ndarray:
        """The indexes (ascending, int64) of the last run's write events that needed coherence
        work: a transfer from, or the invalidation of, another core's copy. Such a store is
        visible to the other cores only after its latency (docs/timing-model.md)."""
        return self._marks

    def access(self, addr, kind="read", size=8, asid=0, core=0) -> int:
        return int(self.run(make_events([addr], kind_code(kind), size, asid, core))[0])

    def tlbi_all(self):
        self._tlbi(None, None)

    def tlbi_asid(self, asid):
        self._tlbi(None, asid)

    def tlbi_va(self, va, asid=None):
        """Invalidate the translation of `va` for `asid` (and global ones), or for every ASID."""
        self._tlbi(va, asid)

    def stats(self) -> dict:
        return stats_dict(
            self.layout,
            self.config,
            [[c.hits, c.misses] for c in self.caches],
            [(c.evictions, c.writebacks, c.back_invalidations) for c in self.caches],
            self.dram,
            self.tlb_counts,
            (self.invalidations, self.coherence_counts),
        )

    # ---- one access ----

    def _access(self, addr, kind, size, asid, core):
        lay, lb = self.layout, self.line_bits
        entry = lay.l1i[core] if kind == FETCH else lay.l1d[core]
        first, last = addr >> lb, (addr + size - 1) >> lb
        latency = 0
        if self.tlbs[core] is not None:
            # translate each page the access touches; the lines keep their page offsets
            first_page, last_page = addr >> PAGE_SHIFT, (addr + size - 1) >> PAGE_SHIFT
            pa_first, cost = self._translate(core, first_page, asid, kind == FETCH)
            latency += cost
            pa_last = pa_first
            if last_page != first_page:
                pa_last, cost = self._translate(core, last_page, asid, kind == FETCH)
                latency += cost
            offset_bits = PAGE_SHIFT - lb
            mask = (1 << offset_bits) - 1
            first = (pa_first << offset_bits) | (first & mask)
            last = (pa_last << offset_bits) | (last & mask)
        lines = (first,) if first == last else (first, last)
        if self.config.mode == "cachegrind":
            return latency + self._access_levelwise(core, entry, lines, kind)
        return latency + max(self._access_line(core, entry, line, kind) for line in lines)

    def _chain(self, entry):
        chain = [entry]
        while self.layout.below[chain[-1]] >= 0:
            chain.append(self.layout.below[chain[-1]])
        return chain

    def _access_line(self, core, entry, line, kind):
        """One line through the hierarchy, 'hardware' mode. Returns its latency."""
        chain = self._chain(entry)
        private = self.layout.private_len[entry]  # chain[:private] are this core's own levels
        hit_at = self._look_up(chain, 0, private, line, kind)
        owner = -1
        if hit_at == len(chain) and self.coherent:  # another core's dirty copy?
            owner = self._dirty_owner(core, line)
        carried_dirty = False
        if owner >= 0:  # it comes from there; the levels below are not asked
            hit_at = private
            latency = self._transfer(core, owner, line, kind)
            self._coherence_work |= kind == WRITE
        else:
            if hit_at == len(chain):
                hit_at = self._look_up(chain, private, len(chain), line, kind)
            if hit_at == len(chain):
                self.dram[0] += 1
                latency = self.layout.dram_latency[core]
            else:
                latency = self.layout.latency[core][chain[hit_at]]
            if 0 < hit_at < len(chain) and self.caches[chain[hit_at]].inclusion == EXCLUSIVE:
                carried_dirty = self.caches[chain[hit_at]].remove(line)  # the line moves up
        for i in range(hit_at - 1, -1, -1):  # fill bottom-up
            x = chain[i]
            if i > 0 and self.caches[x].inclusion == EXCLUSIVE:
                continue
            self._fill(x, line, carried_dirty)  # the lowest filled level takes the dirty data
            carried_dirty = False
        if kind == WRITE:
            if self.coherent and self._invalidate_others(core, line):
                latency = max(latency, self.layout.upgrade_latency[core])
                self._coherence_work = True
            self.caches[entry].mark_dirty(line)
        return latency

    def _look_up(self, chain, start, stop, line, kind):
        """Look the line up in chain[start:stop], counting; the index of the level that hit, or
        len(chain) if none did."""
        for i in range(start, stop):
            if self.caches[chain[i]].lookup(line):
                self.caches[chain[i]].hits[kind] += 1
                return i
            self.caches[chain[i]].misses[kind] += 1
        return len(chain)

    # ---- coherence ----

    def _other_copies(self, core, line):
        """The private caches of other cores that hold `line`, in cache order."""
        return [
            x
            for x, owner in enumerate(self.layout.owner)
            if owner >= 0 and owner != core and self.caches[x].dirty(line) is not None
        ]

    def _dirty_owner(self, core, line):
        """The other core holding `line` dirty (the first found), or -1."""
        for x in self._other_copies(core, line):
            if self.caches[x].dirty(line):
                return self.layout.owner[x]
        return -1

    def _transfer(self, core, owner, line, kind):
        """The line comes from `owner`'s private caches. A read under MESI leaves both with clean
        copies: the owner writes the line back to the shared level (or DRAM). A write takes the
        dirty data along (the owner's copies are invalidated next); MOESI's owner keeps its dirty
        copy (Owned). Returns the transfer latency."""
        self.coherence_counts[core][TRANSFERS_IN] += 1
        self.coherence_counts[owner][TRANSFERS_OUT] += 1
        if kind != WRITE and self.layout.protocol == MESI:
            for x, o in enumerate(self.layout.owner):
                if o == owner:
                    self.caches[x].clear_dirty(line)
            self.coherence_counts[owner][DOWNGRADES] += 1
            self._write_back(self.layout.shared, line)
        return self.layout.transfer_latency[core]

    def _invalidate_others(self, core, line) -> bool:
        """A write by `core`: remove every other core's copy of `line` (a dirty one's data goes
        to the writer, which marks its own copy dirty). Whether there was any."""
        copies = self._other_copies(core, line)
        for x in copies:
            self.caches[x].remove(line)
            self.invalidations[x] += 1
        if copies:
            self.coherence_counts[core][UPGRADES] += 1
        return bool(copies)

    def _access_levelwise(self, core, entry, lines, kind):
        """cachegrind's rule: probe each level with the whole access, allocating on a miss; the
        access misses a level (once) if any of its lines misses; stop at the first full hit."""
        for x in self._chain(entry):
            cache = self.caches[x]
            missed = False
            for line in lines:
                if not cache.lookup(line):
                    missed = True
                    self._fill(x, line, False)
            if kind == WRITE and x == entry:
                for line in lines:
                    cache.mark_dirty(line)
            if not missed:
                cache.hits[kind] += 1
                return self.layout.latency[core][x]
            cache.misses[kind] += 1
        self.dram[0] += 1
        return self.layout.dram_latency[core]

    def _fill(self, x, line, dirty):
        victim = self.caches[x].insert(line, dirty)
        if victim is not None:
            self._evict(x, *victim)

    def _evict(self, x, line, dirty):
        cache = self.caches[x]
        cache.evictions += 1
        if not self.layout.is_l1[x] and cache.inclusion == INCLUSIVE:
            for above in self.layout.descendants[x]:
                was_dirty = self.caches[above].remove(line)
                if was_dirty is not None:
                    cache.back_invalidations += 1
                    dirty = dirty or was_dirty
        below = self.layout.below[x]
        if dirty:
            cache.writebacks += 1
        if below >= 0 and self.caches[below].inclusion == EXCLUSIVE:
            self._fill(below, line, dirty)
        elif dirty:
            self._write_back(below, line)

    def _write_back(self, x, line):
        while x >= 0:
            if self.caches[x].mark_dirty(line):
                return
            x = self.layout.below[x]
        self.dram[1] += 1

    # ---- translation ----

    def _translate(self, core, vpn, asid, fetch):
        """Return (physical page number, cycles) for one page."""
        t, n = self.tlbs[core], self.tlb_counts[core]
        l1 = t["itlb"] if fetch else t["dtlb"]
        hit = l1.lookup(vpn, asid)
        if hit is not None:
            n[ITLB_HIT if fetch else DTLB_HIT] += 1
            return hit[3], 0
        n[ITLB_MISS if fetch else DTLB_MISS] += 1
        cfg = self.config.cores[core].tlb
        latency = cfg.l2_latency
        hit = t["l2"].lookup(vpn, asid)
        if hit is not None:
            n[L2TLB_HIT] += 1
            pfn, global_ = hit[3], hit[2]
        else:
            n[L2TLB_MISS] += 1
            walked = self._walk(core, vpn, asid)
            latency += walked[2]
            if walked[0] is None:  # no valid translation: time the access as identity-mapped
                return vpn, latency
            pfn, global_ = walked[0], walked[1]
            t["l2"].insert(vpn, asid, global_, pfn)
        l1.insert(vpn, asid, global_, pfn)
        return pfn, latency

    def _walk(self, core, vpn, asid):
        """4-level ARMv8 walk with a walk cache. Returns (pfn or None, global, cycles)."""
        n, cfg = self.tlb_counts[core], self.config.cores[core].tlb
        wc = self.tlbs[core]["walk"]
        va = vpn << PAGE_SHIFT
        n[WALKS] += 1
        latency = cfg.walk_cache_latency
        level, table = 0, self.roots[asid] if self.roots is not None else -1
        for cached_level in (2, 1, 0):
            found = wc.lookup(cached_level, va >> level_shift(cached_level), asid)
            if found is not None:
                level, table = cached_level + 1, found
                break
        n[WC_HIT if level > 0 else WC_MISS] += 1
        entry = self.layout.walk_entry[core]
        while True:
            if table < 0:
                n[WALK_FAULT] += 1
                return None, False, latency
            desc_pa = table + 8 * level_index(va, level)
            if desc_pa + 8 > len(self.ram):
                n[WALK_FAULT] += 1
                return None, False, latency
            latency += self._access_line(core, entry, desc_pa >> self.line_bits, WALK)
            desc = int(self.ram[desc_pa : desc_pa + 8].view(np.uint64)[0])
            valid, next_addr, global_ = descriptor_fields(desc, level)
            if not valid:
                n[WALK_FAULT] += 1
                return None, False, latency
            if level == 3:
                return next_addr >> PAGE_SHIFT, global_, latency
            wc.insert(level, va >> level_shift(level), asid, next_addr)
            level, table = level + 1, next_addr

    def _tlbi(self, va, asid):
        vpn = None if va is None else va >> PAGE_SHIFT
        for t in self.tlbs:
            if t is None:
                continue
            for name in ("itlb", "dtlb", "l2"):
                t[name].invalidate(vpn, asid)
            t["walk"].invalidate(va, asid)

"""The batch engine: hmk.hw.reference's model, compiled (Cython), fed numpy arrays of events.

State persists between batches, so a long run can be fed in buffers of any size with the same
result as one big batch.
"""

from __future__ import annotations

import numpy as np

from hmk._fast.hierarchy import Engine
from hmk.hw.config import HierarchyConfig
from hmk.hw.events import EVENT_DTYPE, check_events, check_memory, kind_code, make_events
from hmk.hw.layout import (
    COHERENCE_COUNTERS,
    COUNT_KINDS,
    EXCLUSIVE_HINTS,
    INCLUSION_CODE,
    REPLACEMENT_CODE,
    TLB_COUNTERS,
    TLB_FILTER,
    UPGRADES,
    Layout,
    stats_dict,
)


class BatchHierarchy:
    """Same API and same results as hmk.hw.reference.MemoryHierarchy."""

    def __init__(self, config: HierarchyConfig, ram=None, roots=None):
        self.config = config
        self.layout = lay = Layout.of(config)
        n = len(lay.caches)
        ncores = len(config.cores)
        i64 = np.int64
        sets = np.array([c.sets for c in lay.caches], i64)
        ways = np.array([c.ways for c in lay.caches], i64)
        desc_off = np.concatenate([[0], np.cumsum([len(d) for d in lay.descendants])]).astype(i64)
        desc = np.array([j for d in lay.descendants for j in d], i64)

        t_sets, t_ways = _tlb_shapes(config)
        t_base = np.concatenate([[0], np.cumsum(t_sets * t_ways)]).astype(i64)
        tlbs = [core.tlb for core in config.cores]
        chain, chain_len = _chains(lay)
        check_memory(ram, roots)
        if ram is None:
            ram = np.zeros(8, np.uint8)
        if roots is None:
            roots = np.full(1 << 16, -1, i64)
        nt = int(t_base[-1])
        self._state = spec = {
            # parameters
            "sets": sets,
            "ways": ways,
            "repl": np.array([REPLACEMENT_CODE[c.replacement] for c in lay.caches], i64),
            "incl": np.array([INCLUSION_CODE[c.inclusion] for c in lay.caches], i64),
            "below": np.array(lay.below, i64),
            "is_l1": np.array(lay.is_l1, i64),
            "desc_off": desc_off,
            "desc": np.append(desc, 0).astype(i64),  # never empty, so it has an address
            "chain": chain,
            "chain_len": chain_len,
            "lat": np.array(lay.latency, i64).ravel(),
            "dram_lat": np.array(lay.dram_latency, i64),
            "l1i": np.array(lay.l1i, i64),
            "l1d": np.array(lay.l1d, i64),
            "walk_entry": np.array(lay.walk_entry, i64),
            "t_sets": t_sets,
            "t_ways": t_ways,
            "t_base": t_base[:-1].copy(),
            "has_tlb": np.array([t is not None for t in tlbs], i64),
            "l2tlb_lat": np.array([t.l2_latency if t else 0 for t in tlbs], i64),
            "wc_lat": np.array([t.walk_cache_latency if t else 0 for t in tlbs], i64),
            "misc": np.array(
                [
                    config.line.bit_length() - 1,
                    config.mode == "cachegrind",
                    lay.protocol,
                    lay.shared,
                ],
                i64,
            ),
            "owner": np.array(lay.owner, i64),
            "private_len": np.array(lay.private_len, i64),
            "transfer_lat": np.array(lay.transfer_latency, i64),
            "upgrade_lat": np.array(lay.upgrade_latency, i64),
            # state and counters (the caches' sets are the engine's own memory)
            "cnt": np.zeros(n * 2 * len(COUNT_KINDS), i64),
            "cev": np.zeros(n * 3, i64),
            "dram": np.zeros(2, i64),
            "cinv": np.zeros(n, i64),
            "ccnt": np.zeros(ncores * len(COHERENCE_COUNTERS), i64),
            "excl": np.full(ncores * EXCLUSIVE_HINTS, -1, i64),
            "t_key": np.full(nt, -1, i64),
            "t_asid": np.zeros(nt, i64),
            "t_flag": np.zeros(nt, i64),
            "t_val": np.zeros(nt, i64),
            "t_stamp": np.zeros(nt, i64),
            "t_filt": np.zeros(len(t_sets) * TLB_FILTER, np.uint8),
            "t_hint": np.zeros(len(t_sets) * TLB_FILTER, i64),
            "t_prev": np.zeros(nt, i64),
            "t_next": np.zeros(nt, i64),
            "tcnt": np.zeros(ncores * len(TLB_COUNTERS), i64),
            "ram": ram.view(np.uint64),
            "roots": roots,
        }
        self._engine = Engine(spec)

    def run(self, events: np.ndarray, check: bool = True) -> np.ndarray:
        """Time every event; return per-event latencies in cycles (int32)."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            check_events(events, self.config.line, len(self.config.cores))  # raises
        events = np.ascontiguousarray(events)
        if check and self._engine.first_bad(events, self.config.line) >= 0:
            check_events(events, self.config.line, len(self.config.cores))  # names the problem
        out = np.empty(len(events), dtype=np.int32)
        self._engine.run(events, out)
        return out

    def run_marked(self, events: np.ndarray, ends=None) -> tuple[np.ndarray, np.ndarray]:
        """As run (unchecked: the kernel's own log), and the lines each segment of the events
        wrote back to DRAM: segment k is events[ends[k-1]:ends[k]] (`ends` ascending; None:
        all the events, one segment)."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            check_events(events, self.config.line, len(self.config.cores))  # raises
        if not events.flags.c_contiguous:
            events = np.ascontiguousarray(events)
        if ends is not None:
            ends = np.ascontiguousarray(ends, dtype=np.int64)
        return self._engine.run_marked(events, ends)

    def dram_writes(self) -> int:
        """Lines written back to DRAM so far (the `dram.writes` statistic, cheaply)."""
        return int(self._state["dram"][1])

    def upgrades(self) -> int:
        """Writes so far that took a line from other cores' private caches (coherence
        upgrades), all cores together (0 without coherence): cheaply, for the simulator's
        turns."""
        counts = self._state.get("ccnt")
        if counts is None:
            return 0
        return int(counts.reshape(-1, len(COHERENCE_COUNTERS))[:, UPGRADES].sum())

    def coherent_writes(self) -> np.ndarray:
        """The indexes (ascending, int64) of the last batch's write events that needed
        coherence work: a transfer from, or the invalidation of, another core's copy (a store
        the other cores see only after its latency: docs/timing-model.md). Empty without
        coherence."""
        return self._engine.coherent_writes()

    def access(self, addr, kind="read", size=8, asid=0, core=0) -> int:
        return int(self.run(make_events([addr], kind_code(kind), size, asid, core))[0])

    def tlbi_all(self):
        self._engine.invalidate(-1, -1)

    def tlbi_asid(self, asid):
        self._engine.invalidate(-1, int(asid))

    def tlbi_va(self, va, asid=None):
        self._engine.invalidate(int(va), -1 if asid is None else int(asid))

    def raw_entry(self) -> tuple[int, int, int]:
        """The engine's C entry for compiled callers (hmk._fast.hierarchy Engine.raw_entry):
        the function's address, the engine's, and the DRAM counters'. Valid while this
        hierarchy lives."""
        return self._engine.raw_entry()

    def marks_entry(self) -> tuple[int, int]:
        """Where compiled callers find coherent_writes after a batch run through raw_entry:
        the addresses of the pointer to the indexes (int64_t *) and of their count
        (Py_ssize_t). Valid while this hierarchy lives."""
        return self._engine.marks_entry()

    def stats(self) -> dict:
        st, n = self._state, len(self.layout.caches)
        return stats_dict(
            self.layout,
            self.config,
            st["cnt"].reshape(n, 2, len(COUNT_KINDS)).tolist(),
            st["cev"].reshape(n, 3).tolist(),
            st["dram"].tolist(),
            st["tcnt"].reshape(len(self.config.cores), len(TLB_COUNTERS)).tolist(),
            (
                st["cinv"].tolist(),
                st["ccnt"].reshape(len(self.config.cores), len(COHERENCE_COUNTERS)).tolist(),
            ),
        )


def _tlb_shapes(config: HierarchyConfig) -> tuple[np.ndarray, np.ndarray]:
    """(sets, ways) of each translation structure, numbered core*4 + (ITLB, DTLB, L2TLB,
    walk cache); a core without TLBs gets one-entry placeholders that are never used."""
    shapes = []
    for core in config.cores:
        t = core.tlb
        if t is None:
            shapes += [(1, 1)] * 4
        else:
            shapes += [
                (1, t.l1i_entries),
                (1, t.l1d_entries),
                (t.l2_entries // t.l2_ways, t.l2_ways),
                (t.walk_cache_entries // t.walk_cache_ways, t.walk_cache_ways),
            ]
    sets, ways = zip(*shapes, strict=True)
    return np.array(sets, np.int64), np.array(ways, np.int64)


def _chains(lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """For each cache: itself and the levels below it (-1 padded), and how many there are."""
    n = len(lay.caches)
    chain = np.full((n, 4), -1, np.int64)
    chain_len = np.zeros(n, np.int64)
    for x in range(n):
        y = x
        while y >= 0:
            chain[x, chain_len[x]] = y
            chain_len[x] += 1
            y = lay.below[y]
    return chain, chain_len

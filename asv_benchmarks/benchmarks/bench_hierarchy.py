"""asv benchmarks of the memory-hierarchy model.

time_ / track_accesses_per_second: the batch engine on 1 M random and sequential 8-byte loads
    over 64 MiB and over 1 MiB (the four traces of benchmarks/test_hierarchy_bench.py) through
    its hand-built 64K 4-way / 512K 8-way / 4M 16-way hierarchy, with and without TLBs; each
    call starts from a cold model.
time_ (Reference): the plain-Python reference on 20k accesses.
track_ (ModelResults): what the model computes for a fixed trace on the kirin9000 big core:
    total cycles and event counts. These move only when the model (or the profile) changes,
    never with the machine; a step in their graph is a behaviour change to explain.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE, FETCH, READ, WRITE
from hmk.hw.pagetable import FlatMemory
from hmk.hw.profile import load_soc
from hmk.hw.reference import MemoryHierarchy
from hmk.hw.synthetic import KiB, MiB, cold_model, load_events

SPAN = 64 * MiB  # 16x the L3
SPANS = {"64MiB": 64 * MiB, "1MiB": 1 * MiB}  # past the L3, and within it (past the L2)


@functools.lru_cache(maxsize=8)
def events_for(pattern: str, n: int, span: int = SPAN) -> np.ndarray:
    ev = load_events(pattern, span, n)
    ev.flags.writeable = False
    return ev


def new_model(tlb: bool, cls=BatchHierarchy, span: int = SPAN):
    return cold_model(tlb, span, cls)


class EngineLoads:
    """The batch engine on 1 M 8-byte loads, from a cold model each call."""

    params = (["random", "sequential"], list(SPANS), [False, True])
    param_names = ["pattern", "span", "tlb"]
    n = 1_000_000
    number = 1  # setup (a fresh hierarchy) runs before every timed call
    repeat = (3, 10, 20.0)
    timeout = 300

    def setup(self, pattern, span, tlb):
        self.events = events_for(pattern, self.n, SPANS[span])
        self.engine = new_model(tlb, span=SPANS[span])

    def time_run(self, pattern, span, tlb):
        self.engine.run(self.events)

    def track_accesses_per_second(self, pattern, span, tlb):
        """Best of three cold runs."""
        best = float("inf")
        for _ in range(3):
            engine = new_model(tlb, span=SPANS[span])
            start = time.perf_counter()
            engine.run(self.events)
            best = min(best, time.perf_counter() - start)
        return self.n / best

    track_accesses_per_second.unit = "accesses/s"


class Reference:
    """The plain-Python reference (hmk.hw.reference) on 20k random loads, cold each call."""

    params = [False, True]
    param_names = ["tlb"]
    n = 20_000
    number = 1
    repeat = (3, 10, 20.0)

    def setup(self, tlb):
        self.events = events_for("random", self.n)
        self.model = new_model(tlb, MemoryHierarchy)

    def time_run(self, tlb):
        self.model.run(self.events)


def _splitmix64(i: np.ndarray) -> np.ndarray:
    """A fixed hash of 0, 1, 2, ...: the same trace with every numpy version (numpy's
    generators promise no stable stream across releases)."""
    with np.errstate(over="ignore"):
        z = (i.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def model_trace(n: int = 200_000) -> np.ndarray:
    """A fixed mix: 40% random loads in 16 MiB, 25% sequential loads sweeping 512 KiB, 20%
    random 8-byte stores in 2 MiB, 15% 4-byte fetches looping over 64 KiB of code."""
    i = np.arange(n)
    h = _splitmix64(i)
    r = (h % np.uint64(100)).astype(np.int64)
    a = (h >> np.uint64(8)).astype(np.int64) & ((1 << 40) - 1)  # another 40 bits of the hash
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    load_random = r < 40
    load_seq = (r >= 40) & (r < 65)
    store = (r >= 65) & (r < 85)
    fetch = r >= 85
    addr = np.zeros(n, dtype=np.int64)
    addr[load_random] = (a[load_random] % (16 * MiB // 8)) * 8
    addr[load_seq] = 16 * MiB + (np.arange(load_seq.sum()) * 8) % (512 * KiB)
    addr[store] = 32 * MiB + (a[store] % (2 * MiB // 8)) * 8
    addr[fetch] = 48 * MiB + (np.arange(fetch.sum()) * 4) % (64 * KiB)
    ev["addr"] = addr
    ev["kind"] = np.where(store, WRITE, np.where(fetch, FETCH, READ))
    ev["size"] = np.where(fetch, 4, 8)
    return ev


COUNTERS = (
    "cpu0.l1i.misses",
    "cpu0.l1d.misses",
    "cpu0.l2.misses",
    "l3.misses",
    "dram.reads",
    "dram.writes",
    "cpu0.dtlb.misses",
    "cpu0.l2tlb.misses",
    "cpu0.walker.walks",
    "cpu0.walker.cache_misses",
)


class ModelResults:
    """What the model computes for model_trace() on the kirin9000 big core (one core, with its
    TLBs; FlatMemory maps the trace's pages). Machine-independent."""

    timeout = 300

    def setup_cache(self):
        ev = model_trace()
        cfg = load_soc("kirin9000").hierarchy(cluster="big", cores=1)
        mem = FlatMemory(64 * MiB, table_frames=256)
        mem.map_events(ev)
        hier = BatchHierarchy(cfg, ram=mem.ram, roots=mem.roots)
        cycles = int(hier.run(ev).sum(dtype=np.int64))
        return {"cycles": cycles, **hier.stats()}

    def track_total_cycles(self, results):
        return results["cycles"]

    track_total_cycles.unit = "cycles"

    def track_counter(self, results, counter):
        return results[counter]

    track_counter.params = list(COUNTERS)
    track_counter.param_names = ["counter"]
    track_counter.unit = "events"

"""Synthetic memory traces shared by the benchmark suites (pytest-benchmark and asv).

The benchmark hierarchy is the issue's: L1I/L1D 64 KiB 4-way, private L2 512 KiB 8-way, shared
L3 4 MiB 16-way, 64-byte lines, true LRU, non-inclusive non-exclusive, write-back; its TLBs (when
asked for) are a Cortex-A76-like set: 48-entry L1 ITLB/DTLB, 1280-entry 5-way L2 TLB, 64-entry
4-way walk cache, walks from the L1D. Latencies are illustrative, not a profile's.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig, TLBConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import READ, make_events
from hmk.hw.pagetable import PAGE_SIZE, FlatMemory

KiB, MiB = 1 << 10, 1 << 20
LINE = 64
SEED = 20240711
BENCH_TLB = TLBConfig(48, 48, 1280, 5, 3, 64, 4, 4, "l1d")


def bench_hierarchy(tlb: bool = False) -> HierarchyConfig:
    core = CoreConfig(
        l1i=CacheConfig("l1i", 64 * KiB, 4, LINE, 4),
        l1d=CacheConfig("l1d", 64 * KiB, 4, LINE, 4),
        l2=CacheConfig("l2", 512 * KiB, 8, LINE, 9),
        tlb=BENCH_TLB if tlb else None,
        dram_latency=100,
    )
    return HierarchyConfig(cores=(core,), l3=CacheConfig("l3", 4 * MiB, 16, LINE, 28), name="bench")


def load_addresses(pattern: str, span: int, n: int, seed: int = SEED) -> np.ndarray:
    """int64 byte addresses of `n` 8-byte loads in [0, span): "random" (uniform, 8-byte aligned)
    or "sequential" (an 8-byte stride, wrapping around)."""
    if pattern == "random":
        return np.random.default_rng(seed).integers(0, span // 8, n, dtype=np.int64) * 8
    if pattern == "sequential":
        return (np.arange(n, dtype=np.int64) * 8) % span
    raise ValueError(f"unknown pattern {pattern!r}; expected 'random' or 'sequential'")


def load_events(pattern: str, span: int, n: int, seed: int = SEED) -> np.ndarray:
    return make_events(load_addresses(pattern, span, n, seed), READ, size=8)


def cold_model(tlb: bool, span: int, cls=BatchHierarchy):
    """A fresh model of the benchmark hierarchy; with `tlb`, ASID 0 maps every page of
    [0, span) to frames in page order."""
    if not tlb:
        return cls(bench_hierarchy())
    pages = -(-span // PAGE_SIZE)
    mem = FlatMemory((pages + 64) * PAGE_SIZE, table_frames=64)
    mem.map_pages(0, np.arange(pages))
    return cls(bench_hierarchy(tlb=True), ram=mem.ram, roots=mem.roots)

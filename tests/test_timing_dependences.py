"""hmk.cpu.timing respects dependences through registers and through memory, in both pipelines
and in both engines (the reference and the compiled twin): a pointer chase costs the latency the
hierarchy reports per load at every level, independent loads overlap, a load of what a store just
wrote waits for the store's data plus the core's store-to-load forwarding latency, and a load of
anything else does not (docs/timing-model.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hmk.cpu import classify as C
from hmk.cpu.timing import BLOCK_DTYPE, TimingModel
from hmk.hw.events import FETCH, READ, WRITE, make_events
from hmk.hw.profile import load_core, load_soc

CORE_NAMES = ("cortex-a55", "cortex-a72", "cortex-a76", "cortex-a77")
CORES = {name: load_core(name) for name in CORE_NAMES}
A55, A72, A76, A77 = (CORES[n] for n in CORE_NAMES)
OOO = (A72, A76, A77)
ENGINES = pytest.mark.parametrize("reference", [False, True], ids=["compiled", "reference"])
LINE = 64
ADD_LATENCY = 1  # an integer ALU operation (docs/timing-model.md)


def words(*ws: int) -> bytes:
    return b"".join(int(w).to_bytes(4, "little") for w in ws)


# encodings (as aarch64-linux-gnu-as assembles them), parameterized by register
def ldr(t, n, imm=0):  # ldr xt, [xn, #8*imm]
    return 0xF9400000 | imm << 10 | n << 5 | t


def str_(t, n, imm=0):  # str xt, [xn, #8*imm]
    return 0xF9000000 | imm << 10 | n << 5 | t


def add_imm(d, n):  # add xd, xn, #1
    return 0x91000400 | n << 5 | d


SP = 31
# `volatile long c; for (long i = 0; i < n; i++) c = c + 1;` as gcc 12 -O2 compiles it:
#   ldr x1, [sp, #24]; add x2, x2, #1; add x1, x1, #1; str x1, [sp, #24]; cmp x2, x0; b.lt
VOLATILE_LOOP = words(0xF9400FE1, 0x91000442, 0x91000421, 0xF9000FE1, 0xEB00005F, 0x54FFFF6B)
SLOT = 0x7FFF_F000 + 24  # sp + 24


def forwarding(core) -> int:
    return core.timing.forward_latency(core.l1d.latency)


def with_forwarding(core, cycles):
    return dataclasses.replace(
        core, timing=dataclasses.replace(core.timing, store_forward_latency=cycles)
    )


class Trace:
    """Executions of blocks with the events unicorn records for them: fetches of the lines a
    block spans (L1I hits), then each data event, whose address and latency are given in order;
    data events not given are L1D hits at addresses no other event uses."""

    def __init__(self, core):
        self.core = core
        self.blocks, self.events = [], []
        self.code: dict[tuple[int, int], bytes] = {}  # (address, size) -> bytes
        self.fresh = 0x4000_0000

    def run(self, pc: int, code: bytes, accesses=()) -> Trace:
        """`accesses`: (address, latency or None for an L1D hit) per data event."""
        self.code[(pc, len(code))] = code
        first = len(self.events)
        for line in range(pc // LINE, (pc + len(code) - 1) // LINE + 1):
            self.events.append((line * LINE, FETCH, self.core.l1i.latency))
        accesses = list(accesses)
        info = C.classify_block(code, pc)
        for rec in info.insns:
            flags, nev = int(rec["flags"]), int(rec["nev"])
            kinds = ([READ] if flags & C.READS else []) + ([WRITE] if flags & C.WRITES else [])
            for i in range(1 if nev == C.ALL_EVENTS else nev):
                if accesses:
                    addr, lat = accesses.pop(0)
                else:
                    addr, lat, self.fresh = self.fresh, None, self.fresh + 64
                lat = self.core.l1d.latency if lat is None else lat
                self.events.append((addr, kinds[i % len(kinds)], lat))
        assert not accesses, "more accesses than the block's instructions make"
        self.blocks.append((pc, len(code), info.ninsn, first))
        return self

    def read(self, addr: int, size: int) -> bytes | None:
        return self.code.get((addr, size))

    def arrays(self):
        blocks = np.array(self.blocks, dtype=BLOCK_DTYPE)
        events = make_events([e[0] for e in self.events], [e[1] for e in self.events], size=8)
        return blocks, events, np.array([e[2] for e in self.events], np.int32)

    def model(self, reference=False, core=None) -> TimingModel:
        model = TimingModel(core or self.core, reference=reference)
        blocks, events, lats = self.arrays()
        model.account(blocks, events, lats, self.read)
        return model


def cycles(core, build, reference=False) -> int:
    return build(Trace(core)).model(reference).cycles


def per_repeat(core, build, reference, lo=20, hi=60) -> float:
    """Cycles per repetition in the steady state: `build(trace, n)` repeats something n times."""
    a = cycles(core, lambda t: build(t, lo), reference)
    b = cycles(core, lambda t: build(t, hi), reference)
    return (b - a) / (hi - lo)


# ---------------------------------------------------------------------------------------------
# (a) A pointer chase costs, per load, the load-to-use latency of the level that serves it


def levels(soc_name: str, cluster):
    """Load-to-use latency per level, as the hierarchy reports a hit there
    (docs/memory-hierarchy.md): L1D, the private L2 if any, the shared L3 if any, DRAM."""
    soc = load_soc(soc_name)
    config = soc.core_config(cluster)
    out = {"L1": config.l1d.latency}
    if config.l2 is not None:
        out["L2"] = config.l2.latency
    if soc.l3 is not None:
        out["L3"] = config.l3_latency if config.l3_latency is not None else soc.l3.latency
    out["DRAM"] = config.dram_latency
    return out


CLUSTERS = [
    (soc, cluster)
    for soc in ("kirin9000", "kirin990", "rpi4")
    for cluster in load_soc(soc).clusters
    if cluster.name != "big" or soc != "kirin9000"  # the same A77 as "prime", slower clock
]


def test_the_clusters_cover_every_bundled_core_type():
    assert {c.core.name for _, c in CLUSTERS} == set(CORE_NAMES)
    assert {levels(s, c)["DRAM"] > 100 for s, c in CLUSTERS} == {True}


def chase(latency: int):
    """ldr x0, [x0], n times, in blocks of 16: each load's address is the previous one's
    result; every access at its own address, all served with `latency`."""

    def build(t: Trace, n: int) -> Trace:
        for k in range(0, n, 16):
            m = min(16, n - k)
            t.run(
                0x1000,
                words(*[ldr(0, 0)] * m),
                [(0x1000_0000 + 64 * (k + i), latency) for i in range(m)],
            )
        return t

    return build


@ENGINES
@pytest.mark.parametrize(
    "soc, cluster", CLUSTERS, ids=[f"{s}-{c.name}-{c.core.name}" for s, c in CLUSTERS]
)
def test_a_pointer_chase_costs_the_load_to_use_latency_of_each_level(soc, cluster, reference):
    core = cluster.core
    for level, latency in levels(soc, cluster).items():
        got = per_repeat(core, chase(latency), reference, lo=32, hi=96)
        assert got == latency, f"{core.name} {level}: {got} cycles per load, want {latency}"


# ---------------------------------------------------------------------------------------------
# (b) Independent loads overlap; dependent ones do not


def independent_misses(latency: int):
    """n loads whose addresses do not depend on each other (base x20), each served with
    `latency`."""

    def build(t: Trace, n: int) -> Trace:
        for k in range(0, n, 16):
            m = min(16, n - k)
            body = [ldr(1 + i % 8, 20, i) for i in range(m)]
            t.run(0x1000, words(*body), [(0x1000_0000 + 64 * (k + i), latency) for i in range(m)])
        return t

    return build


@ENGINES
@pytest.mark.parametrize("core", OOO, ids=lambda c: c.name)
def test_independent_misses_overlap_up_to_mlp(core, reference):
    dram = 300
    # (48 and 144 loads: whole groups of mlp for both 6 and 16)
    dependent = per_repeat(core, chase(dram), reference, lo=48, hi=144)
    independent = per_repeat(core, independent_misses(dram), reference, lo=48, hi=144)
    assert dependent == dram
    # mlp misses at a time: each costs the latency over mlp, a little more for dispatch
    mlp = core.timing.mlp
    assert dram / mlp <= independent <= dram / mlp + 1
    assert independent < dependent / 4


@ENGINES
def test_in_order_overlaps_independent_hits_but_not_misses(reference):
    hit = A55.l1d.latency
    dependent = per_repeat(A55, chase(hit), reference)
    independent = per_repeat(A55, independent_misses(hit), reference)
    assert dependent == hit
    assert independent == 1  # one load pipe: a load a cycle
    # a miss stalls the in-order pipeline, dependent or not (docs/timing-model.md): no overlap
    assert per_repeat(A55, chase(200), reference) == 200
    assert per_repeat(A55, independent_misses(200), reference) == 200 - hit + 1


# ---------------------------------------------------------------------------------------------
# (c) A counter in memory: a load of what the previous iteration stored


def volatile_loop(slot_of_load=SLOT):
    """The volatile counter loop, n iterations (its branch taken back but for the last)."""

    def build(t: Trace, n: int) -> Trace:
        for _ in range(n):
            t.run(0x40_0550, VOLATILE_LOOP, [(slot_of_load, None), (SLOT, None)])
        return t

    return build


@ENGINES
@pytest.mark.parametrize("core", OOO, ids=lambda c: c.name)
def test_the_volatile_counter_loop_runs_at_forwarding_plus_add_latency(core, reference):
    cpi = per_repeat(core, volatile_loop(), reference, lo=100, hi=300)
    assert cpi == forwarding(core) + ADD_LATENCY
    ipc = len(VOLATILE_LOOP) // 4 / cpi
    # without the dependence through memory (the load reads another slot) the loop is bound by
    # dispatch only: the forwarding is what costs
    free = per_repeat(core, volatile_loop(SLOT + 64), reference, lo=100, hi=300)
    assert free <= 6 / core.issue_width + 0.5
    assert ipc < 6 / free / 2
    # and the time lost shows up as dependency stalls, not memory
    model = volatile_loop()(Trace(core), 200).model(reference)
    c = model.counters()
    assert c["stall_dependency"] > (model.cycles - 200 * 6 / core.issue_width) / 2
    assert c["stall_memory"] == 0


def unrolled_counter(slot_of_load=SLOT):
    """ldr x1, [sp, #24]; add x1, x1, #1; str x1, [sp, #24], n times in one block: the
    counter's chain without loop overhead (the in-order core's block boundaries)."""

    def build(t: Trace, n: int) -> Trace:
        body = [ldr(1, SP, 3), add_imm(1, 1), str_(1, SP, 3)] * n
        return t.run(0x2000, words(*body), [(slot_of_load, None), (SLOT, None)] * n)

    return build


@ENGINES
@pytest.mark.parametrize("name", CORE_NAMES)
@pytest.mark.parametrize("latency", [None, 9])
def test_each_increment_costs_forwarding_plus_add_latency(name, latency, reference):
    core = CORES[name] if latency is None else with_forwarding(CORES[name], latency)
    per = per_repeat(core, unrolled_counter(), reference, lo=40, hi=120)
    assert per == forwarding(core) + ADD_LATENCY
    free = per_repeat(core, unrolled_counter(SLOT + 64), reference, lo=40, hi=120)
    if core.pipeline == "in-order":  # in order, the load waits behind the add anyway
        assert free == core.l1d.latency + ADD_LATENCY
    else:
        assert free <= 3 / core.issue_width + 0.5


# ---------------------------------------------------------------------------------------------
# (d) What is forwarded, and what is not


def store_then_load(load_addr):
    """ldr x1, [x8]; str x1, [x9]; ldr x2, [x10]; add x3, x2, #1: x1 comes from a 200-cycle miss
    (so the store's data is late); the store writes 0x5000_0000, the second load reads
    `load_addr`."""

    def build(t: Trace) -> Trace:
        body = [ldr(1, 8), str_(1, 9), ldr(2, 10), add_imm(3, 2)]
        return t.run(
            0x3000, words(*body), [(0x6000_0000, 200), (0x5000_0000, None), (load_addr, None)]
        )

    return build


@ENGINES
@pytest.mark.parametrize("name", CORE_NAMES)
def test_a_load_of_another_address_is_not_delayed(name, reference):
    core = with_forwarding(CORES[name], 12)
    elsewhere = cycles(core, store_then_load(0x5000_0000 + 4096), reference)
    next_word = cycles(core, store_then_load(0x5000_0008), reference)
    same = cycles(core, store_then_load(0x5000_0000), reference)
    inside = cycles(core, store_then_load(0x5000_0004), reference)  # overlaps the stored bytes
    assert next_word == elsewhere
    assert same == inside > elsewhere
    if core.pipeline == "out-of-order":  # the load waits for the miss, the store, forwarding
        assert same >= 200 + 12 + ADD_LATENCY


@ENGINES
@pytest.mark.parametrize("core", [A55, A77], ids=lambda c: c.name)
def test_an_old_store_does_not_delay_a_load(core, reference):
    def build(load_addr):
        def make(t: Trace) -> Trace:
            t.run(0x3000, words(str_(1, 9)), [(0x5000_0000, None)])
            t.run(0x3004, words(*[add_imm(11 + i % 8, 11 + i % 8) for i in range(64)]))
            t.run(0x3104, words(ldr(2, 10), add_imm(3, 2)), [(load_addr, None)])
            return t

        return make

    assert cycles(core, build(0x5000_0000), reference) == cycles(
        core, build(0x7000_0000), reference
    )


@ENGINES
def test_the_youngest_store_to_a_granule_is_the_one_forwarded(reference):
    core = with_forwarding(A77, 10)

    def build(t: Trace) -> Trace:
        # str x1 (late: its data comes from a 300-cycle miss), then str x4 (early) to the
        # same word: the load gets x4's data, early
        body = [ldr(1, 8), str_(1, 9), str_(4, 9), ldr(2, 10), add_imm(3, 2)]
        addr = 0x5000_0000
        return t.run(
            0x3000, words(*body), [(0x6000_0000, 300), (addr, None), (addr, None), (addr, None)]
        )

    assert cycles(core, build, reference) < 300 + 10


@ENGINES
def test_forwarding_carries_over_between_flushes(reference):
    core = A77
    trace = volatile_loop()(Trace(core), 50)
    whole = trace.model(reference)
    blocks, events, lats = trace.arrays()
    pieces = TimingModel(core, reference=reference)
    for lo, hi in ((0, 1), (1, 7), (7, 30), (30, 50)):
        first = int(blocks["event_start"][lo])
        last = int(blocks["event_start"][hi]) if hi < len(blocks) else len(events)
        part = blocks[lo:hi].copy()
        part["event_start"] -= first
        pieces.account(part, events[first:last], lats[first:last], trace.read)
    assert pieces.counters() == whole.counters() and pieces.cycles == whole.cycles
    assert whole.cycles >= 49 * (forwarding(core) + ADD_LATENCY)  # it did forward


# ---------------------------------------------------------------------------------------------
# (e) The reference and the compiled twin agree on random mixes with shared addresses

PALETTE = [
    lambda d, n, m: ldr(d, n, m % 4),
    lambda d, n, m: str_(d, n, m % 4),
    lambda d, n, m: 0xA9400000 | m << 10 | n << 5 | d,  # ldp xd, xm, [xn]
    lambda d, n, m: 0xA9000000 | m << 10 | n << 5 | d,  # stp xd, xm, [xn]
    lambda d, n, m: 0xB9000000 | n << 5 | d,  # str wd, [xn]
    lambda d, n, m: 0xB8400000 | n << 5 | d,  # ldur wd, [xn]
    lambda d, n, m: 0xF8200000 | m << 16 | n << 5 | d,  # ldadd xm, xd, [xn]
    lambda d, n, m: 0xD50B7420 | n,  # dc zva, xn
    lambda d, n, m: add_imm(d, n),
    lambda d, n, m: 0x8B000000 | m << 16 | n << 5 | d,  # add xd, xn, xm
    lambda d, n, m: 0x9B007C00 | m << 16 | n << 5 | d,  # mul
    lambda d, n, m: 0xF1000400 | n << 5 | d,  # subs xd, xn, #1
    lambda d, n, m: 0x54000001,  # b.ne
]


def random_trace(core, seed: int, pool: int) -> Trace:
    """Random blocks of loads, stores, atomics and arithmetic, their data events at addresses
    drawn from `pool` 8-byte words (a few, so that loads meet recent stores), some unaligned."""
    rng = np.random.default_rng(seed)
    blocks = []
    for b in range(5):
        n = int(rng.integers(1, 12))
        body = [PALETTE[int(rng.integers(len(PALETTE)))](*rng.integers(0, 31, 3)) for _ in range(n)]
        blocks.append((0x10_0000 + 0x100 * b, words(*body)))
    t = Trace(core)
    for _ in range(int(rng.integers(20, 60))):
        pc, code = blocks[int(rng.integers(len(blocks)))]
        info = C.classify_block(code, pc)
        nev = sum(1 if int(r["nev"]) == C.ALL_EVENTS else int(r["nev"]) for r in info.insns)
        acc = [
            (
                0x8000 + 8 * int(rng.integers(pool)) + int(rng.choice([0, 0, 0, 4])),
                int(rng.choice([core.l1d.latency, 9, 30, 200])),
            )
            for _ in range(nev)
        ]
        t.run(pc, code, acc)
    return t


def run_in_pieces(core, trace: Trace, reference: bool, cuts, externals) -> TimingModel:
    model = TimingModel(core, reference=reference)
    blocks, events, lats = trace.arrays()
    bounds = sorted({0, len(blocks), *[c for c in cuts if c < len(blocks)]})
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        first = int(blocks["event_start"][lo])
        last = int(blocks["event_start"][hi]) if hi < len(blocks) else len(events)
        part = blocks[lo:hi].copy()
        part["event_start"] -= first
        model.account(part, events[first:last], lats[first:last], trace.read)
        model.add_cycles(externals[i % len(externals)])
    return model


MIX_CORES = [A55, A72, A76, A77, with_forwarding(A55, 8), with_forwarding(A76, 2)]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("core", MIX_CORES, ids=lambda c: f"{c.name}-{forwarding(c)}")
def test_reference_and_compiled_agree_on_shared_addresses(core, seed):
    trace = random_trace(core, seed, pool=6)
    cuts, externals = [3, 11, 19, 40], [0, 0, 7]
    ref = run_in_pieces(core, trace, True, cuts, externals)
    fast = run_in_pieces(core, trace, False, cuts, externals)
    assert ref.cycles == fast.cycles
    assert list(ref.engine.counts) == list(fast.engine.counts)


def test_the_random_mixes_exercise_forwarding():
    # the same streams with every address made distinct take fewer cycles on the whole: the
    # agreement above covers forwarded loads, not only independent ones
    slower = 0
    for seed in range(12):
        for core in (A55, A77, with_forwarding(A55, 8)):
            shared = random_trace(core, seed, pool=6)
            apart = random_trace(core, seed, pool=6)
            apart.events = [
                (0x9000_0000 + 64 * i, kind, lat) if kind != FETCH else (addr, kind, lat)
                for i, (addr, kind, lat) in enumerate(apart.events)
            ]
            slower += shared.model(True).cycles > apart.model(True).cycles
    assert slower >= 12

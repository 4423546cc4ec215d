"""hmk.cpu.timing: the reference and the compiled engine agree on random block and event
streams, and the model gives the known answers on small cases (docs/timing-model.md)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.cpu import classify as C
from hmk.cpu.timing import BLOCK_DTYPE, COUNTERS, TimingModel
from hmk.hw.events import FETCH, READ, WRITE, make_events
from hmk.hw.profile import load_core

A55, A72, A76, A77 = (
    load_core(n) for n in ("cortex-a55", "cortex-a72", "cortex-a76", "cortex-a77")
)
LINE = 64


def with_predictor(core, kind, entries=1024, history=0):
    timing = dataclasses.replace(
        core.timing, predictor=kind, predictor_entries=entries, history_bits=history
    )
    return dataclasses.replace(core, timing=timing)


def words(*ws: int) -> bytes:
    return b"".join(w.to_bytes(4, "little") for w in ws)


# encodings (aarch64-linux-gnu-as), parameterized by register
def add_imm(d, n):  # add xd, xn, #1
    return 0x91000400 | n << 5 | d


def ldr(t, n, imm=0):  # ldr xt, [xn, #8*imm]
    return 0xF9400000 | imm << 10 | n << 5 | t


def stlr(t, n):  # stlr xt, [xn]
    return 0xC89FFC00 | n << 5 | t


def stxr(s, t, n):  # stxr ws, xt, [xn]
    return 0xC8007C00 | s << 16 | n << 5 | t


def stadd(s, n):  # stadd xs, [xn]
    return 0xF820001F | s << 16 | n << 5


def str_(t, n):  # str xt, [xn]
    return 0xF9000000 | n << 5 | t


NOP, ISB, SVC = 0xD503201F, 0xD5033FDF, 0xD4000001
DMB_ISH, DSB_ISH, DMB_ISHLD = 0xD5033BBF, 0xD5033B9F, 0xD50339BF
B_NE, B, BL, BR_X4, BLR_X3 = 0x54000001, 0x14000000, 0x94000000, 0xD61F0080, 0xD63F0060
RET = 0xD65F03C0


class Stream:
    """One flush: executions of blocks, with the events unicorn would record for them (fetches
    of every line a block spans, then each instruction's expected data events)."""

    def __init__(self, core):
        self.core = core
        self.blocks, self.events, self.lats = [], [], []
        self.code: dict[int, bytes] = {}

    def run(self, addr: int, code: bytes, data=None, fetch=None) -> Stream:
        """`data`: latency of each data event in order (default: L1 hits); `fetch`: latency of
        each fetch (default: L1I hits)."""
        self.code[addr] = code
        first = len(self.events)
        lines = range(addr // LINE, (addr + len(code) - 1) // LINE + 1)
        for k, line in enumerate(lines):
            lat = self.core.l1i.latency if fetch is None else fetch[k]
            self.events.append((line * LINE, FETCH, lat))
        info = C.classify_block(code, addr)
        data = list(data or [])
        for rec in info.insns:
            flags, nev = int(rec["flags"]), int(rec["nev"])
            kinds = [READ] if flags & C.READS else []
            kinds += [WRITE] if flags & C.WRITES else []
            n = 1 if nev == C.ALL_EVENTS else nev
            for i in range(n):
                kind = kinds[i % len(kinds)] if len(kinds) > 1 else kinds[0]
                lat = data.pop(0) if data else self.core.l1d.latency
                self.events.append((0x100000 + 8 * len(self.events), kind, lat))
        self.blocks.append((addr, len(code), info.ninsn, first))
        return self

    def arrays(self):
        blocks = np.array(self.blocks, dtype=BLOCK_DTYPE)
        ev = self.events
        events = make_events([e[0] for e in ev], [e[1] for e in ev], size=8)
        return blocks, events, np.array([e[2] for e in ev], np.int32)

    def feed(self, model: TimingModel) -> int:
        blocks, events, lats = self.arrays()
        return model.account(blocks, events, lats, lambda addr, size: self.code.get(addr))


def cycles_of(core, build, reference=False) -> TimingModel:
    model = TimingModel(core, reference=reference)
    build(Stream(core)).feed(model)
    return model


# ---------------------------------------------------------------------------------------------
# Known cases: in-order


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 15])
def test_inorder_straight_line_costs_n_over_width(n, reference):
    code = words(*[add_imm(d, d) for d in range(1, n + 1)])  # independent: add xk, xk, #1
    model = cycles_of(A55, lambda s: s.run(0x1000, code), reference)
    assert model.cycles == math.ceil(n / A55.issue_width)
    assert model.instructions == n


def test_inorder_load_use_stall():
    dependent = words(ldr(0, 1), add_imm(2, 0))  # ldr x0, [x1]; add x2, x0, #1
    independent = words(ldr(0, 1), add_imm(2, 3))
    dep = cycles_of(A55, lambda s: s.run(0x1000, dependent))
    ind = cycles_of(A55, lambda s: s.run(0x1000, independent))
    assert ind.cycles == 1  # a load and an ALU op pair
    assert dep.cycles - ind.cycles == A55.l1d.latency
    assert dep.counters()["stall_dependency"] == A55.l1d.latency


def test_inorder_cache_miss_stalls_the_pipeline():
    code = words(ldr(0, 1), add_imm(2, 3))
    hit = cycles_of(A55, lambda s: s.run(0x1000, code))
    miss = cycles_of(A55, lambda s: s.run(0x1000, code, data=[200]))
    assert miss.cycles - hit.cycles == 200 - A55.l1d.latency
    assert miss.counters()["stall_memory"] == 200 - A55.l1d.latency


def test_inorder_misses_do_not_overlap():
    code = words(*[ldr(d, 9, d) for d in range(1, 5)])  # four independent loads
    one = cycles_of(A55, lambda s: s.run(0x1000, code, data=[200, 3, 3, 3]))
    four = cycles_of(A55, lambda s: s.run(0x1000, code, data=[200] * 4))
    assert four.cycles - one.cycles == 3 * (200 - A55.l1d.latency)


def test_inorder_fetch_miss_stall():
    code = words(NOP, NOP)
    hit = cycles_of(A55, lambda s: s.run(0x1000, code))
    miss = cycles_of(A55, lambda s: s.run(0x1000, code, fetch=[40]))
    assert miss.cycles - hit.cycles == 40 - A55.l1i.latency
    assert miss.counters()["stall_fetch"] == 40 - A55.l1i.latency


def test_inorder_pairing_rules():
    two_loads = words(ldr(1, 9), ldr(2, 9, 1))  # one load pipe
    load_store = words(ldr(1, 9), 0xF9000122)  # ldr x1, [x9]; str x2, [x9]
    for code, want in ((two_loads, 2), (load_store, 1), (words(ISB, NOP), 2)):
        assert cycles_of(A55, lambda s, c=code: s.run(0x1000, c)).cycles == want


def test_inorder_mispredict_costs_the_penalty():
    loop = words(NOP, B_NE)  # at 0x1000: falls through to 0x1008 or goes back
    # predicted not-taken (fresh counters), then goes to 0x1000 again: one mispredict
    model = cycles_of(A55, lambda s: s.run(0x1000, loop).run(0x1000, loop))
    straight = cycles_of(A55, lambda s: s.run(0x1000, loop).run(0x1008, loop))
    assert model.counters()["cond_mispredicts"] == 1
    assert model.cycles - straight.cycles == A55.branch_mispredict_penalty


# ---------------------------------------------------------------------------------------------
# Known cases: out-of-order


@pytest.mark.parametrize("core", [A72, A76, A77], ids=lambda c: c.name)
def test_ooo_straight_line_dispatches_at_width(core):
    n = 4 * core.issue_width
    code = words(*[add_imm(d, d) for d in range(1, n + 1)])
    assert cycles_of(core, lambda s: s.run(0x1000, code)).cycles == n // core.issue_width


@pytest.mark.parametrize("core", [A72, A76], ids=lambda c: c.name)
def test_ooo_independent_misses_overlap_up_to_mlp(core):
    mlp = core.timing.mlp
    loads = [ldr(1 + i % 8, 20, i) for i in range(mlp)]  # independent: base x20
    code = words(*loads)
    base = cycles_of(core, lambda s: s.run(0x1000, code)).cycles
    one_window = cycles_of(core, lambda s: s.run(0x1000, code, data=[200] * mlp)).cycles
    # mlp misses in one window cost about one miss (beyond the L1 hits): 200/mlp each
    hit = core.l1d.latency
    assert 200 - hit <= one_window - base <= 200 - hit + 5
    two = cycles_of(core, lambda s: s.run(0x1000, words(*loads, *loads), data=[200] * 2 * mlp))
    assert 400 - hit <= two.cycles - base <= 400 - hit + 5  # the next mlp wait for a buffer


def test_ooo_dependent_misses_serialize():
    chase = words(*[ldr(0, 0)] * 4)  # ldr x0, [x0] four times
    model = cycles_of(A76, lambda s: s.run(0x1000, chase, data=[200] * 4))
    assert 800 <= model.cycles <= 800 + 10
    assert model.counters()["stall_memory"] >= 790


def test_ooo_misses_beyond_the_window_do_not_overlap():
    rob = A76.timing.rob_entries
    filler = [add_imm(d, d) for d in range(1, 9)] * (rob // 8 + 1)
    code = words(ldr(20, 21), *filler, ldr(22, 21, 1))
    model = cycles_of(A76, lambda s: s.run(0x1000, code, data=[200, 200]))
    assert model.cycles >= 2 * 200


def test_ooo_l1_hits_are_hidden():
    code = words(*[ldr(1 + i % 8, 20, i) for i in range(32)])
    assert cycles_of(A76, lambda s: s.run(0x1000, code)).cycles <= 32 // 4 + A76.l1d.latency


def test_ooo_mispredict_costs_penalty_after_resolution():
    loop = words(NOP, B_NE)
    bad = cycles_of(A76, lambda s: s.run(0x1000, loop).run(0x1000, loop))
    good = cycles_of(A76, lambda s: s.run(0x1000, loop).run(0x1008, loop))
    assert bad.counters()["cond_mispredicts"] == 1
    extra = bad.cycles - good.cycles
    assert A76.branch_mispredict_penalty <= extra <= A76.branch_mispredict_penalty + 2
    assert bad.counters()["stall_mispredict"] >= A76.branch_mispredict_penalty - 1


def test_ooo_fetch_miss_stalls_the_front_end():
    code = words(NOP, NOP)
    hit = cycles_of(A76, lambda s: s.run(0x1000, code).run(0x1008, code))
    miss = cycles_of(A76, lambda s: s.run(0x1000, code).run(0x1008, code, fetch=[100]))
    assert 100 - A76.l1i.latency <= miss.cycles - hit.cycles <= 100
    assert miss.counters()["stall_fetch"] >= 90


# ---------------------------------------------------------------------------------------------
# Branch prediction


def loop_trace(core, pattern, body=(NOP,)):
    """A block ending in b.ne at 0x1000, run once per entry of `pattern`: taken, it branches
    back to itself; not taken, it falls through to a `b 0x1000` block."""
    code = words(*body, B_NE)
    s = Stream(core)
    for taken in pattern:
        s.run(0x1000, code)
        if not taken:
            s.run(0x1000 + len(code), words(B))
    s.run(0x1000, code)
    return s


def mispredicts(core, pattern, reference=False):
    model = TimingModel(core, reference=reference)
    loop_trace(core, pattern).feed(model)
    return model.counters()["cond_mispredicts"]


@pytest.mark.parametrize("kind", ["bimodal", "gshare"])
def test_always_taken_loop_is_learned(kind):
    core = with_predictor(A55, kind, history=8 if kind == "gshare" else 0)
    warm = mispredicts(core, [True] * 20)
    assert warm <= (10 if kind == "gshare" else 1)
    assert mispredicts(core, [True] * 1000) == warm  # nothing after warm-up


def test_alternating_branch_defeats_bimodal_and_gshare_learns_it():
    pattern = [True, False] * 200
    bimodal = mispredicts(with_predictor(A55, "bimodal"), pattern)
    gshare = mispredicts(with_predictor(A55, "gshare", history=4), pattern)
    assert bimodal >= len(pattern) * 0.9  # a 2-bit counter flips with every outcome
    assert gshare <= 10  # the history tells the two cases apart
    later = mispredicts(with_predictor(A55, "gshare", history=4), pattern * 2)
    assert later == gshare  # and after warm-up, never again


def test_returns_use_the_return_stack():
    core = A76
    depth = core.timing.return_stack
    s = Stream(core)
    call, callee, ret = words(NOP, BL), words(NOP, NOP), words(RET)
    # nested calls from 0x1000 + 16k, each returning to its block's fall-through
    for k in range(depth):
        s.run(0x1000 + 16 * k, call)
    s.run(0x8000, callee)
    for k in reversed(range(depth)):
        s.run(0x9000, ret)
        s.run(0x1000 + 16 * k + 8, callee)
    model = TimingModel(core)
    s.feed(model)
    c = model.counters()
    assert c["returns"] == depth and c["return_mispredicts"] == 0
    deeper = Stream(core)  # one call more than the stack holds: the oldest return is lost
    for k in range(depth + 1):
        deeper.run(0x1000 + 16 * k, call)
    for k in reversed(range(depth + 1)):
        deeper.run(0x9000, ret)
        deeper.run(0x1000 + 16 * k + 8, callee)
    model = TimingModel(core)
    deeper.feed(model)
    assert model.counters()["return_mispredicts"] == 1


def test_indirect_branches_predict_the_last_target():
    s = Stream(A76)
    jump = words(NOP, BR_X4)
    for target in [0x5000] * 5 + [0x6000, 0x5000]:
        s.run(0x1000, jump)
        s.run(target, words(NOP))
    model = TimingModel(A76)
    s.feed(model)
    c = model.counters()
    assert c["indirect_branches"] == 7
    assert c["indirect_mispredicts"] == 3  # the first, and both changes


# ---------------------------------------------------------------------------------------------
# Carrying state, determinism, the API


@pytest.mark.parametrize("core", [A55, A76], ids=lambda c: c.name)
def test_feeding_in_pieces_equals_one_batch(core):
    pattern = [i % 3 != 0 for i in range(60)]
    whole = TimingModel(core)
    loop_trace(core, pattern, body=(ldr(0, 0), NOP)).feed(whole)
    pieces = TimingModel(core)
    s = loop_trace(core, pattern, body=(ldr(0, 0), NOP))
    blocks, events, lats = s.arrays()
    added = 0
    for lo, hi in ((0, 7), (7, 8), (8, 40), (40, len(blocks))):
        first = int(blocks["event_start"][lo])
        last = int(blocks["event_start"][hi]) if hi < len(blocks) else len(events)
        part = blocks[lo:hi].copy()
        part["event_start"] -= first
        added += pieces.account(part, events[first:last], lats[first:last], lambda a, n: s.code[a])
    assert pieces.counters() == whole.counters()
    assert added == pieces.cycles == whole.cycles


def test_deterministic():
    runs = []
    for _ in range(2):
        model = TimingModel(A76)
        loop_trace(A76, [i % 5 != 0 for i in range(100)], body=(ldr(0, 0),)).feed(model)
        runs.append((model.cycles, model.counters()))
    assert runs[0] == runs[1]


def test_block_ids_and_a_code_reader_give_the_same_result():
    s = loop_trace(A55, [True, False, True], body=(ldr(0, 1), add_imm(2, 0)))
    blocks, events, lats = s.arrays()
    by_reader = TimingModel(A55)
    by_reader.account(blocks, events, lats, lambda a, n: s.code[a])
    by_id = TimingModel(A55)
    ids = np.array([by_id.table.add(a, s.code[a]) for a in blocks["addr"]], np.uint32)
    by_id.account(blocks, events, lats, ids)
    assert by_id.counters() == by_reader.counters()


@pytest.mark.parametrize("core", [A55, A76], ids=lambda c: c.name)
def test_add_cycles(core):
    model = TimingModel(core)
    Stream(core).run(0x1000, words(NOP)).feed(model)
    before = model.cycles
    model.add_cycles(70)
    assert model.cycles == before + 70
    assert model.counters()["external"] == 70
    with pytest.raises(ValueError):
        model.add_cycles(-1)


# ---------------------------------------------------------------------------------------------
# Known cases: stores other cores must see (docs/timing-model.md, "Store visibility")

U = 300  # the latency of a write that took the line from another core


def marked(core, code, data, coherent, reference=False) -> TimingModel:
    """One block of `code` with its data events' latencies `data`, the data events numbered in
    `coherent` (0: the first) marked as writes that needed coherence work."""
    s = Stream(core).run(0x1000, code, data=data)
    blocks, events, lats = s.arrays()
    first = int(np.count_nonzero(events["kind"] == FETCH))
    model = TimingModel(core, reference=reference)
    marks = np.array([first + i for i in coherent], np.int64)
    model.account(blocks, events, lats, lambda a, n: s.code.get(a), None, marks)
    return model


def waits(core, code, data, coherent, reference=False) -> tuple[int, int]:
    """(cycles the marks added, coherence wait counted)."""
    plain = marked(core, code, data, [], reference)
    seen = marked(core, code, data, coherent, reference)
    assert plain.counters()["coherence_wait"] == 0
    return seen.cycles - plain.cycles, seen.counters()["coherence_wait"]


@pytest.mark.parametrize("reference", [True, False])
def test_a_barrier_waits_for_a_store_another_core_held(reference):
    code = words(str_(3, 5), DMB_ISH)
    assert waits(A55, code, [U], [0], reference) == (U - 1, U - 1)  # dmb: cycle 1 -> U
    added, counted = waits(A72, code, [U], [0], reference)
    assert U - 2 <= added <= U and U - 3 <= counted <= added
    # a store to a line no other core held is never waited for, barrier or not
    assert waits(A55, code, [U], [], reference) == (0, 0)


@pytest.mark.parametrize("core", [A55, A72])
def test_what_does_not_order_earlier_stores_does_not_wait(core):
    for second in (DMB_ISHLD, NOP, str_(4, 6), ldr(4, 6)):
        for reference in (True, False):
            assert waits(core, words(str_(3, 5), second), [U, 4], [0], reference) == (0, 0)


@pytest.mark.parametrize("core", [A55, A72])
def test_release_stores_exclusives_and_store_atomics_wait(core):
    both = []
    for reference in (True, False):
        release = waits(core, words(str_(3, 5), stlr(4, 6)), [U, 4], [0], reference)
        # stxr's status, then a branch on it: known once the line is unique
        exclusive = waits(core, words(stxr(7, 3, 5), 0x35000007), [U], [0], reference)
        atomic = waits(core, words(stadd(3, 5), NOP), [4, U], [1], reference)
        for added, counted in (release, exclusive, atomic):
            assert U - 8 <= added <= U and 0 < counted <= added
        both.append((release, exclusive, atomic))
    assert both[0] == both[1]


@pytest.mark.parametrize("core", [A55, A72])
def test_a_load_atomic_pays_its_upgrade_as_a_load(core):
    """ldadd's write half took the line (U): it waits like a load missing for U, and a barrier
    after it waits at most for the atomic's own completion (the load-to-use part of its
    latency, which the pipeline otherwise overlaps)."""
    code = words(0xF82300A4, DMB_ISH)  # ldadd x3, x4, [x5]
    hit = marked(core, code, [core.l1d.latency] * 2, [])
    for reference in (True, False):
        upgraded = marked(core, code, [core.l1d.latency, U], [], reference)
        assert abs(upgraded.cycles - hit.cycles - (U - core.l1d.latency)) <= 2
        seen = marked(core, code, [core.l1d.latency, U], [1], reference).cycles
        assert 0 <= seen - upgraded.cycles <= core.l1d.latency


def test_stats_names():
    model = TimingModel(A76)
    loop_trace(A76, [True] * 5).feed(model)
    stats = model.stats()
    for name in (
        "timing.cycles",
        "timing.instructions",
        "timing.base_cycles",
        "timing.branch.lookups",
        "timing.branch.mispredicts",
        "timing.branch.cond.lookups",
        "timing.branch.return.mispredicts",
        "timing.stall.memory",
        "timing.stall.fetch",
        "timing.stall.mispredict",
        "timing.stall.dependency",
    ):
        assert name in stats, name
    assert stats["timing.cycles"] == model.cycles and stats["timing.branch.lookups"] == 5
    assert "timing.coherence.store_wait_cycles" not in stats  # only with other cores
    model.coherent = True
    assert model.stats()["timing.coherence.store_wait_cycles"] == 0


def test_bad_input_is_rejected_before_any_change():
    s = Stream(A55).run(0x1000, words(NOP, NOP))
    blocks, events, lats = s.arrays()
    model = TimingModel(A55)
    read = lambda a, n: s.code[a]  # noqa: E731
    with pytest.raises(ValueError, match="BLOCK_DTYPE"):
        model.account(np.zeros(1, [("addr", "<u8")]), events, lats, read)
    with pytest.raises(ValueError, match="latencies"):
        model.account(blocks, events, lats[:-1], read)
    bad = blocks.copy()
    bad["event_start"] = len(events) + 1
    with pytest.raises(ValueError, match="event_start"):
        model.account(bad, events, lats, read)
    with pytest.raises(ValueError, match="block id"):
        model.account(blocks, events, lats, np.array([7], np.uint32))
    with pytest.raises(TypeError):
        model.account(blocks, events, lats, 42)
    for marks in ([len(events)], [-1], [0, 0], [[0]]):
        with pytest.raises(ValueError, match="coherent"):
            model.account(blocks, events, lats, read, None, np.array(marks))
    assert model.cycles == 0 and model.instructions == 0


def test_a_block_cut_short_runs_only_its_executed_instructions():
    code = words(NOP, NOP, NOP, B_NE)
    s = Stream(A55).run(0x1000, code)
    s.blocks[0] = (0x1000, 16, 2, 0)  # an exception after two instructions
    model = TimingModel(A55)
    s.feed(model)
    assert model.instructions == 2
    Stream(A55).run(0x1000, code).feed(model)  # its branch was not executed: nothing to resolve
    assert model.counters()["cond_branches"] == 0


# ---------------------------------------------------------------------------------------------
# The reference and the compiled engine agree on random streams

PALETTE = [
    lambda d, n, m: 0x8B000000 | m << 16 | n << 5 | d,  # add xd, xn, xm
    lambda d, n, m: add_imm(d, n),
    lambda d, n, m: ldr(d, n, m % 8),
    lambda d, n, m: 0xF9000000 | n << 5 | d,  # str xd, [xn]
    lambda d, n, m: 0xA9400000 | m << 10 | n << 5 | d,  # ldp xd, xm, [xn]
    lambda d, n, m: 0xF8408400 | n << 5 | d,  # ldr xd, [xn], #8
    lambda d, n, m: 0x9B007C00 | m << 16 | n << 5 | d,  # mul
    lambda d, n, m: 0x9AC00C00 | m << 16 | n << 5 | d,  # sdiv
    lambda d, n, m: 0x1E602800 | m << 16 | n << 5 | d,  # fadd d
    lambda d, n, m: 0x1E601800 | m << 16 | n << 5 | d,  # fdiv d
    lambda d, n, m: 0xF1000400 | n << 5 | d,  # subs xd, xn, #1
    lambda d, n, m: 0xF8200000 | m << 16 | n << 5 | d,  # ldadd xm, xd, [xn]
    lambda d, n, m: 0xAD400000 | m << 10 | n << 5 | d,  # ldp qd, qm, [xn]
    lambda d, n, m: 0xD50B7420 | n,  # dc zva, xn
    lambda d, n, m: ISB,
    lambda d, n, m: 0xD53BD040 | d,  # mrs xd, tpidr_el0
    lambda d, n, m: DMB_ISH,
    lambda d, n, m: DSB_ISH,
    lambda d, n, m: DMB_ISHLD,
    lambda d, n, m: stlr(d, n),
    lambda d, n, m: stxr(m, d, n),
    lambda d, n, m: stadd(m, n),
    lambda d, n, m: 0xF8E00000 | m << 16 | n << 5 | d,  # ldaddal xm, xd, [xn]
    lambda d, n, m: str_(d, n),
    lambda d, n, m: 0xFFFFFFFF,  # unknown
]
ENDINGS = [None, B_NE, 0xB4000003, B, BL, BR_X4, BLR_X3, RET, SVC]
CORES = [
    A55,
    A72,
    A76,
    A77,
    with_predictor(A55, "bimodal", 64),
    with_predictor(A76, "gshare", 256, 3),
    dataclasses.replace(A76, timing=dataclasses.replace(A76.timing, rob_entries=8, mlp=2)),
]

insn_st = st.tuples(st.integers(0, len(PALETTE) - 1), *[st.integers(0, 30)] * 3)
block_st = st.tuples(st.lists(insn_st, min_size=0, max_size=12), st.sampled_from(ENDINGS))
lat_st = st.sampled_from([3, 4, 9, 30, 200, 350])


@settings(max_examples=60, deadline=None)
@given(
    core=st.sampled_from(CORES),
    pool=st.lists(block_st, min_size=1, max_size=6),
    order=st.lists(st.integers(0, 5), min_size=1, max_size=80),
    lat_seed=st.integers(0, 2**32 - 1),
    drops=st.lists(st.integers(0, 400), max_size=6),
    cuts=st.lists(st.integers(1, 79), max_size=4),
    externals=st.lists(st.integers(0, 100), max_size=3),
    coherent_share=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_reference_and_compiled_agree(
    core, pool, order, lat_seed, drops, cuts, externals, coherent_share
):
    codes, addr, addrs = [], 0x40_0000 - 8, []
    for body, ending in pool:
        ws = [PALETTE[p](d, n, m) for p, d, n, m in body] + ([ending] if ending else [])
        ws = ws or [NOP]
        codes.append(words(*ws))
        addrs.append(addr)
        addr += len(codes[-1])  # blocks are laid out back to back: k falls through to k+1
    s = Stream(core)
    rng = np.random.default_rng(lat_seed)
    for k in order:
        k %= len(pool)
        n_data = 64
        s.run(addrs[k], codes[k], data=rng.choice([3, 4, 9, 30, 200, 350], n_data).tolist())
    blocks, events, lats = s.arrays()
    fetch_lat = rng.choice([3, 4, 12, 60], len(events))
    lats = np.where(events["kind"] == FETCH, fetch_lat, lats).astype(np.int32)
    keep = np.ones(len(events), bool)  # drop some events: the engine must cope with surprises
    for d in drops:
        if d < len(events) and events["kind"][d] != FETCH:
            keep[d] = False
    new_index = np.cumsum(keep) - keep
    blocks["event_start"] = [
        new_index[i] if i < len(events) else keep.sum() for i in blocks["event_start"]
    ]
    events, lats = events[keep], lats[keep]
    # some writes needed coherence work (another core held their line)
    writes = np.flatnonzero(events["kind"] == WRITE)
    marks = np.sort(writes[rng.random(len(writes)) < coherent_share])

    models = [TimingModel(core, reference=r) for r in (True, False)]
    bounds = sorted({0, len(blocks), *[c for c in cuts if c < len(blocks)]})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        first = int(blocks["event_start"][lo])
        last = int(blocks["event_start"][hi]) if hi < len(blocks) else len(events)
        part = blocks[lo:hi].copy()
        part["event_start"] -= first
        times = [np.full(len(part), -1, np.int64) for _ in models]
        coherent = marks[(marks >= first) & (marks < last)] - first
        added = [
            m.account(
                part, events[first:last], lats[first:last], lambda a, n: s.code.get(a), t, coherent
            )
            for m, t in zip(models, times, strict=True)
        ]
        assert added[0] == added[1]
        # the clock after each block (what a stack profile attributes) agrees too, and ends
        # where the model's clock is
        assert np.array_equal(times[0], times[1])
        assert len(part) == 0 or times[0][-1] == models[0].clock
        assert np.all(np.diff(times[0]) >= 0)
        assert models[0].counters() == models[1].counters()
        if externals:
            for m in models:
                m.add_cycles(externals[lo % len(externals)])
    ref, fast = models
    assert ref.cycles == fast.cycles
    assert list(ref.engine.counts) == list(fast.engine.counts)
    assert set(ref.counters()) == set(COUNTERS)

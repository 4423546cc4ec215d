"""hmk.hw.explore gives the memory hierarchy's own counts: LRU stack distances equal the misses of
the batch engine's LRU caches of every associativity, and the multi-configuration simulator its
counters for one and two levels, LRU and tree-PLRU, nine / inclusive / exclusive; on random
traces and geometries (hypothesis) and on a recorded run of a bundled program."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmk.cli import main
from hmk.hw import explore
from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import FETCH, READ, make_events
from hmk.hw.explore import (
    COUNTERS,
    Geometry,
    evaluate,
    line_accesses,
    miss_curve,
    parse_sizes,
    stack_histogram,
)
from hmk.hw.tracefile import TraceWriter
from hmk.system import run_program
from hmk.workloads import path

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def engine_stats(events, l1d: CacheConfig, l2: CacheConfig | None = None) -> dict:
    """The batch engine's counters for `l1d` (and `l2` below it) alone: fetches are made
    loads so that every access enters the L1D (as explore's one entry level)."""
    events = events.copy()
    events["kind"][events["kind"] == FETCH] = READ
    l1i = CacheConfig("l1i", l1d.line, 1, l1d.line, 1)
    hier = BatchHierarchy(HierarchyConfig(cores=(CoreConfig(l1i, l1d, l2),)))
    hier.run(events)
    return hier.stats()


def as_counters(stats: dict, two_levels: bool) -> dict:
    out = dict.fromkeys(COUNTERS, 0)
    for name in COUNTERS:
        level, counter = name.split(".")
        key = {"l1": "cpu0.l1d", "l2": "cpu0.l2", "dram": "dram"}[level] + "." + counter
        if level != "l2" or two_levels:
            out[name] = stats[key]
    return out


@st.composite
def traces(draw):
    """Events over a few lines to a few hundred (hits, conflicts and capacity misses), of every
    kind and of sizes that straddle lines, at 16- to 64-byte lines."""
    line = draw(st.sampled_from([16, 32, 64]))
    n = draw(st.integers(0, 600))
    span = draw(st.sampled_from([1, 4, 32, 256])) * line
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    addr = rng.integers(0, span, n) + draw(st.sampled_from([0, 1 << 40]))
    size = rng.choice([1, 2, 4, 8, 16], n)
    size = np.minimum(size, line)
    kind = rng.integers(0, 3, n)
    return line, make_events(addr, kind, size)


def brute_distances(lines: list[int], sets: int) -> tuple[list[int], int]:
    """Stack distances by definition: distinct lines of the set since the last use."""
    last, out, cold = {}, [], 0
    for t, x in enumerate(lines):
        if x in last:
            between = {y for y in lines[last[x] + 1 : t] if y % sets == x % sets}
            out.append(len(between))
        else:
            cold += 1
        last[x] = t
    return out, cold


@SETTINGS
@given(traces(), st.sampled_from([1, 2, 4, 16]))
def test_stack_distances_by_definition(trace, sets):
    line, events = trace
    lines, _ = line_accesses(events, line)
    hist = stack_histogram(events, line, sets)
    want, cold = brute_distances(lines.tolist(), sets)
    assert hist.cold == cold
    assert hist.accesses == len(lines)
    if want:
        assert hist.counts.tolist() == np.bincount(want).tolist()
    else:
        assert not hist.counts.any()


@SETTINGS
@given(traces(), st.sampled_from([1, 2, 4, 16]), st.integers(2, 5))
def test_work_shared_among_cores_gives_the_same(trace, sets, cores):
    """Traces cut into parts converted on several cores, and sets passed in runs on several
    threads, give the accesses in order and the distances by definition (the pieces made
    tiny here so that every trace is cut)."""
    line, events = trace
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(explore, "cores", lambda: cores)
        mp.setattr(explore, "PART_EVENTS", 7)
        mp.setattr(explore, "RUN_ACCESSES", 5)
        lines, writes = line_accesses(events, line)
        hist = stack_histogram(events, line, sets)
    want, kinds = [], []
    for e in events.tolist():
        addr, kind, size = e[0], e[2], e[3]
        first, last = addr // line, (addr + size - 1) // line
        for x in (first,) if first == last else (first, last):
            want.append(x)
            kinds.append(kind)
    assert lines.tolist() == want
    assert writes.tolist() == [int(k == 1) for k in kinds]
    distances, cold = brute_distances(want, sets)
    assert hist.cold == cold
    assert hist.counts.tolist() == (np.bincount(distances).tolist() if distances else [0])


@SETTINGS
@given(traces(), st.sampled_from([1, 2, 4, 8, 32]))
def test_miss_curve_is_the_engines_lru_misses_at_every_associativity(trace, sets):
    line, events = trace
    ways = [1, 2, 3, 4, 5, 8, 16, 64]
    curve = miss_curve(events, line, sets, [sets * w for w in ways])
    for w in ways:
        stats = engine_stats(events, CacheConfig("l1d", sets * w * line, w, line, 1))
        assert curve[sets * w] == stats["cpu0.l1d.misses"], (sets, w)


@st.composite
def geometries(draw, line):
    def level(name, min_sets=1):
        replacement = draw(st.sampled_from(["lru", "plru"]))
        ways = draw(st.sampled_from([1, 2, 4, 8] if replacement == "plru" else [1, 2, 3, 5, 8]))
        sets = draw(st.sampled_from([s for s in (1, 2, 4, 8, 16) if s >= min_sets]))
        return sets * ways * line, ways, replacement

    size, ways, replacement = level("l1")
    if draw(st.booleans()):
        return Geometry(size, ways, line, replacement)
    inclusion = draw(st.sampled_from(["nine", "inclusive", "exclusive"]))
    l2_size, l2_ways, l2_replacement = level("l2", 2)
    if inclusion == "inclusive" and l2_size < size:
        inclusion = "nine"
    return Geometry(size, ways, line, replacement, l2_size, l2_ways, l2_replacement, inclusion)


@SETTINGS
@given(st.data())
def test_evaluate_is_the_engines_counters(data):
    line, events = data.draw(traces())
    configs = data.draw(st.lists(geometries(line), min_size=1, max_size=6))
    rows = evaluate(events, configs)
    for c, row in zip(configs, rows, strict=True):
        l1 = CacheConfig("l1d", c.size, c.ways, line, 1, c.replacement)
        l2 = None
        if c.l2_size is not None:
            l2 = CacheConfig("l2", c.l2_size, c.l2_ways, line, 2, c.l2_replacement, c.inclusion)
        want = as_counters(engine_stats(events, l1, l2), l2 is not None)
        assert {k: row[k] for k in COUNTERS} == want, c.label
        assert row["accesses"] == row["l1.hits"] + row["l1.misses"]


def test_data_and_fetch_kinds_are_the_engines_l1d_and_l1i():
    rng = np.random.default_rng(5)
    n = 20_000
    events = make_events(rng.integers(0, 1 << 16, n), rng.integers(0, 3, n), 8)
    l1 = CacheConfig("c", 4096, 4, 64, 1)
    hier = BatchHierarchy(HierarchyConfig(cores=(CoreConfig(l1, l1),)))
    hier.run(events)
    stats = hier.stats()
    for kinds, cache in (("data", "l1d"), ("fetch", "l1i")):
        (row,) = evaluate(events, [Geometry(4096, 4)], kinds=kinds)
        assert row["l1.misses"] == stats[f"cpu0.{cache}.misses"]
        assert miss_curve(events, 64, 16, [64], kinds=kinds)[64] == stats[f"cpu0.{cache}.misses"]


def test_asid_tells_address_spaces_apart():
    events = make_events([0x1000, 0x1000, 0x1000], READ, 8, asid=[1, 2, 1])
    assert miss_curve(events, 64, 1, [4])[4] == 1
    assert miss_curve(events, 64, 1, [4], asid=True)[4] == 2


def lru_stack_distances(lines: list[int], sets: int) -> tuple[list[int], int]:
    """Stack distances from LRU stacks kept as lists, most recent first (Mattson's walk)."""
    stacks = [[] for _ in range(sets)]
    out, cold = [], 0
    for x in lines:
        stack = stacks[x % sets]
        try:
            d = stack.index(x)
        except ValueError:
            cold += 1
        else:
            out.append(d)
            del stack[d]
        stack.insert(0, x)
    return out, cold


def test_many_distinct_lines_grow_every_structure():
    """Beyond the pass's first sizes (4096 lines, times and distances): 9000 distinct lines,
    reused at distances up to all of them."""
    rng = np.random.default_rng(11)
    lines = np.concatenate([np.arange(9000), rng.integers(0, 9000, 40_000)])
    events = make_events(lines * 64, rng.integers(0, 2, len(lines)), 8)
    for sets in (1, 4):
        hist = stack_histogram(events, 64, sets)
        want, cold = lru_stack_distances(lines.tolist(), sets)
        assert hist.cold == cold == 9000
        assert hist.counts.tolist() == np.bincount(want).tolist()
    assert len(stack_histogram(events, 64, 1).counts) > 4096
    for sets, ways in ((64, 64), (512, 16), (4096, 2)):
        stats = engine_stats(events, CacheConfig("l1d", sets * ways * 64, ways, 64, 1))
        assert stack_histogram(events, 64, sets).misses(ways) == stats["cpu0.l1d.misses"]
        (row,) = evaluate(events, [Geometry(sets * ways * 64, ways)])
        assert row["l1.writebacks"] == stats["cpu0.l1d.writebacks"] > 0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A bundled program's recorded run (compute: a matrix multiply and a sieve)."""
    trace = tmp_path_factory.mktemp("explore") / "compute.trace"
    out = io.BytesIO()
    run_program(str(path("compute")), ["24", "3000"], trace=str(trace), out=out, warnings=None)
    assert out.getvalue().startswith(b"compute: n=24")
    return trace


def test_a_recorded_run_gives_the_engines_counts(recorded):
    from hmk.hw.tracefile import TraceFile

    events = TraceFile(recorded).events()
    assert len(events) > 50_000
    curve = miss_curve(recorded, 64, 64, [64 * w for w in (1, 2, 4, 8, 16)])
    configs = [
        Geometry(s, w, 64, r) for s in (4096, 32768) for w in (2, 8) for r in ("lru", "plru")
    ]
    configs.append(Geometry(8192, 4, 64, "lru", 65536, 8, "plru", "inclusive"))
    rows = evaluate(recorded, configs)
    for w in (1, 2, 4, 8, 16):
        stats = engine_stats(events, CacheConfig("l1d", 64 * w * 64, w, 64, 1))
        assert curve[64 * w] == stats["cpu0.l1d.misses"]
    for c, row in zip(configs, rows, strict=True):
        l1 = CacheConfig("l1d", c.size, c.ways, 64, 1, c.replacement)
        l2 = c.l2_size and CacheConfig("l2", c.l2_size, c.l2_ways, 64, 2, "plru", c.inclusion)
        want = as_counters(engine_stats(events, l1, l2 or None), bool(l2))
        assert {k: row[k] for k in COUNTERS} == want, c.label


def test_command_line_table_and_json(recorded, capsys):
    assert main(["explore", str(recorded), "--sizes", "4K..16K", "--ways", "1,4", "--curve"]) == 0
    out = capsys.readouterr().out
    assert "4K 1-way lru" in out and "16K 4-way lru" in out
    assert "fully associative LRU" in out
    assert main(["explore", str(recorded), "--sizes", "8K", "--ways", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["configs"]
    assert row["config"] == "8K 2-way lru" and row["sets"] == 64
    assert doc["trace"]["events"] == row["accesses"]  # compute's accesses straddle no line
    (want,) = evaluate(recorded, [Geometry(8192, 2)])
    assert row == json.loads(json.dumps(want))
    assert main(["explore", str(recorded), "--sizes", "8K", "--l2", "64K:8:exclusive"]) == 0
    assert "l2 misses" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ways", "0"], "ways must be a positive integer, got 0"),
        (["--sizes", "12K", "--ways", "1"], "set count 192 is not a power of two"),
        (["--sizes", "12K", "--ways", "3", "--replacement", "plru"], "needs a power-of-two way"),
        (["--replacement", "fifo"], "replacement 'fifo' is not one of"),
        (["--sizes", "4K..1K"], "a range goes from a power of two up"),
        (["--sizes", "lots"], "not a size: 'lots'"),
        (["--line", "48"], "line size 48 is not a power of two"),
        (["--l2", "64K"], "expected SIZE:WAYS"),
        (["--l2", "4K:4:inclusive", "--sizes", "8K"], "an inclusive l2 smaller than the l1"),
    ],
)
def test_command_line_bad_geometry_is_one_error_line(recorded, capsys, argv, message):
    assert main(["explore", str(recorded), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hmk: error: ") and message in err and err.count("\n") == 1


def test_bad_trace_files_are_one_error_line(tmp_path, capsys):
    not_zip = tmp_path / "a.trace"
    not_zip.write_bytes(b"hello")
    with TraceWriter(tmp_path / "b.trace") as w:
        w.add(make_events([1 << 50], READ, 8))  # beyond the 48 bits an address has
    cases = {
        tmp_path / "missing": "cannot read",
        not_zip: "not a zip archive",
        tmp_path / "b.trace": "event 0: address beyond 48 bits",
    }
    for trace, message in cases.items():
        assert main(["explore", str(trace)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("hmk: error: ") and message in err, err


def test_api_errors():
    events = make_events([0, 64], READ, 8)
    with pytest.raises(ValueError, match="sets must be a power of two"):
        miss_curve(events, 64, 3)
    with pytest.raises(ValueError, match="not a positive multiple of 4 sets"):
        miss_curve(events, 64, 4, [6])
    with pytest.raises(ValueError, match="kinds must be one of"):
        line_accesses(events, 64, "loads")
    with pytest.raises(ValueError, match="access wider than a 16-byte cache line"):
        line_accesses(make_events([0], READ, 32), 16)
    with pytest.raises(TypeError, match="a trace is"):
        miss_curve([0, 64])
    with pytest.raises(TypeError, match="Geometry objects"):
        evaluate(events, [(4096, 4)])
    with pytest.raises(ValueError, match="line accesses are of one line size"):
        evaluate(line_accesses(events), [Geometry(4096, 4), Geometry(4096, 4, 32)])
    with pytest.raises(ValueError, match="needs both l2_size and l2_ways"):
        Geometry(4096, 4, l2_size=65536)


def test_several_line_sizes_in_one_call():
    rng = np.random.default_rng(3)
    events = make_events(rng.integers(0, 1 << 14, 5000), rng.integers(0, 3, 5000), 8)
    configs = [Geometry(2048, 2, 32), Geometry(4096, 4, 64, "plru"), Geometry(4096, 4, 128)]
    for c, row in zip(configs, evaluate(events, configs), strict=True):
        (alone,) = evaluate(events, [c])
        assert row == alone
        l1 = CacheConfig("l1d", c.size, c.ways, c.line, 1, c.replacement)
        assert row["l1.misses"] == engine_stats(events, l1)["cpu0.l1d.misses"]


def test_sizes():
    assert parse_sizes("4K..32K") == [4096, 8192, 16384, 32768]
    assert parse_sizes("32K,1M") == [32768, 1 << 20]


def test_an_empty_trace():
    events = make_events(np.zeros(0, np.int64), READ, 8)
    assert miss_curve(events, 64, 1) == {1: 0}
    (row,) = evaluate(events, [Geometry(4096, 4)])
    assert row["accesses"] == 0 and row["l1.miss_rate"] == 0.0

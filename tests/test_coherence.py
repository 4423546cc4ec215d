"""Coherence between the cores' private caches (docs/memory-hierarchy.md, "Coherence").

The Python reference and the compiled engine agree on random multi-core traces that share a few
lines between cores; hand-derived cases fix what each pattern costs and counts (every expected
number below follows from the rules in hmk.hw.reference); without coherence, with one core, or
with every event from one core, nothing changes; profiles state and validate their protocol; a
whole run on two cores pays for the lines its cores pass to each other.

Conventions: 64-byte lines, true LRU, non-inclusive ("nine") levels; L1D hits cost 4 cycles, the
private L2 9, the shared L3 28, DRAM 200; a transfer from another core 60, an upgrade 20.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hierarchy_equivalence import SETTINGS, _compare, hierarchies
from test_profiles import SOC, _edit, _fails, _write

from hmk.hw.config import CacheConfig, CoreConfig, HierarchyConfig
from hmk.hw.engine import BatchHierarchy
from hmk.hw.events import EVENT_DTYPE, READ, WRITE, make_events
from hmk.hw.pagetable import PAGE_SHIFT, PAGE_SIZE, FlatMemory, descriptor_fields, level_index
from hmk.hw.profile import load_soc
from hmk.hw.reference import MemoryHierarchy
from hmk.hw.synthetic import bench_hierarchy

ROOT = Path(__file__).resolve().parent.parent
LINE = 64
L1, L2, L3, DRAM = 4, 9, 28, 200
TRANSFER, UPGRADE = 60, 20
A = 0x10000  # a line all the cores use


@pytest.fixture(params=[MemoryHierarchy, BatchHierarchy], ids=["reference", "engine"])
def impl(request):
    return request.param


def cache(name, sets, ways, latency):
    return CacheConfig(name, sets * ways * LINE, ways, LINE, latency)


def hierarchy(cores=2, protocol="MESI", l2=True, l3=True):
    core = CoreConfig(
        l1i=cache("l1i", 4, 2, 2),
        l1d=cache("l1d", 4, 2, L1),
        l2=cache("l2", 8, 4, L2) if l2 else None,
        dram_latency=DRAM,
        transfer_latency=TRANSFER,
        upgrade_latency=UPGRADE,
    )
    shared = cache("l3", 16, 4, L3) if l3 else None
    return HierarchyConfig(cores=(core,) * cores, l3=shared, coherence=protocol)


def run(h, steps):
    """steps: (core, kind, address) in order; the latencies as a list."""
    ev = np.zeros(len(steps), dtype=EVENT_DTYPE)
    for i, (core, kind, addr) in enumerate(steps):
        ev[i]["core"], ev[i]["kind"], ev[i]["addr"], ev[i]["size"] = core, kind, addr, 8
    return h.run(ev).tolist()


def coherence_counts(h):
    """The non-zero coherence counters."""
    return {k: v for k, v in h.stats().items() if "coherence" in k and v}


# ---------------------------------------------------------------------------------------------
# The two implementations agree


@st.composite
def shared_traces(draw, cfg):
    """Batches over one to six lines every core uses: mostly writes and reads at different
    offsets, some fetches and line-straddling accesses."""
    lines = draw(st.lists(st.integers(0, 1 << 12), min_size=1, max_size=6, unique=True))
    batches = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 150))
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        for i in range(n):
            ev[i]["addr"] = draw(st.sampled_from(lines)) * cfg.line + draw(
                st.sampled_from([0, 8, cfg.line - 4])
            )
            ev[i]["kind"] = draw(st.sampled_from([READ, WRITE, WRITE, 2]))
            ev[i]["size"] = draw(st.sampled_from([1, 8, 8]))
            ev[i]["core"] = draw(st.integers(0, len(cfg.cores) - 1))
        batches.append((ev, "none", 0, 0))
    return batches


@SETTINGS
@given(st.data())
def test_engine_matches_reference_on_shared_lines(data):
    cfg = data.draw(hierarchies(cores=(2, 4), coherence=("MESI", "MOESI")))
    _compare(cfg, data.draw(shared_traces(cfg)), data)


@settings(SETTINGS, max_examples=100)
@given(st.data())
def test_at_most_one_core_holds_a_line_dirty(data):
    """After every event (reference model): a write removes the other copies, a read leaves the
    dirty copy where it was (MOESI) or cleans it (MESI), exclusive levels move lines whole."""
    cfg = data.draw(hierarchies(cores=(2, 4), coherence=("MESI", "MOESI"), tlb=False))
    h = MemoryHierarchy(cfg)
    for ev, *_ in data.draw(shared_traces(cfg)):
        for i in range(len(ev)):
            h.run(ev[i : i + 1])
            owners = {}
            for x, core in enumerate(h.layout.owner):
                for ways in h.caches[x].sets if core >= 0 else ():
                    for slot in ways:
                        if slot is not None and slot[1]:  # [line, dirty, last use]
                            owners.setdefault(slot[0], set()).add(core)
            assert all(len(cores) == 1 for cores in owners.values()), owners


def test_engine_matches_reference_on_a_long_random_trace():
    """Many lines, four cores, TLB-less: evictions, back-invalidations and coherence together."""
    rng = np.random.default_rng(7)
    n = 20_000
    for protocol in ("MESI", "MOESI"):
        cfg = hierarchy(cores=4, protocol=protocol)
        ev = make_events(
            rng.integers(0, 256, n) * LINE + rng.choice([0, 8, 60], n),
            rng.choice([READ, WRITE, 2], n, p=[0.5, 0.4, 0.1]),
            rng.choice([1, 8], n),
            0,
            rng.integers(0, 4, n),
        )
        ref, eng = MemoryHierarchy(cfg), BatchHierarchy(cfg)
        assert np.array_equal(ref.run(ev), eng.run(ev))
        assert np.array_equal(ref.coherent_writes(), eng.coherent_writes())
        assert len(eng.coherent_writes()) > 0
        assert ref.stats() == eng.stats()
        assert eng.stats()["cpu0.coherence.transfers_in"] > 0


# ---------------------------------------------------------------------------------------------
# Hand-derived patterns


@pytest.mark.parametrize("protocol", ["MESI", "MOESI"])
def test_ping_pong_writes_invalidate_each_other(impl, protocol):
    """Two cores write one line in turn: after the first write (from DRAM), each write finds the
    line dirty in the other core: it comes from there and the other's copies are invalidated."""
    h = impl(hierarchy(protocol=protocol))
    steps = [(i % 2, WRITE, A + 8 * (i % 2)) for i in range(10)]
    assert run(h, steps) == [DRAM] + [TRANSFER] * 9
    assert coherence_counts(h) == {
        # core 1's five writes each invalidated core 0's L1D and L2 copies; core 0's last four
        "cpu0.l1d.coherence_invalidations": 5,
        "cpu0.l2.coherence_invalidations": 5,
        "cpu1.l1d.coherence_invalidations": 4,
        "cpu1.l2.coherence_invalidations": 4,
        "cpu0.coherence.upgrades": 4,
        "cpu1.coherence.upgrades": 5,
        "cpu0.coherence.transfers_in": 4,
        "cpu0.coherence.transfers_out": 5,
        "cpu1.coherence.transfers_in": 5,
        "cpu1.coherence.transfers_out": 4,
    }
    st_ = h.stats()
    assert (st_["dram.reads"], st_["dram.writes"]) == (1, 0)  # the dirty line moved, never written


def test_false_sharing_costs_more_than_padding(impl):
    """Two cores each write their own counter 20 times: in one line every write takes the line
    from the other core; a line apart, every write after the first of each core hits its L1D."""
    rounds = 20
    shared = [(c, WRITE, A + 8 * c) for _ in range(rounds) for c in (0, 1)]
    padded = [(c, WRITE, A + LINE * c) for _ in range(rounds) for c in (0, 1)]
    h_shared, h_padded = impl(hierarchy()), impl(hierarchy())
    lat_shared, lat_padded = run(h_shared, shared), run(h_padded, padded)
    assert lat_shared == [DRAM] + [TRANSFER] * (2 * rounds - 1)
    assert lat_padded == [DRAM, DRAM] + [L1] * (2 * rounds - 2)
    assert sum(lat_shared) > sum(lat_padded)
    assert sum(lat_shared[2:]) == (TRANSFER / L1) * sum(lat_padded[2:])  # 15x once warm
    assert coherence_counts(h_padded) == {}
    counts = coherence_counts(h_shared)
    assert counts["cpu0.coherence.upgrades"] + counts["cpu1.coherence.upgrades"] == 2 * rounds - 1
    # the writes the other cores see only after their latency: all but the first in one line
    assert h_shared.coherent_writes().tolist() == list(range(1, 2 * rounds))
    assert h_padded.coherent_writes().tolist() == []


def test_coherent_writes_are_the_writes_that_took_a_copy_away(impl):
    """A write that found other copies (an upgrade: 0's second write after 1 read the line) or
    took the line from another core (a transfer) is marked; a read, a write to a line no other
    core holds, and an atomic's read half are not. Marks are per batch."""
    h = impl(hierarchy())
    steps = [
        (0, WRITE, A),  # 0: from DRAM, nobody else holds it
        (1, READ, A),  # 1: a transfer, but a read
        (0, WRITE, A),  # 2: an upgrade (1 holds a clean copy)
        (0, WRITE, A + 8),  # 3: 0 holds it alone now
        (1, READ, A + 8),  # 4: an atomic's read half: a transfer
        (1, WRITE, A + 8),  # 5: and its write half: an upgrade
        (0, READ, A + LINE),  # 6
    ]
    assert run(h, steps) == [DRAM, TRANSFER, UPGRADE, L1, TRANSFER, UPGRADE, DRAM]
    assert h.coherent_writes().tolist() == [2, 5]
    run(h, [(0, READ, A), (0, WRITE, A)])  # 0 takes the line back from 1: a transfer, then
    assert h.coherent_writes().tolist() == [1]  # the write removes 1's copy (in this batch)
    run(h, [(0, WRITE, A)])
    assert h.coherent_writes().tolist() == []


def test_one_core_marks_no_write(impl):
    ev = _random_events(2000, 1)
    for cfg in (hierarchy(cores=1), hierarchy(cores=2, protocol=None)):
        h = impl(cfg)
        h.run(ev)
        assert h.coherent_writes().tolist() == []


@pytest.mark.parametrize("l3", [True, False], ids=["l3", "no-l3"])
def test_a_consumer_reads_a_dirty_line_from_its_producer(impl, l3):
    """Core 0 writes a line, core 1 reads it: the line comes from core 0 at the transfer latency,
    not from the L3 or DRAM. MESI: core 0 writes it back (to the L3, which holds it, else to
    DRAM) and both keep clean copies, so reads hit and a write by core 0 must invalidate core 1."""
    h = impl(hierarchy(l3=l3))
    assert run(h, [(0, WRITE, A), (1, READ, A + 8)]) == [DRAM, TRANSFER]
    st_ = h.stats()
    assert st_["cpu1.coherence.transfers_in"] == st_["cpu0.coherence.transfers_out"] == 1
    assert st_["cpu0.coherence.downgrades"] == 1
    assert st_["dram.reads"] == 1  # only the producer's first miss
    assert st_["dram.writes"] == (0 if l3 else 1)
    if l3:
        assert st_["l3.read_misses"] == 0  # the consumer did not ask the L3
    # both read their copies; the producer's next write is an upgrade: it invalidates core 1
    assert run(h, [(1, READ, A), (0, READ, A), (0, WRITE, A)]) == [L1, L1, UPGRADE]
    assert h.stats()["cpu1.l1d.coherence_invalidations"] == 1
    assert h.stats()["cpu1.l2.coherence_invalidations"] == 1
    assert run(h, [(0, WRITE, A)]) == [L1]  # now the only copy: no upgrade


def test_a_clean_line_in_another_core_comes_from_the_shared_level(impl):
    h = impl(hierarchy())
    assert run(h, [(0, READ, A), (1, READ, A)]) == [DRAM, L3]
    assert coherence_counts(h) == {}
    # a write to a line both hold clean: an upgrade, the other copy removed
    assert run(h, [(1, WRITE, A)]) == [UPGRADE]
    assert coherence_counts(h) == {
        "cpu0.l1d.coherence_invalidations": 1,
        "cpu0.l2.coherence_invalidations": 1,
        "cpu1.coherence.upgrades": 1,
    }


@pytest.mark.parametrize(
    "protocol, third_read, writebacks, dram_writes",
    [
        # MESI: the first reader's transfer cleaned the producer's copy (a write-back to DRAM);
        # the third core finds no dirty copy and reads DRAM
        ("MESI", DRAM, 1, 1),
        # MOESI: the producer keeps the line dirty (Owned) and serves every reader; nothing is
        # written back
        ("MOESI", TRANSFER, 0, 0),
    ],
)
def test_mesi_writes_back_where_moesi_keeps_the_line_owned(
    impl, protocol, third_read, writebacks, dram_writes
):
    h = impl(hierarchy(cores=3, protocol=protocol, l3=False))
    assert run(h, [(0, WRITE, A), (1, READ, A), (2, READ, A)]) == [DRAM, TRANSFER, third_read]
    st_ = h.stats()
    assert st_["cpu0.coherence.downgrades"] == writebacks
    assert st_["cpu0.coherence.transfers_out"] == 1 + (protocol == "MOESI")
    assert st_["dram.writes"] == dram_writes
    # the producer evicts the line (five more lines of its L1D and L2 set): under MOESI the owner
    # now writes it back; under MESI it is clean and nothing more is written
    conflicting = [(0, READ, A + k * 8 * 4 * LINE) for k in range(1, 6)]
    run(h, conflicting)
    assert h.stats()["dram.writes"] == 1


def test_moesi_owner_loses_the_line_to_a_writer(impl):
    """MOESI: core 0 owns a dirty line core 1 shares; core 1's write takes the dirty data over
    (no write-back) and invalidates core 0; core 0's next read comes from core 1."""
    h = impl(hierarchy(protocol="MOESI"))
    assert run(h, [(0, WRITE, A), (1, READ, A), (1, WRITE, A), (0, READ, A)]) == [
        DRAM,
        TRANSFER,
        UPGRADE,
        TRANSFER,
    ]
    st_ = h.stats()
    assert st_["dram.writes"] == 0 and st_["cpu0.coherence.downgrades"] == 0
    assert st_["cpu0.l1d.coherence_invalidations"] == 1


def _leaf_descriptor(mem, va):
    """The physical address of the level-3 descriptor that maps `va` in ASID 0."""
    table = int(mem.roots[0])
    for level in range(3):
        at = table + 8 * level_index(va, level)
        table = descriptor_fields(int(mem.ram[at : at + 8].view(np.uint64)[0]), level)[1]
    return table + 8 * level_index(va, 3)


def test_a_walk_reads_a_descriptor_another_core_wrote(impl):
    """Walk loads are reads: core 1 writes the line of a page's leaf descriptor (as a kernel
    updating a PTE would), then core 0's walk for that page takes the line from core 1."""
    base = bench_hierarchy(tlb=True)
    core = dataclasses.replace(base.cores[0], transfer_latency=TRANSFER, upgrade_latency=UPGRADE)
    cfg = HierarchyConfig(cores=(core, core), l3=base.l3, coherence="MESI")
    mem = FlatMemory(1 << 22, table_frames=16)
    data, window = 0x10 << PAGE_SHIFT, 0x20 << PAGE_SHIFT
    mem.map_pages(0, [data >> PAGE_SHIFT])
    leaf = _leaf_descriptor(mem, data)
    mem.tables.map(mem.root(0), window, leaf & ~(PAGE_SIZE - 1))  # a view of the leaf table
    h = impl(cfg, ram=mem.ram, roots=mem.roots)
    h.access(window + (leaf & (PAGE_SIZE - 1)), "write", core=1)
    h.access(data, "read", core=0)
    st_ = h.stats()
    assert st_["cpu0.walker.walks"] == 1
    assert st_["cpu0.coherence.transfers_in"] == st_["cpu1.coherence.transfers_out"] == 1
    assert st_["cpu1.coherence.downgrades"] == 1  # MESI: core 1 keeps a clean copy


# ---------------------------------------------------------------------------------------------
# Nothing changes with one core, or with every event from one core


def _random_events(n, cores, seed=3):
    rng = np.random.default_rng(seed)
    return make_events(
        rng.integers(0, 512, n) * LINE + rng.choice([0, 8, 60], n),
        rng.choice([READ, WRITE, 2], n),
        rng.choice([1, 8], n),
        0,
        rng.integers(0, cores, n) if cores > 1 else 0,
    )


@pytest.mark.parametrize("protocol", ["MESI", "MOESI"])
def test_one_core_is_unchanged(impl, protocol):
    ev = _random_events(5000, 1)
    plain, coherent = impl(hierarchy(1, None)), impl(hierarchy(1, protocol))
    assert np.array_equal(plain.run(ev), coherent.run(ev))
    assert plain.stats() == coherent.stats()  # not even a new (zero) counter


@pytest.mark.parametrize("core", [0, 1])
def test_events_from_one_core_are_unchanged(impl, core):
    ev = _random_events(5000, 1)
    ev["core"] = core
    plain, coherent = impl(hierarchy(2, None)), impl(hierarchy(2, "MOESI"))
    assert np.array_equal(plain.run(ev), coherent.run(ev))
    with_coherence = coherent.stats()
    assert {k: v for k, v in with_coherence.items() if "coherence" in k} == {
        k: 0 for k in with_coherence if "coherence" in k
    }
    assert plain.stats() == {k: v for k, v in with_coherence.items() if "coherence" not in k}


def test_without_coherence_cores_keep_their_own_copies(impl):
    """No coherence: core 1 reads the line from the L3 although core 0 holds it dirty, and the
    two write their own copies without a cost."""
    h = impl(hierarchy(protocol=None))
    steps = [(0, WRITE, A), (1, READ, A), (1, WRITE, A), (0, READ, A)]
    assert run(h, steps) == [DRAM, L3, L1, L1]
    assert coherence_counts(h) == {}


# ---------------------------------------------------------------------------------------------
# Configuration and profiles


@pytest.mark.parametrize(
    "change, words",
    [
        ({"coherence": "MSI"}, ["'MSI'", "MESI"]),
        ({"coherence": "mesi"}, ["'mesi'"]),
        ({"mode": "cachegrind"}, ["cachegrind"]),
    ],
)
def test_bad_coherence_configuration(change, words):
    cfg = hierarchy()
    with pytest.raises(ValueError) as info:
        dataclasses.replace(cfg, **change)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("key", ["transfer_latency", "upgrade_latency"])
@pytest.mark.parametrize("value", [0, -5, 10_001, 2.5, True])
def test_bad_coherence_latency(key, value):
    with pytest.raises(ValueError, match=key):
        CoreConfig(cache("l1i", 1, 1, 2), cache("l1d", 1, 1, 4), **{key: value})


def test_coherence_needs_every_cores_latencies():
    core = hierarchy().cores[0]
    with pytest.raises(ValueError, match="core 1: coherence needs"):
        HierarchyConfig(
            cores=(core, dataclasses.replace(core, upgrade_latency=None)), coherence="MESI"
        )


def test_bundled_profiles_state_their_protocol():
    for name in ("rpi4", "kirin9000", "kirin990"):
        soc = load_soc(name)
        h = soc.hierarchy()
        assert h.coherence == soc.coherence.protocol == "MESI"
        for cluster, core in zip(
            [c for c in soc.clusters for _ in range(c.count)], h.cores, strict=True
        ):
            assert core.transfer_latency == round(soc.coherence.transfer_ns * cluster.ghz)
            assert core.upgrade_latency == round(soc.coherence.upgrade_ns * cluster.ghz)
            assert core.upgrade_latency <= core.transfer_latency < core.dram_latency
    rpi = load_soc("rpi4").hierarchy()
    assert (rpi.cores[0].transfer_latency, rpi.cores[0].upgrade_latency) == (135, 26)


COHERENCE = '\n[coherence]\nprotocol = "MOESI"\ntransfer_ns = 40\nupgrade_ns = 12.5\n'


def test_a_profile_coherence_section(tmp_path):
    soc = load_soc(_write(tmp_path, soc=_edit(SOC, "\n[[cluster]]", COHERENCE + "\n[[cluster]]")))
    assert (soc.coherence.protocol, soc.coherence.transfer_ns, soc.coherence.upgrade_ns) == (
        "MOESI",
        40.0,
        12.5,
    )
    h = soc.hierarchy()
    assert h.coherence == "MOESI"
    assert [(c.transfer_latency, c.upgrade_latency) for c in h.cores][1:3] == [(80, 25), (60, 19)]
    assert soc.as_dict()["coherence"] == {
        "protocol": "MOESI",
        "transfer_ns": 40.0,
        "upgrade_ns": 12.5,
    }
    # without the section: no coherence
    assert load_soc(_write(tmp_path)).hierarchy().coherence is None


@pytest.mark.parametrize(
    "old, new, key, words",
    [
        ('"MOESI"', '"MSI"', "coherence.protocol", ["MESI", "MOESI", "'MSI'"]),
        ('"MOESI"', "1", "coherence.protocol", ["string"]),
        ("transfer_ns = 40", "transfer_ns = -40", "coherence.transfer_ns", ["positive"]),
        ("upgrade_ns = 12.5", "upgrade_ns = 0", "coherence.upgrade_ns", ["positive"]),
        ("upgrade_ns = 12.5", "upgrade_ns = 5000", "coherence.upgrade_ns", ["at most"]),
        ("transfer_ns = 40\n", "", "coherence.transfer_ns", ["missing"]),
        ("upgrade_ns = 12.5", "upgrade_ns = 12.5\nsnoop_ns = 3", "coherence.snoop_ns", ["unknown"]),
    ],
)
def test_bad_profile_coherence(tmp_path, old, new, key, words):
    soc = _edit(SOC, "\n[[cluster]]", _edit(COHERENCE, old, new) + "\n[[cluster]]")
    _fails(_write(tmp_path, soc=soc), key, *words)


# ---------------------------------------------------------------------------------------------
# A whole run on several cores


def _run_lat_pipe(profile, cores):
    import io  # noqa: PLC0415

    from hmk.system import run_program  # noqa: PLC0415
    from hmk.workloads import path  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(str(path("lat")), ["pipe", "20"], out=out, profile=profile, cores=cores)
    assert out.getvalue() == b"lat: op=pipe n=20 ok=20\n"
    return result


def test_a_pipe_between_two_cores_pays_for_its_lines(tmp_path):
    """The Pi 4B with and without its [coherence]: on one core the runs are the same; on two,
    the pipe's buffers and the kernel's state move between the cores' caches and cost cycles."""
    text = (ROOT / "hardware_profiles" / "rpi4.toml").read_text()
    start = text.index("[coherence]")
    plain = tmp_path / "rpi4.toml"
    plain.write_text(text[:start] + text[text.index("[[cluster]]") :])
    (tmp_path / "cores").symlink_to(ROOT / "hardware_profiles" / "cores")
    one, one_plain = _run_lat_pipe("rpi4", 1), _run_lat_pipe(str(plain), 1)
    assert one.stats == one_plain.stats
    two, two_plain = _run_lat_pipe("rpi4", 2), _run_lat_pipe(str(plain), 2)
    transfers = sum(two.stats[f"system.cpu{c}.coherence.transfers_in"] for c in (0, 1))
    assert transfers > 20  # at least one a round trip
    assert not any("coherence" in name for name in two_plain.stats)
    assert two.cycles > two_plain.cycles

"""Hardware profiles: the bundled ones load and resolve, every number cites a source, and every
kind of bad profile gives a one-line ProfileError naming the file and the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hmk.cpu.timing import Params
from hmk.hw.config import CacheConfig, HierarchyConfig
from hmk.hw.profile import (
    DEFAULT_PROFILE,
    ProfileError,
    SoC,
    describe_core,
    list_profiles,
    load_core,
    load_profile,
    load_soc,
    profile_dir,
)

ROOT = Path(__file__).resolve().parent.parent
SOCS = ["kirin9000", "kirin990", "rpi4"]
CORES = ["cortex-a55", "cortex-a72", "cortex-a76", "cortex-a77"]
BUNDLED = sorted(ROOT.glob("hardware_profiles/*.toml")) + sorted(
    ROOT.glob("hardware_profiles/cores/*.toml")
)


@pytest.fixture(autouse=True)
def _bundled_profiles(monkeypatch):
    monkeypatch.delenv("HMK_PROFILES", raising=False)


# ---------------------------------------------------------------------------------------------
# The bundled profiles


def test_profile_dir_is_next_to_the_package():
    assert profile_dir() == ROOT / "hardware_profiles"


def test_list_profiles_has_every_bundled_profile():
    found = {(p.name, p.kind) for p in list_profiles()}
    assert found == {(n, "soc") for n in SOCS} | {(n, "core") for n in CORES}
    assert all(p.description and not p.description.startswith("(invalid") for p in list_profiles())


@pytest.mark.parametrize("name", SOCS)
def test_soc_loads_and_resolves(name):
    soc = load_soc(name)
    assert soc.name == name == soc.source.stem
    h = soc.hierarchy()
    assert isinstance(h, HierarchyConfig)
    assert h.name == name
    assert len(h.cores) == soc.core_count
    assert h.l3 == soc.l3
    i = 0
    for cluster in soc.clusters:
        for _ in range(cluster.count):
            core = h.cores[i]
            assert core.ghz == cluster.ghz
            assert core.l1d == cluster.core.l1d and core.l2 == cluster.core.l2
            assert core.dram_latency == round(soc.dram_latency_ns * cluster.ghz)
            assert core.l3_latency > (core.l2 or core.l1d).latency
            assert core.dram_latency > core.l3_latency
            assert h.extras["cluster_of_core"][i] == cluster.name
            i += 1


@pytest.mark.parametrize("name", CORES)
def test_core_loads(name):
    core = load_core(name)
    assert core.name == name == core.source.stem
    assert core.l1d.line == core.l1i.line == 64
    assert core.asid_bits == 16


def test_core_timing_parameters():
    a55, a72, a76, a77 = (load_core(n).timing for n in CORES)
    assert load_core("cortex-a55").pipeline == "in-order"
    assert a55.rob_entries == a55.mlp == 0  # an in-order core has no window
    assert (a72.rob_entries, a76.rob_entries, a77.rob_entries) == (128, 128, 160)
    assert a72.mlp == 6
    for t in (a55, a72, a76, a77):
        assert t.predictor in ("bimodal", "gshare")
        assert t.predictor_entries & (t.predictor_entries - 1) == 0
        assert 0 < t.history_bits <= t.predictor_entries.bit_length() - 1
        assert t.div_latency > t.mul_latency and t.fp_div_latency > t.fp_latency
    # every bundled core gives its store-to-load forwarding latency (docs/sources.md)
    assert [t.store_forward_latency for t in (a55, a72, a76, a77)] == [3, 7, 6, 5]


def test_store_forward_latency_defaults_to_the_l1d_hit(tmp_path):
    soc = load_soc(_write(tmp_path))  # CORE gives no store_forward_latency
    core = soc.clusters[0].core
    assert core.timing.store_forward_latency is None
    assert core.timing.forward_latency(core.l1d.latency) == core.l1d.latency == 4
    assert Params.of(core).forward == 4
    # a cluster that changes the L1D latency changes the default with it
    slower = dataclasses.replace(core, l1d=dataclasses.replace(core.l1d, latency=6))
    assert Params.of(slower).forward == 6
    assert any("forwarding 4 cycles (as an L1D hit" in line for line in describe_core(core))
    given = _write(tmp_path, core=_edit(CORE, "mlp = 8", "mlp = 8\nstore_forward_latency = 9"))
    core = load_soc(given).clusters[0].core
    assert core.timing.store_forward_latency == Params.of(core).forward == 9
    assert any(line.strip() == "store-to-load forwarding 9 cycles" for line in describe_core(core))


def test_a_bimodal_in_order_core_loads(tmp_path):
    core = CORE.replace('"out-of-order"', '"in-order"').replace('"gshare"', '"bimodal"')
    for line in ("history_bits = 12\n", "rob_entries = 128\n", "mlp = 8\n"):
        core = _edit(core, line, "")
    (tmp_path / "core.toml").write_text(core)
    timing = load_core(tmp_path / "core.toml").timing
    assert (timing.predictor, timing.history_bits, timing.rob_entries, timing.mlp) == (
        "bimodal",
        0,
        0,
        0,
    )


def test_default_profile_is_kirin9000():
    assert DEFAULT_PROFILE == "kirin9000"
    assert load_soc().name == "kirin9000"


def test_kirin9000_clusters():
    soc = load_soc("kirin9000")
    got = [(c.name, c.core.name, c.count, c.ghz) for c in soc.clusters]
    assert got == [
        ("prime", "cortex-a77", 1, 3.13),
        ("big", "cortex-a77", 3, 2.54),
        ("little", "cortex-a55", 4, 2.05),
    ]
    little = soc.cluster("little").core
    assert little.l2.size == 128 * 1024 and little.l2.inclusion == "exclusive"
    assert soc.cluster(0).core.l2.inclusion == "inclusive"
    # the L3 latency is a time: fewer cycles on a slower core
    h = soc.hierarchy()
    assert h.cores[0].l3_latency == soc.l3.latency
    assert h.cores[0].l3_latency > h.cores[1].l3_latency > h.cores[4].l3_latency
    assert h.cores[0].dram_latency == round(soc.dram_latency_ns * 3.13)


def test_kirin990_clusters():
    soc = load_soc("kirin990")
    got = [(c.core.name, c.count, c.ghz) for c in soc.clusters]
    assert got == [("cortex-a76", 2, 2.86), ("cortex-a76", 2, 2.36), ("cortex-a55", 4, 1.95)]


def test_rpi4_shared_l2_is_the_last_level():
    soc = load_soc("rpi4")
    assert [(c.core.name, c.count, c.ghz) for c in soc.clusters] == [("cortex-a72", 4, 1.5)]
    assert soc.l3.name == "L2" and soc.l3.size == 1024 * 1024 and soc.l3.ways == 16
    h = soc.hierarchy()
    assert all(c.l2 is None and c.tlb.walk_from == "l1d" for c in h.cores)


def test_hierarchy_selects_a_cluster_and_caps_cores():
    soc = load_soc("kirin9000")
    little = soc.hierarchy("little")
    assert len(little.cores) == 4 and {c.ghz for c in little.cores} == {2.05}
    assert soc.hierarchy(2) == little
    assert len(soc.hierarchy(cores=2).cores) == 2
    assert soc.hierarchy(cores=2).cores[1].ghz == 2.54
    assert len(soc.hierarchy("big", cores=99).cores) == 3
    with pytest.raises(ProfileError, match="no cluster 'huge'; clusters: prime, big, little"):
        soc.hierarchy("huge")
    with pytest.raises(ProfileError, match="no cluster 3"):
        soc.hierarchy(3)
    with pytest.raises(ValueError):
        soc.hierarchy(cores=0)


def test_load_profile_returns_either_kind():
    assert isinstance(load_profile("rpi4"), SoC)
    assert load_profile("cortex-a55").name == "cortex-a55"
    assert isinstance(load_profile(ROOT / "hardware_profiles" / "kirin990.toml"), SoC)
    assert load_profile(str(ROOT / "hardware_profiles/cores/cortex-a76.toml")).name == "cortex-a76"


# ---------------------------------------------------------------------------------------------
# Every number cites its source


def _value_lines(path: Path):
    """(dotted key, value text, comment) for each `key = value` line of a profile."""
    table, clusters = "", -1
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[[cluster]]"):
            clusters += 1
            table = f"cluster[{clusters}]"
            continue
        if stripped.startswith("["):
            name = stripped.strip("[]").split("#")[0].strip()
            table = name.replace("cluster.", f"cluster[{clusters}].")
            continue
        body, _, comment = stripped.partition("#")  # no value of ours contains '#'
        key, _, value = body.partition("=")
        key = key.strip()
        yield (f"{table}.{key}" if table else key), value.strip(), comment.strip()


# strings that are facts, too
FACTS = {"pipeline", "replacement", "inclusion", "walk_from", "predictor", "protocol"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_number_has_a_source_or_an_assumption(path):
    checked = 0
    for key, value, comment in _value_lines(path):
        if not (re.fullmatch(r"[-+]?\d[\d_.]*", value) or key.split(".")[-1] in FACTS):
            continue
        checked += 1
        assert len(comment) >= 5, f"{path.name}: {key} = {value} has no source comment"
        if "assumed" in comment.lower():
            assert re.search(r"assumed: \S", comment), f"{path.name}: {key}: say 'assumed: <why>'"
    assert checked >= 4


def test_every_assumption_is_in_the_docs_table():
    doc = (ROOT / "docs" / "hardware-profiles.md").read_text(encoding="utf-8")
    rows = [line for line in doc.splitlines() if line.startswith("|")]
    for path in BUNDLED:
        for key, value, comment in _value_lines(path):
            if comment.lower().startswith("assumed"):
                wanted = f"| `{path.stem}` | `{key}` | {value} |"
                assert any(row.startswith(wanted) for row in rows), f"docs lack: {wanted}"


# ---------------------------------------------------------------------------------------------
# Validation: every problem is one line naming the file and the key

CORE = """\
name = "test-core"
description = "a core for tests"
pipeline = "out-of-order"
issue_width = 4
branch_mispredict_penalty = 11
exception_entry = 30
exception_return = 30
asid_bits = 16

[l1i]
size_kib = 64
ways = 4
line = 64
latency = 4
replacement = "plru"

[l1d]
size_kib = 64
ways = 4
line = 64
latency = 4
replacement = "plru"

[l2]
size_kib = 512
ways = 8
line = 64
latency = 9
replacement = "plru"
inclusion = "inclusive"

[tlb]
l1i_entries = 48
l1d_entries = 48
l2_entries = 1280
l2_ways = 5
l2_latency = 3
walk_cache_entries = 64
walk_cache_ways = 4
walk_cache_latency = 4
walk_from = "l2"

[timing]
mul_latency = 4
div_latency = 20
fp_latency = 2
fp_div_latency = 15
predictor = "gshare"
predictor_entries = 4096
history_bits = 12
return_stack = 16
indirect_entries = 256
rob_entries = 128
mlp = 8
"""

SOC = """\
name = "test-soc"
description = "a SoC for tests"
dram_latency_ns = 100

[l3]
size_kib = 2048
ways = 16
line = 64
latency = 30
latency_ghz = 2.0
replacement = "lru"
inclusion = "nine"

[[cluster]]
name = "big"
core = "test-core"
count = 2
ghz = 2.0

[[cluster]]
name = "little"
core = "cortex-a55"
count = 4
ghz = 1.5

[cluster.l2]
size_kib = 256
"""


def _write(tmp_path: Path, core: str = CORE, soc: str = SOC) -> Path:
    (tmp_path / "cores").mkdir(exist_ok=True)
    (tmp_path / "cores" / "test-core.toml").write_text(core)
    (tmp_path / "test-soc.toml").write_text(soc)
    return tmp_path / "test-soc.toml"


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _fails(path: Path, key: str, *words: str) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_soc(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(info.value.path)), message
    assert info.value.path.name in message
    assert f": {key}: " in message, message
    for word in words:
        assert word in message, message
    return info.value


def test_the_test_profiles_are_valid(tmp_path):
    soc = load_soc(_write(tmp_path))
    assert [c.core.name for c in soc.clusters] == ["test-core", "cortex-a55"]
    assert soc.cluster("little").core.l2.size == 256 * 1024
    assert soc.cluster("little").core.l2.ways == 4  # not overridden: the core's value
    assert len(soc.hierarchy().cores) == 6


CORE_CASES = [
    ("unknown key", "ways = 8\n", "ways = 8\nwayz = 8\n", "l2.wayz", ["unknown key"]),
    ("typo suggestion", "issue_width = 4", "issue_widht = 4", "issue_widht", ["'issue_width'"]),
    ("missing field", "latency = 9\n", "", "l2.latency", ["missing"]),
    ("missing table", "[tlb]", "[tlbx]", "tlbx", ["unknown key"]),
    ("bool is no int", "issue_width = 4", "issue_width = true", "issue_width", ["integer"]),
    ("string for int", "asid_bits = 16", 'asid_bits = "16"', "asid_bits", ["integer"]),
    ("float for int", "l2_ways = 5", "l2_ways = 5.0", "tlb.l2_ways", ["integer"]),
    ("zero", "issue_width = 4", "issue_width = 0", "issue_width", ["positive"]),
    ("negative", "exception_entry = 30", "exception_entry = -30", "exception_entry", ["positive"]),
    ("bad choice", 'pipeline = "out-of-order"', 'pipeline = "ooo"', "pipeline", ["in-order"]),
    ("sets not pow2", "size_kib = 512", "size_kib = 384", "l2.size_kib", ["power of two"]),
    ("not a multiple", "ways = 8", "ways = 6", "l2.size_kib", ["multiple", "6 x 64"]),
    ("line not pow2", "line = 64\nlatency = 9", "line = 96\nlatency = 9", "l2.line", ["power"]),
    (
        "plru needs pow2 ways",
        "size_kib = 512\nways = 8",
        "size_kib = 96\nways = 3",
        "l2.replacement",
        ["plru", "3"],
    ),
    (
        "inclusive L2 smaller than L1",
        "size_kib = 512",
        "size_kib = 32",
        "l2.size_kib",
        ["inclusive", "32 KiB", "64 KiB"],
    ),
    ("line sizes differ", "line = 64\nlatency = 9", "line = 128\nlatency = 9", "l2.line", ["64"]),
    ("L2 not slower", "latency = 9", "latency = 4", "l2.latency", ["L1D"]),
    ("TLB sets", "l2_entries = 1280", "l2_entries = 1000", "tlb.l2_ways", ["power-of-two"]),
    ("walk_from", 'walk_from = "l2"', 'walk_from = "l3"', "tlb.walk_from", ["l1d"]),
    ("asid bits", "asid_bits = 16", "asid_bits = 12", "asid_bits", ["8 or 16"]),
    ("missing timing", "[timing]", "[timingx]", "timingx", ["unknown key"]),
    ("timing key typo", "mlp = 8", "mpl = 8", "timing.mpl", ["'mlp'"]),
    ("bad predictor", '"gshare"', '"tage"', "timing.predictor", ["bimodal", "gshare"]),
    ("entries pow2", "entries = 4096", "entries = 3000", "timing.predictor_entries", ["power"]),
    ("indirect pow2", "= 256", "= 100", "timing.indirect_entries", ["power of two"]),
    ("history too long", "history_bits = 12", "history_bits = 13", "timing.history_bits", ["12"]),
    ("zero mlp", "mlp = 8", "mlp = 0", "timing.mlp", ["positive"]),
    (
        "zero forwarding",
        "mlp = 8",
        "mlp = 8\nstore_forward_latency = 0",
        "timing.store_forward_latency",
        ["positive"],
    ),
    (
        "fractional forwarding",
        "mlp = 8",
        "mlp = 8\nstore_forward_latency = 5.5",
        "timing.store_forward_latency",
        ["integer"],
    ),
    ("missing rob", "rob_entries = 128\n", "", "timing.rob_entries", ["missing"]),
    ("zero latency", "mul_latency = 4", "mul_latency = 0", "timing.mul_latency", ["positive"]),
    (
        "bimodal has no history",
        'predictor = "gshare"',
        'predictor = "bimodal"',
        "timing.history_bits",
        ["gshare"],
    ),
    (
        "in-order has no window",
        'pipeline = "out-of-order"',
        'pipeline = "in-order"',
        "timing.rob_entries",
        ["out-of-order"],
    ),
]


@pytest.mark.parametrize("case", CORE_CASES, ids=[c[0] for c in CORE_CASES])
def test_bad_core_type(tmp_path, case):
    _, old, new, key, words = case
    core_path = _write(tmp_path, core=_edit(CORE, old, new)).parent / "cores" / "test-core.toml"
    # loaded through the SoC that uses it, and directly: the error names the core's file
    err = _fails(tmp_path / "test-soc.toml", key, *words)
    assert err.path == core_path
    with pytest.raises(ProfileError) as info:
        load_core(core_path)
    assert str(info.value) == str(err)


def test_a_table_key_given_a_value(tmp_path):
    l1d = CORE[CORE.index("[l1d]") : CORE.index("[l2]")]
    core = _edit(CORE.replace(l1d, ""), "asid_bits = 16", "asid_bits = 16\nl1d = 5")
    _fails(_write(tmp_path, core=core), "l1d", "must be a table", "integer 5")


def test_walks_from_a_missing_l2(tmp_path):
    core = CORE[: CORE.index("[l2]")] + CORE[CORE.index("[tlb]") :]
    _write(tmp_path, core=core)
    _fails(tmp_path / "test-soc.toml", "tlb.walk_from", "no L2")


SOC_CASES = [
    ("unknown key", "count = 4\n", "count = 4\ncolour = 1\n", "cluster[1].colour", ["unknown"]),
    ("unknown key in override", "size_kib = 256", "sizekib = 256", "cluster[1].l2.sizekib", []),
    ("missing field", "ghz = 1.5\n", "", "cluster[1].ghz", ["missing"]),
    ("missing clusters", "[[cluster]]", "[[clusterz]]", "clusterz", ["unknown key"]),
    ("wrong type", "count = 2", 'count = "two"', "cluster[0].count", ["integer", "'two'"]),
    ("bool is no int", "count = 2", "count = false", "cluster[0].count", ["integer"]),
    ("non-positive", "count = 4", "count = 0", "cluster[1].count", ["positive"]),
    ("non-positive float", "ghz = 1.5", "ghz = -1.5", "cluster[1].ghz", ["positive"]),
    ("MHz for GHz", "ghz = 1.5", "ghz = 1500", "cluster[1].ghz", ["at most"]),
    ("dram not a number", "= 100", '= "100ns"', "dram_latency_ns", ["number"]),
    ("unknown core", 'core = "cortex-a55"', 'core = "cortex-a99"', "cluster[1].core", ["a55"]),
    ("duplicate cluster", 'name = "little"', 'name = "big"', "cluster[1].name", ["twice"]),
    ("override sets", "size_kib = 256", "size_kib = 96", "cluster[1].l2.size_kib", ["power"]),
    (
        "inclusive override smaller than L1",
        "size_kib = 256",
        'size_kib = 16\ninclusion = "inclusive"',
        "cluster[1].l2.size_kib",
        ["inclusive"],
    ),
    (
        "override L1 has no inclusion",
        "[cluster.l2]\nsize_kib = 256",
        '[cluster.l1d]\ninclusion = "nine"',
        "cluster[1].l1d.inclusion",
        ["unknown key"],
    ),
    ("l3 sets", "size_kib = 2048", "size_kib = 3072", "l3.size_kib", ["power of two"]),
    ("l3 line", "line = 64\nlatency = 30", "line = 128\nlatency = 30", "l3.line", ["cluster"]),
    ("l3 too fast", "latency = 30", "latency = 5", "l3.latency", ["cluster[0]"]),
    ("dram too fast", "dram_latency_ns = 100", "dram_latency_ns = 1", "dram_latency_ns", []),
]


@pytest.mark.parametrize("case", SOC_CASES, ids=[c[0] for c in SOC_CASES])
def test_bad_soc(tmp_path, case):
    _, old, new, key, words = case
    path = _write(tmp_path, soc=_edit(SOC, old, new))
    err = _fails(path, key, *words)
    assert err.path == path


def test_inclusive_l3_smaller_than_a_private_level(tmp_path):
    soc = _edit(_edit(SOC, "size_kib = 2048", "size_kib = 256"), '"nine"', '"inclusive"')
    _fails(_write(tmp_path, soc=soc), "l3.size_kib", "inclusive", "256 KiB", "512 KiB")


def test_cluster_array_must_hold_tables(tmp_path):
    soc = _edit(SOC[: SOC.index("[[cluster]]")], "= 100", "= 100\ncluster = [1, 2]")
    _fails(_write(tmp_path, soc=soc), "cluster[0]", "must be a table")


def test_malformed_toml(tmp_path):
    path = _write(tmp_path, soc=_edit(SOC, "count = 2", "count = = 2"))
    with pytest.raises(ProfileError) as info:
        load_soc(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert re.search(r": line \d+, column \d+: invalid TOML", message), message


def test_a_float_key_takes_an_int(tmp_path):
    soc = load_soc(_write(tmp_path, soc=_edit(SOC, "ghz = 2.0", "ghz = 2")))
    assert soc.clusters[0].ghz == 2.0 and isinstance(soc.clusters[0].ghz, float)


# ---------------------------------------------------------------------------------------------
# Finding profiles by name


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ProfileError) as info:
        load_soc("kirin42")
    message = str(info.value)
    assert "'kirin42'" in message and "\n" not in message
    for name in SOCS + CORES:
        assert name in message


def test_a_core_type_is_not_a_soc():
    with pytest.raises(
        ProfileError, match=r"'cortex-a76' is a core type, not a SoC; SoCs: kirin9000"
    ):
        load_soc("cortex-a76")
    with pytest.raises(ProfileError, match="is a SoC, not a core type"):
        load_core("rpi4")
    with pytest.raises(ProfileError, match="core-type profile, not a SoC"):
        load_soc(ROOT / "hardware_profiles" / "cores" / "cortex-a55.toml")


def test_missing_file():
    with pytest.raises(ProfileError, match="no such profile file"):
        load_soc("/nonexistent/phone.toml")


def test_hmk_profiles_env_overrides_the_folder(tmp_path, monkeypatch):
    _write(tmp_path)
    monkeypatch.setenv("HMK_PROFILES", str(tmp_path))
    assert profile_dir() == tmp_path
    assert {p.name for p in list_profiles()} == {"test-soc", "test-core"}
    # cortex-a55 is not in tmp_path/cores: the SoC cannot resolve it any more
    with pytest.raises(ProfileError, match=r"cluster\[1\]\.core: unknown core type 'cortex-a55'"):
        load_soc("test-soc")
    assert load_core("test-core").l2.size == 512 * 1024


def test_name_must_match_file_when_looked_up_by_name(tmp_path, monkeypatch):
    _write(tmp_path, core=_edit(CORE, 'name = "test-core"', 'name = "other"'))
    monkeypatch.setenv("HMK_PROFILES", str(tmp_path))
    with pytest.raises(ProfileError, match=r"test-core\.toml: name: is 'other'"):
        load_core("test-core")
    assert load_core(tmp_path / "cores" / "test-core.toml").name == "other"  # by path: fine


def test_list_profiles_survives_a_broken_file(tmp_path, monkeypatch):
    (tmp_path / "broken.toml").write_text("name = = 1\n")
    monkeypatch.setenv("HMK_PROFILES", str(tmp_path))
    [info] = list_profiles()
    assert info.name == "broken" and info.description.startswith("(invalid")


# ---------------------------------------------------------------------------------------------
# Any valid cache geometry round-trips from TOML into CacheConfig


@settings(max_examples=60, deadline=None)
@given(
    sets_log=st.integers(0, 12),
    ways=st.integers(1, 64),
    line_log=st.integers(4, 8),
    latency=st.integers(5, 40),
    plru=st.booleans(),
    inclusion=st.sampled_from(["nine", "exclusive"]),
)
def test_cache_geometry_round_trips(
    tmp_path_factory, sets_log, ways, line_log, latency, plru, inclusion
):
    line = 1 << line_log
    size = (1 << sets_log) * ways * line
    assume(size % 1024 == 0)  # sizes are written in KiB
    replacement = "plru" if plru and ways & (ways - 1) == 0 else "lru"
    l2 = (
        f"[l2]\nsize_kib = {size // 1024}\nways = {ways}\nline = {line}\nlatency = {latency}\n"
        f'replacement = "{replacement}"\ninclusion = "{inclusion}"\n\n'
    )
    core = CORE[: CORE.index("[l2]")].replace("line = 64", f"line = {line}")
    core += l2 + CORE[CORE.index("[tlb]") :]
    path = tmp_path_factory.mktemp("geometry") / "core.toml"
    path.write_text(core)
    want = CacheConfig("L2", size, ways, line, latency, replacement, inclusion)
    assert load_core(path).l2 == want

"""Hardware profiles: TOML descriptions of ARMv8 core types and SoCs.

A *core type* (``hardware_profiles/cores/<name>.toml``) describes one core design: pipeline,
L1I, L1D, optional private L2, TLBs, branch and exception costs, and the timing model's
parameters (``[timing]``: class latencies, branch predictor, window, memory parallelism).
A *SoC* (``hardware_profiles/<name>.toml``) lists clusters of core types with their clock and any
cache-size overrides (L2 size is an implementation option), the shared L3, the DRAM latency and
how the cores' private caches are kept coherent (``[coherence]``). Loading validates strictly;
every problem is a `ProfileError` whose one-line message names the file, the dotted key and the
problem. `SoC.hierarchy()` turns a SoC into the `HierarchyConfig` that the cache models take.

The schema, units and the source-citing rule are in docs/hardware-profiles.md.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import hmk
from hmk.hw.config import (
    INCLUSION,
    LINE_BYTES,
    MAX_CACHE_BYTES,
    MAX_LATENCY,
    MAX_TLB_ENTRIES,
    MAX_TLB_L1_ENTRIES,
    MAX_WAYS,
    PROTOCOLS,
    REPLACEMENT,
    CacheConfig,
    CoreConfig,
    HierarchyConfig,
    TLBConfig,
)
from hmk.inputs import UnreadableFile, read_text

DEFAULT_PROFILE = "kirin9000"
PIPELINES = ("in-order", "out-of-order")
WALK_FROM = ("l1d", "l2")
ASID_BITS = (8, 16)
PREDICTORS = ("bimodal", "gshare")
KIB = 1024
# The bounds of every numeric key, inclusive, by the key's name (wherever it appears), far
# beyond any ARMv8 part; docs/hardware-profiles.md ("Bounds") gives the reason for each. The
# cache and TLB ones come from what the model holds (hmk.hw.config).
MAX_CLUSTERS = 16  # [[cluster]] entries: real SoCs have one to four
LIMITS = {
    "issue_width": (1, 16),  # the widest Arm cores decode 8-10 instructions a cycle
    "branch_mispredict_penalty": (1, 1000),  # cycles; real ones are 8-20
    "exception_entry": (1, MAX_LATENCY),  # cycles; real ones are tens
    "exception_return": (1, MAX_LATENCY),
    "asid_bits": (8, 16),  # and exactly 8 or 16
    "size_kib": (1, MAX_CACHE_BYTES // KIB),
    "ways": (1, MAX_WAYS),
    "line": LINE_BYTES,
    "latency": (1, MAX_LATENCY),
    "l1i_entries": (1, MAX_TLB_L1_ENTRIES),
    "l1d_entries": (1, MAX_TLB_L1_ENTRIES),
    "l2_entries": (1, MAX_TLB_ENTRIES),
    "l2_ways": (1, MAX_TLB_ENTRIES),
    "l2_latency": (0, MAX_LATENCY),
    "walk_cache_entries": (1, MAX_TLB_ENTRIES),
    "walk_cache_ways": (1, MAX_TLB_ENTRIES),
    "walk_cache_latency": (0, MAX_LATENCY),
    "mul_latency": (1, 1000),  # cycles of one instruction: real ones are 1-40
    "div_latency": (1, 1000),
    "fp_latency": (1, 1000),
    "fp_div_latency": (1, 1000),
    "store_forward_latency": (1, 1000),
    "predictor_entries": (1, 1 << 20),  # a table of that many counters on the host
    "history_bits": (1, 20),  # at most log2(predictor_entries)
    "return_stack": (1, 1024),  # real ones hold 8-64 return addresses
    "indirect_entries": (1, 1 << 20),
    "rob_entries": (1, 4096),  # real windows hold 100-700 instructions
    "mlp": (1, 256),  # real cores have 6-50 outstanding misses
    "count": (1, 255),  # cores of a cluster (and of a SoC: hmk.hw.config)
    "ghz": (0.05, 10.0),  # a clock above 10 is almost certainly a value written in MHz
    "latency_ghz": (0.05, 10.0),
    "dram_latency_ns": (1.0, 1000.0),  # real DRAM is 50-150 ns, memory over CXL ~300 ns
    "dram_write_gbps": (0.01, 1000.0),
    "counter_mhz": (0.001, 10000.0),  # Arm's generic timers run at 1-1000 MHz
    "transfer_ns": (1.0, 1000.0),  # core-to-core latencies measured are 15-600 ns
    "upgrade_ns": (1.0, 1000.0),
}

_CORE_KEYS = (
    "name",
    "description",
    "pipeline",
    "issue_width",
    "branch_mispredict_penalty",
    "exception_entry",
    "exception_return",
    "asid_bits",
    "l1i",
    "l1d",
    "l2",
    "tlb",
    "timing",
)
_SOC_KEYS = (
    "name",
    "description",
    "dram_latency_ns",
    "dram_write_gbps",
    "counter_mhz",
    "cluster",
    "l3",
    "coherence",
)
_COHERENCE_KEYS = ("protocol", "transfer_ns", "upgrade_ns")
DEFAULT_COUNTER_MHZ = 1000.0  # ARMv8.6 and later fix the system counter at 1 GHz (FEAT_ECV)
_CLUSTER_KEYS = ("name", "core", "count", "ghz", "l1i", "l1d", "l2")
_L1_KEYS = ("size_kib", "ways", "line", "latency", "replacement")
_L2_KEYS = (*_L1_KEYS, "inclusion")
_L3_KEYS = ("name", *_L2_KEYS, "latency_ghz")
_TLB_KEYS = (
    "l1i_entries",
    "l1d_entries",
    "l2_entries",
    "l2_ways",
    "l2_latency",
    "walk_cache_entries",
    "walk_cache_ways",
    "walk_cache_latency",
    "walk_from",
)
_TIMING_KEYS = (
    "mul_latency",
    "div_latency",
    "fp_latency",
    "fp_div_latency",
    "predictor",
    "predictor_entries",
    "history_bits",
    "return_stack",
    "indirect_entries",
    "rob_entries",
    "mlp",
    "store_forward_latency",
)
_OOO_ONLY = ("rob_entries", "mlp")
_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}


class ProfileError(Exception):
    """A profile cannot be found, parsed or trusted. str() is one line: ``file: key: problem``."""

    def __init__(self, path: Path | str | None, key: str | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.key = key
        self.problem = " ".join(str(problem).split())
        super().__init__(": ".join(str(p) for p in (self.path, key, self.problem) if p))

    def __reduce__(self):
        return ProfileError, (self.path, self.key, self.problem)


# --------------------------------------------------------------------------------------------
# The resolved profile objects


@dataclass(frozen=True)
class TimingConfig:
    """The timing model's parameters beyond pipeline kind, width and mispredict penalty
    (hmk.cpu.timing; docs/timing-model.md). Latencies are in core cycles."""

    mul_latency: int  # integer multiply, result to use
    div_latency: int  # integer divide (not pipelined on the in-order core)
    fp_latency: int  # FP/SIMD arithmetic
    fp_div_latency: int  # FP divide and square root
    predictor: str  # "bimodal" or "gshare": table of 2-bit counters
    predictor_entries: int  # counters, a power of two
    history_bits: int  # global history length (gshare); 0 for bimodal
    return_stack: int  # return-address stack entries
    indirect_entries: int  # last-target table for indirect branches, a power of two
    rob_entries: int = 0  # out-of-order window (instructions); 0 for an in-order core
    mlp: int = 0  # outstanding L1D misses (out-of-order); 0 for an in-order core
    # a store's data ready to a load of the same address having it (store-to-load forwarding);
    # None (the key left out): the L1D load-to-use latency, see `forward_latency`
    store_forward_latency: int | None = None

    def forward_latency(self, l1d_latency: int) -> int:
        """Store-to-load forwarding latency in cycles: the profile's, else the L1D hit's."""
        return self.store_forward_latency or l1d_latency


@dataclass(frozen=True)
class CoreType:
    """One core design, as described by a core-type profile (possibly with a cluster's overrides).
    `l2` is None for a core whose L2 belongs to its cluster (Cortex-A72: the SoC describes it)."""

    name: str
    description: str
    pipeline: str
    issue_width: int
    branch_mispredict_penalty: int  # cycles
    exception_entry: int  # cycles from the exception to the first vector instruction
    exception_return: int  # cycles for ERET until the first instruction after it
    asid_bits: int
    l1i: CacheConfig
    l1d: CacheConfig
    l2: CacheConfig | None
    tlb: TLBConfig
    timing: TimingConfig
    source: Path

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": "core",
            "description": self.description,
            "source": str(self.source),
            "pipeline": self.pipeline,
            "issue_width": self.issue_width,
            "branch_mispredict_penalty_cycles": self.branch_mispredict_penalty,
            "exception_entry_cycles": self.exception_entry,
            "exception_return_cycles": self.exception_return,
            "asid_bits": self.asid_bits,
            "l1i": cache_as_dict(self.l1i),
            "l1d": cache_as_dict(self.l1d),
            "l2": cache_as_dict(self.l2) if self.l2 else None,
            "tlb": dataclasses.asdict(self.tlb),
            "timing": dataclasses.asdict(self.timing),
        }


@dataclass(frozen=True)
class Cluster:
    name: str
    core: CoreType  # with the cluster's cache overrides applied
    count: int
    ghz: float


@dataclass(frozen=True)
class Coherence:
    """How the cores' private caches are kept coherent (docs/memory-hierarchy.md, "Coherence"):
    the protocol, the time a line takes to come from another core's private caches, and the least
    a write that invalidates other cores' copies takes; both a fixed time, counted in each core's
    own cycles."""

    protocol: str  # one of hmk.hw.config.PROTOCOLS
    transfer_ns: float
    upgrade_ns: float

    def cycles_at(self, ghz: float) -> tuple[int, int]:
        """(transfer, upgrade) latency in cycles of a core clocked at `ghz`."""
        return max(1, round(self.transfer_ns * ghz)), max(1, round(self.upgrade_ns * ghz))


@dataclass(frozen=True)
class SoC:
    name: str
    description: str
    clusters: tuple[Cluster, ...]
    l3: CacheConfig | None
    dram_latency_ns: float
    source: Path
    l3_latency_ghz: float | None = None  # the core clock at which l3.latency is counted
    dram_write_gbps: float = 0.0  # sustained write bandwidth of one core to DRAM (memset)
    counter_mhz: float = DEFAULT_COUNTER_MHZ  # the generic timer's system counter (CNTFRQ_EL0)
    coherence: Coherence | None = None  # None: the private caches are not kept coherent

    @property
    def core_count(self) -> int:
        return sum(c.count for c in self.clusters)

    def l3_latency_at(self, ghz: float) -> int | None:
        """L3 hit latency in cycles of a core clocked at `ghz`: the profile gives it in cycles at
        `l3_latency_ghz`, i.e. as a fixed time, which is then counted in this core's cycles."""
        if self.l3 is None:
            return None
        if self.l3_latency_ghz is None:
            return self.l3.latency
        return max(1, round(self.l3.latency * ghz / self.l3_latency_ghz))

    def dram_latency_at(self, ghz: float) -> int:
        return max(1, round(self.dram_latency_ns * ghz))

    def dram_line_write_at(self, ghz: float, line: int = 64) -> float:
        """Core cycles (at `ghz`) DRAM takes to absorb one written-back line at the sustained
        write bandwidth (0: not limited)."""
        return line * ghz / self.dram_write_gbps if self.dram_write_gbps else 0.0

    def cluster(self, which: str | int) -> Cluster:
        """A cluster by name or by index (an int, or a string of digits: `--core 1`)."""
        names = ", ".join(c.name for c in self.clusters)
        if isinstance(which, str) and which.isascii() and which.isdigit() and len(which) < 10:
            which = int(which)
        if isinstance(which, int) and not isinstance(which, bool):
            if 0 <= which < len(self.clusters):
                return self.clusters[which]
            raise ProfileError(
                self.source, "cluster", f"no cluster {which}; indexes 0-{len(self.clusters) - 1}"
            )
        for c in self.clusters:
            if c.name == which:
                return c
        raise ProfileError(self.source, "cluster", f"no cluster {which!r}; clusters: {names}")

    def core_config(self, cluster: Cluster) -> CoreConfig:
        core = cluster.core
        transfer = upgrade = None
        if self.coherence is not None:
            transfer, upgrade = self.coherence.cycles_at(cluster.ghz)
        return CoreConfig(
            l1i=core.l1i,
            l1d=core.l1d,
            l2=core.l2,
            tlb=core.tlb,
            l3_latency=self.l3_latency_at(cluster.ghz),
            dram_latency=self.dram_latency_at(cluster.ghz),
            ghz=cluster.ghz,
            transfer_latency=transfer,
            upgrade_latency=upgrade,
        )

    def hierarchy(
        self, cluster: str | int | None = None, cores: int | None = None
    ) -> HierarchyConfig:
        """The memory hierarchy of every core (cluster None, in cluster order) or of one cluster's
        cores (a cluster name or index); `cores` caps the number of cores."""
        clusters = self.clusters if cluster is None else (self.cluster(cluster),)
        if cores is not None and (
            isinstance(cores, bool) or not isinstance(cores, int) or cores < 1
        ):
            raise ValueError(f"cores must be a positive integer, got {cores!r}")
        configs, owners = [], []
        for c in clusters:
            configs += [self.core_config(c)] * c.count
            owners += [c.name] * c.count
        if cores is not None:
            configs, owners = configs[:cores], owners[:cores]
        try:
            return HierarchyConfig(
                cores=tuple(configs),
                l3=self.l3,
                name=self.name,
                extras={"source": str(self.source), "cluster_of_core": tuple(owners)},
                coherence=self.coherence.protocol if self.coherence else None,
            )
        except ValueError as e:
            raise ProfileError(self.source, "cluster", str(e)) from None

    def as_dict(self) -> dict:
        l3 = None
        if self.l3 is not None:
            l3 = {**cache_as_dict(self.l3), "latency_ghz": self.l3_latency_ghz}
        return {
            "name": self.name,
            "kind": "soc",
            "description": self.description,
            "source": str(self.source),
            "dram_latency_ns": self.dram_latency_ns,
            "dram_write_gbps": self.dram_write_gbps,
            "counter_mhz": self.counter_mhz,
            "l3": l3,
            "coherence": dataclasses.asdict(self.coherence) if self.coherence else None,
            "clusters": [
                {
                    "name": c.name,
                    "count": c.count,
                    "ghz": c.ghz,
                    "l3_latency_cycles": self.l3_latency_at(c.ghz),
                    "dram_latency_cycles": self.dram_latency_at(c.ghz),
                    **self._coherence_cycles(c),
                    "core": c.core.as_dict(),
                }
                for c in self.clusters
            ],
        }

    def _coherence_cycles(self, cluster: Cluster) -> dict:
        if self.coherence is None:
            return {}
        transfer, upgrade = self.coherence.cycles_at(cluster.ghz)
        return {"transfer_latency_cycles": transfer, "upgrade_latency_cycles": upgrade}


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    kind: str  # "soc" or "core"
    description: str
    path: Path


def cache_as_dict(c: CacheConfig) -> dict:
    return {
        "name": c.name,
        "size_bytes": c.size,
        "ways": c.ways,
        "line_bytes": c.line,
        "sets": c.sets,
        "latency_cycles": c.latency,
        "replacement": c.replacement,
        "inclusion": c.inclusion,
    }


# --------------------------------------------------------------------------------------------
# Finding profiles


def profile_dir() -> Path:
    """$HMK_PROFILES, or the `hardware_profiles/` folder next to the `hmk` package (a checkout
    or an editable install), or the copy a wheel carries inside the package."""
    env = os.environ.get("HMK_PROFILES")
    if env:
        return Path(env).expanduser()
    package = Path(hmk.__file__).resolve().parent
    beside = package.parent / "hardware_profiles"
    return beside if beside.is_dir() else package / "hardware_profiles"


def _names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def soc_names() -> list[str]:
    return _names(profile_dir())


def core_names() -> list[str]:
    return _names(profile_dir() / "cores")


def list_profiles() -> list[ProfileInfo]:
    """Every SoC, then every core type, in the profile folder, with its description. A file that
    cannot be parsed is still listed, with the problem as its description."""
    out = []
    for kind, folder in (("soc", profile_dir()), ("core", profile_dir() / "cores")):
        for name in _names(folder):
            path = folder / f"{name}.toml"
            try:
                description = str(_read_toml(path).get("description", ""))
            except ProfileError as e:
                description = f"(invalid: {e.problem})"
            out.append(ProfileInfo(name, kind, description, path))
    return out


def _is_path(name_or_path) -> bool:
    s = str(name_or_path)
    return isinstance(name_or_path, Path) or s.endswith(".toml") or "/" in s or os.sep in s


def _available() -> str:
    socs = ", ".join(soc_names()) or "(none)"
    cores = ", ".join(core_names()) or "(none)"
    return f"SoCs: {socs}; core types: {cores}"


def _locate(name_or_path, kind: str) -> tuple[Path, bool]:
    """(file, looked up by name?) for a SoC ("soc") or core type ("core")."""
    if _is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.exists():
            raise ProfileError(path, None, "no such profile file")
        return path, False
    name = str(name_or_path)
    soc, core = profile_dir() / f"{name}.toml", profile_dir() / "cores" / f"{name}.toml"
    wanted, other = (soc, core) if kind == "soc" else (core, soc)
    if wanted.is_file():
        return wanted, True
    if other.is_file():
        this, that = ("a core type", "SoC") if kind == "soc" else ("a SoC", "core type")
        raise ProfileError(other, None, f"{name!r} is {this}, not a {that}; {_available()}")
    what = "SoC profile" if kind == "soc" else "core type"
    raise ProfileError(profile_dir(), None, f"no {what} named {name!r}; {_available()}")


def load_soc(name_or_path: str | Path = DEFAULT_PROFILE) -> SoC:
    """A SoC by name (a file in profile_dir()) or by path to a .toml file."""
    path, by_name = _locate(name_or_path, "soc")
    return _load_soc(path, by_name)


def load_core(name_or_path: str | Path) -> CoreType:
    """A core type by name (a file in profile_dir()/cores) or by path to a .toml file."""
    path, by_name = _locate(name_or_path, "core")
    return _load_core(path, by_name)


def load_profile(name_or_path: str | Path) -> SoC | CoreType:
    """A SoC or a core type, whichever the name or file is."""
    if _is_path(name_or_path):
        path, _ = _locate(name_or_path, "soc")
        data = _read_toml(path)
        return _load_core(path, False) if _looks_like_core(data) else _load_soc(path, False)
    if (profile_dir() / f"{name_or_path}.toml").is_file():
        return load_soc(name_or_path)
    if (profile_dir() / "cores" / f"{name_or_path}.toml").is_file():
        return load_core(name_or_path)
    raise ProfileError(profile_dir(), None, f"no profile named {name_or_path!r}; {_available()}")


def _looks_like_core(data: dict) -> bool:
    return "cluster" not in data and ("pipeline" in data or "l1d" in data)


# --------------------------------------------------------------------------------------------
# Reading and validating


def _read_toml(path: Path) -> dict:
    try:
        text = read_text(path)
    except UnreadableFile as e:
        raise ProfileError(path, None, str(e)) from None
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ProfileError(path, None, "invalid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        where = re.search(r"\(at (line \d+, column \d+)\)", msg)
        if where:
            msg = msg.replace(where.group(0), "").strip()
        raise ProfileError(
            path, where.group(1) if where else None, f"invalid TOML: {msg}"
        ) from None


def _number(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,g}"


def _describe(value) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array {value!r}"
    return f"{_TYPE_NAMES.get(type(value), type(value).__name__)} {value!r}"


class _Table:
    """One TOML table being read: reports unknown keys at once (with a suggestion), and every
    later problem with its dotted key. A `default` of None means the key is required."""

    def __init__(self, path: Path, data, prefix: str, allowed: tuple[str, ...]):
        self.path, self.prefix, self.data = path, prefix, data
        if not isinstance(data, dict):
            raise ProfileError(path, prefix, f"must be a table, got {_describe(data)}")
        for key in data:
            if key not in allowed:
                import difflib  # noqa: PLC0415  (only for a mistake)

                hint = difflib.get_close_matches(key, allowed, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise self.error(key, f"unknown key{extra}; allowed: {', '.join(allowed)}")

    def key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str | None, problem: str) -> ProfileError:
        return ProfileError(self.path, self.key(key) if key else self.prefix or None, problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key, default, types, what):
        if key not in self.data:
            if default is None:
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise self.error(key, f"must be {what}, got {_describe(value)}")
        return value

    def int(self, key: str, default=None) -> int:
        return self._bounded(key, self._get(key, default, int, "an integer"))

    def float(self, key: str, default=None) -> float:
        return self._bounded(key, float(self._get(key, default, (int, float), "a number")))

    def _bounded(self, key: str, value):
        """`value` if it lies within LIMITS[key], else a ProfileError that gives the range."""
        lo, hi = LIMITS[key]
        allowed = f"(allowed: {_number(lo)} to {_number(hi)})"
        if not math.isfinite(value):
            raise self.error(key, f"must be a finite number {allowed}, got {value}")
        if value < lo:
            rule = "positive" if value <= 0 < lo else f"at least {_number(lo)}"
            raise self.error(key, f"must be {rule} {allowed}, got {_number(value)}")
        if value > hi:
            raise self.error(key, f"must be at most {_number(hi)} {allowed}, got {_number(value)}")
        return value

    def str(self, key: str, default=None, *, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, default, str, "a string")
        if choices and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        if not choices and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def table(self, key: str, allowed: tuple[str, ...], *, required: bool = True) -> _Table | None:
        if key not in self.data:
            if required:
                raise self.error(key, "missing (a table)")
            return None
        return _Table(self.path, self.data[key], self.key(key), allowed)


def _read_cache(
    t: _Table, label: str, base: CacheConfig | None = None, *, inclusion: bool = True
) -> CacheConfig:
    """A cache from table `t`; with `base`, every key is optional and overrides base's value.
    An L1 has no `inclusion` key (it is the top level)."""

    def dflt(attr):
        return None if base is None else getattr(base, attr)

    size_kib = t.int("size_kib", None if base is None else base.size // KIB)
    ways = t.int("ways", dflt("ways"))
    line = t.int("line", dflt("line"))
    latency = t.int("latency", dflt("latency"))
    replacement = t.str("replacement", dflt("replacement"), choices=REPLACEMENT)
    policy = t.str("inclusion", dflt("inclusion"), choices=INCLUSION) if inclusion else "nine"
    size = size_kib * KIB
    if line & (line - 1):
        raise t.error("line", f"must be a power of two, got {line}")
    if size % (ways * line):
        raise t.error(
            "size_kib", f"{size_kib} KiB is not a multiple of ways x line = {ways} x {line} B"
        )
    sets = size // (ways * line)
    if sets & (sets - 1):
        raise t.error(
            "size_kib",
            f"{size_kib} KiB / ({ways} ways x {line} B) = {sets} sets, not a power of two",
        )
    if replacement == "plru" and ways & (ways - 1):
        raise t.error(
            "replacement", f"'plru' (tree pseudo-LRU) needs a power-of-two way count, not {ways}"
        )
    try:
        return CacheConfig(label, size, ways, line, latency, replacement, policy)
    except ValueError as e:  # a rule of config.py not checked above
        raise t.error(None, str(e)) from None


def _read_tlb(t: _Table) -> TLBConfig:
    values = {
        "l1i_entries": t.int("l1i_entries"),
        "l1d_entries": t.int("l1d_entries"),
        "l2_entries": t.int("l2_entries"),
        "l2_ways": t.int("l2_ways"),
        "l2_latency": t.int("l2_latency"),
        "walk_cache_entries": t.int("walk_cache_entries"),
        "walk_cache_ways": t.int("walk_cache_ways"),
        "walk_cache_latency": t.int("walk_cache_latency"),
        "walk_from": t.str("walk_from", choices=WALK_FROM),
    }
    for entries, ways in (("l2_entries", "l2_ways"), ("walk_cache_entries", "walk_cache_ways")):
        n, w = values[entries], values[ways]
        if n % w or (n // w) & (n // w - 1):
            raise t.error(ways, f"{n} entries / {w} ways is not a power-of-two set count")
    try:
        return TLBConfig(**values)
    except ValueError as e:
        raise t.error(None, str(e)) from None


def _read_timing(t: _Table, pipeline: str) -> TimingConfig:
    ooo = pipeline == "out-of-order"
    for key in _OOO_ONLY:
        if t.has(key) and not ooo:
            raise t.error(key, "only for an out-of-order core (this one is in-order)")
    predictor = t.str("predictor", choices=PREDICTORS)
    entries = t.int("predictor_entries")
    indirect = t.int("indirect_entries")
    for key, n in (("predictor_entries", entries), ("indirect_entries", indirect)):
        if n & (n - 1):
            raise t.error(key, f"must be a power of two, got {n}")
    if predictor == "gshare":
        history = t.int("history_bits")
        if history > entries.bit_length() - 1:
            raise t.error(
                "history_bits",
                f"{history} bits is more than the {entries.bit_length() - 1} index bits of "
                f"{entries} entries",
            )
    elif t.has("history_bits"):
        raise t.error("history_bits", "only for a gshare predictor (this one is bimodal)")
    else:
        history = 0
    return TimingConfig(
        mul_latency=t.int("mul_latency"),
        div_latency=t.int("div_latency"),
        fp_latency=t.int("fp_latency"),
        fp_div_latency=t.int("fp_div_latency"),
        predictor=predictor,
        predictor_entries=entries,
        history_bits=history,
        return_stack=t.int("return_stack"),
        indirect_entries=indirect,
        rob_entries=t.int("rob_entries") if ooo else 0,
        mlp=t.int("mlp") if ooo else 0,
        store_forward_latency=(
            t.int("store_forward_latency") if t.has("store_forward_latency") else None
        ),
    )


def _check_core(core: CoreType, path: Path, prefix: str) -> None:
    """The rules that relate a core's levels to each other (config.py enforces them too; checked
    here so that the message names the key)."""

    def err(key, problem):
        return ProfileError(path, prefix + key, problem)

    if core.l1i.line != core.l1d.line:
        raise err(
            "l1i.line", f"L1I has {core.l1i.line} B lines, L1D {core.l1d.line} B; one line size"
        )
    l2 = core.l2
    if l2 is not None:
        if l2.line != core.l1d.line:
            raise err("l2.line", f"L2 has {l2.line} B lines, L1D {core.l1d.line} B; one line size")
        biggest = max(core.l1i.size, core.l1d.size)
        if l2.inclusion == "inclusive" and l2.size < biggest:
            raise err(
                "l2.size_kib",
                f"an inclusive L2 of {fmt_size(l2.size)} cannot hold an L1 of {fmt_size(biggest)}",
            )
        if l2.latency <= core.l1d.latency:
            raise err(
                "l2.latency", f"{l2.latency} cycles is not more than the L1D's {core.l1d.latency}"
            )
    elif core.tlb.walk_from == "l2":
        raise err("tlb.walk_from", "walks start at the L2 but this core has no L2")
    try:
        HierarchyConfig(cores=(CoreConfig(core.l1i, core.l1d, core.l2, core.tlb),))
    except ValueError as e:
        raise ProfileError(path, prefix.rstrip(".") or None, str(e)) from None


def _check_name(t: _Table, path: Path, by_name: bool) -> str:
    name = t.str("name")
    if by_name and name != path.stem:
        raise t.error("name", f"is {name!r} but the file is {path.name}; they must match")
    return name


def _load_core(path: Path, by_name: bool = False) -> CoreType:
    data = _read_toml(path)
    if "cluster" in data:
        raise ProfileError(path, None, "this is a SoC profile, not a core type")
    t = _Table(path, data, "", _CORE_KEYS)
    name = _check_name(t, path, by_name)
    l2 = t.table("l2", _L2_KEYS, required=False)
    pipeline = t.str("pipeline", choices=PIPELINES)
    core = CoreType(
        name=name,
        description=t.str("description"),
        pipeline=pipeline,
        issue_width=t.int("issue_width"),
        branch_mispredict_penalty=t.int("branch_mispredict_penalty"),
        exception_entry=t.int("exception_entry"),
        exception_return=t.int("exception_return"),
        asid_bits=t.int("asid_bits"),
        l1i=_read_cache(t.table("l1i", _L1_KEYS), "L1I", inclusion=False),
        l1d=_read_cache(t.table("l1d", _L1_KEYS), "L1D", inclusion=False),
        l2=_read_cache(l2, "L2") if l2 else None,
        tlb=_read_tlb(t.table("tlb", _TLB_KEYS)),
        timing=_read_timing(t.table("timing", _TIMING_KEYS), pipeline),
        source=path,
    )
    if core.asid_bits not in ASID_BITS:
        raise t.error("asid_bits", f"ARMv8 ASIDs are 8 or 16 bits, got {core.asid_bits}")
    _check_core(core, path, "")
    return core


def _find_core(name: str, soc_path: Path, t: _Table) -> Path:
    """A SoC's core types: the `cores/` folder next to the SoC file, then profile_dir()/cores."""
    folders = [soc_path.parent / "cores", profile_dir() / "cores"]
    for folder in folders:
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    known = sorted({n for f in folders for n in _names(f)})
    raise t.error("core", f"unknown core type {name!r}; core types: {', '.join(known) or '(none)'}")


def _load_soc(path: Path, by_name: bool = False) -> SoC:
    data = _read_toml(path)
    if _looks_like_core(data):
        raise ProfileError(path, None, f"this is a core-type profile, not a SoC; {_available()}")
    t = _Table(path, data, "", _SOC_KEYS)
    name = _check_name(t, path, by_name)
    description = t.str("description")
    dram_ns = t.float("dram_latency_ns")
    write_gbps = 0.0  # not given: write-backs are not limited
    if t.has("dram_write_gbps"):
        write_gbps = t.float("dram_write_gbps")
    counter_mhz = DEFAULT_COUNTER_MHZ
    if t.has("counter_mhz"):
        counter_mhz = t.float("counter_mhz")
    raw = t.data.get("cluster")
    if raw is None:
        raise t.error("cluster", "missing (write one [[cluster]] table per cluster)")
    if not isinstance(raw, list) or not raw:
        raise t.error("cluster", "must be an array of tables ([[cluster]]) with at least one entry")
    if len(raw) > MAX_CLUSTERS:
        raise t.error("cluster", f"{len(raw)} clusters; at most {MAX_CLUSTERS} are modelled")

    l3, l3_ghz = None, None
    lt = t.table("l3", _L3_KEYS, required=False)
    if lt is not None:
        l3 = _read_cache(lt, lt.str("name", "L3"))
        l3_ghz = lt.float("latency_ghz")

    clusters, names = [], set()
    for i, entry in enumerate(raw):
        ct = _Table(path, entry, f"cluster[{i}]", _CLUSTER_KEYS)
        cname = ct.str("name")
        if cname in names:
            raise ct.error("name", f"cluster name {cname!r} is used twice")
        names.add(cname)
        core = _load_core(_find_core(ct.str("core"), path, ct))
        overrides = {}
        for level, keys, label in (("l1i", _L1_KEYS, "L1I"), ("l1d", _L1_KEYS, "L1D")):
            if ct.has(level):
                base = getattr(core, level)
                overrides[level] = _read_cache(ct.table(level, keys), label, base, inclusion=False)
        if ct.has("l2"):
            overrides["l2"] = _read_cache(ct.table("l2", _L2_KEYS), "L2", core.l2)
        core = dataclasses.replace(core, **overrides)
        _check_core(core, path, f"cluster[{i}].")
        cluster = Cluster(cname, core, ct.int("count"), ct.float("ghz"))
        clusters.append(cluster)

    coherence = None
    ct = t.table("coherence", _COHERENCE_KEYS, required=False)
    if ct is not None:
        coherence = Coherence(
            ct.str("protocol", choices=PROTOCOLS), ct.float("transfer_ns"), ct.float("upgrade_ns")
        )
    soc = SoC(
        name,
        description,
        tuple(clusters),
        l3,
        dram_ns,
        path,
        l3_ghz,
        write_gbps,
        counter_mhz,
        coherence,
    )
    for i, c in enumerate(soc.clusters):
        _check_levels(soc, i, c)
    soc.hierarchy()  # the whole SoC (core count and the rules config.py adds) must build
    return soc


def _check_levels(soc: SoC, i: int, c: Cluster) -> None:
    """The L3 and DRAM against one cluster's private levels, in that cluster's cycles."""
    where = f"cluster[{i}] ({c.name}, {c.ghz} GHz)"
    above = c.core.l2 or c.core.l1d
    if soc.l3 is not None:
        l3, l3_cycles = soc.l3, soc.l3_latency_at(c.ghz)
        if l3.line != c.core.l1d.line:
            raise ProfileError(
                soc.source, "l3.line", f"{l3.line} B lines but {where} uses {c.core.l1d.line} B"
            )
        biggest = max(x.size for x in (c.core.l1i, c.core.l1d, c.core.l2) if x is not None)
        if l3.inclusion == "inclusive" and l3.size < biggest:
            raise ProfileError(
                soc.source,
                "l3.size_kib",
                f"an inclusive {fmt_size(l3.size)} L3 cannot hold {where}'s {fmt_size(biggest)}",
            )
        if l3_cycles <= above.latency:
            raise ProfileError(
                soc.source,
                "l3.latency",
                f"{l3_cycles} cycles at {where}: not more than its {above.name}'s {above.latency}",
            )
        above = dataclasses.replace(l3, latency=l3_cycles)
    dram = soc.dram_latency_at(c.ghz)
    if dram <= above.latency:
        raise ProfileError(
            soc.source,
            "dram_latency_ns",
            f"{dram} cycles at {where} is not more than its {above.name}'s {above.latency}",
        )
    try:
        HierarchyConfig(cores=(soc.core_config(c),), l3=soc.l3)
    except ValueError as e:
        raise ProfileError(soc.source, f"cluster[{i}]", str(e)) from None


# --------------------------------------------------------------------------------------------
# Text rendering (used by `hmk profiles show` and `hmk run`)


def fmt_size(nbytes: int) -> str:
    for unit, scale in (("MiB", KIB * KIB), ("KiB", KIB)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale} {unit}"
    return f"{nbytes} B"


def fmt_cache(c: CacheConfig, latency: str | None = None) -> str:
    inclusion = f", {c.inclusion}" if c.name not in ("L1I", "L1D") else ""
    return (
        f"{c.name:<4} {fmt_size(c.size):>8}  {c.ways:>2}-way  {c.line} B lines  {c.sets:>5} sets  "
        f"{latency or f'{c.latency} cycles'}  {c.replacement}{inclusion}"
    )


def describe_core(core: CoreType, indent: str = "") -> list[str]:
    t = core.tlb
    lines = [
        f"pipeline {core.pipeline}, issue width {core.issue_width}, "
        f"branch mispredict {core.branch_mispredict_penalty} cycles, ASID {core.asid_bits} bits",
        f"exception entry {core.exception_entry} cycles, exception return "
        f"{core.exception_return} cycles",
        fmt_cache(core.l1i),
        fmt_cache(core.l1d),
        fmt_cache(core.l2) if core.l2 else "L2   none in the core (see the SoC)",
        f"TLB  L1I {t.l1i_entries} / L1D {t.l1d_entries} entries (fully associative); "
        f"L2 {t.l2_entries} entries {t.l2_ways}-way {t.l2_latency} cycles",
        f"     walk cache {t.walk_cache_entries} entries {t.walk_cache_ways}-way "
        f"{t.walk_cache_latency} cycles; walks start at the {t.walk_from.upper()}",
        *describe_timing(core.timing, core.l1d.latency),
    ]
    return [indent + line for line in lines]


def describe_timing(tm: TimingConfig, l1d_latency: int) -> list[str]:
    history = f", {tm.history_bits} history bits" if tm.predictor == "gshare" else ""
    window = f"; ROB {tm.rob_entries}, MLP {tm.mlp}" if tm.rob_entries else ""
    forward = tm.forward_latency(l1d_latency)
    default = "" if tm.store_forward_latency else " (as an L1D hit: not in the profile)"
    return [
        f"timing mul {tm.mul_latency}, div {tm.div_latency}, FP {tm.fp_latency}, "
        f"FP div {tm.fp_div_latency} cycles{window}",
        f"     store-to-load forwarding {forward} cycles{default}",
        f"     branch predictor {tm.predictor} {tm.predictor_entries} entries{history}; "
        f"return stack {tm.return_stack}, indirect targets {tm.indirect_entries}",
    ]


def describe_soc(soc: SoC, *, full: bool = True) -> list[str]:
    out = [f"{soc.name} (SoC): {soc.description}", f"  source: {soc.source}"]
    for i, c in enumerate(soc.clusters):
        l3 = soc.l3_latency_at(c.ghz)
        below = f"shared {soc.l3.name} {l3} cycles, " if l3 is not None else ""
        out.append(
            f"  cluster[{i}] {c.name}: {c.count} x {c.core.name} @ {c.ghz} GHz "
            f"({below}DRAM {soc.dram_latency_at(c.ghz)} cycles)"
        )
        if full:
            out += describe_core(c.core, "    ")
        else:
            l2 = fmt_size(c.core.l2.size) if c.core.l2 else "none"
            out.append(
                f"    L1I {fmt_size(c.core.l1i.size)}, L1D {fmt_size(c.core.l1d.size)}, L2 {l2}"
            )
    if soc.l3 is not None:
        at = f"{soc.l3.latency} cycles at {soc.l3_latency_ghz} GHz"
        out.append("  shared: " + fmt_cache(soc.l3, at))
    else:
        out.append("  shared: no L3")
    out.append(
        f"  DRAM latency {soc.dram_latency_ns:g} ns, write bandwidth "
        + (f"{soc.dram_write_gbps:g} GB/s" if soc.dram_write_gbps else "not limited (not given)")
    )
    co = soc.coherence
    if co is None:
        out.append("  coherence: none (each core's private caches keep their own copies)")
    else:
        out.append(
            f"  coherence {co.protocol}: a line from another core {co.transfer_ns:g} ns, "
            f"a write invalidating other copies at least {co.upgrade_ns:g} ns"
        )
    return out

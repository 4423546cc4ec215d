"""Parameters of the memory hierarchy: what both model implementations are built from.

A `HierarchyConfig` is plain data. It is made from a hardware profile (`from_soc`), by hand, or
as a cachegrind-compatible I1/D1/LL set-up (`cachegrind`). Both the Python reference
(`hmk.hw.reference`) and the compiled batch engine (`hmk.hw.engine`) take exactly this object, so
they cannot disagree about the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REPLACEMENT = ("lru", "plru")
# How a lower level relates to the levels above it (for an L2: the L1I and L1D of its core).
#   nine      non-inclusive non-exclusive: filled on a miss; its evictions leave the levels above
#   inclusive every line above is also here; evicting a line here back-invalidates it above
#   exclusive a victim cache: filled only by lines evicted from above; a hit moves the line up
INCLUSION = ("nine", "inclusive", "exclusive")
MODES = ("hardware", "cachegrind")
# How the cores' private caches are kept coherent (docs/memory-hierarchy.md, "Coherence"):
#   MESI   a read of a line dirty in another core makes that core write it back; both share it
#   MOESI  the other core keeps it dirty (Owned) and no write-back happens
PROTOCOLS = ("MESI", "MOESI")

# Bounds of the hardware modelled, beyond any ARMv8 part, so that a configuration keeps the
# model's state small on the host (8 bytes of tags per cache line and per TLB entry) and its
# cycle counts far from overflow (an access's latency is an int32):
MAX_CACHE_BYTES = 128 << 20  # a cache: the largest last-level caches shipped hold 96 MiB
LINE_BYTES = (16, 1024)  # cache lines: Arm cores use 64 bytes, a few 128
MAX_WAYS = 64  # a cache's associativity (the replacement state is one 64-bit word a set)
MAX_TLB_ENTRIES = 1 << 16  # a set-associative TLB or walk cache: real L2 TLBs hold 1-4 Ki
MAX_TLB_L1_ENTRIES = 255  # a fully associative L1 TLB (searched entry by entry)
MAX_LATENCY = 10_000  # cycles of one level, a TLB level or DRAM: real ones are 1 to ~500


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class CacheConfig:
    """One set-associative cache. `latency` is the load-to-use latency, in core cycles, of an
    access that hits here (not an increment over the level above)."""

    name: str
    size: int  # bytes
    ways: int
    line: int  # bytes
    latency: int  # cycles
    replacement: str = "lru"
    inclusion: str = "nine"  # relation to the levels above; ignored for an L1

    def __post_init__(self):
        where = f"cache {self.name!r}"
        for key in ("size", "ways", "line", "latency"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{where}: {key} must be a positive integer, got {value!r}")
        if self.size > MAX_CACHE_BYTES:
            raise ValueError(f"{where}: size {self.size} is above {MAX_CACHE_BYTES} bytes")
        if not LINE_BYTES[0] <= self.line <= LINE_BYTES[1]:
            raise ValueError(
                f"{where}: line size {self.line} is not {LINE_BYTES[0]}-{LINE_BYTES[1]}"
            )
        if self.latency > MAX_LATENCY:
            raise ValueError(f"{where}: latency {self.latency} is above {MAX_LATENCY} cycles")
        if not _is_pow2(self.line):
            raise ValueError(f"{where}: line size {self.line} is not a power of two")
        if self.size % (self.ways * self.line):
            raise ValueError(f"{where}: size {self.size} is not a multiple of ways*line")
        if not _is_pow2(self.sets):
            raise ValueError(f"{where}: set count {self.sets} is not a power of two")
        if self.replacement not in REPLACEMENT:
            raise ValueError(
                f"{where}: replacement {self.replacement!r} is not one of {REPLACEMENT}"
            )
        if self.replacement == "plru" and not _is_pow2(self.ways):
            raise ValueError(
                f"{where}: tree pseudo-LRU needs a power-of-two way count, got {self.ways}"
            )
        if self.ways > MAX_WAYS:
            raise ValueError(f"{where}: at most {MAX_WAYS} ways are modelled, got {self.ways}")
        if self.inclusion not in INCLUSION:
            raise ValueError(f"{where}: inclusion {self.inclusion!r} is not one of {INCLUSION}")

    @property
    def sets(self) -> int:
        return self.size // (self.ways * self.line)


@dataclass(frozen=True)
class TLBConfig:
    """TLBs of one core: fully associative L1 ITLB and DTLB, a set-associative unified L2 TLB and a
    walk cache for table descriptors of levels 0-2. 4 KiB granule, 48-bit virtual addresses.
    Latencies are cycles added to an access; an L1 TLB hit adds nothing (it is in the pipeline)."""

    l1i_entries: int
    l1d_entries: int
    l2_entries: int
    l2_ways: int
    l2_latency: int
    walk_cache_entries: int
    walk_cache_ways: int
    walk_cache_latency: int
    walk_from: str = "l2"  # the first cache level that page-table-walk descriptor loads look up

    def __post_init__(self):
        for key in (
            "l1i_entries",
            "l1d_entries",
            "l2_entries",
            "l2_ways",
            "walk_cache_entries",
            "walk_cache_ways",
        ):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"tlb: {key} must be a positive integer, got {value!r}")
            limit = MAX_TLB_L1_ENTRIES if key.startswith("l1") else MAX_TLB_ENTRIES
            if value > limit:
                raise ValueError(f"tlb: {key} above {limit}: larger TLBs are not modelled")
        for key in ("l2_latency", "walk_cache_latency"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"tlb: {key} must be a non-negative integer, got {value!r}")
            if value > MAX_LATENCY:
                raise ValueError(f"tlb: {key} {value} is above {MAX_LATENCY} cycles")
        for entries, ways, what in (
            (self.l2_entries, self.l2_ways, "l2"),
            (self.walk_cache_entries, self.walk_cache_ways, "walk cache"),
        ):
            if entries % ways or not _is_pow2(entries // ways):
                raise ValueError(
                    f"tlb: {what} set count {entries}/{ways} is not a power-of-two integer"
                )
        if self.walk_from not in ("l1d", "l2"):
            raise ValueError(f"tlb: walk_from must be 'l1d' or 'l2', got {self.walk_from!r}")


@dataclass(frozen=True)
class CoreConfig:
    """The private part of one core's memory system and the latencies it sees below it."""

    l1i: CacheConfig
    l1d: CacheConfig
    l2: CacheConfig | None = None
    tlb: TLBConfig | None = None  # None: no translation, addresses are physical
    l3_latency: int | None = (
        None  # cycles for a hit in the shared L3 at this core's clock (None: l3.latency)
    )
    dram_latency: int = 100  # cycles for an access served by DRAM, at this core's clock
    ghz: float = 1.0
    # coherence (HierarchyConfig.coherence), at this core's clock: a line that comes from another
    # core's private caches (a cache-to-cache transfer), and the least a write that invalidates
    # other cores' copies costs (an upgrade or read-for-ownership)
    transfer_latency: int | None = None
    upgrade_latency: int | None = None

    def __post_init__(self):
        for key in ("l3_latency", "dram_latency", "transfer_latency", "upgrade_latency"):
            value = getattr(self, key)
            if value is None and key != "dram_latency":
                continue
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 < value <= MAX_LATENCY
            ):
                raise ValueError(f"core: {key} must be an integer 1-{MAX_LATENCY}, got {value!r}")


@dataclass(frozen=True)
class HierarchyConfig:
    """Private L1I/L1D (and optionally L2) per core, an optional shared L3, then DRAM.

    mode "hardware": a miss travels down until a level hits, then the line is filled bottom-up
    according to each level's inclusion policy; an access that straddles two lines is two line
    accesses (its latency is the larger of the two).
    mode "cachegrind": valgrind's cachegrind rules: each level is probed in turn with the whole
    access, allocating on a miss, stopping at the first level where it hits; an access that
    straddles two lines counts once and hits only if both lines hit. Needs "nine" everywhere.
    """

    cores: tuple[CoreConfig, ...]
    l3: CacheConfig | None = None
    mode: str = "hardware"
    name: str = "custom"
    extras: dict = field(default_factory=dict, compare=False)
    # one of PROTOCOLS: the cores' private caches are kept coherent (every core then needs its
    # transfer_latency and upgrade_latency); None: they are not (each core sees its own copies)
    coherence: str | None = None

    def __post_init__(self):
        if not self.cores:
            raise ValueError("a hierarchy needs at least one core")
        if len(self.cores) > 255:
            raise ValueError(f"at most 255 cores are modelled, got {len(self.cores)}")
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {MODES}")
        if self.coherence is not None:
            if self.coherence not in PROTOCOLS:
                raise ValueError(f"coherence {self.coherence!r} is not one of {PROTOCOLS}")
            if self.mode == "cachegrind":
                raise ValueError("cachegrind mode models no coherence")
            for i, core in enumerate(self.cores):
                if core.transfer_latency is None or core.upgrade_latency is None:
                    raise ValueError(
                        f"core {i}: coherence needs its transfer_latency and upgrade_latency"
                    )
        for i, core in enumerate(self.cores):
            chain = [c for c in (core.l2, self.l3) if c is not None]
            uppers = [core.l1i, core.l1d]
            for lower in chain:
                if lower.inclusion == "inclusive" and lower.size < max(u.size for u in uppers):
                    raise ValueError(
                        f"core {i}: {lower.name} ({lower.size} B) is inclusive but smaller than "
                        f"the level above it ({max(u.size for u in uppers)} B)"
                    )
                if any(u.line != lower.line for u in uppers):
                    raise ValueError(
                        f"core {i}: {lower.name} has {lower.line}-byte lines but the level above "
                        "has another line size; one line size per hierarchy is modelled"
                    )
                uppers = [lower]
            if core.l1i.line != core.l1d.line:
                raise ValueError(f"core {i}: L1I and L1D line sizes differ")
            if self.mode == "cachegrind":
                if core.tlb is not None:
                    raise ValueError("cachegrind mode models no TLB")
                if any(c.inclusion != "nine" for c in chain):
                    raise ValueError("cachegrind mode needs non-inclusive ('nine') lower levels")
            if core.tlb is not None and core.tlb.walk_from == "l2" and core.l2 is None:
                raise ValueError(f"core {i}: walks start at the L2 but the core has no L2")

    @property
    def line(self) -> int:
        return self.cores[0].l1d.line

    @classmethod
    def cachegrind(
        cls, i1: tuple[int, int, int], d1: tuple[int, int, int], ll: tuple[int, int, int]
    ):
        """valgrind's `--I1=size,assoc,line --D1=... --LL=...`: true LRU, no TLB, one core.
        cachegrind counts events and has no latencies; we charge 1 / 10 / 100 cycles (assumed)."""
        core = CoreConfig(
            l1i=CacheConfig("I1", *i1, latency=1),
            l1d=CacheConfig("D1", *d1, latency=1),
            l2=None,
            tlb=None,
            dram_latency=100,
        )
        return cls(
            cores=(core,),
            l3=CacheConfig("LL", *ll, latency=10),
            mode="cachegrind",
            name="cachegrind",
        )

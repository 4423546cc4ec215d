"""Cache design-space exploration: many cache configurations on one recorded trace, in one pass.

A run's memory trace (`hmk run --trace FILE`, hmk.hw.tracefile) is read once and turned into
line accesses; then

    miss_curve(trace, line=64, sets=1)     LRU misses of every capacity at once (a stack-distance
                                           pass: Mattson et al. 1970), {capacity in lines: misses}
    evaluate(trace, configs)               the counters of many configurations (Geometry: one
                                           or two levels, LRU or tree-PLRU), on the host's cores

Both give exactly the counts the memory hierarchy (hmk.hw.engine) gives for the same caches
alone on the same events: a single level is a core's L1D with nothing below it, two levels its
L1D and private L2 (tests/test_explore.py holds them to it). The trace's addresses are used as
they are (a run's are virtual: see docs/exploration.md). The compiled passes are in
hmk.hw.explore_jit (Numba). `hmk explore TRACE` is the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from hmk.hw.config import REPLACEMENT, CacheConfig
from hmk.hw.events import ADDRESS_BITS, EVENT_DTYPE, FETCH, READ, WRITE, check_events
from hmk.hw.tracefile import TraceFile, TraceFileError
from hmk.parallel import cores

# work shared among the host's cores only in pieces this large (a thread costs more than a
# smaller piece's work)
PART_EVENTS = 1 << 18  # events a part of a trace converted on one core
RUN_ACCESSES = 1 << 16  # line accesses a run of sets passed for stack distances on one thread
KINDS = {"all": (READ, WRITE, FETCH), "data": (READ, WRITE), "fetch": (FETCH,)}
INCLUSION = ("nine", "inclusive", "exclusive")
# evaluate's counters, the hierarchy's names for them (hmk.hw.layout) without the cpu0.l1d. /
# cpu0.l2. prefix: l1 is the cache the accesses enter, l2 the level below it
COUNTERS = (
    "l1.hits",
    "l1.misses",
    "l1.evictions",
    "l1.writebacks",
    "l2.hits",
    "l2.misses",
    "l2.evictions",
    "l2.writebacks",
    "l2.back_invalidations",
    "dram.reads",
    "dram.writes",
)


@dataclass(frozen=True)
class Geometry:
    """One configuration: a cache of `size` bytes, `ways` ways, `line`-byte lines, LRU or tree
    pseudo-LRU (`replacement`), and optionally a level below it (`l2_size`, `l2_ways`,
    `l2_replacement`, and its `inclusion` of the level above: nine, inclusive, exclusive).
    The rules are the hierarchy's (hmk.hw.config): a bad one is a ValueError naming it."""

    size: int
    ways: int
    line: int = 64
    replacement: str = "lru"
    l2_size: int | None = None
    l2_ways: int | None = None
    l2_replacement: str = "lru"
    inclusion: str = "nine"

    def __post_init__(self):
        try:
            l1 = CacheConfig("l1", self.size, self.ways, self.line, 1, self.replacement)
            if (self.l2_size is None) != (self.l2_ways is None):
                raise ValueError("a second level needs both l2_size and l2_ways")
            if self.l2_size is not None:
                CacheConfig(
                    "l2", self.l2_size, self.l2_ways, self.line, 1, self.l2_replacement,
                    self.inclusion,
                )  # fmt: skip
                if self.inclusion == "inclusive" and self.l2_size < l1.size:
                    raise ValueError(f"an inclusive l2 smaller than the l1 ({l1.size} B)")
        except ValueError as e:
            try:
                name = self.label
            except TypeError:  # not numbers: the message says which
                name = f"size={self.size!r} ways={self.ways!r}"
            raise ValueError(f"geometry {name}: {e}") from None

    @property
    def sets(self) -> int:
        return self.size // (self.ways * self.line)

    @property
    def label(self) -> str:
        text = f"{_size_text(self.size)} {self.ways}-way {self.replacement}"
        if self.l2_size is not None:
            text += (
                f" + {_size_text(self.l2_size)} {self.l2_ways}-way {self.l2_replacement} "
                f"{self.inclusion}"
            )
        return text


@dataclass(frozen=True)
class StackHistogram:
    """LRU stack distances of a trace's line accesses within each of `sets` sets: `counts[d]`
    accesses found their line with d other lines of its set used since its last use; `cold`
    were first uses."""

    counts: np.ndarray
    cold: int
    accesses: int
    sets: int
    line: int

    def misses(self, ways: int) -> int:
        """Misses of an LRU cache of `sets` x `ways` lines."""
        return self.cold + int(self.counts[ways:].sum())


# ---- the trace ----------------------------------------------------------------------------


def chunks(trace):
    """A trace's event arrays: a path (or TraceFile) read a chunk at a time, or one array."""
    if isinstance(trace, str | os.PathLike):
        trace = TraceFile(trace)
    if isinstance(trace, TraceFile):
        return trace.chunks()
    if isinstance(trace, np.ndarray) and trace.dtype == EVENT_DTYPE and trace.ndim == 1:
        return iter([trace])
    raise TypeError(
        "a trace is a trace file's path, a TraceFile or an array of hmk.hw.events.EVENT_DTYPE"
    )


def line_accesses(trace, line: int = 64, kinds: str = "all", asid: bool = False):
    """(lines, writes): the trace's accesses to `line`-byte lines, in order (int64 line
    numbers; uint8, 1 for a write). An access that straddles two lines is both, as the
    hierarchy counts it. `kinds`: "all", "data" (loads and stores) or "fetch"; `asid`: tell
    apart the same address in two address spaces (by default, as the hierarchy without TLBs
    does, an address is an address)."""
    lines, writes, _ = _grouped(trace, line, kinds, asid, 1, writes=True)
    return lines, writes


def _grouped(trace, line, kinds, asid, sets, writes):
    """(lines, writes, counts): the trace's line accesses grouped by set (line % sets; each
    set's in trace order), whether each is a write (when `writes`, else an empty array), and
    each set's count. Two passes over the events, one to count and one to place, so the
    arrays are allocated at their size (by numpy, whose large arrays the host may back with
    huge pages: a third of the time of a 10 M-event trace was page faults before)."""
    from hmk.hw import explore_jit  # noqa: PLC0415  (Numba: compiled or loaded on first use)

    CacheConfig("line", line, 1, line, 1)  # a line size the hierarchy models, or ValueError
    if kinds not in KINDS:
        raise ValueError(f"kinds must be one of {sorted(KINDS)}, not {kinds!r}")
    mask = sum(1 << k for k in KINDS[kinds])
    bits = line.bit_length() - 1
    shift = ADDRESS_BITS - bits if asid else 0
    chunks_ = [np.ascontiguousarray(chunk) for chunk in chunks(trace)]
    words = [c.view(np.int64).reshape(-1, 2) for c in chunks_]  # (the records' bytes)
    # each chunk in parts counted and placed on the host's cores: a part's accesses of a set
    # go after the earlier parts' (every part of every chunk a row of `counts`)
    parts = [min(cores(), max(1, len(c) // PART_EVENTS)) for c in chunks_]
    counts = np.zeros((sum(parts), sets), np.int64)
    row = seen = 0
    for chunk, w, n in zip(chunks_, words, parts, strict=True):
        if explore_jit.count_parts(w, bits, mask, shift, counts[row : row + n]) >= 0:
            try:
                check_events(chunk, line, 256)  # names the problem
            except ValueError as e:  # a trace's event n is the chunk's event n - seen
                raise ValueError(_renumbered(str(e), seen)) from None
        row += n
        seen += len(chunk)
    total = int(counts.sum())
    lines = np.empty(total, np.int64)
    flags = np.empty(total if writes else 0, np.uint8)
    per_set = counts.sum(axis=0)
    at = (np.cumsum(per_set) - per_set) + (np.cumsum(counts, axis=0) - counts)
    row = 0
    for w, n in zip(words, parts, strict=True):
        explore_jit.put_parts(w, bits, mask, shift, at[row : row + n], lines, flags)
        row += n
    counts = per_set
    return lines, flags, counts


def _renumbered(message: str, offset: int) -> str:
    return re.sub(r"^event (\d+)", lambda m: f"event {int(m[1]) + offset}", message)


def _accesses(trace, line, kinds, asid):
    """line_accesses, unless `trace` is already (lines, writes) for this line size."""
    if isinstance(trace, tuple):
        return trace
    return line_accesses(trace, line, kinds, asid)


# ---- stack distances ----------------------------------------------------------------------


def stack_histogram(
    trace, line: int = 64, sets: int = 1, kinds: str = "all", asid: bool = False
) -> StackHistogram:
    """LRU stack distances of the trace within each of `sets` sets (a power of two, as the
    hierarchy indexes sets: line number mod sets; 1: fully associative), in one pass. The sets
    are independent: runs of them are passed on the host's cores, each on a thread."""
    from hmk.hw import explore_jit  # noqa: PLC0415

    _check_sets(sets)
    if isinstance(trace, tuple):
        lines = trace[0]
        seq = explore_jit.by_set(lines, sets) if sets > 1 else lines
        counts = np.bincount(lines & (sets - 1), minlength=sets)
    else:
        seq, _, counts = _grouped(trace, line, kinds, asid, sets, writes=False)
    # runs of whole sets with about as many accesses each, cut at set boundaries
    bounds = np.concatenate(([0], np.cumsum(counts)))  # set s: seq[bounds[s] : bounds[s + 1]]
    runs = min(cores(), sets, max(1, len(seq) // RUN_ACCESSES))
    targets = [len(seq) * k // runs for k in range(1, runs)]
    cuts = sorted({0, len(seq), *bounds[np.searchsorted(bounds, targets)].tolist()})
    slices = [seq[a:b] for a, b in pairwise(cuts)] or [seq]
    if len(slices) == 1:
        results = [explore_jit.stack_histogram(slices[0])]
    else:
        with ThreadPoolExecutor(len(slices)) as pool:
            results = list(pool.map(explore_jit.stack_histogram, slices))
    hist = np.zeros(max(len(h) for h, _ in results), np.int64)
    for h, _ in results:
        hist[: len(h)] += h
    cold = sum(int(c) for _, c in results)
    return StackHistogram(hist, cold, len(seq), sets, line)


def miss_curve(
    trace,
    line: int = 64,
    sets: int = 1,
    capacities=None,
    kinds: str = "all",
    asid: bool = False,
) -> dict[int, int]:
    """{capacity in lines: misses} of LRU caches of `sets` sets (1: fully associative) at
    every capacity in `capacities` (multiples of `sets`; default: sets x 1, 2, 4, ... ways up
    to the first capacity at which only the first uses miss), from one stack-distance pass."""
    hist = stack_histogram(trace, line, sets, kinds, asid)
    if capacities is None:
        capacities, ways = [], 1
        while True:
            capacities.append(sets * ways)
            if ways >= len(hist.counts):
                break
            ways *= 2
    curve = {}
    for capacity in capacities:
        if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer):
            raise ValueError(f"capacity {capacity!r} is not a whole number of lines")
        if capacity <= 0 or capacity % sets:
            raise ValueError(f"capacity {capacity} lines is not a positive multiple of {sets} sets")
        curve[int(capacity)] = hist.misses(int(capacity) // sets)
    return curve


def _check_sets(sets) -> None:
    if isinstance(sets, bool) or not isinstance(sets, int | np.integer) or sets <= 0:
        raise ValueError(f"sets must be a positive integer, not {sets!r}")
    if sets & (sets - 1):
        raise ValueError(
            f"sets must be a power of two (a line's set is its number mod sets): {sets}"
        )


# ---- many configurations ----------------------------------------------------------------


def evaluate(trace, configs, kinds: str = "all", asid: bool = False) -> list[dict]:
    """Every configuration's counters on the trace: a row per Geometry (in order), with its
    label, geometry, the line accesses, COUNTERS and the level 1's miss rate.

    Configurations are simulated side by side on the host's cores (hmk.hw.explore_jit):
    single-level LRU ones that share a line size and set count in one pass for all their
    associativities (LRU's inclusion property), every other one on its own. `trace` may also
    be line_accesses's (lines, writes) for the configurations' one line size."""
    from hmk.hw import explore_jit  # noqa: PLC0415

    configs = list(configs)
    for c in configs:
        if not isinstance(c, Geometry):
            raise TypeError(f"evaluate: configurations are Geometry objects, not {c!r}")
    counters = [None] * len(configs)
    accesses = {}
    line_sizes = sorted({c.line for c in configs})
    if isinstance(trace, tuple) and len(line_sizes) > 1:
        raise ValueError("evaluate: line accesses are of one line size; give the trace itself")
    for line in line_sizes:
        lines, writes = _accesses(trace, line, kinds, asid)
        accesses[line] = len(lines)
        mine = [i for i, c in enumerate(configs) if c.line == line]
        grouped = [i for i in mine if _one_lru_level(configs[i])]
        groups = sorted({configs[i].sets for i in grouped})
        if groups:
            ways = [max(configs[i].ways for i in grouped if configs[i].sets == s) for s in groups]
            with one_at_a_time():
                out = explore_jit.lru_groups(
                    lines, writes, np.array(groups, np.int64), np.array(ways, np.int64)
                )
            for i in grouped:
                row = out[groups.index(configs[i].sets), configs[i].ways]
                counters[i] = _single_level(*row.tolist())
        rest = sorted(set(mine) - set(grouped))
        if rest:
            table = np.array([_config_row(configs[i]) for i in rest], np.int64)
            with one_at_a_time():
                out = explore_jit.simulate(lines, writes, table)
            for i, row in zip(rest, out, strict=True):
                counters[i] = dict(zip(COUNTERS, row.tolist(), strict=True))
    rows = []
    for c, counts in zip(configs, counters, strict=True):
        n = accesses[c.line]
        rows.append(
            {
                "config": c.label,
                "size": c.size,
                "ways": c.ways,
                "sets": c.sets,
                "line": c.line,
                "replacement": c.replacement,
                "l2_size": c.l2_size,
                "l2_ways": c.l2_ways,
                "l2_replacement": c.l2_replacement if c.l2_size else None,
                "inclusion": c.inclusion if c.l2_size else None,
                "accesses": n,
                **counts,
                "l1.miss_rate": counts["l1.misses"] / n if n else 0.0,
            }
        )
    return rows


def one_at_a_time():
    """Parallel passes hand their iterations (each a whole pass over the trace, of unequal
    cost: a 4-set 16-way LRU group took twice a 4096-set 2-way one) to the threads one at a
    time, as each comes free, rather than in equal runs fixed beforehand."""
    import numba  # noqa: PLC0415

    return numba.parallel_chunksize(1)


def _one_lru_level(c: Geometry) -> bool:
    return c.l2_size is None and c.replacement == "lru"


def _single_level(hits, misses, evictions, writebacks) -> dict:
    values = dict.fromkeys(COUNTERS, 0)
    values.update(
        {
            "l1.hits": hits,
            "l1.misses": misses,
            "l1.evictions": evictions,
            "l1.writebacks": writebacks,
            "dram.reads": misses,
            "dram.writes": writebacks,
        }
    )
    return values


def _config_row(c: Geometry) -> list[int]:
    """explore_jit.CONFIG_FIELDS of a geometry."""
    plru = REPLACEMENT.index("plru")
    row = [c.sets, c.ways, REPLACEMENT.index(c.replacement) == plru]
    if c.l2_size is None:
        return [*row, 0, 0, 0, 0]
    l2_sets = c.l2_size // (c.l2_ways * c.line)
    return [*row, l2_sets, c.l2_ways, REPLACEMENT.index(c.l2_replacement) == plru,
            INCLUSION.index(c.inclusion)]  # fmt: skip


# ---- the command line ---------------------------------------------------------------------

SIZE = re.compile(r"(\d+)([KMG]?)(?:i?B)?", re.IGNORECASE)
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """ "32K", "8M", "4096" (K, M, G: powers of 1024) to bytes; ValueError otherwise."""
    m = SIZE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a size: {text!r} (e.g. 32K, 8M)")
    return int(m[1]) * UNITS[m[2].upper()]


def parse_sizes(text: str) -> list[int]:
    """ "4K..8M" (every power of two between, both included) or "32K,1M,3M" to bytes."""
    if ".." in text:
        low, _, high = text.partition("..")
        lo, hi = parse_size(low), parse_size(high)
        if lo <= 0 or lo & (lo - 1) or hi < lo:
            raise ValueError(f"sizes {text!r}: a range goes from a power of two up")
        return [lo << k for k in range((hi // lo).bit_length()) if lo << k <= hi]
    return [parse_size(part) for part in text.split(",") if part.strip()]


def parse_ints(text: str, what: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{what} {text!r}: expected whole numbers, e.g. 1,2,4,8") from None


def _size_text(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n}B"


def add_parser(commands) -> None:
    cmd = commands.add_parser(
        "explore",
        help="many cache configurations on one recorded trace (hmk run --trace)",
        description="Evaluate cache geometries on a memory trace recorded by `hmk run --trace "
        "FILE`: every size x ways x replacement, each cache alone (or above --l2), counted as "
        "the memory hierarchy would count it; --curve adds the LRU miss curve of every "
        "capacity from one stack-distance pass. docs/exploration.md.",
    )
    cmd.set_defaults(func=cmd_explore)
    cmd.add_argument("trace", metavar="TRACE", help="a trace file (hmk run --trace)")
    cmd.add_argument("--line", type=int, default=64, help="line size in bytes (default: 64)")
    cmd.add_argument(
        "--sizes",
        default="4K..8M",
        help="cache sizes: a range of powers of two (4K..8M, the default) or a list (32K,1M)",
    )
    cmd.add_argument("--ways", default="1,2,4,8,16", help="associativities (default: 1,2,4,8,16)")
    cmd.add_argument("--replacement", default="lru", help="lru, plru or lru,plru (default: lru)")
    cmd.add_argument(
        "--l2",
        metavar="SIZE:WAYS[:INCLUSION]",
        help="a second level below every cache (LRU; inclusion nine, inclusive or exclusive)",
    )
    cmd.add_argument(
        "--kinds",
        choices=sorted(KINDS),
        default="all",
        help="the accesses used: all (a unified cache, the default), data or fetch",
    )
    cmd.add_argument(
        "--asid", action="store_true", help="the same address in two address spaces differs"
    )
    cmd.add_argument(
        "--curve",
        action="store_true",
        help="also the fully associative LRU miss curve at each size (stack distances)",
    )
    cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")


def cmd_explore(args: argparse.Namespace) -> int:
    try:
        trace = TraceFile(args.trace)
        configs = _configs(args)
        lines = line_accesses(trace, args.line, args.kinds, args.asid)
        rows = evaluate(lines, configs)
        curve = {}
        if args.curve:
            sizes = sorted({c.size for c in configs})
            capacities = [s // args.line for s in sizes if s % args.line == 0]
            curve = miss_curve(lines, args.line, 1, capacities)
    except (TraceFileError, ValueError) as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"hmk: error: hmk explore needs numba ({e})", file=sys.stderr)
        return 2
    header = {k: trace.header.get(k) for k in ("program", "argv", "profile", "system")}
    header.update(events=len(trace), line_accesses=len(lines[0]), kinds=args.kinds)
    if args.json:
        doc = {"trace": header, "configs": rows}
        if args.curve:
            doc["curve"] = [{"size": c * args.line, "misses": m} for c, m in curve.items()]
        print(json.dumps(doc, indent=1))
        return 0
    print(
        f"{args.trace}: {header['program']} ({header['profile']}, {header['system']}): "
        f"{header['events']:,} events, {header['line_accesses']:,} {args.line}-byte line "
        f"accesses ({args.kinds})"
    )
    two = any(c.l2_size for c in configs)
    width = max(len("config"), *(len(r["config"]) for r in rows))
    head = f"{'config':<{width}} {'sets':>6} {'misses':>13} {'miss %':>7} {'writebacks':>11}"
    print(head + (f" {'l2 misses':>13} {'dram writes':>11}" if two else ""))
    for r in rows:
        line = (
            f"{r['config']:<{width}} {r['sets']:>6} {r['l1.misses']:>13,} "
            f"{100 * r['l1.miss_rate']:>7.2f} {r['l1.writebacks']:>11,}"
        )
        if two:
            line += f" {r['l2.misses']:>13,} {r['dram.writes']:>11,}"
        print(line)
    if curve:
        print("\nfully associative LRU (stack distances):")
        for capacity, misses in curve.items():
            rate = 100 * misses / header["line_accesses"] if header["line_accesses"] else 0.0
            print(f"  {_size_text(capacity * args.line):>6}  {misses:>13,}  {rate:6.2f} %")
    return 0


def _configs(args) -> list[Geometry]:
    sizes = parse_sizes(args.sizes)
    ways = parse_ints(args.ways, "--ways")
    policies = [p.strip() for p in args.replacement.split(",") if p.strip()]
    if not sizes or not ways or not policies:
        raise ValueError("--sizes, --ways and --replacement each need at least one value")
    l2 = {}
    if args.l2:
        parts = args.l2.split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"--l2 {args.l2!r}: expected SIZE:WAYS or SIZE:WAYS:INCLUSION")
        l2 = {"l2_size": parse_size(parts[0]), "l2_ways": parse_ints(parts[1], "--l2 ways")[0]}
        if len(parts) == 3:
            l2["inclusion"] = parts[2]
    return [
        Geometry(size, w, args.line, policy, **l2)
        for policy in policies
        for size in sizes
        for w in ways
    ]

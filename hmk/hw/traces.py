"""Memory traces from valgrind, and cachegrind's counts to check the hierarchy against.

`read_lackey` turns the output of `valgrind --tool=lackey --trace-mem=yes --log-file=F` into an
event array (`hmk.hw.events.EVENT_DTYPE`). The trace format, one access a line:

    I  04016a80,3          instruction fetch: address (hex), size (decimal)
     L 1ffefffb58,8        data load
     S 1ffefffb58,8        data store
     M 1ffefffb58,8        data modify (a load and a store to the same address by one instruction)

Grammar accepted here, where a blank is a space, a tab or a carriage return:

    line    := blank* kind blank+ hex "," decimal blank*
    kind    := "I" | "L" | "S" | "M"
    hex     := one or more hex digits, either case; the value must fit in 64 bits
    decimal := one or more decimal digits; the value must be 1..255 (an event's size is a byte)

Lines that are empty or blank, and valgrind's own messages (lines whose first non-blank
characters are "==", "--" or "**", as in "==123== Command: ls"), are skipped. Any other line is an
error: a ValueError naming its line number (1-based) and its text.

Events get asid 0 and core 0. A modify is cachegrind's business: cachegrind instruments exactly
the accesses lackey prints (both merge a load and a store of the same size and address by one
instruction into a "modify") and counts a modify as a single data read (cg_main.c, flushEvents:
`case Ev_Dr: case Ev_Dm:` both call the read helper). So `modify="read"` (the default) gives one
READ, which is what reproduces cachegrind's counts; `modify="read+write"` gives a READ then a WRITE,
which is what the hardware does.

`parse_cachegrind_out` reads a `cachegrind.out.<pid>` file's totals, and `cachegrind_counts` maps
the `stats()` of a hierarchy built with `HierarchyConfig.cachegrind(...)` to the same nine names.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Mapping

import numpy as np

from hmk.hw.events import EVENT_DTYPE, FETCH, READ, WRITE

try:
    from hmk._fast import lackey as _fast_lackey
except ImportError:  # the extension is not built: the Python parser does the work
    _fast_lackey = None

MODIFY_RULES = ("read", "read+write")
MAX_SIZE = 255

# One trace line, as in the grammar above ([ \t\r] is a blank).
_TRACE_LINE = re.compile(rb"[ \t\r]*([ILSM])[ \t\r]+([0-9A-Fa-f]+),([0-9]+)[ \t\r]*")
_VALGRIND_MESSAGE = (b"==", b"--", b"**")
_KIND = {b"I": FETCH, b"L": READ, b"S": WRITE}


def show_line(line: bytes) -> str:
    """A trace line as error messages quote it (long lines are cut: a binary file has no lines)."""
    text = repr(line[:80].decode("latin-1"))
    return text + "..." if len(line) > 80 else text


def _read_lackey_python(data: bytes, modify: str) -> np.ndarray:
    """The reference parser: the grammar in the module docstring, one line at a time."""
    addrs: list[int] = []
    kinds: list[int] = []
    sizes: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        text = line.strip(b" \t\r")
        if not text or text.startswith(_VALGRIND_MESSAGE):
            continue
        match = _TRACE_LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"line {number}: malformed lackey line: {show_line(line)}")
        kind, addr, size = match[1], int(match[2], 16), int(match[3])
        if addr >= 1 << 64:
            raise ValueError(f"line {number}: address wider than 64 bits: {show_line(line)}")
        if not 1 <= size <= MAX_SIZE:
            raise ValueError(
                f"line {number}: access size {size} is outside 1..{MAX_SIZE}: {show_line(line)}"
            )
        if kind == b"M":
            ops = (READ, WRITE) if modify == "read+write" else (READ,)
        else:
            ops = (_KIND[kind],)
        for op in ops:
            addrs.append(addr)
            kinds.append(op)
            sizes.append(size)
    events = np.zeros(len(addrs), dtype=EVENT_DTYPE)
    events["addr"] = np.array(addrs, dtype=np.uint64)
    events["kind"] = kinds
    events["size"] = sizes
    return events


def read_lackey(source, modify: str = "read", impl: str = "auto") -> np.ndarray:
    """Events of a lackey `--trace-mem=yes` log: a path, or the log's bytes.

    modify: "read" (cachegrind's rule: M is one READ) or "read+write" (M is a READ then a WRITE).
    impl: "python" (the reference), "cython" (hmk._fast.lackey, compiled), or "auto" (the compiled
    one when it is built). Both give the same events and raise the same errors.
    """
    if modify not in MODIFY_RULES:
        raise ValueError(f"modify must be one of {MODIFY_RULES}, got {modify!r}")
    if impl not in ("auto", "python", "cython"):
        raise ValueError(f"impl must be 'auto', 'python' or 'cython', got {impl!r}")
    if impl == "cython" and _fast_lackey is None:
        raise ImportError("hmk._fast.lackey is not built (python setup.py build_ext --inplace)")
    fast = impl == "cython" or (impl == "auto" and _fast_lackey is not None)

    if isinstance(source, bytes | bytearray | memoryview):
        if fast:
            return _fast_lackey.parse(source, modify == "read+write", EVENT_DTYPE)
        return _read_lackey_python(bytes(source), modify)
    with open(source, "rb") as f:
        if not fast:
            return _read_lackey_python(f.read(), modify)
        if os.fstat(f.fileno()).st_size == 0:  # mmap cannot map an empty file
            return _fast_lackey.parse(b"", modify == "read+write", EVENT_DTYPE)
        # Map rather than read: a trace can be hundreds of MB and is scanned once.
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _fast_lackey.parse(data, modify == "read+write", EVENT_DTYPE)


def trace_counts(events: np.ndarray) -> dict[str, int]:
    """cachegrind's access counts Ir, Dr, Dw of an event array: its fetches, reads and writes.

    These are properties of the trace alone (read with modify="read" to match cachegrind)."""
    kinds = np.bincount(events["kind"], minlength=3)
    return {"Ir": int(kinds[FETCH]), "Dr": int(kinds[READ]), "Dw": int(kinds[WRITE])}


def parse_cachegrind_out(path) -> dict[str, int]:
    """Program totals of a cachegrind output file: its `events:` names with its `summary:` counts.

    With --cache-sim=yes (and no branch simulation) the names are
    Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw."""
    events = summary = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split(":", 1)[1].split()
            elif line.startswith("summary:"):
                summary = line.split(":", 1)[1].split()
    if events is None or summary is None:
        missing = "events:" if events is None else "summary:"
        raise ValueError(f"{path}: no '{missing}' line; is this a cachegrind output file?")
    if len(events) != len(summary):
        raise ValueError(f"{path}: {len(events)} event names but {len(summary)} summary counts")
    return {name: int(count) for name, count in zip(events, summary, strict=True)}


CACHEGRIND_NAMES = ("Ir", "I1mr", "ILmr", "Dr", "D1mr", "DLmr", "Dw", "D1mw", "DLmw")


def cachegrind_counts(stats: Mapping[str, int]) -> dict[str, int]:
    """cachegrind's nine totals from the `stats()` of a hierarchy in cachegrind mode.

    Accesses (Ir, Dr, Dw) are an L1's hits plus misses: in cachegrind mode every event probes its
    L1 exactly once (an access that straddles two lines counts once), so these equal the trace's
    fetch/read/write counts (`trace_counts`). In hardware mode a straddling access is two line
    accesses, so there the accesses must come from the event array, not from here.
    First-level misses (I1mr, D1mr, D1mw) are the L1I/L1D misses; last-level misses (ILmr, DLmr,
    DLmw) are the misses of valgrind's LL, which is the hierarchy's `l3`. Counters of several cores
    are added up.
    """
    cores = sorted({key.split(".")[0] for key in stats if re.fullmatch(r"cpu\d+\.l1i\..*", key)})
    if not cores:
        raise KeyError("stats have no cpuN.l1i counters")
    if not any(key.startswith("l3.") for key in stats):
        raise KeyError(
            "stats have no l3 counters: HierarchyConfig.cachegrind puts valgrind's LL there"
        )

    def total(levels: list[str], counter: str) -> int:
        return sum(int(stats[f"{level}.{counter}"]) for level in levels)

    l1i = [f"{core}.l1i" for core in cores]
    l1d = [f"{core}.l1d" for core in cores]
    return {
        "Ir": total(l1i, "fetch_hits") + total(l1i, "fetch_misses"),
        "I1mr": total(l1i, "fetch_misses"),
        "ILmr": total(["l3"], "fetch_misses"),
        "Dr": total(l1d, "read_hits") + total(l1d, "read_misses"),
        "D1mr": total(l1d, "read_misses"),
        "DLmr": total(["l3"], "read_misses"),
        "Dw": total(l1d, "write_hits") + total(l1d, "write_misses"),
        "D1mw": total(l1d, "write_misses"),
        "DLmw": total(["l3"], "write_misses"),
    }

"""Memory events: the input of both memory-hierarchy implementations.

One event is one access as the core issues it. The record layout is fixed (16 bytes, little
endian) so that native hooks can write it straight from C:

    struct hmk_event { uint64_t addr; uint16_t asid; uint8_t kind; uint8_t size; uint8_t core;
                       uint8_t pad[3]; };
"""

from __future__ import annotations

import numpy as np

READ, WRITE, FETCH = 0, 1, 2
KINDS = {"read": READ, "write": WRITE, "fetch": FETCH}
KIND_NAMES = {v: k for k, v in KINDS.items()}

EVENT_DTYPE = np.dtype(
    [
        ("addr", "<u8"),
        ("asid", "<u2"),
        ("kind", "u1"),
        ("size", "u1"),
        ("core", "u1"),
        ("pad", "u1", (3,)),
    ],
    align=True,
)
assert EVENT_DTYPE.itemsize == 16
# an executed translation block, as the CPU records it for the timing model: where it starts,
# its bytes and instructions, and the index of its first event
BLOCK_DTYPE = np.dtype([("addr", "<u8"), ("size", "<u4"), ("ninsn", "<u4"), ("event_start", "<u8")])

ADDRESS_BITS = 48  # ARMv8 48-bit virtual and physical addresses
MAX_ASID = (1 << 16) - 1


def kind_code(kind) -> int:
    """'read' / 'write' / 'fetch' (or their codes) to the code; anything else is a ValueError."""
    if isinstance(kind, str) and kind in KINDS:
        return KINDS[kind]
    if isinstance(kind, int) and not isinstance(kind, bool) and kind in KIND_NAMES:
        return kind
    raise ValueError(f"unknown access kind {kind!r}; expected one of {sorted(KINDS)}")


def _int_array(name, value, lo, hi) -> np.ndarray:
    """`value` as an integer array within [lo, hi], or a ValueError naming the first bad one."""
    try:
        arr = np.asarray(value)
        if arr.dtype == object:  # e.g. Python ints beyond int64 mixed with negative ones
            arr = np.asarray(value, dtype=object)
            if not all(isinstance(v, int | np.integer) for v in arr.flat):
                raise TypeError
            ints = [int(v) for v in arr.flat]
            bad = [i for i, v in enumerate(ints) if not lo <= v <= hi]
            if bad:
                raise ValueError(_out_of_range(name, ints[bad[0]], bad[0], lo, hi))
            return np.array(ints, dtype=np.uint64).reshape(arr.shape)
    except TypeError:
        raise ValueError(f"{name} values must be integers") from None
    if arr.dtype.kind not in "iu":
        plural = "addresses" if name == "address" else f"{name} values"
        raise ValueError(f"{plural} must be integers, got dtype {arr.dtype}")
    flat = arr.reshape(-1)
    bad = (flat < lo) | (flat > hi) if flat.size else np.zeros(0, bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(_out_of_range(name, int(flat[i]), i, lo, hi))
    return arr


def _out_of_range(name, value, index, lo, hi) -> str:
    if value < 0:
        return f"negative {name} {value} (index {index})"
    return f"{name} {value} (index {index}) is outside {lo}..{hi}"


def make_events(addr, kind=READ, size=8, asid=0, core=0) -> np.ndarray:
    """Build an event array from scalars or array-likes (broadcast against `addr`). Values that
    do not fit the record (a negative address, a size over 255, ...) are a ValueError."""
    addr = _int_array("address", addr, 0, (1 << 64) - 1)
    ev = np.zeros(addr.shape, dtype=EVENT_DTYPE)
    ev["addr"] = addr
    ev["kind"] = _int_array("kind", kind, 0, 255)
    ev["size"] = _int_array("size", size, 0, 255)
    ev["asid"] = _int_array("asid", asid, 0, MAX_ASID)
    ev["core"] = _int_array("core", core, 0, 255)
    return ev


def check_events(ev: np.ndarray, line: int, n_cores: int) -> None:
    """Raise ValueError naming the first bad event, if any: address out of range, unknown kind,
    zero size, an access wider than a cache line, a core that does not exist."""
    if not isinstance(ev, np.ndarray) or ev.dtype != EVENT_DTYPE:
        raise ValueError("events must be a numpy array of hmk.hw.events.EVENT_DTYPE")
    if ev.ndim != 1:
        raise ValueError(f"events must be one-dimensional, got shape {ev.shape}")
    if not len(ev):
        return
    checks = (
        (ev["addr"] >> ADDRESS_BITS != 0, f"address beyond {ADDRESS_BITS} bits", "addr"),
        (ev["kind"] > FETCH, "unknown access kind (0 read, 1 write, 2 fetch)", "kind"),
        (ev["size"] == 0, "zero-size access", "size"),
        (ev["size"] > line, f"access wider than a {line}-byte cache line", "size"),
        (ev["core"] >= n_cores, f"core out of range (the hierarchy has {n_cores})", "core"),
    )
    first = min((int(np.argmax(bad)) for bad, _, _ in checks if bad.any()), default=None)
    if first is None:
        return
    for bad, what, key in checks:
        if bad[first]:
            value = ev[key][first]
            shown = hex(int(value)) if key == "addr" else int(value)
            raise ValueError(f"event {first}: {what}: {key}={shown}")


def check_memory(ram, roots) -> None:
    """The simulated RAM and per-ASID page-table roots a hierarchy with TLBs walks."""
    if ram is not None and (
        not isinstance(ram, np.ndarray) or ram.dtype != np.uint8 or ram.ndim != 1 or len(ram) % 8
    ):
        raise ValueError("ram must be a 1-D uint8 array whose size is a multiple of 8")
    if roots is not None and (
        not isinstance(roots, np.ndarray) or roots.dtype != np.int64 or roots.shape != (1 << 16,)
    ):
        raise ValueError("roots must be an int64 array with one entry per 16-bit ASID")

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

ADDRESS_BITS = 48  # ARMv8 48-bit virtual and physical addresses
MAX_ASID = (1 << 16) - 1


def kind_code(kind) -> int:
    """'read' / 'write' / 'fetch' (or their codes) to the code; anything else is a ValueError."""
    if isinstance(kind, str) and kind in KINDS:
        return KINDS[kind]
    if isinstance(kind, int) and not isinstance(kind, bool) and kind in KIND_NAMES:
        return kind
    raise ValueError(f"unknown access kind {kind!r}; expected one of {sorted(KINDS)}")


def make_events(addr, kind=READ, size=8, asid=0, core=0) -> np.ndarray:
    """Build an event array from scalars or array-likes (broadcast against `addr`)."""
    addr = np.asarray(addr)
    if addr.dtype.kind not in "iu":
        raise ValueError(f"addresses must be integers, got dtype {addr.dtype}")
    if addr.size and addr.min() < 0:
        raise ValueError(f"negative address {int(addr.min())}")
    ev = np.zeros(addr.shape, dtype=EVENT_DTYPE)
    ev["addr"] = addr
    ev["kind"] = kind
    ev["size"] = size
    ev["asid"] = asid
    ev["core"] = core
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
    for bad, what, key in checks:
        if bad.any():
            i = int(np.argmax(bad))
            value = ev[key][i]
            shown = hex(int(value)) if key == "addr" else int(value)
            raise ValueError(f"event {i}: {what}: {key}={shown}")

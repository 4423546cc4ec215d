"""The model's fitted parameters (hmk/calibration/fitted.toml, written by `hmk calibrate`)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

FITTED = Path(__file__).resolve().parent.parent / "calibration" / "fitted.toml"


@cache
def fitted() -> dict:
    with FITTED.open("rb") as f:
        return tomllib.load(f)


def kernel_ipc(core: str) -> float:
    """Instructions per cycle of kernel code on core type `core` (its profile name); a core
    type the fit did not cover is an error that says what to do."""
    table = fitted()["kernel_ipc"]
    if core not in table:
        raise ValueError(
            f"no fitted kernel IPC for core type {core!r} (fitted: {', '.join(sorted(table))}); "
            "run `hmk calibrate --write` with its profile, or pass kernel_ipc="
        )
    return float(table[core])

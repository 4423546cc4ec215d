"""The published measurements of anchors.toml, by id (docs/anchors.md lists them with their
sources and the search behind them)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

ANCHORS = Path(__file__).resolve().parent / "anchors.toml"


@dataclass(frozen=True)
class Anchor:
    id: str
    what: str
    board: str
    value: float
    unit: str  # "ns", "MB/s", "ms", "percent" (a relative change as the source states it), ...
    source: str
    confidence: str  # "primary" or "secondary" (read in a transcription)
    conditions: str = ""
    date: str = ""
    notes: str = ""


@cache
def anchors() -> dict[str, Anchor]:
    """Every [[anchor]] of anchors.toml, by id."""
    data = tomllib.loads(ANCHORS.read_text(encoding="utf-8"))
    names = {f.name for f in fields(Anchor)}
    return {a["id"]: Anchor(**{k: v for k, v in a.items() if k in names}) for a in data["anchor"]}


def anchor(anchor_id: str) -> Anchor:
    """The anchor `anchor_id`; KeyError naming it when anchors.toml has no such anchor."""
    try:
        return anchors()[anchor_id]
    except KeyError:
        raise KeyError(f"no anchor {anchor_id!r} in {ANCHORS.name}") from None

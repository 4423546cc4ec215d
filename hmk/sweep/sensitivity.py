"""How much each calibration budget moves a sweep's statistics: every budget chosen is set to
(1 - change) and (1 + change) times its value, at each point of the sweep, and ranked by the
relative change of a statistic between the two, averaged over the points.

A budget's effect is (stat(high) - stat(low)) / stat(base), over the 2 x change of the budget
(an elasticity: 1.0 means the statistic moves in proportion to the budget; a budget the
workloads never take moves nothing). Which budgets: patterns over `kernel.NAME` (the core
kernel's, hmk.kernel.costs), `linux.NAME` (the Linux kernel model's, hmk.monolithic.costs) and
`SERVICE.OP` (a service's `costs`), with shell wildcards; by default `kernel.*,linux.*`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from hmk.sweep.spec import Sweep, SweepError

DEFAULT_PATTERNS = "kernel.*,linux.*"


def budgets(patterns: str = DEFAULT_PATTERNS) -> dict[str, float]:
    """{"kernel.NAME" ...: its value} of every budget a pattern matches; SweepError when a
    pattern matches none."""
    from hmk.system.budgets import known, tables  # noqa: PLC0415

    every = known()
    chosen = {}
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        found = {k: v for k, v in every.items() if fnmatchcase(k, pattern)}
        if not found:
            where = ", ".join(tables())
            raise SweepError(f"--sensitivity: no budget matches {pattern!r} (budgets: {where}.*)")
        chosen |= found
    return {k: v for k, v in chosen.items() if v > 0}  # a zero budget has nothing to scale


def expand(sweep: Sweep, chosen: dict[str, float], change: float = 0.5) -> Sweep:
    """`sweep` with, after each of its points, the point with each budget scaled down and up."""
    if not 0 < change < 1:
        raise SweepError("--change must be between 0 and 1 (0.5: +-50%)")
    points = []
    for base in sweep.points:
        points.append(base)
        for name, value in chosen.items():
            for scale in (1 - change, 1 + change):
                points.append({**base, f"budget.{name}": round(value * scale, 3)})
    return Sweep(sweep.name, tuple(points), sweep.statistics, sweep.knobs, sweep.source)


def rank(sweep: Sweep, chosen: dict[str, float], change: float, records) -> list[dict]:
    """[{budget, value, statistic: mean effect ...}], largest first by the first statistic.
    `records(point)`: a point's saved record (None when it did not run)."""
    rows = []
    for name, value in chosen.items():
        row = {"budget": name, "value": value}
        for stat in sweep.statistics:
            effects = []
            for base in sweep.points:
                knob = f"budget.{name}"
                mid = records(base)
                low = records({**base, knob: round(value * (1 - change), 3)})
                high = records({**base, knob: round(value * (1 + change), 3)})
                if not all(r and r["status"] == "ok" for r in (low, high, mid)):
                    continue
                base_value = mid["stats"].get(stat, 0)
                if base_value:
                    diff = high["stats"].get(stat, 0) - low["stats"].get(stat, 0)
                    effects.append(diff / base_value / (2 * change))
            row[stat] = sum(effects) / len(effects) if effects else None
        rows.append(row)
    first = sweep.statistics[0]
    rows.sort(key=lambda r: -abs(r[first]) if r[first] is not None else 0)
    return rows

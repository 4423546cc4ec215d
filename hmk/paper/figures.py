"""One PNG per experiment: the model's values as bars, the published ones as black points
(lmbench's and the cold start's bars are the time ratios HM / Linux, which is what the paper
claims). `figure(name, cells)` returns the matplotlib Figure (tests count its bars and points);
`write_figures(cells, directory)` saves the figure of every experiment `cells` hold.
"""

from __future__ import annotations

import os

from hmk.paper.experiments import EXPERIMENTS

COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")  # Okabe-Ito, colour-blind-safe


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise RuntimeError("figures need matplotlib: pip install matplotlib") from None
    return plt


def grouped(ax, rows, groups, systems, unit_label: str, group_of=lambda r: r.quantity) -> int:
    """Bars of `rows`: a group per `group_of(row)` in `groups`, a bar per system; a black point
    for each row with a published value. The number of points."""
    width, points = 0.8 / len(systems), 0
    for k, system in enumerate(systems):
        xs = [g + (k - (len(systems) - 1) / 2) * width for g in range(len(groups))]
        mine = [
            next((r for r in rows if (group_of(r), r.system) == (g, system)), None) for g in groups
        ]
        heights = [(r.value or 0) if r else 0 for r in mine]
        ax.bar(xs, heights, width * 0.9, label=system, color=COLOURS[k % len(COLOURS)])
        known = [(x, r.published.value) for x, r in zip(xs, mine, strict=True) if r and r.published]
        if known:
            ax.plot(*zip(*known, strict=True), "ko", markersize=5, label="_published")
        points += len(known)
    ax.set_xticks(range(len(groups)), [_short(g) for g in groups], fontsize=8)
    ax.set_ylabel(unit_label)
    ax.spines[["top", "right"]].set_visible(False)
    return points


def stacked(ax, rows, quantities, systems, unit_label: str) -> None:
    """A bar per system, its parts the values of `quantities` stacked."""
    bottom = [0.0] * len(systems)
    for k, q in enumerate(quantities):
        by = {r.system: r.value or 0 for r in rows if r.quantity == q}
        heights = [by.get(s, 0) for s in systems]
        ax.bar(systems, heights, 0.6, bottom=bottom, label=q, color=COLOURS[k % len(COLOURS)])
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel(unit_label)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def _short(label: str) -> str:
    return label.split(" (")[0].split(",")[0]


def figure(name: str, cells):
    """The figure of experiment `name` from `cells`."""
    plt = _pyplot()
    experiment = EXPERIMENTS[name]
    rows = experiment.rows(cells)
    ratios = [r for r in rows if r.unit == "ratio"]
    profiles = list(dict.fromkeys(r.profile for r in rows))
    if name == "coldstart":  # one claim: a bar per profile
        fig, ax = plt.subplots(figsize=(2.2 + 0.9 * len(profiles), 3.6), dpi=100)
        points = grouped(
            ax,
            ratios,
            profiles,
            ["hm-phone / linux"],
            "time, HM / Linux",
            group_of=lambda r: r.profile,
        )
        axes = [ax]
    else:
        if name == "lmbench":
            groups, systems = list(dict.fromkeys(r.quantity for r in ratios)), ["hm-phone / linux"]
        else:
            groups, systems = list(experiment.quantities), list(experiment.systems)
        panel = max(2.6, 1.0 + 0.55 * len(groups) * len(systems))
        fig, axes = plt.subplots(
            1, len(profiles), figsize=(1.4 + panel * len(profiles), 3.6), squeeze=False, dpi=100
        )
        axes, points = list(axes[0]), 0
        for ax, profile in zip(axes, profiles, strict=True):
            mine = [r for r in rows if r.profile == profile]
            if name == "bookkeeping":
                stacked(ax, mine, groups, systems, "frames at peak")
            elif name == "lmbench":
                mine = [r for r in ratios if r.profile == profile]
                points += grouped(ax, mine, groups, systems, "time, HM / Linux")
            else:
                points += grouped(ax, mine, groups, systems, experiment.unit)
            ax.set_title(profile, fontsize=9)
    for ax in axes:
        if ax.get_ylabel().startswith("time"):
            ax.axhline(1.0, color="#999999", linewidth=0.8, zorder=0)
    axes[-1].legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(experiment.title + (" (black points: published)" if points else ""), fontsize=10)
    fig.tight_layout()
    return fig


def write_figures(cells, directory: str) -> list[str]:
    """Save each experiment's figure as DIRECTORY/NAME.png; the paths written."""
    plt = _pyplot()
    written = []
    for name in EXPERIMENTS:
        if any(c.experiment == name for c in cells):
            fig = figure(name, cells)
            path = os.path.join(directory, f"{name}.png")
            fig.savefig(path, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written

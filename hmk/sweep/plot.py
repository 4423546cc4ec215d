"""Pictures of a sweep's table (matplotlib): a statistic over one knob (a line per value of
another), over two knobs (a heatmap), and which value of a knob wins (the least of the
statistic) at each combination of two others. PNG, or SVG by the file's suffix."""

from __future__ import annotations

FORMATS = (".png", ".svg")


class PlotError(ValueError):
    """A plot the table cannot give (one line for `hmk: error:`)."""


def _pyplot():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _check(frame, stat: str, knobs: list[str]):
    for column in [stat, *knobs]:
        if column not in frame.columns:
            known = ", ".join(str(c) for c in frame.columns)
            raise PlotError(f"no column {column!r} in the table; columns: {known}")
    done = frame[frame["status"] == "ok"]
    if done.empty:
        raise PlotError("no point of the sweep finished with status ok")
    return done


def _labels(series) -> list[str]:
    return [str(v) for v in series]


def line(frame, stat: str, x: str, by: str | None, path: str, title: str | None = None) -> None:
    """`stat` over knob `x`, a line per value of knob `by` (mean over the other knobs)."""
    done = _check(frame, stat, [x] + ([by] if by else []))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = done.groupby(by, sort=False) if by else [(None, done)]
    for value, part in groups:
        series = part.groupby(x, sort=False)[stat].mean()
        ax.plot(_labels(series.index), series.values, marker="o", label=str(value))
    ax.set_xlabel(x)
    ax.set_ylabel(stat)
    if by:
        ax.legend(title=by)
    ax.set_title(title or f"{stat} over {x}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def heatmap(frame, stat: str, x: str, y: str, path: str, title: str | None = None) -> None:
    """`stat` at each (x, y), the mean over the other knobs, written in each cell."""
    done = _check(frame, stat, [x, y])
    grid = done.pivot_table(index=y, columns=x, values=stat, aggfunc="mean", sort=False)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(grid.columns) + 3, 0.6 * len(grid.index) + 2))
    image = ax.imshow(grid.values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), _labels(grid.columns), rotation=30, ha="right")
    ax.set_yticks(range(len(grid.index)), _labels(grid.index))
    for i in range(len(grid.index)):
        for j in range(len(grid.columns)):
            ax.text(j, i, f"{grid.values[i, j]:.4g}", ha="center", va="center", color="w")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(image, ax=ax, label=stat)
    ax.set_title(title or f"{stat}: mean over the other knobs")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def winners(frame, stat: str, knob: str, x: str, y: str) -> dict:
    """{(x value, y value): the value of `knob` with the least mean `stat` there}."""
    done = _check(frame, stat, [knob, x, y])
    means = done.groupby([y, x, knob], sort=False)[stat].mean()
    best = {}
    for (yv, xv, kv), value in means.items():
        if (xv, yv) not in best or value < best[xv, yv][1]:
            best[xv, yv] = (kv, value)
    return {cell: kv for cell, (kv, _) in best.items()}


def wins(frame, stat: str, knob: str, x: str, y: str, path: str, title: str | None = None):
    """Which value of `knob` gives the least `stat` at each (x, y): a map coloured by winner."""
    best = winners(frame, stat, knob, x, y)
    xs = list(dict.fromkeys(xv for xv, _ in best))
    ys = list(dict.fromkeys(yv for _, yv in best))
    names = list(dict.fromkeys(best.values()))
    grid = [[names.index(best[xv, yv]) if (xv, yv) in best else -1 for xv in xs] for yv in ys]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(xs) + 3, 0.6 * len(ys) + 2))
    ax.imshow(grid, cmap="tab10", vmin=0, vmax=9, aspect="auto")
    for i, yv in enumerate(ys):
        for j, xv in enumerate(xs):
            ax.text(j, i, str(best.get((xv, yv), "-")), ha="center", va="center", color="w")
    ax.set_xticks(range(len(xs)), _labels(xs), rotation=30, ha="right")
    ax.set_yticks(range(len(ys)), _labels(ys))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"the {knob} with the least {stat}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return best

"""One program under several compositions, side by side: `hmk compare`.

`compare(program, args, systems, **options)` runs the program once per system (the same
profile, arguments and environment) and returns the RunResults; `table(results)` is the
aligned side-by-side text; `breakdown(stats)` splits a run's cycles into the parts the table
and the stacked bar chart (`plot(results, path)`, matplotlib) show.
"""

from __future__ import annotations

import io
import os

from hmk.outputs import OutputError, shown
from hmk.report.summary import over_cores
from hmk.system.composition import registered

SERVICES = tuple(registered())
PARTS = (  # breakdown's parts, bottom of the bar first
    "user",
    "syscall entry/exit",
    "IPC",
    "page faults",
    *(f"service {s}" for s in SERVICES),
    "scheduling",
    "cross-core",  # with several cores: interrupts between them, TLB shootdowns' waits
)
COLOURS = {  # colour-blind-safe (Okabe-Ito), services in one family
    "user": "#E69F00",
    "syscall entry/exit": "#56B4E9",
    "IPC": "#D55E00",
    "page faults": "#CC79A7",
    "service procmgr": "#009E73",
    "service memmgr": "#4DB89A",
    "service fsmgr": "#8ACFBD",
    "service devhost": "#C3E6DC",
    "scheduling": "#999999",
    "cross-core": "#000000",
}


def breakdown(stats: dict) -> dict[str, int]:
    """A run's busy cycles by part (PARTS); idle cycles are not part of it. With several
    cores, the user cycles are every core's (on the run's time base, as the kernel's)."""
    kernel = {
        k.removeprefix("kernel.cycles."): v
        for k, v in stats.items()
        if k.startswith("kernel.cycles.")
    }
    cores = over_cores(stats)
    cycles = cores.get("system.cpu0.cycles", 0)
    parts = {
        "user": cycles - cores.get("system.cpu0.external_cycles", 0),
        "syscall entry/exit": kernel.get("syscall", 0) + kernel.get("shim", 0),
        "IPC": kernel.get("ipc", 0),
        "page faults": kernel.get("fault", 0),
        **{f"service {s}": stats.get(f"services.{s}.cycles", 0) for s in SERVICES},
        "scheduling": sum(kernel.get(k, 0) for k in ("sched", "timer", "hmcall", "signal")),
        "cross-core": kernel.get("ipi", 0) + kernel.get("tlbi", 0),
    }
    return parts


def compare(
    program: str,
    args: list[str],
    systems: list[str],
    outputs=None,
    jobs=1,
    progress=None,
    profiles=None,
    **options,
):
    """Run `program` under each of `systems` on each of `profiles` (default: the `profile`
    option's; run_program's options otherwise): the RunResults, profile by profile, each in
    the order of `systems`, the runs on `jobs` processes (hmk.parallel). The program's output
    is not printed; each run's is appended to `outputs` if given."""
    from hmk.parallel import pool_map  # noqa: PLC0415

    options.setdefault("warnings", None)  # kept in each result; the caller shows them once
    default = options.pop("profile", None)
    boards = profiles or [default]
    runs = [
        (program, list(args), system, {**options, **({"profile": p} if p else {})})
        for p in boards
        for system in systems
    ]
    done = pool_map(_run_one, runs, jobs, progress, "hmk compare")
    if outputs is not None:
        outputs.extend(out for _, out in done)
    return [result for result, _ in done]


def labels(results) -> list[str]:
    """Each run's column name: its system, with its profile when the profiles differ."""
    if len({r.run["profile"] for r in results}) > 1:
        return [f"{r.run['system']}@{r.run['profile']}" for r in results]
    return [r.run["system"] for r in results]


def _run_one(run: tuple) -> tuple:
    """(RunResult, what the program wrote) of one (program, args, system, options)."""
    from hmk.system import run_program  # noqa: PLC0415

    program, args, system, options = run
    out = io.BytesIO()
    result = run_program(program, args, system=system, out=out, err=out, **options)
    return result, out.getvalue()


def _rows(results) -> list[tuple[str, list[str]]]:
    first = results[0]
    stats = [r.stats for r in results]

    def count(name):
        return [f"{s.get(name, 0):,}" for s in stats]

    def total(prefix, suffix=""):
        return [
            f"{sum(v for k, v in s.items() if k.startswith(prefix) and k.endswith(suffix)):,}"
            for s in stats
        ]

    rows = [
        ("cycles", [f"{r.cycles:,}" for r in results]),
        (
            "  vs " + labels(results)[0],
            [f"{r.cycles / (first.cycles or 1):.2f}x" for r in results],
        ),
        ("time (µs)", [f"{r.seconds * 1e6:,.2f}" for r in results]),
        ("instructions", [f"{r.instructions:,}" for r in results]),
        ("syscalls", [f"{r.syscalls:,}" for r in results]),
        ("IPCs", [f"{s['kernel.ipc.fastpath'] + s['kernel.ipc.slowpath']:,}" for s in stats]),
        ("  slow path", count("kernel.ipc.slowpath")),
        ("direct calls", total("domains.", ".direct")),
        *(
            [("kernel messages", count("kernel.messages"))]
            if any("kernel.messages" in s for s in stats)
            else []
        ),
        ("domain switches", count("kernel.domain_switches")),
        ("context switches", count("kernel.context_switches")),
        ("page faults", [f"{r.page_faults:,}" for r in results]),
        ("  resolved in kernel", count("kernel.faults.resolved")),
        ("frames (peak)", count("frames.total.peak")),
        ("exit status", [str(r.exit_status) for r in results]),
        ("cycles by part", [""] * len(results)),
    ]
    parts = [breakdown(s) for s in stats]
    for part in PARTS:
        if any(p[part] for p in parts):
            rows.append(
                (
                    "  " + part,
                    [f"{p[part]:,} ({100 * p[part] / (sum(p.values()) or 1):.0f}%)" for p in parts],
                )
            )
    idle = [s.get("kernel.cycles.idle", 0) for s in stats]
    if any(idle):
        rows.append(("  (idle)", [f"{i:,}" for i in idle]))
    rows += _placement_rows(results, count)
    domains = sorted({k.split(".")[1] for s in stats for k in s if k.startswith("domains.")})
    rows.append(("cycles by domain", [""] * len(results)))
    for domain in domains:
        rows.append((f"  {domain}", [f"{s.get(f'domains.{domain}.cycles', 0):,}" for s in stats]))
    return rows


PLACEMENT = (
    ("woken elsewhere", "kernel.wake_moves"),
    ("energy-aware wake-ups", "kernel.eas.wakeups"),
    ("overutilised wake-ups", "kernel.eas.overutilized"),
    ("misfit migrations", "kernel.misfit_migrations"),
    ("migrations", "kernel.migrations"),
)


def _placement_rows(results, count) -> list[tuple[str, list[str]]]:
    """On cores of several clusters: each kernel's placement decisions (docs/smp.md,
    "Placement") and the user instructions each cluster ran."""
    clusters = results[0].run.get("clusters")
    if not clusters:
        return []
    rows = [("placement", [""] * len(results))]
    rows += [(f"  {label}", count(name)) for label, name in PLACEMENT]
    first = 0
    for name, n in clusters.items():
        cores = range(first, first + n)
        first += n
        ran = [sum(r.stats.get(f"system.cpu{c}.instructions", 0) for c in cores) for r in results]
        rows.append((f"  instructions on {name}", [f"{i:,}" for i in ran]))
    return rows


def privilege_rows(privileges) -> list[tuple[str, list[str]]]:
    """Rows of each run's composition booted (hmk.system.privileges.Privileges): its services
    at EL1, the calls between services no capability check stands in, and what each service,
    compromised, could load from or store to."""
    from hmk.report.privileges import size  # noqa: PLC0415

    services = privileges[0].services()
    pairs = len(services) * (len(services) - 1)
    rows = [
        ("privileges (after boot)", [""] * len(privileges)),
        ("  services at EL1", [f"{len(p.at_el1())} of {len(services)}" for p in privileges]),
        ("  unchecked calls", [f"{p.unchecked_calls()} of {pairs}" for p in privileges]),
    ]
    for service in services:
        rows.append((f"  {service} reaches", [size(p.reach(service).total) for p in privileges]))
    return rows


def table(results, privileges=None) -> str:
    """The side-by-side table: one column per system (with `privileges`, one per run, the
    privilege rows under the cycles')."""
    rows = _rows(results) + (privilege_rows(privileges) if privileges else [])
    header = ["", *labels(results)]
    names = max(len(name) for name, _ in rows)
    widths = [max(len(h), *(len(v[i]) for _, v in rows)) for i, h in enumerate(header[1:])]
    lines = [
        f"{'':<{names}}" + "".join(f"  {h:>{w}}" for h, w in zip(header[1:], widths, strict=True))
    ]
    for name, values in rows:
        lines.append(
            f"{name:<{names}}" + "".join(f"  {v:>{w}}" for v, w in zip(values, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def plot_format(path: str) -> str:
    """The image format a chart written to `path` gets: its extension's, PNG without one."""
    return os.path.splitext(path)[1][1:].lower() or "png"


def check_plot(path: str) -> None:
    """Before a comparison runs: can plot() write `path` (matplotlib there, a format it
    writes)? Raises OutputError."""
    plt = _pyplot()
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if plot_format(path) not in formats:
        raise OutputError(
            f"--plot {shown(path)}: matplotlib cannot write .{plot_format(path)} images "
            f"(formats: {', '.join(sorted(formats))})"
        )


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise OutputError("--plot needs matplotlib: pip install matplotlib") from None
    return plt


def plot(results, path: str, title: str | None = None) -> None:
    """A stacked bar chart of each system's cycles by part, written to `path` exactly, in the
    format of its extension (PNG, SVG, PDF, ...; PNG without one: plot_format)."""
    plt = _pyplot()
    names = labels(results)
    parts = [breakdown(r.stats) for r in results]
    ghz = {r.ghz for r in results}
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(results), 4.5), dpi=100)
    bottom = [0.0] * len(results)
    for part in PARTS:
        heights = [p[part] / (r.ghz * 1e3) for p, r in zip(parts, results, strict=True)]  # µs
        if not any(heights):
            continue
        ax.bar(names, heights, bottom=bottom, label=part, color=COLOURS[part], width=0.6)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    clock = f"{ghz.pop():g} GHz" if len(ghz) == 1 else "each core's clock"
    ax.set_ylabel(f"busy time (µs at {clock})")
    ax.set_title(title or "Where the cycles went", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    handles, parts_shown = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        parts_shown[::-1],
        fontsize=8,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    fig.tight_layout()
    kind = plot_format(path)
    fig.savefig(path, format=kind, metadata={"Software": None} if kind == "png" else None)
    plt.close(fig)

"""The few lines `hmk run` prints on stderr after a run: where the cycles went."""

from __future__ import annotations

import sys

from hmk.kernel.timebase import TimeBase
from hmk.system.stats import describe


def summary(result, file=None) -> None:
    """Three lines on `file` (stderr): the totals, the shares of the busy cycles, the miss
    rates and counts of a RunResult."""
    file = file if file is not None else sys.stderr
    cores = result.stats.get("sim.cores", 1)
    s = over_cores(result.stats)

    def rate(name):
        hits, misses = s.get(f"{name}.hits", 0), s.get(f"{name}.misses", 0)
        return f"{100 * misses / (hits + misses):.2f}%" if hits + misses else "-"

    estimate = s.get("sample.cycles")
    exact = estimate is not None and "system.cpu0.functional_instructions" not in s
    clusters = result.run.get("clusters")
    ipc = f"IPC {result.ipc:.2f}"
    if cores > 1:  # instructions per cycle of the cores' busy time (their clocks less idle)
        ipc = f"IPC {result.instructions / max(s['sim.busy_cycles'], 1):.2f} while busy"
    if clusters and (estimate is None or exact):  # cores of several clusters
        mix = ", ".join(f"{name}:{n}" for name, n in clusters.items())
        print(
            f"hmk: {result.cycles:,} cycles of the boot core's clock ({result.ghz} GHz), "
            f"{result.seconds * 1e3:.3f} ms on {cores} cores ({mix}), "
            f"{result.instructions:,} instructions, {ipc}",
            file=file,
        )
    elif estimate is None or exact:
        on = f" on {cores} cores" if cores > 1 else ""
        print(
            f"hmk: {result.cycles:,} cycles, {result.seconds * 1e3:.3f} ms at {result.ghz} GHz"
            f"{on}, {result.instructions:,} instructions, {ipc}",
            file=file,
        )
    else:
        ipc = result.instructions / (estimate or 1)
        print(
            f"hmk: {estimate:,} cycles estimated{_interval(s)}, "
            f"{estimate / result.ghz / 1e6:.3f} ms at {result.ghz} GHz, "
            f"{result.instructions:,} instructions, IPC {ipc:.2f}",
            file=file,
        )
    user = _user_parts(s)
    if "system.cpu0.functional_instructions" in s:
        print(_functional_line(result, s), file=file)
    elif exact:
        print("hmk: sampling: the run ended in its detailed start: all of it in detail", file=file)
    kernel = {
        k.removeprefix("kernel.cycles."): v for k, v in s.items() if k.startswith("kernel.cycles.")
    }
    parts = {
        **user,
        "syscall entry/exit": kernel.get("syscall", 0) + kernel.get("shim", 0),
        "page faults": kernel.get("fault", 0),
        "IPC": kernel.get("ipc", 0),
        "services": sum(
            v for k, v in s.items() if k.startswith("domains.") and k.endswith(".cycles")
        ),
        "scheduling": sum(kernel.get(k, 0) for k in ("sched", "timer", "hmcall", "signal")),
        "interrupts and shootdowns between cores": kernel.get("ipi", 0) + kernel.get("tlbi", 0),
    }
    total = sum(parts.values()) or 1
    shares = ", ".join(f"{name} {100 * v / total:.1f}%" for name, v in parts.items() if v)
    idle = kernel.get("idle", 0)
    if idle and cores > 1:  # (each core's clock runs from the start to its last work)
        spent = s.get("system.cpu0.cycles", 0) or 1
        shares += (
            f"; the cores idled {idle:,} of their {spent:,} cycles ({100 * idle / spent:.1f}%)"
        )
    elif idle:  # sleeping with nothing else to run: not part of the busy cycles' shares
        shares += f"; the core idled {idle:,} cycles ({100 * idle / (result.cycles or 1):.1f}%)"
    print(f"hmk: cycles went to {shares}", file=file)
    print(
        f"hmk: miss rates of user and kernel accesses {_levels(result, rate)} "
        f"DTLB {rate('system.cpu0.dtlb')}; "
        f"{result.syscalls} syscalls, "
        f"{result.page_faults} page faults ({_faults(s)}), "
        f"{s.get('kernel.ipc.fastpath', 0) + s.get('kernel.ipc.slowpath', 0)} IPCs, "
        f"{s.get('kernel.domain_switches', 0)} address-space switches "
        f"({result.run.get('system', '?')})",
        file=file,
    )


def over_cores(stats: dict) -> dict:
    """The statistics with each core's own (system.cpu0.*) summed over the cores; with cores
    of different clocks (system.cpuN.ghz) a core's cycles are counted on the boot core's
    clock, the run's time base (hmk.kernel.timebase), as the kernel's are."""
    cores = stats.get("sim.cores", 1)
    if cores == 1:
        return stats
    base = stats.get("system.cpu0.ghz")
    bases = [TimeBase(stats[f"system.cpu{j}.ghz"], base) if base else None for j in range(cores)]
    total = dict(stats)
    for name in stats:
        if name.startswith("system.cpu0.") and not name.endswith(".ghz"):
            rest = name.removeprefix("system.cpu0.")
            cycles = base and (describe(name) or ("",))[0] == "cycles"
            total[name] = sum(
                bases[j].time(stats.get(f"system.cpu{j}.{rest}", 0))
                if cycles
                else stats.get(f"system.cpu{j}.{rest}", 0)
                for j in range(cores)
            )
    return total


def _levels(result, rate) -> str:
    """Each cache's miss rate under the profile's name for it (run.caches: a statistics
    prefix -> the name; the Pi 4B's shared L2 is system.l2, a Kirin's L3 system.l3)."""
    names = result.run.get("caches") or {
        "system.cpu0.l1i": "L1I",
        "system.cpu0.l1d": "L1D",
        "system.cpu0.l2": "L2",
        "system.l3": "L3",
    }
    return " ".join(f"{name} {rate(prefix)}" for prefix, name in names.items())


def _faults(s) -> str:
    """Where the CPU's faults went (kernel.faults.*: they add up to kernel.page_faults)."""
    kernel = sum(
        s.get(f"kernel.faults.{k}", 0) for k in ("resolved", "zero_mapped", "zero_replaced")
    )
    parts = [f"{kernel} resolved in the kernel"]
    for key, where in (("need_memmgr", "the memory manager"), ("need_pager", "a pager")):
        if s.get(f"kernel.faults.{key}"):
            parts.append(f"{s[f'kernel.faults.{key}']} by {where}")
    if s.get("kernel.faults.segv"):
        parts.append(f"{s['kernel.faults.segv']} refused")
    return ", ".join(parts)


def _interval(s) -> str:
    """The estimate's 95% confidence interval, as text."""
    half = s.get("sample.cycles_ci95")
    if half is None:
        return " (one window: no confidence interval)"
    return f" (95% CI \u00b1{half:,}, {100 * half / (s['sample.cycles'] or 1):.2f}%)"


def _user_parts(s) -> dict:
    """User cycles by kind. A sampled run's come from its detailed stretches and are scaled to
    its estimate of the user cycles; a fast-forwarded run's add the cycles assumed."""
    parts = {
        "execution": s.get("system.cpu0.base_cycles", 0),
        "memory stalls": s.get("system.cpu0.stall.memory", 0),
        "fetch stalls": s.get("system.cpu0.stall.fetch", 0),
        "mispredicts": s.get("system.cpu0.stall.mispredict", 0),
        "dependencies": s.get("system.cpu0.stall.dependency", 0),
    }
    if "sample.user_cycles" in s:
        scale = s["sample.user_cycles"] / (sum(parts.values()) or 1)
        return {name: round(v * scale) for name, v in parts.items()}
    return {**parts, "fast-forwarded (assumed)": s.get("system.cpu0.functional_cycles", 0)}


def _functional_line(result, s) -> str:
    """What ran without the timing model, and how the cycles were counted."""
    skipped = s["system.cpu0.functional_instructions"]
    share = 100 * skipped / (result.instructions or 1)
    if "sample.cycles" not in s:
        detailed = result.instructions - skipped
        user = s.get("system.cpu0.cycles", 0) - s.get("system.cpu0.external_cycles", 0)
        ipc = detailed / ((user - s["system.cpu0.functional_cycles"]) or 1)
        rest = f"{detailed:,} in detail at user IPC {ipc:.2f}" if detailed else "none in detail"
        return (
            f"hmk: fast-forwarded {skipped:,} instructions ({share:.1f}%) functionally, their "
            f"{s['system.cpu0.functional_cycles']:,} cycles assumed (1 an instruction); {rest}"
        )
    windows = s["sample.windows"]
    cpi = s.get("sample.cpi")
    measured = f", user CPI {cpi:.4f}" if cpi is not None else ""
    if "sample.cpi_ci95" in s:
        measured += f" \u00b1{s['sample.cpi_ci95']:.4f}"
    size = s["sample.instructions.measure"] // (windows or 1)
    return (
        f"hmk: sampled {windows:,} windows of {size:,} instructions{measured}; "
        f"{share:.1f}% of the instructions ran functionally; "
        f"kernel paths in detail ({s['sample.kernel_cycles']:,} cycles)"
    )

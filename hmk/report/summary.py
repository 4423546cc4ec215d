"""The few lines `hmk run` prints on stderr after a run: where the cycles went."""

from __future__ import annotations

import sys


def summary(result, file=None) -> None:
    """Three lines on `file` (stderr): the totals, the shares of the busy cycles, the miss
    rates and counts of a RunResult."""
    file = file if file is not None else sys.stderr
    s = result.stats

    def rate(name):
        hits, misses = s.get(f"{name}.hits", 0), s.get(f"{name}.misses", 0)
        return f"{100 * misses / (hits + misses):.2f}%" if hits + misses else "-"

    print(
        f"hmk: {result.cycles:,} cycles, {result.seconds * 1e3:.3f} ms at {result.ghz} GHz, "
        f"{result.instructions:,} instructions, IPC {result.ipc:.2f}",
        file=file,
    )
    kernel = {
        k.removeprefix("kernel.cycles."): v for k, v in s.items() if k.startswith("kernel.cycles.")
    }
    parts = {
        "execution": s.get("system.cpu0.base_cycles", 0),
        "memory stalls": s.get("system.cpu0.stall.memory", 0),
        "fetch stalls": s.get("system.cpu0.stall.fetch", 0),
        "mispredicts": s.get("system.cpu0.stall.mispredict", 0),
        "dependencies": s.get("system.cpu0.stall.dependency", 0),
        "syscall entry/exit": kernel.get("syscall", 0) + kernel.get("shim", 0),
        "page faults": kernel.get("fault", 0),
        "IPC": kernel.get("ipc", 0),
        "services": sum(
            v for k, v in s.items() if k.startswith("domains.") and k.endswith(".cycles")
        ),
        "scheduling": kernel.get("sched", 0) + kernel.get("timer", 0) + kernel.get("hmcall", 0),
    }
    total = sum(parts.values()) or 1
    shares = ", ".join(f"{name} {100 * v / total:.1f}%" for name, v in parts.items() if v)
    idle = kernel.get("idle", 0)
    if idle:  # sleeping with nothing else to run: not part of the busy cycles' shares
        shares += f"; the core idled {idle:,} cycles ({100 * idle / (result.cycles or 1):.1f}%)"
    print(f"hmk: cycles went to {shares}", file=file)
    print(
        f"hmk: miss rates L1I {rate('system.cpu0.l1i')} L1D {rate('system.cpu0.l1d')} "
        f"L2 {rate('system.cpu0.l2')} L3 {rate('system.l3')} DTLB {rate('system.cpu0.dtlb')}; "
        f"{result.syscalls} syscalls, "
        f"{result.page_faults} page faults ({s.get('kernel.faults.resolved', 0)} resolved in the "
        f"kernel), {s.get('kernel.ipc.fastpath', 0) + s.get('kernel.ipc.slowpath', 0)} IPCs, "
        f"{s.get('kernel.domain_switches', 0)} address-space switches "
        f"({result.run.get('system', '?')})",
        file=file,
    )

"""The calibration protocol: fit on one board, predict the other (`hmk calibrate`).

The only fitted parameter is the kernels' speed on the fit board's core: `kernel_ipc`, the
instructions per cycle at which kernel straight-line work retires (every budget in
hmk.kernel.costs and hmk.monolithic.costs is an instruction count; their memory stalls come
from the hierarchy, not from the fit). It is fitted on the Raspberry Pi 4B (Cortex-A72) to the
HM paper's minor-fault figures for HM and Linux there, by least squares on the logarithm of
model/published, and carried to the other core types without looking at their data: kernel
code is taken to run on a core as the core runs integer code, so each core type's kernel IPC is
the A72's times the ratio of the timing model's own IPC on the bundled `compute` program on the
two cores. Everything the Kirin 9000 is compared with is then a prediction.

A run's cycles depend on kernel_ipc as a + b / kernel_ipc (every budget is divided by it,
stalls and user code are not), so two runs per anchor give the whole curve; the fit is checked
by running the model again at the fitted value.
"""

from __future__ import annotations

import io
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hmk.bench import per_operation
from hmk.hw.profile import load_soc

HERE = Path(__file__).resolve().parent
ANCHORS, FITTED = HERE / "anchors.toml", HERE / "fitted.toml"
FIT_BOARD, FIT_CORE = "rpi4", "cortex-a72"
N = (16, 80)  # pages per fault loop: per operation = the difference / 64 (bench's lengths)


@dataclass(frozen=True)
class Target:
    anchor: str  # id in anchors.toml
    system: str
    op: str  # lat's operation


FIT = (
    Target("hm.fig8.rpi4.anon_fault.read.hm", "hm-phone", "fault-read"),
    Target("hm.fig8.rpi4.anon_fault.write.hm", "hm-phone", "fault-write"),
    # measured on the Raspberry Pi's own kernel, which boots with the memory cgroup off
    Target("hm.fig8.rpi4.anon_fault.read.linux", "linux-rpi", "fault-read"),
    Target("hm.fig8.rpi4.anon_fault.write.linux", "linux-rpi", "fault-write"),
)
PREDICT = (
    Target("hm.fig8.rpi4.anon_fault.read.fiasco", "fiasco", "fault-read"),
    Target("hm.fig8.kirin9000.anon_fault.read.hm", "hm-phone", "fault-read"),
    Target("hm.fig8.kirin9000.anon_fault.write.hm", "hm-phone", "fault-write"),
    Target("hm.fig8.kirin9000.anon_fault.read.linux", "linux", "fault-read"),
    Target("hm.fig8.kirin9000.anon_fault.write.linux", "linux", "fault-write"),
)


def anchors() -> dict[str, dict]:
    with ANCHORS.open("rb") as f:
        return {a["id"]: a for a in tomllib.load(f)["anchor"]}


def board_of(target: Target) -> str:
    return anchors()[target.anchor]["board"]


def measure(target: Target, kernel_ipc: float, cluster=None) -> float:
    """The model's ns per operation for `target` on its board at `kernel_ipc`."""
    cycles, ghz = per_operation(
        target.op,
        board_of(target),
        None,
        N,
        target.system,
        program="lat",
        cluster=cluster,
        kernel_ipc=kernel_ipc,
    )
    return cycles / ghz


def curve(target: Target) -> tuple[float, float]:
    """(a, b) with ns(kernel_ipc) = a + b / kernel_ipc, from runs at 1 and 2."""
    one, two = measure(target, 1.0), measure(target, 2.0)
    b = 2 * (one - two)
    return one - b, b


def fit(curves: dict[Target, tuple[float, float]]) -> float:
    """The kernel IPC minimizing the sum of squared log errors over the FIT anchors."""
    published = {t: anchors()[t.anchor]["value"] for t in curves}

    def loss(ipc):
        return sum(math.log((a + b / ipc) / published[t]) ** 2 for t, (a, b) in curves.items())

    lo, hi = 0.2, 8.0  # golden-section search on log(ipc)
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = math.log(lo), math.log(hi)
    for _ in range(80):
        m1, m2 = x2 - g * (x2 - x1), x1 + g * (x2 - x1)
        if loss(math.exp(m1)) < loss(math.exp(m2)):
            x2 = m2
        else:
            x1 = m1
    return round(math.exp((x1 + x2) / 2), 3)


def integer_ipc(core_profile: str, cluster=None) -> float:
    """The timing model's IPC on the bundled `compute` program's user code on a core."""
    from hmk.system import run_program  # noqa: PLC0415  (the model loads only here)
    from hmk.workloads import path as workload_path  # noqa: PLC0415

    result = run_program(
        str(workload_path("compute")),
        [],
        profile=core_profile,
        cluster=cluster,
        system="hm-ic0",
        out=io.BytesIO(),
        warnings=None,
        kernel_ipc=1.0,
        cores=1,
    )
    user = result.cycles - result.stats["system.cpu0.external_cycles"]
    return result.instructions / user


def core_types() -> dict[str, tuple[str, str]]:
    """Core type -> (a profile, its cluster) that has it, over the bundled SoC profiles."""
    out = {}
    for soc_name in ("rpi4", "kirin990", "kirin9000"):
        for cluster in load_soc(soc_name).clusters:
            out.setdefault(cluster.core.name, (soc_name, cluster.name))
    return out


def transfer(fit_ipc: float) -> tuple[dict[str, float], dict[str, float]]:
    """(integer IPC per core type, kernel IPC per core type) from the fit core's value."""
    ints = {core: integer_ipc(*where) for core, where in core_types().items()}
    base = ints[FIT_CORE]
    return ints, {core: round(fit_ipc * v / base, 3) for core, v in ints.items()}


def fitted_text(kernel_ipc: dict[str, float]) -> str:
    """fitted.toml's text for the fitted `kernel_ipc` of each core type."""
    lines = [
        "# Fitted model parameters: written by `hmk calibrate --write` (docs/calibration.md says",
        "# how). Do not edit by hand: rerun the fit.",
        "",
        "[kernel_ipc]  # instructions per cycle of kernel straight-line code, by core type",
        *(f"{core} = {value}" for core, value in sorted(kernel_ipc.items())),
        "",
    ]
    return "\n".join(lines)


# ---- sensitivity: which budgets move which results ----------------------------------------
def groups() -> dict[str, list[tuple[dict, str]]]:
    """Budget groups the sensitivity table perturbs: name -> (table, key) pairs."""
    from hmk.kernel.costs import BUDGETS as HM  # noqa: PLC0415
    from hmk.monolithic.costs import BUDGETS as LX  # noqa: PLC0415

    return {
        "exception frame (both kernels)": [(HM, "exception.frame")],
        "HM fault path (pf.check, pf.install)": [(HM, "pf.check"), (HM, "pf.install")],
        "page zeroing (pf.zero_page, clear_page)": [(HM, "pf.zero_page"), (LX, "clear_page")],
        "Linux fault entry (fault.entry)": [(LX, "fault.entry")],
        "Linux page steps (alloc, memcg, LRU, rmap)": [
            (LX, k) for k in ("page.alloc", "page.memcg_charge", "page.lru_add", "page.rmap")
        ],
    }


def sensitivity(targets, kernel_ipc: dict[str, float], step: float = 0.1) -> dict:
    """group -> {anchor: % change of the model's value when the group's budgets grow by
    `step`} (each group perturbed alone, in this process, then restored)."""

    def ipc_for(t):
        return kernel_ipc[load_soc(board_of(t)).clusters[0].core.name]

    base = {t.anchor: measure(t, ipc_for(t)) for t in targets}
    out = {}
    for name, entries in groups().items():
        saved = [(table, key, table[key]) for table, key in entries]
        try:
            for table, key, value in saved:
                table[key] = round(value * (1 + step))
            out[name] = {
                t.anchor: 100 * (measure(t, ipc_for(t)) / base[t.anchor] - 1) for t in targets
            }
        finally:
            for table, key, value in saved:
                table[key] = value
    return out

"""Collects the throughput of every hierarchy benchmark and prints it side by side at the end:
the models per trace, hmk's ratio to pycachesim and what the TLB adds; the host time per
operation of the fault and fork benchmarks, per composition; and the start-up table
(test_startup_bench.py)."""

from __future__ import annotations

import pytest

_LOG = pytest.StashKey[dict]()
_STARTUP = pytest.StashKey[list]()
_PER_OP = pytest.StashKey[dict]()
MODELS = ("hmk", "hmk+tlb", "pycachesim", "pycachesim-list")
BASELINE = ("hmk@base", "hmk+tlb@base")


def pytest_addoption(parser):
    parser.addoption(
        "--engine-baseline",
        metavar="REV",
        default=None,
        help="also time the hierarchy engine of git revision REV (tools/baseline_engine.py)",
    )


@pytest.fixture
def throughput_log(request) -> dict:
    """{(pattern, span, model): (accesses/s of the best round, accesses/s of the mean round)}"""
    return request.config.stash.setdefault(_LOG, {})


@pytest.fixture
def startup_log(request) -> list:
    """The start-up table's lines."""
    return request.config.stash.setdefault(_STARTUP, [])


@pytest.fixture
def per_op_log(request) -> dict:
    """{(operation, system): host us per operation}"""
    return request.config.stash.setdefault(_PER_OP, {})


def pytest_terminal_summary(terminalreporter, config):
    startup = config.stash.get(_STARTUP, [])
    if startup:
        terminalreporter.section("start-up: wall time of a fresh process")
        for line in startup:
            terminalreporter.write_line(line)
    per_op = config.stash.get(_PER_OP, {})
    if per_op:
        systems = list(dict.fromkeys(system for _, system in per_op))
        terminalreporter.section("host time per operation, us (best rounds: MANY less FEW)")
        terminalreporter.write_line(f"{'op':<12}" + "".join(f"{s:>11}" for s in systems))
        for op in dict.fromkeys(op for op, _ in per_op):
            cells = (per_op.get((op, s)) for s in systems)
            terminalreporter.write_line(
                f"{op:<12}" + "".join(f"{c:>11.1f}" if c else f"{'-':>11}" for c in cells)
            )
    log = config.stash.get(_LOG, {})
    if not log:
        return
    tr = terminalreporter
    models = MODELS + tuple(m for m in BASELINE if any(k[2] == m for k in log))
    tr.section("hierarchy throughput, M accesses/s: best round (mean of the rounds)")
    tr.write_line(
        f"{'trace':<17}" + "".join(f"{m:>16}" for m in models) + f"{'hmk/pcs':>9}"
        f"{'hmk/pcs-list':>13}{'TLB adds':>10}"
        + ("".join(f"{m + '/base':>16}" for m in ("hmk", "hmk+tlb")) if models != MODELS else "")
    )

    def cell(key):
        if key not in log:
            return f"{'-':>16}"
        best, mean = log[key]
        return f"{best / 1e6:>9.1f} ({mean / 1e6:>4.1f})"

    def ratio(a, b):
        return f"{a[0] / b[0]:.2f}x" if a and b else "-"

    for pattern, span in dict.fromkeys((pattern, span) for pattern, span, _ in log):
        hmk, tlb, pcs, pcs_list = (log.get((pattern, span, m)) for m in MODELS)
        base = [log.get((pattern, span, m)) for m in BASELINE]
        # time per access with TLBs over time per access without, best rounds
        adds = f"{hmk[0] / tlb[0] - 1:+.0%}" if hmk and tlb else "-"
        speedups = "".join(
            f"{ratio(new, old):>16}" for new, old in zip((hmk, tlb), base, strict=True)
        )
        if models == MODELS:
            speedups = ""
        tr.write_line(
            f"{pattern + ' ' + span:<17}"
            + "".join(cell((pattern, span, m)) for m in models)
            + f"{ratio(hmk, pcs):>9}{ratio(hmk, pcs_list):>13}{adds:>10}"
            + speedups
        )

"""Collects the throughput of every hierarchy benchmark and prints it side by side at the end:
the models per trace, hmk's ratio to pycachesim and what the TLB adds; and the start-up table
(test_startup_bench.py)."""

from __future__ import annotations

import pytest

_LOG = pytest.StashKey[dict]()
_STARTUP = pytest.StashKey[list]()
MODELS = ("hmk", "hmk+tlb", "pycachesim", "pycachesim-list")


@pytest.fixture
def throughput_log(request) -> dict:
    """{(pattern, span, model): (accesses/s of the best round, accesses/s of the mean round)}"""
    return request.config.stash.setdefault(_LOG, {})


@pytest.fixture
def startup_log(request) -> list:
    """The start-up table's lines."""
    return request.config.stash.setdefault(_STARTUP, [])


def pytest_terminal_summary(terminalreporter, config):
    startup = config.stash.get(_STARTUP, [])
    if startup:
        terminalreporter.section("start-up: wall time of a fresh process")
        for line in startup:
            terminalreporter.write_line(line)
    log = config.stash.get(_LOG, {})
    if not log:
        return
    tr = terminalreporter
    tr.section("hierarchy throughput, M accesses/s: best round (mean of the rounds)")
    tr.write_line(
        f"{'trace':<17}" + "".join(f"{m:>16}" for m in MODELS) + f"{'hmk/pcs':>9}"
        f"{'hmk/pcs-list':>13}{'TLB adds':>10}"
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
        # time per access with TLBs over time per access without, best rounds
        adds = f"{hmk[0] / tlb[0] - 1:+.0%}" if hmk and tlb else "-"
        tr.write_line(
            f"{pattern + ' ' + span:<17}"
            + "".join(cell((pattern, span, m)) for m in MODELS)
            + f"{ratio(hmk, pcs):>9}{ratio(hmk, pcs_list):>13}{adds:>10}"
        )

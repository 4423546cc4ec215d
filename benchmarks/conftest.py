"""Collects the throughput of every hierarchy benchmark and prints it side by side at the end:
hmk / hmk+tlb / pycachesim per trace, hmk's ratio to pycachesim and what the TLB adds."""

from __future__ import annotations

import pytest

_LOG = pytest.StashKey[dict]()


@pytest.fixture
def throughput_log(request) -> dict:
    """{(pattern, span, model): (accesses/s of the best round, accesses/s of the mean round)}"""
    return request.config.stash.setdefault(_LOG, {})


def pytest_terminal_summary(terminalreporter, config):
    log = config.stash.get(_LOG, {})
    if not log:
        return
    tr = terminalreporter
    tr.section("hierarchy throughput, M accesses/s (best of the rounds; mean in brackets)")
    traces = list(dict.fromkeys((pattern, span) for pattern, span, _ in log))
    tr.write_line(
        f"{'trace':<18} {'hmk':>14} {'hmk+tlb':>14} {'pycachesim':>14} "
        f"{'hmk/pycachesim':>15} {'TLB adds':>9}"
    )

    def cell(key):
        if key not in log:
            return f"{'-':>14}"
        best, mean = log[key]
        return f"{best / 1e6:>6.1f} ({mean / 1e6:>5.1f})"

    for pattern, span in traces:
        hmk = log.get((pattern, span, "hmk"))
        tlb = log.get((pattern, span, "hmk+tlb"))
        pcs = log.get((pattern, span, "pycachesim"))
        ratio = f"{hmk[0] / pcs[0]:.2f}x" if hmk and pcs else "-"
        # extra time per access with TLBs, relative to the time without
        adds = f"{hmk[0] / tlb[0] - 1:+.0%}" if hmk and tlb else "-"
        tr.write_line(
            f"{pattern + ' ' + span:<18} {cell((pattern, span, 'hmk'))} "
            f"{cell((pattern, span, 'hmk+tlb'))} {cell((pattern, span, 'pycachesim'))} "
            f"{ratio:>15} {adds:>9}"
        )

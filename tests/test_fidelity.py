"""docs/fidelity.md's figures come from the model's mechanisms, and the page is current."""

from pathlib import Path

from hmk.fidelity import minor_fault, render
from hmk.hw.profile import load_soc
from hmk.kernel.costs import BUDGETS


def test_fault_cost_is_entry_budget_stalls_and_return():
    core = load_soc("rpi4").clusters[0].core
    cycles, ghz = minor_fault("rpi4", 0, "write", n=64)
    floor = core.exception_entry + core.exception_return
    floor += BUDGETS["pf.check"] + BUDGETS["pf.install"] + BUDGETS["pf.zero_page"]
    assert floor <= cycles < floor + 200  # warm kernel structures: small stalls on top
    assert ghz == 1.5


def test_a_cold_fault_costs_more_than_a_warm_one():
    cold, _ = minor_fault("rpi4", 0, "write", n=2)  # mean over the second of two faults
    warm, _ = minor_fault("rpi4", 0, "write", n=256)
    assert cold > warm


def test_the_committed_page_is_current():
    page = Path(__file__).resolve().parent.parent / "docs" / "fidelity.md"
    assert page.read_text(encoding="utf-8") == render(), (
        "run: python -m hmk fidelity --write docs/fidelity.md"
    )

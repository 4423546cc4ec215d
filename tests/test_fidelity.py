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


def test_user_level_pager_costs_more_than_kernel_paging_by_its_mechanisms():
    from hmk.fidelity import minor_fault_user_level

    core = load_soc("rpi4").clusters[0].core
    kernel, _ = minor_fault("rpi4", 0, "write", n=64)
    user, _ = minor_fault_user_level("rpi4", 0, n=64)
    # at least: two more kernel entries/exits, an IPC call and reply each switching VSpace,
    # the pager's own work and the map call's budget
    extra = 2 * (core.exception_entry + core.exception_return)
    extra += BUDGETS["ipc.fast_call"] + BUDGETS["ipc.fast_reply"] + 2 * BUDGETS["ipc.ttbr_switch"]
    extra += BUDGETS["pager.fault"] + BUDGETS["vs.map"]
    # ...less what only kernel paging does (its region check, walk and install)
    assert user - kernel >= extra - BUDGETS["pf.check"] - BUDGETS["pf.install"]

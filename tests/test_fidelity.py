"""docs/fidelity.md's figures come from the whole model running hmbench, and the page is
current."""

from pathlib import Path

from hmk.bench import BY_NAME, OPS, measure, parse_tables, per_operation
from hmk.fidelity import render
from hmk.hw.profile import load_soc
from hmk.kernel.costs import BUDGETS
from hmk.system.calibrated import kernel_ipc


def _core(profile):
    return load_soc(profile).clusters[0].core


def _cycles(core, *budgets):
    """Instructions of kernel work as the kernel charges them: at the core's fitted IPC."""
    ipc = kernel_ipc(core.name)
    return sum(-(-int(b * 1000) // int(round(ipc * 1000))) for b in budgets)


def test_null_call_is_entry_frame_and_return_plus_the_loop():
    core = _core("kirin990")
    cycles, ghz = per_operation("null", "kirin990", n=(50, 250))
    floor = core.exception_entry + _cycles(core, BUDGETS["exception.frame"])
    floor += core.exception_return
    assert floor <= cycles < floor + 30  # the loop's own few instructions on top
    assert ghz == 2.86


def test_an_ipc_round_trip_is_two_kernel_paths_and_crossing_adds_two_switches():
    same, _ = per_operation("ipc", "kirin990", n=(50, 250))
    cross, _ = per_operation("ipc-domain", "kirin990", n=(50, 250))
    core = _core("kirin990")
    frame = _cycles(core, BUDGETS["exception.frame"])
    trip = 2 * (core.exception_entry + frame + core.exception_return)
    trip += _cycles(core, BUDGETS["ipc.fast_call"], BUDGETS["ipc.fast_reply"])
    assert trip <= same < trip + 100
    # each switch is part of its path's budget, which is rounded up once: a cycle each less
    assert cross - same >= 2 * (_cycles(core, BUDGETS["ipc.ttbr_switch"]) - 1)


def test_user_level_paging_costs_more_than_kernel_paging_by_its_mechanisms():
    core = _core("rpi4")
    kernel, _ = per_operation("fault-read", "rpi4", "kernel", n=(64, 320))
    user, _ = per_operation("fault-read", "rpi4", "user", n=(64, 320), system="sel4")
    # every fault, not one in 16 (the pool refills): an IPC call and reply, each switching
    # address spaces, and a map call into the kernel (an entry, its frame and an exit)
    b = BUDGETS
    extra = _cycles(core, b["ipc.fast_call"], b["ipc.fast_reply"], 2 * b["ipc.ttbr_switch"])
    extra += core.exception_entry + _cycles(core, b["exception.frame"]) + core.exception_return
    assert user - kernel >= extra


PAGE = Path(__file__).resolve().parent.parent / "docs" / "fidelity.md"
REGENERATE = "run: python -m hmk fidelity --write docs/fidelity.md"


def test_the_committed_page_is_current():
    """Everything but the bench tables' numbers (a subset is recomputed below: the whole
    suite takes about a minute) is regenerated from the model."""
    page = PAGE.read_text(encoding="utf-8")
    committed = parse_tables(page)
    assert len(committed) == len(OPS) * 3 * 2  # every operation, 3 systems, 2 profiles
    assert page == render(bench_results=committed), REGENERATE


# a cheap subset of the committed bench cells: a syscall on two compositions, the raw IPC,
# the user-level pager's fault on the other profile
RECOMPUTED = (
    ("null", "linux", "kirin9000"),
    ("null", "hm-phone", "kirin9000"),
    ("ipc", "hm-phone", "kirin9000"),
    ("fault-read", "sel4", "rpi4"),
)


def test_the_committed_bench_cells_are_current():
    committed = {(r.op, r.system, r.profile): r for r in parse_tables(PAGE.read_text("utf-8"))}
    for op, system, profile in RECOMPUTED:
        now = measure(BY_NAME[op], system, profile)
        assert round(now.cycles) == committed[op, system, profile].cycles, REGENERATE

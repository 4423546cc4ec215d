"""The one syscall table (hmk.linux.syscalls): every AArch64 number has a row, every row's
handler exists in the service that owns it, every handler has its row; and a new service is
one module plus its registry line (tests/toyservice.py)."""

import io
import json
from pathlib import Path

import pytest
from toyservice import ToyService

import hmk
from hmk.hw.profile import load_soc
from hmk.linux.numbers import NUMBERS
from hmk.linux.shimcalls import ShimCalls
from hmk.linux.syscalls import (
    ENOSYS_BY_DESIGN,
    IMPLEMENTED,
    MISSING,
    SHIM,
    SyscallTable,
    handlers_of,
)
from hmk.services import registry
from hmk.system import load_system
from hmk.system.calibrated import kernel_ipc
from hmk.system.simulation import Simulation
from hmk.workloads import path


def owners():
    return {SHIM: ShimCalls, **{cls.name: cls for cls in registry.SERVICES}}


@pytest.fixture(scope="module")
def table():
    return SyscallTable(owners())


def test_every_aarch64_number_has_one_row(table):
    assert [row.nr for row in table] == [nr for nr, _, _ in NUMBERS]
    assert {row.status for row in table} == {IMPLEMENTED, ENOSYS_BY_DESIGN, MISSING}


def test_every_rows_handler_is_its_services_and_every_handler_has_its_row(table):
    classes = owners()
    for row in table:
        if row.status == IMPLEMENTED:
            assert row.handler is getattr(classes[row.service], f"sys_{row.name}")
        else:
            assert row.service is None and row.handler is None
    for owner, cls in classes.items():
        for name, handler in handlers_of(cls).items():
            rows = [r for r in table if r.name == name]
            assert len(rows) == 1 and rows[0].service == owner and rows[0].handler is handler


def test_every_services_rows_point_into_it():
    sim = Simulation(str(path("hello")), warnings=None)
    rows = sim.shim.table
    for name, service in sim.services.items():
        owned = rows.owned_by(name)
        assert owned, f"{name} owns no call"
        assert all(r.handler.__self__ is service for r in owned)
    assert all(r.handler.__self__ is sim.shim.own for r in rows.owned_by(SHIM))


def test_a_call_no_one_answers_says_why(table):
    by_name = {row.name: row for row in table}
    assert (
        by_name["rseq"].status == ENOSYS_BY_DESIGN and "CONFIG_RSEQ" in by_name["rseq"].why_enosys
    )
    assert by_name["kexec_load"].status == MISSING
    assert by_name["clock_getres"].status == IMPLEMENTED  # reachable now that 114 has its row


def test_a_handler_for_no_syscall_or_a_call_claimed_twice_is_refused():
    class Stray:
        def sys_frobnicate(self, call):
            return 0

    class Thief:
        def sys_openat(self, call, *args):
            return 0

    with pytest.raises(ValueError, match="sys_frobnicate is no AArch64 Linux syscall"):
        SyscallTable({"stray": Stray})
    with pytest.raises(ValueError, match="sys_openat is claimed by"):
        SyscallTable({**owners(), "thief": Thief})


def test_a_number_outside_the_table_is_enosys_named_by_number(capsys):
    def main(libc):
        return 0 if libc.syscall(1000) == -38 else 1

    result = hmk.System(warnings=None).run(main)
    assert result.exit_status == 0
    assert result.warnings == ["unsupported syscall syscall_1000 (1000): -ENOSYS"]


def test_a_new_service_is_one_module_and_its_registry_line(monkeypatch):
    """ToyService is all in tests/toyservice.py; the registry line is the only other edit.
    hm-phone's system file predates it: the toy gets its default domain (IC2, its own); its
    call is an IPC there, its costs are charged, its counters are published, and the table,
    `hmk syscalls` and the composition know it."""
    monkeypatch.setattr(registry, "SERVICES", (*registry.SERVICES, ToyService))
    system = load_system("hm-phone")
    assert system.domain_of("toy").ic == "IC2" and system.domain_of("toy").services == ("toy",)

    def main(libc):
        assert libc.syscall("acct", 0) == 0
        return 0

    result = hmk.System(system="hm-phone", warnings=None).run(main)
    s = result.stats
    assert result.exit_status == 0 and result.warnings == []
    assert s["shim.syscalls.acct"] == 1 and s["services.toy.answers"] == 1
    assert s["domains.toy.calls.app.fast"] == 1  # an IPC into its IC2 domain
    ipc = kernel_ipc(load_soc("kirin9000").clusters[0].core.name)
    assert s["services.toy.cycles"] >= ToyService.costs["call"] / ipc

    from hmk.cli import main as cli  # noqa: PLC0415

    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert cli(["syscalls"]) == 0
    line = next(x for x in out.getvalue().splitlines() if " acct " in f" {x} ")
    assert "toy" in line and IMPLEMENTED in line


def test_docs_syscalls_md_is_current():
    from hmk.report import syscalls  # noqa: PLC0415

    page = Path(__file__).resolve().parent.parent / "docs" / "syscalls.md"
    assert page.read_text(encoding="utf-8") == syscalls.render_markdown(), (
        "run: python -m hmk.report.syscalls --write docs/syscalls.md"
    )


@pytest.mark.slow
def test_the_programs_that_exercise_each_call_are_measured_not_declared():
    """hmk/workloads/syscalls.json is what running the bundled programs gives (~20 s)."""
    from hmk.report import syscalls  # noqa: PLC0415

    committed = json.loads(syscalls.EXERCISED.read_text(encoding="utf-8"))
    assert committed == syscalls.measure(), "run: python -m hmk.report.syscalls --refresh"


def test_hmk_syscalls_json_has_every_number(capsys):
    from hmk.cli import main  # noqa: PLC0415

    assert main(["syscalls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["nr"] for r in rows] == [nr for nr, _, _ in NUMBERS]
    write = next(r for r in rows if r["name"] == "write")
    assert write["service"] == "fsmgr" and write["status"] == IMPLEMENTED
    assert "hello" in write["exercised_by"]

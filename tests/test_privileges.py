"""Least privilege, granted, enforced and measured (hmk.services.service.Needs,
hmk.services.placement, hmk.kernel.tokens, hmk.system.privileges; docs/privileges.md): each
service domain holds its own endpoint and those of the services it declares it calls, nothing
more; a call it did not declare fails at the kernel's capability check wherever caller and
callee are isolated from each other, and goes through unchecked where they are not (in the core
kernel, coalesced); a user-space service's address space maps nothing of the kernel's, of other
services' or of programs' memory but the tokens it declared; the hybrid preset's components
call each other by kernel-internal messages."""

import io
import json

import numpy as np
import pytest

from hmk.cli import main
from hmk.cpu.elf import load_elf
from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.errors import EPERM
from hmk.kernel.objects import KERNEL_BASE
from hmk.services import placement as placing
from hmk.services.registry import SERVICES
from hmk.system import list_systems, load_system
from hmk.system.privileges import _el0_pages, measure, read
from hmk.system.simulation import DEFAULT_ENV, Simulation, run_program
from hmk.workloads import path

PRESETS = list_systems()
NEEDS = {cls.name: cls.needs for cls in SERVICES}
IC2_MEMMGR_WITH_TOKENS = """name = "tokens"
kernel_paging = true
address_tokens = true
[[domain]]
name = "sys"
class = "IC1"
services = ["procmgr"]
[[domain]]
name = "mm"
class = "IC2"
services = ["memmgr"]
[[domain]]
name = "fs"
class = "IC2"
services = ["fsmgr", "devhost"]
"""


def boot(system) -> Simulation:
    """`system` booted with hello loaded, not run."""
    program = str(path("hello"))
    sim = Simulation(program, system=str(system), out=io.BytesIO(), err=io.BytesIO(), warnings=None)
    sim.start(load_elf(program), [program.encode()], list(DEFAULT_ENV))
    return sim


def test_every_service_declares_services_and_kernel_pools_that_exist():
    k = boot("hm-phone").kernel
    for name, needs in NEEDS.items():
        assert set(needs.calls) <= set(NEEDS) - {name}, name
        assert set(needs.tokens) <= set(k.mem.pools) - {"token"}, name


@pytest.mark.parametrize("system", PRESETS)
def test_a_domain_holds_its_own_endpoint_and_its_callees_nothing_more(system):
    sim = boot(system)
    found = read(sim)
    comp = load_system(system)
    isolated = {d.name for d in comp.domains if d.ic != "IC0"}
    twin = "devhost-twin" if any(d.twin for d in found.domains) else None
    for d in found.domains:
        if d.ic == "IC0":
            assert not d.capabilities and not d.checked
            continue
        calls = {c for s in d.services for c in NEEDS[s].calls}
        callees = {comp.domain_of(c).name for c in calls} & isolated
        if twin and "devhost" in calls:
            callees.add(twin)
        want = {("endpoint", d.name, "all rights")}
        want |= {("endpoint", c, "call") for c in callees - {d.name}}
        assert set(d.capabilities) == want, d.name
    # the program reaches every service domain (its syscalls go to them all), with CALL only
    live = isolated | ({twin} if twin else set())
    assert set(found.program) == {("endpoint", name, "call") for name in live}


@pytest.mark.parametrize("system", PRESETS)
def test_an_undeclared_call_fails_at_the_capability_check_where_the_kernel_makes_one(system):
    """Every service calls every other from inside its domain: a call to a domain its own
    declared (for any of the services coalesced in either) goes through; any other is refused
    by the IPC's capability lookup (an error result, counted as failed, the callee never runs)
    when caller and callee are isolated from each other, and goes through unchecked in the core
    kernel or inside one domain, as many times as the listing's count of unchecked calls says."""
    sim = boot(system)
    pl, k = sim.shim.placement, sim.kernel
    proc = sim.program_task.proc
    unchecked = 0
    for a in NEEDS:
        for b in NEEDS:
            if a == b:
                continue
            ran, da, db = [], pl.domain_of(a), pl.domain_of(b)
            errors = k.ipc.counters["kernel.ipc.errors"]
            failed = f"ipc.{da.name}->{db.name}.failed"
            before = k.counts[failed]
            got = pl.inside(a, lambda b=b, ran=ran: pl.call(proc, b, lambda: ran.append(b) or b))
            checked = da.proc is not None and db.proc is not None and da is not db
            unchecked += not checked
            # a domain's endpoints are its services' together, and coalesced callees share one
            declared = db in [pl.domain_of(c) for s in da.services for c in NEEDS[s].calls]
            if checked and not declared:
                assert got is None and not ran, (a, b)
                assert k.counts[failed] == before + 1
                assert k.ipc.counters["kernel.ipc.errors"] == errors + 1
            else:
                assert got == b and ran == [b], (a, b)
                assert k.counts[failed] == before and k.ipc.counters["kernel.ipc.errors"] == errors
    assert unchecked == read(sim).unchecked_calls()


@pytest.mark.parametrize("system", [*PRESETS, "tokens"])
def test_a_user_space_service_touches_only_what_it_holds_and_its_tokens(system, tmp_path):
    """At EL0 a domain's address space maps nothing but the kernel pages of its tokens: the
    kernel's linear map is not there (an EL0 load of a kernel address, another domain's frame or
    a program's page does not translate), and what it reaches is its own frames (a memory
    manager's: the programs' pages it hands out) and those token pages. At EL1 it is all RAM."""
    if system == "tokens":
        system = tmp_path / "tokens.toml"
        system.write_text(IC2_MEMMGR_WITH_TOKENS)
    sim = boot(system)
    k, pl = sim.kernel, sim.shim.placement
    found = read(sim)
    owner_of = k.frames.owner_of
    someone_elses = {pa for pa, who in owner_of.items() if who.split(".")[0] in NEEDS}
    for d in found.domains:
        if d.level == "EL1":
            assert d.reach.total == len(k.ram), d.name
            continue
        sd = pl.domains[d.name]
        token_pages = {pa for t in _tokens_of(k, sd.proc.vspace) for _, pa in k.tokens.pages(t)}
        assert set(_el0_pages(k, sd.proc.vspace)) == token_pages, d.name
        assert d.reach.kernel == PAGE_SIZE * len(token_pages)
        assert len(token_pages) == sum(n for _, n, _ in d.tokens)
        assert d.reach.services == d.reach.free == 0, d.name
        walker = PageTables(k.ram, lambda: -1)
        mine = {pa for pa, who in owner_of.items() if who.split(".")[0] in d.services}
        others = sorted(someone_elses - mine)
        kernel = [k.caps.slot.base, k.vspaces.vspace.base, k.frames.end]
        for pa in kernel + others[:8]:
            assert walker.translate(sd.proc.root, KERNEL_BASE + pa, "read") is None
        for pa in token_pages:  # its tokens: user-accessible, through its own tables
            va = next(v for v, p in _mapped(k, sd.proc.vspace) if p == pa)
            assert walker.translate(sd.proc.root, va, "write") == pa
    if str(system).endswith("tokens.toml"):
        memmgr = found.of("memmgr")[0]
        assert {pool for pool, _, _ in memmgr.tokens} == {"vspace", "vsregion", "vsframe"}
        assert all(rights == "read, write" for _, _, rights in memmgr.tokens)
        assert memmgr.reach.kernel > 0 and found.of("fsmgr")[0].reach.kernel == 0


def _tokens_of(k, vspace):
    tok = k.tokens.token
    return [int(t) for t in np.flatnonzero(tok.used & (tok["vspace"] == vspace))]


def _mapped(k, vspace):
    return k.vspaces.mapped(vspace, 0, KERNEL_BASE)


def test_the_kernel_grants_tokens_only_to_the_pools_a_service_declared(tmp_path):
    system = tmp_path / "tokens.toml"
    system.write_text(IC2_MEMMGR_WITH_TOKENS)
    sim = boot(system)
    pl, k = sim.shim.placement, sim.kernel
    proc = sim.program_task.proc
    va = 0x6000_0000_0000
    assert pl.grant_token("fsmgr", "vspace", proc.vspace, va, True) == EPERM
    assert pl.grant_token("memmgr", "cspace", proc.cspace, va, True) == EPERM
    assert k.counts["kernel.tokens.refused"] == 2
    t = pl.grant_token("memmgr", "vsregion", proc.vspace * k.vspaces.max_regions, va, False)
    assert t >= 0 and k.counts["kernel.tokens.refused"] == 2
    # without tokens (capabilities only) and in the kernel there is nothing to grant
    for name in ("sel4", "hm-ic0"):
        other = boot(name)
        p = other.shim.placement
        assert p.grant_token("memmgr", "vspace", other.program_task.proc.vspace, va, True) == EPERM
        assert other.kernel.counts["kernel.tokens.refused"] == 1


def test_ic2_and_ic0_bound_the_presets_privileges():
    """What the listing says of the presets, from their booted state: a preset with every
    service in the kernel runs all of them at EL1 with every call unchecked; sel4 none of them
    and none; the phone keeps the network manager (and the driver container's control path) in
    user space."""
    every = {name: measure(name) for name in ("linux", "hybrid", "hm-ic0", "hm-phone", "sel4")}
    services = set(NEEDS)
    for name in ("linux", "hybrid", "hm-ic0"):
        assert set(every[name].at_el1()) == services and every[name].unchecked_calls() == 20
    assert every["sel4"].at_el1() == [] and every["sel4"].unchecked_calls() == 0
    phone = every["hm-phone"]
    assert set(phone.at_el1()) == services - {"netmgr"}
    assert phone.unchecked_calls() == 2  # procmgr and memmgr, coalesced
    assert phone.reach("netmgr").total == 0 and phone.of("devhost")[0].level == "EL0"
    assert phone.reach("fsmgr").total == phone.ram
    # more RAM: more to reach from kernel space, nothing more from user space
    big = measure("hm-phone", ram="1G")
    assert big.reach("fsmgr").total == 2 * phone.ram
    assert big.reach("netmgr") == phone.reach("netmgr")


def test_the_hybrids_components_call_each_other_by_messages():
    """hybrid is hm-ic0 with each service a component of its own: a program's syscall reaches
    its service by a function call, one service another by a request and a reply message (no
    IPC, no address-space switch), charged as IPC at MESSAGE + PORT_LOOKUP instructions each."""
    runs = {
        s: run_program(str(path("syscalls")), ["200"], system=s, out=io.BytesIO(), warnings=None)
        for s in ("hm-ic0", "hybrid")
    }
    ic0, hybrid = runs["hm-ic0"].stats, runs["hybrid"].stats
    calls = {k: v for k, v in hybrid.items() if k.startswith("domains.") and k.endswith(".message")}
    assert calls and set(calls) >= {"domains.devhost.calls.fsmgr.message"}  # console writes
    assert hybrid["kernel.messages"] == 2 * sum(calls.values())
    assert hybrid["kernel.ipc.fastpath"] + hybrid["kernel.ipc.slowpath"] == 0
    assert hybrid.get("kernel.domain_switches", 0) == 0 and "kernel.messages" not in ic0
    k = boot("hybrid").kernel
    per_call = k.work_cycles(2 * (placing.MESSAGE + placing.PORT_LOOKUP))
    assert hybrid["kernel.cycles.ipc"] == sum(calls.values()) * per_call
    assert runs["hybrid"].cycles > runs["hm-ic0"].cycles


def test_the_commands_list_the_booted_figures(capsys):
    assert main(["privileges", "hm-phone", "sel4"]) == 0
    out = capsys.readouterr().out
    phone, sel4 = measure("hm-phone"), measure("sel4")
    assert out.startswith(f"hm-phone: {phone.description}\n")
    assert f"\nsel4: {sel4.description}\n" in out
    el1 = "procmgr, memmgr, fsmgr, devhost (its twin)"
    assert f"  services at EL1: {el1}; at EL0 only: netmgr\n" in out
    assert "  calls between services the kernel does not check: 0 of 20\n" in out
    assert "    capabilities: endpoint memmgr, fsmgr (call); endpoint netmgr (all rights)\n" in out
    assert main(["systems", "show", "hybrid", "--privileges"]) == 0
    shown = capsys.readouterr().out
    assert main(["privileges", "hybrid"]) == 0
    assert capsys.readouterr().out == shown
    assert "capabilities: none checked" in shown
    assert main(["privileges", "--json", "linux"]) == 0
    (linux,) = json.loads(capsys.readouterr().out)
    assert linux["domains"][0]["reach"]["total"] == linux["ram"] == measure("linux").ram
    assert main(["privileges", "nope"]) == 2 and "unknown system" in capsys.readouterr().err


def test_compare_puts_the_privileges_beside_the_cycles(capsys, tmp_path):
    out = tmp_path / "c.json"
    args = ["compare", "--privileges", "--systems", "hybrid,sel4", "--json", str(out)]
    assert main([*args, "--", str(path("hello"))]) == 0
    table = capsys.readouterr().out
    assert "privileges (after boot)" in table
    row = next(line for line in table.splitlines() if line.startswith("  services at EL1"))
    assert row.split()[-6:] == ["5", "of", "5", "0", "of", "5"]
    fsmgr = next(line for line in table.splitlines() if line.startswith("  fsmgr reaches"))
    assert fsmgr.split()[-3:] == ["MiB", "4", "KiB"]
    runs = json.loads(out.read_text())["runs"]
    assert [r["privileges"]["system"] for r in runs] == ["hybrid", "sel4"]

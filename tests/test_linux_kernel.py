"""The `linux` composition runs Linux's own kernel mechanisms (hmk.monolithic): its syscall path,
CFS and its context switch, its anonymous fault path with the zero page and the page
bookkeeping; and `hm-ic0` (HM's mechanisms, every service in IC0) is what linux used to be."""

from __future__ import annotations

import pytest

from hmk.monolithic.cfs import Cfs
from hmk.monolithic.costs import BUDGETS
from hmk.monolithic.kernel import LinuxKernel
from hmk.system.simulation import Simulation, run_program
from hmk.workloads import hm_path, path


def run(program, args=(), system="linux", **options):
    return run_program(str(path(program)), list(args), system=system, warnings=None, **options)


def simulation(system="linux"):
    return Simulation(str(path("hello")), system=system, warnings=None)


def test_linux_boots_linux_mechanisms_and_hm_ic0_keeps_hms():
    linux, hm = simulation("linux"), simulation("hm-ic0")
    assert isinstance(linux.kernel, LinuxKernel) and isinstance(linux.kernel.threads, Cfs)
    assert type(hm.kernel).__name__ == "CoreKernel" and not isinstance(hm.kernel.threads, Cfs)
    with pytest.raises(ValueError, match="no user-level pager"):
        Simulation(str(path("hello")), system="linux", paging="user", warnings=None)


def test_a_syscall_enters_through_el0_svc_with_no_shim_and_no_ipc(capfdbinary):
    linux, hm = run("lat", ["null", "100"]), run("lat", ["null", "100"], system="hm-ic0")
    assert linux.exit_status == hm.exit_status == 0
    assert "kernel.cycles.shim" not in linux.stats and hm.stats["kernel.cycles.shim"] > 0
    assert linux.stats["kernel.syscalls"] == hm.stats["kernel.syscalls"]
    assert not any(k.startswith("ipc.") for k in linux.stats if k.endswith(".fast"))


def test_linux_pays_cfs_and_the_fp_state_on_every_context_switch(capfdbinary):
    linux = run("lat", ["pipe", "40"])
    hm = run("lat", ["pipe", "40"], system="hm-ic0")
    switches = linux.stats["kernel.context_switches"]
    assert switches == hm.stats["kernel.context_switches"] > 80
    per_switch = linux.stats["kernel.cycles.sched"] / switches
    assert per_switch > hm.stats["kernel.cycles.sched"] / switches + BUDGETS["fpsimd.switch"]


def test_a_read_fault_maps_the_zero_page_and_a_write_fault_keeps_linux_books(capfdbinary):
    sim = Simulation(str(path("lat")), system="linux", warnings=None)
    book = sim.kernel.pages
    anon0 = int(book.percpu["vmstat_anon"][0])
    from hmk.system.simulation import DEFAULT_ENV  # noqa: PLC0415

    image = sim.executable(str(path("lat")))
    sim.start(image, [b"lat", b"fault-write", b"64"], list(DEFAULT_ENV))
    result = sim.run()
    assert result.exit_status == 0
    new_pages = int(book.percpu["vmstat_anon"][0]) - anon0
    assert new_pages >= 64  # every written page: allocated, charged, reverse-mapped, on the LRU
    assert int(book.node["lru_size"][0]) > 0
    reads = run("lat", ["fault-read", "64"])
    assert reads.stats["kernel.faults.zero_mapped"] >= 64
    writes = run("lat", ["fault-write", "64"])
    assert writes.stats["kernel.cycles.fault"] > reads.stats["kernel.cycles.fault"]


def test_an_hm_call_is_an_unknown_syscall_on_linux(capfdbinary):
    hmipc = str(hm_path("hmipc"))
    hm = run_program(hmipc, system="hm-ic0", warnings=None)
    # its threads never start on Linux, and it waits for them: a run limit ends it
    linux = run_program(hmipc, system="linux", warnings=None, max_instructions=300_000)
    assert hm.exit_status == 0 and not hm.warnings
    assert linux.exit_status != 0
    assert any("unsupported syscall" in w for w in linux.warnings)


def test_linux_runs_are_deterministic(capfdbinary):
    a, b = run("minish", stdin=b"echo hi\nexit\n"), run("minish", stdin=b"echo hi\nexit\n")
    assert a.cycles == b.cycles and a.stats == b.stats


def test_the_budgets_add_up_to_the_measured_paths():
    """hmk.monolithic.costs is arm64 Linux's measured instruction counts (docs/linux-paths.md):
    each path the model charges sums to what the measurement gives."""
    import json  # noqa: PLC0415

    from hmk.calibration.fit import HERE  # noqa: PLC0415
    from hmk.kernel.costs import BUDGETS as CORE  # noqa: PLC0415
    from hmk.monolithic.kernel import NEW_PAGE  # noqa: PLC0415

    data = json.loads((HERE / "linux_paths.json").read_text())
    paths = data["paths"]
    b, frame = BUDGETS, CORE["exception.frame"]
    # the exception frame is KPTI-less (the profiles' cores do not need it): the kpti=0 run's
    # totals; the per-function split is the main run's, and KPTI only changes the frame
    measured = data["variants"]["kpti0"]["instructions"]
    syscall = frame + b["syscall.dispatch"] + 69  # getppid's own
    assert syscall == pytest.approx(measured["null_syscall"], abs=2)
    read = frame + b["fault.entry"] + b["fault.zero_page"]
    assert read == pytest.approx(measured["anon_read_fault"], abs=2)
    write = frame + b["fault.entry"] + b["clear_page"] + sum(b[k] for k in NEW_PAGE)
    assert write == pytest.approx(measured["anon_write_fault"], rel=0.01)
    switches = 2 * sum(
        b[k]
        for k in (
            "sched.schedule",
            "cfs.pick",
            "cfs.dequeue",
            "sched.switch_to",
            "fpsimd.switch",
            "sched.switch_mm",
        )
    )
    schedule = next(
        c["instructions"]
        for c in paths["context_switch_roundtrip"]["components"]
        if c["part"].startswith("schedule")
    )
    assert switches == pytest.approx(schedule, rel=0.01)
    # without the memory cgroup (the Raspberry Pi kernel's default): the memcg0 run's totals
    # (a boot of its own: its baseline is a few instructions off the main run's)
    memcg = data["variants"]["memcg0"]["instructions"]
    main = {k: paths[k]["instructions"] for k in paths}
    assert b["memcg.fault_event"] == pytest.approx(
        main["anon_read_fault"] - memcg["anon_read_fault"], abs=2
    )
    assert b["memcg.fault_event"] + b["memcg.new_page"] == pytest.approx(
        main["anon_write_fault"] - memcg["anon_write_fault"], abs=6
    )
    kpti = paths["null_syscall"]["instructions"] - measured["null_syscall"]
    assert kpti == pytest.approx(
        paths["anon_read_fault"]["instructions"] - measured["anon_read_fault"], abs=2
    )


def test_without_the_memory_cgroup_a_fault_charges_nothing_to_it(capfdbinary):
    """linux-rpi boots linux with cgroup_disable=memory: the same faults, fewer instructions by
    exactly the memory cgroup's measured share, and no cgroup counters touched."""
    on = Simulation(str(path("hello")), system="linux", warnings=None)
    off = Simulation(str(path("hello")), system="linux-rpi", warnings=None)
    assert on.kernel.memcg and not off.kernel.memcg
    args = ["fault-write", "64"]
    with_memcg, without = run("lat", args), run("lat", args, system="linux-rpi")
    assert with_memcg.stats["kernel.page_faults"] == without.stats["kernel.page_faults"]
    new = with_memcg.stats["kernel.faults.resolved"]
    saved = with_memcg.stats["kernel.cycles.fault"] - without.stats["kernel.cycles.fault"]
    least = new * BUDGETS["memcg.new_page"] / on.kernel.kernel_ipc
    assert least < saved < 2 * least
    sim = Simulation(str(path("lat")), system="linux-rpi", warnings=None)
    from hmk.system.simulation import DEFAULT_ENV  # noqa: PLC0415

    sim.start(sim.executable(str(path("lat"))), [b"lat", *map(str.encode, args)], list(DEFAULT_ENV))
    assert sim.run().exit_status == 0
    book = sim.kernel.pages
    assert int(book.percpu["vmstat_anon"][0]) >= 64 and int(book.percpu["memcg_anon"][0]) == 0


def test_hm_records_each_new_anonymous_page_for_its_memory_manager(capfdbinary):
    """HM's kernel paging writes the memory manager's page record of every page it gives."""
    sim = Simulation(str(path("lat")), system="hm-phone", warnings=None)
    from hmk.system.simulation import DEFAULT_ENV  # noqa: PLC0415

    sim.start(sim.executable(str(path("lat"))), [b"lat", b"fault-write", b"64"], list(DEFAULT_ENV))
    result = sim.run()
    assert result.exit_status == 0
    recorded = int(sim.kernel.page_records.lists["n"][0])
    stats = result.stats  # the CPU's faults resolved in the kernel, and the services' own
    new = sum(stats.get(k, 0) for k in ("kernel.faults.resolved", "kernel.faults.zero_replaced"))
    new += stats.get("kernel.service_faults", 0)
    assert recorded >= 64 and recorded <= new
    reads = Simulation(str(path("lat")), system="hm-phone", warnings=None)
    reads.start(
        reads.executable(str(path("lat"))), [b"lat", b"fault-read", b"64"], list(DEFAULT_ENV)
    )
    assert reads.run().exit_status == 0
    assert int(reads.kernel.page_records.lists["n"][0]) < recorded - 32  # the zero page is not

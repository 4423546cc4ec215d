"""Compositions (hmk.system, hmk.services.placement): system files, presets, and what placing the
services differently does to the same program's cycles, IPCs and address-space switches."""

import io

import pytest

from hmk.cli import main
from hmk.system import SystemFileError, list_systems, load_system, parse_system, registered
from hmk.system.simulation import run_program
from hmk.workloads import path

PRESETS = [
    "fiasco",
    "hm-ic0",
    "hm-phone",
    "hm-router",
    "hm-vehicle",
    "hybrid",
    "linux",
    "linux-rpi",
    "sel4",
]


def test_presets_are_listed_and_place_every_service_once():
    assert list_systems() == PRESETS
    for name in PRESETS:
        system = load_system(name)
        placed = [s for d in system.domains for s in d.services]
        assert sorted(placed) == sorted(registered())
    assert {d.ic for d in load_system("linux").domains} == {"IC0"}
    assert load_system("linux").kernel == "linux"
    assert {d.ic for d in load_system("hm-ic0").domains} == {"IC0"}
    assert {load_system(n).kernel for n in PRESETS if not n.startswith("linux")} == {"hm"}
    assert all(d.ic == "IC2" and len(d.services) == 1 for d in load_system("sel4").domains)
    assert not load_system("sel4").kernel_paging and not load_system("sel4").address_tokens
    assert load_system("hm-phone").coalesced("procmgr", "memmgr")
    hybrid = load_system("hybrid")  # every service in kernel space, each its own component
    assert hybrid.kernel_messages and hybrid.kernel == "hm"
    assert all(d.ic == "IC0" and len(d.services) == 1 for d in hybrid.domains)
    assert not any(load_system(n).kernel_messages for n in PRESETS if n != "hybrid")


def _domains(*domains):
    return {"domain": [{"name": n, "class": c, "services": s} for n, c, s in domains]}


ALL = ["procmgr", "memmgr", "fsmgr", "devhost", "netmgr"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_domains(("a", "IC1", [*ALL, "webmgr"])), "unknown service 'webmgr'"),
        (_domains(("a", "IC1", ALL), ("b", "IC2", ["fsmgr"])), "'fsmgr' is in two domains"),
        (_domains(("devhost", "IC1", ALL[:3])), "'devhost' is in no domain, and a domain"),
        (_domains(("a", "IC3", ALL)), "must be one of IC0, IC1, IC2"),
        (_domains(("a", "IC1", ALL), ("a", "IC2", [])), "defined twice"),
        ({**_domains(("a", "IC1", ALL)), "paging": True}, "paging: unknown key"),
        ({**_domains(("a", "IC1", ALL)), "kernel_paging": "yes"}, "must be true or false"),
        ({}, "at least one [[domain]]"),
        ({**_domains(("a", "IC0", ALL)), "kernel": "mach"}, "kernel: must be one of hm, linux"),
        (
            {**_domains(("a", "IC0", ALL[:3]), ("b", "IC2", ALL[3:])), "kernel": "linux"},
            "kernel: a linux kernel runs every service in IC0, but domain 'b' is IC2",
        ),
        (
            {**_domains(("a", "IC0", ALL)), "kernel": "linux", "kernel_paging": False},
            "kernel_paging: a linux kernel has no user-level pager",
        ),
        (
            {**_domains(("a", "IC0", ALL)), "kernel": "linux", "kernel_messages": True},
            "kernel_messages: a linux kernel calls its parts directly",
        ),
        ({**_domains(("a", "IC0", ALL)), "kernel_messages": 1}, "must be true or false"),
        (
            {**_domains(("a", "IC0", ALL)), "kernel": "linux", "twin_driver": True},
            "twin_driver: a linux kernel has no driver container",
        ),
        ({**_domains(("a", "IC1", ALL)), "memcg": False}, "memcg: is a linux kernel's switch"),
        ({**_domains(("a", "IC2", ALL)), "region_map": True}, "region_map: needs a user-level"),
        (
            {**_domains(("a", "IC0", ALL)), "kernel": "linux", "memcg": "off"},
            "memcg: must be true or false",
        ),
    ],
)
def test_a_bad_system_file_is_one_clear_error(data, message):
    with pytest.raises(SystemFileError, match=message.replace("[", r"\[")) as e:
        parse_system(data, "my.toml")
    assert str(e.value).startswith("my.toml: ") and "\n" not in str(e.value)


def test_a_service_the_file_does_not_place_gets_its_default_domain():
    """A system file written before a service existed still loads: the service runs alone in
    a domain named after it, in the isolation class it declares."""
    system = parse_system(_domains(("a", "IC1", ["procmgr", "memmgr"])), "old.toml")
    defaults = registered()
    assert [d.name for d in system.domains] == ["a", "fsmgr", "devhost", "netmgr"]
    for d in system.domains[1:]:
        assert d.services == (d.name,) and d.ic == defaults[d.name]
    # a linux kernel holds every service, the ones its file does not name too
    linux = parse_system({**_domains(("kernel", "IC0", ALL[:4])), "kernel": "linux"}, "old.toml")
    assert [(d.name, d.ic) for d in linux.domains] == [("kernel", "IC0"), ("netmgr", "IC0")]


def test_docs_list_every_services_default_class():
    from pathlib import Path  # noqa: PLC0415

    page = (Path(__file__).resolve().parent.parent / "docs" / "systems.md").read_text()
    for service, default_class in registered().items():
        assert f"| `{service}` | {default_class} |" in page


def test_the_cli_reports_bad_systems_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[domain]]\nname = "a"\nclass = "IC1"\nservices = ["webmgr"]\n')
    assert main(["run", "--system", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown service 'webmgr'" in err
    assert main(["run", "--system", "nosuch"]) == 2
    assert "presets: fiasco, hm-ic0, hm-phone" in capsys.readouterr().err
    bad.write_text("not toml [")
    assert main(["run", "--system", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_hmk_systems_lists_and_shows(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS) and "(default)" in out
    assert main(["systems", "show", "hm-phone"]) == 0
    out = capsys.readouterr().out
    assert "domain sysmgr (IC1): procmgr, memmgr" in out and "kernel paging: on" in out


@pytest.fixture(scope="module")
def syscall_loop():
    runs = {}
    for name in PRESETS:
        out = io.BytesIO()
        result = run_program(str(path("syscalls")), ["500"], system=name, out=out, err=io.BytesIO())
        runs[name] = (result, out.getvalue())
    return runs


def test_the_same_program_gives_the_same_output_everywhere(syscall_loop):
    outputs = {out for _, out in syscall_loop.values()}
    assert len(outputs) == 1 and b"zero_writes_ok=500" in outputs.pop()
    assert all(r.exit_status == 0 for r, _ in syscall_loop.values())


def _ipcs(result):
    return result.stats.get("kernel.ipc.fastpath", 0) + result.stats.get("kernel.ipc.slowpath", 0)


def test_linux_beats_hm_phone_beats_sel4_on_a_syscall_loop(syscall_loop):
    linux, phone, sel4 = (syscall_loop[n][0] for n in ("linux", "hm-phone", "sel4"))
    assert linux.cycles < phone.cycles < sel4.cycles
    assert _ipcs(linux) == 0 and linux.stats.get("kernel.domain_switches", 0) == 0
    # the explanation: the loop's 1000 syscalls become IPCs (two per write on hm-phone: fsmgr,
    # then the console in devhost), and only the IC2 hops switch address spaces
    assert _ipcs(phone) >= 1000 and _ipcs(sel4) >= 1000
    phone_switches = phone.stats["kernel.domain_switches"]
    sel4_switches = sel4.stats["kernel.domain_switches"]
    assert 2 * 500 <= phone_switches < sel4_switches
    assert phone.stats["domains.devhost.calls.fsmgr.fast"] >= 500  # each write's console hop


def test_coalescing_removes_ipcs(syscall_loop):
    phone, router = syscall_loop["hm-phone"][0], syscall_loop["hm-router"][0]
    # hm-router coalesces fsmgr and devhost with sysmgr: a console write is one IPC, not two
    assert _ipcs(router) < _ipcs(phone)
    assert router.stats.get("kernel.domain_switches", 0) == 0  # all in IC1
    assert router.cycles < phone.cycles


def test_a_system_file_from_disk_runs(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\nkernel_paging = false\n'
        '[[domain]]\nname = "all"\nclass = "IC2"\nservices = ["procmgr", "memmgr", "fsmgr", '
        '"devhost"]\n'
    )
    out = io.BytesIO()
    result = run_program(str(path("hello")), [], system=str(f), out=out, err=io.BytesIO())
    assert out.getvalue() == b"hello, world\n" and result.run["system"] == "mine"
    assert "kernel.faults.resolved" not in result.stats  # kernel_paging = false


@pytest.mark.parametrize("system", PRESETS)
def test_the_file_system_exerciser_gives_linux_output_everywhere(system):
    from workload_expectations import expected  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(str(path("fsx")), [], system=system, out=out, err=io.BytesIO())
    assert (out.getvalue(), result.exit_status) == expected("fsx")
    if system.startswith("linux"):
        assert _ipcs(result) == 0
    else:
        assert result.stats["shim.syscalls.openat"] >= 10


def test_separate_file_and_memory_managers_keep_file_pages_twice():
    """Double bookkeeping: a mapped file page is in fsmgr's page cache and, when the memory
    manager is a separate domain, also in a frame of its own; coalesced (or both in the
    kernel, as in `linux`), the mapping uses the cached frame. filemap unlinks its file at the
    end: with no name, no descriptor and no mapping left, its pages leave the cache."""
    from workload_expectations import expected  # noqa: PLC0415

    runs = {}
    for system in ("linux", "hm-router", "hm-phone", "sel4"):
        out = io.BytesIO()
        runs[system] = run_program(
            str(path("filemap")), ["64"], system=system, out=out, err=io.BytesIO()
        )
        assert (out.getvalue(), runs[system].exit_status) == expected("filemap", ["64"])
    for system, result in runs.items():
        s = result.stats
        assert s["services.fsmgr.pagecache.frames"] == 0  # the file is gone
        assert s["services.fsmgr.pagecache.fills"] == 64
        separate = system in ("hm-phone", "sel4")
        assert s.get("services.memmgr.file_pages.copied", 0) == (64 if separate else 0)
        assert s.get("services.memmgr.file_pages.shared", 0) == (0 if separate else 64)
        # frames by owner: the file manager's cache, and the memory manager's second copy
        assert s["frames.fsmgr.pagecache.peak"] == 64
        assert s.get("frames.memmgr.filepages.peak", 0) == (64 if separate else 0)
        assert s["frames.kernel.peak"] > 0 and s["frames.memmgr.peak"] > 0
    # the second copy shows in the peak frame count
    peak = {s: r.stats["frames.total.peak"] for s, r in runs.items()}
    assert peak["hm-phone"] - peak["hm-router"] >= 60


@pytest.mark.parametrize("system", PRESETS)
def test_shared_memory_is_shared_under_every_preset(system):
    """MAP_SHARED: one frame per page whatever the composition (two copies could not stay
    coherent), written through to the file; the unnamed shared object's frames are freed once
    nothing maps it (only the file's three touched pages stay cached)."""
    from workload_expectations import expected  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(str(path("shmem")), [], system=system, out=out, err=io.BytesIO())
    assert (out.getvalue(), result.exit_status) == expected("shmem")
    s = result.stats
    assert s.get("services.memmgr.file_pages.copied", 0) == 0
    assert s["frames.fsmgr.pagecache.peak"] >= 4 and s["frames.fsmgr.pagecache.in_use"] == 3
    assert s["services.fsmgr.pagecache.writebacks"] > 0


def _blkio(system, kib=512):
    from hmk.workloads import hm_path  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(
        str(hm_path("blkio")), [str(kib)], system=system, out=out, err=io.BytesIO()
    )
    blocks = kib // 4
    total = sum(b % 253 for b in range(blocks))
    assert out.getvalue() == f"blkio: size={8 << 20} kib={kib} ok=1 sum={total}\n".encode()
    return result


def test_a_twin_driver_takes_block_io_out_of_the_container(tmp_path):
    """hm-phone runs devhost's block data path as an IC1 twin; the same composition without
    the twin sends every block request into the IC2 container (two address-space switches)."""
    from hmk.system import systems_dir  # noqa: PLC0415

    no_twin = tmp_path / "hm-phone-no-twin.toml"
    no_twin.write_text(
        (systems_dir() / "hm-phone.toml")
        .read_text()
        .replace("twin_driver = true", "twin_driver = false")
    )
    twin, container = _blkio("hm-phone"), _blkio(str(no_twin))
    t, c = twin.stats, container.stats
    requests = 2 * 512 // 4  # writes and reads of 4 KiB blocks
    assert t["domains.devhost-twin.calls.fsmgr.fast"] == requests
    assert c["domains.devhost.calls.fsmgr.fast"] >= requests
    assert c["kernel.domain_switches"] - t["kernel.domain_switches"] >= 2 * requests
    assert twin.cycles < container.cycles


def test_l4re_paging_goes_through_the_tasks_region_map_first():
    """fiasco is sel4 with L4Re's two steps: every fault a hop to the task's region map (no
    address-space switch), then the IPC to the memory manager."""
    runs = {
        s: run_program(str(path("lat")), ["fault-read", "64"], system=s, warnings=None)
        for s in ("sel4", "fiasco")
    }
    sel4, fiasco = (runs[s].stats for s in ("sel4", "fiasco"))
    hops, faults = "services.memmgr.region_map_hops", "services.memmgr.faults"
    assert fiasco[hops] == fiasco[faults] >= 64 and hops not in sel4
    assert sel4[faults] == fiasco[faults]
    assert sel4["services.memmgr.work.vma_find"] == fiasco["services.memmgr.work.vma_find"]
    assert sel4["kernel.domain_switches"] == fiasco["kernel.domain_switches"]
    assert fiasco["kernel.cycles.ipc"] > sel4["kernel.cycles.ipc"]
    assert runs["fiasco"].cycles > runs["sel4"].cycles


def test_show_toml_prints_the_file_and_the_template_is_a_system(tmp_path, capsys):
    from hmk.cli import main
    from hmk.system import load_system, system_file

    assert main(["systems", "show", "hm-vehicle", "--toml"]) == 0
    text = capsys.readouterr().out
    assert text == system_file("hm-vehicle").read_text(encoding="utf-8")
    copy = tmp_path / "mine.toml"
    copy.write_text(text.replace('name = "hm-vehicle"', 'name = "mine"'))
    assert load_system(copy).domains == load_system("hm-vehicle").domains
    assert main(["systems", "template"]) == 0
    template = tmp_path / "template.toml"
    template.write_text(capsys.readouterr().out)
    mine = load_system(template)
    assert mine.name == "my-system" and mine.domains == load_system("hm-phone").domains
    assert main(["systems", "show", "nope", "--toml"]) == 2
    assert capsys.readouterr().err.startswith("hmk: error: unknown system 'nope'")

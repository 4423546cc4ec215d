"""The statistics' public names (hmk.report.stats, docs/stats.md): every name a run produces
is in the schema, the page is current, the accounting adds up, and the files are what the
docs say."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hmk.cli import main
from hmk.report import stats as S
from hmk.report.summary import over_cores
from hmk.system import list_systems
from hmk.system.simulation import run_program
from hmk.workloads import hm_path, path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "stats.md"


@pytest.fixture(scope="module", params=list_systems())
def minish(request):
    """fork, execve, pipes and wait under each preset"""
    return run_program(str(path("minish")), [], out=io.BytesIO(), system=request.param)


def test_every_name_is_in_the_schema(minish):
    missing = [name for name in minish.stats if S.describe(name) is None]
    assert not missing


@pytest.mark.parametrize("paging", ["kernel", "user"])
def test_hm_native_and_user_paging_names_are_in_the_schema(paging):
    result = run_program(str(hm_path("hmipc")), [], out=io.BytesIO(), paging=paging)
    assert result.exit_status == 0
    assert [n for n in result.stats if S.describe(n) is None] == []
    assert any(n.startswith("kernel.hmcalls.") for n in result.stats)


def test_the_page_shows_the_schema():
    page = DOCS.read_text(encoding="utf-8")
    assert page.split(S.MARKER, 1)[1].strip() == S.render_schema().strip(), (
        "run: python -m hmk.report.stats --write docs/stats.md"
    )


def test_the_cycles_add_up(minish):
    s = minish.stats
    kernel = sum(v for k, v in s.items() if k.startswith("kernel.cycles."))
    services = sum(v for k, v in s.items() if k.startswith("services.") and k.endswith(".cycles"))
    domains = sum(v for k, v in s.items() if k.startswith("domains.") and k.endswith(".cycles"))
    assert services > 0 and domains == services
    cores = over_cores(s)  # (every core's own cycles summed, on the run's time base)
    assert kernel + services == cores["system.cpu0.external_cycles"]
    # every core's clock runs to the end of the run: the wall time, the boot core's
    assert s["sim.cycles"] == s["system.cpu0.cycles"] == minish.cycles
    # (a core of another clock stops at its last cycle that does not pass the end)
    n = s.get("sim.cores", 1)
    assert 0 <= n * minish.cycles - cores["system.cpu0.cycles"] <= 2 * n
    assert s["sim.busy_cycles"] == cores["system.cpu0.cycles"] - s.get("kernel.cycles.idle", 0)
    assert s["sim.seconds"] == pytest.approx(minish.cycles / (minish.ghz * 1e9))


def test_domain_calls_are_the_kernel_ipcs(minish):
    s = minish.stats
    calls = sum(
        v for k, v in s.items() if k.startswith("domains.") and k.endswith((".fast", ".slow"))
    )
    assert calls == s["kernel.ipc.fastpath"] + s["kernel.ipc.slowpath"]
    if minish.run["system"] == "linux":  # everything in the kernel: function calls only
        assert calls == 0 and s["domains.kernel.calls.app.direct"] > 0


def test_services_keep_their_names_across_compositions():
    runs = {
        sy: run_program(str(path("hello")), [], out=io.BytesIO(), system=sy)
        for sy in ("linux", "sel4")
    }
    for r in runs.values():
        assert r.stats["services.fsmgr.cycles"] > 0 and r.stats["services.memmgr.cycles"] > 0
    assert "domains.kernel.cycles" in runs["linux"].stats
    assert "domains.memmgr.cycles" in runs["sel4"].stats


def test_text_is_aligned_and_commented():
    text = S.text({"kernel.ipc.fastpath": 3, "system.cpu0.l1d.misses": 12345, "sim.seconds": 0.5})
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == sorted(
        ["kernel.ipc.fastpath", "system.cpu0.l1d.misses", "sim.seconds"]
    )
    ends = {line.index("  #") for line in lines}
    assert len(ends) == 1  # values right-aligned in one column, comments after
    assert "IPC calls taken on the fast path (count)" in lines[0]
    assert S.text({}) == ""


def test_describe_rejects_unknown_names():
    assert S.describe("nonsense") is None
    assert S.describe("system.cpu0.l1d") is None
    assert S.describe("frames.memmgr.filepages.peak")[0] == "frames"


def test_the_json_file(tmp_path, capsys):
    out = tmp_path / "s.json"
    program = str(path("exitcode"))
    assert main(["run", "--quiet", "--stats", str(out), program, "3"]) == 3
    doc = json.loads(out.read_text())
    assert doc["schema"] == S.SCHEMA_VERSION
    assert doc["run"]["program"] == program and doc["run"]["args"] == ["3"]
    assert doc["run"]["exit_status"] == 3 and doc["run"]["system"] == "hm-phone"
    assert doc["run"]["domains"]["sysmgr"] == ["IC1", "procmgr", "memmgr"]
    again = run_program(program, ["3"], out=io.BytesIO())
    assert doc["stats"] == json.loads(json.dumps(again.stats))  # the same run, the same stats


def test_the_text_file_and_stderr(tmp_path, capsys):
    out = tmp_path / "s.txt"
    assert main(["run", "--quiet", "--stats", str(out), str(path("exitcode")), "0"]) == 0
    text = out.read_text()
    assert "sim.cycles" in text and "  # " in text
    assert main(["run", "--quiet", "--stats", "-", str(path("exitcode")), "0"]) == 0
    assert capsys.readouterr().err == text  # the same lines, on stderr


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_the_fault_outcomes_add_up_to_the_faults(system):
    """kernel.faults.* is one verdict per fault the CPU raised; a retry after a refill and a
    service's own faults are counted apart."""
    result = run_program(
        str(path("lat")), ["fault-write", "40"], out=io.BytesIO(), system=system, warnings=None
    )
    outcomes = {k: v for k, v in result.stats.items() if k.startswith("kernel.faults.")}
    assert sum(outcomes.values()) == result.stats["kernel.page_faults"] == result.page_faults
    assert result.stats.get("kernel.service_faults", 0) > 0  # the stack written at exec
    if system == "hm-phone":  # every 16th new page waits for the memory manager's refill
        assert result.stats["kernel.fault_retries"] >= 2


def test_the_summary_names_the_levels_as_the_profile_does(capsys):
    """The Pi 4B's shared last level is its L2 (system.l2): the summary says L2, once, and
    what the rates cover."""
    from hmk.report.summary import summary

    for profile, levels in (("rpi4", "L1I L1D L2"), ("kirin9000", "L1I L1D L2 L3")):
        result = run_program(str(path("hello")), [], out=io.BytesIO(), profile=profile)
        summary(result)
        line = capsys.readouterr().err.splitlines()[2]
        assert line.startswith("hmk: miss rates of user and kernel accesses ")
        shown = line.split("accesses ", 1)[1].split(" DTLB")[0].split()
        assert shown[::2] == levels.split(), line
        shared = {k: v for k, v in result.run["caches"].items() if ".cpu0." not in k}
        assert shared == ({"system.l2": "L2"} if profile == "rpi4" else {"system.l3": "L3"})


@pytest.mark.parametrize("profile", ["rpi4", "kirin9000", "kirin990"])
def test_a_shared_level_is_named_as_the_profile_names_it(profile, monkeypatch):
    """The Pi 4B's shared L2 is system.l2.*, a Kirin's L3 system.l3.*: the same counts as under
    the hierarchy's slot name (l3), every other statistic unchanged."""
    from hmk.system import simulation

    def run():
        return run_program(str(path("hello")), [], out=io.BytesIO(), profile=profile).stats

    named = run()
    monkeypatch.setattr(simulation, "level_name", lambda profile, cache: "l3")
    slot = run()
    level = "l2" if profile == "rpi4" else "l3"
    assert named == {k.replace("system.l3.", f"system.{level}."): v for k, v in slot.items()}
    assert named[f"system.{level}.misses"] > 0
    if level == "l2":
        assert not any(k.startswith("system.l3.") for k in named)
    else:
        assert not any(k.startswith("system.l2.") for k in named)


def test_a_shared_level_name_a_statistic_can_hold():
    from hmk.system.stats import level_name

    assert [level_name("p", n) for n in ("L2", "L3", "System cache", "SLC")] == [
        "l2",
        "l3",
        "system_cache",
        "slc",
    ]
    for bad in ("DRAM", "CPU0", "2nd", "..."):
        with pytest.raises(ValueError, match=f"profile p: a shared cache named '{bad}'"):
            level_name("p", bad)

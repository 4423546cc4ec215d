"""Cores of different types in one run (big.LITTLE; hmk.system.cores, hmk.kernel.timebase):
each core has its own type, clock, caches and kernel costs; every time the kernel keeps is on
one time base (the boot core's cycles), so a sleep lasts its time and a thread's CPU time adds
up in time on any core; each kernel places new threads by the cores' capacities; and a run
whose cores share one clock gives the figures it gave before."""

from __future__ import annotations

import io
import re

import pytest
from guest_programs import build, linux_output, run
from test_smp_abi import host_has

from hmk.cli import main
from hmk.system import run_program
from hmk.system.simulation import Simulation
from hmk.workloads import path

PROFILE = "kirin9000"  # prime: 1 Cortex-A77 @ 3.13 GHz; big: 3 A77 @ 2.54; little: 4 A55 @ 2.05
WORK = "200000"  # bigwork's loop iterations at each stop
MS = 1_000_000


@pytest.fixture(scope="module")
def bigwork(tmp_path_factory):
    return build(tmp_path_factory, "bigwork")


@pytest.fixture(scope="module")
def psum(tmp_path_factory):
    return build(tmp_path_factory, "psum", "-pthread")


def measured(program, *cpus, **options):
    """bigwork's stops on `cpus` (each its times in ns, from its stderr), its totals, and the
    RunResult."""
    out, err = io.BytesIO(), io.BytesIO()
    result = run_program(
        program, [WORK, *cpus], profile=PROFILE, out=out, err=err, warnings=None, **options
    )
    assert result.exit_status == 0, (out.getvalue(), result.fault)
    text = err.getvalue().decode()
    rows = [dict(re.findall(r"(\w+)=(\d+)", line)) for line in text.splitlines()]
    stops = [{k: int(v) for k, v in row.items()} for row in rows if "cpu" in row]
    totals = {k: int(v) for k, v in rows[-1].items()}
    return stops, totals, result


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4"])
def test_a_thread_moving_between_a_big_and_a_little_core_sees_what_linux_shows(bigwork, system):
    if not host_has(0, 1):
        pytest.skip("this machine does not let a program use CPUs 0 and 1")
    want = linux_output(bigwork, WORK, "0", "1", "0")
    out, result = run(bigwork, WORK, "0", "1", "0", system=system, profile=PROFILE,
                      cores="prime:1,little:1")  # fmt: skip
    assert (out, result.exit_status) == (want, 0)
    assert result.stats["kernel.migrations"] == 2


def test_compute_is_faster_on_the_big_core_by_the_ratio_the_cores_give_alone(bigwork):
    """The same loop on the Cortex-A77 at 3.13 GHz and on the Cortex-A55 at 2.05 GHz of one
    run takes the times each takes in a run of its cluster alone: their ratio is the cores'
    (frequency and IPC), not the frequencies' alone."""
    alone = {
        c: measured(bigwork, "0", cores=f"{c}:1")[0][0]["work_wall"] for c in ("prime", "little")
    }
    stops = measured(bigwork, "0", "1", cores="prime:1,little:1")[0]
    ratio_alone = alone["little"] / alone["prime"]
    ratio_mixed = stops[1]["work_wall"] / stops[0]["work_wall"]
    assert ratio_alone > 1.2 * (3.13 / 2.05)  # the in-order A55 also issues less a cycle
    assert ratio_mixed == pytest.approx(ratio_alone, rel=0.01)
    # the two A77 clusters differ by their clocks only
    big = measured(bigwork, "0", cores="big:1")[0][0]["work_wall"]
    assert big / alone["prime"] == pytest.approx(3.13 / 2.54, rel=0.01)


@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_a_sleep_of_10_ms_takes_10_ms_on_every_core(bigwork, system):
    stops, _, result = measured(bigwork, "0", "1", "2", cores="prime:1,big:1,little:1",
                                system=system)  # fmt: skip
    assert [s["cpu"] for s in stops] == [0, 1, 2]
    for stop in stops:  # (the call's own entry and exit, a few microseconds, on top)
        assert 10 * MS <= stop["sleep_wall"] < 10 * MS + 20_000, stop
    # the run's wall time is the three sleeps and the work between them
    busy = sum(s["work_wall"] for s in stops)
    assert 30 * MS + busy < result.seconds * 1e9 < 30 * MS + busy + 1 * MS


def test_cpu_time_adds_up_in_time_on_fast_and_slow_cores(bigwork):
    """The thread's CPU clock grows by its time on each core (ns), not by the core's cycles:
    on the A55 at 2.05 GHz as on the A77 at 3.13, the loop's CPU time is its wall time."""
    stops, totals, _ = measured(bigwork, "0", "1", "0", cores="prime:1,little:1")
    for stop in stops:  # (the loop runs alone on its core)
        assert stop["work_cpu"] == pytest.approx(stop["work_wall"], rel=2e-3), stop
        assert stop["work_cpu"] <= stop["work_wall"]
    measured_cpu = sum(s["work_cpu"] + s["sleep_cpu"] for s in stops)
    assert totals["measured_cpu"] == measured_cpu
    # the rest of its CPU time: starting up and the calls between the stretches measured
    assert measured_cpu < totals["total_cpu"] < measured_cpu + 0.2 * MS
    # getrusage just before: its user and system times in whole microseconds
    assert totals["total_cpu"] - 5000 < totals["rusage"] <= totals["total_cpu"]


def test_the_cycles_count_the_boot_cores_clock(bigwork):
    """sim.cycles is the wall time in cycles of core 0's clock (the time base), whichever
    cluster comes first; each core's own cycles are its clock's."""
    runs = {
        order: measured(bigwork, "0", "1", cores=order)[2]
        for order in ("prime:1,little:1", "little:1,prime:1")
    }
    for order, result in runs.items():
        s = result.stats
        assert s["sim.ghz"] == result.ghz == (3.13 if order.startswith("prime") else 2.05)
        assert s["sim.seconds"] == pytest.approx(result.cycles / (result.ghz * 1e9))
        ghz = [s["system.cpu0.ghz"], s["system.cpu1.ghz"]]
        assert ghz == ([3.13, 2.05] if order.startswith("prime") else [2.05, 3.13])
        # the furthest clock on the time base (each core's cycles at its own clock)
        furthest = max(s[f"system.cpu{j}.cycles"] / ghz[j] for j in range(2)) * ghz[0]
        assert result.cycles == pytest.approx(furthest, abs=1)
        pairs = (part.split(":") for part in order.split(","))
        assert result.run["clusters"] == {name: int(n) for name, n in pairs}


def test_each_core_has_its_clusters_caches_and_costs():
    sim = Simulation(path("hello"), profile=PROFILE, cores="prime:1,little:2", warnings=None)
    cores = sim.hierarchy.config.cores
    assert [c.l2.size for c in cores] == [512 << 10, 128 << 10, 128 << 10]
    assert [c.ghz for c in cores] == [3.13, 2.05, 2.05]
    assert [t.params.inorder for t in sim.timings()] == [False, True, True]
    k = sim.kernel
    entries, ipcs = [], []
    for cpu in range(3):
        k.switch_cpu(cpu)
        entries.append(k.entry)
        ipcs.append(k.kernel_ipc)
    k.switch_cpu(0)
    assert ipcs[1] == ipcs[2] < ipcs[0]  # (hmk/calibration/fitted.toml: a55 against a77)
    assert k.core_capacity[0] == 1024 > k.core_capacity[1] == k.core_capacity[2]


def test_a_heterogeneous_run_is_deterministic_and_the_references_agree(psum):
    args = ("sum", "3", "4096", "8")
    options = {"profile": PROFILE, "cores": "prime:1,big:1,little:1"}
    first = run(psum, *args, **options)[1]
    second = run(psum, *args, **options)[1]
    assert first.stats == second.stats
    reference = run(psum, *args, impl="python", **options)[1]
    assert reference.stats == first.stats
    # every core ran part of the sum
    assert all(first.stats[f"system.cpu{j}.instructions"] > 0 for j in range(3))


@pytest.mark.parametrize(
    ("profile", "one_cluster", "same"),
    [
        ("rpi4", {"cores": "a72:4"}, {"cores": 4}),
        (PROFILE, {"cores": "big:3"}, {"cluster": "big", "cores": 3}),
        (PROFILE, {"cores": {"little": 2}}, {"cluster": "little", "cores": 2}),
        (PROFILE, {"cores": "prime:1"}, {"cores": 1}),
        (PROFILE, {"cores": "little:4"}, {"cluster": "little"}),  # all of the cluster chosen
    ],
)
def test_cores_of_one_cluster_named_are_that_clusters_run(psum, profile, one_cluster, same):
    args = ("sum", "2", "4096", "4")
    named = run(psum, *args, profile=profile, **one_cluster)[1]
    counted = run(psum, *args, profile=profile, **same)[1]
    assert named.stats == counted.stats
    assert "system.cpu0.ghz" not in named.stats and "clusters" not in named.run


def test_each_kernel_places_a_new_thread_by_its_policy(psum):
    """Little cores first, the prime core last: HM (assumed) starts the worker on the idle
    core of the highest capacity, the prime; Linux's fork balancing on the first idle core,
    a little one whatever its capacity (docs/smp.md)."""
    args = ("sum", "1", "16384", "20")
    ran = {}
    for system in ("hm-phone", "linux"):
        out, result = run(psum, *args, system=system, profile=PROFILE, cores="little:2,prime:1")
        assert out == linux_output(psum, *args)
        ran[system] = result
    worker = {s: max(range(1, 3), key=lambda j: r.stats[f"system.cpu{j}.instructions"])
              for s, r in ran.items()}  # fmt: skip
    assert worker == {"hm-phone": 2, "linux": 1}
    assert ran["hm-phone"].seconds < 0.5 * ran["linux"].seconds


@pytest.mark.parametrize(
    ("cores", "message"),
    [
        ("mid:3", "kirin9000 has no cluster 'mid' (its clusters: prime:1, big:3, little:4)"),
        ("big:4", "kirin9000's cluster big has 3 cores, not 4"),
        ("big:0", "big:0: a cluster's count must be a positive whole number"),
        ("big:x", "big:x: a cluster's count must be a positive whole number"),
        ("big:1,big:1", "cluster big is named twice"),
        ({"prime": True}, "a cluster's count must be a positive whole number"),
        (2.5, "cores must be a count or CLUSTER:COUNT"),
    ],
)
def test_bad_compositions_are_one_line_errors(cores, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_program(path("hello"), [], profile=PROFILE, cores=cores, warnings=None)
    with pytest.raises(ValueError, match="give no cluster"):
        run_program(path("hello"), [], profile=PROFILE, cores="big:1", cluster="big")


def test_compare_runs_both_kernels_on_the_same_cores(capsys):
    code = main(["compare", "--profile", PROFILE, "--cores", "prime:1,little:2",
                 "--systems", "linux,hm-phone", str(path("lat")), "pipe", "20"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(
        "lat on kirin9000 (prime:1, little:2; cycles of the boot core's 3.13 GHz)"
    )
    assert re.search(r"^cycles\s+[\d,]+\s+[\d,]+$", out, re.M)

"""Placement on cores of different capacities (docs/smp.md, "Placement"): Linux's energy-aware
wake-ups and misfit migration over PELT utilisation (hmk.monolithic.eas), HM's assumed
performance-first rule, side by side on the Kirin 9000's prime core and two little ones; what
the guest reads of the cores' capacities and clocks; and runs whose cores share one capacity,
where neither rule does anything."""

from __future__ import annotations

import io

import pytest
from guest_programs import build, linux_output, run

from hmk.monolithic.eas import PERIOD, SERIES_MAX, Signal, fits
from hmk.system import run_program
from hmk.system.cores import capacities, powers
from hmk.system.simulation import Simulation
from hmk.workloads import path

PROFILE = "kirin9000"
CORES = "prime:1,little:2"  # core 0 the prime A77 (capacity 1024), cores 1 and 2 little A55s
ARGS = ("30", "24000000")  # the light thread's 30 wake-ups; the heavy one's ~50 ms on an A55
LITTLE = {1, 2}


@pytest.fixture(scope="module")
def lightheavy(tmp_path_factory):
    return build(tmp_path_factory, "lightheavy", "-pthread")


def placed(program, *args, **options):
    """(stdout, the light thread's CPUs, the heavy thread's CPUs, RunResult)."""
    out, err = io.BytesIO(), io.BytesIO()
    result = run_program(program, list(args), profile=PROFILE, out=out, err=err,
                         warnings=None, **options)  # fmt: skip
    assert result.exit_status == 0, (out.getvalue(), result.fault)
    rows = dict(line.split(" ", 1) for line in err.getvalue().decode().splitlines())
    cpus = {who: [int(c) for c in rows[who].split()] for who in ("light", "heavy")}
    return out.getvalue(), cpus["light"], cpus["heavy"], result


@pytest.fixture(scope="module")
def side_by_side(lightheavy):
    return {s: placed(lightheavy, *ARGS, system=s, cores=CORES) for s in ("linux", "hm-phone")}


def test_linux_keeps_the_light_thread_on_a_little_core_and_moves_the_misfit_heavy_one(
    lightheavy, side_by_side
):
    """Under linux the heavy thread starts where fork balancing put it, a little core, and
    stays there by energy while its utilisation grows; once it no longer fits (80% of the
    A55's 293) a tick moves it to the idle prime core. The light thread's wake-ups cost least
    energy on a little core: it never leaves them."""
    out, light, heavy, result = side_by_side["linux"]
    assert out == linux_output(lightheavy, *ARGS)
    assert set(light) <= LITTLE
    assert heavy[0] in LITTLE and heavy[-1] == 0
    moved = heavy.index(0)
    assert 4 <= moved < len(heavy) - 1 and set(heavy[moved:]) == {0}
    s = result.stats
    assert s["kernel.misfit_migrations"] == 1
    assert s["kernel.eas.wakeups"] >= 30  # (every wake-up of the light thread, and others')
    assert "kernel.wake_moves" not in s or s["kernel.wake_moves"] <= 2


def test_hm_wakes_each_thread_on_the_biggest_idle_core(lightheavy, side_by_side):
    """Under hm-phone (assumed performance-first): the heavy thread, placed on a little core
    while its creator ran on the prime one, wakes from its first sleep on the prime core, idle
    by then, and stays; the light one wakes on a little core while the prime is busy, and on
    the prime once the heavy thread is done. No utilisation is kept: no energy or misfit
    decisions."""
    out, light, heavy, result = side_by_side["hm-phone"]
    assert out == linux_output(lightheavy, *ARGS)
    assert set(heavy) == {0}
    assert light[0] in LITTLE and light[-1] == 0
    s = result.stats
    assert s["kernel.wake_moves"] >= 2
    assert not any(k.startswith(("kernel.eas.", "kernel.misfit")) for k in s)
    # performance first: the heavy work ends sooner on HM than under Linux's energy policy
    linux = side_by_side["linux"][3].stats
    assert s["system.cpu0.instructions"] > linux["system.cpu0.instructions"]


def test_a_bigger_core_going_idle_pulls_a_misfit_thread(lightheavy):
    """On one prime and one little core the light thread is made on the prime core (the
    least loaded for its capacity) and sleeps there between wake-ups: when the heavy thread on
    the little core no longer fits it, the prime core going idle finds nothing to pull from a
    queue and takes the misfit running thread instead (its core interrupted to move it); the
    light thread, its utilisation decayed, then wakes on the little core by energy."""
    out, light, heavy, result = placed(lightheavy, *ARGS, system="linux", cores="prime:1,little:1")
    assert heavy[0] == 1 and heavy[-1] == 0
    assert light[0] == 0 and light[-1] == 1
    s = result.stats
    assert s["kernel.misfit_migrations"] == 1 and s["kernel.migration_ipis"] == 1


def test_placement_is_deterministic_and_the_references_agree(lightheavy):
    args = ("6", "3000000")
    for system in ("linux", "hm-phone"):
        first = placed(lightheavy, *args, system=system, cores=CORES)
        assert placed(lightheavy, *args, system=system, cores=CORES) == first
        reference = placed(lightheavy, *args, system=system, cores=CORES, impl="python")
        assert reference[3].stats == first[3].stats


@pytest.mark.parametrize("system", ["linux", "hm-phone"])
@pytest.mark.parametrize("cores", ["big:3", "little:2"])
def test_cores_of_one_capacity_keep_woken_threads_where_they_slept(lightheavy, system, cores):
    *_, result = placed(lightheavy, "6", "400000", system=system, cores=cores)
    assert not any(k.startswith(("kernel.eas.", "kernel.misfit", "kernel.wake_moves"))
                   for k in result.stats)  # fmt: skip


def test_pelt_halves_in_32_periods_and_converges_to_the_cores_capacity():
    signal = Signal(0, 0)
    signal.running = 293  # always running on a little core
    signal.advance(400 * PERIOD)
    assert 290 <= signal.util() <= 293
    signal.running = 0  # then asleep for 32 periods: half
    signal.advance(432 * PERIOD)
    assert signal.util() == pytest.approx(signal_util_half(), abs=2)
    assert SERIES_MAX == 47742  # Linux's LOAD_AVG_MAX, which the same series gives


def signal_util_half():
    s = Signal(0, 0)
    s.running = 293
    s.advance(400 * PERIOD)
    return s.util() / 2


def test_fits_leaves_a_20_percent_margin():
    assert fits(819, 1024) and not fits(820, 1024)  # 819 * 1.25 < 1024 <= 820 * 1.25
    assert fits(234, 293) and not fits(235, 293)


def test_the_energy_model_makes_the_little_cluster_cheapest_per_unit_of_work():
    sim = Simulation(path("hello"), profile=PROFILE, cores="prime:1,big:1,little:1", warnings=None)
    k = sim.kernel
    per_work = [p / c for p, c in zip(k.core_power, k.core_capacity, strict=True)]
    assert per_work[2] < per_work[1] < per_work[0]
    from hmk.hw.profile import load_soc  # noqa: PLC0415

    soc = load_soc(PROFILE)
    assert capacities(list(soc.clusters)) == [1024, 831, 293]
    assert powers(list(soc.clusters)) == k.core_power


def test_a_new_thread_starts_at_half_its_cores_spare_capacity():
    """post_init_entity_util_avg: the boot thread half the prime core's 1024; a second thread
    on that core half of what is left, 256 (Linux's series 512, 256, 128...)."""
    sim = Simulation(path("hello"), profile=PROFILE, cores=CORES, system="linux", warnings=None)
    k = sim.kernel
    (boot,) = k.signals.values()
    assert boot.util() == 512
    tcb = k.threads.create(0, 0, -1, -1)  # (on core 0)
    k.thread_made(tcb)
    assert k.signals[tcb].util() == 256


CPUFREQ = {  # tests/guest/cpufreq.c's lines for one core: (capacity, kHz, policy, its CPUs)
    "cpu_capacity": "{cap}",
    "cpufreq/cpuinfo_min_freq": "{khz}",
    "cpufreq/cpuinfo_max_freq": "{khz}",
    "cpufreq/scaling_cur_freq": "{khz}",
    "cpufreq/scaling_min_freq": "{khz}",
    "cpufreq/scaling_max_freq": "{khz}",
    "cpufreq/scaling_available_frequencies": "{khz} ",
    "cpufreq/scaling_governor": "performance",
    "cpufreq/scaling_available_governors": "performance ",
    "cpufreq/affected_cpus": "{cpus}",
    "cpufreq/related_cpus": "{cpus}",
}


def expected_cpufreq(cores: list[tuple[int, int, int, str]]) -> bytes:
    """cpufreq.c's output on Linux for cores of (capacity, kHz, policy, CPUs), in Linux's
    formats (arch_topology.c's cpu_capacity, cpufreq.c's show_cpus and available lists)."""
    lines = []
    for cpu, (cap, khz, policy, cpus) in enumerate(cores):
        lines.append(f"cpu{cpu} cpufreq -> ../cpufreq/policy{policy}")
        for name, text in CPUFREQ.items():
            value = text.format(cap=cap, khz=khz, cpus=cpus)
            lines.append(f'cpu{cpu} {name}: "{value}\\n"')
    return "".join(line + "\n" for line in lines).encode()


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4"])
def test_the_guest_reads_each_cores_capacity_and_clock(tmp_path_factory, system):
    program = build(tmp_path_factory, "cpufreq")
    out, _ = run(program, system=system, profile=PROFILE, cores="prime:1,big:1,little:2")
    little = (293, 2050000, 2, "2 3")
    want = [(1024, 3130000, 0, "0"), (831, 2540000, 1, "1"), little, little]
    assert out == expected_cpufreq(want)
    out, _ = run(program, system=system, profile="rpi4", cores=2)
    assert out == expected_cpufreq([(1024, 1500000, 0, "0 1")] * 2)

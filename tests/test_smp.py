"""Many cores (hmk.system.cores): a program's threads and processes run side by side on the
modeled cores, each with its own clock, caches and kernel state, on one functional CPU lent to
one core at a time; the run's wall time is the furthest clock; the same run gives the same
cycles; and with one core nothing changes."""

from __future__ import annotations

import pytest
from guest_programs import build, linux_output, run

from hmk.system import run_program
from hmk.workloads import path

PROFILE = "rpi4"  # four Cortex-A72 in one cluster


@pytest.fixture(scope="module")
def psum(tmp_path_factory):
    return build(tmp_path_factory, "psum", "-pthread")


def test_four_threads_summing_take_about_a_quarter_of_the_time(psum):
    args = ("sum", "4", "32768", "120")
    want = linux_output(psum, *args)
    one_out, one = run(psum, *args, profile=PROFILE, cores=1)
    four_out, four = run(psum, *args, profile=PROFILE, cores=4)
    assert one_out == four_out == want
    assert one.instructions == pytest.approx(four.instructions, rel=1e-3)
    speedup = one.cycles / four.cycles
    # the main thread's filling of the array and the threads' start and join are serial
    assert 3.2 < speedup < 4.0, speedup
    assert four.stats["sim.cores"] == 4
    # every core ran a share of the instructions, about a quarter each
    per_core = [four.stats[f"system.cpu{j}.instructions"] for j in range(4)]
    assert min(per_core) > 0.2 * four.instructions
    # the wall time is the furthest core's clock, not the sum of the cores' cycles
    clocks = [four.stats[f"system.cpu{j}.cycles"] for j in range(4)]
    assert four.cycles == max(clocks) < sum(clocks)


def test_an_idle_core_pulls_a_thread_waiting_on_a_busier_one(psum):
    """Five threads on four cores: one core gets two; a core that runs out of work takes the
    one still waiting there (kernel.idle_pulls, a migration each), and the sum is right."""
    args = ("sum", "5", "32760", "40")
    out, result = run(psum, *args, profile=PROFILE, cores=4)
    assert out == linux_output(psum, *args)
    assert result.stats["kernel.idle_pulls"] >= 1
    assert result.stats["kernel.migrations"] >= result.stats["kernel.idle_pulls"]


def test_false_sharing_is_slower_than_padded_counters(psum):
    """Three threads reading their own counters while a fourth writes its own: in one cache
    line, each write takes the line from the readers and their next reads wait for it to come
    back (transfers, invalidations); a line each, nothing passes. (Stores never stall in the
    timing model, docs/timing-model.md, so the readers' loads are where it shows.)"""
    runs = {}
    for mode in ("shared", "padded"):
        out, result = run(psum, mode, "4", "300000", profile=PROFILE, cores=4)
        assert out == linux_output(psum, mode, "4", "300000")
        runs[mode] = result
    shared, padded = runs["shared"].stats, runs["padded"].stats

    def total(stats, suffix):
        return sum(v for k, v in stats.items() if k.endswith(suffix))

    assert runs["shared"].cycles > 1.2 * runs["padded"].cycles
    assert total(shared, ".coherence.transfers_in") > 20 * total(padded, ".coherence.transfers_in")
    assert total(shared, ".coherence_invalidations") > 20 * max(
        total(padded, ".coherence_invalidations"), 1
    )
    readers_stalls = [shared[f"system.cpu{j}.stall.memory"] for j in range(4)]
    assert max(readers_stalls) > 10 * max(padded[f"system.cpu{j}.stall.memory"] for j in range(4))


def test_every_core_runs_to_the_end_of_the_run():
    """One thread on four cores: the three cores with nothing to do idle the whole run, and
    each core's clock ends at the run's wall time."""
    result = run(path("hello"), profile=PROFILE, cores=4)[1]
    clocks = [result.stats[f"system.cpu{j}.cycles"] for j in range(4)]
    assert clocks == [result.cycles] * 4
    idle = result.stats["kernel.cycles.idle"]
    assert idle >= 3 * result.cycles - 3  # (the boot core may idle too)
    assert result.stats["sim.busy_cycles"] == sum(clocks) - idle


def test_an_instruction_limit_counts_every_core(psum):
    """--max-instructions stops a run on several cores at the limit of all their
    instructions together (at the end of a basic block), as on one core."""
    limit = 1_000_000
    result = run(psum, "sum", "4", "32768", "40", profile=PROFILE, cores=4,
                 max_instructions=limit)[1]  # fmt: skip
    assert result.exit_status == 124
    assert "1,000,000 instructions reached" in result.fault
    assert limit <= result.instructions < limit + 1000


def test_threads_synchronise_across_cores(psum):
    """A mutex (futex waits and wakes) taken by two threads on two cores: every increment
    counted, the sleeping core woken by inter-processor interrupts."""
    out, result = run(path("threads"), "20000", profile=PROFILE, cores=2)
    assert out == run(path("threads"), "20000", profile=PROFILE)[0]
    assert b"total=40000" in out
    assert result.stats["kernel.ipis"] > 0
    assert result.stats["kernel.cycles.ipi"] > 0


def test_pipe_ping_pong_across_cores_pays_no_scheduler_tick(psum):
    """A parent and its child on two cores: each round trip wakes the other core at once,
    never waiting for a timer tick (4 ms)."""
    n = 200
    out, result = run(path("lat"), "pipe", str(n), profile=PROFILE, cores=2)
    assert out == b"lat: op=pipe n=200 ok=200\n"
    assert result.stats["kernel.ipis"] >= n  # one core asleep at each hand-over
    per_trip_us = result.seconds / n * 1e6
    assert per_trip_us < 20, per_trip_us
    assert result.stats.get("kernel.timer_ticks", 0) == 0


def test_a_shootdown_costs_more_with_every_core_that_ran_the_process(tmp_path_factory):
    """munmap in a process whose 4 threads ran on 1, 2 or 4 cores: an invalidation broadcast
    to the other cores that ran it, waiting for each (kernel.tlbi.*, kernel.cycles.tlbi)."""
    program = build(tmp_path_factory, "shootdown", "-pthread")
    want = linux_output(program, "3", "50")
    costs = {}
    for cores in (1, 2, 4):
        out, result = run(program, "3", "50", profile=PROFILE, cores=cores)
        assert out == want
        costs[cores] = result.stats.get("kernel.cycles.tlbi", 0)
        remote = result.stats.get("kernel.tlbi.remote_cores", 0)
        assert remote >= 50 * (cores - 1)  # each munmap waited for every other core
    assert costs[1] == 0 < costs[2] < costs[4]


def test_the_same_run_gives_the_same_cycles(psum):
    args = ("sum", "3", "4096", "8")
    first = run(psum, *args, profile=PROFILE, cores=3)[1]
    second = run(psum, *args, profile=PROFILE, cores=3)[1]
    assert first.stats == second.stats


def test_python_references_agree_on_many_cores(psum):
    """The compiled crossing of each core and the Python references give the same run."""
    args = ("sum", "2", "4096", "4")
    compiled = run(psum, *args, profile=PROFILE, cores=2)[1]
    reference = run(psum, *args, profile=PROFILE, cores=2, impl="python")[1]
    assert compiled.stats == reference.stats


def test_the_whole_soc_is_the_default_and_one_core_says_nothing_of_cores():
    default = run_program(path("hello"), [], profile=PROFILE, warnings=None, out=None)
    four = run_program(path("hello"), [], profile=PROFILE, cores=4, warnings=None, out=None)
    assert default.stats == four.stats and default.stats["sim.cores"] == 4
    one = run_program(path("hello"), [], profile=PROFILE, cores=1, warnings=None, out=None)
    assert "sim.cores" not in one.stats
    assert one.run["cores"] == 1


def test_the_whole_soc_of_several_clusters_is_the_default():
    default = run_program(path("hello"), [], warnings=None, out=None)  # the Kirin 9000
    named = run_program(path("hello"), [], cores="prime:1,big:3,little:4", warnings=None, out=None)
    assert default.stats == named.stats and default.stats["sim.cores"] == 8
    assert default.run["clusters"] == {"prime": 1, "big": 3, "little": 4}


@pytest.mark.parametrize(
    "mode",
    [{"sample": True}, {"fast_forward": 1000}],
)
def test_modes_of_one_core_default_to_one_core(mode):
    result = run_program(path("hello"), [], profile=PROFILE, warnings=None, out=None, **mode)
    assert "sim.cores" not in result.stats and result.run["cores"] == 1
    with pytest.raises(ValueError, match="one core"):
        run_program(path("hello"), [], profile=PROFILE, cores=2, out=None, **mode)


def test_call_stacks_of_each_core_add_up_to_the_cores_cycles(psum):
    result = run(psum, "sum", "2", "4096", "4", profile=PROFILE, cores=2, stacks=True)[1]
    by_core = {0: 0, 1: 0}
    for stack, cycles in result.stacks.items():
        assert stack[0] in ("core:0", "core:1")
        by_core[int(stack[0][5:])] += cycles
    for j, total in by_core.items():  # (each stack rounded to a whole cycle)
        assert abs(total - result.stats[f"system.cpu{j}.cycles"]) <= len(result.stacks)
    assert any("user:work" in stack for stack in result.stacks if stack[0] == "core:1")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cores": 5}, "rpi4's cluster a72 has 4 cores, not 5"),
        ({"cores": 0}, "cores must be a positive whole number"),
        ({"cores": 2, "sample": True}, "fast-forward and sampling run on one core"),
        ({"cores": 2, "trace": "/nonexistent/t"}, "a trace is of one core's accesses"),
    ],
)
def test_bad_core_counts_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        run_program(path("hello"), [], profile=PROFILE, warnings=None, **options)


def test_a_flame_graph_leaves_out_the_cores_that_only_idled(tmp_path, psum, capsys):
    from hmk.cli import main  # noqa: PLC0415
    from hmk.system.stacks import idle_cores  # noqa: PLC0415

    svg, folded = tmp_path / "f.svg", tmp_path / "f.folded"
    argv = ["run", "--quiet", "--profile", PROFILE, "--cores", "4", "--flamegraph", str(svg)]
    assert main([*argv, "--folded", str(folded), str(psum), "sum", "2", "4096", "4"]) == 0
    capsys.readouterr()
    picture, kept = svg.read_text(), folded.read_text()
    # two threads on cores 1 and 2 (the main thread waits on core 0): core 3 never ran
    assert "core 3 idled throughout, not drawn" in picture and "(4x cortex-a72" in picture
    assert "core:3" not in picture and "core:1" in picture and "core:2" in picture
    assert "core:3;idle:idle" in kept  # the folded stacks keep every core
    stacks = {("core:0", "user:main"): 5, ("core:1", "idle:idle"): 9, ("core:2", "idle:idle"): 3}
    assert idle_cores({**stacks, ("core:2", "user:work"): 1}) == [1]
    assert idle_cores({("user:main",): 5}) == []  # one core's stacks have no core frames

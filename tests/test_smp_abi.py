"""What a program sees of the modeled cores (`--cores N`) through the Linux ABI, and how it
chooses its cores: /sys/devices/system/cpu and glibc's counts (tests/guest/smpinfo.c),
sched_setaffinity moving threads where they are pinned and getcpu saying where they run
(pinned.c), the affinity calls' errors and inherited masks (affinity.c), membarrier's
interrupts of the other cores (membar.c); and the scheduler's migration underneath.

qemu-aarch64 runs a program on this machine's CPUs, so its counts, masks and caches are the
host's: where they are the subject the expected output is written here from Linux's semantics
(the formats of drivers/base/cacheinfo.c and lib/vsprintf.c, what sched_setaffinity
guarantees), and compared with qemu's only where the host has the CPUs a run names."""

from __future__ import annotations

import os

import numpy as np
import pytest
from guest_programs import build, linux_output, run

from hmk.hw.profile import load_soc
from hmk.kernel import threads as T
from hmk.kernel.errors import EINVAL, ESRCH
from hmk.kernel.objects import KernelMemory
from hmk.monolithic import cfs as C
from hmk.services.sysfs import cpu_list, cpu_map

PROFILE = "rpi4"  # four Cortex-A72 in one cluster, private L1s, a shared L2
SYSTEMS = ["hm-phone", "linux", "sel4"]


def host_has(*cpus: int) -> bool:
    """May a program on this machine run on each of `cpus`?"""
    return set(cpus) <= os.sched_getaffinity(0)


@pytest.fixture(scope="module")
def smpinfo(tmp_path_factory):
    return build(tmp_path_factory, "smpinfo")


@pytest.fixture(scope="module")
def pinned(tmp_path_factory):
    return build(tmp_path_factory, "pinned", "-pthread")


# ---- how many CPUs ------------------------------------------------------------------------
def counts(n: int, mask_bytes: int = 8) -> list[str]:
    """smpinfo's lines before the caches, on a Linux with `n` CPUs online (0 to n-1) whose
    cpumask is `mask_bytes` long."""
    every = "0" if n == 1 else f"0-{n - 1}"
    return [
        f"sysconf online {n} configured {n}",
        f"get_nprocs {n} conf {n}",
        f"sched_getaffinity 0 count {n} first cpus " + " ".join(map(str, range(min(n, 16)))),
        f"raw getaffinity {mask_bytes} mask {(1 << n) - 1:#x}",
        f"online: '{every}'",
        f"possible: '{every}'",
        f"present: '{every}'",
        "offline: ''",
        *sorted(f"entry cpu{cpu}" for cpu in range(n)),
    ]


def expected_smpinfo(n: int) -> bytes:
    """On the Pi 4B's n cores: every core's L1D and L1I its own, the L2 every core's."""
    soc = load_soc(PROFILE)
    assert soc.hierarchy(cores=n).cores[0].l2 is None and soc.l3 is not None
    lines = counts(n)
    for cpu in range(n):
        for index, sharing in enumerate(([cpu], [cpu], range(n))):
            prefix = f"cpu{cpu}/cache/index{index}"
            mask = sum(1 << c for c in sharing)
            lines.append(f"{prefix}/shared_cpu_map: '{mask:x}'")
            lines.append(f"{prefix}/shared_cpu_list: '{cpu_list(sharing)}'")
    return ("\n".join(lines) + "\n").encode()


def test_the_expected_counts_are_linuxs_for_the_hosts_cpus(smpinfo):
    """The expectation's format checked against Linux itself (qemu on this machine's CPUs,
    where every CPU of the machine is online and the program may use each)."""
    n = os.cpu_count()
    with open("/sys/devices/system/cpu/online") as f:
        online = f.read().strip()
    if os.sched_getaffinity(0) != set(range(n)) or online != ("0" if n == 1 else f"0-{n - 1}"):
        pytest.skip("this machine's CPUs are not all online and allowed")
    lines = linux_output(smpinfo).decode().splitlines()
    host_mask_bytes = int(lines[3].split()[2])  # the host kernel's cpumask size
    assert lines[: len(counts(n))] == counts(n, host_mask_bytes)


@pytest.mark.parametrize("cores", [1, 2, 4])
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_program_counts_the_modeled_cores(smpinfo, cores, system):
    out, result = run(smpinfo, system=system, profile=PROFILE, cores=cores)
    assert (out, result.exit_status) == (expected_smpinfo(cores), 0)


def test_cpu_masks_and_lists_in_linuxs_formats():
    assert [cpu_list(c) for c in ([0], [0, 1], [0, 1, 2, 3], [0, 2, 3], [5])] == [
        "0",
        "0-1",
        "0-3",
        "0,2-3",
        "5",
    ]
    # %*pb over the CPUs: a hex digit per 4 CPUs, zero-padded
    assert [cpu_map(c, n) for c, n in (([0], 1), ([1], 4), ([0], 6), (range(6), 6))] == [
        "1",
        "2",
        "01",
        "3f",
    ]


# ---- pinned threads ------------------------------------------------------------------------
def pinned_output(c1: int, c2: int, c3: int, cm: int) -> bytes:
    """What sched_setaffinity guarantees: once pinned, each thread runs on its CPU (Linux
    moves a running thread before pthread_setaffinity_np returns), and stays there."""
    rows = (("main", cm), ("thread 1", c1), ("thread 2", c2), ("thread 3", c3))
    return "".join(
        f"{name}: pinned to {cpu}, mask {1 << cpu:#x}, on {cpu}, after work on {cpu}\n"
        for name, cpu in rows
    ).encode()


# chosen so that threads move: main starts on core 0 and moves itself away; the others are
# pinned away from where they are placed at creation (where they run when pinned depends on
# the cores' turns)
PINNINGS = {1: (0, 0, 0, 0), 2: (1, 1, 0, 1), 4: (3, 0, 2, 3)}


@pytest.mark.parametrize("cores", [1, 2, 4])
@pytest.mark.parametrize("system", SYSTEMS)
def test_pinned_threads_run_where_they_are_pinned(pinned, cores, system):
    where = PINNINGS[cores]
    out, result = run(pinned, *map(str, where), system=system, profile=PROFILE, cores=cores)
    assert (out, result.exit_status) == (pinned_output(*where), 0)
    if cores == 1:
        assert "kernel.migrations" not in result.stats
        return
    # each pinning moves its thread unless it already runs there (where the cores' turns put
    # it: an idle core may have pulled it); main starts on core 0 and always moves; a thread
    # moved while it runs on another core costs that core an interrupt
    pulled = result.stats.get("kernel.idle_pulls", 0)
    assert 1 <= result.stats["kernel.migrations"] <= 4 + pulled
    assert result.stats.get("kernel.migration_ipis", 0) <= result.stats["kernel.migrations"]
    for cpu in set(where):
        assert result.stats[f"system.cpu{cpu}.instructions"] > 0


def test_pinned_threads_on_linux_itself(pinned):
    """The 2-core pinning under qemu, on this machine's first two CPUs."""
    if not host_has(0, 1):
        pytest.skip("this machine does not let a program use CPUs 0 and 1")
    where = map(str, PINNINGS[2])
    assert linux_output(pinned, *where) == pinned_output(*PINNINGS[2])


def test_a_core_not_modeled_cannot_be_chosen(pinned):
    """Pinning to CPU 3 of a two-CPU machine: EINVAL (no online CPU in the mask)."""
    out, result = run(pinned, "0", "0", "3", "0", profile=PROFILE, cores=2)
    assert (out, result.exit_status) == (b"pthread_setaffinity_np to 3: 22\n", 1)


def test_a_pinned_run_is_deterministic_and_the_references_agree(pinned):
    args = map(str, PINNINGS[4])
    first = run(pinned, *args, profile=PROFILE, cores=4)[1]
    args = map(str, PINNINGS[4])
    second = run(pinned, *args, profile=PROFILE, cores=4)[1]
    assert first.stats == second.stats
    args = map(str, PINNINGS[2])
    compiled = run(pinned, *args, system="linux", profile=PROFILE, cores=2)[1]
    args = map(str, PINNINGS[2])
    reference = run(pinned, *args, system="linux", profile=PROFILE, cores=2, impl="python")[1]
    assert compiled.stats == reference.stats


# ---- the affinity calls' errors and inherited masks ----------------------------------------
@pytest.mark.parametrize("cores", [1, 3])
@pytest.mark.parametrize("system", SYSTEMS)
def test_affinity_errors_and_inherited_masks_answer_as_linux(tmp_path_factory, cores, system):
    program = build(tmp_path_factory, "affinity", "-pthread")
    if not host_has(0):
        pytest.skip("this machine does not let a program use CPU 0")
    out, result = run(program, system=system, profile=PROFILE, cores=cores)
    assert result.exit_status == 0
    assert out == linux_output(program)
    assert b"setaffinity empty -22 cpu 1000 only -22 size 0 -22 unreadable -14" in out
    assert b"nobody -3" in out and b"a child has cpu 0 alone 1" in out


# ---- membarrier ----------------------------------------------------------------------------
@pytest.mark.parametrize("cores", [1, 2, 4])
@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_membarrier_interrupts_the_cores_running_the_process(tmp_path_factory, cores, system):
    """The worker spins on its own core: each expedited barrier interrupts that core (3
    private, sync-core's registration and barrier, rseq's registration, its barrier and the
    one naming the worker's CPU, global's registration and barrier; not the one naming the
    caller's own CPU or CPU 1000, nor global expedited before anyone registered for it, nor
    a registration made again): 10 interrupts on any number of cores but one."""
    program = build(tmp_path_factory, "membar", "-pthread")
    out, result = run(program, system=system, profile=PROFILE, cores=cores)
    assert (out, result.exit_status) == (linux_output(program), 0)
    ipis = result.stats.get("kernel.membarrier_ipis", 0)
    assert ipis == (0 if cores == 1 else 10)
    assert (result.stats.get("kernel.cycles.ipi", 0) > 0) == (cores > 1)


# ---- the scheduler's migration -------------------------------------------------------------
def threads(cores=2):
    mem = KernelMemory(np.zeros(1 << 20, np.uint8), 0, 64 * 1024)
    return T.Threads(mem, 8, cores, tick_cycles=1000, slice_ticks=3)


def queue(th, core, p=100):
    out, i = [], int(th.runq["head"][core, p])
    while i >= 0:
        out.append(i)
        i = int(th.tcb["next"][i])
    return out


def test_a_thread_is_made_on_a_core_its_mask_allows():
    th = threads(4)
    assert th.create(100, 1, 0, 0, affinity=0b0001) == EINVAL
    assert th.create(100, 1, 0, 0, affinity=0b10000) == EINVAL  # no such core
    t = th.create(100, 1, 0, 0, affinity=0b0110)
    assert int(th.tcb["affinity"][t]) == 0b0110
    assert int(th.tcb["affinity"][th.create(100, 0, 0, 0)]) == 0b1111


def test_migrate_moves_queued_waiting_and_running_threads():
    th = threads()
    a, b, c = (th.create(100, 0, 0, 0) for _ in range(3))
    for t in (a, b, c):
        th.resume(t)
    assert th.dispatch(0, [])[0] == a
    assert th.migrate(b, 1) == 0  # queued: from core 0's queue to core 1's
    assert (queue(th, 0), queue(th, 1)) == ([a, c], [b])
    th.block(c)
    th.migrate(c, 1)  # waiting: only its core; it wakes there
    assert queue(th, 0) == [a] and int(th.tcb["core"][c]) == 1
    th.wake(c)
    assert queue(th, 1) == [b, c]
    regs = [7] * T.N_REGS
    th.migrate(a, 1)  # running on core 0: switched out there, queued on core 1
    assert th.dispatch(0, regs) == (-1, [])
    assert int(th.tcb["state"][a]) == T.RUNNABLE and queue(th, 1) == [b, c, a]
    assert th.dispatch(1, [])[0] == b
    assert th.migrate(99, 1) == ESRCH and th.migrate(a, 2) == EINVAL


def test_cfs_carries_a_migrating_threads_lag_to_the_new_queue():
    mem = KernelMemory(np.zeros(2 << 20, np.uint8), 0, 1 << 20)
    s = C.Cfs(mem, 8, 2, 1, 1, clock_ns=lambda: 0)
    a, b = s.create(100, 0, -1, -1), s.create(100, 0, -1, -1)
    s.resume(a)
    s.resume(b)
    s.rq["min_vruntime"][0], s.rq["min_vruntime"][1] = 1_000_000, 50_000_000
    lag = int(s.se["vruntime"][b]) - 1_000_000
    s.migrate(b, 1)
    assert int(s.se["vruntime"][b]) == 50_000_000 + lag
    assert s.in_order(1) == [b] and b not in s.in_order(0)
    assert (int(s.rq["nr_running"][0]), int(s.rq["nr_running"][1])) == (1, 1)

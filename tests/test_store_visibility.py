"""Stores the other cores must see (docs/timing-model.md, "Store visibility"; docs/smp.md): two
threads on two cores update words of one cache line (false sharing) or of a line each, every
update ordered by a barrier, a release store or a store atomic, or under a spinlock
(tests/guest/storevis.c). Ordered stores to a line the other core keeps taking cost cycles
there, counted in system.cpuN.coherence.store_wait_cycles; on lines of their own the loop
waits for nothing. Outputs are Linux's (qemu-aarch64)."""

from __future__ import annotations

import pytest
from guest_programs import build, linux_output, run

PROFILE = "rpi4"
N = 20000  # updates per thread: many fine turns of the two cores over the shared line


@pytest.fixture(scope="module")
def storevis(tmp_path_factory):
    return build(tmp_path_factory, "storevis", "-pthread")


def waits(result) -> list[int]:
    return [result.stats[f"system.cpu{i}.coherence.store_wait_cycles"] for i in (0, 1)]


def both(program, mode, n=N, **options):
    """{layout: RunResult} of `mode` on two cores, each output checked against Linux's."""
    runs = {}
    for layout in ("shared", "padded"):
        args = (mode, layout, "2", str(n))
        out, result = run(program, *args, **{"profile": PROFILE, "cores": 2, **options})
        assert out == linux_output(program, *args)
        runs[layout] = result
    return runs


@pytest.mark.parametrize("mode", ["dmb", "stlr", "stadd"])
def test_ordered_stores_to_one_line_wait_for_the_other_core(storevis, mode):
    runs = both(storevis, mode)
    shared, padded = runs["shared"], runs["padded"]
    assert shared.cycles > 1.15 * padded.cycles
    assert min(waits(shared)) > 10 * max(waits(padded))
    # padded, the loop waits for nothing: only thread start and join do (as with half as many
    # updates)
    half = run(storevis, mode, "padded", "2", str(N // 2), profile=PROFILE, cores=2)[1]
    assert waits(padded) == waits(half)


@pytest.mark.parametrize("mode", ["lock", "cas"])
def test_a_contended_spinlock_costs_more_than_one_lock_each(storevis, mode):
    runs = both(storevis, mode)
    contended, alone = runs["shared"], runs["padded"]
    assert contended.cycles > 1.4 * alone.cycles
    upgrades = [r.stats["system.cpu1.coherence.upgrades"] for r in (contended, alone)]
    assert upgrades[0] > 50 * upgrades[1]
    if mode == "lock":  # stxr waits for its line; casa, a load, pays as a load miss
        assert min(waits(contended)) > 10 * max(waits(alone))


def test_an_in_order_core_waits_too(storevis):
    runs = both(storevis, "dmb", 4000, profile="kirin9000", cores="little:2")
    assert runs["shared"].cycles > 1.15 * runs["padded"].cycles
    assert min(waits(runs["shared"])) > 10 * max(waits(runs["padded"]))


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4"])
def test_every_mode_prints_what_linux_prints(storevis, system):
    for mode in ("dmb", "stlr", "stadd", "lock", "cas"):
        args = (mode, "shared", "2", "500")
        out, _ = run(storevis, *args, system=system, profile=PROFILE, cores=2)
        assert out == linux_output(storevis, *args)


def test_python_references_agree(storevis):
    args = ("lock", "shared", "2", "1500")
    compiled = run(storevis, *args, profile=PROFILE, cores=2)[1]
    reference = run(storevis, *args, profile=PROFILE, cores=2, impl="python")[1]
    assert min(waits(compiled)) > 0
    assert compiled.stats == reference.stats


def test_one_core_has_no_stores_to_wait_for(storevis):
    out, result = run(storevis, "dmb", "shared", "2", "500", profile=PROFILE, cores=1)
    assert out == linux_output(storevis, "dmb", "shared", "2", "500")
    assert not any("coherence" in name for name in result.stats)

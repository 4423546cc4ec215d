"""Host throughput of the core kernel's hot paths, each beside its Python reference (issue 4):
capability lookups (goal >= 5 M/s) and anonymous page faults resolved in the kernel (goal
>= 300 k/s). The IPC round trip joins when its compiled fastpath lands.

    python -m pytest benchmarks/test_kernel_bench.py --benchmark-only -s
"""

from __future__ import annotations

import numpy as np
import pytest

from hmk.kernel import paging as P
from hmk.kernel import vspace as V
from hmk.kernel.cspace import CSpaces
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory

LOOKUPS = 20_000
FAULTS = 2_000
HEAP = 1 << 20
ENDPOINT, CALL = 2, 8  # an object type code and the CALL right, for the benchmark's caps


def _caps():
    mem = KernelMemory(np.zeros(8 << 20, np.uint8), 0, HEAP)
    caps = CSpaces(mem, 256, 4, 64)
    cs = caps.create(64)
    for slot in range(64):
        assert caps.install(cs, slot, ENDPOINT, slot, CALL) == 0
    mem.take_log()
    return caps, cs


@pytest.mark.parametrize("impl", ["python", "cython"])
def test_capability_lookups(benchmark, impl):
    caps, cs = _caps()

    def lookups():
        for i in range(LOOKUPS):
            err, _ = caps.lookup(cs, i & 63, ENDPOINT, CALL, impl=impl)
            assert err == 0
            if i & 1023 == 1023:
                caps.mem.take_log()

    benchmark.pedantic(lookups, rounds=3, iterations=1)
    benchmark.extra_info["per_second"] = LOOKUPS / benchmark.stats.stats.min


@pytest.mark.parametrize("impl", ["python", "cython"])
def test_kernel_resolved_faults(benchmark, impl):
    def setup():
        ram = np.zeros(64 << 20, np.uint8)
        mem = KernelMemory(ram, 0, HEAP)
        vs = V.VSpaces(mem, ram, Frames(ram, HEAP), 2, pool_depth=FAULTS + 64)
        pg = P.KernelPaging(vs)
        i = vs.create()
        assert pg.add_region(i, 0x1000_0000, 0x1000_0000 + FAULTS * 4096) == V.OK
        assert pg.refill(i, [vs.frames.alloc() for _ in range(FAULTS + 32)]) == V.OK
        mem.take_log()
        return (pg, i), {}

    def faults(pg, i):
        for n in range(FAULTS):
            outcome, _ = pg.handle_fault(i, 0x1000_0000 + n * 4096, "write", impl=impl)
            assert outcome == P.RESOLVED
            if n & 63 == 63:  # a kernel path's log is timed and dropped after each path
                pg.vs.mem.take_log()

    benchmark.pedantic(faults, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["per_second"] = FAULTS / benchmark.stats.stats.min

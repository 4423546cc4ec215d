"""Host throughput of the core kernel's hot paths, each beside its Python reference:
capability lookups (goal >= 5 M/s) and anonymous page faults resolved in the kernel (goal
>= 300 k/s); the IPC round trip is in test_ipc_bench.py.

Three ways in, same operations and same logging: `python` (the reference, through
CSpaces.lookup / KernelPaging.handle_fault), `cython` (the twin through the same call with
impl="cython") and `cython-direct` (the twin's own entry point, LookupContext.lookup /
FaultContext.handle_fault, as a caller holding the context would use it).

    python -m pytest benchmarks/test_kernel_bench.py benchmarks/test_ipc_bench.py \
        --benchmark-only -s
"""

from __future__ import annotations

import numpy as np
import pytest

from hmk.hw.events import WRITE
from hmk.kernel import paging as P
from hmk.kernel import vspace as V
from hmk.kernel.cspace import CSpaces
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory

IMPLS = ["python", "cython", "cython-direct"]

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


@pytest.mark.parametrize("impl", IMPLS)
def test_capability_lookups(benchmark, impl):
    caps, cs = _caps()
    mem = caps.mem

    def lookups():
        for i in range(LOOKUPS):
            err, _ = caps.lookup(cs, i & 63, ENDPOINT, CALL, impl=impl)
            assert err == 0
            if i & 1023 == 1023:
                mem.take_log()

    def direct_lookups():
        from hmk._fast.caplookup import LookupContext

        lookup = LookupContext(caps).lookup
        for i in range(LOOKUPS):
            err, _ = lookup(cs, i & 63, ENDPOINT, CALL)
            assert err == 0
            if i & 1023 == 1023:
                mem.take_log()

    benchmark.pedantic(
        direct_lookups if impl == "cython-direct" else lookups, rounds=3, iterations=1
    )
    _report(benchmark, "capability lookups", impl, LOOKUPS)


@pytest.mark.parametrize("impl", IMPLS)
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
        mem = pg.vs.mem
        if impl == "cython-direct":
            from hmk._fast.pagefault import FaultContext

            handle = FaultContext(pg).handle_fault
        for n in range(FAULTS):
            if impl == "cython-direct":
                outcome, _ = handle(i, 0x1000_0000 + n * 4096, WRITE)
            else:
                outcome, _ = pg.handle_fault(i, 0x1000_0000 + n * 4096, "write", impl=impl)
            assert outcome == P.RESOLVED
            if n & 63 == 63:  # a kernel path's log is timed and dropped after each path
                mem.take_log()

    benchmark.pedantic(faults, setup=setup, rounds=3, iterations=1)
    _report(benchmark, "anonymous faults", impl, FAULTS)


def _report(benchmark, what, impl, count):
    if benchmark.stats is None:  # --benchmark-disable: ran once, nothing timed
        return
    per_second = count / benchmark.stats.stats.min
    benchmark.extra_info["per_second"] = per_second
    print(f"\n{what}, {impl}: {per_second / 1e3:,.0f} k/s")

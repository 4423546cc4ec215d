"""Host throughput of the IPC round trip (fast call + fast reply), cross-VSpace and same-VSpace,
the Python reference (hmk.kernel.ipc.Ipc) beside its compiled fastpath
(hmk._fast.ipcfast.FastIpc), in the same run (goal: >= 1 M round trips/s). The log is
drained with take_log, as in test_kernel_bench.py.

    python -m pytest benchmarks/test_kernel_bench.py benchmarks/test_ipc_bench.py \
        --benchmark-only -s
"""

from __future__ import annotations

import numpy as np
import pytest

from hmk.kernel import ipc as I
from hmk.kernel.cspace import CALL, ENDPOINT, CSpaces
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory
from hmk.kernel.threads import Threads
from hmk.kernel.vspace import VSpaces

ROUND_TRIPS = 20_000
HEAP = 1 << 20


def _system(cross: bool):
    ram = np.zeros(4 << 20, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    cs = CSpaces(mem, slots=64, cspaces=4, objects_per_type=8)
    th = Threads(mem, 8, cores=1, tick_cycles=1000, slice_ticks=3)
    vs = VSpaces(mem, ram, Frames(ram, HEAP), 4)
    ipc = I.Ipc(mem, cs, th, vs, 4, 16)
    client_vs = vs.create()
    server_vs = vs.create() if cross else client_vs
    cspace = cs.create(8)
    server = th.create(10, 0, server_vs, cspace)
    caller = th.create(10, 0, client_vs, cspace)
    ep = ipc.create_endpoint(server, server_vs, 0x4000)
    assert ep >= 0 and cs.install(cspace, 0, ENDPOINT, ep, CALL) == 0
    mem.take_log()
    return ipc, caller, client_vs, cspace


@pytest.mark.parametrize("space", ["cross-vspace", "same-vspace"])
@pytest.mark.parametrize("impl", ["python", "cython"])
def test_ipc_round_trips(benchmark, impl, space):
    ipc, caller, client_vs, cspace = _system(space == "cross-vspace")
    if impl == "cython":
        from hmk._fast.ipcfast import FastIpc

        api = FastIpc(ipc)
    else:
        api = ipc
    mem = ipc.mem
    call, reply = api.call, api.reply
    ret = (0x1234, 0x8000, 0x3C5)

    def round_trips():
        for n in range(ROUND_TRIPS):
            r = call(caller, client_vs, cspace, 0, 16, False, ret)
            rr = reply(r.activation, 32)
            if n & 63 == 63:  # a kernel path's log is timed and dropped after each path
                mem.take_log()
        assert r.path == "fast" and rr.path == "fast"

    benchmark.pedantic(round_trips, rounds=3, iterations=1)
    rounds = 1 if benchmark.disabled else 3  # --benchmark-disable runs the function once
    if impl == "cython":
        assert api.fast_calls == api.fast_replies == rounds * ROUND_TRIPS
        assert api.fallback_calls == api.fallback_replies == 0
    if benchmark.disabled:
        return
    per_second = ROUND_TRIPS / benchmark.stats.stats.min
    benchmark.extra_info["round_trips_per_second"] = per_second
    print(f"\n{impl} {space}: {per_second / 1e3:.0f} k round trips/s")

"""asv benchmarks of the core kernel: host speed of the compiled hot paths, and the
modeled kernel-path latencies docs/fidelity.md reports.

time_lookups / time_faults / time_ipc: the compiled twins' own entry points, the same work as
    benchmarks/test_kernel_bench.py and test_ipc_bench.py (which also run the references).
track_cycles: hmbench's modeled cost per operation (hmk.bench.per_operation), one per row of
    docs/fidelity.md's table; a step in these graphs is a change to the model.
"""

from __future__ import annotations

import numpy as np

from hmk.bench import per_operation
from hmk.fidelity import ROWS
from hmk.hw.events import WRITE
from hmk.kernel import paging as P
from hmk.kernel import vspace as V
from hmk.kernel.cspace import CALL, ENDPOINT, CSpaces
from hmk.kernel.ipc import Ipc
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory
from hmk.kernel.threads import Threads

N = 5000


class KernelHotPaths:
    number = 1  # a fresh setup per sample: the faults must find unmapped pages
    repeat = (3, 10, 20.0)

    def setup(self):
        mem = KernelMemory(np.zeros(32 << 20, np.uint8), 0, 2 << 20)
        self.mem = mem
        self.caps = CSpaces(mem, 256, 4, 64)
        self.cs = self.caps.create(64)
        for slot in range(64):
            self.caps.install(self.cs, slot, ENDPOINT, slot, CALL)
        frames = Frames(mem.ram, 2 << 20)
        self.vspaces = V.VSpaces(mem, mem.ram, frames, 4, pool_depth=N + 64)
        self.paging = P.KernelPaging(self.vspaces)
        self.vs = self.vspaces.create()
        self.paging.add_region(self.vs, 0x1000_0000, 0x1000_0000 + N * 4096)
        self.paging.refill(self.vs, [frames.alloc() for _ in range(N + 8)])
        threads = Threads(mem, 8, cores=1, tick_cycles=1000, slice_ticks=3)
        self.ipc = Ipc(mem, self.caps, threads, self.vspaces, 4, 16, 2, 8)
        self.client = threads.create(10, 0, self.vs, self.cs)
        server = threads.create(10, 0, self.vs, self.cs)
        ep = self.ipc.create_endpoint(server, self.vs, 0x4000)
        self.caps.install(self.cs, 0, ENDPOINT, ep, CALL)
        mem.take_log()

    def time_lookups(self):
        caps, cs, mem = self.caps, self.cs, self.mem
        for i in range(N):
            caps.lookup(cs, i & 63, ENDPOINT, CALL, impl="cython")
            if i & 1023 == 1023:
                mem.take_log()

    def time_faults(self):
        handle, vs, mem = self.paging.handle_fault, self.vs, self.mem
        for i in range(N):
            handle(vs, 0x1000_0000 + i * 4096, WRITE, impl="cython")
            if i & 63 == 63:
                mem.take_log()

    def time_ipc(self):
        from hmk._fast.ipcfast import FastIpc  # noqa: PLC0415

        fast, mem = FastIpc(self.ipc), self.mem
        for i in range(N):
            call = fast.call(self.client, self.vs, self.cs, 0, 16)
            fast.reply(call.activation, 8)
            if i & 63 == 63:
                mem.take_log()


def _row(r) -> str:
    """A row of docs/fidelity.md's table by what it measures: "fault-read on rpi4, user paging"."""
    return f"{r.op} on {r.profile}, {r.paging} paging"


class KernelModel:
    """One value per row of docs/fidelity.md's table (each an operation on the profile its
    published figure was measured on): the rows, not every operation x profile x paging."""

    timeout = 600

    def setup_cache(self):
        return {_row(r): per_operation(r.op, r.profile, r.paging, n=(100, 600))[0] for r in ROWS}

    def track_cycles(self, results, row):
        return results[row]

    track_cycles.params = [_row(r) for r in ROWS]
    track_cycles.param_names = ["row"]
    track_cycles.unit = "cycles"

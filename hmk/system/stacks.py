"""Where the cycles went, as call stacks: the collection behind `hmk run --flamegraph`.

A stack is a tuple of frames, root first, each `kind:name` (hmk.report.flame draws them):

    process:hello[3]  user:main  syscall:write  service:fsmgr  service:devhost  kernel:ipc

* The program's own cycles: the timing model reports the clock after every executed block;
  a block's cycles (the clock's advance over it, stalls included) go to the function that
  holds its first instruction (the ELF's FUNC symbols; without them, the 4 KiB address range,
  `user:0x401000-0x401fff`) in the process that ran it.
* Kernel cycles: every CoreKernel.charge(path, cycles) goes to the program function where
  the thread trapped (its PC), then what the kernel is doing on its behalf (CoreKernel.within:
  the syscall, the services the call went through, a page fault), then the kernel path
  (LEAF). A service's own work is the service frame itself (its self time).
* An idle core (nothing to run until a timer) is the single frame `idle:idle`.

Weights are summed in the timing model's unit and converted to cycles at the end, so a
stack profile's total is the run's cycles (within rounding: one cycle per stack at most).
With several cores each has a profile of its own, and a run's stacks start with the core
(`core:N`): their total is the cores' cycles.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

RANGE_BITS = 12  # a stripped program's code is attributed per 4 KiB range
LEAF = {  # CoreKernel.charge's path -> the frame it ends in
    "syscall": "kernel:exception entry+return",
    "shim": "kernel:shim dispatch",
    "fault": "kernel:page fault",
    "ipc": "kernel:ipc",
    "sched": "kernel:scheduler",
    "timer": "kernel:timer interrupt",
    "hmcall": "kernel:core-kernel call",
    "signal": "kernel:signal delivery",
    "ipi": "kernel:inter-processor interrupt",
    "tlbi": "kernel:TLB shootdown",
}
IDLE = ("idle:idle",)
START = "user:(start-up)"  # kernel work before the program's first instruction (loading it)


def idle_cores(stacks: dict) -> list[int]:
    """The cores of a run's stacks (several cores: each under its `core:N` frame) that did
    nothing but idle, by number; none for one core's stacks."""
    busy, seen = set(), set()
    for stack in stacks:
        if stack and stack[0].startswith("core:"):
            core = int(stack[0][5:])
            seen.add(core)
            if stack[1:] != IDLE:
                busy.add(core)
    return sorted(seen - busy)


class Symbols:
    """Vectorized address -> function name for one program image."""

    def __init__(self, image):
        syms = [s for s in image.symbols if s.size > 0] if image is not None else []
        self.starts = np.array([s.address for s in syms], np.uint64)
        self.ends = np.array([s.address + s.size for s in syms], np.uint64)
        self.names = [f"user:{s.name}" for s in syms]
        self._cache: dict[int, str] = {}

    def frames(self, addresses: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(an index per address into the returned names, the names)."""
        names = list(self.names)
        idx = np.searchsorted(self.starts, addresses, side="right").astype(np.int64) - 1
        inside = idx >= 0
        inside[inside] = addresses[inside] < self.ends[idx[inside]]
        if not inside.all():  # no symbol: the address range
            ranges, where = np.unique(addresses[~inside] >> RANGE_BITS, return_inverse=True)
            idx[~inside] = len(names) + where
            size = 1 << RANGE_BITS
            names += [f"user:{r * size:#x}-{r * size + size - 1:#x}" for r in ranges.tolist()]
        return idx, names

    def frame(self, address: int) -> str:
        found = self._cache.get(address)
        if found is None:  # a kernel entry's PC: few distinct ones, looked up again and again
            idx, names = self.frames(np.array([address], np.uint64))
            found = self._cache[address] = names[int(idx[0])]
        return found


class StackProfile:
    """Collects the stacks of one run (hmk.system.simulation.Simulation makes one when asked).
    `label(proc)` names a process whose program the profile may read symbols from (a Linux
    process: `hello[3]`), or None for a domain of the core kernel's own (its name is used)."""

    def __init__(self, machine, timing, label):
        self.machine, self.timing, self.label = machine, timing, label
        self.unit = timing.params.unit  # the timing model's clock ticks per cycle
        self.weights: dict[tuple[str, ...], int] = defaultdict(int)
        self._symbols: dict[object, Symbols] = {}
        self._owner = ("process:?", None)  # who ran the batch being drained

    # ---- who is running
    def _process(self, proc):
        label = self.label(proc) if proc is not None else None
        if label is None:
            return f"process:{getattr(proc, 'name', '?')}", None
        return f"process:{label}", proc.image

    def _symbols_of(self, image) -> Symbols:
        found = self._symbols.get(image)
        if found is None:
            found = self._symbols[image] = Symbols(image)
        return found

    def note_owner(self, proc) -> None:
        """Machine.on_sync: the batch about to be drained ran in `proc`."""
        self._owner = self._process(proc)

    # ---- the program's cycles
    def account(self, blocks, events, latencies, classes, coherent=None) -> None:
        """The run's sink: time a batch and give each block's cycles to its function
        (`coherent`: the batch's coherent write events, TimingModel.account)."""
        times = np.empty(len(blocks), np.int64)
        start = self.timing.clock
        self.timing.account(blocks, events, latencies, classes, times, coherent)
        if not len(blocks):
            return
        deltas = np.diff(times, prepend=start)
        process, image = self._owner
        idx, names = self._symbols_of(image).frames(blocks["addr"])
        sums = np.bincount(idx, weights=deltas, minlength=len(names))
        for i in np.flatnonzero(sums):
            self.weights[(process, names[i])] += int(sums[i])

    # ---- the kernel's
    def kernel(self, kernel, path: str, cycles: int) -> None:
        """`kernel` charged `cycles` to `path`."""
        if not cycles:
            return
        if path == "idle":
            self.weights[IDLE] += cycles * self.unit
            return
        process, image = self._process(kernel.running_process)
        pc = self.machine.pc
        user = self._symbols_of(image).frame(pc) if pc else START
        context = kernel.context
        leaf = LEAF.get(path) or f"service:{path.removeprefix('services.')}"
        frames = (process, user, *context)
        if not context or context[-1] != leaf:  # a service's own work: its frame's self time
            frames += (leaf,)
        self.weights[frames] += cycles * self.unit

    def stacks(self) -> dict[tuple[str, ...], int]:
        """Stack -> cycles (rounded), zero stacks dropped."""
        out = {}
        for stack, units in self.weights.items():
            cycles = round(units / self.unit)
            if cycles:
                out[stack] = cycles
        return dict(sorted(out.items()))

"""The timing model: executed blocks and memory latencies to core cycles (docs/timing-model.md).

Input, per flush of the functional CPU: BLOCKS (`BLOCK_DTYPE`, the executed translation blocks
in order), EVENTS (hmk.hw.events records: each block's instruction fetches, one per cache line
it spans, then its loads and stores in program order; block i's events start at
`event_start`), the latency of every event (from hmk.hw.engine.BatchHierarchy) and the blocks'
classes (hmk.cpu.classify). All state carries over between flushes, so a run can be fed in
pieces of any size with the same result.

Two pipelines, chosen by the core's profile:
* in-order (Cortex-A55): a scoreboard issuing up to `issue_width` instructions a cycle in
  program order, with the pairing rules of the A55's pipes, operand latencies (load-use),
  a non-pipelined divider, and a stall for every cycle a load or fetch takes beyond an L1 hit;
* out-of-order (A72/A76/A77): an interval model in dataflow form: dispatch at `issue_width` a
  cycle into a window of `rob_entries`, execution when operands are ready, retirement in order;
  L1D misses take the hierarchy's latency and overlap up to `mlp` at a time; a mispredicted
  branch restarts the front end `branch_mispredict_penalty` cycles after it resolves; a fetch
  miss stops dispatch for its extra latency.
A branch predictor (bimodal or gshare, a return stack, a last-target table) is fed by the block
stream: block i's branch was taken iff block i+1 does not start right after it.
Stores never stall, but one whose line needed coherence work (another core held it: the
hierarchy's coherent_writes) is visible to the other cores only after its latency; each core
keeps when its stores will all be visible (the store drain horizon), and barriers and release
instructions that order earlier stores (flag DRAIN) wait for it, as store-exclusives and store
atomics (flag UNIQUE) wait for their own line's coherence work.
Both pipelines forward stores to loads: a table of recent stores, keyed by the 8-byte granules
their write events cover, holds when each store's data was ready; a load whose read events
cover a granule there has its data no earlier than that time plus the core's
`store_forward_latency` (a memory dependence through a store, e.g. a `volatile` counter).

This file is the reference (plain Python, readable as the specification); hmk._fast.timing is
its compiled twin, and tests/test_timing.py requires both to give identical counters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmk.cpu import classify as C
from hmk.hw.events import BLOCK_DTYPE, EVENT_DTYPE, FETCH, READ, WRITE
from hmk.hw.profile import CoreType

# Counters, in the model's time unit (cycles in-order; 1/width cycle out-of-order).
COUNTERS = (
    "instructions",
    "blocks",
    "cond_branches",
    "cond_mispredicts",
    "indirect_branches",
    "indirect_mispredicts",
    "returns",
    "return_mispredicts",
    "stall_dependency",  # indices 8-11 are the stall causes DEP..MISPREDICT, in cause order
    "stall_memory",
    "stall_fetch",
    "stall_mispredict",
    "external",  # cycles added by add_cycles (exception entry and return, ...)
    "coherence_wait",  # of stall_memory: waits for stores to become visible to other cores
)
N_INSNS, N_BLOCKS, N_COND, N_COND_MISS, N_IND, N_IND_MISS, N_RET, N_RET_MISS = range(8)
N_EXTERNAL, N_COHERENCE = 12, 13
TIME_COUNTERS = (
    "stall_dependency",
    "stall_memory",
    "stall_fetch",
    "stall_mispredict",
    "external",
    "coherence_wait",
)
# Why an instruction finished late (out-of-order) or the issue stalled (in-order).
BASE, DEP, MEM, FRONT_FETCH, FRONT_MISPREDICT = range(5)
STALL_OF = {DEP: 8, MEM: 9, FRONT_FETCH: 10, FRONT_MISPREDICT: 11}

# In-order issue resources (Cortex-A55: two ALU and two FP pipes; one each of load, store,
# multiply-accumulate/divide, branch and FP divide: LLVM AArch64SchedA55.td's ProcResources).
R_LD, R_ST, R_MAC, R_BR, R_FDIV = 1, 2, 4, 8, 16
RESOURCE = {
    C.LOAD: R_LD,
    C.LOAD_PAIR: R_LD,
    C.STORE: R_ST,
    C.STORE_PAIR: R_ST,
    C.MUL: R_MAC,
    C.DIV: R_MAC,
    C.FP_DIV: R_FDIV,
    **dict.fromkeys(
        (C.BRANCH_COND, C.BRANCH, C.BRANCH_INDIRECT, C.CALL, C.CALL_INDIRECT, C.RETURN), R_BR
    ),
}
BRANCH_CLASSES = frozenset(C.TERM_OF_CLASS)
LOADS = (C.LOAD, C.LOAD_PAIR)
STORES = (C.STORE, C.STORE_PAIR)
MEMORY_CLASSES = LOADS + STORES
# Entries of the table of recent stores (direct-mapped by 8-byte granule; granules 64 x 8
# bytes apart share an entry and the younger store wins). A model choice, not a hardware
# figure: an entry matters only until its data is older than the forwarding latency, and in
# that time a core writes few granules (two stores a cycle for 7 cycles, the longest latency
# here, is 14); the rest is room for stores whose data waits on a miss.
STORE_TABLE = 64


@dataclass(frozen=True)
class Params:
    """The numbers the model uses, from a core profile."""

    inorder: bool
    width: int
    unit: int  # time units per cycle: 1 in-order, width out-of-order
    l1i: int  # L1I hit latency: fetches beyond it stall
    l1d: int  # L1D load-to-use latency: loads beyond it are misses
    penalty: int
    latency: tuple[int, ...]  # per instruction class, cycles
    rob: int
    mlp: int
    gshare: bool
    pht_entries: int
    history_mask: int
    ras_entries: int
    indirect_entries: int
    forward: int = 1  # store-to-load forwarding latency, cycles
    resource: tuple[int, ...] = ()  # per instruction class, the pipes it needs (RESOURCE)

    @classmethod
    def of(cls, core: CoreType) -> Params:
        t = core.timing
        lat = [1] * C.NCLASSES
        lat[C.MUL], lat[C.DIV] = t.mul_latency, t.div_latency
        lat[C.FP], lat[C.FP_DIV] = t.fp_latency, t.fp_div_latency
        lat[C.LOAD] = lat[C.LOAD_PAIR] = core.l1d.latency
        inorder = core.pipeline == "in-order"
        return cls(
            inorder=inorder,
            width=core.issue_width,
            unit=1 if inorder else core.issue_width,
            l1i=core.l1i.latency,
            l1d=core.l1d.latency,
            penalty=core.branch_mispredict_penalty,
            latency=tuple(lat),
            rob=t.rob_entries,
            mlp=t.mlp,
            gshare=t.predictor == "gshare",
            pht_entries=t.predictor_entries,
            history_mask=(1 << t.history_bits) - 1,
            ras_entries=t.return_stack,
            indirect_entries=t.indirect_entries,
            forward=t.forward_latency(core.l1d.latency),
            resource=tuple(RESOURCE.get(k, 0) for k in range(C.NCLASSES)),
        )


class TimingModel:
    """Cycles of one core. `account(blocks, events, latencies, classes)` adds a flush and returns
    the cycles it added; `classes` is either the blocks' ids in `self.table` (uint32, one per
    block) or where to read code from: an object with `read_code(addr, size)` or a callable
    with that signature;
    code read once is trusted at that address and size until `code_changed`.
    `reference=True` runs the plain-Python specification instead of the compiled twin."""

    def __init__(self, core: CoreType, table: C.BlockTable | None = None, *, reference=False):
        self.core = core
        self.params = p = Params.of(core)
        if not p.inorder and (p.rob < 1 or p.mlp < 1):
            raise ValueError(f"{core.name}: an out-of-order core needs rob_entries and mlp")
        self.table = table if table is not None else C.BlockTable()
        if reference:
            self.engine = ReferenceEngine(p)
        else:
            from hmk._fast.timing import TimingEngine  # noqa: PLC0415  (compiled on install)

            self.engine = TimingEngine(p)
        # instructions run without the model (`skip`) and the time they were given, in units
        self.functional_instructions = self.functional_units = 0
        self.coherent = False  # other cores share the hierarchy: report coherence waits

    # ---- feeding
    def account(self, blocks, events, latencies, classes, times=None, coherent=None) -> int:
        """`times`: an int64 array, one per block, to receive the clock after each block in
        the model's time unit (`params.unit` per cycle): what a profile attributes to each.
        `coherent`: the indexes of the write events that needed coherence work, ascending
        (the hierarchy's coherent_writes(); None: none)."""
        blocks, events, latencies = _checked(blocks, events, latencies)
        coherent = _marks(coherent, len(events))
        ids = self._ids(blocks, classes)
        if times is not None and (
            not isinstance(times, np.ndarray)
            or times.dtype != np.int64
            or times.shape != (len(blocks),)
            or not times.flags.c_contiguous
            or not times.flags.writeable
        ):
            raise ValueError("times must be a writable C-contiguous int64 array, one per block")
        before = self.cycles
        table = self.table
        self.engine.run(blocks, events, latencies, ids, table.rows, table.insns, times, coherent)
        return self.cycles - before

    def batch_timer(self, hierarchy):
        """A compiled hmk._fast.timing.BatchTimer over `hierarchy` (an hmk.hw.engine
        BatchHierarchy), for batches the CPU recorded: `time(blocks, events)` does what
        `account(blocks, events, hierarchy.run(events), ...)` does when every block is known
        (False, nothing done, when one is not). None with the reference engine."""
        if isinstance(self.engine, ReferenceEngine):
            return None
        from hmk._fast.timing import BatchTimer  # noqa: PLC0415

        return BatchTimer(self.engine, self.table, hierarchy)

    @property
    def clock(self) -> int:
        """The engine's clock in the model's time unit (`params.unit` per cycle)."""
        return int(self.engine.now)

    def code_changed(self, pages=None) -> None:
        """Code at these pages (page addresses; None: anywhere) may have changed: read it again
        before using its classification (when `classes` is a code reader)."""
        self.table.forget(pages)

    def add_cycles(self, n: int) -> None:
        """Time outside the instruction stream (exception entry and return): the pipeline is
        empty afterwards."""
        if n < 0:
            raise ValueError(f"cannot add {n} cycles")
        self.engine.add_cycles(int(n))

    def skip(self, instructions: int, units: int) -> None:
        """`instructions` ran without the model (functionally, hmk.system.sampling): the clock
        moves on by `units` (the model's time unit: the time estimated for them) with the
        pipeline emptied, and both are counted apart from the modelled instructions and from
        the external cycles."""
        if units < 0:
            raise ValueError(f"cannot skip {units} units")
        self.engine.advance(int(units))
        self.functional_instructions += int(instructions)
        self.functional_units += int(units)

    def _ids(self, blocks, classes) -> np.ndarray:
        if isinstance(classes, np.ndarray):
            ids = np.ascontiguousarray(classes, dtype=np.uint32)
            if classes.shape != (len(blocks),) or classes.dtype.kind not in "iu":
                raise ValueError("classes must hold one integer block id per block")
            if len(ids) and int(ids.max()) >= len(self.table):
                raise ValueError(f"block id {int(ids.max())} is not in the table")
            return ids
        return self.table.ids(blocks, _code_reader(classes))

    # ---- results
    @property
    def cycles(self) -> int:
        return self.engine.now // self.params.unit

    @property
    def instructions(self) -> int:
        return int(self.engine.counts[N_INSNS])

    @property
    def external_units(self) -> int:
        """The time add_cycles gave the clock (kernel paths), in the model's unit."""
        return int(self.engine.counts[N_EXTERNAL])

    def counters(self) -> dict[str, int]:
        """Every counter in cycles (stall and external times rounded down)."""
        unit = self.params.unit
        raw = {name: int(v) for name, v in zip(COUNTERS, self.engine.counts, strict=True)}
        return {k: v // unit if k in TIME_COUNTERS else v for k, v in raw.items()}

    def stats(self) -> dict[str, int]:
        """Flat dotted names, as hmk.hw's stats()."""
        c = self.counters()
        lookups = c["cond_branches"] + c["indirect_branches"] + c["returns"]
        mispredicts = c["cond_mispredicts"] + c["indirect_mispredicts"] + c["return_mispredicts"]
        stalls = {k[len("stall_") :]: v for k, v in c.items() if k.startswith("stall_")}
        functional = self.functional_units // self.params.unit
        out = {
            "timing.cycles": self.cycles,
            "timing.instructions": c["instructions"],
            "timing.blocks": c["blocks"],
            "timing.base_cycles": max(
                0, self.cycles - sum(stalls.values()) - c["external"] - functional
            ),
            "timing.external_cycles": c["external"],
            "timing.branch.lookups": lookups,
            "timing.branch.mispredicts": mispredicts,
        }
        for kind in ("cond", "indirect"):
            out[f"timing.branch.{kind}.lookups"] = c[f"{kind}_branches"]
            out[f"timing.branch.{kind}.mispredicts"] = c[f"{kind}_mispredicts"]
        out["timing.branch.return.lookups"] = c["returns"]
        out["timing.branch.return.mispredicts"] = c["return_mispredicts"]
        out.update({f"timing.stall.{k}": v for k, v in stalls.items()})
        if self.coherent:
            out["timing.coherence.store_wait_cycles"] = c["coherence_wait"]
        if self.functional_instructions:
            out["timing.functional_instructions"] = self.functional_instructions
            out["timing.functional_cycles"] = functional
        return out


def _checked(blocks, events, latencies):
    """The three arrays, C-contiguous, or a ValueError naming the problem (before any state
    changes)."""
    if not isinstance(blocks, np.ndarray) or blocks.dtype != BLOCK_DTYPE or blocks.ndim != 1:
        raise ValueError("blocks must be a 1-D numpy array of hmk.cpu.timing.BLOCK_DTYPE")
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise ValueError("events must be a 1-D numpy array of hmk.hw.events.EVENT_DTYPE")
    lat = np.ascontiguousarray(latencies)
    if lat.shape != events.shape or lat.dtype.kind not in "iu":
        raise ValueError(f"latencies must be {len(events)} integers, one per event")
    if len(events) and events["kind"].max() > FETCH:
        raise ValueError("events must be reads (0), writes (1) or fetches (2)")
    starts = blocks["event_start"]
    if len(starts) and (starts[-1] > len(events) or (starts[1:] < starts[:-1]).any()):
        raise ValueError("blocks' event_start must be non-decreasing and within the events")
    blocks, events = np.ascontiguousarray(blocks), np.ascontiguousarray(events)
    return blocks, events, lat if lat.dtype == np.int32 else lat.astype(np.int32)


_NO_MARKS = np.zeros(0, np.int64)


def _marks(coherent, nevents: int) -> np.ndarray:
    """The coherent write events' indexes as a C-contiguous int64 array, or a ValueError."""
    if coherent is None:
        return _NO_MARKS
    marks = np.ascontiguousarray(coherent, dtype=np.int64)
    if marks.ndim != 1 or (
        len(marks) and (marks[0] < 0 or marks[-1] >= nevents or (marks[1:] <= marks[:-1]).any())
    ):
        raise ValueError("coherent must be event indexes, ascending, within the events")
    return marks


def _code_reader(source):
    if hasattr(source, "read_code"):
        return source.read_code
    if callable(source):
        return source
    raise TypeError(
        "classes must be block ids, a read_code(addr, size) callable or an object with one"
    )


# --------------------------------------------------------------------------------------------
# The reference engine


class ReferenceEngine:
    """The model itself, as plain Python. hmk._fast.timing.TimingEngine is the same, compiled."""

    def __init__(self, p: Params):
        self.p = p
        self.counts = np.zeros(len(COUNTERS), np.int64)
        self.ready = [0] * C.NREGS  # when each register's value can be used
        # branch prediction
        self.pht = [1] * p.pht_entries  # 2-bit counters, start weakly not-taken
        self.history = 0
        self.ras = [0] * p.ras_entries
        self.ras_top = self.ras_count = 0
        self.targets = [0] * p.indirect_entries
        self.pending = None  # (term, branch pc, fall-through address, resolve time)
        self.done = 0  # when the last instruction issued (in-order) / completed (out-of-order)
        # in-order: the current issue cycle, slots and resources used in it, units busy, and
        # the cycle before which no new issue cycle starts (a load miss stalls the pipeline)
        self.cur = self.slot = self.res = self.end = self.hold = 0
        self.div_free = self.fdiv_free = 0
        # out-of-order: last dispatch, last retirement, front-end restart and why; the window
        # (retirement times of the last rob_entries instructions); miss buffers (free times)
        self.dispatched, self.retired, self.front, self.front_cause = -1, 0, 0, BASE
        self.rob = [0] * max(p.rob, 1)
        self.seq = 0
        self.mshr = [0] * max(p.mlp, 1)
        # recent stores: per entry, the 8-byte granule (address >> 3) plus one (0: empty) and
        # when its data was ready; `written`: when the last instruction's stored data is ready
        self.st_granule = [0] * STORE_TABLE
        self.st_ready = [0] * STORE_TABLE
        self.written = 0
        # when this core's stores that needed coherence work are all visible to the other
        # cores (the store drain horizon); DRAIN instructions wait for it
        self.drain = 0
        # out-of-order: when the last barrier that waited for them completed; the loads and
        # stores after it start no earlier (in-order, they issue after it anyway)
        self.fence = 0

    @property
    def now(self) -> int:
        return self.end if self.p.inorder else self.retired

    def add_cycles(self, n: int) -> None:
        self.counts[N_EXTERNAL] += n * self.p.unit
        self.advance(n * self.p.unit)

    def advance(self, units: int) -> None:
        """The clock `units` on with the pipeline emptied, not counted as external."""
        if self.p.inorder:
            self.cur = max(self.cur + (1 if self.slot else 0), self.end) + units
            self.slot = self.res = 0
            self.end = self.cur
        else:
            self.retired += units
            self.front, self.front_cause = max(self.front, self.retired), BASE

    # ---- one flush
    def run(self, blocks, events, lats, ids, rows, insns, times=None, marks=()) -> None:
        kinds = events["kind"]
        nev = len(events)
        marks = [int(m) for m in (() if marks is None else marks)]
        mi = 0  # the next coherent write event
        for b in range(len(blocks)):
            addr, size, ninsn, ev = (int(x) for x in blocks[b])
            end = int(blocks["event_start"][b + 1]) if b + 1 < len(blocks) else nev
            row = rows[ids[b]]
            fetch = 0
            while ev < end and kinds[ev] == FETCH:
                fetch += max(0, int(lats[ev]) - self.p.l1i)
                ev += 1
            self.begin_block(addr, fetch)
            n = min(ninsn, int(row["ninsn"]))
            start, last_mem = int(row["insn_start"]), int(row["last_mem"])
            for j in range(n):
                ins = insns[start + j]
                mem = -1  # the longest latency of its events; -1: it made none
                want, take = int(ins["flags"]) & (C.READS | C.WRITES), int(ins["nev"])
                first = ev
                while ev < end and take and (1 << int(kinds[ev])) & want:
                    mem = max(mem, int(lats[ev]))
                    ev += 1
                    take -= take != C.ALL_EVENTS
                if j == last_mem:  # what is left of the block's events belongs here
                    while ev < end:
                        if kinds[ev] != FETCH:
                            mem = max(mem, int(lats[ev]))
                        ev += 1
                # (an instruction takes events of its own kinds only, but the last memory one
                # takes whatever is left)
                if j == last_mem:
                    want = C.READS | C.WRITES
                fwd = 0  # when data forwarded from older stores arrives; 0: none
                if ev > first and want & C.READS:
                    fwd = self.forwarded(events, first, ev)
                coherent = False  # one of its writes needed coherence work
                while mi < len(marks) and marks[mi] < ev:
                    coherent |= marks[mi] >= first  # (a block cut short leaves events unused)
                    mi += 1
                self.issue(ins, mem, fwd, coherent)
                if ev > first and want & C.WRITES:
                    self.store(events, first, ev, self.written)
            self.counts[N_INSNS] += n
            self.counts[N_BLOCKS] += 1
            term = int(row["term"])
            if n == int(row["ninsn"]) and n and term != C.T_NONE:
                self.pending = (term, addr + size - 4, addr + size, self.done)
            if times is not None:
                times[b] = self.now

    def begin_block(self, addr: int, fetch: int) -> None:
        p = self.p
        if p.inorder:
            if self.slot:  # nothing pairs across a block boundary
                self.cur, self.slot, self.res = self.cur + 1, 0, 0
            self.cur = max(self.cur, self.hold)
            if self.resolve(addr):  # the front end restarts P cycles after the branch issued
                restart = self.done + 1 + p.penalty
                if restart > self.cur:
                    self.counts[STALL_OF[FRONT_MISPREDICT]] += restart - self.cur
                    self.cur = restart
            self.cur += fetch
            self.counts[STALL_OF[FRONT_FETCH]] += fetch
            self.end = max(self.end, self.cur)
        else:
            if self.resolve(addr):  # ... P cycles after the branch executed
                self.front = max(self.front, self.done + p.penalty * p.width)
                self.front_cause = FRONT_MISPREDICT
            if fetch:
                self.front = max(self.front, self.dispatched + 1) + fetch * p.width
                self.front_cause = FRONT_FETCH

    # ---- store-to-load forwarding
    def forwarded(self, events, first: int, end: int) -> int:
        """When the data of the youngest recorded stores to the 8-byte granules that the read
        events events[first:end] touch can reach them (data ready + the forwarding latency);
        0: none."""
        p, t = self.p, 0
        for k in range(first, end):
            if events["kind"][k] != READ:
                continue
            addr, size = int(events["addr"][k]), int(events["size"][k])
            g = addr >> 3
            last = g + (((addr & 7) + max(size, 1) - 1) >> 3)
            while g <= last:
                i = g & (STORE_TABLE - 1)
                if self.st_granule[i] == g + 1:
                    t = max(t, self.st_ready[i] + p.forward * p.unit)
                g += 1
        return t

    def store(self, events, first: int, end: int, ready: int) -> None:
        """Record the write events events[first:end], their data ready at `ready`."""
        for k in range(first, end):
            if events["kind"][k] != WRITE:
                continue
            addr, size = int(events["addr"][k]), int(events["size"][k])
            g = addr >> 3
            last = g + (((addr & 7) + max(size, 1) - 1) >> 3)
            while g <= last:
                i = g & (STORE_TABLE - 1)
                self.st_granule[i], self.st_ready[i] = g + 1, ready
                g += 1

    # ---- branch prediction
    def resolve(self, target: int) -> bool:
        """The previous block's branch went to `target`: was it mispredicted? Trains."""
        if self.pending is None:
            return False
        term, pc, fall, self.done = self.pending
        self.pending = None
        p, c = self.p, self.counts
        miss = False
        if term == C.T_COND:
            taken = target != fall
            i = ((pc >> 2) ^ (self.history if p.gshare else 0)) & (p.pht_entries - 1)
            miss = (self.pht[i] >= 2) != taken
            self.pht[i] = min(3, self.pht[i] + 1) if taken else max(0, self.pht[i] - 1)
            self.history = ((self.history << 1) | taken) & p.history_mask
            c[N_COND] += 1
            c[N_COND_MISS] += miss
        if term in (C.T_CALL, C.T_CALL_INDIRECT):  # push the return address
            self.ras_top = (self.ras_top + 1) % p.ras_entries
            self.ras[self.ras_top] = fall
            self.ras_count = min(self.ras_count + 1, p.ras_entries)
        if term in (C.T_INDIRECT, C.T_CALL_INDIRECT):
            i = (pc >> 2) & (p.indirect_entries - 1)
            miss = self.targets[i] != target
            self.targets[i] = target
            c[N_IND] += 1
            c[N_IND_MISS] += miss
        if term == C.T_RETURN:
            miss = self.ras_count == 0 or self.ras[self.ras_top] != target
            if self.ras_count:
                self.ras_top = (self.ras_top - 1) % p.ras_entries
                self.ras_count -= 1
            c[N_RET] += 1
            c[N_RET_MISS] += miss
        return miss

    # ---- one instruction
    def issue(self, ins, mem: int, fwd: int = 0, coherent: bool = False) -> None:
        """`mem`: the longest latency of its memory events (-1: none); `fwd`: when data
        forwarded from an older store reaches it (0: none); `coherent`: one of its writes
        needed coherence work. Sets `written`."""
        if self.p.inorder:
            self.issue_inorder(ins, mem, fwd, coherent)
        else:
            self.issue_ooo(ins, mem, fwd, coherent)

    def issue_inorder(self, ins, mem: int, fwd: int, coherent: bool = False) -> None:
        p, c = self.p, self.counts
        cls, flags = int(ins["cls"]), int(ins["flags"])
        need = RESOURCE.get(cls, 0) | (R_ST if cls in LOADS and flags & C.WRITES else 0)
        alone = cls == C.SYSTEM
        t = self.cur  # the cycle it can issue in, by structure
        if self.slot >= p.width or self.res & need or (alone and self.slot):
            t += 1
        busy = self.div_free if cls == C.DIV else self.fdiv_free if cls == C.FP_DIV else 0
        operands = busy
        if cls not in BRANCH_CLASSES:  # branches resolve late: they do not wait to issue
            for k in range(int(ins["nsrc"])):
                operands = max(operands, self.ready[int(ins["src"][k])])
        drain = self.drain if flags & C.DRAIN else 0  # earlier stores to be seen first
        if t > self.cur or operands > t or drain > t:  # a new issue cycle: not while the
            t = max(t, self.hold)  # pipe is stalled
        if operands > t:
            c[STALL_OF[DEP]] += operands - t
            t = operands
        if drain > t:
            c[STALL_OF[MEM]] += drain - t
            c[N_COHERENCE] += drain - t
            t = drain
        if t != self.cur:
            self.cur, self.slot, self.res = t, 0, 0
        self.slot = p.width if alone else self.slot + 1
        self.res |= need
        extra = mem - p.l1d if cls in LOADS and mem > p.l1d else 0  # a miss stalls the pipe
        unique = coherent and flags & C.UNIQUE and cls not in LOADS
        if unique:  # a store-exclusive or store atomic: done when its line is unique
            extra = max(0, mem - p.latency[cls])
            c[N_COHERENCE] += extra
        if coherent:  # the other cores see it after its latency
            self.drain = max(self.drain, t + mem)
        result = max(t + p.latency[cls] + extra, fwd)  # a forwarded load: no earlier than its data
        for k in range(int(ins["ndst"])):
            self.ready[int(ins["dst"][k])] = result
        # a store's data is ready when it issues (it waited for all its sources); what any other
        # instruction writes (an atomic, DC ZVA) is ready with its result
        self.written = t if cls in STORES else result
        if ins["wb"] != C.NOREG:
            self.ready[int(ins["wb"])] = t + 1
        if cls == C.DIV:
            self.div_free = t + p.latency[cls]
        elif cls == C.FP_DIV:
            self.fdiv_free = t + p.latency[cls]
        self.end = max(self.end, t + 1)
        self.done = t
        if extra:  # the instructions issued with it go on; the next issue cycle waits
            c[STALL_OF[MEM]] += extra
            self.hold = t + 1 + extra
            self.end = max(self.end, self.hold)

    def issue_ooo(self, ins, mem: int, fwd: int, coherent: bool = False) -> None:
        p, c, w = self.p, self.counts, self.p.width
        cls, flags = int(ins["cls"]), int(ins["flags"])
        # dispatch: in order, one slot each, after the front end, when the window has room
        d = max(self.dispatched + 1, self.front, self.rob[self.seq % p.rob])
        if flags & C.SERIAL:  # waits until everything older has retired
            d = max(d, self.retired)
        self.dispatched = d
        # execute: when the operands are ready, and earlier stores are seen if it orders them
        # (an L1D miss also needs a free miss buffer)
        e, why = d, self.front_cause
        for k in range(int(ins["nsrc"])):
            e = max(e, self.ready[int(ins["src"][k])])
        start = max(
            self.drain if flags & C.DRAIN else 0, self.fence if cls in MEMORY_CLASSES else 0
        )
        waited = start > e  # its start is a coherence wait
        if waited:
            e, why = start, MEM
        unique = coherent and flags & C.UNIQUE and cls not in LOADS
        if cls in LOADS and mem > p.l1d:
            i = self.mshr.index(min(self.mshr))
            if self.mshr[i] > e:
                e, why, waited = self.mshr[i], MEM, False
            done, own = e + mem * w, MEM
            self.mshr[i] = done
        elif unique:  # a store-exclusive or store atomic: done when its line is unique
            done, own = e + max(mem, p.latency[cls]) * w, MEM
        else:
            done = e + p.latency[cls] * w
            own = DEP if p.latency[cls] > 1 else BASE
        if coherent:  # the other cores see it after its latency
            self.drain = max(self.drain, e + mem * w)
        if waited and cls == C.SYSTEM:  # a barrier: what follows it waits for it
            self.fence = max(self.fence, done)
        if fwd > done:  # its data comes from an older store: a dependence through memory
            done, own = fwd, DEP
        # a store's data is ready when it executes (all its sources are); what any other
        # instruction writes (an atomic, DC ZVA) is ready when it completes
        self.written = e if cls in STORES else done
        if ins["wb"] != C.NOREG:  # address generation: needs the base register only
            self.ready[int(ins["wb"])] = max(d, self.ready[int(ins["wb"])]) + w
        for k in range(int(ins["ndst"])):
            self.ready[int(ins["dst"][k])] = done
        # retire: in order, one slot each. Time beyond that is a stall: up to the start of
        # execution, of what delayed it (the front end, a miss buffer: never a register, whose
        # producer retired earlier); after that, of the instruction's own latency.
        r = self.retired + 1
        if done > r:
            if e > r and why != BASE:
                c[STALL_OF[why]] += min(e, done) - r
                c[N_COHERENCE] += min(e, done) - r if waited else 0
            if own != BASE:
                c[STALL_OF[own]] += done - max(e, r)
                c[N_COHERENCE] += done - max(e, r) if unique and own == MEM else 0
            r = done
        self.retired = r
        self.rob[self.seq % p.rob] = r
        self.seq += 1
        self.done = done
        if flags & C.SERIAL:  # younger instructions wait for it
            self.front = max(self.front, done)

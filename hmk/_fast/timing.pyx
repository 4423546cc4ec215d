# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The timing model's engine, compiled: hmk.cpu.timing.ReferenceEngine line for line, over C
structs (the blocks, events, block table rows and instruction records of one flush) and C
arrays of state. hmk.cpu.timing.TimingModel checks the input and calls `run`; the specification
and the model's documentation are in hmk/cpu/timing.py and docs/timing-model.md."""

cimport cython
cimport numpy as cnp
from cpython.ref cimport PyObject
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from hmk._fast.shared cimport (
    ALL_EVENTS, BASE, BRANCH_COND, DEP, DIV, F_DRAIN, F_READS, F_SERIAL, F_UNIQUE, F_WRITES,
    FETCH, FP_DIV, FRONT_FETCH, FRONT_MISPREDICT, LOAD, LOAD_PAIR, MEM, MUL, N_BLOCKS, N_COHERENCE,
    N_COND, N_COND_MISS, N_EXTERNAL, N_IND, N_IND_MISS, N_INSNS, N_RET, N_RET_MISS, NCLASSES, NCOUNTERS, NOREG,
    NREGS, R_BR, R_FDIV, R_LD, R_MAC, R_ST, READ, RETURN, STALL0, STORE, STORE_PAIR,
    STORE_TABLE, SYSTEM, T_CALL, T_CALL_INDIRECT, T_COND, T_INDIRECT, T_NONE, T_RETURN, WRITE,
    Block, Event, Insn, Row
)

import numpy as np

from hmk.hw.events import BLOCK_DTYPE

cnp.import_array()


cdef inline int64_t imax(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


@cython.final
cdef class TimingEngine:
    cdef public object counts  # int64 numpy array, hmk.cpu.timing.COUNTERS
    cdef int64_t *cnt
    # parameters
    cdef bint inorder, gshare
    cdef int64_t width, l1i, l1d, penalty, rob_n, mlp, pht_mask, hist_mask, ras_n, ind_mask
    cdef int64_t fwd_units
    cdef int64_t lat[NCLASSES]
    cdef uint8_t resource[NCLASSES]
    # state
    cdef int64_t ready[NREGS]
    cdef object _arrays  # keeps the numpy buffers below alive
    cdef uint8_t *pht
    cdef uint64_t *ras
    cdef uint64_t *targets
    cdef int64_t *rob_t
    cdef int64_t *mshr
    cdef uint64_t st_granule[STORE_TABLE]  # recent stores: granule + 1 (0: empty)
    cdef int64_t st_ready[STORE_TABLE]  # and when its data was ready
    cdef int64_t written
    cdef int64_t drain  # when the stores that needed coherence work are all visible
    cdef int64_t fence  # out-of-order: when the last barrier that waited for them completed
    cdef bint shared  # a store that needed coherence work was seen: drain and fence matter
    cdef int64_t history, ras_top, ras_count
    cdef int pend_term
    cdef uint64_t pend_pc, pend_fall
    cdef int64_t pend_time, done
    cdef int64_t cur, slot, res, end, hold, div_free, fdiv_free
    cdef int64_t dispatched, retired, front, seq
    cdef int front_cause

    def __init__(self, p):
        cdef int k
        self.inorder, self.gshare = p.inorder, p.gshare
        self.width, self.l1i, self.l1d, self.penalty = p.width, p.l1i, p.l1d, p.penalty
        self.rob_n, self.mlp = max(p.rob, 1), max(p.mlp, 1)
        self.pht_mask, self.hist_mask = p.pht_entries - 1, p.history_mask
        self.ras_n, self.ind_mask = p.ras_entries, p.indirect_entries - 1
        self.fwd_units = p.forward * p.unit
        for k in range(NCLASSES):
            self.lat[k] = p.latency[k]
            self.resource[k] = p.resource[k]
        for k in range(NREGS):
            self.ready[k] = 0
        self.counts = np.zeros(NCOUNTERS, np.int64)
        arrays = {
            "pht": np.ones(p.pht_entries, np.uint8),  # 2-bit counters, weakly not-taken
            "ras": np.zeros(p.ras_entries, np.uint64),
            "targets": np.zeros(p.indirect_entries, np.uint64),
            "rob_t": np.zeros(self.rob_n, np.int64),
            "mshr": np.zeros(self.mlp, np.int64),
        }
        self._arrays = (self.counts, arrays)
        self.cnt = <int64_t*> <size_t> self.counts.ctypes.data
        self.pht = <uint8_t*> <size_t> arrays["pht"].ctypes.data
        self.ras = <uint64_t*> <size_t> arrays["ras"].ctypes.data
        self.targets = <uint64_t*> <size_t> arrays["targets"].ctypes.data
        self.rob_t = <int64_t*> <size_t> arrays["rob_t"].ctypes.data
        self.mshr = <int64_t*> <size_t> arrays["mshr"].ctypes.data
        for k in range(STORE_TABLE):
            self.st_granule[k] = 0
            self.st_ready[k] = 0
        self.written = 0
        self.drain = 0
        self.fence = 0
        self.shared = False
        self.history = self.ras_top = self.ras_count = 0
        self.pend_term = T_NONE
        self.done = 0
        self.cur = self.slot = self.res = self.end = self.hold = 0
        self.div_free = self.fdiv_free = 0
        self.dispatched, self.retired, self.front, self.seq = -1, 0, 0, 0
        self.front_cause = BASE

    @property
    def now(self):
        return self.end if self.inorder else self.retired

    def add_cycles(self, int64_t n):
        self._add(n)

    def advance(self, int64_t units):
        """The clock `units` (the model's time unit) on, the pipeline empty afterwards, as
        add_cycles, but not counted as external: the time estimated for instructions run
        without the model (hmk.cpu.timing.TimingModel.skip)."""
        self._move(units)

    def raw_entry(self):
        """(add, now, engine): for compiled callers holding this engine, the addresses of
        `add_raw` (void (void *engine, int64_t n): add_cycles(n)), `now_raw` (int64_t (void
        *engine): now) and the engine's."""
        return <size_t>&add_raw, <size_t>&now_raw, <size_t><void*>self

    cdef void _add(self, int64_t n) noexcept nogil:
        cdef int64_t units = n * (1 if self.inorder else self.width)
        self.cnt[N_EXTERNAL] += units
        self._move(units)

    cdef inline void _move(self, int64_t units) noexcept nogil:
        if self.inorder:
            self.cur = imax(self.cur + (1 if self.slot else 0), self.end) + units
            self.slot = self.res = 0
            self.end = self.cur
        else:
            self.retired += units
            self.front = imax(self.front, self.retired)
            self.front_cause = BASE

    def run(self, cnp.ndarray blocks, cnp.ndarray events, cnp.ndarray lats, cnp.ndarray ids,
            cnp.ndarray rows, cnp.ndarray insns, cnp.ndarray times=None,
            cnp.ndarray marks=None):
        """One flush; `times` (int64, one per block, or None): the clock after each block;
        `marks` (int64 or None): the coherent write events, ascending. Unchecked:
        hmk.cpu.timing.TimingModel.account checks the arrays (dtypes, C-contiguity,
        event_start, ids within `rows`, `times`, `marks`) before it calls this."""
        assert sizeof(Block) == 24 and sizeof(Row) == 16 and sizeof(Insn) == 16
        cdef const Block *blk = <const Block*> cnp.PyArray_DATA(blocks)
        cdef const Event *ev = <const Event*> cnp.PyArray_DATA(events)
        cdef const int *lat = <const int*> cnp.PyArray_DATA(lats)
        cdef const unsigned int *idp = <const unsigned int*> cnp.PyArray_DATA(ids)
        cdef const Row *row = <const Row*> cnp.PyArray_DATA(rows)
        cdef const Insn *ins = <const Insn*> cnp.PyArray_DATA(insns)
        cdef Py_ssize_t nblk = blocks.shape[0], nev = events.shape[0]
        cdef int64_t *after = NULL
        cdef const int64_t *marked = NULL
        cdef Py_ssize_t nmarks = 0
        if times is not None:
            after = <int64_t*> cnp.PyArray_DATA(times)
        if marks is not None:
            marked = <const int64_t*> cnp.PyArray_DATA(marks)
            nmarks = marks.shape[0]
        with nogil:
            self._run(blk, nblk, ev, nev, lat, idp, row, ins, after, marked, nmarks)

    cdef void _run(self, const Block *blk, Py_ssize_t nblk, const Event *ev, Py_ssize_t nev,
                   const int *lats, const unsigned int *ids, const Row *rows,
                   const Insn *insns, int64_t *after, const int64_t *marks,
                   Py_ssize_t nmarks) noexcept nogil:
        cdef Py_ssize_t b, e, end, j, n, first, mi = 0
        cdef const Row *row
        cdef const Insn *ins
        cdef int64_t fetch, mem, take, fwd
        cdef int want
        cdef bint coherent
        for b in range(nblk):
            e = <Py_ssize_t> blk[b].event_start
            end = <Py_ssize_t> blk[b + 1].event_start if b + 1 < nblk else nev
            row = &rows[ids[b]]
            fetch = 0
            while e < end and ev[e].kind == FETCH:
                fetch += imax(0, lats[e] - self.l1i)
                e += 1
            self.begin_block(blk[b].addr, fetch)
            n = blk[b].ninsn if blk[b].ninsn < row.ninsn else row.ninsn
            for j in range(n):
                ins = &insns[row.insn_start + j]
                mem = -1
                want = ins.flags & (F_READS | F_WRITES)
                take = ins.nev
                first = e
                while e < end and take and (1 << ev[e].kind) & want:
                    mem = imax(mem, lats[e])
                    e += 1
                    if take != ALL_EVENTS:
                        take -= 1
                if j == row.last_mem:
                    while e < end:
                        if ev[e].kind != FETCH:
                            mem = imax(mem, lats[e])
                        e += 1
                # (an instruction takes events of its own kinds only, but the last memory one
                # takes whatever is left)
                if j == row.last_mem:
                    want = F_READS | F_WRITES
                fwd = 0
                if e > first and want & F_READS:
                    fwd = self.forwarded(ev, first, e)
                coherent = False
                while mi < nmarks and marks[mi] < e:
                    if marks[mi] >= first:
                        coherent = self.shared = True
                    mi += 1
                if self.inorder:
                    self.issue_inorder(ins, mem, fwd, coherent)
                else:
                    self.issue_ooo(ins, mem, fwd, coherent)
                if e > first and want & F_WRITES:
                    self.store(ev, first, e, self.written)
            self.cnt[N_INSNS] += n
            self.cnt[N_BLOCKS] += 1
            if n == row.ninsn and n and row.term != T_NONE:
                self.pend_term = row.term
                self.pend_pc = blk[b].addr + blk[b].size - 4
                self.pend_fall = blk[b].addr + blk[b].size
                self.pend_time = self.done
            if after != NULL:
                after[b] = self.end if self.inorder else self.retired

    cdef void begin_block(self, uint64_t addr, int64_t fetch) noexcept nogil:
        cdef int64_t restart
        if self.inorder:
            if self.slot:
                self.cur += 1
                self.slot = self.res = 0
            self.cur = imax(self.cur, self.hold)
            if self.resolve(addr):
                restart = self.done + 1 + self.penalty
                if restart > self.cur:
                    self.cnt[STALL0 + FRONT_MISPREDICT] += restart - self.cur
                    self.cur = restart
            self.cur += fetch
            self.cnt[STALL0 + FRONT_FETCH] += fetch
            self.end = imax(self.end, self.cur)
        else:
            if self.resolve(addr):
                self.front = imax(self.front, self.done + self.penalty * self.width)
                self.front_cause = FRONT_MISPREDICT
            if fetch:
                self.front = imax(self.front, self.dispatched + 1) + fetch * self.width
                self.front_cause = FRONT_FETCH

    cdef int64_t forwarded(self, const Event *ev, Py_ssize_t first, Py_ssize_t end) noexcept nogil:
        """When data forwarded to the read events ev[first:end] arrives (0: none)."""
        cdef uint64_t g, last
        cdef int64_t t = 0
        cdef Py_ssize_t i, k
        for k in range(first, end):
            if ev[k].kind != READ:
                continue
            g = ev[k].addr >> 3
            last = g + (((ev[k].addr & 7) + (ev[k].size if ev[k].size > 1 else 1) - 1) >> 3)
            while g <= last:
                i = <Py_ssize_t> (g & <uint64_t> (STORE_TABLE - 1))
                if self.st_granule[i] == g + 1:
                    t = imax(t, self.st_ready[i] + self.fwd_units)
                g += 1
        return t

    cdef void store(self, const Event *ev, Py_ssize_t first, Py_ssize_t end,
                    int64_t ready) noexcept nogil:
        """Record the write events ev[first:end], their data ready at `ready`."""
        cdef uint64_t g, last
        cdef Py_ssize_t i, k
        for k in range(first, end):
            if ev[k].kind != WRITE:
                continue
            g = ev[k].addr >> 3
            last = g + (((ev[k].addr & 7) + (ev[k].size if ev[k].size > 1 else 1) - 1) >> 3)
            while g <= last:
                i = <Py_ssize_t> (g & <uint64_t> (STORE_TABLE - 1))
                self.st_granule[i] = g + 1
                self.st_ready[i] = ready
                g += 1

    cdef bint resolve(self, uint64_t target) noexcept nogil:
        cdef int term = self.pend_term
        cdef uint64_t pc = self.pend_pc, fall = self.pend_fall
        cdef bint miss = False, taken
        cdef int64_t i
        if term == T_NONE:
            return False
        self.done = self.pend_time
        self.pend_term = T_NONE
        if term == T_COND:
            taken = target != fall
            i = ((pc >> 2) ^ (<uint64_t> self.history if self.gshare else 0)) & self.pht_mask
            miss = (self.pht[i] >= 2) != taken
            if taken:
                if self.pht[i] < 3:
                    self.pht[i] += 1
            elif self.pht[i] > 0:
                self.pht[i] -= 1
            self.history = ((self.history << 1) | taken) & self.hist_mask
            self.cnt[N_COND] += 1
            self.cnt[N_COND_MISS] += miss
        if term == T_CALL or term == T_CALL_INDIRECT:
            self.ras_top = (self.ras_top + 1) % self.ras_n
            self.ras[self.ras_top] = fall
            self.ras_count = self.ras_count + 1 if self.ras_count < self.ras_n else self.ras_n
        if term == T_INDIRECT or term == T_CALL_INDIRECT:
            i = (pc >> 2) & self.ind_mask
            miss = self.targets[i] != target
            self.targets[i] = target
            self.cnt[N_IND] += 1
            self.cnt[N_IND_MISS] += miss
        if term == T_RETURN:
            miss = self.ras_count == 0 or self.ras[self.ras_top] != target
            if self.ras_count:
                self.ras_top = (self.ras_top - 1 + self.ras_n) % self.ras_n
                self.ras_count -= 1
            self.cnt[N_RET] += 1
            self.cnt[N_RET_MISS] += miss
        return miss

    cdef void issue_inorder(self, const Insn *ins, int64_t mem, int64_t fwd,
                            bint coherent) noexcept nogil:
        cdef int cls = ins.cls, k
        cdef int64_t need = self.resource[cls], t, operands, extra = 0, result, drain = 0
        cdef bint alone = cls == SYSTEM
        cdef bint is_load = cls == LOAD or cls == LOAD_PAIR
        if is_load and ins.flags & F_WRITES:
            need |= R_ST
        t = self.cur
        if self.slot >= self.width or self.res & need or (alone and self.slot):
            t += 1
        operands = self.div_free if cls == DIV else self.fdiv_free if cls == FP_DIV else 0
        if cls < BRANCH_COND or cls > RETURN:
            for k in range(ins.nsrc):
                operands = imax(operands, self.ready[ins.src[k]])
        if self.shared and ins.flags & F_DRAIN:
            drain = self.drain
        if t > self.cur or operands > t or drain > t:
            t = imax(t, self.hold)
        if operands > t:
            self.cnt[STALL0 + DEP] += operands - t
            t = operands
        if drain > t:
            self.cnt[STALL0 + MEM] += drain - t
            self.cnt[N_COHERENCE] += drain - t
            t = drain
        if t != self.cur:
            self.cur = t
            self.slot = self.res = 0
        self.slot = self.width if alone else self.slot + 1
        self.res |= need
        if is_load and mem > self.l1d:
            extra = mem - self.l1d
        if coherent:
            if ins.flags & F_UNIQUE and not is_load:
                extra = imax(0, mem - self.lat[cls])
                self.cnt[N_COHERENCE] += extra
            self.drain = imax(self.drain, t + mem)
        result = imax(t + self.lat[cls] + extra, fwd)
        for k in range(ins.ndst):
            self.ready[ins.dst[k]] = result
        self.written = t if cls == STORE or cls == STORE_PAIR else result
        if ins.wb != NOREG:
            self.ready[ins.wb] = t + 1
        if cls == DIV:
            self.div_free = t + self.lat[cls]
        elif cls == FP_DIV:
            self.fdiv_free = t + self.lat[cls]
        self.end = imax(self.end, t + 1)
        self.done = t
        if extra:
            self.cnt[STALL0 + MEM] += extra
            self.hold = t + 1 + extra
            self.end = imax(self.end, self.hold)

    cdef void issue_ooo(self, const Insn *ins, int64_t mem, int64_t fwd,
                        bint coherent) noexcept nogil:
        cdef int cls = ins.cls, k, why, own
        cdef int64_t w = self.width, d, e, done, i, best, retire
        cdef bint is_load = cls == LOAD or cls == LOAD_PAIR
        cdef bint waited = False, unique = False
        cdef int64_t start = 0
        cdef Py_ssize_t slot = self.seq % self.rob_n
        d = imax(imax(self.dispatched + 1, self.front), self.rob_t[slot])
        if ins.flags & F_SERIAL:
            d = imax(d, self.retired)
        self.dispatched = d
        e = d
        why = self.front_cause
        for k in range(ins.nsrc):
            e = imax(e, self.ready[ins.src[k]])
        if self.shared:  # (drain and fence are 0 until then: nothing to wait for)
            if ins.flags & F_DRAIN:
                start = self.drain
            if (is_load or cls == STORE or cls == STORE_PAIR) and self.fence > start:
                start = self.fence
            waited = start > e
            if waited:
                e = start
                why = MEM
            unique = coherent and ins.flags & F_UNIQUE and not is_load
        if is_load and mem > self.l1d:
            best = 0
            for i in range(1, self.mlp):
                if self.mshr[i] < self.mshr[best]:
                    best = i
            if self.mshr[best] > e:
                e = self.mshr[best]
                why = MEM
                waited = False
            done = e + mem * w
            own = MEM
            self.mshr[best] = done
        elif unique:
            done = e + imax(mem, self.lat[cls]) * w
            own = MEM
        else:
            done = e + self.lat[cls] * w
            own = DEP if self.lat[cls] > 1 else BASE
        if self.shared:
            if coherent:
                self.drain = imax(self.drain, e + mem * w)
            if waited and cls == SYSTEM:
                self.fence = imax(self.fence, done)
        if fwd > done:
            done = fwd
            own = DEP
        self.written = e if cls == STORE or cls == STORE_PAIR else done
        if ins.wb != NOREG:
            self.ready[ins.wb] = imax(d, self.ready[ins.wb]) + w
        for k in range(ins.ndst):
            self.ready[ins.dst[k]] = done
        retire = self.retired + 1
        if done > retire:
            if e > retire and why != BASE:
                self.cnt[STALL0 + why] += (e if e < done else done) - retire
                if waited:
                    self.cnt[N_COHERENCE] += (e if e < done else done) - retire
            if own != BASE:
                self.cnt[STALL0 + own] += done - imax(e, retire)
                if unique and own == MEM:
                    self.cnt[N_COHERENCE] += done - imax(e, retire)
            retire = done
        self.retired = retire
        self.rob_t[slot] = retire
        self.seq += 1
        self.done = done
        if ins.flags & F_SERIAL:
            self.front = imax(self.front, done)

cdef void add_raw(void *engine, int64_t n) noexcept:
    """TimingEngine.add_cycles(n) (TimingEngine.raw_entry)."""
    (<TimingEngine>engine)._add(n)


cdef int64_t now_raw(void *engine) noexcept:
    """TimingEngine.now (TimingEngine.raw_entry)."""
    cdef TimingEngine e = <TimingEngine>engine
    return e.end if e.inorder else e.retired


def distinct_blocks(blocks):
    """(first, inverse) for a BLOCK_DTYPE array: the index of the first block with each distinct
    (addr, size), in order of first appearance, and for each block the position of its pair in
    `first`. The same as hmk.cpu.classify._distinct_numpy, in O(n) with a hash table."""
    blocks = np.ascontiguousarray(blocks)
    assert blocks.dtype == BLOCK_DTYPE
    cdef const uint8_t[::1] braw = blocks.view(np.uint8).reshape(-1)
    cdef const Block *blk = <const Block*> &braw[0] if braw.shape[0] else NULL
    cdef Py_ssize_t n = blocks.shape[0], cap = 16, i, j, h, nfirst = 0
    while cap < 2 * n:
        cap *= 2
    table_arr = np.full(cap, -1, np.int64)
    first_arr = np.empty(n, np.int64)
    inverse_arr = np.empty(n, np.uint32)
    cdef int64_t[::1] table = table_arr
    cdef int64_t[::1] first = first_arr
    cdef uint32_t[::1] inverse = inverse_arr
    cdef uint64_t key
    with nogil:
        for i in range(n):
            key = (blk[i].addr * <uint64_t> 0x9E3779B97F4A7C15) ^ blk[i].size
            h = <Py_ssize_t> ((key ^ (key >> 29)) & <uint64_t> (cap - 1))
            while table[h] >= 0:
                j = first[table[h]]
                if blk[j].addr == blk[i].addr and blk[j].size == blk[i].size:
                    break
                h = (h + 1) & (cap - 1)
            if table[h] < 0:
                table[h] = nfirst
                first[nfirst] = i
                nfirst += 1
            inverse[i] = <uint32_t> table[h]
    return first_arr[:nfirst], inverse_arr


ctypedef void (*run_raw_t)(void *engine, const Event *ev, int *out, Py_ssize_t n) noexcept

cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set


@cython.final
cdef class BatchTimer:
    """A batch the CPU recorded, timed in one step when every block in it was read before: its
    events through the memory hierarchy (Engine.raw_entry), then its blocks through the engine,
    with their ids from the block table's map of the blocks read since it last forgot; what
    hmk.system.simulation does with BatchHierarchy.run and TimingModel.account, with no arrays
    made and no checks (the batch is the recorder's own). `time` returns False, having changed
    nothing, when a block is not known: the caller then takes the general path (which reads
    and classifies it). The table (hmk.cpu.classify.BlockTable) is read through its instance
    dict: `_known` (BlockTable.ids's map), `_rows` and `_insns` (its arrays, of which `rows`
    and `insns` are the used part; ids index within it)."""

    cdef TimingEngine engine
    cdef dict table  # the hmk.cpu.classify.BlockTable's instance __dict__
    cdef object hierarchy  # keeps the addresses below valid
    cdef run_raw_t run_raw
    cdef void *hier
    cdef int *lat
    cdef unsigned int *ids
    cdef Py_ssize_t lat_cap, ids_cap
    cdef int64_t **marks  # the hierarchy's coherent writes of its last batch, and their count
    cdef Py_ssize_t *nmarks

    def __init__(self, TimingEngine engine, table, hierarchy):
        fn, hier, _ = hierarchy.raw_entry()
        marks, nmarks = hierarchy.marks_entry()
        self.marks = <int64_t**><size_t>marks
        self.nmarks = <Py_ssize_t*><size_t>nmarks
        self.engine, self.table, self.hierarchy = engine, table.__dict__, hierarchy
        self.run_raw = <run_raw_t><size_t>fn
        self.hier = <void*><size_t>hier
        self.lat = NULL
        self.ids = NULL
        self.lat_cap = self.ids_cap = 0

    def __dealloc__(self):
        free(self.lat)
        free(self.ids)

    def time(self, cnp.ndarray blocks, cnp.ndarray events):
        cdef const Block *blk = <const Block*> cnp.PyArray_DATA(blocks)
        cdef const Event *ev = <const Event*> cnp.PyArray_DATA(events)
        cdef Py_ssize_t b, nblk = blocks.shape[0], nev = events.shape[0]
        cdef object known = _table_item(self.table, "_known")
        cdef cnp.ndarray rows = <cnp.ndarray?>_table_item(self.table, "_rows")
        cdef cnp.ndarray insns = <cnp.ndarray?>_table_item(self.table, "_insns")
        cdef PyObject *found
        if nblk > self.ids_cap:
            self.ids = <unsigned int*> _grown(self.ids, nblk, sizeof(unsigned int))
            self.ids_cap = nblk
        for b in range(nblk):
            found = PyDict_GetItem(known, (blk[b].addr, blk[b].size))
            if found == NULL:
                return False
            self.ids[b] = <unsigned int> <object> found
        if nev > self.lat_cap:
            self.lat = <int*> _grown(self.lat, nev, sizeof(int))
            self.lat_cap = nev
        self.run_raw(self.hier, ev, self.lat, nev)
        if nev < 4096:  # (a short batch is not worth handing the GIL over)
            self.engine._run(blk, nblk, ev, nev, self.lat, self.ids,
                             <const Row*> cnp.PyArray_DATA(rows),
                             <const Insn*> cnp.PyArray_DATA(insns), NULL, self.marks[0],
                             self.nmarks[0])
            return True
        with nogil:
            self.engine._run(blk, nblk, ev, nev, self.lat, self.ids,
                             <const Row*> cnp.PyArray_DATA(rows),
                             <const Insn*> cnp.PyArray_DATA(insns), NULL, self.marks[0],
                             self.nmarks[0])
        return True


cdef inline object _table_item(dict table, str name):
    cdef PyObject *found = PyDict_GetItem(table, name)
    if found == NULL:
        raise AttributeError(f"BatchTimer: the block table has no {name}")
    return <object>found


cdef void *_grown(void *p, Py_ssize_t n, size_t size) except NULL:
    cdef void *q = realloc(p, n * size)
    if q == NULL:
        raise MemoryError()
    return q

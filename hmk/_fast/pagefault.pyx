# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.paging.KernelPaging._fault: the same steps over the same numpy
arrays and RAM, and the same access-log records (so the same cycles). Read it beside the
reference; the hypothesis tests in tests/test_paging.py hold the two together."""

from cpython.ref cimport Py_INCREF
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

cimport numpy as cnp
import numpy as np

from hmk.kernel.errors import EINVAL, ENOMEM, OK

from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport (
    ADDR_MASK, AP_EL0, AP_RO, FETCH, KERNEL_BASE, LEVELS, LINE, NEED_MEMMGR, NEED_PAGER,
    PAGE_BITS, PAGE_SIZE, PXN, R_ANON, R_EXEC, R_WRITE, READ, RESOLVED, SEGV, TABLE_DESC, UXN,
    WRITE, ZERO_MAPPED, ZERO_REPLACED, Event
)

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    # steals a reference to descr (hence the Py_INCREF before each call)
    object PyArray_Empty(int nd, cnp.npy_intp* dims, void* descr, int fortran)



cdef class FaultContext:
    cdef object paging, mem, dtype
    cdef dict mem_d  # mem.__dict__ (event.pxd)
    cdef const uint8_t[::1] vs_used
    cdef uint64_t[::1] words, root, ring_pa
    cdef uint8_t* ram
    cdef uint32_t[::1] pool_head, pool_count
    cdef uint16_t[::1] nregions
    cdef const uint64_t[::1] r_start, r_end
    cdef const uint8_t[::1] r_flags
    cdef uint64_t kb
    cdef uint64_t vs_base, vs_rec, o_root, o_head, o_count, o_nreg
    cdef uint64_t rg_base, rg_rec, o_start, o_end, o_flags, ring_base, ring_rec
    cdef long long depth, max_regions, zero_page
    cdef long long zeroed, page  # of the fault being handled: frames cleared, the new page's
    cdef long long ram_top, heap_lo, heap_hi  # a data frame: at most ram_top, not in the heap

    def __init__(self, paging):
        V = paging.vs
        vs, rg, ring = V.vspace, V.region, V.ring
        from hmk.hw.events import EVENT_DTYPE
        self.paging, self.mem, self.dtype = paging, paging.mem, EVENT_DTYPE
        self.mem_d = mem_dict(self.mem)
        self.vs_used = vs.used.view("u1")
        self.words = V.words
        self.ram = <uint8_t*>cnp.PyArray_DATA(V.ram)
        self.root, self.pool_head, self.pool_count = vs["root"], vs["pool_head"], vs["pool_count"]
        self.nregions = vs["nregions"]
        self.r_start, self.r_end, self.r_flags = rg["start"], rg["end"], rg["flags"]
        self.ring_pa = ring["pa"]
        self.kb = KERNEL_BASE
        self.vs_base, self.vs_rec = KERNEL_BASE + vs.base, vs.record
        self.o_root, self.o_head = vs.offset["root"], vs.offset["pool_head"]
        self.o_count, self.o_nreg = vs.offset["pool_count"], vs.offset["nregions"]
        self.rg_base, self.rg_rec = KERNEL_BASE + rg.base, rg.record
        self.o_start, self.o_end, self.o_flags = rg.offset["start"], rg.offset["end"], rg.offset["flags"]
        self.ring_base, self.ring_rec = KERNEL_BASE + ring.base, ring.record
        self.depth, self.max_regions = V.depth, V.max_regions
        self.zero_page = paging.zero_page
        self.ram_top = len(V.ram) - PAGE_SIZE
        self.heap_lo, self.heap_hi = self.mem.base_pa - PAGE_SIZE, self.mem.base_pa + self.mem.size

    cdef long long index(self, i_obj) except -1:
        cdef long long i = -1
        try:
            i = i_obj
        except (TypeError, OverflowError):
            pass
        if i < 0 or i >= self.vs_used.shape[0] or not self.vs_used[i]:
            raise ValueError(f"fault in a VSpace that does not exist: {i_obj}")
        return i

    def resolve(self, i_obj, va_obj, int kind):
        """(outcome, frames cleared, the new anonymous page's frame or None), as
        KernelPaging.resolve: the fault handled, its accesses left in the log."""
        cdef long long i = self.index(i_obj)
        self.zeroed, self.page = 0, -1
        outcome = self.fault(i, va_obj, kind)
        new = outcome == ZERO_REPLACED or (outcome == RESOLVED and self.zeroed > 0)
        return outcome, self.zeroed, self.page if new else None

    def refill(self, i_obj, pas):
        """KernelPaging.refill(i, pas): the frames pushed onto VSpace i's pool, all or none (OK,
        EINVAL, ENOMEM), logged as the reference logs them."""
        cdef long long i = -1, head, count, k, n, slot
        cdef uint64_t vsa
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        if isinstance(i_obj, (int, np.integer)):
            i = i_obj
        if i < 0 or i >= self.vs_used.shape[0] or not self.vs_used[i]:
            return EINVAL
        frames = list(pas)
        for pa in frames:
            if not (isinstance(pa, (int, np.integer)) and 0 <= pa <= self.ram_top
                    and pa % PAGE_SIZE == 0 and not self.heap_lo < pa < self.heap_hi):
                return EINVAL
        n = len(frames)
        vsa = self.vs_base + i * self.vs_rec
        log = log_reserve(self.mem, self.mem_d, n + 3, &ln, &core)
        put_event(log, ln, vsa + self.o_head, READ, 4, core); ln += 1
        head = self.pool_head[i]
        put_event(log, ln, vsa + self.o_count, READ, 4, core); ln += 1
        count = self.pool_count[i]
        if count + n > self.depth:
            log_commit(self.mem_d, ln)
            return ENOMEM
        for k in range(n):
            slot = i * self.depth + (head + count + k) % self.depth
            put_event(log, ln, self.ring_base + slot * self.ring_rec, WRITE, 8, core); ln += 1
            self.ring_pa[slot] = frames[k]
        put_event(log, ln, vsa + self.o_count, WRITE, 4, core); ln += 1
        self.pool_count[i] = count + n
        log_commit(self.mem_d, ln)
        return OK

    def handle_fault(self, i_obj, va_obj, int kind):
        """(outcome, a copy of the accesses logged), as KernelPaging.handle_fault."""
        cdef long long i = self.index(i_obj)
        cdef Py_ssize_t start
        cdef cnp.npy_intp n
        start = _mem_n_log(self.mem_d)
        outcome = self.fault(i, va_obj, kind)
        n = _mem_n_log(self.mem_d) - start
        # the copy as a fresh array made through the C API (numpy.empty costs more than the
        # whole fault path)
        Py_INCREF(self.dtype)
        out = PyArray_Empty(1, &n, <void*>self.dtype, 0)
        if n:
            memcpy(cnp.PyArray_DATA(out), <Event*>cnp.PyArray_DATA(self.mem.log) + start,
                   n * sizeof(Event))
        return outcome, out

    cdef int fault(self, long long i, va_obj, int kind) except -1:
        cdef uint64_t va, table, desc, pa, vsa
        cdef long long r, first, n, k, frames, count, head, level, need, flags
        cdef int outcome
        cdef bint zero
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        if self.paging.user_level_paging:
            return NEED_PAGER
        if type(va_obj) is int:  # the common case, compared in C
            try:
                va = va_obj
            except OverflowError:  # negative or >= 2**64
                return SEGV
            if va >= self.kb:
                return SEGV
        else:
            try:
                if va_obj < 0 or va_obj >= self.kb:
                    return SEGV
                va = va_obj
            except TypeError:
                return SEGV
        log = log_reserve(self.mem, self.mem_d, 2 * self.max_regions + 16 + LEVELS * (LINE + 2),
                          &ln, &core)
        vsa = self.vs_base + i * self.vs_rec
        # 1. region check
        n = self.nregions[i]
        put_event(log, ln, vsa + self.o_nreg, READ, 2, core); ln += 1
        flags = -1
        first = i * self.max_regions
        for r in range(first, first + n):
            put_event(log, ln, self.rg_base + r * self.rg_rec + self.o_start, READ, 8, core); ln += 1
            if va < self.r_start[r]:
                continue
            put_event(log, ln, self.rg_base + r * self.rg_rec + self.o_end, READ, 8, core); ln += 1
            if va < self.r_end[r]:
                put_event(log, ln, self.rg_base + r * self.rg_rec + self.o_flags, READ, 1, core); ln += 1
                flags = self.r_flags[r]
                break
        if flags < 0:
            log_commit(self.mem_d, ln)
            return SEGV
        need = R_WRITE if kind == WRITE else (R_EXEC if kind == FETCH else 0)
        if flags & need != need:
            log_commit(self.mem_d, ln)
            return SEGV
        # 2. file-backed
        if not flags & R_ANON:
            log_commit(self.mem_d, ln)
            return NEED_MEMMGR
        # 3. the walk
        table = self.root[i]
        put_event(log, ln, vsa + self.o_root, READ, 8, core); ln += 1
        level = 0
        while level < LEVELS - 1:
            put_event(log, ln, self.kb + table + 8 * idx(va, level), READ, 8, core); ln += 1
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC != TABLE_DESC:
                break
            table = desc & ADDR_MASK
            level += 1
        if level == LEVELS - 1:
            put_event(log, ln, self.kb + table + 8 * idx(va, level), READ, 8, core); ln += 1
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC == TABLE_DESC:
                if allows(desc, kind):
                    outcome = RESOLVED
                elif (kind == WRITE and self.zero_page >= 0 and desc & AP_EL0
                      and desc & ADDR_MASK == <uint64_t>self.zero_page):
                    outcome = self.replace_zero(i, va, table, flags, log, &ln, core)
                else:
                    outcome = NEED_MEMMGR
                log_commit(self.mem_d, ln)
                return outcome
        # 4. frames from the pool (the zero page instead of a frame for a read)
        zero = kind == READ and self.zero_page >= 0
        frames = LEVELS - level - zero
        count = self.pool_count[i]
        put_event(log, ln, vsa + self.o_count, READ, 4, core); ln += 1
        if count < frames:
            log_commit(self.mem_d, ln)
            return NEED_MEMMGR
        head = self.pool_head[i]
        put_event(log, ln, vsa + self.o_head, READ, 4, core); ln += 1
        for k in range(frames):
            r = i * self.depth + (head + k) % self.depth
            pa = self.ring_pa[r]
            put_event(log, ln, self.ring_base + r * self.ring_rec, READ, 8, core); ln += 1
            self.zero(pa, log, &ln, core)
            if level < LEVELS - 1:
                desc = (pa & ADDR_MASK) | TABLE_DESC
            else:
                desc = leaf(pa, flags & R_WRITE, flags & R_EXEC)
                self.page = pa
            put_event(log, ln, self.kb + table + 8 * idx(va, level), WRITE, 8, core); ln += 1
            self.words[(table >> 3) + idx(va, level)] = desc
            table = pa
            level += 1
        self.pool_head[i] = (head + frames) % self.depth
        put_event(log, ln, vsa + self.o_head, WRITE, 4, core); ln += 1
        self.pool_count[i] = count - frames
        put_event(log, ln, vsa + self.o_count, WRITE, 4, core); ln += 1
        if zero:
            put_event(log, ln, self.kb + table + 8 * idx(va, level), WRITE, 8, core); ln += 1
            self.words[(table >> 3) + idx(va, level)] = leaf(self.zero_page, 0, flags & R_EXEC)
            log_commit(self.mem_d, ln)
            return ZERO_MAPPED
        log_commit(self.mem_d, ln)
        return RESOLVED

    cdef int replace_zero(self, long long i, uint64_t va, uint64_t table, long long flags,
                          Event* log, Py_ssize_t* ln, uint8_t core) except -1:
        """A write to the zero page: a fresh zeroed frame from the pool in its place."""
        cdef uint64_t vsa = self.vs_base + i * self.vs_rec, pa
        cdef long long count = self.pool_count[i], head, r
        put_event(log, ln[0], vsa + self.o_count, READ, 4, core); ln[0] += 1
        if count < 1:
            return NEED_MEMMGR
        head = self.pool_head[i]
        put_event(log, ln[0], vsa + self.o_head, READ, 4, core); ln[0] += 1
        r = i * self.depth + head
        pa = self.ring_pa[r]
        put_event(log, ln[0], self.ring_base + r * self.ring_rec, READ, 8, core); ln[0] += 1
        self.zero(pa, log, ln, core)
        put_event(log, ln[0], self.kb + table + 8 * idx(va, LEVELS - 1), WRITE, 8, core)
        ln[0] += 1
        self.words[(table >> 3) + idx(va, LEVELS - 1)] = leaf(pa, 1, flags & R_EXEC)
        self.page = pa
        self.pool_head[i] = (head + 1) % self.depth
        put_event(log, ln[0], vsa + self.o_head, WRITE, 4, core); ln[0] += 1
        self.pool_count[i] = count - 1
        put_event(log, ln[0], vsa + self.o_count, WRITE, 4, core); ln[0] += 1
        return ZERO_REPLACED

    cdef void zero(self, uint64_t pa, Event* log, Py_ssize_t* ln, uint8_t core) noexcept:
        """Zero the frame at `pa`: 64 timed line writes (DC ZVA)."""
        cdef long long off
        self.zeroed += 1
        memset(self.ram + pa, 0, PAGE_SIZE)
        for off in range(0, PAGE_SIZE, LINE):
            put_event(log, ln[0], self.kb + pa + off, WRITE, LINE, core); ln[0] += 1


cdef inline Py_ssize_t _mem_n_log(dict d) except -1:
    return d["n_log"]


cdef inline uint64_t idx(uint64_t va, long long level) noexcept:
    return (va >> (12 + 9 * (LEVELS - 1 - level))) & 511


cdef inline uint64_t leaf(uint64_t pa, bint writable, bint executable) noexcept:
    """A user page descriptor (hmk.hw.pagetable.page_descriptor)."""
    cdef uint64_t desc = (pa & ADDR_MASK) | PAGE_BITS | AP_EL0
    if not writable:
        desc |= AP_RO
    if not executable:
        desc |= UXN | PXN
    return desc


cdef inline bint allows(uint64_t desc, int kind) noexcept:
    if not desc & AP_EL0:
        return False
    if kind == WRITE:
        return not desc & AP_RO
    if kind == FETCH:
        return not desc & UXN
    return True


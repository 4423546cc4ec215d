# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.monolithic.pages.PageBook: Linux's per-page bookkeeping on an
anonymous fault (a new page: allocated, charged, reverse-mapped, on the LRU; a new page table:
allocated, charged, constructed), on every page the linux compositions give a process. The same
field values and access-log records, in the same order, as the reference, whose pools it
shares; tests/test_pagebook_twin.py holds the two together."""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport KERNEL_BASE, PAGE_SIZE, READ, WRITE, Event

from hmk.monolithic import pages as P

cdef uint64_t STRUCT_PAGE = P.STRUCT_PAGE
cdef uint64_t FLAGS = P.FLAGS, LRU_NEXT = P.LRU_NEXT, LRU_PREV = P.LRU_PREV
cdef uint64_t MAPPING = P.MAPPING, INDEX = P.INDEX, PRIVATE = P.PRIVATE
cdef uint64_t MAPCOUNT = P.MAPCOUNT, REFCOUNT = P.REFCOUNT, MEMCG = P.MEMCG
cdef int32_t CHARGE_BATCH = P.MEMCG_CHARGE_BATCH, PAGEVEC = P.PAGEVEC_SIZE
cdef Py_ssize_t MOST = 256  # records a step can log: a new page with a pagevec drain, ~160


cdef class FastPageBook:
    cdef object book, mem
    cdef dict mem_d
    cdef bint memcg
    cdef uint64_t mem_map
    # the per-cpu and node records (index 0 of each pool) and their addresses as logged
    cdef int32_t[::1] pcp_count, stock_pages, pvec_nr
    cdef uint64_t[::1] pcp_head, stock_memcg
    cdef uint64_t[:, ::1] pvec_pages
    cdef int64_t[::1] vmstat_anon, vmstat_pagetable, memcg_anon
    cdef uint32_t[::1] lru_lock
    cdef uint64_t[::1] lru_head_next
    cdef int64_t[::1] lru_size, memcg_usage, memcg_max, memcg_parent_usage
    cdef uint64_t a_pcp_count, a_pcp_head, a_stock_memcg, a_stock_pages, a_pvec_nr, a_pvec_pages
    cdef uint64_t a_vmstat_anon, a_vmstat_pagetable, a_memcg_anon, a_lru_lock, a_lru_head_next
    cdef uint64_t a_lru_size, a_memcg_usage, a_memcg_max, a_memcg_parent_usage
    # the step being logged
    cdef Event* log
    cdef Py_ssize_t n
    cdef uint8_t core

    def __init__(self, book):
        cpu, node = book.percpu, book.node
        self.book, self.mem, self.memcg = book, book.mem, book.memcg
        self.mem_d = mem_dict(self.mem)
        self.mem_map = book.mem_map
        self.pcp_count, self.stock_pages = cpu["pcp_count"], cpu["stock_pages"]
        self.pvec_nr, self.pcp_head = cpu["pvec_nr"], cpu["pcp_head"]
        self.stock_memcg, self.pvec_pages = cpu["stock_memcg"], cpu["pvec_pages"]
        self.vmstat_anon, self.memcg_anon = cpu["vmstat_anon"], cpu["memcg_anon"]
        self.vmstat_pagetable = cpu["vmstat_pagetable"]
        self.lru_lock, self.lru_head_next = node["lru_lock"], node["lru_head_next"]
        self.lru_size, self.memcg_usage = node["lru_size"], node["memcg_usage"]
        self.memcg_max, self.memcg_parent_usage = node["memcg_max"], node["memcg_parent_usage"]
        self.a_pcp_count = KERNEL_BASE + cpu.addr(0, "pcp_count")
        self.a_pcp_head = KERNEL_BASE + cpu.addr(0, "pcp_head")
        self.a_stock_memcg = KERNEL_BASE + cpu.addr(0, "stock_memcg")
        self.a_stock_pages = KERNEL_BASE + cpu.addr(0, "stock_pages")
        self.a_pvec_nr = KERNEL_BASE + cpu.addr(0, "pvec_nr")
        self.a_pvec_pages = KERNEL_BASE + cpu.addr(0, "pvec_pages")
        self.a_vmstat_anon = KERNEL_BASE + cpu.addr(0, "vmstat_anon")
        self.a_vmstat_pagetable = KERNEL_BASE + cpu.addr(0, "vmstat_pagetable")
        self.a_memcg_anon = KERNEL_BASE + cpu.addr(0, "memcg_anon")
        self.a_lru_lock = KERNEL_BASE + node.addr(0, "lru_lock")
        self.a_lru_head_next = KERNEL_BASE + node.addr(0, "lru_head_next")
        self.a_lru_size = KERNEL_BASE + node.addr(0, "lru_size")
        self.a_memcg_usage = KERNEL_BASE + node.addr(0, "memcg_usage")
        self.a_memcg_max = KERNEL_BASE + node.addr(0, "memcg_max")
        self.a_memcg_parent_usage = KERNEL_BASE + node.addr(0, "memcg_parent_usage")

    # ---- the steps (each PageBook method of the same name) --------------------------------
    def new_anon_page(self, uint64_t pa, uint64_t va):
        self._begin()
        self._allocate(pa)
        self._charge(pa)
        self._add_rmap(pa)
        self._lru_add(pa)
        log_commit(self.mem_d, self.n)

    def table(self, uint64_t pa):
        self._begin()
        self._allocate(pa)
        if self.memcg:
            self._charge(pa)
        self._page(pa, PRIVATE, WRITE, 8)
        self._at(self.a_vmstat_pagetable, READ, 8)
        self._at(self.a_vmstat_pagetable, WRITE, 8)
        self.vmstat_pagetable[0] += 1
        log_commit(self.mem_d, self.n)

    # ---- their parts ----------------------------------------------------------------------
    cdef int _begin(self) except -1:
        self.log = log_reserve(self.mem, self.mem_d, MOST, &self.n, &self.core)
        return 0

    cdef inline void _at(self, uint64_t addr, uint8_t kind, uint8_t size) noexcept:
        put_event(self.log, self.n, addr, kind, size, self.core)
        self.n += 1

    cdef inline uint64_t _struct(self, uint64_t pa) noexcept:
        return self.mem_map + (pa // PAGE_SIZE) * STRUCT_PAGE

    cdef inline void _page(self, uint64_t pa, uint64_t offset, uint8_t kind,
                           uint8_t size) noexcept:
        self._at(KERNEL_BASE + self._struct(pa) + offset, kind, size)

    cdef void _allocate(self, uint64_t pa) noexcept:
        cdef int32_t count = self.pcp_count[0]
        self._at(self.a_pcp_count, READ, 4)
        self._at(self.a_pcp_head, READ, 8)
        self._page(pa, LRU_NEXT, READ, 8)
        self._at(self.a_pcp_head, WRITE, 8)
        self.pcp_head[0] = self._struct(pa)
        self._at(self.a_pcp_count, WRITE, 4)
        self.pcp_count[0] = count - 1 if count > 1 else 63
        self._page(pa, FLAGS, READ, 8)
        self._page(pa, FLAGS, WRITE, 8)
        self._page(pa, REFCOUNT, WRITE, 4)
        self._page(pa, PRIVATE, WRITE, 8)

    cdef void _charge(self, uint64_t pa) noexcept:
        cdef int32_t left
        self._at(self.a_stock_memcg, READ, 8)
        self._at(self.a_stock_pages, READ, 4)
        left = self.stock_pages[0]
        if left <= 0:  # try_charge: the page counter, up the hierarchy
            self._at(self.a_memcg_usage, READ, 8)
            self._at(self.a_memcg_usage, WRITE, 8)
            self.memcg_usage[0] += CHARGE_BATCH
            self._at(self.a_memcg_parent_usage, READ, 8)
            self._at(self.a_memcg_parent_usage, WRITE, 8)
            self.memcg_parent_usage[0] += CHARGE_BATCH
            self._at(self.a_memcg_max, READ, 8)
            left = CHARGE_BATCH
        self._at(self.a_stock_pages, WRITE, 4)
        self.stock_pages[0] = left - 1
        self._page(pa, MEMCG, WRITE, 8)

    cdef void _add_rmap(self, uint64_t pa) noexcept:
        self._page(pa, MAPCOUNT, WRITE, 4)
        self._page(pa, MAPPING, WRITE, 8)
        self._page(pa, INDEX, WRITE, 8)
        self._at(self.a_vmstat_anon, READ, 8)
        self._at(self.a_vmstat_anon, WRITE, 8)
        self.vmstat_anon[0] += 1
        if self.memcg:
            self._at(self.a_memcg_anon, READ, 8)
            self._at(self.a_memcg_anon, WRITE, 8)
            self.memcg_anon[0] += 1

    cdef int _lru_add(self, uint64_t pa) except -1:
        cdef int32_t nr
        self._page(pa, REFCOUNT, READ, 4)  # get_page
        self._page(pa, REFCOUNT, WRITE, 4)
        self._at(self.a_pvec_nr, READ, 4)
        nr = self.pvec_nr[0]
        if not 0 <= nr < PAGEVEC:
            raise IndexError(f"linux_percpu[0].pvec_pages[{nr}] is out of range (a kernel bug)")
        self._at(self.a_pvec_pages + 8 * nr, WRITE, 8)
        self.pvec_pages[0, nr] = pa
        nr += 1
        if nr == PAGEVEC:
            self._drain()
            nr = 0
        self._at(self.a_pvec_nr, WRITE, 4)
        self.pvec_nr[0] = nr
        return 0

    cdef void _drain(self) noexcept:
        cdef int k
        cdef uint64_t pa, first
        self._at(self.a_lru_lock, READ, 4)
        self._at(self.a_lru_lock, WRITE, 4)
        self.lru_lock[0] = 1
        for k in range(PAGEVEC):
            self._at(self.a_pvec_pages + 8 * k, READ, 8)
            pa = self.pvec_pages[0, k]
            self._page(pa, FLAGS, READ, 8)
            self._page(pa, FLAGS, WRITE, 8)  # PG_lru
            self._at(self.a_lru_head_next, READ, 8)
            first = self.lru_head_next[0]
            self._page(pa, LRU_NEXT, WRITE, 8)
            self._page(pa, LRU_PREV, WRITE, 8)
            if first:
                self._at(KERNEL_BASE + first + LRU_PREV, WRITE, 8)
            self._at(self.a_lru_head_next, WRITE, 8)
            self.lru_head_next[0] = self._struct(pa)
            self._page(pa, REFCOUNT, WRITE, 4)  # the pagevec's reference dropped
        self._at(self.a_lru_size, READ, 8)
        self._at(self.a_lru_size, WRITE, 8)
        self.lru_size[0] += PAGEVEC
        self._at(self.a_lru_lock, WRITE, 4)
        self.lru_lock[0] = 0

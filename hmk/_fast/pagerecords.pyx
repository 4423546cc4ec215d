# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.pagerecords.PageRecords.record: a new anonymous page's record
written and appended to the memory manager's LRU, on every fault that gives a process a page.
The same record blocks, list state and access-log records as the reference (whose blocks dict
it shares); tests/test_page_records.py holds the two together."""

from libc.stdint cimport int64_t, uint8_t, uint64_t

from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport KERNEL_BASE, PAGE_SIZE, READ, WRITE, Event

from hmk.kernel import pagerecords

cdef uint64_t PER_FRAME = pagerecords.PER_FRAME, RECORD = pagerecords.RECORD
cdef uint64_t OWNER = pagerecords.OWNER, NEXT = pagerecords.NEXT


cdef class FastRecords:
    cdef object records, mem
    cdef dict mem_d, blocks
    cdef int64_t[::1] tail, count
    cdef uint64_t a_tail, a_count

    def __init__(self, records):
        lists = records.lists
        self.records, self.mem, self.blocks = records, records.mem, records.blocks
        self.mem_d = mem_dict(self.mem)
        self.tail, self.count = lists["tail"], lists["n"]
        self.a_tail = KERNEL_BASE + lists.addr(0, "tail")
        self.a_count = KERNEL_BASE + lists.addr(0, "n")

    cdef uint64_t at(self, uint64_t pa) except? 0:
        """PageRecords.at: the physical address of frame `pa`'s record."""
        cdef uint64_t n = pa // PAGE_SIZE
        block = self.blocks.get(n // PER_FRAME)
        if block is None:  # its block is taken on first use: the reference does it
            return self.records.at(pa)
        return <uint64_t>block + (n % PER_FRAME) * RECORD

    def record(self, uint64_t pa):
        """PageRecords.record(pa)."""
        cdef uint64_t here = self.at(pa), before = 0
        cdef int64_t tail = self.tail[0]
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        if tail >= 0:
            before = self.at(<uint64_t>tail)
        log = log_reserve(self.mem, self.mem_d, 7, &ln, &core)
        put_event(log, ln, KERNEL_BASE + here + OWNER, WRITE, 16, core); ln += 1  # owner, address
        put_event(log, ln, self.a_tail, READ, 8, core); ln += 1
        if tail >= 0:
            put_event(log, ln, KERNEL_BASE + before + NEXT, WRITE, 8, core); ln += 1
        put_event(log, ln, KERNEL_BASE + here + NEXT, WRITE, 16, core); ln += 1  # next, prev
        put_event(log, ln, self.a_tail, WRITE, 8, core); ln += 1
        self.tail[0] = pa
        put_event(log, ln, self.a_count, READ, 8, core); ln += 1
        put_event(log, ln, self.a_count, WRITE, 8, core); ln += 1
        self.count[0] += 1
        log_commit(self.mem_d, ln)

from libc.stdint cimport uint8_t, uint16_t, uint64_t

from hmk._fast.shared cimport Event


cdef class FastVSpaces:
    cdef readonly object vspaces
    cdef object mem, asids, frames, alloc_frame
    cdef dict mem_d
    cdef uint64_t[::1] words
    cdef uint8_t* ram
    cdef long long ram_bytes, heap_lo, heap_hi
    cdef const uint8_t[::1] vs_used
    cdef const uint64_t[::1] vs_root, vs_gen
    cdef const uint16_t[::1] vs_asid
    cdef uint64_t vs_base, vs_rec, o_root, o_gen, o_asid
    # the pages the last walk found (c_mapped): their addresses and frames
    cdef uint64_t[::1] found_va, found_pa

    cdef Py_ssize_t c_mapped(self, long long i, uint64_t start, uint64_t end) except -1
    cdef int c_map(self, long long i, uint64_t va, uint64_t pa, bint writable,
                   bint executable) except? -1000
    cdef int c_protect(self, long long i, uint64_t va, bint writable, bint executable,
                       bint user, long long* asid) except? -1000
    cdef int c_unmap(self, long long i, uint64_t va, long long* asid) except? -1000

    cdef bint plain(self, i, va) noexcept
    cdef bint valid(self, long long i) noexcept
    cdef bint data_frame(self, uint64_t pa) noexcept
    cdef Py_ssize_t _under(self, uint64_t table, int level, uint64_t base, uint64_t start,
                           uint64_t end, Py_ssize_t n) except -1
    cdef uint64_t leaf(self, long long i, uint64_t va, Event* log, Py_ssize_t* ln,
                       uint8_t core) noexcept
    cdef Py_ssize_t tlbi(self, long long i, Event* log, Py_ssize_t ln, uint8_t core,
                         long long* asid) except -1
    cdef Py_ssize_t zero(self, uint64_t pa, Event* log, Py_ssize_t ln, uint8_t core) noexcept

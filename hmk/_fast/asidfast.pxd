from libc.stdint cimport uint8_t, uint16_t, uint64_t

from hmk._fast.shared cimport Event


cdef class FastActivate:
    cdef readonly object vspaces
    cdef object asids, mem, Context
    cdef dict mem_d, asids_d
    cdef const uint8_t[::1] vs_used
    cdef const uint64_t[::1] vs_gen
    cdef const uint16_t[::1] vs_asid
    cdef uint64_t vs_base, vs_rec, o_gen, o_asid
    cdef long long n_vs
    # per VSpace: the Context last made for it, and the (generation, asid) it holds
    cdef list ctx
    cdef uint64_t[::1] ctx_gen
    cdef uint16_t[::1] ctx_asid
    cdef readonly long long fast, fallback

    cdef object _fallback(self, i, core)
    cdef int c_activate(self, long long i, long long core_index, Event* log, Py_ssize_t n,
                        uint8_t core, long long* asid) except -1

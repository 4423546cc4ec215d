from libc.stdint cimport int32_t, uint8_t, uint64_t

from hmk._fast.shared cimport Event


cdef class LookupContext:
    cdef object mem
    cdef dict mem_d  # mem.__dict__ (event.pxd)
    cdef const uint8_t[::1] cs_used
    cdef const int32_t[::1] cs_first, cs_size, slot_object
    cdef const uint8_t[::1] slot_type, slot_rights
    cdef uint64_t cs_base, cs_record, off_first, off_size
    cdef uint64_t slot_base, slot_record, off_type, off_rights, off_object
    cdef long long n_cs

    cdef long long c_lookup(self, long long cs, long long index, int obj_type, int rights,
                            Event* log, Py_ssize_t n, uint8_t core,
                            Py_ssize_t* written) noexcept

from libc.stdint cimport int64_t

from hmk._fast.shared cimport Event


cdef int64_t _cycles(int64_t budget, const int* lat, const Event* ev, Py_ssize_t lo,
                     Py_ssize_t hi, int64_t l1_hit, int64_t mlp, double drain) noexcept nogil

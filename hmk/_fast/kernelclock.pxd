cimport cython
from libc.stdint cimport int64_t

from hmk._fast.shared cimport Event

ctypedef void (*run_raw_t)(void *engine, const Event *ev, int *out, Py_ssize_t n) noexcept
ctypedef void (*add_raw_t)(void *engine, int64_t n) noexcept
ctypedef int64_t (*now_raw_t)(void *engine) noexcept


@cython.final
cdef class KernelClock:  # hmk/_fast/kernelclock.pyx
    cdef object kernel
    cdef dict kd  # the kernel's instance __dict__ (cycles, _on_core)
    cdef dict md  # its KernelMemory's (log, n_log)
    cdef object engine  # the hierarchy engine, kept alive for the addresses below
    cdef run_raw_t run_raw
    cdef void *engine_p
    cdef int64_t *dram
    cdef object totals  # the kernel's cycles by path (a Counter)
    cdef add_raw_t add  # the timing engine's add_cycles and now
    cdef now_raw_t timing_now
    cdef void *add_engine
    cdef object timing_engine
    cdef int64_t unit  # the timing model's time units per cycle
    cdef object charged  # the port's charged(kernel, what, cycles), or None: nobody listens
    cdef int64_t l1_hit, mlp, ipc_milli
    cdef double line_cycles
    cdef int *lat
    cdef Py_ssize_t lat_cap
    cdef object timebase  # how the core's cycles count on the run's (hmk.kernel.timebase)
    cdef bint same  # they are the time base's: nothing to convert

    cpdef object work_cycles(self, instructions)
    cpdef object path(self, budget)
    cpdef charge(self, str what, cycles)
    cpdef object now(self)
    cpdef object cycles_until(self, time)

# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.costs.path_cycles: a kernel path's cycles from its budget and
the latencies of the accesses it logged, for one path or for consecutive paths whose logs were
timed in one pass (CoreKernel.time_paths). The same integers as the reference;
tests/test_path_costs.py holds them together. The kernel calls these for every path it times, often for a few accesses, so arrays
are reached through numpy's C API (a typed memoryview costs more than such a path)."""

from libc.math cimport ceil
from libc.stdint cimport int64_t

cimport numpy as cnp

from hmk._fast.shared cimport LINE, READ, WRITE, Event

cnp.import_array()


cdef char _empty = 0


cdef void* _data(a, int typenum, Py_ssize_t size, Py_ssize_t* n) except NULL:
    """The items of the 1-D C-contiguous array `a` (numpy type `typenum`, or items of `size`
    bytes when typenum < 0), and their count; a 1-byte dummy for an empty one."""
    cdef cnp.ndarray arr = <cnp.ndarray?>a
    if (cnp.PyArray_NDIM(arr) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(arr)
            or (cnp.PyArray_TYPE(arr) != typenum if typenum >= 0
                else cnp.PyArray_ITEMSIZE(arr) != size)):
        raise ValueError("pathcost: expected a 1-D C-contiguous array of the right type")
    n[0] = cnp.PyArray_DIM(arr, 0)
    return cnp.PyArray_DATA(arr) if n[0] else <void*>&_empty


cdef int64_t _cycles(int64_t budget, const int* lat, const Event* ev, Py_ssize_t lo,
                     Py_ssize_t hi, int64_t l1_hit, int64_t mlp, double drain) noexcept nogil:
    """costs.path_cycles of events [lo, hi)."""
    cdef int64_t waits = 0, streams = 0, extra, cycles
    cdef Py_ssize_t i
    cdef bint line
    for i in range(lo, hi):
        extra = lat[i] - l1_hit
        if extra <= 0:
            continue
        line = ev[i].size >= LINE
        if ev[i].kind == READ and not line:
            waits += extra  # a dependent load waits for its data
        elif (ev[i].kind == READ and line) or (ev[i].kind == WRITE and not line):
            streams += extra  # a miss buffer each: `mlp` of them overlap
    if mlp < 1:
        mlp = 1
    cycles = budget + waits + (streams + mlp - 1) // mlp
    if ceil(drain) > <double>cycles:
        return <int64_t>ceil(drain)
    return cycles


def path_cycles(int64_t budget, latencies, log, int64_t l1_hit, int64_t mlp=1, double drain=0):
    """costs.path_cycles, for latencies as BatchHierarchy.run returns them (int32)."""
    cdef Py_ssize_t n, nlat
    cdef const Event* ev = <const Event*>_data(log, -1, sizeof(Event), &n)
    cdef const int* lat = <const int*>_data(latencies, cnp.NPY_INT32, 4, &nlat)
    if nlat != n:
        raise ValueError("path_cycles: one latency per logged access")
    return _cycles(budget, lat, ev, 0, n, l1_hit, mlp, drain)


def paths_cycles(budgets, latencies, log, ends, writes, int64_t l1_hit, int64_t mlp,
                 double line_cycles):
    """The sum over consecutive paths of costs.path_cycles: path k's budget (cycles) is
    budgets[k], its accesses log[ends[k-1]:ends[k]] (latencies alike), and it wrote writes[k]
    lines back to DRAM (its drain: writes[k] x line_cycles). int64 arrays but the latencies
    (int32)."""
    cdef Py_ssize_t n, nlat, nb, ne, nw, k, lo = 0
    cdef const Event* ev = <const Event*>_data(log, -1, sizeof(Event), &n)
    cdef const int* lat = <const int*>_data(latencies, cnp.NPY_INT32, 4, &nlat)
    cdef const int64_t* b = <const int64_t*>_data(budgets, cnp.NPY_INT64, 8, &nb)
    cdef const int64_t* e = <const int64_t*>_data(ends, cnp.NPY_INT64, 8, &ne)
    cdef const int64_t* w = <const int64_t*>_data(writes, cnp.NPY_INT64, 8, &nw)
    cdef int64_t total = 0
    if not nb == ne == nw or nlat < n:
        raise ValueError("paths_cycles: one budget, end and write count per path")
    for k in range(ne):
        if not lo <= e[k] <= n:
            raise ValueError("paths_cycles: the ends must ascend within the log")
        total += _cycles(b[k], lat, ev, lo, e[k], l1_hit, mlp, w[k] * line_cycles)
        lo = e[k]
    return total


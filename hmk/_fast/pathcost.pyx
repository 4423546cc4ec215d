# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.costs.path_cycles: a kernel path's cycles from its budget and
the latencies of the accesses it logged, for one path or for consecutive paths whose logs were
timed in one pass (CoreKernel.time_paths); and of hmk.kernel.paging's count of the frames a
fault path zeroed. The same integers as the references; tests/test_path_costs.py holds them
together."""

from libc.math cimport ceil
from libc.stdint cimport int64_t, uint8_t

from hmk._fast.shared cimport LINE, READ, WRITE, Event


cdef const Event* _events(log, Py_ssize_t* n) except? NULL:
    """The records of an EVENT_DTYPE array (C-contiguous), and their count."""
    cdef const uint8_t[::1] raw = log.view("u1")
    n[0] = raw.shape[0] // sizeof(Event)
    return <const Event*>&raw[0] if n[0] else NULL


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


def path_cycles(int64_t budget, const int[::1] latencies, log, int64_t l1_hit, int64_t mlp=1,
                double drain=0):
    """costs.path_cycles, for latencies as BatchHierarchy.run returns them (int32)."""
    cdef Py_ssize_t n
    cdef const Event* ev = _events(log, &n)
    if latencies.shape[0] != n:
        raise ValueError("path_cycles: one latency per logged access")
    return _cycles(budget, &latencies[0] if n else NULL, ev, 0, n, l1_hit, mlp, drain)


def paths_cycles(const int64_t[::1] budgets, const int[::1] latencies, log,
                 const int64_t[::1] ends, const int64_t[::1] writes, int64_t l1_hit,
                 int64_t mlp, double line_cycles):
    """The sum over consecutive paths of costs.path_cycles: path k's budget (cycles) is
    budgets[k], its accesses log[ends[k-1]:ends[k]] (latencies alike), and it wrote writes[k]
    lines back to DRAM (its drain: writes[k] x line_cycles)."""
    cdef Py_ssize_t n, k, lo = 0
    cdef const Event* ev = _events(log, &n)
    cdef int64_t total = 0
    if not budgets.shape[0] == ends.shape[0] == writes.shape[0] or latencies.shape[0] < n:
        raise ValueError("paths_cycles: one budget, end and write count per path")
    for k in range(ends.shape[0]):
        if not lo <= ends[k] <= n:
            raise ValueError("paths_cycles: the ends must ascend within the log")
        total += _cycles(budgets[k], &latencies[0] if n else NULL, ev, lo, ends[k], l1_hit,
                         mlp, writes[k] * line_cycles)
        lo = ends[k]
    return total


def zeroed_frames(log):
    """The frames a fault path cleared: its line-sized writes, 64 a frame (paging._zeroed)."""
    cdef Py_ssize_t n, i
    cdef const Event* ev = _events(log, &n)
    cdef int64_t lines = 0
    for i in range(n):
        lines += ev[i].kind == WRITE and ev[i].size == LINE
    return lines // 64

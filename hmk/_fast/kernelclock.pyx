# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The core kernel's clock, compiled: what every kernel path, syscall and IPC does to time its
work and charge it, with no Python objects made per call.

`KernelClock(kernel, hierarchy, timing, charged, timebase=, costs=)` is hmk.kernel.core.
CoreKernel's clock for a timed core: `work_cycles`, `path`, `charge`, `now` and `cycles_until`
as the reference methods of the same names compute them (work_cycles's rounding, path_cycles's
stalls and DRAM drain through hmk._fast.pathcost at the core's `costs`, the charge's counters,
CPU time and profile, the clock on the run's time base: hmk.kernel.timebase), with the
kernel's access log timed in place through the memory hierarchy's C entry (Engine.raw_entry)
instead of copied into new arrays, and the timing engine's clock through its own
(TimingEngine.raw_entry). tests/test_crossing.py holds it to the reference.
"""

from cpython.ref cimport PyObject
from libc.stdint cimport int64_t
from libc.stdlib cimport free, realloc

cimport numpy as cnp

from hmk._fast.counts cimport count
from hmk._fast.event cimport mem_dict
from hmk._fast.pathcost cimport _cycles
from hmk._fast.shared cimport Event

cnp.import_array()


cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set



cdef inline object _item(dict d, str name):
    cdef PyObject* o = PyDict_GetItem(d, name)
    if o == NULL:
        raise AttributeError(name)
    return <object>o


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    """Python's a // b for b > 0."""
    cdef int64_t q = a / b
    if (a % b != 0) and (a < 0):
        q -= 1
    return q


cdef class KernelClock:
    """CoreKernel's work_cycles, path, charge and now on a timed core (see the module
    docstring; its fields are declared in kernelclock.pxd)."""

    def __init__(self, kernel, hierarchy, timing, charged=None, timebase=None, costs=None):
        fn, engine, dram = hierarchy.raw_entry()
        self.kernel, self.engine = kernel, hierarchy
        self.kd = kernel.__dict__
        self.md = mem_dict(kernel.mem)
        self.run_raw = <run_raw_t><size_t>fn
        self.engine_p = <void*><size_t>engine
        self.dram = <int64_t*><size_t>dram
        self.totals = kernel.cycles
        self.timing_engine, self.unit = timing.engine, timing.params.unit
        add, now, engine = timing.engine.raw_entry()
        self.add, self.add_engine = <add_raw_t><size_t>add, <void*><size_t>engine
        self.timing_now = <now_raw_t><size_t>now
        self.charged = charged
        costs = kernel if costs is None else costs  # (the kernel's own: its running core's)
        self.l1_hit, self.mlp = costs.l1_hit, costs.mlp
        self.ipc_milli = int(round(costs.kernel_ipc * 1000))
        self.line_cycles = costs.dram_line_cycles
        self.timebase = timebase
        self.same = timebase is None or timebase.same
        self.lat, self.lat_cap = NULL, 0
        if self.ipc_milli <= 0:
            raise ValueError("KernelClock: the kernel IPC must be positive")

    def __dealloc__(self):
        free(self.lat)

    cpdef object work_cycles(self, instructions):
        """Core cycles of `instructions` of kernel straight-line work (CoreKernel.work_cycles)."""
        cdef int64_t x
        if type(instructions) is int and -(1 << 40) < instructions < (1 << 40):
            x = instructions
            return -_floordiv(-x * 1000, self.ipc_milli)
        return -(-int(round(instructions * 1000)) // self.ipc_milli)

    cpdef object path(self, budget):
        """Cycles of the kernel work logged since the last call (CoreKernel.path); the log is
        cleared."""
        cdef int64_t work = self.work_cycles(budget)
        cdef Py_ssize_t n = _item(self.md, "n_log")
        cdef cnp.ndarray log
        cdef const Event *ev
        cdef int64_t before, writes
        cdef int *grown
        if n == 0:
            return work
        log = <cnp.ndarray?>_item(self.md, "log")
        if n > cnp.PyArray_DIMS(log)[0]:
            raise ValueError("KernelClock.path: the log holds fewer records than n_log")
        ev = <const Event*>cnp.PyArray_DATA(log)
        if n > self.lat_cap:
            grown = <int*>realloc(self.lat, n * sizeof(int))
            if grown == NULL:
                raise MemoryError()
            self.lat, self.lat_cap = grown, n
        self.md["n_log"] = 0
        before = self.dram[1]
        self.run_raw(self.engine_p, ev, self.lat, n)
        writes = self.dram[1] - before
        return _cycles(work, self.lat, ev, 0, n, self.l1_hit, self.mlp, writes * self.line_cycles)

    cpdef charge(self, str what, cycles):
        """Charge `cycles` to kernel path `what` (CoreKernel.charge)."""
        cdef list on_core
        if type(cycles) is not int:
            cycles = int(cycles)
        spent = cycles if self.same else self.timebase.spent(cycles)  # on the time base
        count(self.totals, what, spent)  # self.cycles[what] += spent
        if what != "idle":  # kernel and service work: the process on the core's system time
            on_core = <list?>_item(self.kd, "_on_core")
            on_core[1] = on_core[1] + spent
        if cycles < 0:
            raise ValueError(f"cannot add {cycles} cycles")
        self.add(self.add_engine, cycles)
        if self.charged is not None:
            self.charged(self.kernel, what, cycles)

    cpdef object now(self):
        """The core's clock on the run's time base (CoreKernel.now: the timing model's)."""
        cdef object cycles = self.timing_now(self.add_engine) // self.unit
        return cycles if self.same else self.timebase.time(cycles)

    cpdef object cycles_until(self, time):
        """The core's cycles from now until its clock reads `time` (CoreKernel.cycles_until)."""
        cdef object cycles = self.timing_now(self.add_engine) // self.unit
        return max((time if self.same else self.timebase.cycles(time)) - cycles, 0)

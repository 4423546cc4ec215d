from cpython.ref cimport PyObject
from libc.stdint cimport uint8_t, uint16_t, uint64_t

cimport numpy as cnp


cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set


from hmk._fast.shared cimport Event  # hmk.hw.events.EVENT_DTYPE: 16 bytes


cdef inline void put_event(Event* log, Py_ssize_t n, uint64_t addr, uint8_t kind, uint8_t size,
                           uint8_t core) noexcept nogil:
    """Write log[n]: a kernel access (ASID 0, the kernel's) as the Python side records it."""
    log[n].addr = addr
    log[n].asid = 0
    log[n].kind = kind
    log[n].size = size
    log[n].core = core
    log[n].pad[0] = 0
    log[n].pad[1] = 0
    log[n].pad[2] = 0


# The KernelMemory log (mem.log, mem.n_log, mem.core) through the instance's __dict__: a borrowed
# dict lookup is about half the cost of a generic getattr, and the twins read these on every
# call. mem_dict refuses a KernelMemory (subclass) that defines them as class attributes or
# properties, where the __dict__ would not be the truth.

cdef inline dict mem_dict(object mem):
    for name in ("log", "n_log", "core", "__slots__"):
        if hasattr(type(mem), name):
            raise TypeError(f"{type(mem).__name__}.{name} is a class attribute: the compiled "
                            "kernel paths need log, n_log and core as instance attributes")
    d = mem.__dict__
    if type(d) is not dict:
        raise TypeError("the compiled kernel paths need a plain instance __dict__")
    return <dict>d


cdef inline object _mem_get(dict d, str name):
    cdef PyObject* o = PyDict_GetItem(d, name)
    if o == NULL:
        raise AttributeError(f"KernelMemory has no {name}")
    return <object>o


cdef inline Event* log_reserve(object mem, dict d, Py_ssize_t extra, Py_ssize_t* n,
                               uint8_t* core) except NULL:
    """The log's records, with room for `extra` more from n[0] = mem.n_log (grown if needed);
    core[0] = mem.core. Records written beyond mem.n_log are not part of the log until
    log_commit."""
    cdef cnp.ndarray log = <cnp.ndarray?>_mem_get(d, "log")
    n[0] = _mem_get(d, "n_log")
    if n[0] + extra > cnp.PyArray_DIMS(log)[0]:
        mem.grow_log(extra)
        log = <cnp.ndarray?>_mem_get(d, "log")
    core[0] = _mem_get(d, "core")
    return <Event*>cnp.PyArray_DATA(log)


cdef inline int log_commit(dict d, Py_ssize_t n) except -1:
    """mem.n_log = n"""
    d["n_log"] = n
    return 0

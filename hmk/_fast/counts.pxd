"""Counting into a collections.Counter from compiled code: `counter[key] += n` as the C dict
calls it comes to (a Counter's item assignment goes through a Python-level slot, since the
class defines __delitem__, ~20x the cost of the dict's own), with the same result."""

from cpython.dict cimport PyDict_SetItem
from cpython.ref cimport PyObject


cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set


cdef inline int count(object counter, object key, object n) except -1:
    """counter[key] += n, for a dict subclass whose missing keys count 0 (a Counter)."""
    cdef PyObject *old = PyDict_GetItem(counter, key)
    return PyDict_SetItem(counter, key, n if old == NULL else <object>old + n)

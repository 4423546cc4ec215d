# cython: boundscheck=False, wraparound=False, cdivision=True
"""unicorn's C API for the functional CPU's control path, compiled: register reads and writes
one at a time and in batches (a syscall's arguments, a context switch's 34 registers, the
FP/SIMD state), emu_start and emu_stop, and the interrupt hook (every SVC), with no ctypes
objects made per call.

`Cpu(uc)` drives the engine of a unicorn.Uc; the functions are the ones unicorn's Python binding
loaded (their addresses taken from it), so both act on one engine. Its Python reference is
hmk.cpu.ucpython.UcPython, the same calls through unicorn's Python binding; tests/test_crossing.py
holds the two together, and hmk.cpu.machine falls back to the reference when this module is not
built.
"""

from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

import ctypes

from unicorn import UcError
from unicorn.unicorn_py3.unicorn import uclib

cdef extern from "Python.h":
    unsigned long long PyLong_AsUnsignedLongLongMask(object o) except? -1


ctypedef int (*reg_read_batch_t)(void *uc, const int *regs, void **vals, int count) noexcept nogil
ctypedef int (*reg_write_batch_t)(void *uc, const int *regs, const void * const *vals,
                                  int count) noexcept nogil
ctypedef int (*reg_read_t)(void *uc, int regid, void *value) noexcept nogil
ctypedef int (*reg_write_t)(void *uc, int regid, const void *value) noexcept nogil
ctypedef int (*emu_start_t)(void *uc, uint64_t begin, uint64_t until, uint64_t timeout,
                            size_t count) noexcept nogil
ctypedef int (*emu_stop_t)(void *uc) noexcept nogil
ctypedef int (*hook_add_t)(void *uc, size_t *hh, int htype, void *callback, void *user_data,
                           uint64_t begin, uint64_t end, ...) noexcept nogil

cdef enum:
    UC_HOOK_INTR = 1  # unicorn.h: uc_hook_type
    MAX_REGS = 128  # registers in one batch


cdef size_t _address(name):
    return <size_t>ctypes.cast(getattr(uclib, name), ctypes.c_void_p).value


cdef class Registers:
    """A fixed batch of unicorn register ids, with each one's width: 128 bits (FP/SIMD Q
    registers) or 64 (the rest)."""

    cdef int ids[MAX_REGS]
    cdef bint wide[MAX_REGS]
    cdef readonly int count

    def __init__(self, ids, wide=()):
        ids = tuple(ids)
        if len(ids) > MAX_REGS:
            raise ValueError(f"at most {MAX_REGS} registers in a batch")
        wide = frozenset(wide)
        self.count = len(ids)
        for i, reg in enumerate(ids):
            self.ids[i] = reg
            self.wide[i] = reg in wide


cdef void _on_interrupt(void *uc, uint32_t intno, void *user) noexcept with gil:
    cdef Cpu cpu = <Cpu>user
    try:
        cpu.interrupt(intno)
    except BaseException as e:  # unicorn's C frames cannot carry it: emu_start raises it
        if cpu.raised is None:
            cpu.raised = e
        cpu.stop(cpu.uc)


cdef class Cpu:
    """The engine of `uc` (a unicorn.Uc), driven through unicorn's C functions."""

    cdef object owner  # the unicorn.Uc: the engine lives as long as it does
    cdef void *uc
    cdef reg_read_batch_t read_batch
    cdef reg_write_batch_t write_batch
    cdef reg_read_t read_one
    cdef reg_write_t write_one
    cdef emu_start_t start
    cdef emu_stop_t stop
    cdef hook_add_t hook_add
    cdef size_t hook
    cdef object interrupt  # interrupt(intno) for every CPU exception (UC_HOOK_INTR)
    cdef object raised  # what interrupt raised, for emu_start to raise
    cdef uint64_t *values
    cdef void **slots

    def __cinit__(self):
        self.values = <uint64_t*>malloc(2 * MAX_REGS * sizeof(uint64_t))
        self.slots = <void**>malloc(MAX_REGS * sizeof(void*))
        if self.values == NULL or self.slots == NULL:
            raise MemoryError()
        for i in range(MAX_REGS):
            self.slots[i] = &self.values[2 * i]

    def __init__(self, uc):
        self.owner = uc
        self.uc = <void*><size_t>uc._uch.value
        self.read_batch = <reg_read_batch_t>_address("uc_reg_read_batch")
        self.write_batch = <reg_write_batch_t>_address("uc_reg_write_batch")
        self.read_one = <reg_read_t>_address("uc_reg_read")
        self.write_one = <reg_write_t>_address("uc_reg_write")
        self.start = <emu_start_t>_address("uc_emu_start")
        self.stop = <emu_stop_t>_address("uc_emu_stop")
        self.hook_add = <hook_add_t>_address("uc_hook_add")
        self.hook = 0
        self.interrupt = self.raised = None

    def __dealloc__(self):  # the hook goes with the engine (only this Cpu runs it)
        free(self.values)
        free(self.slots)

    def on_interrupt(self, callback):
        """Call `callback(intno)` at every CPU exception (an SVC is EXCP_SWI); what it raises
        stops the CPU and emu_start raises it."""
        cdef size_t hh = 0
        cdef int status
        if self.hook:
            raise RuntimeError("Cpu.on_interrupt: a callback is set already")
        status = self.hook_add(self.uc, &hh, UC_HOOK_INTR, <void*>_on_interrupt, <void*>self,
                               1, 0)
        if status != 0:
            raise UcError(status)
        self.hook, self.interrupt = hh, callback

    def emu_start(self, uint64_t begin, uint64_t until):
        """Run from `begin` until `until` or a stop (unicorn.Uc.emu_start)."""
        cdef int status
        self.raised = None
        with nogil:
            status = self.start(self.uc, begin, until, 0, 0)
        if status != 0:
            raise UcError(status)
        if self.raised is not None:
            raised, self.raised = self.raised, None
            raise raised

    def emu_stop(self):
        cdef int status = self.stop(self.uc)
        if status != 0:
            raise UcError(status)

    cpdef object reg(self, int reg):
        """A 64-bit register's value."""
        cdef uint64_t value = 0
        cdef int status = self.read_one(self.uc, reg, &value)
        if status != 0:
            raise UcError(status, reg)
        return value

    cpdef set_reg(self, int reg, value):
        """Write a 64-bit register (the value modulo 2**64, as unicorn's binding does)."""
        cdef uint64_t v = PyLong_AsUnsignedLongLongMask(value)
        cdef int status = self.write_one(self.uc, reg, &v)
        if status != 0:
            raise UcError(status, reg)

    cpdef tuple read(self, Registers regs):
        """The registers' values, in order."""
        cdef int i, n = regs.count
        cdef int status
        cdef tuple out
        memset(self.values, 0, 2 * n * sizeof(uint64_t))
        status = self.read_batch(self.uc, regs.ids, self.slots, n)
        if status != 0:
            raise UcError(status)
        out = PyTuple_New(n)
        for i in range(n):
            if regs.wide[i]:
                value = self.values[2 * i] | (<object>self.values[2 * i + 1]) << 64
            else:
                value = self.values[2 * i]
            Py_INCREF(value)
            PyTuple_SET_ITEM(out, i, value)
        return out

    cpdef write(self, Registers regs, values):
        """Write the registers, in order (each 64-bit value modulo 2**64, a wide one's modulo
        2**128); ValueError unless there is one value per register."""
        cdef int i = 0, n = regs.count
        cdef int status
        for value in values:
            if i == n:
                raise ValueError(f"{n} registers, more values")
            if regs.wide[i]:
                self.values[2 * i] = PyLong_AsUnsignedLongLongMask(value & 0xFFFFFFFFFFFFFFFF)
                self.values[2 * i + 1] = PyLong_AsUnsignedLongLongMask(
                    (value >> 64) & 0xFFFFFFFFFFFFFFFF)
            else:
                self.values[2 * i] = PyLong_AsUnsignedLongLongMask(value)
            i += 1
        if i != n:
            raise ValueError(f"{n} registers, {i} values")
        status = self.write_batch(self.uc, regs.ids, <const void* const*>self.slots, n)
        if status != 0:
            raise UcError(status)

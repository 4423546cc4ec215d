# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.cspace.CSpaces.lookup: the same checks over the same numpy
arrays, and the same access-log records (so the same cycles). Read it beside the reference."""

from libc.stdint cimport int32_t, uint8_t, uint64_t

cimport numpy as cnp

from hmk._fast.event cimport Event, put_event

cdef enum:  # hmk.kernel.cspace's codes and hmk.hw.events.READ (the twin tests catch a mismatch)
    OK = 0
    EPERM = -1
    ENOENT = -2
    EINVAL = -22
    EBADTYPE = -200
    NULL_TYPE = 0
    READ = 0


cdef class LookupContext:
    cdef object mem
    cdef const uint8_t[::1] cs_used
    cdef const int32_t[::1] cs_first, cs_size, slot_object
    cdef const uint8_t[::1] slot_type, slot_rights
    cdef uint64_t cs_base, cs_record, off_first, off_size
    cdef uint64_t slot_base, slot_record, off_type, off_rights, off_object
    cdef long long n_cs

    def __init__(self, cspaces):
        cs, slot = cspaces.cspace, cspaces.slot
        self.mem = cspaces.mem
        self.cs_used = cs.used.view("u1")
        self.cs_first, self.cs_size = cs["first"], cs["size"]
        self.slot_type, self.slot_rights = slot["type"], slot["rights"]
        self.slot_object = slot["object"]
        # kernel virtual addresses: KERNEL_BASE is added here once
        from hmk.kernel.objects import KERNEL_BASE
        self.cs_base, self.cs_record = KERNEL_BASE + cs.base, cs.record
        self.off_first, self.off_size = cs.offset["first"], cs.offset["size"]
        self.slot_base, self.slot_record = KERNEL_BASE + slot.base, slot.record
        self.off_type, self.off_rights = slot.offset["type"], slot.offset["rights"]
        self.off_object = slot.offset["object"]
        self.n_cs = cs.capacity

    def lookup(self, cs_obj, index_obj, int obj_type, int rights):
        cdef long long cs, index, size, slot
        cdef Py_ssize_t n
        cdef uint64_t rec
        cdef uint8_t core, t
        cdef Event* log
        try:
            cs = cs_obj
        except (TypeError, OverflowError):
            return EINVAL, -1
        if cs < 0 or cs >= self.n_cs or not self.cs_used[cs]:
            return EINVAL, -1
        mem = self.mem
        n = mem.n_log
        if n + 5 > len(mem.log):  # at most five loads
            mem.grow_log(5)
        log = <Event*>cnp.PyArray_DATA(mem.log)
        core = mem.core
        size = self.cs_size[cs]
        put_event(log, n, self.cs_base + cs * self.cs_record + self.off_size, READ, 4, core)
        n += 1
        try:
            index = index_obj
        except (TypeError, OverflowError):
            index = -1
        if index < 0 or index >= size:
            mem.n_log = n
            return EINVAL, -1
        slot = self.cs_first[cs] + index
        put_event(log, n, self.cs_base + cs * self.cs_record + self.off_first, READ, 4, core)
        t = self.slot_type[slot]
        rec = self.slot_base + slot * self.slot_record  # the slot's modeled address
        put_event(log, n + 1, rec + self.off_type, READ, 1, core)
        n += 2
        if t == NULL_TYPE or t != obj_type:
            mem.n_log = n
            return (ENOENT if t == NULL_TYPE else EBADTYPE), -1
        put_event(log, n, rec + self.off_rights, READ, 1, core)
        n += 1
        if self.slot_rights[slot] & rights != rights:
            mem.n_log = n
            return EPERM, -1
        put_event(log, n, rec + self.off_object, READ, 4, core)
        mem.n_log = n + 1
        return OK, self.slot_object[slot]


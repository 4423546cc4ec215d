# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.cspace.CSpaces.lookup: the same checks over the same numpy
arrays, and the same access-log records (so the same cycles). Read it beside the reference."""

from libc.stdint cimport int32_t, uint8_t, uint64_t

cimport numpy as cnp

from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport (
    EBADTYPE, EINVAL, ENOENT, EPERM, KERNEL_BASE, NULL_TYPE, OK, READ, Event
)


cdef class LookupContext:  # attributes declared in caplookup.pxd
    def __init__(self, cspaces):
        cs, slot = cspaces.cspace, cspaces.slot
        self.mem = cspaces.mem
        self.mem_d = mem_dict(self.mem)
        self.cs_used = cs.used.view("u1")
        self.cs_first, self.cs_size = cs["first"], cs["size"]
        self.slot_type, self.slot_rights = slot["type"], slot["rights"]
        self.slot_object = slot["object"]
        # kernel virtual addresses: KERNEL_BASE is added here once
        self.cs_base, self.cs_record = KERNEL_BASE + cs.base, cs.record
        self.off_first, self.off_size = cs.offset["first"], cs.offset["size"]
        self.slot_base, self.slot_record = KERNEL_BASE + slot.base, slot.record
        self.off_type, self.off_rights = slot.offset["type"], slot.offset["rights"]
        self.off_object = slot.offset["object"]
        self.n_cs = cs.capacity

    cdef long long c_lookup(self, long long cs, long long index, int obj_type, int rights,
                            Event* log, Py_ssize_t n, uint8_t core,
                            Py_ssize_t* written) noexcept:
        """The lookup at C level: the object index (>= 0) or an error code (< 0). Writes its
        records at log[n], log[n+1], ... (room for five) and their count to `written`, but does
        not commit them (mem.n_log): `lookup` commits them, the IPC fastpath only when all its
        guards pass."""
        cdef long long slot
        cdef uint64_t rec
        cdef uint8_t t
        written[0] = 0
        if cs < 0 or cs >= self.n_cs or not self.cs_used[cs]:
            return EINVAL
        put_event(log, n, self.cs_base + cs * self.cs_record + self.off_size, READ, 4, core)
        written[0] = 1
        if index < 0 or index >= self.cs_size[cs]:
            return EINVAL
        slot = self.cs_first[cs] + index
        put_event(log, n + 1, self.cs_base + cs * self.cs_record + self.off_first, READ, 4, core)
        t = self.slot_type[slot]
        rec = self.slot_base + slot * self.slot_record  # the slot's modeled address
        put_event(log, n + 2, rec + self.off_type, READ, 1, core)
        written[0] = 3
        if t == NULL_TYPE or t != obj_type:
            return ENOENT if t == NULL_TYPE else EBADTYPE
        put_event(log, n + 3, rec + self.off_rights, READ, 1, core)
        written[0] = 4
        if self.slot_rights[slot] & rights != rights:
            return EPERM
        put_event(log, n + 4, rec + self.off_object, READ, 4, core)
        written[0] = 5
        return self.slot_object[slot]

    def lookup(self, cs_obj, index_obj, int obj_type, int rights):
        cdef long long cs, index, result
        cdef Py_ssize_t n, written
        cdef uint8_t core
        cdef Event* log
        try:
            cs = cs_obj
        except (TypeError, OverflowError):
            return EINVAL, -1
        try:
            index = index_obj
        except (TypeError, OverflowError):
            index = -1
        log = log_reserve(self.mem, self.mem_d, 5, &n, &core)  # at most five loads
        result = self.c_lookup(cs, index, obj_type, rights, log, n, core, &written)
        log_commit(self.mem_d, n + written)
        if result < 0:
            return result, -1
        return OK, result

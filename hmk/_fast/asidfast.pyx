# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.vspace.VSpaces.activate (with hmk.kernel.asid's
AsidAllocator.activate) for the common case: the VSpace's ASID generation is current, so
activation is two timed loads (generation, asid) and `allocator.active[core] = context`, no
stores. A stale generation (a new ASID, maybe a roll-over), a VSpace that does not exist or a
core the allocator does not know all go to the Python reference, `vspaces.activate`. Same
results, state and access-log records as the reference; tests/test_asid.py holds them together.

`FastActivate(vspaces).activate(i, core=0)` is VSpaces.activate; the IPC fastpath
(hmk._fast.ipcfast) calls `c_activate` at C level.

The contexts put in `active` are Context objects made once per (VSpace, generation, asid) and
reused: Context is a frozen dataclass, compared by value everywhere, so a reused one is the
reference's freshly made one as far as any reader can tell.
"""

from libc.stdint cimport uint8_t, uint16_t, uint64_t

from cpython.ref cimport PyObject

from hmk._fast.event cimport PyDict_GetItem, log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport EINVAL, KERNEL_BASE, READ, Event


cdef class FastActivate:
    def __init__(self, vspaces):
        import numpy as np

        from hmk.kernel.asid import Context

        self.vspaces, self.asids, self.mem = vspaces, vspaces.asids, vspaces.mem
        self.Context = Context
        self.mem_d = mem_dict(self.mem)
        d = self.asids.__dict__
        if type(d) is not dict or any(
            hasattr(type(self.asids), k) for k in ("generation", "active")
        ):
            raise TypeError("asidfast: the allocator's generation and active must be plain "
                            "instance attributes")
        self.asids_d = d
        v = vspaces.vspace
        self.vs_used = v.used.view("u1")
        self.vs_gen, self.vs_asid = v["generation"], v["asid"]
        self.vs_base, self.vs_rec, self.n_vs = KERNEL_BASE + v.base, v.record, v.capacity
        self.o_gen, self.o_asid = v.offset["generation"], v.offset["asid"]
        self.ctx = [None] * self.n_vs
        self.ctx_gen = np.zeros(self.n_vs, np.uint64)
        self.ctx_asid = np.zeros(self.n_vs, np.uint16)

    def activate(self, i, core=0):
        """As VSpaces.activate: (asid, flush every TLB first?) or (EINVAL, False)."""
        cdef long long vs, core_index, asid
        cdef Py_ssize_t n
        cdef uint8_t log_core
        cdef Event* log
        if type(i) is not int or type(core) is not int:
            return self._fallback(i, core)
        try:
            vs, core_index = i, core
        except OverflowError:
            return self._fallback(i, core)
        if vs < 0 or vs >= self.n_vs or not self.vs_used[vs]:
            return EINVAL, False
        log = log_reserve(self.mem, self.mem_d, 2, &n, &log_core)
        if not self.c_activate(vs, core_index, log, n, log_core, &asid):
            return self._fallback(i, core)
        log_commit(self.mem_d, n + 2)
        return asid, False

    cdef object _fallback(self, i, core):
        self.fallback += 1
        return self.vspaces.activate(i, core)

    cdef int c_activate(self, long long i, long long core_index, Event* log, Py_ssize_t n,
                        uint8_t core, long long* asid) except -1:
        """VSpace `i` (valid: the caller checked) activated on core `core_index` when its
        generation is current: 1, the two records written at log[n], log[n + 1] (not
        committed: the caller commits them) and the ASID in asid[0]. 0: not done, nothing
        changed (the caller runs the reference, vspaces.activate)."""
        cdef uint64_t gen = self.vs_gen[i], current
        cdef uint16_t a = self.vs_asid[i]
        cdef list active
        cdef PyObject* o = PyDict_GetItem(self.asids_d, "generation")
        if o == NULL or type(<object>o) is not int:
            return 0
        current = <object>o
        if gen != current:
            return 0
        o = PyDict_GetItem(self.asids_d, "active")
        if o == NULL or type(<object>o) is not list:
            return 0
        active = <list>o
        if core_index < 0 or core_index >= len(active):
            return 0  # the reference's IndexError (or negative indexing)
        ctx = self.ctx[i]
        if ctx is None or self.ctx_gen[i] != gen or self.ctx_asid[i] != a:
            ctx = self.Context(gen, a)
            self.ctx[i] = ctx
            self.ctx_gen[i], self.ctx_asid[i] = gen, a
        active[core_index] = ctx
        put_event(log, n, self.vs_base + i * self.vs_rec + self.o_gen, READ, 8, core)
        put_event(log, n + 1, self.vs_base + i * self.vs_rec + self.o_asid, READ, 2, core)
        asid[0] = a
        self.fast += 1
        return 1

# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of the IPC fastpath of hmk.kernel.ipc.Ipc (`call` and `reply`): the same
steps over the same numpy arrays, the same state changes, results and access-log records (so
the same cycles). Read it beside the reference; tests/test_ipc_twin.py holds the two together.

`FastIpc(ipc)` offers `call` and `reply` with the reference's signatures and return types.

* call: compiled when every guard passes (msg_len <= 96, the capability lookup finds an
  ENDPOINT with CALL, no capability transfer, the endpoint alive, a free activation on its
  free list) and the arguments are plain ints (`ret` a 3-tuple of ints in [0, 2**64)).
* reply: compiled when the activation is BUSY (owned by `endpoint` if given) and
  0 <= reply_len <= 256, including the hand-off of the activation to the first waiter (with
  its long-message copy into the receive buffer).

Everything else (errors, long messages / replies, capability transfer, pool growth,
blocking, non-int arguments) goes to the Python reference, `ipc.call` / `ipc.reply`. The twin
decides before its point of no return: until then it writes access records only beyond
`mem.n_log` (not yet part of the log) and changes no array, so a fall-back changes nothing.

VSpace switches: the TTBR0/ASID step is hmk._fast.asidfast's compiled activate, exactly where
the reference calls `vspaces.activate(vspace, mem.core)`; when the VSpace's ASID generation is
stale (a new ASID, maybe a roll-over) the twin commits its records and calls that Python
reference itself.
"""

from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject
from libc.stdint cimport int32_t, uint8_t, uint64_t

cimport numpy as cnp

from hmk._fast.asidfast cimport FastActivate
from hmk._fast.caplookup cimport LookupContext
from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport (
    BUF_WORDS, BUSY, CALL, ENDPOINT, FREE, KERNEL_BASE, MAX_ARGS, MAX_REPLY, NULL_TYPE, OK, READ,
    WRITE, Event
)

cdef enum:  # the most access-log records one path writes (its own bookkeeping)
    CALL_RECORDS = 22  # lookup 5, endpoint 3, pop 2, next 1, fill 10, entry 1
    REPLY_RECORDS = 64  # 9 loads, 1 store, wait head 1, hand-off 24 or free 7 (+ the copy)

cdef extern from "Python.h":
    ctypedef struct PyTypeObject:
        PyObject* (*tp_alloc)(PyTypeObject*, Py_ssize_t)
    void PyTuple_SET_ITEM(PyObject* t, Py_ssize_t i, PyObject* o)


cdef object _result(type cls, tuple items):
    """cls(*items) for a NamedTuple class `cls`, as tuple.__new__(cls, items) makes it (the
    type's own allocator, the items referenced), without the Python-level call."""
    cdef Py_ssize_t k, size = len(items)
    cdef PyObject* o = (<PyTypeObject*>cls).tp_alloc(<PyTypeObject*>cls, size)
    if o == NULL:
        raise MemoryError()
    for k in range(size):
        Py_INCREF(items[k])
        PyTuple_SET_ITEM(o, k, <PyObject*>items[k])
    r = <object>o
    Py_DECREF(r)  # tp_alloc's reference, now held by r
    return r


cdef class FastIpc:
    """The compiled IPC fastpath over `ipc`'s pools, falling back to `ipc` itself."""

    cdef readonly object ipc
    cdef object mem, vspaces
    cdef type CallResult, ReplyResult
    cdef dict mem_d, counters  # mem.__dict__ (event.pxd), ipc.counters
    cdef readonly long long fast_calls, fast_replies, fallback_calls, fallback_replies
    cdef LookupContext caps  # the capability lookup, hmk._fast.caplookup's own
    cdef readonly FastActivate activator  # VSpace activation, hmk._fast.asidfast's
    # endpoints
    cdef const uint8_t[::1] ep_used
    cdef const uint64_t[::1] ep_entry
    cdef int32_t[::1] ep_server, ep_server_vspace, ep_free_head, ep_wait_head, ep_wait_tail
    cdef uint64_t ep_base, ep_rec, o_ep_entry, o_ep_server, o_ep_server_vspace
    cdef uint64_t o_ep_free_head, o_ep_wait_head, o_ep_wait_tail
    cdef long long n_ep
    # activations
    cdef const uint8_t[::1] act_used
    cdef uint64_t[:, ::1] act_ret
    cdef int32_t[::1] act_caller, act_caller_vspace, act_owner, act_next, act_prev, act_msg_len
    cdef uint8_t[::1] act_state
    cdef uint64_t act_base, act_rec, o_act_ret, o_act_caller, o_act_caller_vspace
    cdef uint64_t o_act_owner, o_act_next, o_act_prev, o_act_msg_len, o_act_state
    cdef long long n_act
    # receive buffers
    cdef uint64_t[:, ::1] buf_data
    cdef uint64_t buf_base, buf_rec, o_buf_data
    # wait records
    cdef uint64_t[:, ::1] wait_ret
    cdef int32_t[::1] wait_next, wait_endpoint, wait_vspace, wait_msg_len
    cdef uint64_t wait_base, wait_rec, o_wait_ret, o_wait_next, o_wait_endpoint
    cdef uint64_t o_wait_vspace, o_wait_msg_len
    # threads and VSpaces
    cdef const uint8_t[::1] tcb_used
    cdef int32_t[::1] tcb_activation
    cdef uint64_t tcb_base, tcb_rec, o_tcb_activation
    cdef long long n_tcb
    cdef const uint8_t[::1] vs_used
    cdef long long n_vs

    def __init__(self, ipc):
        from hmk.kernel import ipc as I
        KB = KERNEL_BASE

        self.ipc, self.mem, self.vspaces = ipc, ipc.mem, ipc.vspaces
        self.counters = ipc.counters
        self.CallResult, self.ReplyResult = I.CallResult, I.ReplyResult
        self.caps = LookupContext(ipc.cspaces)
        self.activator = FastActivate(ipc.vspaces)
        self.mem_d = mem_dict(self.mem)

        ep = ipc.ep
        self.ep_used = ep.used.view("u1")
        self.ep_entry, self.ep_server = ep["entry"], ep["server"]
        self.ep_server_vspace, self.ep_free_head = ep["server_vspace"], ep["free_head"]
        self.ep_wait_head, self.ep_wait_tail = ep["wait_head"], ep["wait_tail"]
        self.ep_base, self.ep_rec, self.n_ep = KB + ep.base, ep.record, ep.capacity
        self.o_ep_entry, self.o_ep_server = ep.offset["entry"], ep.offset["server"]
        self.o_ep_server_vspace = ep.offset["server_vspace"]
        self.o_ep_free_head = ep.offset["free_head"]
        self.o_ep_wait_head, self.o_ep_wait_tail = ep.offset["wait_head"], ep.offset["wait_tail"]

        a = ipc.act
        self.act_used = a.used.view("u1")
        self.act_ret, self.act_caller = a["ret"], a["caller"]
        self.act_caller_vspace, self.act_owner = a["caller_vspace"], a["owner"]
        self.act_next, self.act_prev, self.act_msg_len = a["next"], a["prev_act"], a["msg_len"]
        self.act_state = a["state"]
        self.act_base, self.act_rec, self.n_act = KB + a.base, a.record, a.capacity
        self.o_act_ret, self.o_act_caller = a.offset["ret"], a.offset["caller"]
        self.o_act_caller_vspace, self.o_act_owner = a.offset["caller_vspace"], a.offset["owner"]
        self.o_act_next, self.o_act_prev = a.offset["next"], a.offset["prev_act"]
        self.o_act_msg_len, self.o_act_state = a.offset["msg_len"], a.offset["state"]

        b = ipc.buf
        self.buf_data = b["data"]
        self.buf_base, self.buf_rec, self.o_buf_data = KB + b.base, b.record, b.offset["data"]

        w = ipc.wait
        self.wait_ret, self.wait_next = w["ret"], w["next"]
        self.wait_endpoint, self.wait_vspace, self.wait_msg_len = (
            w["endpoint"], w["vspace"], w["msg_len"]
        )
        self.wait_base, self.wait_rec = KB + w.base, w.record
        self.o_wait_ret, self.o_wait_next = w.offset["ret"], w.offset["next"]
        self.o_wait_endpoint, self.o_wait_vspace = w.offset["endpoint"], w.offset["vspace"]
        self.o_wait_msg_len = w.offset["msg_len"]

        t = ipc.threads.tcb
        self.tcb_used = t.used.view("u1")
        self.tcb_activation = t["activation"]
        self.tcb_base, self.tcb_rec, self.n_tcb = KB + t.base, t.record, t.capacity
        self.o_tcb_activation = t.offset["activation"]
        v = ipc.vspaces.vspace
        self.vs_used, self.n_vs = v.used.view("u1"), v.capacity
        if self.wait_next.shape[0] != self.n_tcb:
            raise ValueError("ipcfast: one wait record per TCB expected")

    # ---- call ----------------------------------------------------------------------------

    def call(self, caller_tcb, caller_vspace, cspace, slot, msg_len, cap_transfer=False,
             ret=(0, 0, 0)):
        """As Ipc.call: the compiled fastpath, or the Python reference."""
        r = self._call(caller_tcb, caller_vspace, cspace, slot, msg_len, cap_transfer, ret)
        if r is None:
            self.fallback_calls += 1
            return self.ipc.call(caller_tcb, caller_vspace, cspace, slot, msg_len,
                                 cap_transfer, ret)
        self.fast_calls += 1
        return r

    cdef object _call(self, caller_obj, vspace_obj, cs_obj, index_obj, len_obj, cap_transfer,
                      ret_obj):
        cdef long long caller, cvs, cs, index, msg_len, ep, server, svs, act, asid_c
        cdef uint64_t r0, r1, r2, entry, aa
        cdef Py_ssize_t n, written
        cdef uint8_t core
        cdef Event* log
        # plain ints only (anything else: the reference decides)
        if (type(caller_obj) is not int or type(vspace_obj) is not int
                or type(cs_obj) is not int or type(index_obj) is not int
                or type(len_obj) is not int or type(ret_obj) is not tuple):
            return None
        if len(<tuple>ret_obj) != 3 or cap_transfer:
            return None
        o0, o1, o2 = <tuple>ret_obj
        if type(o0) is not int or type(o1) is not int or type(o2) is not int:
            return None
        try:  # OverflowError: outside [0, 2**64) for the uint64s, outside long long otherwise
            caller, cvs, cs, index, msg_len = caller_obj, vspace_obj, cs_obj, index_obj, len_obj
            r0, r1, r2 = o0, o1, o2
        except OverflowError:
            return None
        # arguments no guard covers, guard 1 (the reference's errors / slowpath otherwise)
        if caller < 0 or caller >= self.n_tcb or not self.tcb_used[caller]:
            return None
        if cvs < 0 or cvs >= self.n_vs or not self.vs_used[cvs]:
            return None
        if msg_len < 0 or msg_len > MAX_ARGS or self.wait_endpoint[caller] >= 0:
            return None
        log = log_reserve(self.mem, self.mem_d, CALL_RECORDS + 2, &n, &core)  # 2: activate
        # guard 2: the capability lookup (hmk._fast.caplookup's, records not yet committed)
        ep = self.caps.c_lookup(cs, index, ENDPOINT, CALL, log, n, core, &written)
        if ep < 0:
            return None
        n += written
        # guard 3 (no capability transfer) was checked above; guard 4: the endpoint is alive
        if ep < 0 or ep >= self.n_ep or not self.ep_used[ep]:
            return None
        server = self.ep_server[ep]
        put_event(log, n, self.ep_base + ep * self.ep_rec + self.o_ep_server, READ, 4, core)
        if server < 0:
            return None
        svs = self.ep_server_vspace[ep]
        put_event(log, n + 1, self.ep_base + ep * self.ep_rec + self.o_ep_server_vspace, READ, 4, core)
        if svs < 0 or svs >= self.n_vs or not self.vs_used[svs]:
            return None
        # guard 5: a free activation on the free list
        act = self.ep_free_head[ep]
        put_event(log, n + 2, self.ep_base + ep * self.ep_rec + self.o_ep_free_head, READ, 4, core)
        if act < 0 or act >= self.n_act:
            return None
        n += 3
        # ---- point of no return ----
        aa = self.act_base + act * self.act_rec
        put_event(log, n, aa + self.o_act_next, READ, 4, core)
        self.ep_free_head[ep] = self.act_next[act]
        put_event(log, n + 1, self.ep_base + ep * self.ep_rec + self.o_ep_free_head, WRITE, 4, core)
        self.act_next[act] = -1
        put_event(log, n + 2, aa + self.o_act_next, WRITE, 4, core)
        n = self.fill(log, n + 3, core, act, caller, cvs, msg_len, r0, r1, r2)
        entry = self.ep_entry[ep]
        put_event(log, n, self.ep_base + ep * self.ep_rec + self.o_ep_entry, READ, 8, core)
        n += 1
        if svs != cvs:
            switch = True
            asid, flush = self.switch_to(svs, log, n, core)
        else:
            log_commit(self.mem_d, n)
            asid, flush, switch = 0, False, False
        self.counters["kernel.ipc.fastpath"] += 1
        return _result(self.CallResult,
                          (OK, "fast", act, switch, "", entry, asid, flush, 0, False))

    cdef tuple switch_to(self, long long vs, Event* log, Py_ssize_t n, uint8_t core):
        """Activate VSpace `vs` (commits the log up to the activation's loads): (asid, flush)."""
        cdef long long asid_c
        if self.activator.c_activate(vs, core, log, n, core, &asid_c):
            log_commit(self.mem_d, n + 2)
            return asid_c, False
        log_commit(self.mem_d, n)  # a stale ASID generation: the reference's Python allocator
        asid, flush = self.vspaces.activate(vs, self.mem.core)
        return asid, bool(flush)

    cdef Py_ssize_t fill(self, Event* log, Py_ssize_t n, uint8_t core, long long act,
                         long long caller, long long cvs, long long msg_len, uint64_t r0,
                         uint64_t r1, uint64_t r2) noexcept:
        """Ipc._fill: `act` BUSY for `caller`, the caller's TCB pointed at it (10 records)."""
        cdef uint64_t aa = self.act_base + act * self.act_rec
        cdef uint64_t ta = self.tcb_base + caller * self.tcb_rec + self.o_tcb_activation
        self.act_state[act] = BUSY
        put_event(log, n, aa + self.o_act_state, WRITE, 1, core)
        self.act_caller[act] = <int32_t>caller
        put_event(log, n + 1, aa + self.o_act_caller, WRITE, 4, core)
        self.act_caller_vspace[act] = <int32_t>cvs
        put_event(log, n + 2, aa + self.o_act_caller_vspace, WRITE, 4, core)
        self.act_ret[act, 0] = r0
        put_event(log, n + 3, aa + self.o_act_ret, WRITE, 8, core)
        self.act_ret[act, 1] = r1
        put_event(log, n + 4, aa + self.o_act_ret + 8, WRITE, 8, core)
        self.act_ret[act, 2] = r2
        put_event(log, n + 5, aa + self.o_act_ret + 16, WRITE, 8, core)
        put_event(log, n + 6, ta, READ, 4, core)
        self.act_prev[act] = self.tcb_activation[caller]
        put_event(log, n + 7, aa + self.o_act_prev, WRITE, 4, core)
        self.act_msg_len[act] = <int32_t>msg_len
        put_event(log, n + 8, aa + self.o_act_msg_len, WRITE, 4, core)
        self.tcb_activation[caller] = <int32_t>act
        put_event(log, n + 9, ta, WRITE, 4, core)
        return n + 10

    # ---- reply ---------------------------------------------------------------------------

    def reply(self, activation, reply_len, endpoint=-1):
        """As Ipc.reply: the compiled fast reply, or the Python reference."""
        r = self._reply(activation, reply_len, endpoint)
        if r is None:
            self.fallback_replies += 1
            return self.ipc.reply(activation, reply_len, endpoint)
        self.fast_replies += 1
        return r

    cdef object _reply(self, act_obj, len_obj, ep_obj):
        cdef long long act, reply_len, want, ep, caller, cvs, prev, svs, woken, nxt, k
        cdef long long w_vspace, w_len, copied = 0, asid_c
        cdef uint64_t r0, r1, r2, w0, w1, w2, aa, ea, wa, ba
        cdef Py_ssize_t n
        cdef uint8_t core
        cdef Event* log
        if type(act_obj) is not int or type(len_obj) is not int or type(ep_obj) is not int:
            return None
        try:
            act, reply_len, want = act_obj, len_obj, ep_obj
        except OverflowError:
            return None
        if act < 0 or act >= self.n_act or not self.act_used[act]:
            return None
        if reply_len < 0 or reply_len > MAX_REPLY:
            return None
        log = log_reserve(self.mem, self.mem_d, REPLY_RECORDS + BUF_WORDS + 2, &n, &core)
        aa = self.act_base + act * self.act_rec
        # guard: busy and owned by the endpoint (records not yet committed)
        put_event(log, n, aa + self.o_act_state, READ, 1, core)
        if self.act_state[act] != BUSY:
            return None
        ep = self.act_owner[act]
        put_event(log, n + 1, aa + self.o_act_owner, READ, 4, core)
        if want >= 0 and ep != want:
            return None
        if ep < 0 or ep >= self.n_ep:
            return None  # an inconsistent activation: the reference raises
        ea = self.ep_base + ep * self.ep_rec
        woken = self.ep_wait_head[ep]
        if woken >= self.n_tcb:
            return None
        caller = self.act_caller[act]
        put_event(log, n + 2, aa + self.o_act_caller, READ, 4, core)
        cvs = self.act_caller_vspace[act]
        put_event(log, n + 3, aa + self.o_act_caller_vspace, READ, 4, core)
        r0 = self.act_ret[act, 0]
        put_event(log, n + 4, aa + self.o_act_ret, READ, 8, core)
        r1 = self.act_ret[act, 1]
        put_event(log, n + 5, aa + self.o_act_ret + 8, READ, 8, core)
        r2 = self.act_ret[act, 2]
        put_event(log, n + 6, aa + self.o_act_ret + 16, READ, 8, core)
        prev = self.act_prev[act]
        put_event(log, n + 7, aa + self.o_act_prev, READ, 4, core)
        svs = self.ep_server_vspace[ep]
        put_event(log, n + 8, ea + self.o_ep_server_vspace, READ, 4, core)
        n += 9
        # ---- point of no return ----
        if 0 <= caller < self.n_tcb and self.tcb_used[caller]:
            self.tcb_activation[caller] = <int32_t>prev
            put_event(log, n, self.tcb_base + caller * self.tcb_rec + self.o_tcb_activation, WRITE, 4,
                core)
            n += 1
        put_event(log, n, ea + self.o_ep_wait_head, READ, 4, core)
        n += 1
        if woken >= 0:  # hand the activation to the first waiter
            wa = self.wait_base + woken * self.wait_rec
            nxt = self.wait_next[woken]
            put_event(log, n, wa + self.o_wait_next, READ, 4, core)
            self.ep_wait_head[ep] = <int32_t>nxt
            put_event(log, n + 1, ea + self.o_ep_wait_head, WRITE, 4, core)
            n += 2
            if nxt < 0:
                self.ep_wait_tail[ep] = -1
                put_event(log, n, ea + self.o_ep_wait_tail, WRITE, 4, core)
                n += 1
            w0 = self.wait_ret[woken, 0]
            put_event(log, n, wa + self.o_wait_ret, READ, 8, core)
            w1 = self.wait_ret[woken, 1]
            put_event(log, n + 1, wa + self.o_wait_ret + 8, READ, 8, core)
            w2 = self.wait_ret[woken, 2]
            put_event(log, n + 2, wa + self.o_wait_ret + 16, READ, 8, core)
            w_vspace = self.wait_vspace[woken]
            put_event(log, n + 3, wa + self.o_wait_vspace, READ, 4, core)
            w_len = self.wait_msg_len[woken]
            put_event(log, n + 4, wa + self.o_wait_msg_len, READ, 4, core)
            # Ipc._clear_wait
            self.wait_next[woken] = -1
            put_event(log, n + 5, wa + self.o_wait_next, WRITE, 4, core)
            self.wait_endpoint[woken] = -1
            put_event(log, n + 6, wa + self.o_wait_endpoint, WRITE, 4, core)
            self.wait_vspace[woken] = -1
            put_event(log, n + 7, wa + self.o_wait_vspace, WRITE, 4, core)
            self.wait_msg_len[woken] = 0
            put_event(log, n + 8, wa + self.o_wait_msg_len, WRITE, 4, core)
            n = self.fill(log, n + 9, core, act, woken, w_vspace, w_len, w0, w1, w2)
            if w_len > MAX_ARGS:  # Ipc._copy: one timed 8-byte store per word
                ba = self.buf_base + act * self.buf_rec + self.o_buf_data
                for k in range((w_len + 7) // 8):
                    self.buf_data[act, k] = 0
                    put_event(log, n, ba + 8 * k, WRITE, 8, core)
                    n += 1
                copied = w_len
        else:  # back on the free list
            self.act_state[act] = FREE
            put_event(log, n, aa + self.o_act_state, WRITE, 1, core)
            self.act_caller[act] = -1
            put_event(log, n + 1, aa + self.o_act_caller, WRITE, 4, core)
            self.act_caller_vspace[act] = -1
            put_event(log, n + 2, aa + self.o_act_caller_vspace, WRITE, 4, core)
            self.act_prev[act] = -1
            put_event(log, n + 3, aa + self.o_act_prev, WRITE, 4, core)
            put_event(log, n + 4, ea + self.o_ep_free_head, READ, 4, core)
            self.act_next[act] = self.ep_free_head[ep]
            put_event(log, n + 5, aa + self.o_act_next, WRITE, 4, core)
            self.ep_free_head[ep] = <int32_t>act
            put_event(log, n + 6, ea + self.o_ep_free_head, WRITE, 4, core)
            n += 7
        counters = self.counters
        if woken >= 0:
            counters["kernel.ipc.handoffs"] += 1
        if cvs != svs and 0 <= cvs < self.n_vs and self.vs_used[cvs]:
            switch = True
            asid, flush = self.switch_to(cvs, log, n, core)
        else:
            log_commit(self.mem_d, n)
            asid, flush, switch = 0, False, False
        counters["kernel.ipc.reply.fast"] += 1
        return _result(self.ReplyResult, (
            OK, "fast", caller, switch, cvs, (r0, r1, r2), woken,
            act if woken >= 0 else -1, asid, flush, copied,
        ))


"""Synchronous RPC IPC on activations (docs/kernel-design.md, "IPC: call / reply on activations"):
the readable Python reference, written so that a Cython twin can mirror it line for line.

Design notes.

Objects. Four pools in kernel memory, every field access a timed KernelMemory load or store:

* `endpoint` (64 B): handler `entry` (uint64), `server` TCB (-1: dead), `server_vspace`,
  `pool_size` (activations owned), `pool_max`, `free_head` (free-activation list),
  `act_head` (list of every owned activation, for destroy), `wait_head` / `wait_tail` (FIFO of
  blocked callers).
* `activation` (1024 B, HM's ~1 KiB): saved return context `ret` (pc, sp, pstate of the caller:
  3 x uint64), `caller` TCB, `caller_vspace`, `owner` endpoint, `next` (free-list link),
  `sibling` (owner's all-activations link), `prev_act` (the activation the caller ran on before
  the call: nested calls from a handler restore it on reply), `msg_len`, `state` FREE / BUSY.
* `ipcbuf` (2048 B per activation): the 2 KiB receive buffer, so a long message / reply copy is
  real timed stores at real addresses. The 16 KiB stack and 128 B TLS are not laid out in
  memory: they are charged as bytes and frames in the counters (`activation_bytes`,
  `activation_frames`: 4 stack frames + 1 frame for buffer and TLS per activation).
* `ipcwait` (64 B, one record per TCB, indexed by TCB): a blocked caller's `ret`, `next`
  (wait FIFO link), `endpoint` (-1: not waiting), `vspace`, `msg_len`.

Free list, not bitmap: the design doc says "bitmap scan"; a bitmap of 5120 activations (80
words) does not fit a 64 B endpoint, while a free-list head pops in two dependent loads
(endpoint.free_head, activation.next). LIFO: the most recently freed activation (warm in the
caches) is reused first. Lowest-index-first allocation of records (Pool.alloc): deterministic.

Capabilities: an endpoint capability has object type cspace.ENDPOINT (4) and object index =
the endpoint index; callers install it themselves with `cspaces.install(cs, slot, ENDPOINT, ep,
rights)`; `call` needs the CALL right. Endpoint indices must be < cspaces.objects_per_type.

call(caller, caller_vspace, cspace, slot, msg_len, cap_transfer, ret) follows the guard list of
the design doc in order; each failing guard either records a slowpath cause (the call goes on)
or returns an error (no state changed):

  1. msg_len <= 96                                  else cause "long message"
  2. lookup(slot): ENDPOINT with CALL               else the lookup's error
  3. no capability transferred                      else cause "capability transfer"
  4. endpoint alive (server >= 0, its VSpace live)  else EPIPE
  5. a free activation (endpoint.free_head >= 0)    else pool < max: cause "pool growth"
                                                         (ENOMEM if the activation pool of the
                                                         whole kernel is exhausted);
                                                         pool == max: BLOCKED (the caller is
                                                         queued; nothing else changes)
  ---- point of no return ----
  pop (or grow) the activation, mark it BUSY, store caller, caller VSpace, return context, the
  caller's previous activation and msg_len in it, point the caller's TCB at it; copy a long
  message into its receive buffer (ceil(msg_len / 8) timed 8-byte stores); if the server's
  VSpace differs from the caller's, `vspaces.activate(server_vspace, mem.core)` (the TTBR0/ASID
  write; its cost is the "ipc.ttbr_switch" budget).

Arguments that no guard covers (a dead caller TCB or VSpace, msg_len outside [0, 2048], a
caller already waiting) are EINVAL-type errors checked first, from the pools' free maps and
the wait records' raw arrays (allocator bookkeeping, charged by the budget, as elsewhere).
`CallResult.reason` is the slowpath causes joined with "+" in guard order ("" on the fastpath;
"blocked" when the call blocked; a short description for errors, whose path is "slow" as in
seL4, where a failing guard enters the slowpath, which reports the error).

reply(activation, reply_len): guards: the activation is BUSY (and owned by `endpoint` when it
is given), 0 <= reply_len <= 2048; fast when reply_len <= 256, else slow (the reply is copied
through the receive buffer). Point of no return: the caller's TCB gets its previous activation
back; if callers wait on the endpoint, the activation goes straight to the first of them (it
stays BUSY, filled with the waiter's caller, VSpace, return context and message, a long
message copied into its buffer) and `ReplyResult.woken` names it: the syscall layer wakes that
thread, which then runs the handler on `ReplyResult.handoff`; otherwise the activation is
pushed on the free list. A switch back happens when the caller's VSpace differs from the
server's (and still exists).

Scheduling is not done here: on BLOCKED the syscall layer blocks the caller (threads.block)
and takes it off the queue with `cancel_wait` before destroying or suspending it,
on a handoff it wakes the waiter, on destroy it resumes the aborted callers with EPIPE. The
fastpath touches no run queue (migrating-thread style).

destroy_endpoint(ep): the endpoint dies (server = -1); every activation it owns is freed (BUSY
ones too: their callers, returned as `aborted`, get their previous activation back) and every
waiter is dequeued (returned as `waiters`). The record stays (a zombie: calls through stale
capabilities get EPIPE) until `release_endpoint(ep)`, which the caller makes when cspaces.delete
reports the last capability gone; release of a live endpoint destroys it first.

Costs: the "ipc.*" entries of hmk.kernel.costs.BUDGETS, each with its source; `ipc_budget` is a
path's budget, to which the caller adds the stalls of its logged accesses (costs.path_cycles).
Exception entry and return are the caller's, as for every kernel path (docs/kernel-design.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hmk.kernel.costs import BUDGETS
from hmk.kernel.cspace import CALL, ENDPOINT
from hmk.kernel.errors import BLOCKED, EINVAL, EMSGSIZE, ENOMEM, EPERM, EPIPE, OK
from hmk.kernel.objects import KernelMemory, Pool

FREE, BUSY = 0, 1

MAX_ARGS = 96  # bytes of call arguments on the fastpath (HM's public SDK; docs/sources.md)
MAX_REPLY = 256  # bytes of reply on the fastpath (same source)
BUF_BYTES = 2048  # the receive buffer: the longest message or reply
WORD = 8  # the copy moves 8-byte words
N_RET = 3  # saved return context: pc, sp, pstate
INITIAL_POOL = 8  # HM: pools start with 8 activations...
MAX_POOL = 5120  # ...and grow elastically up to 5120 (the same source)

ACT_RECORD = 1024
STACK_BYTES = 16 * 1024
TLS_BYTES = 128
ACT_BYTES = ACT_RECORD + STACK_BYTES + BUF_BYTES + TLS_BYTES  # charged per activation
ACT_FRAMES = STACK_BYTES // 4096 + 1  # 4 stack frames, 1 frame for the buffer and TLS

ENDPOINT_FIELDS = {  # 40 of 64 bytes
    "entry": (np.uint64, 1),
    "server": (np.int32, 1),
    "server_vspace": (np.int32, 1),
    "pool_size": (np.int32, 1),
    "pool_max": (np.int32, 1),
    "free_head": (np.int32, 1),
    "act_head": (np.int32, 1),
    "wait_head": (np.int32, 1),
    "wait_tail": (np.int32, 1),
}
ACT_FIELDS = {  # 24 + 28 + 1 = 53 of 1024 bytes
    "ret": (np.uint64, N_RET),
    "caller": (np.int32, 1),
    "caller_vspace": (np.int32, 1),
    "owner": (np.int32, 1),
    "next": (np.int32, 1),
    "sibling": (np.int32, 1),
    "prev_act": (np.int32, 1),
    "msg_len": (np.int32, 1),
    "state": (np.uint8, 1),
}
WAIT_FIELDS = {  # 24 + 16 = 40 of 64 bytes
    "ret": (np.uint64, N_RET),
    "next": (np.int32, 1),
    "endpoint": (np.int32, 1),
    "vspace": (np.int32, 1),
    "msg_len": (np.int32, 1),
}


class CallResult(NamedTuple):
    err: int
    path: str  # "fast" or "slow"
    activation: int  # -1 unless the call got one
    switch_vspace: bool
    reason: str  # slowpath causes joined by "+", "" on the fastpath
    entry: int = 0  # the handler's entry point
    asid: int = 0  # the server VSpace's ASID after the switch (0: no switch)
    flush: bool = False  # the switch rolled the ASID generation over: flush every TLB
    copied: int = 0  # bytes copied through the receive buffer
    grew: bool = False  # the pool grew by one activation


class ReplyResult(NamedTuple):
    err: int
    path: str
    caller_tcb: int
    switch_vspace: bool
    caller_vspace: int = -1
    ret: tuple = (0, 0, 0)  # the caller's saved pc, sp, pstate
    woken: int = -1  # a waiter that got the activation (the syscall layer wakes it)
    handoff: int = -1  # the activation handed to `woken`
    asid: int = 0
    flush: bool = False
    copied: int = 0


class DestroyResult(NamedTuple):
    err: int
    aborted: list  # callers whose call was in progress (resume them with EPIPE)
    waiters: list  # callers that were queued (resume them with EPIPE)
    freed: int  # activations freed


def _is_int(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


class Ipc:
    """Endpoints, their activation pools and wait queues, registered in `mem`."""

    def __init__(
        self,
        mem: KernelMemory,
        cspaces,
        threads,
        vspaces,
        capacity_endpoints: int,
        capacity_activations: int,
        initial_pool: int = INITIAL_POOL,
        max_pool: int = MAX_POOL,
    ):
        if capacity_endpoints > cspaces.objects_per_type:
            raise ValueError("ipc: more endpoints than a capability can name (objects_per_type)")
        if initial_pool < 0 or max_pool < 1:
            raise ValueError("ipc: pool sizes must be non-negative, the maximum positive")
        self.mem, self.cspaces, self.threads, self.vspaces = mem, cspaces, threads, vspaces
        self.max_pool = min(max_pool, capacity_activations)
        self.initial_pool = min(initial_pool, self.max_pool)
        self.ep = mem.register(Pool("endpoint", capacity_endpoints, 64, ENDPOINT_FIELDS))
        self.act = mem.register(Pool("activation", capacity_activations, ACT_RECORD, ACT_FIELDS))
        self.buf = mem.register(
            Pool("ipcbuf", capacity_activations, BUF_BYTES, {"data": (np.uint64, BUF_BYTES // 8)})
        )
        self.wait = mem.register(Pool("ipcwait", threads.tcb.capacity, 64, WAIT_FIELDS))
        for f in ("server", "server_vspace", "free_head", "act_head", "wait_head", "wait_tail"):
            self.ep[f][:] = -1
        for f in ("caller", "caller_vspace", "owner", "next", "sibling", "prev_act"):
            self.act[f][:] = -1
        for f in ("next", "endpoint", "vspace"):
            self.wait[f][:] = -1
        self.counters = {
            "kernel.ipc.fastpath": 0,
            "kernel.ipc.slowpath": 0,
            "kernel.ipc.slowpath.long message": 0,
            "kernel.ipc.slowpath.capability transfer": 0,
            "kernel.ipc.slowpath.pool growth": 0,
            "kernel.ipc.slowpath.blocked": 0,
            "kernel.ipc.errors": 0,
            "kernel.ipc.reply.fast": 0,
            "kernel.ipc.reply.slow": 0,
            "kernel.ipc.handoffs": 0,
            "kernel.ipc.activations_allocated": 0,
            "kernel.ipc.activations_freed": 0,
            "kernel.ipc.activation_bytes": 0,  # live: ACT_BYTES per activation
            "kernel.ipc.activation_frames": 0,  # live: ACT_FRAMES per activation
        }

    # ---- endpoints -----------------------------------------------------------------------

    def valid_endpoint(self, ep) -> bool:
        return _is_int(ep) and 0 <= ep < self.ep.capacity and bool(self.ep.used[ep])

    def create_endpoint(
        self, server_tcb: int, server_vspace: int, entry: int, *, initial=None, pool_max=None
    ) -> int:
        """A live endpoint served by `server_tcb` in `server_vspace`, handler at `entry`, with
        `initial` (default: initial_pool) activations, growing up to `pool_max` (default:
        max_pool): its index, or EINVAL / ENOMEM (nothing allocated)."""
        initial = self.initial_pool if initial is None else initial
        pool_max = self.max_pool if pool_max is None else pool_max
        if not (self.threads.valid(server_tcb) and self.vspaces.valid(server_vspace)):
            return EINVAL
        if not (_is_int(entry) and 0 <= entry < 1 << 64):
            return EINVAL
        if not (_is_int(pool_max) and 1 <= pool_max <= self.max_pool):
            return EINVAL
        if not (_is_int(initial) and 0 <= initial <= pool_max):
            return EINVAL
        if self.act.capacity - self.act.in_use < initial:
            return ENOMEM
        ep = self.ep.alloc()
        if ep < 0:
            return ENOMEM
        st = self.mem.store
        st(self.ep, ep, "entry", entry)
        st(self.ep, ep, "server", server_tcb)
        st(self.ep, ep, "server_vspace", server_vspace)
        st(self.ep, ep, "pool_size", 0)
        st(self.ep, ep, "pool_max", pool_max)
        st(self.ep, ep, "free_head", -1)
        st(self.ep, ep, "act_head", -1)
        st(self.ep, ep, "wait_head", -1)
        st(self.ep, ep, "wait_tail", -1)
        for _ in range(initial):
            a = self._new_activation(ep)
            st(self.act, a, "next", self.mem.load(self.ep, ep, "free_head"))
            st(self.ep, ep, "free_head", a)
        return ep

    def destroy_endpoint(self, ep: int) -> DestroyResult:
        """Kill a live endpoint: free all its activations, dequeue all its waiters."""
        if not self.valid_endpoint(ep):
            return DestroyResult(EINVAL, [], [], 0)
        load, st = self.mem.load, self.mem.store
        if load(self.ep, ep, "server") < 0:
            return DestroyResult(EPIPE, [], [], 0)
        aborted, waiters, freed = [], [], 0
        a = load(self.ep, ep, "act_head")
        while a >= 0:
            nxt = load(self.act, a, "sibling")
            if load(self.act, a, "state") == BUSY:
                caller = load(self.act, a, "caller")
                aborted.append(caller)
                if self.threads.valid(caller):
                    st(self.threads.tcb, caller, "activation", load(self.act, a, "prev_act"))
            self._clear_activation(a)
            self.act.free(a)
            freed += 1
            a = nxt
        w = load(self.ep, ep, "wait_head")
        while w >= 0:
            waiters.append(w)
            nxt = load(self.wait, w, "next")
            self._clear_wait(w)
            w = nxt
        for f in ("server", "server_vspace", "free_head", "act_head", "wait_head", "wait_tail"):
            st(self.ep, ep, f, -1)
        st(self.ep, ep, "pool_size", 0)
        self.counters["kernel.ipc.activations_freed"] += freed
        self.counters["kernel.ipc.activation_bytes"] -= freed * ACT_BYTES
        self.counters["kernel.ipc.activation_frames"] -= freed * ACT_FRAMES
        return DestroyResult(OK, aborted, waiters, freed)

    def release_endpoint(self, ep: int) -> int:
        """Free the endpoint record (its last capability is gone); destroys it if alive."""
        if not self.valid_endpoint(ep):
            return EINVAL
        if self.mem.load(self.ep, ep, "server") >= 0:
            self.destroy_endpoint(ep)
        self.mem.store(self.ep, ep, "entry", 0)
        self.mem.store(self.ep, ep, "pool_max", 0)
        self.ep.free(ep)
        return OK

    def cancel_wait(self, tcb: int) -> int:
        """Take a queued caller off its endpoint's wait queue (the thread layer calls this
        before destroying or suspending a waiting thread): OK, or EINVAL if it is not waiting."""
        if not (_is_int(tcb) and 0 <= tcb < self.wait.capacity):
            return EINVAL
        load, st = self.mem.load, self.mem.store
        ep = load(self.wait, tcb, "endpoint")
        if ep < 0:
            return EINVAL
        prev, cur = -1, load(self.ep, ep, "wait_head")
        while cur != tcb:
            prev, cur = cur, load(self.wait, cur, "next")
        nxt = load(self.wait, tcb, "next")
        if prev < 0:
            st(self.ep, ep, "wait_head", nxt)
        else:
            st(self.wait, prev, "next", nxt)
        if nxt < 0:
            st(self.ep, ep, "wait_tail", prev)
        self._clear_wait(tcb)
        return OK

    # ---- call ----------------------------------------------------------------------------

    def call(
        self,
        caller_tcb: int,
        caller_vspace: int,
        cspace: int,
        slot: int,
        msg_len: int,
        cap_transfer: bool = False,
        ret=(0, 0, 0),
    ) -> CallResult:
        """Call the endpoint in `slot` of `cspace` with a `msg_len`-byte message; `ret` is the
        caller's return context (pc, sp, pstate) saved in the activation."""
        load, st = self.mem.load, self.mem.store
        # arguments no guard covers (bookkeeping)
        if not (self.threads.valid(caller_tcb) and self.vspaces.valid(caller_vspace)):
            return self._error(EINVAL, "bad argument")
        if not _is_int(msg_len) or msg_len < 0:
            return self._error(EINVAL, "bad argument")
        if msg_len > BUF_BYTES:
            return self._error(EMSGSIZE, "message too long")
        if self.wait["endpoint"][caller_tcb] >= 0:
            return self._error(EINVAL, "caller is waiting")
        causes = []
        # guard 1: the message fits the argument registers
        if msg_len > MAX_ARGS:
            causes.append("long message")
        # guard 2: an endpoint capability with the CALL right
        err, ep = self.cspaces.lookup(cspace, slot, ENDPOINT, CALL)
        if err != OK:
            return self._error(err, "lookup failed")
        # guard 3: no capability transferred
        if cap_transfer:
            causes.append("capability transfer")
        # guard 4: the endpoint is alive
        if not self.valid_endpoint(ep):
            return self._error(EPIPE, "dead endpoint")
        server = load(self.ep, ep, "server")
        if server < 0:
            return self._error(EPIPE, "dead endpoint")
        server_vspace = load(self.ep, ep, "server_vspace")
        if not self.vspaces.valid(server_vspace):
            return self._error(EPIPE, "dead endpoint")
        # guard 5: a free activation
        grow = False
        act = load(self.ep, ep, "free_head")
        if act < 0:
            if load(self.ep, ep, "pool_size") < load(self.ep, ep, "pool_max"):
                if self.act.in_use == self.act.capacity:
                    return self._error(ENOMEM, "no memory")
                causes.append("pool growth")
                grow = True
            else:
                self._enqueue(ep, caller_tcb, caller_vspace, msg_len, ret)
                causes.append("blocked")
                self._count_slow(causes)
                return CallResult(BLOCKED, "slow", -1, False, "+".join(causes))
        # ---- point of no return ----
        if grow:
            act = self._new_activation(ep)
        else:
            st(self.ep, ep, "free_head", load(self.act, act, "next"))
        st(self.act, act, "next", -1)
        self._fill(act, caller_tcb, caller_vspace, msg_len, ret)
        copied = 0
        if msg_len > MAX_ARGS:
            copied = self._copy(act, msg_len)
        entry = load(self.ep, ep, "entry")
        switch = server_vspace != caller_vspace
        asid, flush = 0, False
        if switch:
            asid, flush = self.vspaces.activate(server_vspace, self.mem.core)
        if causes:
            self._count_slow(causes)
            path = "slow"
        else:
            self.counters["kernel.ipc.fastpath"] += 1
            path = "fast"
        return CallResult(
            OK, path, act, switch, "+".join(causes), entry, asid, bool(flush), copied, grow
        )

    # ---- reply ---------------------------------------------------------------------------

    def reply(self, activation: int, reply_len: int, endpoint: int = -1) -> ReplyResult:
        """Reply `reply_len` bytes on a BUSY activation (owned by `endpoint` if one is given)
        and return to its caller; the activation goes to the first waiter or is freed."""
        load, st = self.mem.load, self.mem.store
        if not (_is_int(activation) and 0 <= activation < self.act.capacity):
            return ReplyResult(EINVAL, "slow", -1, False)
        if not self.act.used[activation]:
            return ReplyResult(EINVAL, "slow", -1, False)
        if not _is_int(reply_len) or reply_len < 0:
            return ReplyResult(EINVAL, "slow", -1, False)
        if reply_len > BUF_BYTES:
            return ReplyResult(EMSGSIZE, "slow", -1, False)
        # guard: busy and owned by the endpoint
        if load(self.act, activation, "state") != BUSY:
            return ReplyResult(EINVAL, "slow", -1, False)
        ep = load(self.act, activation, "owner")
        if endpoint >= 0 and ep != endpoint:
            return ReplyResult(EPERM, "slow", -1, False)
        caller = load(self.act, activation, "caller")
        caller_vspace = load(self.act, activation, "caller_vspace")
        ret = (
            load(self.act, activation, "ret", 0),
            load(self.act, activation, "ret", 1),
            load(self.act, activation, "ret", 2),
        )
        prev = load(self.act, activation, "prev_act")
        server_vspace = load(self.ep, ep, "server_vspace")
        # ---- point of no return ----
        copied = 0
        if reply_len > MAX_REPLY:
            copied = self._copy(activation, reply_len)
        if self.threads.valid(caller):
            st(self.threads.tcb, caller, "activation", prev)
        woken = load(self.ep, ep, "wait_head")
        if woken >= 0:
            nxt = load(self.wait, woken, "next")
            st(self.ep, ep, "wait_head", nxt)
            if nxt < 0:
                st(self.ep, ep, "wait_tail", -1)
            w_ret = (
                load(self.wait, woken, "ret", 0),
                load(self.wait, woken, "ret", 1),
                load(self.wait, woken, "ret", 2),
            )
            w_vspace = load(self.wait, woken, "vspace")
            w_len = load(self.wait, woken, "msg_len")
            self._clear_wait(woken)
            self._fill(activation, woken, w_vspace, w_len, w_ret)
            if w_len > MAX_ARGS:
                copied += self._copy(activation, w_len)
            self.counters["kernel.ipc.handoffs"] += 1
        else:
            st(self.act, activation, "state", FREE)
            st(self.act, activation, "caller", -1)
            st(self.act, activation, "caller_vspace", -1)
            st(self.act, activation, "prev_act", -1)
            st(self.act, activation, "next", load(self.ep, ep, "free_head"))
            st(self.ep, ep, "free_head", activation)
        switch = caller_vspace != server_vspace and self.vspaces.valid(caller_vspace)
        asid, flush = 0, False
        if switch:
            asid, flush = self.vspaces.activate(caller_vspace, self.mem.core)
        path = "fast" if reply_len <= MAX_REPLY else "slow"
        self.counters["kernel.ipc.reply." + path] += 1
        return ReplyResult(
            OK,
            path,
            caller,
            switch,
            caller_vspace,
            ret,
            woken,
            activation if woken >= 0 else -1,
            asid,
            bool(flush),
            copied,
        )

    # ---- helpers -------------------------------------------------------------------------

    def _error(self, err: int, reason: str) -> CallResult:
        self.counters["kernel.ipc.errors"] += 1
        return CallResult(err, "slow", -1, False, reason)

    def _count_slow(self, causes) -> None:
        self.counters["kernel.ipc.slowpath"] += 1
        for c in causes:
            self.counters["kernel.ipc.slowpath." + c] += 1

    def _new_activation(self, ep: int) -> int:
        """A FREE activation owned by `ep`, on its all-activations list (not its free list);
        the caller has checked that the pool has room."""
        load, st = self.mem.load, self.mem.store
        a = self.act.alloc()
        st(self.act, a, "state", FREE)
        st(self.act, a, "owner", ep)
        st(self.act, a, "caller", -1)
        st(self.act, a, "caller_vspace", -1)
        st(self.act, a, "prev_act", -1)
        st(self.act, a, "msg_len", 0)
        st(self.act, a, "next", -1)
        st(self.act, a, "sibling", load(self.ep, ep, "act_head"))
        st(self.ep, ep, "act_head", a)
        st(self.ep, ep, "pool_size", load(self.ep, ep, "pool_size") + 1)
        self.counters["kernel.ipc.activations_allocated"] += 1
        self.counters["kernel.ipc.activation_bytes"] += ACT_BYTES
        self.counters["kernel.ipc.activation_frames"] += ACT_FRAMES
        return a

    def _fill(self, act: int, caller: int, caller_vspace: int, msg_len: int, ret) -> None:
        """Mark `act` BUSY for `caller` and point the caller's TCB at it."""
        load, st = self.mem.load, self.mem.store
        st(self.act, act, "state", BUSY)
        st(self.act, act, "caller", caller)
        st(self.act, act, "caller_vspace", caller_vspace)
        st(self.act, act, "ret", ret[0], 0)
        st(self.act, act, "ret", ret[1], 1)
        st(self.act, act, "ret", ret[2], 2)
        st(self.act, act, "prev_act", load(self.threads.tcb, caller, "activation"))
        st(self.act, act, "msg_len", msg_len)
        st(self.threads.tcb, caller, "activation", act)

    def _copy(self, act: int, nbytes: int) -> int:
        """Copy `nbytes` into the receive buffer of `act`: one timed store per 8-byte word."""
        words = (nbytes + WORD - 1) // WORD
        for k in range(words):
            self.mem.store(self.buf, act, "data", 0, k)
        return nbytes

    def _enqueue(self, ep: int, caller: int, caller_vspace: int, msg_len: int, ret) -> None:
        load, st = self.mem.load, self.mem.store
        st(self.wait, caller, "ret", ret[0], 0)
        st(self.wait, caller, "ret", ret[1], 1)
        st(self.wait, caller, "ret", ret[2], 2)
        st(self.wait, caller, "next", -1)
        st(self.wait, caller, "endpoint", ep)
        st(self.wait, caller, "vspace", caller_vspace)
        st(self.wait, caller, "msg_len", msg_len)
        tail = load(self.ep, ep, "wait_tail")
        if tail < 0:
            st(self.ep, ep, "wait_head", caller)
        else:
            st(self.wait, tail, "next", caller)
        st(self.ep, ep, "wait_tail", caller)

    def _clear_wait(self, w: int) -> None:
        st = self.mem.store
        st(self.wait, w, "next", -1)
        st(self.wait, w, "endpoint", -1)
        st(self.wait, w, "vspace", -1)
        st(self.wait, w, "msg_len", 0)

    def _clear_activation(self, a: int) -> None:
        st = self.mem.store
        st(self.act, a, "state", FREE)
        for f in ("caller", "caller_vspace", "owner", "next", "sibling", "prev_act"):
            st(self.act, a, f, -1)
        st(self.act, a, "msg_len", 0)


def ipc_budget(result) -> int:
    """The instruction budget of one call or reply path (exception entry/return excluded); the
    caller adds the stalls of its logged accesses (costs.path_cycles)."""
    b = BUDGETS
    is_call = isinstance(result, CallResult)
    budget = b["ipc.fast_call"] if is_call else b["ipc.fast_reply"]
    if result.path == "slow":
        budget += b["ipc.slow_extra"]
    if result.switch_vspace:
        budget += b["ipc.ttbr_switch"]
    budget += b["ipc.copy_per_word"] * ((result.copied + WORD - 1) // WORD)
    if is_call:
        if result.grew:
            budget += b["ipc.grow"]
        if "capability transfer" in result.reason:
            budget += b["ipc.cap_transfer"]
        if result.err == BLOCKED:
            budget += b["ipc.block"]
    elif result.woken >= 0:
        budget += b["ipc.handoff"]
    return budget

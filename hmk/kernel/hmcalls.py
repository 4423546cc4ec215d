"""Core-kernel calls: HM's native interface, as guest programs reach it.

An SVC whose x8 is HM_CALL_BASE + n is a core-kernel call (any other number goes to the
process's personality). Arguments in x0-x3, the result in x0; errors are the core kernel's
negative codes (hmk.kernel.errors). workloads/hm/hmcalls.h is the guest side (its numbers are
generated from CALLS: tools/genshared.py).

Threads share their creator's process (VSpace and CSpace). IPC is HM's migrating-thread RPC:
`ipc_call` borrows an activation of the endpoint's pool and the *calling thread* runs the
handler on the activation's stack (no scheduler, no run queue), in the server's VSpace;
`ipc_reply` returns the activation and resumes the caller after its call with x0 = the value.
`ep_create_domain` serves an endpoint in a new protection domain running the same program
image (hmk.kernel.core.CoreKernel.spawn_domain), so calls to it switch address spaces.
The server gives its endpoint the memory for activation stacks (`ep_create`), 16 KiB each
(HM's activation stack); the pool grows up to that many activations. A handler starts with
x0-x2 = the call's arguments and x30 = 0 (it must reply; returning faults).
"""

from __future__ import annotations

from hmk.hw.pagetable import VA_LIMIT
from hmk.kernel.costs import BUDGETS
from hmk.kernel.cspace import ALL_RIGHTS, ENDPOINT, FRAME, GRANT, NOTIFICATION, READ, TOKEN, WRITE
from hmk.kernel.errors import BLOCKED, EINVAL, ENOENT, ENOMEM, ENOSYS, EPIPE, OK
from hmk.kernel.ipc import INITIAL_POOL

HM_CALL_BASE = 0x1000
ACTIVATION_STACK = 16 * 1024  # HM's activation stack (its public SDK; docs/sources.md)
MSG_BYTES = 24  # an ipc_call's three argument registers

# number (from HM_CALL_BASE) -> (name, its arguments and result, as workloads/hm/hmcalls.h says)
CALLS = {
    0x00: ("thread_create", "(entry, stack top, arg, priority) -> thread id"),
    0x01: ("thread_yield", "() -> 0"),
    0x02: ("thread_exit", "() -> does not return; the last thread ends the process"),
    0x03: ("thread_set_priority", "(thread, priority) -> 0"),
    0x04: ("thread_suspend", "(thread) -> 0"),
    0x05: ("thread_resume", "(thread) -> 0"),
    0x06: ("thread_self", "() -> thread id"),
    0x10: ("ep_create", "(slot, handler, stacks, stacks' bytes) -> 0"),
    0x11: ("ipc_call", "(slot, a0, a1, a2) -> the handler's reply"),
    0x12: ("ipc_reply", "(value) -> returns in the caller, not here"),
    0x13: ("ep_create_domain", "as ep_create, served in a new domain running this program"),
    0x14: ("ep_destroy", "(slot) -> 0; later calls get -EPIPE (a dead endpoint)"),
    0x20: ("cap_derive", "(source slot, destination slot, rights) -> 0"),
    0x21: ("cap_delete", "(slot) -> 0"),
    0x22: ("cap_revoke", "(slot) -> slots deleted"),
    0x30: ("ntfn_create", "(slot) -> 0: a notification"),
    0x31: ("notify", "(slot, bits below 2^63) -> 0"),
    0x32: ("wait", "(slot) -> the pending bits; blocks while none"),
    0x40: ("frame_alloc", "(slot) -> 0: a zeroed 4 KiB frame"),
    0x41: ("vspace_map", "(frame slot, va, HM_MAP_* flags) -> 0"),
    0x42: ("vspace_unmap", "(frame slot) -> 0"),
    0x43: ("vspace_protect", "(frame slot, HM_MAP_* flags) -> 0"),
    0x44: ("token_grant", "(notification slot, token slot, va, writable) -> the record's address"),
    0x45: ("token_revoke", "(token slot) -> 0"),
}
NAMES = {n: name for n, (name, _) in CALLS.items()}
# where a program may map frames and tokens itself (the Linux personality never places memory
# there: its mmap areas grow down from just below KERNEL_BASE)
MAP_WINDOW = (0x6000_0000_0000, 0x7000_0000_0000)
MAP_WRITABLE, MAP_EXECUTABLE = 1, 2


def is_hm_call(nr: int) -> bool:
    return HM_CALL_BASE <= nr < HM_CALL_BASE + 0x100


class Endpoint:
    """What the kernel knows of a guest endpoint beyond its kernel record: its server process
    and the stacks its activations run on (one 16 KiB slot per activation, given out in order
    of first use)."""

    def __init__(self, proc, stacks: int, slots: int):
        self.proc, self.stacks, self.slots = proc, stacks, slots
        self.slot_of: dict[int, int] = {}

    def stack_top(self, act: int) -> int:
        k = self.slot_of.setdefault(act, len(self.slot_of))
        return self.stacks + (k + 1) * ACTIVATION_STACK


class HmCalls:
    """The dispatcher: `call(machine, n, args)` serves core-kernel call n for the running
    thread and returns the value for x0, or None when the call already set the registers
    (a call into a handler, a reply, an exit)."""

    def __init__(self, kernel):
        self.k = kernel
        self.endpoints: dict[int, Endpoint] = {}
        self.saved: dict[int, list[int]] = {}  # activation -> the caller's full context
        self.waiting: dict[int, tuple] = {}  # tcb queued on an endpoint -> (args, context)

    def call(self, machine, n: int, args) -> int | None:
        name = NAMES.get(n)
        self.k.counts[f"kernel.hmcalls.{name or 'unknown'}"] += 1
        if name is None:
            return ENOSYS
        return getattr(self, name)(machine, *args[:4])

    # ---- threads -------------------------------------------------------------------------
    def thread_create(self, m, entry, stack_top, arg, priority):
        k = self.k
        if not (0 < entry < VA_LIMIT and 0 < stack_top < VA_LIMIT and stack_top % 16 == 0):
            return EINVAL
        proc = k.process_of(k.running)
        tcb = k.threads.create(priority, k.home_core(), proc.vspace, proc.cspace)
        if tcb < 0:
            return tcb
        ctx = [0] * 34
        ctx[0], ctx[31], ctx[32] = arg, stack_top, entry
        for i, value in enumerate(ctx):
            k.mem.store(k.threads.tcb, tcb, "regs", value, i)
        k.adopt(tcb, proc, m.extra_context())  # FP state and TLS pointer: the creator's
        k.threads.resume(tcb)
        k.need_resched = True
        k.charge("hmcall", k.path(BUDGETS["thread.create"]))
        return tcb

    def thread_yield(self, m, *_):
        self.k.threads.yield_(self.k.cpu)
        self.k.need_resched = True
        self.k.charge("hmcall", self.k.path(BUDGETS["thread.op"]))
        return 0

    def thread_exit(self, m, *_):
        self.k.exit_thread(m, self.k.running)
        return None

    def thread_set_priority(self, m, tcb, priority, *_):
        return self._op(self.k.threads.set_priority(tcb, priority) if self._own(tcb) else ENOENT)

    def thread_suspend(self, m, tcb, *_):
        if not self._own(tcb):
            return self._op(ENOENT)
        self.forget_thread(tcb)
        return self._op(self.k.threads.suspend(tcb))

    def thread_resume(self, m, tcb, *_):
        return self._op(self.k.threads.resume(tcb) if self._own(tcb) else ENOENT)

    def thread_self(self, m, *_):
        return self.k.running

    def _own(self, tcb) -> bool:
        """A thread of the caller's process (the only threads a guest may name)."""
        k = self.k
        return k.threads.valid(tcb) and k.process_of(tcb) is k.process_of(k.running)

    def _op(self, result: int) -> int:
        self.k.need_resched = True
        self.k.charge("hmcall", self.k.path(BUDGETS["thread.op"]))
        return result

    # ---- capabilities --------------------------------------------------------------------
    def cap_derive(self, m, src, dst, rights, *_):
        cs = self.k.process_of(self.k.running).cspace
        err = self.k.caps.derive(cs, src, cs, dst, rights, 0)
        self.k.charge("hmcall", self.k.path(BUDGETS["cap.derive"]))
        return err

    def cap_delete(self, m, slot, *_):
        k = self.k
        cs = k.process_of(k.running).cspace
        kind, obj = self._slot_content(cs, slot)
        err, last = k.caps.delete(cs, slot)
        if err == OK and last:  # the last capability: the object goes too
            if kind == ENDPOINT:
                self._kill_endpoint(obj)
                k.ipc.release_endpoint(obj)
                self.endpoints.pop(obj, None)
            elif kind == NOTIFICATION:
                waiter = k.notifications.destroy(obj)
                if waiter >= 0:
                    self._resume_with(waiter, EPIPE)
            elif kind == FRAME:
                self._tlb(k.frame_objects.destroy(obj)[1])
            elif kind == TOKEN:
                self._tlb(k.tokens.revoke(obj)[1])
        k.charge("hmcall", k.path(BUDGETS["cap.delete"]))
        return err

    def _slot_content(self, cs, slot) -> tuple[int, int]:
        """(type, object) in a slot (an untimed peek: delete's own loads are timed)."""
        caps = self.k.caps
        if not (isinstance(slot, int) and 0 <= slot < int(caps.cspace["size"][cs])):
            return -1, -1
        s = int(caps.cspace["first"][cs]) + slot
        return int(caps.slot["type"][s]), int(caps.slot["object"][s])

    def cap_revoke(self, m, slot, *_):
        cs = self.k.process_of(self.k.running).cspace
        err, deleted = self.k.caps.revoke(cs, slot)
        budget = BUDGETS["cap.lookup"] + BUDGETS["cap.revoke_per_slot"] * max(deleted, 0)
        self.k.charge("hmcall", self.k.path(budget))
        return err if err != OK else deleted

    # ---- endpoints and IPC ---------------------------------------------------------------
    def ep_create_domain(self, m, slot, entry, stacks, nbytes):
        """As ep_create, but the endpoint is served in a new protection domain (its own
        VSpace) running this program's image: calls to it switch address spaces."""
        k = self.k
        caller = k.process_of(k.running)
        if not self._endpoint_args_ok(entry, stacks, nbytes):
            return EINVAL
        try:
            server = k.spawn_domain(caller, f"{caller.name}.server{len(self.endpoints)}")
        except MemoryError:
            return ENOMEM
        return self.ep_create(m, slot, entry, stacks, nbytes, server=server, cspace=caller.cspace)

    def _endpoint_args_ok(self, entry, stacks, nbytes) -> bool:
        return (
            0 < entry < VA_LIMIT
            and nbytes >= ACTIVATION_STACK
            and stacks % 16 == 0
            and 0 < stacks < stacks + nbytes <= VA_LIMIT
        )

    def ep_create(self, m, slot, entry, stacks, nbytes, *, server=None, cspace=None):
        k = self.k
        proc = server or k.process_of(k.running)
        server_tcb = proc.tcb if server is not None else k.running
        cspace = proc.cspace if cspace is None else cspace
        if not self._endpoint_args_ok(entry, stacks, nbytes):
            return EINVAL
        slots = min(nbytes // ACTIVATION_STACK, k.ipc.max_pool)
        ep = k.ipc.create_endpoint(
            server_tcb, proc.vspace, entry, initial=min(INITIAL_POOL, slots), pool_max=slots
        )
        if ep < 0:
            k.mem.take_log()
            return ep
        err = k.caps.install(cspace, slot, ENDPOINT, ep, ALL_RIGHTS)
        if err != OK:
            k.ipc.release_endpoint(ep)
            k.mem.take_log()
            return err
        self.endpoints[ep] = Endpoint(proc, stacks, slots)
        k.charge("hmcall", k.path(BUDGETS["ep.create"]))
        return OK

    def ep_destroy(self, m, slot, *_):
        """Kill the endpoint in `slot` (the GRANT right: its owner's capability): calls in
        progress finish, queued callers and later calls get EPIPE (a dead endpoint)."""
        k = self.k
        err, ep = k.caps.lookup(k.process_of(k.running).cspace, slot, ENDPOINT, GRANT)
        if err == OK:
            err = self._kill_endpoint(ep)
        k.charge("hmcall", k.path(BUDGETS["thread.op"]))
        return err

    def _kill_endpoint(self, ep) -> int:
        res = self.k.ipc.destroy_endpoint(ep)
        for tcb in res.waiters:
            self.waiting.pop(tcb, None)
            self._resume_with(tcb, EPIPE)
        return res.err

    def _resume_with(self, tcb: int, value: int) -> None:
        """Wake a blocked thread with `value` as its call's result (x0 in its saved frame)."""
        self.k.mem.store(self.k.threads.tcb, tcb, "regs", value & (1 << 64) - 1, 0)
        self.k.threads.wake(tcb)
        self.k.need_resched = True

    # ---- frames and address tokens -------------------------------------------------------
    def frame_alloc(self, m, slot, *_):
        """A zeroed frame, named by a capability (READ, WRITE, GRANT) in `slot`."""
        k = self.k
        f = k.frame_objects.create()
        if f < 0:
            k.mem.take_log()
            return f
        err = k.caps.install(k.process_of(k.running).cspace, slot, FRAME, f, READ | WRITE | GRANT)
        if err != OK:
            k.frame_objects.destroy(f)
        k.charge("hmcall", k.path(BUDGETS["thread.create"]))  # a frame's set-up, ~a TCB's
        return err

    def vspace_map(self, m, slot, va, flags, *_):
        """Map the frame in `slot` at `va` (in MAP_WINDOW) of the caller's VSpace; flags:
        MAP_WRITABLE (needs the WRITE right), MAP_EXECUTABLE."""
        k = self.k
        writable = bool(flags & MAP_WRITABLE)
        err, f = self._lookup(slot, FRAME, READ | (WRITE if writable else 0))
        if err == OK and not self._in_window(va):
            err = EINVAL
        if err == OK:
            vspace = k.current.vspace  # the address space the thread runs in
            err, tlbi = k.frame_objects.map(f, vspace, va, writable, bool(flags & MAP_EXECUTABLE))
            self._tlb(tlbi)
        k.charge("hmcall", k.path(BUDGETS["vs.map"]))
        return err

    def vspace_unmap(self, m, slot, *_):
        k = self.k
        err, f = self._lookup(slot, FRAME, READ)
        if err == OK:
            err, tlbi = k.frame_objects.unmap(f)
            self._tlb(tlbi)
        k.charge("hmcall", k.path(BUDGETS["vs.unmap"]))
        return err

    def vspace_protect(self, m, slot, flags, *_):
        k = self.k
        writable = bool(flags & MAP_WRITABLE)
        err, f = self._lookup(slot, FRAME, READ | (WRITE if writable else 0))
        if err == OK:
            err, tlbi = k.frame_objects.protect(f, writable, bool(flags & MAP_EXECUTABLE))
            self._tlb(tlbi)
        k.charge("hmcall", k.path(BUDGETS["vs.protect"]))
        return err

    def token_grant(self, m, slot, token_slot, va, writable):
        """An address token for the notification in `slot` (READ; WRITE if `writable`): its
        kernel page mapped at `va` (in MAP_WINDOW); the token's capability goes in
        `token_slot`. Returns the address of the notification's record in the mapping (its
        pending word is the first 8 bytes)."""
        k = self.k
        err, n = self._lookup(slot, NOTIFICATION, READ | (WRITE if writable else 0))
        if err == OK and not self._in_window(va):
            err = EINVAL
        if err == OK:
            t = k.tokens.grant("notification", n, k.current.vspace, va, bool(writable))
            if t < 0:
                err = t
            else:
                cs = k.process_of(k.running).cspace
                err = k.caps.install(cs, token_slot, TOKEN, t, READ)
                if err != OK:
                    self._tlb(k.tokens.revoke(t)[1])
                else:
                    k.counts["kernel.tokens.granted"] += 1
                    result = k.tokens.service_address(t, "word")
        k.charge("hmcall", k.path(BUDGETS["token.grant"]))
        return result if err == OK else err

    def token_revoke(self, m, slot, *_):
        """Revoke the token in `slot` (its mapping goes; the slot is emptied)."""
        k = self.k
        err, t = self._lookup(slot, TOKEN, READ)
        if err == OK:
            err, tlbi = k.tokens.revoke(t)
            self._tlb(tlbi)
            k.caps.delete(k.process_of(k.running).cspace, slot)
        k.charge("hmcall", k.path(BUDGETS["token.revoke_per_page"] + BUDGETS["cap.delete"]))
        return err

    def _lookup(self, slot, kind, rights):
        k = self.k
        return k.caps.lookup(k.process_of(k.running).cspace, slot, kind, rights)

    @staticmethod
    def _in_window(va) -> bool:
        return MAP_WINDOW[0] <= va < MAP_WINDOW[1] and va % 4096 == 0

    def _tlb(self, tlbi) -> None:
        """The TLB maintenance a mapping change returned: on the CPU and the timing model."""
        for va, asid in tlbi:
            self.k.tlbi([va], asid)

    # ---- notifications -------------------------------------------------------------------
    def ntfn_create(self, m, slot, *_):
        k = self.k
        n = k.notifications.create()
        if n < 0:
            return n
        err = k.caps.install(k.process_of(k.running).cspace, slot, NOTIFICATION, n, READ | WRITE)
        if err != OK:
            k.notifications.destroy(n)
        k.charge("hmcall", k.path(BUDGETS["thread.op"]))
        return err

    def notify(self, m, slot, bits, *_):
        """OR `bits` (below 2^63) into the notification (the WRITE right): a waiter wakes with
        the word; returns 0."""
        k = self.k
        err, n = k.caps.lookup(k.process_of(k.running).cspace, slot, NOTIFICATION, WRITE)
        if err == OK:
            woken, word = k.notifications.signal(n, bits)
            if woken >= 0:
                k.mem.store(k.threads.tcb, woken, "regs", word, 0)
                k.need_resched = True
            err = woken if woken < -1 else OK
        k.charge("hmcall", k.path(BUDGETS["thread.op"]))
        return err

    def wait(self, m, slot, *_):
        """The pending bits (the READ right), or block until a notify delivers them."""
        k = self.k
        err, n = k.caps.lookup(k.process_of(k.running).cspace, slot, NOTIFICATION, READ)
        result = err if err != OK else k.notifications.wait(n, k.running)
        k.charge("hmcall", k.path(BUDGETS["thread.op"]))
        if result == BLOCKED:
            k.need_resched = True
            return None
        return result

    def ipc_call(self, m, slot, a0, a1, a2):
        k = self.k
        tcb, proc = k.running, k.process_of(k.running)
        ctx = m.context()
        res = k.ipc_paths.call(
            tcb, proc.vspace, proc.cspace, slot, MSG_BYTES, ret=tuple(ctx[31:34])
        )
        k.charge("ipc", k.ipc_path(res))
        if res.err == BLOCKED:  # no activation free: wait on the endpoint's queue
            self.waiting[tcb] = ((a0, a1, a2), ctx)
            k.threads.block(tcb)
            k.need_resched = True
            return None
        if res.err != OK:
            return res.err
        if int(k.ipc.act["owner"][res.activation]) not in self.endpoints:
            # a service endpoint (the memory manager's): served in Python, not by guest code,
            # and not open to programs' calls yet: hand the activation straight back
            k.charge("ipc", k.ipc_path(k.ipc_paths.reply(res.activation, 0)))
            if res.switch_vspace:
                k.activate(proc)
            return ENOSYS
        self._enter(m, tcb, res.activation, (a0, a1, a2), ctx, res)
        return None

    def ipc_reply(self, m, value, *_):
        k = self.k
        tcb = k.running
        act = int(k.threads.tcb["activation"][tcb])  # the activation it runs on (untimed)
        if act < 0 or act not in self.saved:
            return EINVAL
        res = k.ipc_paths.reply(act, 8)
        k.charge("ipc", k.ipc_path(res))
        if res.err != OK:
            return res.err
        ctx = self.saved.pop(act)
        ctx[0] = value
        m.set_context(ctx)
        if res.switch_vspace:
            k.switch_space(m, k.by_vspace[res.caller_vspace], res.asid, res.flush)
        if res.woken >= 0:  # the activation went straight to a queued caller
            args, wctx = self.waiting.pop(res.woken)
            self.saved[res.handoff] = wctx
            k.set_saved_context(res.woken, self._handler_context(res.handoff, args, wctx))
            k.threads.wake(res.woken)
            k.need_resched = True
        return None

    def _enter(self, m, tcb, act, args, ctx, res) -> None:
        """Run the handler on `act` in the calling thread (migrating-thread style)."""
        self.saved[act] = ctx
        m.set_context(self._handler_context(act, args, ctx))
        if res.switch_vspace:
            ep = int(self.k.ipc.act["owner"][act])
            self.k.switch_space(m, self.endpoints[ep].proc, res.asid, res.flush)

    def _handler_context(self, act, args, ctx) -> list[int]:
        k = self.k
        ep = int(k.ipc.act["owner"][act])
        entry = int(k.ipc.ep["entry"][ep])
        new = [0] * 34
        new[0:3] = args
        new[31], new[32], new[33] = self.endpoints[ep].stack_top(act), entry, ctx[33]
        return new

    def forget_thread(self, tcb: int) -> None:
        if tcb in self.waiting:
            self.k.ipc.cancel_wait(tcb)
            self.waiting.pop(tcb)
        self.k.notifications.cancel(tcb)

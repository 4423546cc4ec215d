# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The kernel crossing of a Linux syscall, compiled: the SVC's way from the CPU through the core
kernel and the ABI shim to the owning service (in any placement) and back, with everything it
does around the handler's own work, as one compiled path.

`Crossing(simulation)` serves a Simulation's SVCs (`bind()` once the simulation is built). Its
`syscall(machine)` is the path through these Python references, step for step (each step below
names the one it mirrors), with the same state changes in the same order, so the same cycles
and statistics:

    Simulation.syscall -> CoreKernel.syscall -> Shim.syscall -> Placement.call or .inside
    -> Placement._inside -> (serve) Service.work(call=1), Shim._run -> the handler (a
    handler made with @charged: its own function, and the wrapper's charge of its work)
    -> CoreKernel.syscall's exit: Frames.release_code, _timer, _expire, reschedule, to_user

Its `on_sync()` is Simulation._on_sync, and `time(blocks, events)` Simulation._time with a
batch whose blocks are all known timed in one compiled step (hmk._fast.timing.BatchTimer).

It takes the common case: a Linux process's syscall, not a blocked call going on, with a
handler, and no --strace. Everything else it leaves alone, having changed nothing (`syscall`
returns False and the caller runs the references); so do the steps that are rare on this path
(a timer tick or a timed wait due, a reschedule, a signal to deliver, a call that blocks), which
it hands to the reference methods that do them. tests/test_crossing.py runs whole programs both
ways and requires identical results.
"""

from cpython.ref cimport PyObject

cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set

from hmk.kernel.costs import BUDGETS
from hmk.kernel.errors import BLOCKED, OK
from hmk.kernel.hmcalls import is_hm_call
from hmk.kernel.ipc import WORD
from hmk.linux.abi import EAGAIN, ERESTARTSYS
from hmk.linux.shim import COSTS as SHIM_COSTS
from hmk.linux.syscalls import SHIM, Call
from hmk.services.placement import APP, DIRECT_CALL, MSG


cdef class Crossing:
    """A Simulation's SVCs through the compiled crossing (see the module docstring)."""

    cdef object sim, batch, table, last_space, last_image, charged
    cdef object machine, kernel, shim, placement, channel, procmgr, memmgr
    cdef object counts, context, procs, resuming, deadlines, stack, frames, services
    cdef object rows, by_proc, spaces, charge, path
    cdef int[::1] current  # the run queue's running thread (CoreKernel.running)
    cdef object cpu, syscall_regs
    cdef bint native
    cdef object dispatch_cycles, direct_cycles, ic1_cycles, ic2_entry, ic2_exit
    cdef object ipc_call, ipc_reply, ep_server_vspace, entry_cycles
    cdef long fast_call, fast_reply, slow_extra, ttbr_switch, copy_per_word, grow, cap_transfer
    cdef long block, handoff
    cdef object work_keys  # service name -> (its counter of call entries, of instructions,
                           # its entry budget, its cycles' name)

    def __init__(self, sim):
        self.sim = sim

    def bind(self):
        """Take the simulation's parts (once it is built)."""
        sim = self.sim
        k = sim.kernel
        self.batch = sim.timing.batch_timer(sim.hierarchy) if sim.stacks is None else None
        self.table = sim.timing.table
        self.last_space = self.last_image = None
        self.charged = {}
        self.machine, self.kernel, self.shim = sim.machine, k, sim.shim
        self.placement = self.shim.placement
        self.channel = sim.script_channel
        self.procmgr, self.memmgr = self.shim.procmgr, self.shim.memmgr
        self.counts, self.context, self.procs = k.counts, k.context, k._procs
        self.resuming, self.deadlines, self.frames = k.resuming, k.deadlines, k.frames
        self.current = k._current
        self.charge, self.path = k.charge, k.path
        self.stack, self.services = self.placement._stack, self.shim.services
        self.rows, self.by_proc, self.spaces = self.shim._rows, self.procmgr.by_proc, self.memmgr.spaces
        self.cpu, self.syscall_regs = self.machine.cpu, self.machine._syscall_regs
        self.native = self.shim.native
        self.dispatch_cycles = k.work_cycles(SHIM_COSTS["dispatch"])
        self.direct_cycles = k.work_cycles(DIRECT_CALL)
        self.ic1_cycles = k.work_cycles(BUDGETS["ic1.switch"])
        self.ic2_entry = k.entry + k.work_cycles(BUDGETS["exception.frame"])
        self.ic2_exit = k.exit
        self.ipc_call, self.ipc_reply = k.ipc_paths.call, k.ipc_paths.reply
        self.entry_cycles = k.entry_cycles()
        b = BUDGETS
        self.fast_call, self.fast_reply = b["ipc.fast_call"], b["ipc.fast_reply"]
        self.slow_extra, self.ttbr_switch = b["ipc.slow_extra"], b["ipc.ttbr_switch"]
        self.copy_per_word, self.grow = b["ipc.copy_per_word"], b["ipc.grow"]
        self.cap_transfer, self.block, self.handoff = (
            b["ipc.cap_transfer"], b["ipc.block"], b["ipc.handoff"])
        self.ep_server_vspace = k.ipc.ep["server_vspace"]
        self.work_keys = {}

    def syscall(self, machine):
        """Serve the SVC `machine` stopped at, as Simulation.syscall would; False (nothing
        done) when it is not the common case."""
        cdef object k = self.kernel
        cdef tuple registers
        cdef object nr, tcb, proc, found, task, row, service
        cdef PyObject *p
        registers = self.cpu.read(self.syscall_regs)  # CoreKernel.syscall
        nr = registers[6]
        if self.channel is not None and nr == 0x484D4B00:  # Simulation.syscall's channel
            return False
        if k.hm_calls and is_hm_call(nr):
            return False
        tcb = self.current[0]
        if self.resuming and tcb in self.resuming:
            return False  # (a blocked call going on, perhaps)
        p = PyDict_GetItem(self.procs, tcb)
        if p == NULL or (<object>p).personality is not self.shim:
            return False
        proc = <object>p
        p = PyDict_GetItem(self.rows, nr)  # Shim.syscall
        found = <object>p if p != NULL else self.shim._row(nr)
        row = found[0]
        if row is None or row.handler is None or self.shim.strace is not None:
            return False
        p = PyDict_GetItem(self.by_proc, proc)
        if p == NULL or <object>p is None:
            return False
        task = <object>p
        self._dispatch(machine, proc, task, row, found, registers)
        self._exit(machine)
        return True

    cdef _dispatch(self, machine, proc, task, row, tuple found, tuple registers):
        """Shim.syscall, not resumed, for a task with a handler."""
        cdef object k = self.kernel
        cdef object name = found[1]
        self.context.append(found[2])  # k.within(frame)
        try:
            self.charge("syscall", self.entry_cycles)  # k.charge_entry(False)
            self.counts["kernel.syscalls"] += 1
            self.counts[found[3]] += 1
            if not self.native:
                self.charge("shim", self.dispatch_cycles)
            call = Call.__new__(Call)  # Call(machine, task, k.running, space_of(proc), False)
            call.machine, call.task, call.tcb = machine, task, self.current[0]
            call.space, call.resumed = self.spaces[proc], False
            service = row.service
            if service == SHIM:
                self._run(call, row, registers)
                return
            owner = self.services[service]
            if self.native:
                self._inside(self.placement.domain_of(service).name, service, owner, call, row,
                             registers)
            elif not self._call(proc, service, owner, call, row, registers):
                machine.set_reg(0, -EAGAIN)  # the service had no activation free
        finally:
            self.context.pop()

    cdef bint _call(self, proc, service, owner, call, row, tuple registers) except -1:
        """Placement.call(proc, service, serve): False where it returns None."""
        cdef object k = self.kernel
        cdef object pl = self.placement
        target = pl.domain_of(service)
        here = self.stack[-1] if self.stack else APP
        name = target.name
        if target.proc is None or name == here:  # IC0, or coalesced with the caller
            self.counts[pl._name("shim.calls.{}->{}", here, name)] += 1
            self.charge(pl._name("services.{}", service), self.direct_cycles)
            self._inside(name, service, owner, call, row, registers)
            return True
        caller = (pl.domains[here].proc if here != APP else None) or proc
        tcb = self.current[0]
        tcb = tcb if tcb >= 0 else proc.tcb
        current = k.current
        vspace = current.vspace if current is not None else caller.vspace
        ic = target.ic
        if ic == "IC1":
            self.ep_server_vspace[target.endpoint] = vspace
        res = self.ipc_call(tcb, vspace, caller.cspace, target.slot, MSG)
        if res.err != OK:
            k.mem.take_log()
            self.counts[pl._name("ipc.{}->{}.failed", here, name)] += 1
            return False
        self.counts[pl._name("ipc.{}->{}.{}", here, name, res.path)] += 1
        ic2 = ic == "IC2"
        cycles = self.path(self._ipc_budget(res, True))  # k.ipc_path(res)
        cycles += self.ic2_exit if ic2 else self.ic1_cycles
        if res.switch_vspace:
            self.counts["kernel.domain_switches"] += 1
        self.charge("ipc", cycles)
        try:
            self._inside(name, service, owner, call, row, registers)
        finally:
            reply = self.ipc_reply(res.activation, 8)
            cycles = self.ic2_entry if ic2 else self.ic1_cycles
            self.charge("ipc", cycles + self.path(self._ipc_budget(reply, False)))
            if reply.switch_vspace:
                self.counts["kernel.domain_switches"] += 1
        return True

    cdef long _ipc_budget(self, result, bint is_call) except -1:
        """hmk.kernel.ipc.ipc_budget of a call's (CallResult) or a reply's result."""
        cdef long budget = self.fast_call if is_call else self.fast_reply
        if result.path == "slow":
            budget += self.slow_extra
        if result.switch_vspace:
            budget += self.ttbr_switch
        budget += self.copy_per_word * ((result.copied + WORD - 1) // WORD)
        if is_call:
            if result.grew:
                budget += self.grow
            if "capability transfer" in result.reason:
                budget += self.cap_transfer
            if result.err == BLOCKED:
                budget += self.block
        elif result.woken >= 0:
            budget += self.handoff
        return budget

    cdef _inside(self, name, service, owner, call, row, tuple registers):
        """Placement._inside(name, service, serve), serve being Shim.syscall's."""
        self.stack.append(name)
        try:
            self.context.append(self.placement._name("service:{}", service))
            try:
                self._entry(owner, service)  # serve: owner.work(call=1)
                self._run(call, row, registers)
            finally:
                self.context.pop()
        finally:
            self.stack.pop()

    cdef _entry(self, owner, service):
        """owner.work(call=1): Service.budget's counters, Placement.work's charge."""
        keys = self.work_keys.get(owner.name)
        if keys is None or keys[4] is not owner:
            names = owner._names
            key = names.get("call")
            if key is None:
                key = names["call"] = f"{owner.name}.work.call"
            keys = (key, owner._instructions, owner.costs["call"],
                    self.placement._name("services.{}", owner.name), owner)
            self.work_keys[owner.name] = keys
        total = keys[2]
        self.counts[keys[0]] += 1
        self.counts[keys[1]] += total
        self.charge(keys[3], self.path(total))

    cdef _run(self, call, row, tuple registers):
        """Shim._run with no strace: the handler's result in x0, or the call blocks."""
        cdef object k = self.kernel
        task = call.task
        machine = call.machine
        result = self._handle(row, call, registers)
        if result == -ERESTARTSYS:  # the thread blocked: its SVC runs again when it wakes
            k.restart_call(machine, interrupted=task.signals.handler_pending())
            return
        tcb = self.current[0]
        self.deadlines.pop(tcb, None)  # k.end_wait(k.running)
        gone = task.zombie or tcb not in task.threads
        if result is not None and not gone:
            machine.set_reg(0, result)

    cdef _handle(self, row, call, tuple registers):
        """row.handler(call, *args); a handler made with @charged (Service.charged): its own
        function, then its work charged, however it returns, as the wrapper does."""
        found = self.charged.get(row.nr)
        if found is None:
            found = self.charged[row.nr] = self._charged_parts(row.handler)
        if found is False:
            return row.handler(call, *registers[:6])
        handler, owner, keys, total, counted, cycles_name = found
        try:
            return handler(owner, call, *registers[:6])
        finally:
            # owner.placement.work(owner.name, owner.ops_budget(ops))
            for key, times in keys:
                self.counts[key] += times
            self.counts[counted] += total
            self.charge(cycles_name, self.path(total))

    cdef object _charged_parts(self, handler):
        """For a @charged handler (a bound method of a service): its function, the service,
        each operation's counter and count, the instructions, their counter and the cycles'
        name (Service.ops_budget, Placement.work); False for any other handler."""
        function = getattr(handler, "__func__", None)
        ops = getattr(function, "charged_ops", None)
        if ops is None:
            return False
        owner = handler.__self__
        if owner.placement is not self.placement:
            return False
        keys, total = [], 0
        for op, times in ops.items():
            if times:
                total += owner.costs[op] * times
                key = owner._names.get(op)
                if key is None:
                    key = owner._names[op] = f"{owner.name}.work.{op}"
                keys.append((key, times))
        cycles_name = self.placement._cycles_of.get(owner.name)
        if cycles_name is None:
            cycles_name = self.placement._cycles_of[owner.name] = f"services.{owner.name}"
        return function.__wrapped__, owner, tuple(keys), total, owner._instructions, cycles_name

    def on_sync(self):
        """Simulation._on_sync."""
        cdef object k = self.kernel
        cdef object sim = self.sim
        cdef PyObject *p
        k._clock_at_sync = k.now()  # k.note_time()
        p = PyDict_GetItem(self.procs, self.current[0])  # k.running_process
        proc = <object>p if p != NULL else None
        proc = proc or k.current
        task = self.by_proc.get(proc) or sim.program_task  # procmgr.task_of(proc) or ...
        space = self.spaces[task.proc]  # memmgr.space_of(task.proc)
        if space is not self.last_space:
            sim._batch_code, self.last_space = space.read, space
        image = task.proc.image
        if image is not self.last_image or self.last_space is None:
            self.table.use(image)
            self.last_image = image
        if sim.stacks is not None:
            sim.stacks.note_owner(proc)
        limits = sim.limits
        if limits[0] is None and limits[1] is None and sim.progress.stream is None:
            return
        sim._check_limits()

    def time(self, blocks, events):
        """Simulation._time."""
        if self.batch is not None and self.batch.time(blocks, events):
            return
        self.sim._time(blocks, events)

    cdef _exit(self, machine):
        """CoreKernel.syscall after the personality's call: the kernel exit."""
        cdef object k = self.kernel
        if self.frames._held:
            self.frames.release_code()
        if machine.stopped:
            return
        now = k.now()
        if k.tick_cycles and now >= k._next_tick:
            k._timer(now)
        if k._alarms or (k._sleepers and now >= k._sleepers[0][0]):
            k._expire(now)
        if k.need_resched:
            k.reschedule(machine)
        self._to_user(machine)

    cdef _to_user(self, machine):
        """CoreKernel.to_user: the personality's to_user, which for the shim does nothing
        unless the running process has a signal to take (Shim.to_user's first steps)."""
        cdef PyObject *p = PyDict_GetItem(self.procs, self.current[0])
        if p == NULL:
            return
        proc = <object>p
        personality = proc.personality
        if personality is None or machine.stopped:
            return
        if personality is not self.shim:
            personality.to_user(machine)
            return
        task = self.by_proc.get(proc)
        if task is None or task.zombie or not task.signals.next_signal():
            return
        self.shim.to_user(machine)

# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The kernel crossing of a Linux syscall, compiled: the SVC's way from the CPU through the core
kernel and the ABI shim to the owning service (in any placement) and back, with everything it
does around the handler's own work, as one compiled path.

`Crossing(simulation, script_channel_nr)` serves a Simulation's SVCs (`bind()` once the simulation is built). Its
`syscall(machine)` is the path through these Python references, step for step (each step below
names the one it mirrors), with the same state changes in the same order, so the same cycles
and statistics:

    Simulation.syscall -> CoreKernel.syscall -> Shim.syscall -> Placement.call or .inside
    -> Placement._inside -> (serve) Service.work(call=1), Shim._run -> the handler (a
    handler made with @charged: its own function, and the wrapper's charge of its work)
    -> CoreKernel.syscall's exit: Frames.release_code, _timer, _expire, reschedule, to_user

Its `interrupt(intno)` is Machine._on_interrupt (the machine's drain with these twins, and
Simulation.syscall, for an SVC; any other exception it hands to the machine), `on_sync()`
Simulation._on_sync, and `time(blocks, events)` Simulation._time with a batch whose blocks are
all known timed in one compiled step (hmk._fast.timing.BatchTimer).

It takes the common case: a Linux process's syscall, not a blocked call going on, with a
handler, and no --strace. Everything else it leaves alone, having changed nothing (`syscall`
returns False and the caller runs the references); so do the steps that are rare on this path
(a timer tick or a timed wait due, a reschedule, a signal to deliver, a call that blocks), which
it hands to the reference methods that do them. tests/test_crossing.py runs whole programs both
ways and requires identical results.
"""

cimport cython
from cpython.ref cimport PyObject
from cpython.tuple cimport PyTuple_Check, PyTuple_GET_ITEM

from hmk._fast.counts cimport count
from hmk._fast.kernelclock cimport KernelClock

cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)  # borrowed, NULL if absent; no error set
    object generic_alloc "PyType_GenericAlloc"(void *t, Py_ssize_t n)

from hmk.cpu.machine import EXCP_SWI, INLINE_BATCH
from hmk.cpu.traps import OUT_OF_MEMORY
from hmk.errors import OutOfMemory
from hmk.kernel.costs import BUDGETS
from hmk.kernel.errors import BLOCKED, OK
from hmk.kernel.hmcalls import is_hm_call
from hmk.kernel.ipc import WORD, CallResult, ReplyResult
from hmk.linux.abi import EAGAIN, ERESTARTSYS
from hmk.linux.shim import COSTS as SHIM_COSTS
from hmk.linux.signals import UNBLOCKABLE
from hmk.linux.syscalls import SHIM, Call
from hmk.services.placement import APP, DIRECT_CALL, MSG
from unicorn.arm64_const import UC_ARM64_REG_X0

cdef enum:
    IC0, IC1, IC2  # how a route reaches its service (IC0: a function call)

cdef object _UNSET = object()
cdef object MASK64 = (1 << 64) - 1
cdef object NOT_UNBLOCKABLE = ~UNBLOCKABLE
# the IPC results' fields, read by position (the namedtuples' order)
cdef Py_ssize_t C_ERR = CallResult._fields.index("err")
cdef Py_ssize_t C_PATH = CallResult._fields.index("path")
cdef Py_ssize_t C_ACTIVATION = CallResult._fields.index("activation")
cdef Py_ssize_t C_SWITCH = CallResult._fields.index("switch_vspace")
cdef Py_ssize_t C_REASON = CallResult._fields.index("reason")
cdef Py_ssize_t C_COPIED = CallResult._fields.index("copied")
cdef Py_ssize_t C_GREW = CallResult._fields.index("grew")
cdef Py_ssize_t R_PATH = ReplyResult._fields.index("path")
cdef Py_ssize_t R_SWITCH = ReplyResult._fields.index("switch_vspace")
cdef Py_ssize_t R_WOKEN = ReplyResult._fields.index("woken")
cdef Py_ssize_t R_COPIED = ReplyResult._fields.index("copied")
cdef Py_ssize_t C_FIELDS = len(CallResult._fields)
cdef Py_ssize_t R_FIELDS = len(ReplyResult._fields)


cdef inline object _result(object result, Py_ssize_t fields):
    """An IPC path's result (a CallResult or ReplyResult: a tuple of `fields`), checked."""
    if not PyTuple_Check(result) or len(<tuple>result) != fields:
        raise TypeError(f"an IPC result is a CallResult or ReplyResult, not {result!r}")
    return result


cdef inline object _field(object result, Py_ssize_t i):
    """Field `i` of an IPC result (checked by _result)."""
    return <object>PyTuple_GET_ITEM(result, i)


cdef class Route:
    """What a syscall number's crossing needs that never changes: its row, names and counters
    (Shim._row), its service, that service's domain and how it is reached from the program
    (Placement.domain_of, the counters Placement.call names), and its handler (@charged
    parts: Crossing._charged)."""

    cdef object frame, counter, service, target, domain_name, slot
    cdef object service_frame, direct_counter, fast_counter, slow_counter, failed_counter
    cdef object handler, charged_owner, charged_keys, charged_total, counted, cycles_name
    cdef object entry_counter, entry_instructions, entry_total, entry_cycles
    cdef int ic
    cdef bint shim_own, charged


@cython.final
cdef class Crossing:
    """A Simulation's SVCs through the compiled crossing (see the module docstring)."""

    cdef object sim, batch, table, last_space, last_image, routes, recorder, channel_nr
    cdef public object divert  # a sink taking batches in this one's place (Simulation.divert)
    cdef object machine, kernel, shim, placement, channel, strace
    cdef object counts, context, procs, resuming, deadlines, stack, frames, services
    cdef object rows, by_proc, spaces
    cdef KernelClock clock
    cdef int[::1] current  # the run queues' running threads (CoreKernel.running: [core])
    cdef int core  # the core this crossing is (hmk.system.cores: one each)
    cdef object cpu, syscall_regs
    cdef bint native, hm_calls
    cdef object dispatch_cycles, direct_cycles, ic1_cycles, ic2_entry, ic2_exit, entry_cycles
    cdef object ipc_call, ipc_reply, ep_server_vspace
    cdef long fast_call, fast_reply, slow_extra, ttbr_switch, copy_per_word, grow, cap_transfer
    cdef long block, handoff

    def __init__(self, sim, channel_nr):
        self.sim, self.channel_nr = sim, channel_nr  # the scripting API's own SVC number
        self.divert = None

    def bind(self):
        """Take the simulation's parts (once it is built)."""
        sim = self.sim
        k = sim.kernel
        self.batch = sim.timing.batch_timer(sim.hierarchy) if sim.stacks is None else None
        self.table = sim.timing.table
        self.last_space = self.last_image = _UNSET
        self.routes = {}
        self.machine, self.kernel, self.shim = sim.machine, k, sim.shim
        self.placement, self.strace = self.shim.placement, self.shim.strace
        self.channel = sim.script_channel
        self.counts, self.context, self.procs = k.counts, k.context, k._procs
        self.resuming, self.deadlines, self.frames = k.resuming, k.deadlines, k.frames
        self.current, self.core = k._current, k.cpu
        self.clock = <KernelClock?>k.charge.__self__  # the kernel's compiled clock
        self.stack, self.services = self.placement._stack, self.shim.services
        self.rows, self.by_proc = self.shim._rows, self.shim.procmgr.by_proc
        self.spaces = self.shim.memmgr.spaces
        self.cpu, self.syscall_regs = self.machine.cpu, self.machine._syscall_regs
        self.recorder = self.machine.recorder
        if self.machine.on_sync != self.on_sync or self.machine.sink != self.time:
            raise ValueError("Crossing: the machine's sync point and sink must be its own")
        self.native, self.hm_calls = self.shim.native, k.hm_calls
        self.dispatch_cycles = k.work_cycles(SHIM_COSTS["dispatch"])
        self.direct_cycles = k.work_cycles(DIRECT_CALL)
        self.ic1_cycles = k.work_cycles(BUDGETS["ic1.switch"])
        self.ic2_entry = k.entry + k.work_cycles(BUDGETS["exception.frame"])
        self.ic2_exit = k.exit
        self.entry_cycles = k.entry_cycles()
        self.ipc_call, self.ipc_reply = k.ipc_paths.call, k.ipc_paths.reply
        self.ep_server_vspace = k.ipc.ep["server_vspace"]
        b = BUDGETS
        self.fast_call, self.fast_reply = b["ipc.fast_call"], b["ipc.fast_reply"]
        self.slow_extra, self.ttbr_switch = b["ipc.slow_extra"], b["ipc.ttbr_switch"]
        self.copy_per_word, self.grow = b["ipc.copy_per_word"], b["ipc.grow"]
        self.cap_transfer, self.block, self.handoff = (
            b["ipc.cap_transfer"], b["ipc.block"], b["ipc.handoff"])

    # ---- the SVC -------------------------------------------------------------------------
    def interrupt(self, intno):
        """Machine._on_interrupt."""
        cdef object machine = self.machine
        if intno != EXCP_SWI:
            machine._on_interrupt(intno)
            return
        self._drain(machine)  # keep timing in program order: what ran before the SVC first
        try:
            if machine._pending is not None:
                machine.sync()
            if not self.syscall(machine):
                self.sim.syscall(machine)  # (which tries the crossing first: no again)
        except OutOfMemory as e:  # simulated RAM exhausted (Linux: the OOM killer)
            machine._error, machine._kind = f"out of memory: {e}", OUT_OF_MEMORY
            machine.retryable = False  # the call may have done part of its work
            self.cpu.emu_stop()
        except Exception as e:  # unicorn's C frames cannot carry it: run() raises it
            machine._bug = e
            self.cpu.emu_stop()

    cdef _drain(self, machine):
        """Machine.drain, its sync point and sink being this crossing's."""
        if machine._pending is not None:  # the buffer set the hooks switch to must be free
            machine.sync()
        self.on_sync()
        if self.recorder.translations_crowded:
            machine.flush_tlb()
        blocks, events = self.recorder.take()
        if not (len(blocks) or len(events)):
            return
        if machine._worker is not None and len(events) >= INLINE_BATCH:
            machine._pending = machine._worker.submit(machine.sink, blocks, events)
        elif self.divert is not None:  # (the machine's sink too)
            self.divert(blocks, events)
        else:
            self.time(blocks, events)

    cpdef bint syscall(self, machine) except -1:
        """Serve the SVC `machine` stopped at, as Simulation.syscall would; False (nothing
        done) when it is not the common case."""
        cdef tuple registers
        cdef object nr, tcb, proc, task
        cdef Route route
        cdef PyObject *p
        registers = self.cpu.read(self.syscall_regs)  # CoreKernel.syscall
        nr = registers[6]
        if self.channel is not None and nr == self.channel_nr:  # Simulation.syscall's
            return False
        if self.hm_calls and is_hm_call(nr):
            return False
        tcb = self.current[self.core]
        if self.resuming and tcb in self.resuming:
            return False  # (a blocked call going on, perhaps)
        p = PyDict_GetItem(self.procs, tcb)
        if p == NULL or (<object>p).personality is not self.shim:
            return False
        proc = <object>p
        p = PyDict_GetItem(self.routes, nr)
        route = <Route>p if p != NULL else self._route(nr)
        if route is None or self.strace is not None:
            return False
        p = PyDict_GetItem(self.by_proc, proc)
        if p == NULL or <object>p is None:
            return False
        task = <object>p
        self._dispatch(machine, proc, task, route, registers)
        self._exit(machine)
        return True

    cdef Route _route(self, nr):
        """Syscall `nr`'s route, made once (None: a call this path leaves alone)."""
        cdef Route route
        p = PyDict_GetItem(self.rows, nr)  # Shim.syscall's row, names and counter
        row, name, frame, counter = <object>p if p != NULL else self.shim._row(nr)
        if row is None or row.handler is None:
            self.routes[nr] = None
            return None
        route = Route()
        route.frame, route.counter = frame, counter
        route.service = service = row.service
        route.shim_own = service == SHIM
        route.handler = row.handler
        self._charged(route)
        if not route.shim_own:
            pl = self.placement
            owner = self.services[service]
            names = owner._names  # the handler's entry: owner.work(call=1)'s names and budget
            if names.get("call") is None:
                names["call"] = f"{owner.name}.work.call"
            route.entry_counter, route.entry_instructions = names["call"], owner._instructions
            route.entry_total, route.entry_cycles = owner.costs["call"], self._cycles_of(owner)
            route.target = target = pl.domain_of(service)
            route.domain_name = target.name
            route.ic = IC0 if target.proc is None else IC1 if target.ic == "IC1" else IC2
            route.slot = target.slot
            route.service_frame = pl._name("service:{}", service)
            route.direct_counter = pl._name("shim.calls.{}->{}", APP, target.name)
            route.fast_counter = pl._name("ipc.{}->{}.{}", APP, target.name, "fast")
            route.slow_counter = pl._name("ipc.{}->{}.{}", APP, target.name, "slow")
            route.failed_counter = pl._name("ipc.{}->{}.failed", APP, target.name)
        self.routes[nr] = route
        return route

    cdef _charged(self, Route route):
        """A @charged handler (a bound method of a service, Service.charged): its function,
        each operation's counter and count, the instructions, their counter and the cycles'
        name (Service.ops_budget, Placement.work)."""
        function = getattr(route.handler, "__func__", None)
        ops = getattr(function, "charged_ops", None)
        route.charged = False
        if ops is None or route.handler.__self__.placement is not self.placement:
            return
        owner = route.handler.__self__
        keys, total = [], 0
        for op, times in ops.items():
            if times:
                total += owner.costs[op] * times
                key = owner._names.get(op)
                if key is None:
                    key = owner._names[op] = f"{owner.name}.work.{op}"
                keys.append((key, times))
        route.charged, route.handler, route.charged_owner = True, function.__wrapped__, owner
        route.charged_keys, route.charged_total = tuple(keys), total
        route.counted, route.cycles_name = owner._instructions, self._cycles_of(owner)

    cdef object _cycles_of(self, owner):
        """The name a service's work is charged to (Placement.work's)."""
        name = self.placement._cycles_of.get(owner.name)
        if name is None:
            name = self.placement._cycles_of[owner.name] = f"services.{owner.name}"
        return name

    cdef _dispatch(self, machine, proc, task, Route route, tuple registers):
        """Shim.syscall, not resumed, for a task with a handler."""
        self.context.append(route.frame)  # k.within(frame)
        try:
            self.clock.charge("syscall", self.entry_cycles)  # k.charge_entry(False)
            count(self.counts, "kernel.syscalls", 1)
            count(self.counts, route.counter, 1)
            if not self.native:
                self.clock.charge("shim", self.dispatch_cycles)
            call = generic_alloc(<void*>Call, 0)  # Call(machine, task, k.running, space_of(...),
            call.machine, call.task, call.tcb = machine, task, self.current[self.core]
            call.space, call.resumed = self.spaces[proc], False  # False): its fields set
            if route.shim_own:
                self._run(call, route, registers)
            elif self.native:
                self._inside(route, call, registers)  # Placement.inside
            elif not self._call(proc, route, call, registers):
                self.cpu.set_reg(UC_ARM64_REG_X0, -EAGAIN & MASK64)  # machine.set_reg(0, ...)
        finally:
            self.context.pop()

    cdef bint _call(self, proc, Route route, call, tuple registers) except -1:
        """Placement.call(proc, service, serve): False where it returns None."""
        cdef object k = self.kernel
        cdef object pl = self.placement
        cdef bint ic2 = route.ic == IC2
        cdef bint app = not self.stack
        here = APP if app else self.stack[-1]
        if route.ic == IC0 or route.domain_name == here:  # IC0, or coalesced with the caller
            counter = route.direct_counter if app else pl._name(
                "shim.calls.{}->{}", here, route.domain_name)
            count(self.counts, counter, 1)
            self.clock.charge(pl._name("services.{}", route.service), self.direct_cycles)
            self._inside(route, call, registers)
            return True
        caller = proc if app else (pl.domains[here].proc or proc)
        tcb = self.current[self.core]
        tcb = tcb if tcb >= 0 else proc.tcb
        current = k.current
        vspace = current.vspace if current is not None else caller.vspace
        if route.ic == IC1:  # kernel space: it runs in whatever address space is on
            self.ep_server_vspace[route.target.endpoint] = vspace
        res = _result(self.ipc_call(tcb, vspace, caller.cspace, route.slot, MSG), C_FIELDS)
        if _field(res, C_ERR) != OK:
            k.mem.take_log()
            counter = route.failed_counter if app else pl._name(
                "ipc.{}->{}.failed", here, route.domain_name)
            count(self.counts, counter, 1)
            return False
        path = _field(res, C_PATH)
        if app and path == "fast":
            counter = route.fast_counter
        elif app and path == "slow":
            counter = route.slow_counter
        else:
            counter = pl._name("ipc.{}->{}.{}", here, route.domain_name, path)
        count(self.counts, counter, 1)
        cycles = self.clock.path(self._ipc_budget(res, True))  # k.ipc_path(res)
        cycles += self.ic2_exit if ic2 else self.ic1_cycles
        if _field(res, C_SWITCH):
            count(self.counts, "kernel.domain_switches", 1)
        self.clock.charge("ipc", cycles)
        try:
            self._inside(route, call, registers)
        finally:
            reply = _result(self.ipc_reply(_field(res, C_ACTIVATION), 8), R_FIELDS)
            cycles = self.ic2_entry if ic2 else self.ic1_cycles
            self.clock.charge("ipc", cycles + self.clock.path(self._ipc_budget(reply, False)))
            if _field(reply, R_SWITCH):
                count(self.counts, "kernel.domain_switches", 1)
        return True

    cdef long _ipc_budget(self, object result, bint is_call) except -1:
        """hmk.kernel.ipc.ipc_budget of a call's (CallResult) or a reply's result."""
        cdef long budget = self.fast_call if is_call else self.fast_reply
        if _field(result, C_PATH if is_call else R_PATH) == "slow":
            budget += self.slow_extra
        if _field(result, C_SWITCH if is_call else R_SWITCH):
            budget += self.ttbr_switch
        copied = _field(result, C_COPIED if is_call else R_COPIED)
        budget += self.copy_per_word * ((copied + WORD - 1) // WORD)
        if is_call:
            if _field(result, C_GREW):
                budget += self.grow
            if "capability transfer" in _field(result, C_REASON):
                budget += self.cap_transfer
            if _field(result, C_ERR) == BLOCKED:
                budget += self.block
        elif _field(result, R_WOKEN) >= 0:
            budget += self.handoff
        return budget

    cdef _inside(self, Route route, call, tuple registers):
        """Placement._inside(name, service, serve), serve being Shim.syscall's."""
        self.stack.append(route.domain_name)
        try:
            self.context.append(route.service_frame)
            try:
                self._entry(route)  # serve: owner.work(call=1)
                self._run(call, route, registers)
            finally:
                self.context.pop()
        finally:
            self.stack.pop()

    cdef _entry(self, Route route):
        """owner.work(call=1): Service.budget's counters, Placement.work's charge."""
        count(self.counts, route.entry_counter, 1)
        count(self.counts, route.entry_instructions, route.entry_total)
        self.clock.charge(route.entry_cycles, self.clock.path(route.entry_total))

    cdef _run(self, call, Route route, tuple registers):
        """Shim._run with no strace: the handler's result in x0, or the call blocks."""
        cdef object k = self.kernel
        task = call.task
        machine = call.machine
        if route.charged:  # the @charged wrapper: the handler, then its work however it ends
            try:
                result = route.handler(route.charged_owner, call, registers[0], registers[1],
                                       registers[2], registers[3], registers[4], registers[5])
            finally:
                for key, times in route.charged_keys:  # Service.ops_budget, Placement.work
                    count(self.counts, key, times)
                count(self.counts, route.counted, route.charged_total)
                self.clock.charge(route.cycles_name, self.clock.path(route.charged_total))
        else:
            result = route.handler(call, registers[0], registers[1], registers[2],
                                   registers[3], registers[4], registers[5])
        if result == -ERESTARTSYS:  # the thread blocked: its SVC runs again when it wakes
            k.restart_call(machine, interrupted=task.signals.handler_pending())
            return
        tcb = self.current[self.core]
        self.deadlines.pop(tcb, None)  # k.end_wait(k.running)
        gone = task.zombie or tcb not in task.threads
        if result is not None and not gone:
            self.cpu.set_reg(UC_ARM64_REG_X0, result & MASK64)  # machine.set_reg(0, result)

    cdef _exit(self, machine):
        """CoreKernel.syscall after the personality's call: the kernel exit."""
        cdef object k = self.kernel
        if self.frames._held:
            self.frames.release_code()
        if machine._stopped:  # machine.stopped
            return
        now = self.clock.now()
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
        cdef PyObject *p = PyDict_GetItem(self.procs, self.current[self.core])
        if p == NULL:
            return
        proc = <object>p
        personality = proc.personality
        if personality is None or machine._stopped:
            return
        if personality is not self.shim:
            personality.to_user(machine)
            return
        p = PyDict_GetItem(self.by_proc, proc)  # procmgr.task_of(proc)
        task = <object>p if p != NULL else None
        if task is None or task.zombie:
            return
        signals = task.signals  # its next_signal(): one pending and not blocked
        if not signals.pending & ~(signals.blocked & NOT_UNBLOCKABLE):
            return
        self.shim.to_user(machine)

    # ---- the timing side -----------------------------------------------------------------
    cpdef on_sync(self):
        """Simulation._on_sync."""
        cdef object k = self.kernel
        cdef object sim = self.sim
        cdef PyObject *p
        k._clock_at_sync = self.clock.now()  # k.note_time()
        p = PyDict_GetItem(self.procs, self.current[self.core])  # k.running_process
        proc = (<object>p if p != NULL else None) or k.current
        p = PyDict_GetItem(self.by_proc, proc)  # procmgr.task_of(proc) or the program's
        task = (<object>p if p != NULL else None) or sim.program_task
        space = self.spaces[task.proc]  # memmgr.space_of(task.proc)
        if space is not self.last_space:
            sim._batch_code, self.last_space = space.read, space
        image = task.proc.image
        if image is not self.last_image:  # (use() again with the same image: no change)
            self.table.use(image)
            self.last_image = image
        if sim.stacks is not None:
            sim.stacks.note_owner(proc)
        limits = sim.limits
        if limits[0] is None and limits[1] is None and sim.progress.stream is None:
            return
        sim._check_limits()

    cpdef time(self, blocks, events):
        """Simulation._time."""
        if self.batch is not None and self.batch.time(blocks, events):
            return
        self.sim._time(blocks, events)

"""The ABI-compliant shim (IC0): the Linux personality of the core kernel's processes.

The core kernel forwards to it what a Linux process does that is not a core-kernel call
(hmk.kernel.core.Personality):

- an SVC: the syscall table's row (hmk.linux.syscalls) names the owning service and its
  handler; the shim counts and charges its dispatch, reaches the service as the composition
  places it (hmk.services.placement: a function call in IC0 or in the caller's own domain, an
  IPC to an IC1 or IC2 domain), charges the service's entry work and runs the handler there. A
  call the shim owns (the clocks, sleeps, sched_yield) runs in the shim; a call nobody owns
  answers ENOSYS (with one warning per call, unless it is ENOSYS on purpose).
- a call that blocks (the handler returns -ERESTARTSYS) runs again when its thread wakes: the
  same call going on, whose entry, dispatch and IPC are not charged again (the service's own
  work is: it looks again). A signal handler in between decides, as Linux does (signal(7),
  hmk.linux.signals.restarts): the call goes on after the handler or fails with EINTR.
- a fault kernel paging cannot resolve: to the memory manager (the process's pager);
- the return to user mode: pending signals are delivered (a handler's frame, or the default
  action); a CPU exception is a signal (SIGSEGV, SIGILL, SIGTRAP) for the faulting process.

Counters: `shim.syscalls.<name>`; kernel cycles `shim` (dispatch) and `signal` (delivery).
"""

from __future__ import annotations

from hmk.cpu import traps
from hmk.hw.events import WRITE
from hmk.kernel.vspace import log_user
from hmk.linux.abi import (
    EAGAIN,
    EFAULT,
    EINTR,
    ENOSYS,
    ERESTARTSYS,
    SEGV_MAPERR,
    SIG_DFL,
    SIG_IGN,
    SIGBUS,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGTRAP,
)
from hmk.linux.layout import SIGPAGE
from hmk.linux.shimcalls import ShimCalls
from hmk.linux.signals import (
    FPSIMD_SIZE,
    IGNORED_BY_DEFAULT,
    MC_RESERVED,
    SIGINFO_BYTES,
    UC_MCONTEXT,
    bit,
    restarts,
)
from hmk.linux.strace import SyscallRecord, format_call
from hmk.linux.syscalls import SHIM, Call, SyscallTable, name_of

FATAL_IF_BLOCKED = (SIGSEGV, SIGILL, SIGTRAP, SIGBUS)  # blocked or ignored, still fatal
# what a process gets for what stopped its thread on the CPU (hmk.cpu.traps)
SIGNAL_OF = {
    traps.ABORT: SIGSEGV,
    traps.UNDEFINED: SIGILL,
    traps.BREAKPOINT: SIGTRAP,
    traps.OUT_OF_MEMORY: SIGKILL,  # as from Linux's OOM killer
    traps.STUCK: SIGKILL,
}
# a signal frame's stored part: the siginfo and the ucontext up to and with the FP/SIMD record
FRAME_STORED = SIGINFO_BYTES + UC_MCONTEXT + MC_RESERVED + FPSIMD_SIZE
COSTS = {  # instructions
    # assumed: the dispatch of a Linux syscall: the table lookup on x8 and moving the arguments
    # into a service request (~15 instructions)
    "dispatch": 15,
    # delivering a signal to a handler: choosing it (get_signal 649), building the frame
    # (setup_rt_frame 1,843: the registers, the mask and the FP/SIMD record stored, the
    # handler's registers set) and blocking its mask (signal_setup_done 132)
    # (linux_paths.json: signal_self_handled); the frame's stores are logged and timed
    "signal_deliver": 2624,
}


def empty_waitid_info(space, infop: int) -> bool:
    """Write the siginfo fields waitid writes (si_signo, si_errno, si_code; si_pid, si_uid,
    si_status), all zero; False if they do not fit."""
    return space.write(infop, bytes(12)) and space.write(infop + 16, bytes(12))


class Shim:
    """The Linux personality: `services` (name -> service) own the calls their sys_ methods
    handle, placed by `placement`; procmgr keeps the processes, memmgr their memory. `strace`:
    a text stream for one line per call; `warn`: hmk's one-line warnings."""

    def __init__(self, kernel, placement, services: dict, *, strace=None, warn=None, native=False):
        self.k, self.placement, self.services = kernel, placement, services
        # `native`: the kernel's own ABI (a Linux kernel): its syscall entry dispatches from the
        # table straight into the handler, so no shim dispatch and no service request
        self.native = native
        self.procmgr, self.memmgr = services["procmgr"], services["memmgr"]
        self.own = ShimCalls(kernel)
        self.table = SyscallTable({SHIM: self.own, **services})
        # nr -> (row, name, its kernel frame, its counter), made on first use
        self._rows: dict[int, tuple] = {}
        self.strace = strace
        self.warn = warn or (lambda text: None)

    # ---- syscalls ------------------------------------------------------------------------
    def syscall(self, machine, proc, registers, resumed: bool) -> None:
        """`proc`'s running thread made SVC x8 with x0-x5 (`registers`); `resumed`: its call
        blocked and goes on now (dispatched, and its service reached, already)."""
        k = self.k
        nr, args = registers[6], registers[:6]
        row, name, frame, counter = self._rows.get(nr) or self._row(nr)
        with k.within(frame):
            k.charge_entry(resumed)
            if not resumed:
                k.counts[counter] += 1
                if not self.native:
                    k.charge("shim", k.work_cycles(COSTS["dispatch"]))
            task = self.procmgr.task_of(proc)
            if task is None:  # a server domain's own thread: no Linux process behind it
                machine.set_reg(0, -ENOSYS)
                return
            call = Call(machine, task, k.running, self.memmgr.space_of(proc), resumed)
            service = row.service if row is not None else None
            if service is None or service == SHIM:
                self._run(call, row, nr, name, args)
                return
            owner = self.services[service]

            def serve():
                if not resumed:  # the handler's entry (a call going on is past it)
                    owner.work(call=1)
                self._run(call, row, nr, name, args)
                return True

            # a native handler is a function of the kernel's; a resumed call is held by its
            # service still: no (new) call to it either way
            if self.native or resumed:
                self.placement.inside(service, serve)
            elif self.placement.call(proc, service, serve) is None:
                machine.set_reg(0, -EAGAIN)  # the service had no activation free

    def _row(self, nr: int) -> tuple:
        """Syscall `nr`'s row (None: no such call), its name, its kernel frame and its count's
        name, kept."""
        row = self.table[nr]
        name = row.name if row is not None else name_of(nr)
        found = self._rows[nr] = (row, name, f"syscall:{name}", f"shim.syscalls.{name}")
        return found

    def _run(self, call: Call, row, nr: int, name: str, args) -> None:
        """The handler's work and its result in x0 (or the call blocks and runs again)."""
        k, machine, task = self.k, call.machine, call.task
        strings = None
        if self.strace is not None and name == "execve":  # its path is gone once it succeeds
            strings = {args[0]: call.space.read_cstring(args[0])}
        if row is None or row.handler is None:
            if row is None or row.why_enosys is None:
                self.warn(f"unsupported syscall {name} ({nr}): -ENOSYS")
            result = -ENOSYS
        else:
            result = row.handler(call, *args)
        if result == -ERESTARTSYS:  # the thread blocked: its SVC runs again when it wakes
            k.restart_call(machine, interrupted=task.signals.handler_pending())
            return
        k.end_wait(k.running)  # its timed wait, if any, is over
        if self.strace is not None:
            self._trace(SyscallRecord(nr, name, tuple(args), result, strings), task)
        gone = task.zombie or k.running not in task.threads
        if result is not None and not gone:  # None: the handler set the registers
            machine.set_reg(0, result)

    def _trace(self, record: SyscallRecord, task) -> None:
        """The calling thread's id and memory (a child's after fork; none after its exit)."""
        tid = task.threads.get(self.k.running, [task.pid])[0]
        space = self.memmgr.spaces.get(task.proc)

        def read_cstring(va):
            return space.read_cstring(va) if space is not None else None

        print(format_call(record, read_cstring, tid), file=self.strace)

    # ---- faults and exceptions -----------------------------------------------------------
    def page_fault(self, proc, page: int, access: str, pager: bool) -> int:
        return self.memmgr.serve_fault(proc, page, access, pager)

    def guest_fault(self, machine, proc, kind: str, detail: str) -> bool:
        """The running thread faulted: its process gets the signal (blocked or ignored, a
        fault's signal is still fatal, as Linux's force_sig). Out of memory, the OOM killer
        picks its victim first."""
        if kind == traps.OUT_OF_MEMORY:
            victim = self.procmgr.oom_kill(self.warn)
            if victim is not None and victim.proc is not proc and machine.retryable:
                # the faulting access runs again once the victim is gone: let it die first.
                # On one core the victim runs next; on several, it may be running on another
                # core: the faulting thread sleeps until the victim has exited (Linux's
                # allocator sleeps and retries while an OOM victim exits)
                if self.k.ncores > 1:
                    self.k.block_current(self.procmgr.oom_waiters)
                else:
                    self.k.threads.yield_(self.k.cpu)
                self.k.reschedule(machine)
                self.k.to_user(machine)  # the victim, run, takes its SIGKILL
                return not machine.stopped
        signal = SIGNAL_OF[kind]
        signals = self.procmgr.task_of(proc).signals
        signals.post(signal, SEGV_MAPERR, machine.fault_address)
        if signal in FATAL_IF_BLOCKED:
            action = signals.actions.get(signal, (SIG_DFL,))[0]
            if signals.blocked & bit(signal) or action == SIG_IGN:
                signals.actions[signal] = (SIG_DFL, 0, 0, 0)
                signals.blocked &= ~bit(signal)
        self.to_user(machine)
        return not machine.stopped

    def process_exited(self, machine, proc) -> None:
        self.procmgr.exited(machine, self.procmgr.task_of(proc), 0)

    def domain_started(self, parent, child) -> None:
        """A server domain started from `parent`'s image: its memory, managed, with the
        image's regions (fresh: file pages from the file, the rest zero)."""
        space = self.memmgr.attach(child)
        space.vmas = [v.copy() for v in self.memmgr.space_of(parent).vmas]
        space.changed()

    # ---- signals, at the return to user mode ---------------------------------------------
    def to_user(self, machine) -> None:
        """The running thread's process takes its pending, unblocked signals: a handler runs
        (a signal frame on its stack), or the default action (terminate, which may switch to
        another thread, or ignore)."""
        k = self.k
        while not machine.stopped:
            task = self.procmgr.task_of(k.process_of(k.running))
            if task is None or task.zombie:
                return
            st = task.signals
            sig = st.next_signal()
            if not sig:
                return
            handler = st.actions.get(sig, (SIG_DFL,))[0]
            if st.handler_pending() and k.restart_pending(machine):
                return  # the blocked call looks again first, as Linux's wakeup does
            info = st.dequeue(sig)
            if handler == SIG_IGN or (handler == SIG_DFL and sig in IGNORED_BY_DEFAULT):
                continue
            k.counts[f"signals.delivered.{sig}"] += 1
            if handler == SIG_DFL or sig == SIGKILL:
                self.procmgr.exited(machine, task, sig)
                if not machine.stopped:
                    k.reschedule(machine)
                continue
            self._interrupt_call(machine, task, st.actions[sig][1])
            ctx, extra = machine.context(), machine.extra_context()
            space = self.memmgr.space_of(task.proc)
            regs = st.build_frame(space, sig, info, ctx, extra, SIGPAGE)
            if regs is None:  # no room for the frame: Linux forces SIGSEGV
                self.procmgr.exited(machine, task, SIGSEGV)
                if not machine.stopped:
                    k.reschedule(machine)
                continue
            machine.set_context(regs)
            log_user(k.mem, space, regs[31], FRAME_STORED, WRITE)
            k.charge("signal", k.path(COSTS["signal_deliver"]))
            return

    def _interrupt_call(self, machine, task, flags: int) -> None:
        """A handler is about to run on a thread whose call blocked (the CPU would run its SVC
        again): the call goes on after the handler (a new kernel entry then) or fails with
        EINTR now, a sleep storing the time left, as Linux decides (signals.restarts)."""
        k = self.k
        tcb = k.running
        if not k.take_restart(machine):
            return
        after_svc = machine.pc + 4
        *args, nr = machine.syscall_registers()
        name = name_of(nr)
        row = self.table[nr]
        if row is not None and row.service in self.services:
            self.services[row.service].call_interrupted(task, tcb)
        deadline = k.end_wait(tcb)
        space = self.memmgr.space_of(task.proc)
        # waitid writes its (empty) siginfo however its wait ends: EFAULT, never restarted
        faulted = name == "waitid" and args[2] and not empty_waitid_info(space, args[2])
        if not faulted and restarts(name, args, flags, timed=deadline is not None):
            self._traced_interruption(task, nr, name, args, -ERESTARTSYS)
            return
        result = -EFAULT if faulted else -EINTR
        if deadline is not None:
            left = max(deadline - k.now(), 0)
            if not self.own.sleep_interrupted(space, name, args, int(left / k.ghz)):
                result = -EFAULT
        task.signals.mask_restored(-EINTR)  # a mask of the call's own: the handler's frame
        self._traced_interruption(task, nr, name, args, result)  # keeps the caller's
        machine.set_reg(0, result)
        machine.set_pc(after_svc)

    def _traced_interruption(self, task, nr, name, args, result) -> None:
        """--strace shows an interrupted call once, as strace does: ending with EINTR, or
        restarted after the handler (ERESTARTSYS)."""
        if self.strace is not None:
            self._trace(SyscallRecord(nr, name, tuple(args), result), task)

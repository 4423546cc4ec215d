"""The process manager (procmgr): pids, fork, execve, exit and wait, with Linux semantics.

A task is a Linux process: a pid, its parent, its core-kernel Process (VSpace, CSpace, TCB), and
its Linux personality (hmk.kernel.minimal: address space, brk, file descriptors). `fork` makes
a child whose pages are the parent's, shared copy-on-write (the memory manager copies a page on
the first write of either), whose descriptors share the parent's open files, and whose thread
resumes after the call with x0 = 0. A vfork (CLONE_VM | CLONE_VFORK: vfork, posix_spawn,
system) shares the parent's pages writable instead, and the parent waits until the child execs
or exits. `execve` replaces the image with a
program from the file system. `exit` closes the descriptors, frees the memory and the kernel
objects, and leaves a zombie for `wait4`; when the first process (pid 1) exits, the run ends,
as with qemu-user. A call that must wait (wait4 with no zombie child, a read of an empty pipe)
blocks the thread and is restarted when it is woken (Linux's ERESTARTSYS).
Threads (clone with CLONE_THREAD, as pthread_create makes them) share the process's address
space, files and signal actions; futex WAIT/WAKE (private or not) let them wait for each other,
and a thread's exit clears and wakes its CLONE_CHILD_CLEARTID word (pthread_join). Futex
waits may have timeouts (the kernel's timed waits: hmk.kernel.core.sleep_until).
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass, field

from hmk.kernel.minimal import BOOT_TIME_NS, ERESTARTSYS
from hmk.kernel.threads import BLOCKED as T_BLOCKED
from hmk.services.signals import CLD_EXITED, CLD_KILLED, SI_USER, SIGCHLD

RUSAGE_BYTES = 144  # struct rusage on aarch64: no usage is reported (all zero)

CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
CLONE_SETTLS, CLONE_PARENT_SETTID = 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000
THREAD_FLAGS = CLONE_VM | CLONE_THREAD | 0x800 | 0x400  # + CLONE_SIGHAND, CLONE_FILES
FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 0, 1, 9, 10
FUTEX_CMD = 0x7F  # the command without FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME
FUTEX_CLOCK_REALTIME = 256
WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x01000000
WAIT_ALSO = 0x20000000 | 0x40000000 | 0x80000000  # __WNOTHREAD, __WALL, __WCLONE
P_ALL, P_PID, P_PGID = 0, 1, 2


@dataclass
class Task:
    pid: int
    ppid: int
    proc: object  # hmk.kernel.core.Process
    linux: object  # hmk.kernel.minimal.MinimalKernel
    children: list = field(default_factory=list)
    zombie: bool = False
    status: int = 0  # the wait status: exit code << 8, or the signal
    waiters: list = field(default_factory=list)  # threads blocked in wait4
    vfork_waiters: list = field(default_factory=list)  # its vfork parent, until exec or exit
    threads: dict = field(default_factory=dict)  # tcb -> [tid, clear_child_tid address]
    pgid: int = 0  # process group and session (a child starts in its parent's)
    sid: int = 0
    rlimits: dict = field(default_factory=dict)  # resource -> (soft, hard) set by prlimit64
    uids: list = field(default_factory=lambda: [0, 0, 0])  # real, effective, saved
    gids: list = field(default_factory=lambda: [0, 0, 0])
    groups: tuple = ()  # supplementary groups


class ProcMgr:
    def __init__(self, kernel, memmgr):
        self.k, self.mm = kernel, memmgr
        self.tasks: dict[int, Task] = {}
        self._next_pid = 1
        self._futexes: dict[tuple[int, int], list[int]] = {}  # (VSpace, address) -> waiters
        kernel.procmgr = self

    def start(self, proc, linux) -> Task:
        """The first process (pid 1)."""
        return self._add(0, proc, linux)

    def _add(self, ppid, proc, linux) -> Task:
        task = Task(self._next_pid, ppid, proc, linux)
        self._next_pid += 1
        parent = self.tasks.get(ppid)
        task.pgid, task.sid = (parent.pgid, parent.sid) if parent else (task.pid, task.pid)
        task.rlimits = dict(parent.rlimits) if parent else {}
        if parent:
            task.uids, task.gids, task.groups = list(parent.uids), list(parent.gids), parent.groups
        self.tasks[task.pid] = task
        proc.linux, linux.task = linux, task
        task.threads[proc.tcb] = [task.pid, 0]
        if ppid:
            self.tasks[ppid].children.append(task)
        return task

    # ---- fork ----------------------------------------------------------------------------
    def fork(self, machine, parent: Task, flags: int, child_tid: int, stack=0, tls=0, ptid=0):
        """clone(2): a new process (fork) or, with CLONE_THREAD, a thread of this one."""
        from hmk.kernel.core import Process  # noqa: PLC0415

        k = self.k
        if flags & CLONE_THREAD:
            return self._thread(machine, parent, flags, child_tid, stack, tls, ptid)
        vfork = flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM | CLONE_VFORK
        if flags & CLONE_VM and not vfork:
            return -errno.ENOSYS  # a process sharing memory that is not a vfork: not modelled
        try:
            proc = Process(k, f"pid{self._next_pid}")
        except MemoryError:
            return -errno.EAGAIN
        space = self.mm.attach(proc)
        linux = parent.linux.forked(space)
        task = self._add(parent.pid, proc, linux)
        self._copy_memory(parent, task, share=bool(vfork))
        if flags & CLONE_CHILD_SETTID:
            space.write(child_tid, struct.pack("<i", task.pid))
        if flags & CLONE_CHILD_CLEARTID:
            linux.proc.clear_child_tid = child_tid
        ctx = machine.context()
        ctx[0] = 0  # fork returns 0 in the child
        if stack:
            ctx[31] = stack
        k.set_saved_context(proc.tcb, ctx)
        k.adopt(proc.tcb, proc, machine.extra_context())
        k.threads.resume(proc.tcb)
        k.need_resched = True
        k.counts["procmgr.vforks" if vfork else "procmgr.forks"] += 1
        if vfork:  # the parent waits (with the child's pid in x0) until the child execs or exits
            k.block_current(task.vfork_waiters)
        return task.pid

    def vfork_done(self, task: Task) -> None:
        """The child of a vfork exec'd or exited: its parent goes on."""
        self.k.wake_all(task.vfork_waiters)

    def _thread(self, machine, task: Task, flags, child_tid, stack, tls, ptid) -> int:
        """clone with CLONE_THREAD: a thread in the caller's process (its address space, files,
        signal actions), on its own stack, with its own TLS pointer and tid."""
        k = self.k
        if flags & THREAD_FLAGS != THREAD_FLAGS:
            return -errno.EINVAL  # Linux needs CLONE_VM and CLONE_SIGHAND with CLONE_THREAD
        proc = task.proc
        priority = int(k.threads.tcb["priority"][k.running])
        tcb = k.threads.create(priority, 0, proc.vspace, proc.cspace)
        if tcb < 0:
            k.mem.take_log()
            return -errno.EAGAIN
        tid = self._next_pid
        self._next_pid += 1
        space = task.linux.space
        if flags & CLONE_PARENT_SETTID and not space.write(ptid, struct.pack("<i", tid)):
            return -errno.EFAULT
        if flags & CLONE_CHILD_SETTID:
            space.write(child_tid, struct.pack("<i", tid))
        task.threads[tcb] = [tid, child_tid if flags & CLONE_CHILD_CLEARTID else 0]
        ctx = machine.context()
        ctx[0] = 0
        if stack:
            ctx[31] = stack
        extra = machine.extra_context()
        if flags & CLONE_SETTLS:
            extra[-1] = tls  # TPIDR_EL0
        k.set_saved_context(tcb, ctx)
        k.adopt(tcb, proc, extra)
        k.threads.resume(tcb)
        k.need_resched = True
        k.counts["procmgr.threads"] += 1
        return tid

    def thread_exit(self, machine, task: Task, status: int) -> None:
        """exit(2) of one thread: the last one's exit is the process's."""
        k = self.k
        tcb = k.running
        if len(task.threads) == 1:
            self.exited(machine, task, status)
            return
        tid, clear = task.threads.pop(tcb)
        if clear and task.linux.space.write(clear, b"\0\0\0\0"):
            self.futex_wake(task, clear, 1)  # pthread_join waits on it
        k.forget_thread(tcb)

    # ---- futexes ------------------------------------------------------------------------
    def futex(self, task: Task, uaddr: int, op: int, val: int, utime: int = 0) -> int:
        """FUTEX_WAIT (a relative timeout) and FUTEX_WAIT_BITSET (an absolute one, on the
        monotonic clock or with FUTEX_CLOCK_REALTIME the wall clock): -ETIMEDOUT when it
        passes; FUTEX_WAKE(_BITSET). Bitsets are accepted but every waiter matches."""
        cmd = op & FUTEX_CMD
        if uaddr % 4:
            return -errno.EINVAL
        if op & FUTEX_CLOCK_REALTIME and cmd != FUTEX_WAIT_BITSET:
            return -errno.ENOSYS
        if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
            linux = task.linux
            raw = linux.space.read(uaddr, 4)
            if raw is None:
                return -errno.EFAULT
            if struct.unpack("<I", raw)[0] != val & 0xFFFFFFFF:
                return -errno.EAGAIN
            queue = self._futex_queue(task, uaddr)
            if not utime:
                self.k.block_current(queue)
                return ERESTARTSYS  # when woken the call runs again: the value changed, EAGAIN
            ns = linux.read_timespec(utime)
            if ns is None or ns < 0:
                return -errno.EFAULT if ns is None else -errno.EINVAL
            absolute = cmd == FUTEX_WAIT_BITSET
            if absolute and op & FUTEX_CLOCK_REALTIME:
                ns -= BOOT_TIME_NS  # a wall-clock time: as a time since boot
            deadline = self.k.wait_deadline(ns, absolute)
            return ERESTARTSYS if self.k.sleep_until(deadline, queue) else -errno.ETIMEDOUT
        if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
            return self.futex_wake(task, uaddr, val)
        return -errno.ENOSYS

    def futex_wake(self, task: Task, uaddr: int, count: int) -> int:
        queue = self._futex_queue(task, uaddr)
        woken = queue[: max(count, 0)]
        del queue[: len(woken)]
        self.k.wake_all(woken)
        return len(woken)

    def _futex_queue(self, task: Task, uaddr: int) -> list:
        return self._futexes.setdefault((task.proc.vspace, uaddr), [])

    def _copy_memory(self, parent: Task, child: Task, share: bool = False) -> None:
        """The child's address space: the parent's VMAs, every mapped page shared with it,
        copy-on-write (hmk.services.memmgr.ManagedSpace.share_into); for a vfork (`share`)
        writable, so that the child's stores reach the parent, as in Linux, where a vfork
        child borrows its parent's memory until it execs or exits (its own new pages, e.g. on
        a fresh stack, stay its own: the parent is stopped and does not look at them)."""
        src, dst = parent.linux.space, child.linux.space
        dst.vmas = [v.copy() for v in src.vmas]
        dst.changed()
        self.k.counts["procmgr.fork.pages_shared"] += src.share_into(dst, cow=not share)
        if not share:
            parent.linux.on_tlb_change(None, src.asid)  # the parent's pages are read-only now

    # ---- exit and wait -------------------------------------------------------------------
    def exited(self, machine, task: Task, status: int) -> None:
        """`task` called exit or exit_group (`status`: the wait status)."""
        k = self.k
        task.linux.fs.close_all(machine)
        for tcb in [t for t, p in list(k._procs.items()) if p is task.proc]:
            k.forget_thread(tcb)
        task.zombie, task.status = True, status
        self.vfork_done(task)
        if task.pid == 1:  # the run ends: a shell's view of the status
            signaled = status & 0x7F
            task.linux.proc.exit_status = 128 + signaled if signaled else status >> 8 & 0xFF
            machine.stop()
            return
        self._release(task)
        for child in task.children:  # orphans go to init
            child.ppid = 1
            self.tasks[1].children.append(child)
        parent = self.tasks.get(task.ppid)
        if parent is not None:
            code, value = _child_code(status), _child_value(status)
            parent.linux.signals.post(SIGCHLD, code, task.pid, value)
            k.wake_all(parent.waiters)
        k.need_resched = True

    def _release(self, task: Task) -> None:
        """Free the process's memory and kernel objects (its pid stays until it is reaped)."""
        k = self.k
        task.linux.space.remove(0, 1 << 48)
        k.tokens.revoke_vspace(task.proc.vspace)
        _, tlbi, _ = k.vspaces.destroy(task.proc.vspace)
        if tlbi:  # its ASID goes back to the allocator: no translation of it may outlive it
            k._flush(None, tlbi[0][1])
            k.counts["kernel.tlbi.asid"] += 1
        k.caps.destroy(task.proc.cspace)  # the service endpoints stay with their services
        k.by_vspace.pop(task.proc.vspace, None)
        k.mem.take_log()

    def kill(self, sender: Task, pid: int, sig: int) -> int:
        """kill(2): a process (pid > 0), the caller's group (0), a group (-pgid), or every
        process but pid 1 and the caller (-1)."""
        pid, sig = _signed(pid), _signed(sig)
        if not 0 <= sig <= 64:
            return -errno.EINVAL
        live = [t for t in self.tasks.values() if not t.zombie]
        if pid > 0:
            targets = [t for t in self.tasks.values() if t.pid == pid]
        elif pid == 0:
            targets = [t for t in live if t.pgid == sender.pgid]
        elif pid == -1:
            targets = [t for t in live if t.pid not in (1, sender.pid)]
        else:
            targets = [t for t in live if t.pgid == -pid]
        if not targets:
            return -errno.ESRCH
        for target in targets:
            if sig and not target.zombie:
                self._signal(sender, target, sig)
        return 0

    def _signal(self, sender: Task, target: Task, sig: int) -> None:
        target.linux.signals.post(sig, SI_USER, sender.pid)
        tcb = target.proc.tcb
        if (
            self.k.threads.valid(tcb)
            and int(self.k.threads.tcb["state"][tcb]) == T_BLOCKED
            and target.linux.signals.next_signal()
        ):
            self.k.interrupt(tcb)  # its call goes on or fails with EINTR (deliver_signals)

    # ---- process groups and sessions -----------------------------------------------------
    def setpgid(self, task: Task, pid: int, pgid: int) -> int:
        pid, pgid = _signed(pid) or task.pid, _signed(pgid)
        if pgid < 0:
            return -errno.EINVAL
        target = self.tasks.get(pid)
        if target is None or (target is not task and target.ppid != task.pid):
            return -errno.ESRCH
        if target.sid != task.sid or target.pid == target.sid:
            return -errno.EPERM  # another session, or a session leader
        pgid = pgid or target.pid
        if pgid != target.pid and not any(
            t.pgid == pgid and t.sid == task.sid for t in self.tasks.values()
        ):
            return -errno.EPERM
        target.pgid = pgid
        return 0

    def getpgid(self, task: Task, pid: int) -> int:
        target = self.tasks.get(_signed(pid) or task.pid)
        return target.pgid if target is not None else -errno.ESRCH

    def getsid(self, task: Task, pid: int) -> int:
        target = self.tasks.get(_signed(pid) or task.pid)
        return target.sid if target is not None else -errno.ESRCH

    def setsid(self, task: Task) -> int:
        if any(t.pgid == task.pid for t in self.tasks.values()):
            return -errno.EPERM  # already a group leader
        task.pgid = task.sid = task.pid
        return task.sid

    def wait4(self, task: Task, pid: int, wstatus: int, options: int, rusage: int) -> int:
        """wait4(2): pid > 0 that child, -1 any, 0 the caller's group, < -1 group -pid.
        Stopped and continued children are not modelled (WUNTRACED, WCONTINUED never report)."""
        pid = _signed(pid)
        if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WAIT_ALSO):
            return -errno.EINVAL
        if pid > 0:
            dead = self._zombie(task, lambda c: c.pid == pid, options)
        elif pid == -1:
            dead = self._zombie(task, lambda c: True, options)
        else:
            group = task.pgid if pid == 0 else -pid
            dead = self._zombie(task, lambda c: c.pgid == group, options)
        if isinstance(dead, int):
            return dead
        space = task.linux.space
        if wstatus and not space.write(wstatus, struct.pack("<i", dead.status)):
            return -errno.EFAULT
        if rusage and not space.write(rusage, bytes(RUSAGE_BYTES)):
            return -errno.EFAULT
        self._reap(task, dead)
        return dead.pid

    def waitid(self, task: Task, idtype: int, ident: int, infop: int, options: int, rusage: int):
        """waitid(2): P_ALL, P_PID, P_PGID (0: the caller's group); WEXITED must be asked
        for (stopped and continued children are not modelled); WNOWAIT leaves the child
        waitable. The siginfo written is SIGCHLD's (an empty one when WNOHANG finds none)."""
        ident = _signed(ident)
        known = WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WAIT_ALSO
        if options & ~known or not options & (WEXITED | WUNTRACED | WCONTINUED):
            return -errno.EINVAL
        if idtype == P_ALL:
            match = lambda c: True  # noqa: E731
        elif idtype == P_PID and ident > 0:
            match = lambda c: c.pid == ident  # noqa: E731
        elif idtype == P_PGID and ident >= 0:
            group = ident or task.pgid
            match = lambda c: c.pgid == group  # noqa: E731
        else:
            return -errno.EINVAL
        dead = self._zombie(task, match, options, exited=bool(options & WEXITED))
        if isinstance(dead, int) and dead != 0:
            return dead
        signo = code = pid = value = 0
        if dead != 0:
            signo, code, pid, value = (
                SIGCHLD,
                _child_code(dead.status),
                dead.pid,
                _child_value(dead.status),
            )
        space = task.linux.space  # the fields Linux writes (not the padding at 12)
        if infop and not (
            space.write(infop, struct.pack("<iii", signo, 0, code))
            and space.write(infop + 16, struct.pack("<iIi", pid, 0, value))
        ):
            return -errno.EFAULT
        if rusage and not space.write(rusage, bytes(RUSAGE_BYTES)):
            return -errno.EFAULT
        if dead != 0 and not options & WNOWAIT:
            self._reap(task, dead)
        return 0

    def _zombie(self, task: Task, match, options: int, exited: bool = True):
        """A zombie child that `match`es; 0 (WNOHANG: none yet), -ECHILD (no such child), or
        ERESTARTSYS with the thread blocked until a child exits. `exited` False: zombies are
        not wanted (waitid without WEXITED), so none is ever found."""
        mine = [c for c in task.children if match(c)]
        if not mine:
            return -errno.ECHILD
        dead = next((c for c in mine if c.zombie and exited), None)
        if dead is not None:
            return dead
        if options & WNOHANG:
            return 0
        self.k.block_current(task.waiters)
        return ERESTARTSYS

    def _reap(self, task: Task, dead: Task) -> None:
        task.children.remove(dead)
        del self.tasks[dead.pid]

    # ---- credentials ---------------------------------------------------------------------
    def set_ids(self, task: Task, which: str, new: tuple) -> int:
        """setres[ug]id with -1 for "unchanged": an unprivileged process (effective uid not 0)
        may only pick among its current real, effective and saved ids. File permissions do
        not follow the ids (every file is accessible, as to root): an assumption of hmk."""
        ids = task.uids if which == "uid" else task.gids
        new = tuple(_signed(x) for x in new)
        if task.uids[1] != 0 and any(x != -1 and x not in ids for x in new):
            return -errno.EPERM
        for i, x in enumerate(new):
            if x != -1:
                ids[i] = x
        return 0


def _child_code(status: int) -> int:
    """SIGCHLD's si_code for a child's wait status: killed by a signal, or exited."""
    return CLD_KILLED if status & 0x7F else CLD_EXITED


def _child_value(status: int) -> int:
    """SIGCHLD's si_status: the signal that killed the child, or its exit code."""
    return status & 0x7F or status >> 8


def _signed(x: int) -> int:
    """A register holding a C int (a pid): Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x

"""The process manager (procmgr): Linux processes, with Linux semantics.

A task is a Linux process: a pid, its parent, its core-kernel Process (VSpace, CSpace, TCB) and
threads, its signal state (hmk.linux.signals), credentials, process group and session. `fork`
makes a child whose pages are the parent's, shared copy-on-write (the memory manager copies a
page on the first write of either), whose descriptors share the parent's open files, and whose
thread resumes after the call with x0 = 0. A vfork (CLONE_VM | CLONE_VFORK: vfork, posix_spawn,
system) shares the parent's pages writable instead, and the parent waits until the child execs
or exits. `execve` replaces the image with a program from the file system. `exit` closes the
descriptors, frees the memory and the kernel objects, and leaves a zombie for `wait4`; when the
program (the first process made from a file) exits, the run ends, as with qemu-user.

The program starts as a shell would start it: its parent is a login shell (`sh`, pid 2, the
session leader) whose parent is init (pid 1). Both are records without a process (no address
space, no thread, no cycles): they exist so that getppid, process groups and sessions read as
they do on a running system (a benchmark harness takes a parent of pid 1 to mean its parent
died), and init adopts orphans and reaps them at once, as its wait loop does. Signals sent to
them are accepted and ignored, as init and an interactive shell ignore kill's default signals.

A call that must wait (wait4 with no zombie child) blocks the thread and runs again when it is
woken (-ERESTARTSYS).
Threads (clone with CLONE_THREAD, as pthread_create makes them) share the process's address
space, files and signal actions; futexes (hmk.services.procfutex) let them, and processes
sharing memory, wait for each other, and a thread's exit clears and wakes its
CLONE_CHILD_CLEARTID word (pthread_join).

Every service hears of a process's start, fork, exec and exit (hmk.services.service.Service).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from hmk.cpu.elf import ElfError, parse_elf, parse_interpreter
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.core import Process
from hmk.linux import abi, credentials
from hmk.linux.abi import (
    CLD_EXITED,
    CLD_KILLED,
    CLONE_CHILD_CLEARTID,
    CLONE_CHILD_SETTID,
    CLONE_DETACHED,
    CLONE_FILES,
    CLONE_FS,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_PARENT_SETTID,
    CLONE_PIDFD,
    CLONE_SETTLS,
    CLONE_SIGHAND,
    CLONE_THREAD,
    CLONE_VFORK,
    CLONE_VM,
    E2BIG,
    EAGAIN,
    ECHILD,
    EFAULT,
    EINVAL,
    ENOENT,
    ENOEXEC,
    ENOSYS,
    EPERM,
    ERESTARTSYS,
    ESRCH,
    NGROUPS_MAX,
    NSIG,
    P_ALL,
    P_PGID,
    P_PID,
    P_PIDFD,
    SI_KERNEL,
    SI_TKILL,
    SI_USER,
    SIG_DFL,
    SIG_IGN,
    SIGCHLD,
    SIGKILL,
    SIGSEGV,
    WAIT_ALSO,
    WCONTINUED,
    WEXITED,
    WNOHANG,
    WNOWAIT,
    WUNTRACED,
)
from hmk.linux.layout import MAX_ARG_BYTES, STACK_TOP, interpreter_bias
from hmk.linux.signals import (
    FPSIMD_SIZE,
    MC_RESERVED,
    SIGINFO_BYTES,
    UC_MCONTEXT,
    SignalState,
    int32,
)
from hmk.linux.stack import auxv_for, build_stack
from hmk.services.addrspace import read_path
from hmk.services.copies import COPY_LINE, COPY_PAGE, READ, WRITE, lines, log_user
from hmk.services.procattrs import (
    RLIMIT_NPROC,
    TIMER_SLACK_NS,
    AttributeCalls,
    comm_of,
    default_rlimits,
)
from hmk.services.procfutex import FutexCalls
from hmk.services.procsignals import SignalCalls
from hmk.services.proctimers import TimerCalls
from hmk.services.service import ENTRY, Needs, Service, charged

RUSAGE_BYTES = 144  # struct rusage on aarch64
# the kernel's cpumask in bytes (cpumask_size: its CPUs rounded up to whole longs; hmk models
# at most 16 cores, so one long), what sched_getaffinity copies out and setaffinity reads
CPUMASK_BYTES = 8
RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1
USER_HZ = 100  # clock ticks per second of times(2) (arm64's USER_HZ)
THREAD_FLAGS = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | CLONE_FILES
# rt_sigreturn's loads: the ucontext up to and with the FP/SIMD record (hmk.linux.signals)
RESTORED_BYTES = UC_MCONTEXT + MC_RESERVED + FPSIMD_SIZE
UTSNAME = (b"Linux", b"hmk", b"6.1.0-hmk", b"#1 SMP hmk", b"aarch64", b"(none)")


INIT_PID, SHELL_PID = 1, 2  # init, and the shell that starts the program
CLONE3_REUSED = 0x7F | 0x400000  # the exit-signal bits and CLONE_DETACHED: not flags in clone3
CLONE_ARGS_V0, CLONE_ARGS_V2 = 64, 88  # struct clone_args: the first and the third version


CSIGNAL = 0xFF  # clone's death-signal bits
SA_NOCLDWAIT = 2
WALL, WCLONE = 0x40000000, 0x80000000  # __WALL, __WCLONE


@dataclass(eq=False)
class Task:
    """A Linux process."""

    pid: int
    ppid: int
    proc: Process | None  # its protection domain in the core kernel (None: init, the shell)
    exe: bytes = b""  # the program's path (/proc/self/exe)
    signals: SignalState = field(default_factory=SignalState)
    children: list = field(default_factory=list)
    zombie: bool = False
    exit_signal: int = SIGCHLD  # what its death sends its parent (clone's CSIGNAL bits)
    reaped: bool = False  # its pid freed (a pidfd of it polls hung up)
    status: int = 0  # the wait status: exit code << 8, or the signal
    waiters: list = field(default_factory=list)  # threads blocked in wait4
    signal_waiters: list = field(default_factory=list)  # ...in rt_sigsuspend, rt_sigtimedwait
    vfork_waiters: list = field(default_factory=list)  # its vfork parent, until exec or exit
    threads: dict = field(default_factory=dict)  # tcb -> [tid, clear_child_tid address]
    pgid: int = 0  # process group and session (a child starts in its parent's)
    sid: int = 0
    rlimits: dict = field(default_factory=dict)  # resource -> (soft, hard) set by prlimit64
    membarriers: set = field(default_factory=set)  # membarrier registrations (its mm's: a
    # child starts with none)
    uids: list = field(default_factory=lambda: [0, 0, 0])  # real, effective, saved
    gids: list = field(default_factory=lambda: [0, 0, 0])
    groups: tuple = ()  # supplementary groups
    fsids: list = field(default_factory=lambda: [None, None])  # setfsuid's, setfsgid's (None:
    # as the effective id)
    caps: tuple | None = None  # capsets set by capset (None: as the ids give them)
    nice: int = 0
    comm: bytes = b""  # its name (prctl PR_SET_NAME; the file name after exec)
    personality: int = 0
    pdeathsig: int = 0  # the signal it gets when its parent dies (prctl)
    subreaper: bool = False  # orphans below it come to it, not to init (prctl)
    no_new_privs: bool = False
    dumpable: int = 1
    keepcaps: int = 0
    timer_slack: int = TIMER_SLACK_NS
    robust: dict = field(default_factory=dict)  # tcb -> its robust-futex list head
    pidfds: list = field(default_factory=list)  # the pidfds naming it (woken at its exit)
    pidfs_xattrs: dict = field(default_factory=dict)  # its pidfs inode's trusted.* attributes
    itimers: dict = field(default_factory=dict)  # setitimer's: which -> ProcTimer
    timers: dict = field(default_factory=dict)  # POSIX timers: id -> ProcTimer
    next_timer_id: int = 0  # the id the next POSIX timer gets (its predecessors' not reused)
    timer_clocks: dict = field(default_factory=dict)  # ...and the clock each was made on
    policy: int = 0  # its scheduling policy (SCHED_OTHER) and real-time priority
    rt_priority: int = 0
    reset_on_fork: int = 0  # SCHED_RESET_ON_FORK: children start as SCHED_OTHER, nice >= 0
    cpu_at_exit: tuple = (0, 0)  # (user, system) cycles its threads ran, fixed at its exit
    children_cpu: tuple = (0, 0)  # ...and its waited-for children's and their own children's

    @property
    def virtual(self) -> bool:
        """init or the shell that started the program: a record, not a process."""
        return self.proc is None

    @property
    def label(self) -> str:
        """How reports name it: the program's file name and the pid, `hello[3]`."""
        return f"{os.path.basename(self.exe.decode(errors='replace'))}[{self.pid}]"


class ProcMgr(SignalCalls, AttributeCalls, TimerCalls, FutexCalls, Service):
    name = "procmgr"
    default_class = "IC2"
    # exec, fork and exit change address spaces (memmgr); threads have shadow tasks in the
    # driver host (devhost); an exit closes its sockets (netmgr)
    needs = Needs(calls=("memmgr", "devhost", "netmgr"))
    # Instructions per operation (hmk.services.service: a budget's convention). Sources: the
    # paths of hmk/calibration/linux_paths.json (docs/linux-paths.md), named by key; the
    # scheduler's share of a path (sched_fork, schedule, wake-ups) and a thread's kernel side
    # (its task struct and stack: hmk's TCB, copy_thread) are the kernel's, the memory's
    # memmgr's and the descriptors' fsmgr's, so they are left out of these.
    costs = {
        "call": ENTRY,
        # an id read (getpid, getppid, gettid, getuid, ...): getppid 69 less the entry
        # (null_syscall)
        "ids": 57,
        # a signal action set or read: rt_sigaction 311 less the entry (rt_sigaction)
        "sigaction": 299,
        # the signal mask set or read: rt_sigprocmask 185 less the entry (rt_sigprocmask)
        "sigprocmask": 173,
        # assumed: a pending signal taken off the queue for rt_sigtimedwait (collect_signal:
        # the sigqueue entry found and freed, the siginfo copied), ~ half of sigprocmask's work
        "sigdequeue": 90,
        # a signal sent to a process: kill 1,377 less the entry and AppArmor's
        # security_task_kill 198 (the target found, the siginfo queued) (signal_self_handled)
        "kill": 1167,
        # a signal frame restored: rt_sigreturn 2,020 less the entry (restore_sigframe's loads
        # of the registers, the mask and the FP/SIMD record) (signal_self_handled)
        "sigreturn": 2008,
        # ids checked for a change: setresuid 222 less the entry (setresuid_unchanged)
        "creds": 210,
        # assumed: new credentials made and committed when ids do change (prepare_creds: a slab
        # object allocated and filled; commit_creds), ~400: not measured (setresuid with its
        # ids unchanged returns before prepare_creds)
        "creds_commit": 400,
        # assumed: a process group, session or resource limit read or set (the task found, the
        # field changed under its lock): as rt_sigaction's own work
        "task_field": 299,
        # assumed: CPU time read for getrusage or times (the thread group's times summed and
        # scaled: thread_group_cputime_adjusted), ~2x task_field's work
        "cputime": 600,
        # a futex's hash bucket found and searched (the key, the hash, the lock), nobody woken:
        # futex 261 less the entry (futex_wake_nobody)
        "futex": 249,
        # a waiter woken from a futex (taken off the queue; the wake-up itself is the
        # scheduler's): futex_wake 2,270 waking one, less futex_wake with nobody 161 and
        # wake_up_q 1,525 (thread_create_exit_join, futex_wake_nobody)
        "futex_woken": 584,
        # a thread queued on a futex (futex_wait_setup 627: the key, the hash, the word read;
        # the queueing): FUTEX_WAIT 3,313 less the entry and its schedule 2,378
        # (thread_create_exit_join)
        "futex_wait": 923,
        # a process's task made at fork (credentials, signal state, the cgroup's and perf's
        # parts): copy_process 41,483 less dup_mm 28,617, dup_fd 2,373, alloc_pid 1,368,
        # dup_task_struct 2,774, sched_fork 368, copy_thread 223 (fork_exit_wait)
        "fork_task": 5761,
        # a pid allocated: alloc_pid 1,368 (fork_exit_wait; a thread's 941)
        "pid_alloc": 1368,
        # a thread's task made (clone with CLONE_THREAD): copy_process 8,082 less
        # dup_task_struct 3,034, alloc_pid 941, sched_fork 454, copy_thread 229
        # (thread_create_exit_join)
        "thread_task": 3424,
        # a process's exit (signals, SIGCHLD to the parent, the task's parts released): do_exit
        # 34,304 less exit_mm 28,815, exit_files 727 and do_task_dead 56 (fork_exit_wait)
        "exit_task": 4706,
        # a thread's exit, its task released: do_exit 9,566 less its CLEARTID futex wake
        # (exit_mm_release 2,526) and do_task_dead 56 (thread_create_exit_join)
        "thread_exit": 6983,
        # a wait: the children scanned, the wait queue entered and left: do_wait 6,703 less its
        # schedule 3,507 and release_task 2,269 (fork_exit_wait)
        "wait": 927,
        # a zombie reaped (its pid freed, its task put): release_task 2,269 (fork_exit_wait)
        "reap": 2269,
        # an execve's own work (the binary handler, the headers read and parsed, the old
        # image's state given up, the new one's tables built on its stack, its AT_RANDOM
        # bytes): do_execveat_common 82,322 less what other services charge: the old image
        # dropped (mmput 36,867: memmgr's teardown), the file opened (do_open_execat 2,293:
        # fsmgr's), the new VMAs (setup_arg_pages 4,424, elf_map 1,776, the vDSO's
        # arch_setup_additional_pages 1,622: memmgr's), the path copied onto the new stack
        # with that page's fault (copy_string_kernel 6,319: memmgr's), the strings
        # (copy_strings 2,818: exec_string), and TOMOYO's check (security_bprm_check 8,037)
        # (execve_tiny_static)
        "exec": 18167,
        # an argument or environment string copied to the new stack: copy_strings 2,818 for
        # three (execve_tiny_static)
        "exec_string": 939,
        "copy_page": COPY_PAGE,
        "copy_line": COPY_LINE,
    }

    def __init__(self, boot):
        super().__init__(boot)
        self.tasks: dict[int, Task] = {}
        self.on_reaped = None  # called with each reaped task (the invariant checks' hook)
        self.by_proc: dict[Process, Task] = {}
        self._next_pid = 1
        self.program: Task | None = None  # the first process made from a file
        # the OOM killer's victim while it dies, and the threads whose faults wait for it
        self.oom_victim: Task | None = None
        self.oom_waiters: list = []
        self._futex_init()
        # every thread made or gone is told to the driver host when it keeps shadow tasks
        # (HM's driver container: hmk.services.devhost; not a linux kernel's drivers)
        self.shadow_tasks = self.placement.composition.shadow_tasks

    def task_of(self, proc) -> Task | None:
        """The Linux process of a core-kernel Process (None: not one, e.g. a service's)."""
        return self.by_proc.get(proc)

    def holds_id(self, n: int, kind: str = "tgid") -> bool:
        """Does a live id `n` of `kind` exist: a thread ("tid"), a process ("tgid", zombies
        too), a process group ("pgid") or any of these or a session ("any": Linux's
        find_vpid)?"""
        tasks = self.tasks.values()
        if kind in ("tgid", "any") and n in self.tasks:
            return True
        if kind in ("tid", "any") and any(n == t[0] for k in tasks for t in k.threads.values()):
            return True
        if kind in ("pgid", "any") and any(k.pgid == n for k in tasks):
            return True
        return kind == "any" and any(k.sid == n for k in tasks)

    def label(self, proc) -> str | None:
        task = self.by_proc.get(proc)
        return task.label if task is not None else None

    def space_of(self, task: Task):
        return self.peers["memmgr"].space_of(task.proc)

    @property
    def exit_status(self) -> int | None:
        """The program's exit status as a shell reports it (None: it has not exited)."""
        task = self.program
        if task is None or not task.zombie:
            return None
        signaled = task.status & 0x7F
        return 128 + signaled if signaled else task.status >> 8 & 0xFF

    # ---- the first process ---------------------------------------------------------------
    def start(self, proc) -> Task:
        """The program's process, in `proc`: the child of a shell (pid 2, a session leader)
        that init (pid 1) started; the program leads its own process group, as a job a shell
        starts does."""
        if not self.tasks:
            self._add(0, None)  # init
            self._add(INIT_PID, None)  # the shell
        self.peers["memmgr"].attach(proc)
        task = self._add(SHELL_PID, proc)
        task.pgid = task.pid
        self.program = self.program or task
        for service in self.peers.values():
            service.process_started(task)
        self._shadow(proc, task.pid, made=True)
        return task

    def load(self, task: Task, image, argv, envp, execfn: bytes, interp=None) -> tuple[int, int]:
        """Load `image` (and its dynamic loader `interp`, from `interpreter`) into `task` with
        Linux's initial stack for argv and envp: (entry, sp). The first instruction is the
        loader's when there is one: it maps the program's libraries, then jumps to the
        program's entry (AT_ENTRY)."""
        random16 = self.peers["devhost"].random.bytes(16)
        auxv = auxv_for(image, interp)
        sp, stack = build_stack(STACK_TOP, argv, envp, auxv, execfn, random16)
        self.peers["memmgr"].load_program(task.proc, image, stack, sp, interp)
        task.exe = image.path.encode()
        task.comm = comm_of(execfn)
        task.proc.image = image
        return (interp or image).entry, sp

    def interpreter(self, task: Task, image):
        """The dynamic loader `image` names (PT_INTERP), read from the file system as execve
        opens it (relative to the working directory) and placed where Linux's
        ``load_elf_interp`` puts it; None for a static program. Raises ElfError: `errno` names
        what execve returns (ENOENT, EACCES, ELIBBAD, EIO...), unless it is `fatal`."""
        if image.interp is None:
            return None
        found = self.peers["fsmgr"].executable(task, image.interp, from_user=False)
        what = image.interp.decode(errors="replace")
        if isinstance(found, int):
            name = abi.ERRNO_NAMES.get(-found, "ENOEXEC")
            raise ElfError(image.path, f"its interpreter {what}: {os.strerror(-found)}", name)
        data, path = found
        interp = parse_interpreter(data, path.decode(errors="replace"))
        return interp.rebased(interpreter_bias(interp)) if interp.elf_type == "ET_DYN" else interp

    def _add(self, ppid, proc) -> Task:
        task = Task(self._next_pid, ppid, proc)
        self._next_pid += 1
        parent = self.tasks.get(ppid)
        task.pgid, task.sid = (parent.pgid, parent.sid) if parent else (task.pid, task.pid)
        task.rlimits = dict(parent.rlimits) if parent else default_rlimits(len(self.k.ram))
        if parent:
            task.uids, task.gids, task.groups = list(parent.uids), list(parent.gids), parent.groups
            task.fsids, task.caps, task.nice = list(parent.fsids), parent.caps, parent.nice
            task.comm, task.personality = parent.comm, parent.personality
            task.no_new_privs, task.dumpable = parent.no_new_privs, parent.dumpable
            task.timer_slack = parent.timer_slack
            if not parent.reset_on_fork:
                task.policy, task.rt_priority = parent.policy, parent.rt_priority
            else:
                task.nice = max(task.nice, 0)
            if not parent.virtual:
                task.exe, task.signals = parent.exe, parent.signals.copy()
                proc.image = parent.proc.image
        self.tasks[task.pid] = task
        if proc is None:  # init, or the shell
            task.pgid = task.sid = task.pid
            task.exe = b"/sbin/init" if task.pid == INIT_PID else b"/bin/sh"
        else:
            self.by_proc[proc] = task
            task.threads[proc.tcb] = [task.pid, 0]
        if ppid:
            self.tasks[ppid].children.append(task)
        return task

    # ---- fork ----------------------------------------------------------------------------
    def fork(self, machine, parent: Task, flags: int, child_tid: int, stack=0, tls=0):
        """clone(2): a new process (fork) or, with CLONE_THREAD, a thread of this one."""
        k = self.k
        if flags & CLONE_THREAD:
            return self._thread(machine, parent, flags, child_tid, stack, tls)
        vfork = flags & (CLONE_VM | CLONE_VFORK) == CLONE_VM | CLONE_VFORK
        if flags & CLONE_VM and not vfork:
            return -ENOSYS  # a process sharing memory that is not a vfork: not modelled
        if self._over_nproc(parent):
            return -EAGAIN
        try:
            proc = Process(k, f"pid{self._next_pid}", parent.proc.personality)
        except MemoryError:
            return -EAGAIN
        mm = self.peers["memmgr"]
        space = mm.attach(proc)
        task = self._add(parent.pid, proc)
        task.exit_signal = flags & CSIGNAL
        self.work(fork_task=1, pid_alloc=1)
        self._shadow(parent.proc, task.pid, made=True)
        for service in self.peers.values():
            service.process_forked(parent, task)
        k.counts["procmgr.fork.pages_shared"] += mm.fork(parent.proc, proc, share=bool(vfork))
        if flags & CLONE_CHILD_SETTID:
            space.write(child_tid, struct.pack("<i", task.pid))
        ctx = machine.context()
        ctx[0] = 0  # fork returns 0 in the child
        if stack:
            ctx[31] = stack
        k.set_saved_context(proc.tcb, ctx)
        k.adopt(proc.tcb, proc, machine.extra_context())
        if task.nice:
            self.weigh(task)
        if task.policy:
            self.prioritise(task)
        k.threads.resume(proc.tcb)
        k.need_resched = True
        k.counts["procmgr.vforks" if vfork else "procmgr.forks"] += 1
        if vfork:  # the parent waits (with the child's pid in x0) until the child execs or exits
            k.block_current(task.vfork_waiters)
        return task.pid

    def _over_nproc(self, task: Task) -> bool:
        """Would one more task exceed RLIMIT_NPROC for `task`'s real user? (Tasks: every thread
        of every process of the user until it is reaped; root is exempt, as with
        CAP_SYS_RESOURCE.)"""
        uid = task.uids[0]
        if uid == 0:
            return False
        mine = sum(len(t.threads) or 1 for t in self.tasks.values() if t.uids[0] == uid)
        return mine >= self.limit(task, RLIMIT_NPROC)[0]

    # ---- the calls ------------------------------------------------------------------------
    def sys_exit(self, call, status, *_):
        self.thread_exit(call.machine, call.task, (status & 0xFF) << 8)
        return 0  # for --strace: nobody receives it

    def sys_exit_group(self, call, status, *_):
        self.exited(call.machine, call.task, (status & 0xFF) << 8)
        return 0

    def sys_clone(self, call, flags, newsp, parent_tid, tls, child_tid, *_):
        """clone(2): the flags' lower 32 bits, the exit signal in their lowest byte; with
        CLONE_PIDFD, the child's pidfd is written where CLONE_PARENT_SETTID's tid goes (so
        the two together are EINVAL)."""
        flags &= 0xFFFFFFFF
        if flags & CLONE_PIDFD and flags & CLONE_PARENT_SETTID:
            return -EINVAL
        return self._clone(call, flags, child_tid, newsp, tls, parent_tid, parent_tid)

    def _clone(self, call, flags, child_tid, sp, tls, parent_tid, pidfd) -> int:
        """copy_process's refusals of flags that contradict each other, then the child; with
        CLONE_PIDFD, its pidfd written to `pidfd`."""
        if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS:
            return -EINVAL  # a new mount namespace cannot share the file system information
        if flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS:
            return -EINVAL
        if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
            return -EINVAL  # a thread shares its signal actions...
        if flags & CLONE_SIGHAND and not flags & CLONE_VM:
            return -EINVAL  # ...which are shared only with the memory
        if flags & CLONE_THREAD and flags & (CLONE_NEWUSER | CLONE_NEWPID):
            return -EINVAL
        if flags & CLONE_PIDFD and flags & (CLONE_DETACHED | CLONE_THREAD):
            return -EINVAL  # (a thread's pidfd, PIDFD_THREAD, is not modelled)
        if flags & CLONE_PIDFD and not call.space.write(pidfd, bytes(4)):
            return -EFAULT  # (Linux writes it before the child runs: no child then)
        child = self.fork(call.machine, call.task, flags, child_tid, sp, tls)
        if child > 0 and flags & CLONE_PIDFD:
            fd = self.open_pidfd(call.task, self.tasks[child])
            if fd < 0:
                return fd
            call.space.write(pidfd, struct.pack("<i", fd))
        if child > 0 and flags & CLONE_PARENT_SETTID:
            call.space.write(parent_tid, struct.pack("<i", child))  # a fault is ignored
        return child

    def sys_clone3(self, call, args, size, *_):
        """clone3(2): clone's arguments in a struct clone_args (64 to 88 bytes known here), the
        exit signal apart from the flags, the stack as a base and a size; CLONE_PIDFD gives
        the parent a pidfd for the child. set_tid (choosing the child's pid) is not
        modelled: EINVAL."""
        if size < CLONE_ARGS_V0:
            return -EINVAL
        if size > PAGE_SIZE:
            return -E2BIG
        raw = call.space.read(args, size)
        if raw is None:
            return -EFAULT
        if any(raw[CLONE_ARGS_V2:]):
            return -E2BIG  # fields of a later version than hmk knows, set
        fields = struct.unpack("<11Q", raw[:CLONE_ARGS_V2].ljust(CLONE_ARGS_V2, b"\0"))
        flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = fields[:8]
        set_tid, set_tid_size = fields[8:10]
        if (
            flags & ~0xFFFFFFFF
            or flags & CLONE3_REUSED
            or exit_signal & ~0xFF
            or exit_signal > NSIG
        ):
            return -EINVAL
        if flags & CLONE_THREAD and exit_signal or set_tid or set_tid_size:
            return -EINVAL
        if bool(stack) != bool(stack_size):
            return -EINVAL
        if flags & CLONE_PIDFD and flags & CLONE_PARENT_SETTID and pidfd == parent_tid:
            return -EINVAL
        sp = stack + stack_size if stack else 0
        return self._clone(call, flags | exit_signal, child_tid, sp, tls, parent_tid, pidfd)

    def sys_execve(self, call, path_ptr, argv_ptr, envp_ptr, *_):
        """Replace this process's image with the program at the path (in the file system)."""
        task, space, m = call.task, call.space, call.machine
        path = read_path(space, path_ptr)  # Linux's order: the path, the file, then the strings
        if isinstance(path, int) or not path:
            return -ENOENT if path == b"" else path
        found = self.peers["fsmgr"].executable(task, path)
        if isinstance(found, int):
            return found
        argv, envp = _strings(space, argv_ptr), _strings(space, envp_ptr)
        if argv is None or envp is None:
            return -EFAULT
        if isinstance(argv, int) or isinstance(envp, int):
            return argv if isinstance(argv, int) else envp
        data, name = found
        doomed = False  # Linux finds the interpreter bad only past the point of no return
        try:
            image = parse_elf(data, name.decode(errors="replace"))
            interp = self.interpreter(task, image)
        except ElfError as e:
            if not e.fatal:
                return -getattr(abi, e.errno)
            doomed, interp = True, None
        mm = self.peers["memmgr"]
        if not all(mm.fits(i) for i in (image, interp) if i is not None):
            return -ENOEXEC
        # ---- the point of no return: the old image goes (a vfork parent goes on)
        self.work(exec=1, exec_string=len(argv) + len(envp))
        mm.drop_image(task.proc)
        self.vfork_done(task)
        if doomed:
            self.exited(m, task, SIGSEGV)
            return 0  # for --strace: nobody receives it
        entry, sp = self.load(task, image, argv, envp, name, interp)
        m.use_code(image)
        for service in self.peers.values():
            service.process_exec(task)
        task.signals.exec_reset()
        self.drop_timers(task, interval_timers=False)
        regs = [0] * 34
        regs[31], regs[32] = sp, entry
        m.set_context(regs)
        return None

    # a wait's work includes its second look after it is woken (`wait`, measured on a wait that
    # blocked): a call going on after its wait is not charged again
    def sys_wait4(self, call, pid, wstatus, options, rusage, *_):
        with self.working(wait=int(not call.resumed)):
            return self.wait4(call.task, pid, wstatus, options, rusage)

    def sys_waitid(self, call, idtype, ident, infop, options, rusage, *_):
        """waitid; an error other than a wait's still writes an empty siginfo (Linux writes
        `infop` whatever kernel_waitid found: a bad one is EFAULT then)."""
        with self.working(wait=int(not call.resumed)):
            err = self.waitid(call.task, _int32(idtype), ident, infop, _int32(options), rusage)
            failed = err < 0 and err != -ERESTARTSYS and infop
            return -EFAULT if failed and not call.space.write(infop, bytes(32)) else err

    @charged(ids=1)
    def sys_set_tid_address(self, call, tidptr, *_):
        entry = call.task.threads[call.tcb]
        entry[1] = tidptr
        return entry[0]

    @charged(ids=1)
    def sys_getpid(self, call, *_):
        return call.task.pid

    @charged(ids=1)
    def sys_gettid(self, call, *_):
        return call.task.threads[call.tcb][0]

    @charged(ids=1)
    def sys_getppid(self, call, *_):
        return call.task.ppid

    def sys_uname(self, call, buf, *_):
        data = b"".join(f.ljust(65, b"\0") for f in UTSNAME)
        with self.working(ids=1) as ops:
            if not call.space.write(buf, data):
                return -EFAULT
            log_user(self.k.mem, call.space, buf, len(data), WRITE)
            ops.update(copy_page=1, copy_line=lines(len(data)))
            return 0

    # ---- the machine and the CPUs
    def sys_sysinfo(self, call, info, *_):
        """struct sysinfo: the time since boot (simulated), RAM as the run has it (its free
        frames free), no swap, no load average (a single modelled core runs one thread), the
        number of threads."""
        k = self.k
        frames = k.frames
        free = ((frames.end - frames.first) // PAGE_SIZE - frames.in_use) * PAGE_SIZE
        threads = sum(len(t.threads) for t in self.tasks.values() if not t.zombie)
        data = struct.pack(
            "<q3Q6QHxxxxxx2QI4x",
            k.now_ns() // 10**9,
            0,
            0,
            0,
            len(k.ram),
            free,
            0,
            0,
            0,
            0,
            threads,
            0,
            0,
            1,
        )
        with self.working(task_field=1) as ops:
            if not call.space.write(info, data):
                return -EFAULT
            log_user(k.mem, call.space, info, len(data), WRITE)
            ops.update(copy_page=1, copy_line=lines(len(data)))
            return 0

    def _task_or_thread(self, tid: int):
        """The live process a thread id (or process id) belongs to, or None."""
        for task in self.tasks.values():
            if not task.zombie and (
                task.pid == tid or any(t[0] == tid for t in task.threads.values())
            ):
                return task
        return None

    def _affinity_thread(self, call, pid: int):
        """The thread sched_{get,set}affinity names (0: the caller) as its TCB, -ESRCH for
        none, or None for a process whose first thread is gone (Linux keeps that thread's
        task, and its mask, until the whole process exits: hmk takes it to allow every
        core) or for init and the shell (records, not processes: every core)."""
        if pid == 0:
            return call.tcb
        for task in self.tasks.values():
            if task.zombie:
                continue
            for tcb, (tid, _) in task.threads.items():
                if tid == pid:
                    return tcb
            if task.pid == pid:
                return None
        return -ESRCH

    def sys_sched_getaffinity(self, call, pid, size, mask, *_):
        """The cores a thread may run on: the kernel's mask of it (every modeled core unless
        sched_setaffinity narrowed it, or its creator's was)."""
        k = self.k
        size &= 0xFFFFFFFF  # an unsigned int: whole longs, enough bits for the CPUs
        if size * 8 & 0xFFFFFFFF < k.ncores or size % 8:
            return -EINVAL
        with self.working(task_field=1):
            tcb = self._affinity_thread(call, _signed(pid))
            if tcb is not None and tcb < 0:
                return tcb
            allowed = (1 << k.ncores) - 1 if tcb is None else k.allowed(tcb)
            if not call.space.write(mask, allowed.to_bytes(CPUMASK_BYTES, "little")):
                return -EFAULT
            return CPUMASK_BYTES

    def sys_sched_setaffinity(self, call, pid, size, mask, *_):
        """The thread may run on the mask's modeled cores only (the kernel moves it off one it
        may not use: CoreKernel.set_affinity); EINVAL when the mask has none of them, as
        Linux refuses a mask with no online CPU in it."""
        size &= 0xFFFFFFFF  # an unsigned int: the mask's first bytes, up to the kernel's size
        raw = call.space.read(mask, min(size, CPUMASK_BYTES)) if size else b""
        if raw is None:
            return -EFAULT  # copied in before the thread is looked up
        allowed = int.from_bytes(raw, "little")
        with self.working(task_field=1):
            tcb = self._affinity_thread(call, _signed(pid))
            if tcb is not None and tcb < 0:
                return tcb
            if tcb is None:
                return 0 if allowed & (1 << self.k.ncores) - 1 else -EINVAL
            return 0 if self.k.set_affinity(tcb, allowed) else -EINVAL

    @charged(task_field=1)
    def sys_membarrier(self, call, cmd, flags, cpu_id, *_):
        """Memory barriers on the process's threads (or, GLOBAL_EXPEDITED, on every process
        registered for it). The threads on this core are in program order with the caller;
        with several cores the expedited commands interrupt each other core running one of
        the threads concerned and wait for it (CoreKernel.call_cores), as Linux's
        membarrier_private_expedited and membarrier_global_expedited do with
        smp_call_function_many; with PRIVATE_EXPEDITED_RSEQ's FLAG_CPU only that core, if it
        runs one. A registration made while other threads run on other cores interrupts
        those cores too, as Linux's sync_runqueues_membarrier_state does (its RCU grace
        period is not modelled); GLOBAL waits for none (synchronize_rcu: not modelled).
        QUERY lists what Linux 6.x supports; the PRIVATE_EXPEDITED commands need registering
        first, and GET_REGISTRATIONS says which registrations were made."""
        cmd, task = int32(cmd), call.task
        if flags & 0xFFFFFFFF & ~MEMBARRIER_CMD_FLAG_CPU or (flags and cmd != MEMBARRIER_RSEQ):
            return -EINVAL
        if cmd == MEMBARRIER_QUERY:
            return MEMBARRIER_SUPPORTED
        if cmd == MEMBARRIER_GET_REGISTRATIONS:
            return sum(task.membarriers)
        if cmd not in MEMBARRIER_COMMANDS:
            return -EINVAL
        if cmd in MEMBARRIER_NEEDS and MEMBARRIER_NEEDS[cmd] not in task.membarriers:
            return -EPERM
        if cmd in MEMBARRIER_REGISTERS:
            if cmd in task.membarriers:
                return 0
            task.membarriers.add(cmd)
        if self.k.ncores > 1 and cmd != MEMBARRIER_GLOBAL:
            self._barrier_ipis(task, cmd, int32(cpu_id) if flags else None)
        return 0

    def _barrier_ipis(self, task: Task, cmd: int, cpu: int | None) -> None:
        """membarrier's interrupts of the other cores (sys_membarrier), `cpu` the one core
        FLAG_CPU names."""
        procs = {task.proc}
        if cmd == MEMBARRIER_GLOBAL_EXPEDITED:  # the processes registered for it
            registered = (t for t in self.tasks.values() if not t.zombie and t.membarriers)
            procs = {t.proc for t in registered if MEMBARRIER_REGISTER_GLOBAL in t.membarriers}
        cores = self.k.cores_running(procs)
        if cpu is not None:
            cores = [c for c in cores if c == cpu]
        self.k.call_cores(cores, "kernel.membarrier_ipis")

    # ---- signals
    @charged(sigaction=1)
    def sys_rt_sigaction(self, call, sig, act, oact, size, *_):
        return call.task.signals.sigaction(call.space, sig, act, oact, size)

    @charged(sigprocmask=1)
    def sys_rt_sigprocmask(self, call, how, new, old, size, *_):
        return call.task.signals.sigprocmask(call.space, how, new, old, size)

    def sys_rt_sigreturn(self, call, *_):
        m, signals = call.machine, call.task.signals
        restored = signals.restore_frame(call.space, m.sp, m.extra_context())
        if restored is None:  # a corrupt frame: Linux forces SIGSEGV
            signals.post(SIGSEGV)
            self.work(sigreturn=1)
            return 0
        log_user(self.k.mem, call.space, m.sp + SIGINFO_BYTES, RESTORED_BYTES, READ)
        self.work(sigreturn=1)  # the frame's loads: their lines logged
        regs, extra = restored
        m.set_context(regs)
        m.set_extra_context(extra)
        return None

    def sys_kill(self, call, pid, sig, *_):
        return self.kill(call.task, pid, sig)

    def sys_tgkill(self, call, tgid, tid, sig, *_):
        if _int32(tgid) <= 0 or _int32(tid) <= 0:
            return -EINVAL
        target = self.tasks.get(_int32(tgid))
        if target is None or _int32(tid) not in (t for t, _ in target.threads.values()):
            return -ESRCH
        return self.kill(call.task, tid, sig, SI_TKILL)

    def sys_tkill(self, call, tid, sig, *_):
        if _int32(tid) <= 0:
            return -EINVAL
        return self.kill(call.task, tid, sig, SI_TKILL)

    # ---- process groups and sessions
    @charged(task_field=1)
    def sys_setpgid(self, call, pid, pgid, *_):
        return self.setpgid(call.task, pid, pgid)

    @charged(task_field=1)
    def sys_getpgid(self, call, pid, *_):
        return self.getpgid(call.task, pid)

    @charged(task_field=1)
    def sys_getsid(self, call, pid, *_):
        return self.getsid(call.task, pid)

    @charged(task_field=1)
    def sys_setsid(self, call, *_):
        return self.setsid(call.task)

    # ---- credentials: real, effective and saved ids; supplementary groups
    @charged(ids=1)
    def sys_getuid(self, call, *_):
        return call.task.uids[0]

    @charged(ids=1)
    def sys_geteuid(self, call, *_):
        return call.task.uids[1]

    @charged(ids=1)
    def sys_getgid(self, call, *_):
        return call.task.gids[0]

    @charged(ids=1)
    def sys_getegid(self, call, *_):
        return call.task.gids[1]

    @charged(ids=1)
    def sys_getresuid(self, call, r, e, s, *_):
        return _put_ids(call.space, call.task.uids, (r, e, s))

    @charged(ids=1)
    def sys_getresgid(self, call, r, e, s, *_):
        return _put_ids(call.space, call.task.gids, (r, e, s))

    def sys_setresuid(self, call, r, e, s, *_):
        t = call.task
        fs = None if _setres_noop(t.uids, t.fsids[0], (r, e, s)) else False
        return self._creds(t, lambda: credentials.setres(t.uids, _root(t), (r, e, s)), fs=fs)

    def sys_setresgid(self, call, r, e, s, *_):
        t = call.task
        fs = None if _setres_noop(t.gids, t.fsids[1], (r, e, s)) else True
        return self._creds(t, lambda: credentials.setres(t.gids, _root(t), (r, e, s)), fs=fs)

    def sys_setreuid(self, call, r, e, *_):
        t = call.task
        return self._creds(t, lambda: credentials.setre(t.uids, _root(t), r, e), fs=False)

    def sys_setregid(self, call, r, e, *_):
        t = call.task
        return self._creds(t, lambda: credentials.setre(t.gids, _root(t), r, e), fs=True)

    def sys_setuid(self, call, uid, *_):
        t = call.task
        return self._creds(t, lambda: credentials.set_one(t.uids, _root(t), uid), fs=False)

    def sys_setgid(self, call, gid, *_):
        t = call.task
        return self._creds(t, lambda: credentials.set_one(t.gids, _root(t), gid), fs=True)

    @charged(ids=1)
    def sys_getgroups(self, call, size, ptr, *_):
        groups, size = call.task.groups, size & 0xFFFFFFFF
        if size == 0:
            return len(groups)
        if size >= 1 << 31 or size < len(groups):
            return -EINVAL
        data = struct.pack(f"<{len(groups)}I", *groups)
        return len(groups) if call.space.write(ptr, data) else -EFAULT

    def sys_setgroups(self, call, size, ptr, *_):
        return self._creds(call.task, lambda: self._setgroups(call, size, ptr))

    def _creds(self, task: Task, change, fs: bool | None = None) -> int:
        """A credentials call: the ids checked, and new credentials committed if they change.
        `fs`: a set*uid (False) or set*gid (True) call, whose success makes the file-system
        id the effective one again (Linux's new->fsuid = new->euid)."""
        before = (list(task.uids), list(task.gids), task.groups)
        result = change()
        if fs is not None and result == 0:
            task.fsids[fs] = None
        changed = before != (task.uids, task.gids, task.groups)
        self.work(creds=1, creds_commit=int(changed))
        return result

    def _setgroups(self, call, size, ptr):
        size = size & 0xFFFFFFFF
        if size > NGROUPS_MAX:
            return -EINVAL
        if not _root(call.task):
            return -EPERM
        raw = call.space.read(ptr, 4 * size) if size else b""
        if raw is None:
            return -EFAULT
        groups = struct.unpack(f"<{size}I", raw)
        if credentials.UNCHANGED in groups:
            return -EINVAL  # (gid_t)-1 is no group (gid_valid)
        call.task.groups = tuple(sorted(groups))  # groups_sort
        return 0

    # ---- CPU time ------------------------------------------------------------------------
    def cpu_ns(self, task: Task, who: int = RUSAGE_SELF, tcb: int | None = None):
        """(user, system) ns of `task` (RUSAGE_SELF), of its waited-for children and their
        own (RUSAGE_CHILDREN), or of thread `tcb` (RUSAGE_THREAD), as the core kernel
        accounted them (hmk.kernel.core.cpu_cycles)."""
        if who == RUSAGE_CHILDREN:
            cycles = task.children_cpu
        elif task.zombie:
            cycles = task.cpu_at_exit
        else:
            cycles = self.k.cpu_cycles(task.proc, tcb if who == RUSAGE_THREAD else None)
        return tuple(int(c / self.k.ghz) for c in cycles)

    def sys_getrusage(self, call, who, usage, *_):
        who = _signed(who)
        if who not in (RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD):
            return -EINVAL
        with self.working(cputime=1):
            raw = _rusage(self.cpu_ns(call.task, who, call.tcb))
            if not call.space.write(usage, raw):
                return -EFAULT
            log_user(self.k.mem, call.space, usage, len(raw), WRITE)
            return 0

    def sys_times(self, call, buf, *_):
        """times(2): the caller's and its waited-for children's user and system time in clock
        ticks (USER_HZ), and the ticks since boot."""
        with self.working(cputime=1):
            if buf:
                times = self.cpu_ns(call.task) + self.cpu_ns(call.task, RUSAGE_CHILDREN)
                raw = struct.pack("<4q", *(ns * USER_HZ // 10**9 for ns in times))
                if not call.space.write(buf, raw):
                    return -EFAULT
                log_user(self.k.mem, call.space, buf, len(raw), WRITE)
            return self.k.now_ns() * USER_HZ // 10**9

    # ---- the work behind the calls ---------------------------------------------------------
    def vfork_done(self, task: Task) -> None:
        """The child of a vfork exec'd or exited: its parent goes on."""
        self.k.wake_all(task.vfork_waiters)

    def _thread(self, machine, task: Task, flags, child_tid, stack, tls) -> int:
        """clone with CLONE_THREAD: a thread in the caller's process (its address space, files,
        signal actions), on its own stack, with its own TLS pointer and tid."""
        k = self.k
        if flags & THREAD_FLAGS != THREAD_FLAGS:
            return -EINVAL  # Linux needs CLONE_VM and CLONE_SIGHAND with CLONE_THREAD
        proc = task.proc
        priority = int(k.threads.tcb["priority"][k.running])
        tcb = k.new_thread(priority, proc.vspace, proc.cspace)
        if tcb < 0:
            k.mem.take_log()
            return -EAGAIN
        tid = self._next_pid
        self._next_pid += 1
        self.work(thread_task=1, pid_alloc=1)
        self._shadow(task.proc, tid, made=True)
        space = self.space_of(task)
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
        if task.nice:
            self.weigh(task)
        if task.policy:
            self.prioritise(task)
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
        self.work(thread_exit=1)
        self._shadow(task.proc, tid, made=False)
        if clear and self.space_of(task).write(clear, b"\0\0\0\0"):
            self.futex_wake(task, clear, 1)  # pthread_join waits on it
        k.forget_thread(tcb)

    def _shadow(self, proc, tid: int, made: bool) -> None:
        """Tell the driver host that thread `tid` was made or is gone, for its shadow task: a
        call through the placement (an IPC to an IC2 driver container), when it keeps them."""
        if not self.shadow_tasks:
            return
        devhost = self.peers["devhost"]
        tell = devhost.shadow_created if made else devhost.shadow_released
        self.k.counts["procmgr.shadow_calls"] += 1
        if self.placement.call(proc, "devhost", lambda: tell(tid) or True) is None:
            self.k.counts["procmgr.shadow_calls.failed"] += 1  # no activation free: it is lost

    # ---- exit and wait -------------------------------------------------------------------
    def exited(self, machine, task: Task, status: int) -> None:
        """`task` called exit or exit_group, or a signal ended it (`status`: the wait
        status): its files close, its threads go, it becomes a zombie for its parent to reap;
        the first process's exit ends the run, as with qemu-user."""
        k = self.k
        self.work(exit_task=1)
        for tid, _ in list(task.threads.values()):
            self._shadow(task.proc, tid, made=False)
        for service in self.peers.values():
            service.process_exited(task)
        for tcb in k.threads_of(task.proc):
            k.forget_thread(tcb)
        task.cpu_at_exit = k.cpu_cycles(task.proc)
        self.drop_timers(task, interval_timers=True)
        task.zombie, task.status = True, status
        if task is self.oom_victim:  # the faults that waited for its memory run again
            self.oom_victim = None
            k.wake_all(self.oom_waiters)
            self.oom_waiters.clear()
        for node in task.pidfds:  # readable now
            node.changed(k)
        self.vfork_done(task)
        if task is self.program:
            machine.stop()
            return
        self.peers["memmgr"].detach(task.proc)  # its memory and kernel objects go; its pid
        k.destroy_process(task.proc)  # stays until it is reaped
        init = self.tasks[INIT_PID]
        reaper = self._reaper_for(task)
        for child in task.children:  # orphans go to a subreaper above them, or to init
            child.ppid, child.exit_signal = reaper.pid, SIGCHLD  # (reparent_leader)
            reaper.children.append(child)
            if child.pdeathsig and not child.zombie:
                child.signals.post(child.pdeathsig, SI_USER, task.pid)
                self.signalled(child)
            if child.zombie and reaper is init:
                self._reap(init, child, charged=False)
            elif child.zombie:  # a subreaper hears of the zombie it now has to reap
                reaper.signals.post(SIGCHLD, _child_code(child.status), child.pid)
                self.k.wake_all(reaper.waiters)
        parent = self.tasks.get(task.ppid)
        if parent is init:  # init's wait loop reaps it at once (init's work: not charged)
            self._reap(init, task, charged=False)
        elif parent is not None:  # do_notify_parent
            sig, code, value = task.exit_signal, _child_code(status), _child_value(status)
            handler, sa_flags = parent.signals.actions.get(SIGCHLD, (SIG_DFL, 0))[:2]
            autoreap = sig == SIGCHLD and (handler == SIG_IGN or sa_flags & SA_NOCLDWAIT)
            if sig and not (autoreap and handler == SIG_IGN):
                parent.signals.post(sig, code, task.pid, value, task.uids[0])
                self.signalled(parent)
            k.wake_all(parent.waiters)
            if autoreap:  # a parent ignoring SIGCHLD (or SA_NOCLDWAIT) leaves no zombie
                self._reap(parent, task)
        k.need_resched = True

    def _reaper_for(self, task: Task) -> Task:
        """Who adopts `task`'s children: its nearest live ancestor that asked to be a
        subreaper (prctl PR_SET_CHILD_SUBREAPER), else init."""
        up = self.tasks.get(task.ppid)
        while up is not None and up.pid != INIT_PID:
            if up.subreaper and not up.zombie:
                return up
            up = self.tasks.get(up.ppid)
        return self.tasks[INIT_PID]

    def kill(self, sender: Task, pid: int, sig: int, code: int = SI_USER) -> int:
        """kill(2): a process (pid > 0), the caller's group (0), a group (-pgid), or every
        process but pid 1 and the caller (-1); `code`: the siginfo's (tgkill's SI_TKILL)."""
        pid, sig = _int32(pid), _int32(sig)
        live = [t for t in self.tasks.values() if not t.zombie]
        if pid == -(1 << 31):
            return -ESRCH  # -INT_MIN is no group (kill_something_info)
        if pid > 0:
            targets = [t for t in self.tasks.values() if t.pid == pid]
        elif pid == 0:
            targets = [t for t in live if t.pgid == sender.pgid]
        elif pid == -1:
            targets = [t for t in live if t.pid not in (INIT_PID, sender.pid)]
        else:
            targets = [t for t in live if t.pgid == -pid]
        self.work(kill=max(len(targets), 1))
        if not targets:
            return -ESRCH  # (before the signal's check: Linux checks it per target)
        if not 0 <= sig <= NSIG:
            return -EINVAL
        for target in targets:
            if sig and not target.zombie and not target.virtual:
                err = self.send(target, sig, code, value=sender.pid, uid=sender.uids[0])
                if err:
                    return err
        return 0

    def oom_kill(self, log) -> Task | None:
        """Linux's OOM killer (mm/oom_kill.c): the process with the most resident memory
        (oom_badness: its RSS; the later-made of equals) gets SIGKILL from the kernel, and
        the kill is logged as the kernel logs it. None when no process holds memory. While
        a victim is still dying (its threads on other cores take the kill at their next
        kernel exit) it is the answer again, with no second kill: oom_evaluate_task aborts
        the scan when it meets an OOM victim that has not exited yet."""
        mm, k = self.peers["memmgr"], self.k
        if self.oom_victim is not None and not self.oom_victim.zombie:
            return self.oom_victim
        held = [
            (k.vspaces.resident(t.proc.vspace, k.zero_page), t.pid, t)
            for t in self.tasks.values()
            if not t.zombie and not t.virtual and t.proc in mm.spaces
        ]
        if not held:
            return None
        pages, _, victim = max(held, key=lambda h: h[:2])
        k.counts["kernel.oom_kills"] += 1
        name = victim.comm.decode(errors="replace")
        log(
            f"kernel: Out of memory: Killed process {victim.pid} ({name}) "
            f"total-vm:{mm.spaces[victim.proc].mapped_bytes() >> 10}kB, "
            f"anon-rss:{pages * 4}kB, file-rss:0kB, shmem-rss:0kB, UID:{victim.uids[0]} "
            "oom_score_adj:0"
        )
        victim.signals.post(SIGKILL, SI_KERNEL, 0)
        self.signalled(victim)
        self.oom_victim = victim
        return victim

    def signalled(self, target: Task) -> None:
        """A signal was posted to `target`: its signalfd readers and pollers look again, and
        a thread of it blocked in a call wakes if the signal is deliverable or awaited (its
        call goes on or fails with EINTR: the shim decides)."""
        if target.signals.waiters:
            self.k.wake_all(target.signals.waiters)
        tcb = target.proc.tcb
        if self.k.blocked(tcb) and target.signals.wakes():
            self.k.interrupt(tcb)

    # ---- process groups and sessions -----------------------------------------------------
    def setpgid(self, task: Task, pid: int, pgid: int) -> int:
        """Linux's order: pid 0 is the caller, pgid 0 the pid; a negative pgid is EINVAL."""
        pid = int32(pid) or task.pid
        pgid = int32(pgid) or pid
        if pgid < 0:
            return -EINVAL
        target = self.tasks.get(pid)
        if target is None or (target is not task and target.ppid != task.pid):
            return -ESRCH
        if target.sid != task.sid or target.pid == target.sid:
            return -EPERM  # another session, or a session leader
        pgid = pgid or target.pid
        if pgid != target.pid and not any(
            t.pgid == pgid and t.sid == task.sid for t in self.tasks.values()
        ):
            return -EPERM
        target.pgid = pgid
        return 0

    def getpgid(self, task: Task, pid: int) -> int:
        target = self.tasks.get(int32(pid) or task.pid)
        return target.pgid if target is not None else -ESRCH

    def getsid(self, task: Task, pid: int) -> int:
        target = self.tasks.get(int32(pid) or task.pid)
        return target.sid if target is not None else -ESRCH

    def setsid(self, task: Task) -> int:
        if any(t.pgid == task.pid for t in self.tasks.values()):
            return -EPERM  # already a group leader
        task.pgid = task.sid = task.pid
        return task.sid

    def wait4(self, task: Task, pid: int, wstatus: int, options: int, rusage: int) -> int:
        """wait4(2): pid > 0 that child, -1 any, 0 the caller's group, < -1 group -pid.
        Stopped and continued children are not modelled (WUNTRACED, WCONTINUED never report)."""
        pid = _int32(pid)  # a pid_t
        if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WAIT_ALSO):
            return -EINVAL
        if pid == -(1 << 31):
            return -ESRCH  # -INT_MIN is no group (kernel_wait4)
        if pid > 0:
            dead = self._zombie(task, lambda c: c.pid == pid, options)
        elif pid == -1:
            dead = self._zombie(task, lambda c: True, options)
        else:
            group = task.pgid if pid == 0 else -pid
            dead = self._zombie(task, lambda c: c.pgid == group, options)
        if isinstance(dead, int):
            return dead
        space = self.space_of(task)
        if wstatus and not space.write(wstatus, struct.pack("<i", dead.status)):
            return -EFAULT
        if rusage and not space.write(rusage, _rusage(self._reaped_cpu(dead))):
            return -EFAULT
        self._reap(task, dead)
        return dead.pid

    def waitid(self, task: Task, idtype: int, ident: int, infop: int, options: int, rusage: int):
        """waitid(2): P_ALL, P_PID, P_PGID (0: the caller's group), P_PIDFD; WEXITED must be asked
        for (stopped and continued children are not modelled); WNOWAIT leaves the child
        waitable. The siginfo written is SIGCHLD's (an empty one when WNOHANG finds none)."""
        ident = _signed(ident)
        known = WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WAIT_ALSO
        if options & ~known or not options & (WEXITED | WUNTRACED | WCONTINUED):
            return -EINVAL
        if idtype == P_ALL:
            match = lambda c: True  # noqa: E731
        elif idtype == P_PID and ident > 0:
            match = lambda c: c.pid == ident  # noqa: E731
        elif idtype == P_PGID and ident >= 0:
            group = ident or task.pgid
            match = lambda c: c.pgid == group  # noqa: E731
        elif idtype == P_PIDFD:
            target = self.pidfd_task(task, ident)
            if isinstance(target, int):
                return target
            match = lambda c: c is target  # noqa: E731
        else:
            return -EINVAL
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
        space = self.space_of(task)  # the fields Linux writes (not the padding at 12)
        if infop and not (
            space.write(infop, struct.pack("<iii", signo, 0, code))
            and space.write(infop + 16, struct.pack("<iIi", pid, 0, value))
        ):
            return -EFAULT
        usage = _rusage(self._reaped_cpu(dead)) if dead != 0 else bytes(RUSAGE_BYTES)
        if rusage and not space.write(rusage, usage):
            return -EFAULT
        if dead != 0 and not options & WNOWAIT:
            self._reap(task, dead)
        return 0

    def _zombie(self, task: Task, match, options: int, exited: bool = True):
        """A zombie child that `match`es; 0 (WNOHANG: none yet), -ECHILD (no such child), or
        -ERESTARTSYS with the thread blocked until a child exits. `exited` False: zombies are
        not wanted (waitid without WEXITED), so none is ever found."""
        mine = [c for c in task.children if match(c) and _eligible(c, options)]
        if not mine:
            return -ECHILD
        dead = next((c for c in mine if c.zombie and exited), None)
        if dead is not None:
            return dead
        if options & WNOHANG:
            return 0
        self.k.block_current(task.waiters)
        return -ERESTARTSYS

    def _reaped_cpu(self, dead: Task) -> tuple[int, int]:
        """A reaped child's (user, system) ns and its own waited-for children's, as wait4's
        rusage and the parent's RUSAGE_CHILDREN count them."""
        own, theirs = self.cpu_ns(dead), self.cpu_ns(dead, RUSAGE_CHILDREN)
        return own[0] + theirs[0], own[1] + theirs[1]

    def _reap(self, task: Task, dead: Task, charged: bool = True) -> None:
        task.children_cpu = tuple(
            map(sum, zip(task.children_cpu, dead.cpu_at_exit, dead.children_cpu, strict=True))
        )
        if charged:
            self.work(reap=1)
        task.children.remove(dead)
        del self.tasks[dead.pid]
        dead.reaped = True
        self.by_proc.pop(dead.proc, None)
        if self.on_reaped is not None:
            self.on_reaped(dead)


def _eligible(child: Task, options: int) -> bool:
    """May a wait with `options` find `child` (eligible_child)? A child whose death signal is
    not SIGCHLD (a "clone" child) only with __WCLONE, the others only without it; any with
    __WALL."""
    return bool(options & WALL) or (child.exit_signal != SIGCHLD) == bool(options & WCLONE)


def _rusage(cpu_ns: tuple[int, int]) -> bytes:
    """struct rusage (aarch64: 144 bytes) with the user and system times as timevals; the rest
    (page faults, switches, block I/O, max RSS) is not modelled and reads 0."""
    times = [(ns // 10**9, ns % 10**9 // 1000) for ns in cpu_ns]
    return struct.pack("<4q", *times[0], *times[1]).ljust(RUSAGE_BYTES, b"\0")


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


def _int32(x: int) -> int:
    """A register holding a C int (a pid, a signal): Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >> 31 else x


def _setres_noop(ids, fsid, new) -> bool:
    """Is a setres[ug]id call Linux's no-op (every id unchanged or already so, the
    effective one the file-system one too), which leaves the file-system id alone?"""
    r, e, s = (x & 0xFFFFFFFF for x in new)
    unchanged = credentials.UNCHANGED
    fs = ids[1] if fsid is None else fsid
    return (
        r in (unchanged, ids[0])
        and (e == unchanged or e == ids[1] == fs)
        and s in (unchanged, ids[2])
    )


def _root(task: Task) -> bool:
    """Privileged: effective uid 0."""
    return task.uids[1] == 0


def _put_ids(space, ids, ptrs) -> int:
    for value, ptr in zip(ids, ptrs, strict=True):
        if not space.write(ptr, struct.pack("<I", value)):
            return -EFAULT
    return 0


def _strings(space, ptr):
    """A NULL-terminated array of C strings in user memory (argv, envp): a list, None
    (EFAULT) or -E2BIG."""
    out, total = [], 0
    if ptr == 0:
        return out
    while True:
        raw = space.read(ptr + 8 * len(out), 8)
        if raw is None:
            return None
        addr = struct.unpack("<Q", raw)[0]
        if addr == 0:
            return out
        s = space.read_cstring(addr, limit=MAX_ARG_BYTES)
        if s is None:
            return None
        total += len(s) + 9
        if total > MAX_ARG_BYTES:
            return -E2BIG
        out.append(s)


# policy -> (max, min) static priority (sched_get_priority_max/min): SCHED_OTHER, SCHED_BATCH,
# SCHED_IDLE 0; SCHED_FIFO and SCHED_RR 1..99 (kernel/sched/core.c)
# membarrier's commands (include/uapi/linux/membarrier.h)
MEMBARRIER_QUERY, MEMBARRIER_RSEQ, MEMBARRIER_CMD_FLAG_CPU = 0, 1 << 7, 1
MEMBARRIER_GLOBAL, MEMBARRIER_GLOBAL_EXPEDITED, MEMBARRIER_REGISTER_GLOBAL = 1, 1 << 1, 1 << 2
MEMBARRIER_COMMANDS = tuple(1 << k for k in range(9))  # GLOBAL .. REGISTER_..._RSEQ
MEMBARRIER_NEEDS = {1 << 3: 1 << 4, 1 << 5: 1 << 6, 1 << 7: 1 << 8}  # a command: its register
MEMBARRIER_REGISTERS = (1 << 2, 1 << 4, 1 << 6, 1 << 8)  # REGISTER_GLOBAL_EXPEDITED, ...
MEMBARRIER_GET_REGISTRATIONS = 1 << 9
MEMBARRIER_SUPPORTED = sum(MEMBARRIER_COMMANDS) | MEMBARRIER_GET_REGISTRATIONS

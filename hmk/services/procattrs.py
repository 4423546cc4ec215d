"""The process manager's calls on a process's attributes: nice values (getpriority,
setpriority), scheduling policies (sched_setscheduler, sched_getscheduler, sched_setparam,
sched_getparam, sched_setattr, sched_getattr, the priority ranges, sched_rr_get_interval),
resource limits (getrlimit, setrlimit, prlimit64: the ones hmk enforces are RLIMIT_NOFILE on
descriptors, RLIMIT_NPROC at fork for processes that are not root, RLIMIT_AS on the address
space), prctl's common options, getcpu, personality, capabilities (capget, capset), the
file-system ids (setfsuid, setfsgid) and the robust-futex list head.

A nice value orders threads where the kernel's scheduler has weights (the linux compositions'
CFS: Linux's sched_prio_to_weight); HM's scheduler has fixed priorities whose mapping from
Linux nice values is not public, so there nice is kept and reported only. Real-time policies
(SCHED_FIFO, SCHED_RR with priorities 1-99) are kept and reported; on HM's scheduler a
real-time thread runs at HM priority 100 + its priority, above every normal thread (100), and
SCHED_IDLE at 1 (an assumption: HM's mapping is not public); CFS has no real-time class here,
so on the linux compositions they are scheduled as normal threads. SCHED_DEADLINE is not
modelled (EINVAL).
"""

from __future__ import annotations

import os
import struct

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    E2BIG,
    EACCES,
    EFAULT,
    EINVAL,
    EPERM,
    ESRCH,
    NOFILE,
    NSIG,
    RLIM_INFINITY,
    RLIM_NLIMITS,
    RLIMIT_STACK,
)
from hmk.linux.layout import STACK_SIZE
from hmk.linux.signals import int32
from hmk.services.service import charged

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
RLIMIT_AS, RLIMIT_CORE, RLIMIT_NPROC, RLIMIT_NOFILE = 9, 4, 6, 7
RLIMIT_MEMLOCK, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE = 8, 11, 12
RLIMIT_NICE, RLIMIT_RTPRIO = 13, 14
THREAD_SIZE = 16 << 10  # arm64's kernel stack: Linux sizes max_threads by it (fork.c)

# Linux's sched_prio_to_weight (kernel/sched/core.c): the CFS weight of nice -20 .. 19
NICE_WEIGHTS = (
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
)  # fmt: skip

# prctl options (include/uapi/linux/prctl.h)
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_SET_NAME, PR_GET_NAME = 7, 8, 15, 16
PR_GET_SECCOMP, PR_CAPBSET_READ, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK = 21, 23, 29, 30
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_THP_DISABLE = 38, 39, 42
TIMER_SLACK_NS = 50_000  # a task's default timer slack (init_task's, 50 us)
CAP_LAST_CAP = 40  # CAP_CHECKPOINT_RESTORE (Linux 5.9 and later)
CAP_SYS_TTY_CONFIG = 26
CAP_FULL = (1 << (CAP_LAST_CAP + 1)) - 1
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522
PER_LINUX, PER_QUERY = 0, 0xFFFFFFFF
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_RESET_ON_FORK, SCHED_FLAG_RESET_ON_FORK = 0x40000000, 1
PRIORITY_RANGE = {SCHED_OTHER: (0, 0), SCHED_FIFO: (99, 1), SCHED_RR: (99, 1),
                  SCHED_BATCH: (0, 0), SCHED_IDLE: (0, 0)}  # fmt: skip
SCHED_EXT = 7  # sched_ext (Linux 6.12): a BPF scheduler's, or the fair one while none is loaded
# sched_get_priority_max/min's answers: the policies above, SCHED_DEADLINE's and SCHED_EXT's 0
PRIORITY_LIMITS = {**PRIORITY_RANGE, SCHED_DEADLINE: (0, 0), SCHED_EXT: (0, 0)}
SCHED_ATTR_V0, SCHED_ATTR_V1 = 48, 56  # struct sched_attr without and with the clamps
RR_TIMESLICE_NS = 100_000_000  # Linux's RR_TIMESLICE (100 ms)
HM_NORMAL, HM_IDLE = 100, 1  # HM thread priorities (a process's threads start at 100)


def default_rlimits(ram_bytes: int) -> dict[int, tuple[int, int]]:
    """A process's limits as Linux's first task has them (include/asm-generic/resource.h
    INIT_RLIMITS), NPROC and SIGPENDING sized from the RAM as fork_init does (max_threads / 2,
    max_threads = RAM / (8 * THREAD_SIZE)); no raising of nice or real-time priorities; the
    rest unlimited."""
    threads = ram_bytes // (8 * THREAD_SIZE) // 2
    return {
        RLIMIT_STACK: (STACK_SIZE, RLIM_INFINITY),
        RLIMIT_CORE: (0, RLIM_INFINITY),
        RLIMIT_NPROC: (threads, threads),
        RLIMIT_NOFILE: (NOFILE, 4096),
        RLIMIT_MEMLOCK: (8 << 20, 8 << 20),
        RLIMIT_SIGPENDING: (threads, threads),
        RLIMIT_MSGQUEUE: (819_200, 819_200),
        RLIMIT_NICE: (0, 0),
        RLIMIT_RTPRIO: (0, 0),
    }


class AttributeCalls:
    """Handlers mixed into the process manager (hmk.services.procmgr.ProcMgr)."""

    # ---- nice values ---------------------------------------------------------------------
    def _prio_targets(self, task, which: int, who: int):
        which = int32(which)  # (ints)
        live = [t for t in self.tasks.values() if not t.zombie and not t.virtual]
        if which == PRIO_PROCESS:
            return [t for t in live if t.pid == (who or task.pid)]
        if which == PRIO_PGRP:
            return [t for t in live if t.pgid == (who or task.pgid)]
        if which == PRIO_USER:
            return [t for t in live if t.uids[0] == (who or task.uids[0])]
        return None

    @charged(task_field=1)
    def sys_getpriority(self, call, which, who, *_):
        """The best nice value of the processes named, as 20 - nice (the raw call's answer;
        libc turns it back)."""
        targets = self._prio_targets(call.task, which, who & 0xFFFFFFFF)
        if targets is None:
            return -EINVAL
        return 20 - min(t.nice for t in targets) if targets else -ESRCH

    @charged(task_field=1)
    def sys_setpriority(self, call, which, who, prio, *_):
        targets = self._prio_targets(call.task, which, who & 0xFFFFFFFF)
        if targets is None:
            return -EINVAL
        if not targets:
            return -ESRCH
        nice = min(max(_signed32(prio), -20), 19)
        root = call.task.uids[1] == 0
        for t in targets:
            if not root and t.uids[0] != call.task.uids[1] and t.uids[1] != call.task.uids[1]:
                return -EPERM
            if nice < t.nice and not root:
                return -EACCES  # raising a priority needs CAP_SYS_NICE
            t.nice = nice
            self.weigh(t)
        return 0

    def weigh(self, task) -> None:
        """Give `task`'s threads its nice value's weight where the scheduler has weights."""
        weigh = getattr(self.k.threads, "set_weight", None)
        for tcb in self.k.threads_of(task.proc) if weigh else ():
            weigh(tcb, NICE_WEIGHTS[task.nice + 20])

    # ---- scheduling policies -------------------------------------------------------------
    @charged(task_field=1)
    def sys_sched_get_priority_max(self, call, policy, *_):
        return PRIORITY_LIMITS.get(_signed32(policy), (-EINVAL, 0))[0]

    @charged(task_field=1)
    def sys_sched_get_priority_min(self, call, policy, *_):
        return PRIORITY_LIMITS.get(_signed32(policy), (0, -EINVAL))[1]

    def _sched_target(self, call, pid: int):
        pid = _signed32(pid)
        if pid < 0:
            return -EINVAL
        task = self._task_or_thread(pid or call.task.pid)
        return -ESRCH if task is None else task

    @charged(task_field=1)
    def sys_sched_getscheduler(self, call, pid, *_):
        task = self._sched_target(call, pid)
        return task if isinstance(task, int) else task.policy | task.reset_on_fork

    @charged(task_field=1)
    def sys_sched_getparam(self, call, pid, param, *_):
        if not param:
            return -EINVAL
        task = self._sched_target(call, pid)
        if isinstance(task, int):
            return task
        return 0 if call.space.write(param, struct.pack("<i", task.rt_priority)) else -EFAULT

    @charged(task_field=1)
    def sys_sched_setscheduler(self, call, pid, policy, param, *_):
        return self._set_policy(call, pid, _signed32(policy), param)

    @charged(task_field=1)
    def sys_sched_setparam(self, call, pid, param, *_):
        return self._set_policy(call, pid, None, param)

    def _set_policy(self, call, pid, policy, param) -> int:
        """sched_setscheduler (policy given) and sched_setparam (None: the task's own)."""
        if not param or _signed32(pid) < 0:
            return -EINVAL
        raw = call.space.read(param, 4)
        if raw is None:
            return -EFAULT
        task = self._sched_target(call, pid)
        if isinstance(task, int):
            return task
        reset = SCHED_RESET_ON_FORK if policy is None else policy & SCHED_RESET_ON_FORK
        policy = task.policy if policy is None else policy & ~SCHED_RESET_ON_FORK
        return self._apply_policy(call, task, policy, struct.unpack("<i", raw)[0], None, reset)

    def _apply_policy(self, call, task, policy: int, prio: int, nice, reset: int) -> int:
        if policy not in PRIORITY_RANGE:
            return -EINVAL
        top, bottom = PRIORITY_RANGE[policy]
        if not bottom <= prio <= top:
            return -EINVAL
        if policy in (SCHED_FIFO, SCHED_RR) and call.task.uids[1] != 0:
            return -EPERM  # RLIMIT_RTPRIO is 0 for a user that is not root
        task.policy, task.rt_priority, task.reset_on_fork = policy, prio, reset
        if nice is not None:
            task.nice = min(max(nice, -20), 19)
            self.weigh(task)
        self.prioritise(task)
        return 0

    def prioritise(self, task) -> None:
        """Give `task`'s threads the HM priority its policy maps to (see the module's
        docstring); the linux compositions' CFS keeps it without ordering by it."""
        prio = (
            HM_NORMAL + task.rt_priority
            if task.policy in (SCHED_FIFO, SCHED_RR)
            else (HM_IDLE if task.policy == SCHED_IDLE else HM_NORMAL)
        )
        for tcb in self.k.threads_of(task.proc):
            self.k.threads.set_priority(tcb, prio)

    @charged(task_field=1)
    def sys_sched_getattr(self, call, pid, attr, size, flags, *_):
        size, flags = size & 0xFFFFFFFF, flags & 0xFFFFFFFF  # unsigned ints, and a pid_t
        if not attr or int32(pid) < 0 or not SCHED_ATTR_V0 <= size <= PAGE_SIZE or flags:
            return -EINVAL
        task = self._sched_target(call, pid)
        if isinstance(task, int):
            return task
        kept = min(size, SCHED_ATTR_V1)
        raw = struct.pack(
            "<IIQiI3Q2I", kept, task.policy, task.reset_on_fork and 1, task.nice,
            task.rt_priority, 0, 0, 0, 0, 1024,
        )  # fmt: skip
        # copy_struct_to_user: a caller's larger struct gets zeros past the kernel's
        return 0 if call.space.write(attr, raw[:kept].ljust(size, b"\0")) else -EFAULT

    @charged(task_field=1)
    def sys_sched_setattr(self, call, pid, attr, flags, *_):
        if not attr or flags:
            return -EINVAL
        head = call.space.read(attr, 4)
        if head is None:
            return -EFAULT
        size = struct.unpack("<I", head)[0] or SCHED_ATTR_V0
        if size < SCHED_ATTR_V0 or size > 4096:
            call.space.write(attr, struct.pack("<I", SCHED_ATTR_V1))
            return -E2BIG
        raw = call.space.read(attr, size)
        if raw is None:
            return -EFAULT
        if any(raw[SCHED_ATTR_V1:]):
            call.space.write(attr, struct.pack("<I", SCHED_ATTR_V1))
            return -E2BIG
        _, policy, sched_flags, nice, prio = struct.unpack_from("<IIQiI", raw)
        task = self._sched_target(call, pid)
        if isinstance(task, int):
            return task
        if sched_flags & ~SCHED_FLAG_RESET_ON_FORK or policy == SCHED_DEADLINE:
            return -EINVAL  # (deadline scheduling and utilisation clamps: not modelled)
        if nice < task.nice and call.task.uids[1] != 0 and policy not in (SCHED_FIFO, SCHED_RR):
            return -EPERM
        reset = SCHED_RESET_ON_FORK if sched_flags & SCHED_FLAG_RESET_ON_FORK else 0
        keep_nice = policy in (SCHED_FIFO, SCHED_RR)
        return self._apply_policy(call, task, policy, prio, None if keep_nice else nice, reset)

    @charged(task_field=1)
    def sys_sched_rr_get_interval(self, call, pid, ts, *_):
        """SCHED_RR's time slice (Linux's RR_TIMESLICE, 100 ms); 0 for SCHED_FIFO; for the
        others the scheduler's slice, the tick period times the slice ticks here."""
        task = self._sched_target(call, pid)
        if isinstance(task, int):
            return task
        if task.policy == SCHED_RR:
            ns = RR_TIMESLICE_NS
        elif task.policy == SCHED_FIFO:
            ns = 0
        else:
            ns = self.k.slice_ns()
        return 0 if call.space.write(ts, struct.pack("<qq", ns // 10**9, ns % 10**9)) else -EFAULT

    # ---- resource limits -----------------------------------------------------------------
    def limit(self, task, resource: int) -> tuple[int, int]:
        return task.rlimits.get(resource, (RLIM_INFINITY, RLIM_INFINITY))

    def _rlimit(self, call, task, resource: int, new: int, old: int) -> int:
        """prlimit64's order: the new limits copied in, the process, the resource, the
        limits checked and set, the old ones copied out (EFAULT after the change)."""
        resource &= 0xFFFFFFFF  # an unsigned int
        if new:
            raw = call.space.read(new, 16)
            if raw is None:
                return -EFAULT
            soft, hard = struct.unpack("<QQ", raw)
        if task is None:
            return -ESRCH
        if not 0 <= resource < RLIM_NLIMITS:
            return -EINVAL
        current = self.limit(task, resource)
        if new:
            if soft > hard:
                return -EINVAL
            if hard > current[1] and call.task.uids[1] != 0:
                return -EPERM  # raising a hard limit needs CAP_SYS_RESOURCE
            if resource == RLIMIT_NOFILE and hard > 1 << 20:
                return -EPERM  # above fs.nr_open (Linux's default 1,048,576)
            task.rlimits[resource] = (soft, hard)
            if resource == RLIMIT_NOFILE:
                self.peers["fsmgr"].tables[task.pid].nofile = min(soft, 1 << 20)
        if old and not call.space.write(old, struct.pack("<QQ", *current)):
            return -EFAULT
        return 0

    @charged(task_field=1)
    def sys_prlimit64(self, call, pid, resource, new, old, *_):
        task = call.task if _signed32(pid) == 0 else self.tasks.get(_signed32(pid))
        if task is not None and task.virtual:
            task = None
        return self._rlimit(call, task, resource, new, old)

    @charged(task_field=1)
    def sys_getrlimit(self, call, resource, old, *_):
        if (resource & 0xFFFFFFFF) >= RLIM_NLIMITS:
            return -EINVAL
        return self._rlimit(call, call.task, resource, 0, old) if old else -EFAULT

    @charged(task_field=1)
    def sys_setrlimit(self, call, resource, new, *_):
        return self._rlimit(call, call.task, resource, new, 0) if new else -EFAULT

    # ---- prctl ---------------------------------------------------------------------------
    @charged(task_field=1)
    def sys_prctl(self, call, option, a2, a3, a4, a5, *_):
        task, space = call.task, call.space
        option &= 0xFFFFFFFF  # an int
        if option == PR_SET_NAME:
            name = space.read_cstring(a2, 4096)
            if name is None:
                return -EFAULT
            task.comm = name[:15]
            return 0
        if option == PR_GET_NAME:
            return 0 if space.write(a2, task.comm.ljust(16, b"\0")) else -EFAULT
        if option == PR_SET_PDEATHSIG:
            if not 0 <= a2 <= NSIG:
                return -EINVAL
            task.pdeathsig = a2
            return 0
        if option in (PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER):
            value = task.pdeathsig if option == PR_GET_PDEATHSIG else int(task.subreaper)
            return 0 if space.write(a2, struct.pack("<i", value)) else -EFAULT
        if option == PR_SET_CHILD_SUBREAPER:
            task.subreaper = bool(a2)
            return 0
        if option == PR_SET_NO_NEW_PRIVS:
            if a2 != 1 or a3 or a4 or a5:
                return -EINVAL
            task.no_new_privs = True
            return 0
        if option == PR_GET_NO_NEW_PRIVS:
            return -EINVAL if a2 or a3 or a4 or a5 else int(task.no_new_privs)
        if option == PR_SET_DUMPABLE:
            if a2 not in (0, 1):
                return -EINVAL
            task.dumpable = a2
            return 0
        if option == PR_GET_DUMPABLE:
            return task.dumpable
        if option == PR_SET_KEEPCAPS:
            if a2 not in (0, 1):
                return -EINVAL
            task.keepcaps = a2
            return 0
        if option == PR_GET_KEEPCAPS:
            return task.keepcaps
        if option == PR_SET_TIMERSLACK:
            task.timer_slack = a2 or TIMER_SLACK_NS
            return 0
        if option == PR_GET_TIMERSLACK:
            return task.timer_slack
        if option == PR_CAPBSET_READ:
            return 1 if 0 <= a2 <= CAP_LAST_CAP else -EINVAL
        if option == PR_GET_THP_DISABLE:
            return -EINVAL if a2 or a3 or a4 or a5 else 0  # huge pages are not disabled
        if option == PR_GET_SECCOMP:
            return 0  # no seccomp filter
        return -EINVAL

    # ---- the CPU, personality, capabilities, fs ids --------------------------------------
    @charged(ids=1)
    def sys_getcpu(self, call, cpu, node, *_):
        """The core the caller runs on (the kernel's `cpu`: a service's code runs on its
        caller's core) on NUMA node 0."""
        for ptr, value in ((cpu, self.k.cpu), (node, 0)):
            if ptr and not call.space.write(ptr, struct.pack("<I", value)):
                return -EFAULT
        return 0

    @charged(ids=1)
    def sys_personality(self, call, persona, *_):
        old = call.task.personality
        if persona & 0xFFFFFFFF != PER_QUERY:
            call.task.personality = persona & 0xFFFFFFFF
        return old

    @charged(creds=1)
    def sys_vhangup(self, call, *_):
        """Hang up the caller's controlling terminal: EPERM without CAP_SYS_TTY_CONFIG; with
        it, 0, and nothing to hang up (no process here has a controlling terminal: the
        standard streams are hmk's files or pipes, and a new session has none)."""
        return 0 if self._caps(call.task)[0] >> CAP_SYS_TTY_CONFIG & 1 else -EPERM

    def _caps(self, task) -> tuple[int, int, int]:
        """(effective, permitted, inheritable) as Linux's rules give them for the ids: root's
        effective uid holds every capability; a saved or real root id keeps them permitted."""
        permitted = CAP_FULL if 0 in task.uids or task.keepcaps else 0
        effective = CAP_FULL if task.uids[1] == 0 else 0
        if task.caps is None:
            return effective, permitted, 0
        # capset's sets, less what the ids have lost since (capabilities(7): root's ids gone)
        return task.caps[0] & effective, task.caps[1] & permitted, task.caps[2]

    def _cap_header(self, call, hdr: int):
        """(the task the header names, the number of 32-bit words per set) or -errno."""
        raw = call.space.read(hdr, 8)
        if raw is None:
            return -EFAULT
        version, pid = struct.unpack("<Ii", raw)
        if version not in (CAP_V1, CAP_V2, CAP_V3):  # the version hmk speaks is written back
            if not call.space.write(hdr, struct.pack("<I", CAP_V3)):
                return -EFAULT
            return -EINVAL
        task = call.task if pid == 0 else self.tasks.get(pid)
        if task is None or pid < 0 or task.virtual:
            return -ESRCH if pid >= 0 else -EINVAL
        return task, 1 if version == CAP_V1 else 2

    @charged(task_field=1)
    def sys_capget(self, call, hdr, data, *_):
        got = self._cap_header(call, hdr)
        if not data:  # a query of the version: Linux answers 0 even to a bad one
            return 0 if got == -EINVAL or not isinstance(got, int) else got
        if isinstance(got, int):
            return got
        task, words = got
        sets = self._caps(task)
        raw = b"".join(
            struct.pack("<III", *(s >> 32 * w & 0xFFFFFFFF for s in sets)) for w in range(words)
        )
        return 0 if call.space.write(data, raw) else -EFAULT

    @charged(task_field=1)
    def sys_capset(self, call, hdr, data, *_):
        raw = call.space.read(hdr, 8)
        if raw is not None and struct.unpack("<Ii", raw)[1] not in (0, call.task.pid):
            return -EPERM  # only one's own capabilities are set (before the pid is looked up)
        got = self._cap_header(call, hdr)
        if isinstance(got, int):
            return got
        task, words = got
        raw = call.space.read(data, 12 * words)
        if raw is None:
            return -EFAULT
        new = [0, 0, 0]
        for w in range(words):
            for i, v in enumerate(struct.unpack_from("<III", raw, 12 * w)):
                new[i] |= v << 32 * w
        effective, permitted, inheritable = new
        old = self._caps(task)
        if permitted & ~old[1] or effective & ~permitted or inheritable & ~(old[2] | old[1]):
            return -EPERM
        task.caps = (effective, permitted, inheritable)
        return 0

    def _setfs(self, call, value: int, group: bool) -> int:
        task = call.task
        ids = task.gids if group else task.uids
        old = task.fsids[group] if task.fsids[group] is not None else ids[1]
        value &= 0xFFFFFFFF
        allowed = task.uids[1] == 0 or value in (*ids, old)
        if value != 0xFFFFFFFF and allowed:
            task.fsids[group] = value
        return old

    @charged(creds=1)
    def sys_setfsuid(self, call, uid, *_):
        return self._setfs(call, uid, False)

    @charged(creds=1)
    def sys_setfsgid(self, call, gid, *_):
        return self._setfs(call, gid, True)

    # ---- robust futexes ------------------------------------------------------------------
    @charged(ids=1)
    def sys_set_robust_list(self, call, head, size, *_):
        if size != 24:  # sizeof(struct robust_list_head)
            return -EINVAL
        call.task.robust[call.tcb] = head
        return 0

    @charged(ids=1)
    def sys_get_robust_list(self, call, pid, head_ptr, len_ptr, *_):
        task, tcb = call.task, call.tcb
        if int32(pid):  # (an int)
            found = [(t, tcb) for t in self.tasks.values() if not t.virtual
                     for tcb, (tid, _) in t.threads.items() if tid == _signed32(pid)]  # fmt: skip
            if not found:
                return -ESRCH
            task, tcb = found[0]
        head = task.robust.get(tcb, 0)
        if not call.space.write(len_ptr, struct.pack("<Q", 24)):
            return -EFAULT
        return 0 if call.space.write(head_ptr, struct.pack("<Q", head)) else -EFAULT


def comm_of(path: bytes) -> bytes:
    """A task's name after exec: the file name, cut to 15 bytes (TASK_COMM_LEN - 1)."""
    return os.path.basename(path)[:15]


def _signed32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >> 31 else x

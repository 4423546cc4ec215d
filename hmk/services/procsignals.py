"""The process manager's signal calls beyond actions, masks and kill (those are in procmgr):
the alternate signal stack, waiting for signals (rt_sigsuspend, rt_sigtimedwait), the pending
set, queued signals with a value (rt_sigqueueinfo, rt_tgsigqueueinfo), and process descriptors
(pidfd_open, pidfd_send_signal, pidfd_getfd; clone3's CLONE_PIDFD and waitid's P_PIDFD): a
pidfd is readable once its process has exited.

A wait for signals blocks the thread on its process's `signal_waiters`; a signal sent to the
process wakes it when it is deliverable or one the wait asked for (SignalState.wakes), and the
call looks again, as Linux's do_sigtimedwait and sigsuspend loop. Signal state is per process
here (hmk.linux.signals): the alternate stack too, which Linux keeps per thread.
"""

from __future__ import annotations

import stat
import struct

from hmk.linux.abi import (
    EAGAIN,
    EBADF,
    EFAULT,
    EINTR,
    EINVAL,
    EPERM,
    ERESTARTSYS,
    ESRCH,
    NSIG,
    O_NONBLOCK,
    POLLHUP,
    POLLIN,
    POLLRDNORM,
    SI_TKILL,
    SI_USER,
)
from hmk.linux.clock import read_timespec
from hmk.linux.signals import SIGRTMIN, UNBLOCKABLE, int32, siginfo, siginfo_from_user
from hmk.services.copies import WRITE, log_user
from hmk.services.procattrs import RLIMIT_SIGPENDING
from hmk.services.service import charged
from hmk.services.vfs import Stream

SIGSET_BYTES = 8
PIDFD_SIGNAL_SCOPES = 0x7  # PIDFD_SIGNAL_THREAD, _THREAD_GROUP, _PROCESS_GROUP (6.9)
PIDFD_SIGNAL_PROCESS_GROUP = 0x4
PIDFD_THREAD = 0o200  # (O_EXCL; Linux 6.9) a thread's pidfd: each process has one thread here
SIGINFO_BYTES = 128


class PidFd(Stream):
    """A process descriptor: names `task` for signals and waits; poll sees it readable
    (POLLIN, POLLRDNORM) once the process has exited, and hung up (POLLHUP) once it is reaped
    (pidfd_poll); read(2) is not for it (EINVAL)."""

    pidfs = True

    def __init__(self, task):
        super().__init__(stat.S_IFREG | 0o600)  # an anonymous inode, as Linux's pidfs
        self.task = task
        self.xattrs = task.pidfs_xattrs  # the process's inode: every pidfd of it shares them

    def poll(self, f) -> int:
        if self.task.reaped:
            return POLLIN | POLLRDNORM | POLLHUP
        return POLLIN | POLLRDNORM if self.task.zombie else 0


class SignalCalls:
    """Handlers mixed into the process manager (hmk.services.procmgr.ProcMgr)."""

    @charged(sigprocmask=1)
    def sys_sigaltstack(self, call, ss, old, *_):
        return call.task.signals.sigaltstack(call.space, ss, old, call.machine.sp)

    @charged(sigprocmask=1)
    def sys_rt_sigpending(self, call, out, size, *_):
        if size > SIGSET_BYTES:
            return -EINVAL
        st = call.task.signals
        raw = struct.pack("<Q", st.pending & st.blocked)[:size]
        return 0 if call.space.write(out, raw) else -EFAULT

    def sys_rt_sigsuspend(self, call, mask_ptr, size, *_):
        """Wait with `mask` as the blocked set until a handler is to run: then EINTR, and the
        handler's frame keeps the mask from before the call, which its sigreturn restores."""
        st = call.task.signals
        with self.working(sigprocmask=int(not call.resumed)):
            if not call.resumed:
                if size != SIGSET_BYTES:
                    return -EINVAL
                raw = call.space.read(mask_ptr, SIGSET_BYTES)
                if raw is None:
                    return -EFAULT
                st.suspended_from = st.blocked
                st.blocked = struct.unpack("<Q", raw)[0] & ~UNBLOCKABLE
            if st.handler_pending():
                st.saved_mask, st.suspended_from = st.suspended_from, None
                return -EINTR
            self.k.block_current(call.task.signal_waiters)
            return -ERESTARTSYS

    def sys_rt_sigtimedwait(self, call, set_ptr, info, timeout, size, *_):
        """Dequeue a pending signal of the set (blocked ones: the point of the call) and give
        its number and siginfo; wait for one if none is pending, until the timeout (EAGAIN)
        or a handler's signal (EINTR)."""
        st, k = call.task.signals, self.k
        with self.working(sigprocmask=int(not call.resumed)) as ops:
            if size != SIGSET_BYTES:
                return -EINVAL
            raw = call.space.read(set_ptr, SIGSET_BYTES)
            if raw is None:
                return -EFAULT
            wanted = struct.unpack("<Q", raw)[0] & ~UNBLOCKABLE
            ns = None
            if timeout:  # copied and checked before a signal is looked for (do_sigtimedwait)
                ns = read_timespec(call.space, timeout)
                if ns is None or ns < 0:
                    return -EFAULT if ns is None else -EINVAL
            got = st.take(wanted)
            if got is not None:
                st.awaited = 0
                k.end_wait(call.tcb)
                sig, code, value, extra, uid = got
                ops.update(sigdequeue=1)
                if info:
                    out = siginfo(sig, code, value, extra, uid)
                    if not call.space.write(info, out):
                        return -EFAULT
                    log_user(k.mem, call.space, info, len(out), WRITE)
                return sig
            if st.handler_pending():
                st.awaited = 0
                return -EINTR
            if ns is not None:
                if not k.sleep_until(k.wait_deadline(ns), call.task.signal_waiters):
                    st.awaited = 0
                    return -EAGAIN
            else:
                k.block_current(call.task.signal_waiters)
            st.awaited = wanted
            return -ERESTARTSYS

    # ---- process descriptors -------------------------------------------------------------
    def pidfd_task(self, task, fd: int):
        """The process the pidfd `fd` of `task` names, or -EBADF (not open, or not a pidfd)."""
        f = self.peers["fsmgr"].tables[task.pid].file(fd & 0xFFFFFFFF)
        return f.node.task if f is not None and isinstance(f.node, PidFd) else -EBADF

    def open_pidfd(self, task, target, flags: int = 0) -> int:
        """A new pidfd (close-on-exec) for `target` in `task`'s descriptors."""
        node = PidFd(target)
        target.pidfds.append(node)
        return self.peers["fsmgr"].tables[task.pid].open(node, flags, True)

    @charged(task_field=1)
    def sys_pidfd_open(self, call, pid, flags, *_):
        if flags & ~(O_NONBLOCK | PIDFD_THREAD) or int32(pid) <= 0:  # (a pid_t)
            return -EINVAL
        target = self.tasks.get(pid & 0xFFFFFFFF)
        if target is None or target.virtual:
            return -ESRCH
        return self.open_pidfd(call.task, target, flags)

    def sys_pidfd_send_signal(self, call, fd, sig, uinfo, flags, *_):
        """Linux's order: the flags (one scope at most), the descriptor, the caller's siginfo
        (its si_signo must be `sig`; only to itself may it claim a kernel's or kill's code),
        then the process (or, with PIDFD_SIGNAL_PROCESS_GROUP, the group it leads: ESRCH if
        it leads none): gone (reaped) is ESRCH, a zombie takes the signal and drops it."""
        with self.working(kill=1):
            flags &= 0xFFFFFFFF
            if flags & ~PIDFD_SIGNAL_SCOPES or (flags & (flags - 1)):
                return -EINVAL
            target = self.pidfd_task(call.task, fd)
            if isinstance(target, int):
                return target
            sig, raw = int32(sig), None
            if uinfo:
                raw = call.space.read(uinfo, SIGINFO_BYTES)
                if raw is None:
                    return -EFAULT
                raw = siginfo_from_user(call.space, uinfo, struct.unpack_from("<i", raw)[0])
                if isinstance(raw, int):
                    return raw
                code = struct.unpack_from("<i", raw, 8)[0]
                if struct.unpack_from("<i", raw)[0] != sig:
                    return -EINVAL
                if (code >= 0 or code == SI_TKILL) and target is not call.task:
                    return -EPERM
            if flags == PIDFD_SIGNAL_PROCESS_GROUP:  # the group the process leads (kill_pgrp_info)
                targets = [t for t in self.tasks.values() if t.pgid == target.pid]
            else:
                targets = [target] if target.pid in self.tasks else []
            if not targets:
                return -ESRCH
            if not 0 <= sig <= NSIG:
                return -EINVAL
            code = struct.unpack_from("<i", raw, 8)[0] if raw else SI_USER
            for t in targets:
                if sig and not t.zombie and not t.virtual:
                    err = self.send(
                        t, sig, code, value=call.task.pid, uid=call.task.uids[0], raw=raw
                    )
                    if err:
                        return err
            return 0

    @charged(task_field=1)
    def sys_pidfd_getfd(self, call, fd, target_fd, flags, *_):
        """A duplicate, in the caller's descriptors (close-on-exec), of the target process's
        descriptor `target_fd` (root or the same user: ptrace's access check)."""
        if flags:
            return -EINVAL
        target = self.pidfd_task(call.task, fd)
        if isinstance(target, int):
            return target
        if target.zombie:
            return -ESRCH
        if call.task.uids[1] != 0 and call.task.uids[0] not in target.uids:
            return -EPERM
        tables = self.peers["fsmgr"].tables
        f = tables[target.pid].file(target_fd & 0xFFFFFFFF, raw=True)  # (fget_task's)
        if f is None:
            return -EBADF
        mine = tables[call.task.pid]
        new = mine.lowest_fd()
        return new if new < 0 else mine.install(new, f, True)

    def sys_rt_sigqueueinfo(self, call, tgid, sig, uinfo, *_):
        return self._queue(call, int32(tgid), None, sig, uinfo)

    def sys_rt_tgsigqueueinfo(self, call, tgid, tid, sig, uinfo, *_):
        return self._queue(call, int32(tgid), int32(tid), sig, uinfo)

    def _queue(self, call, tgid: int, tid: int | None, sig: int, uinfo: int) -> int:
        """A signal with the caller's siginfo, in Linux's order: the siginfo copied in (with
        si_signo set to `sig`: E2BIG for an unknown layout with more than the kernel keeps),
        rt_tgsigqueueinfo's ids, the check against forging a kernel's or kill's signal (its
        si_code must be negative unless sent to itself: EPERM), the target (ESRCH), the
        signal (EINVAL)."""
        with self.working(kill=1):
            sig = int32(sig)
            raw = siginfo_from_user(call.space, uinfo, sig)
            if isinstance(raw, int):
                return raw
            if tid is not None and (tgid <= 0 or tid <= 0):
                return -EINVAL
            code = struct.unpack_from("<i", raw, 8)[0]
            me = call.task.pid if tid is None else call.task.threads[call.tcb][0]
            if (code >= 0 or code == SI_TKILL) and (tid if tid is not None else tgid) != me:
                return -EPERM
            target = self.tasks.get(tgid) if tgid > 0 else None
            if (
                target is not None
                and tid is not None
                and tid not in (t for t, _ in target.threads.values())
            ):
                target = None
            if target is None:
                return -ESRCH
            if not 0 <= sig <= NSIG:
                return -EINVAL
            if sig and not target.virtual and not target.zombie:
                return self.send(target, sig, code, raw=raw)
            return 0

    def send(self, target, sig: int, code: int, **info) -> int:
        """A process's signal to `target` (kill, tkill, tgkill, rt_sigqueueinfo,
        pidfd_send_signal), queued as __send_signal_locked queues it: each pending signal
        and POSIX timer of the target's user counts against the target's soft
        RLIMIT_SIGPENDING (__sigqueue_alloc); past it, a real-time signal with a code of the
        sender's own is refused (EAGAIN), any other is sent without its siginfo (a standard
        one from kill or the kernel is never refused a place). `info`: post's. 0 or -EAGAIN."""
        room = sig < SIGRTMIN and code >= 0 or self._sigqueue_room(target)
        if not room and sig >= SIGRTMIN and code != SI_USER:
            return -EAGAIN
        if room:
            target.signals.post(sig, code, **info)
        else:
            target.signals.post_lost(sig)
        self.signalled(target)
        return 0

    def _sigqueue_room(self, target) -> bool:
        user = target.uids[0]
        held = sum(
            t.signals.queued() + len(t.timers)
            for t in self.tasks.values()
            if t.uids[0] == user and not t.virtual
        )
        return held < self.limit(target, RLIMIT_SIGPENDING)[0]


def _signed(x: int) -> int:
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >> 63 else x

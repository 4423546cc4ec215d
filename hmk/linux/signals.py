"""Linux signals: per-process actions, the blocked mask, pending signals, and delivery through a
real AArch64 signal frame (struct rt_sigframe: siginfo, then a ucontext whose mcontext holds
the 31 general registers, sp, pc, pstate and an FP/SIMD record), as Linux builds it.

Delivery happens when a thread goes back to user mode (the kernel's exit path) and finds a
pending, unblocked signal: a handler gets x0 = signal, x1 = &siginfo, x2 = &ucontext, the stack
below the frame and x30 = its SA_RESTORER trampoline or, without one (glibc on AArch64 sets
none: Linux's vDSO has it), the process's signal-return page; either calls rt_sigreturn, which
restores the frame's registers and mask. With no handler the default action applies: terminate (the
wait status carries the signal) or, for SIGCHLD, SIGURG, SIGWINCH and SIGCONT, ignore.
A signal sent to a thread blocked in a call wakes it; the call looks again, and if it would
still block, a handler interrupts it: it goes on after the handler or fails with EINTR, as
Linux decides (`restarts`; hmk.kernel.core's _interrupt_call).
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    E2BIG,
    EFAULT,
    EINTR,
    EINVAL,
    ENOMEM,
    EPERM,
    FUTEX_CMD_MASK,
    FUTEX_WAIT,
    FUTEX_WAIT_BITSET,
    SA_NODEFER,
    SA_ONSTACK,
    SA_RESETHAND,
    SA_RESTART,
    SA_RESTORER,
    SI_USER,
    SIG_BLOCK,
    SIG_DFL,
    SIG_IGN,
    SIG_SETMASK,
    SIG_UNBLOCK,
    SIGBUS,
    SIGCHLD,
    SIGCONT,
    SIGFPE,
    SIGILL,
    SIGKILL,
    SIGSEGV,
    SIGSTOP,
    SIGTRAP,
    SIGURG,
    SIGWINCH,
)

# calls a handler always interrupts with EINTR, SA_RESTART or not (Linux's ERESTARTNOHAND and
# ERESTART_RESTARTBLOCK: the sleeps and the waits for events); the others go on under
# SA_RESTART (ERESTARTSYS), signal(7) "Interruption of system calls by signal handlers"
NEVER_RESTARTED = frozenset(
    {
        "nanosleep",
        "clock_nanosleep",
        "ppoll",
        "pselect6",
        "epoll_pwait",
        "epoll_pwait2",
        "rt_sigsuspend",
    }
)
FUTEX_TIMED = (FUTEX_WAIT, FUTEX_WAIT_BITSET)  # with a timeout they are never restarted


def restarts(name: str, args, flags: int, timed: bool = False) -> bool:
    """Does call `name` (its arguments `args`), blocked when a handler with sa_flags `flags`
    runs, go on after the handler? Otherwise it fails with EINTR. `timed`: its wait had a
    timeout (a socket's SO_RCVTIMEO or SO_SNDTIMEO, a futex's): such a wait is never
    restarted."""
    if name in NEVER_RESTARTED or timed:
        return False
    if name == "futex" and args[3] and args[1] & FUTEX_CMD_MASK in FUTEX_TIMED:
        return False
    return bool(flags & SA_RESTART)


IGNORED_BY_DEFAULT = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH}
LOST = (SI_USER, 0, 0, 0, None)  # a pending signal whose siginfo found no room
SIGRTMIN = 32  # the first real-time signal: those from here on queue (glibc keeps 32, 33)
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))

SIGINFO_BYTES = 128
UC_STACK, UC_SIGMASK = 16, 40  # in the ucontext: uc_flags, uc_link, uc_stack (24), the mask
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 5120  # arm64's (arch/arm64/include/uapi/asm/signal.h)
UC_MCONTEXT = 176  # 168 rounded up to the 16-byte alignment of struct sigcontext
MC_REGS, MC_SP, MC_PC, MC_PSTATE, MC_RESERVED = 8, 256, 264, 272, 288
FPSIMD_MAGIC, FPSIMD_SIZE = 0x46508001, 528
FRAME_BYTES = SIGINFO_BYTES + UC_MCONTEXT + MC_RESERVED + 4096 + 16  # + a frame record


def siginfo(sig: int, code: int, value: int, extra: int, uid: int = 0) -> bytes:
    """A 128-byte siginfo: a child's pid, uid and wait status (SIGCHLD), a fault's address
    (SIGSEGV), or the sender's pid and uid and the sigval rt_sigqueueinfo gave (0 from kill)."""
    info = struct.pack("<iii4x", sig, 0, code)
    if sig == SIGCHLD:
        info += struct.pack("<iIi", value, uid, extra)
    elif sig == SIGSEGV:
        info += struct.pack("<Q", value)
    else:
        info += struct.pack("<iIQ", value, uid, extra)
    return info.ljust(SIGINFO_BYTES, b"\0")


def bit(sig: int) -> int:
    return 1 << (sig - 1)


def int32(x: int) -> int:
    """A register holding a C int: Linux reads its low 32 bits, signed."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >> 31 else x


KERNEL_SIGINFO = 48  # struct kernel_siginfo: what Linux keeps of a siginfo the caller gives
SI_KERNEL, SI_DETHREAD, SI_ASYNCNL = 0x80, -7, -60
# the si_codes each signal with codes of its own has, up to (include/uapi/asm-generic/siginfo.h:
# NSIGILL, NSIGFPE, NSIGSEGV, NSIGBUS, NSIGTRAP, NSIGCHLD, NSIGSYS); NSIGPOLL for the others
SIGNAL_CODES = {SIGILL: 11, SIGFPE: 15, SIGSEGV: 10, SIGBUS: 5, SIGTRAP: 6, SIGCHLD: 6, 31: 2}
NSIGPOLL = 6


def known_layout(sig: int, code: int) -> bool:
    """Linux's known_siginfo_layout: does the kernel know what a siginfo of `sig` with
    `code` holds? (One it does not must have nothing past the kernel's 48 bytes.)"""
    if code == SI_KERNEL:
        return True
    if code > SI_USER:
        return code <= SIGNAL_CODES.get(sig, NSIGPOLL)
    return code >= SI_DETHREAD or code == SI_ASYNCNL


def siginfo_from_user(space, ptr: int, sig: int) -> bytes | int:
    """A siginfo the caller gives (rt_sigqueueinfo's): its first 48 bytes with si_signo set
    to `sig`, or -EFAULT, or -E2BIG (a layout the kernel does not know, with bytes past the
    48 that are not zero: Linux's copy_siginfo_from_user)."""
    raw = space.read(ptr, KERNEL_SIGINFO)
    if raw is None:
        return -EFAULT
    code = struct.unpack_from("<i", raw, 8)[0]
    if not known_layout(sig, code):
        rest = space.read(ptr + KERNEL_SIGINFO, SIGINFO_BYTES - KERNEL_SIGINFO)
        if rest is None:
            return -EFAULT
        if any(rest):
            return -E2BIG
    return struct.pack("<i", int32(sig)) + raw[4:]


def _fields(sig: int, raw: bytes) -> tuple[int, int, int, int]:
    """(si_code, pid or address, status or value, uid) of a caller's siginfo, as signalfd's
    reader shows them."""
    code, pid, uid, status = struct.unpack_from("<i4xiIi", raw, 8)
    if code > SI_USER and sig in (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP):
        return code, struct.unpack_from("<Q", raw, 16)[0], 0, 0  # si_addr
    return code, pid & 0xFFFFFFFF, status, uid


class SignalState:
    """One process's signal dispositions, mask and pending set (one thread per process)."""

    def __init__(self):
        self.actions: dict[int, tuple[int, int, int, int]] = {}  # handler, flags, restorer, mask
        self.blocked = 0
        self.pending = 0
        # sig -> its pending instances, oldest first, each (si_code, pid or address, exit
        # status or sigval, the sender's uid, the siginfo a caller gave or None): one at most
        # for a standard signal, a queue for a real-time one (SIGRTMIN and up)
        self.info: dict[int, list[tuple]] = {}
        # sigaltstack's (ss_sp, ss_flags as given, ss_size): none while its size is 0
        self.altstack = (0, 0, 0)
        self.saved_mask: int | None = None  # rt_sigsuspend's: the mask the next frame keeps
        self.suspended_from: int | None = None  # ...and the mask it replaced while it waits
        self.awaited = 0  # signals an rt_sigtimedwait waits for (they wake it though blocked)
        self.waiters: list[int] = []  # threads waiting for a signal to arrive (signalfd's
        # readers and pollers: Linux's signalfd_wqh), woken by the process manager's send
        self.arrivals = 0  # signals posted so far (what edge-triggered epoll on a signalfd hears)
        # sig -> what to call when it is next taken (dequeued): a periodic timer starts again
        # only then, as Linux's dequeue_signal re-arms ITIMER_REAL and POSIX timers
        self.on_take: dict[int, list] = {}

    def copy(self) -> SignalState:
        """After fork: the same actions, mask and alternate stack, nothing pending."""
        child = SignalState()
        child.actions, child.blocked = dict(self.actions), self.blocked
        child.altstack = self.altstack
        return child

    def exec_reset(self) -> None:
        """execve: handlers go back to the default (ignored signals stay ignored); the
        alternate stack is gone with the old image."""
        self.actions = {s: a for s, a in self.actions.items() if a[0] == SIG_IGN}
        self.altstack = (0, 0, 0)

    def mask_while_waiting(self, space, ptr: int, size: int) -> int:
        """ppoll's, pselect6's and epoll_pwait's mask (Linux's set_user_sigmask): while the
        call runs, the blocked set is the one at `ptr` (none given: unchanged); 0 or -errno."""
        if not ptr:
            return 0
        if size != 8:
            return -EINVAL
        raw = space.read(ptr, 8)
        if raw is None:
            return -EFAULT
        self.suspended_from = self.blocked
        self.blocked = struct.unpack("<Q", raw)[0] & ~UNBLOCKABLE
        return 0

    def mask_restored(self, result: int) -> int:
        """The call with a mask of its own ends with `result`: the mask comes back now, or,
        when a handler is to run (EINTR), when the handler's sigreturn restores it
        (restore_saved_sigmask_unless)."""
        if self.suspended_from is not None:
            if result == -EINTR:
                self.saved_mask = self.suspended_from
            else:
                self.blocked = self.suspended_from
            self.suspended_from = None
        return result

    def wakes(self) -> bool:
        """Must a thread of this process blocked in a call wake now? (A signal that is not
        blocked, or one an rt_sigtimedwait waits for.)"""
        return bool(self.next_signal() or self.pending & self.awaited)

    def post(
        self, sig: int, code: int = SI_USER, value: int = 0, status: int = 0, uid=0, raw=None
    ) -> None:
        """`sig` is sent; a standard one already pending keeps its first sender's information
        (Linux's legacy_queue: it does not queue), a real-time one queues another instance.
        `raw`: the siginfo a caller gave (siginfo_from_user), delivered as it is."""
        entry = (*_fields(sig, raw), raw) if raw else (code, value, status, uid, None)
        if self.pending & bit(sig):
            if sig < SIGRTMIN:
                return
            self.info[sig].append(entry)
        else:
            self.pending |= bit(sig)
            self.info[sig] = [entry]
        self.arrivals += 1

    def post_lost(self, sig: int) -> None:
        """`sig` is sent with no room to queue its siginfo: it becomes pending (if it is not)
        and is delivered as from nobody (SI_USER, pid and uid 0: collect_signal's zeroed info)."""
        if not self.pending & bit(sig):
            self.pending |= bit(sig)
            self.info[sig] = [LOST]
            self.arrivals += 1

    def queued(self) -> int:
        """The signal instances pending with their siginfo queued (each a sigqueue in Linux,
        counted against the user's RLIMIT_SIGPENDING)."""
        return sum(e is not LOST for queue in self.info.values() for e in queue)

    def take(self, mask: int) -> tuple[int, int, int, int, int] | None:
        """Dequeue the lowest pending signal of `mask` (signalfd's read): (signal, si_code,
        pid/addr, status, uid), or None when none is pending."""
        ready = self.pending & mask
        if not ready:
            return None
        sig = (ready & -ready).bit_length()
        return (sig, *self.dequeue(sig)[:4])

    def raw_info(self, sig: int) -> bytes | None:
        """The siginfo a caller gave for pending `sig`'s oldest instance, if it came with one."""
        return self.info.get(sig, [(None,) * 5])[0][4]

    def dequeue(self, sig: int) -> tuple:
        """`sig`'s oldest instance leaves the pending set (delivered, taken or discarded); its
        information. The signal stays pending while instances of it are queued."""
        queue = self.info.get(sig)
        entry = queue.pop(0) if queue else (SI_USER, 0, 0, 0, None)
        if not queue:
            self.info.pop(sig, None)
            self.pending &= ~bit(sig)
        for call in self.on_take.pop(sig, ()):
            call()
        return entry

    def discard(self, sig: int) -> None:
        """Every pending instance of `sig` goes (its action became SIG_IGN)."""
        while self.pending & bit(sig):
            self.dequeue(sig)

    # ---- the calls -----------------------------------------------------------------------
    def sigaction(self, space, sig, act, oact, size) -> int:
        """rt_sigaction, in Linux's order: the set's size, the new action copied in, the
        signal checked, the action changed, the old one copied out (a bad `oact` is EFAULT
        after the change)."""
        if size != 8:
            return -EINVAL
        raw = space.read(act, 32) if act else None
        if act and raw is None:
            return -EFAULT
        sig = int32(sig)
        if not 1 <= sig <= 64 or act and sig in (SIGKILL, SIGSTOP):
            return -EINVAL
        old = self.actions.get(sig, (SIG_DFL, 0, 0, 0))
        if act:
            handler, flags, restorer, mask = struct.unpack("<QQQQ", raw)
            self.actions[sig] = (handler, flags, restorer, mask & ~UNBLOCKABLE)
            if handler == SIG_IGN:
                self.discard(sig)
        if oact and not space.write(oact, struct.pack("<QQQQ", *old)):
            return -EFAULT
        return 0

    def sigprocmask(self, space, how, new, old, size) -> int:
        """rt_sigprocmask, in Linux's order: the new set copied in, `how` checked (only with
        a new set), the mask changed, the old one copied out."""
        if size != 8:
            return -EINVAL
        before = self.blocked
        if new:
            raw = space.read(new, 8)
            if raw is None:
                return -EFAULT
            mask = struct.unpack("<Q", raw)[0] & ~UNBLOCKABLE
            how = int32(how)
            if how == SIG_BLOCK:
                self.blocked |= mask
            elif how == SIG_UNBLOCK:
                self.blocked &= ~mask
            elif how == SIG_SETMASK:
                self.blocked = mask
            else:
                return -EINVAL
        if old and not space.write(old, struct.pack("<Q", before)):
            return -EFAULT
        return 0

    def sigaltstack(self, space, ss: int, old: int, sp: int) -> int:
        """sigaltstack(2) in Linux's order: the new stack copied in, checked and set, the old
        one copied out (a bad `old` is EFAULT after the change); `sp`: the caller's stack
        pointer (on the alternate stack, it may not be changed: EPERM)."""
        before = self.altstack
        if ss:
            raw = space.read(ss, 24)
            if raw is None:
                return -EFAULT
            base, flags, _, size = struct.unpack("<QiiQ", raw)
            err = self.set_altstack(base, size, flags, sp)
            if err:
                return err
        if old:
            base, flags, size = before
            shown = (SS_ONSTACK if self.on_altstack(sp) else 0) if size else SS_DISABLE
            shown |= flags & SS_AUTODISARM
            if not space.write(old, struct.pack("<QiiQ", base, int32(shown), 0, size)):
                return -EFAULT
        return 0

    def set_altstack(self, base: int, size: int, flags: int, sp: int) -> int:
        """do_sigaltstack's checks and change (also sigreturn's restore_altstack)."""
        if self.on_altstack(sp):
            return -EPERM
        mode = flags & ~SS_AUTODISARM
        if mode not in (0, SS_DISABLE, SS_ONSTACK):
            return -EINVAL
        if (base, flags, size) == self.altstack:
            return 0
        if mode == SS_DISABLE:
            base, size = 0, 0
        elif size < MINSIGSTKSZ:
            return -ENOMEM
        self.altstack = (base, flags, size)
        return 0

    def on_altstack(self, sp: int) -> bool:
        base, flags, size = self.altstack
        return bool(size) and base < sp <= base + size

    # ---- delivery ------------------------------------------------------------------------
    def next_signal(self) -> int:
        ready = self.pending & ~(self.blocked & ~UNBLOCKABLE)
        return (ready & -ready).bit_length() if ready else 0

    def handler_pending(self) -> bool:
        """Will a handler run at the next kernel exit? (A blocking call then does not sleep:
        it is interrupted, as Linux's signal_pending check before sleeping does.)"""
        sig = self.next_signal()
        return bool(sig) and sig != SIGKILL and self.actions.get(sig, (SIG_DFL,))[0] > SIG_IGN

    def build_frame(
        self, space, sig: int, info: tuple, ctx, extra, trampoline: int
    ) -> list[int] | None:
        """Write the signal frame (for the instance `info` dequeue gave) below the interrupted
        stack and return the handler's registers, or None if the frame cannot be written (the
        caller kills with SIGSEGV)."""
        handler, flags, restorer, mask = self.actions[sig]
        code, value, status, uid, raw = info
        base, ss_flags, ss_size = self.altstack
        top, on = ctx[31], self.on_altstack(ctx[31])
        saved = self.altstack  # the frame keeps it, as Linux's __save_altstack
        if flags & SA_ONSTACK and ss_size and not on:
            top = base + ss_size  # the handler runs on the alternate stack
            if ss_flags & SS_AUTODISARM:  # ...which is disarmed until its sigreturn
                self.altstack = (0, SS_DISABLE, 0)
        sp = (top - FRAME_BYTES) & ~15
        info = raw.ljust(SIGINFO_BYTES, b"\0") if raw else siginfo(sig, code, value, status, uid)
        uc = bytearray(UC_MCONTEXT + MC_RESERVED + 4096)
        struct.pack_into("<QiiQ", uc, UC_STACK, *saved[:2], 0, saved[2])
        kept = self.blocked if self.saved_mask is None else self.saved_mask
        self.saved_mask = None
        struct.pack_into("<Q", uc, UC_SIGMASK, kept)
        mc = UC_MCONTEXT
        struct.pack_into("<Q", uc, mc, value if sig == SIGSEGV else 0)
        struct.pack_into("<31Q", uc, mc + MC_REGS, *ctx[:31])
        struct.pack_into("<QQQ", uc, mc + MC_SP, ctx[31], ctx[32], ctx[33])
        fp = mc + MC_RESERVED
        vregs, fpcr, fpsr = extra[:32], extra[32], extra[33]
        struct.pack_into("<IIII", uc, fp, FPSIMD_MAGIC, FPSIMD_SIZE, fpsr, fpcr)
        for i, v in enumerate(vregs):
            struct.pack_into("<QQ", uc, fp + 16 + 16 * i, v & (1 << 64) - 1, v >> 64)
        frame = info + bytes(uc)
        if not space.write(sp, frame):
            return None
        regs = list(ctx)
        regs[0], regs[1], regs[2] = sig, sp, sp + SIGINFO_BYTES
        regs[31], regs[32] = sp, handler
        regs[30] = restorer if flags & SA_RESTORER else trampoline
        self.blocked |= (mask | (0 if flags & SA_NODEFER else bit(sig))) & ~UNBLOCKABLE
        if flags & SA_RESETHAND:
            self.actions[sig] = (SIG_DFL, 0, 0, 0)
        return regs

    def restore_frame(self, space, sp: int, extra):
        """rt_sigreturn: (registers, extra registers) from the frame at `sp`, or None."""
        raw = space.read(sp + SIGINFO_BYTES, UC_MCONTEXT + MC_RESERVED + 16 + 512)
        if raw is None:
            return None
        self.blocked = struct.unpack_from("<Q", raw, UC_SIGMASK)[0] & ~UNBLOCKABLE
        base, ss_flags, _, size = struct.unpack_from("<QiiQ", raw, UC_STACK)
        # the alternate stack as it was when the signal came (Linux's restore_altstack)
        self.set_altstack(base, size, ss_flags, sp)
        mc = UC_MCONTEXT
        regs = list(struct.unpack_from("<31Q", raw, mc + MC_REGS))
        regs += list(struct.unpack_from("<QQQ", raw, mc + MC_SP))
        fp = mc + MC_RESERVED
        magic, _, fpsr, fpcr = struct.unpack_from("<IIII", raw, fp)
        new_extra = list(extra)
        if magic == FPSIMD_MAGIC:
            for i in range(32):
                lo, hi = struct.unpack_from("<QQ", raw, fp + 16 + 16 * i)
                new_extra[i] = lo | hi << 64
            new_extra[32], new_extra[33] = fpcr, fpsr
        regs[33] &= 0xF0000000  # only the condition flags come back from user memory
        return regs, new_extra

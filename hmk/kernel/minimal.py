"""A minimal Linux kernel side for one static AArch64 process (glibc or not).

It is the stand-in the execution engine needs before the HM core kernel and services exist:
memory (brk, anonymous private mmap/munmap/mprotect, demand paging), the standard streams, and
the handful of calls glibc's static start-up makes. Everything else returns -ENOSYS, with one
warning per syscall name. It talks to the CPU only through hmk.cpu.machine's kernel interface
(`page_fault`, `syscall`), so replacing it touches nothing on the CPU side.

Layout (Linux arm64, user space below KERNEL_BASE, no randomisation): the program at its ELF
addresses, the heap from the page after the last segment, the stack below STACK_TOP, mmap areas
top-down from MMAP_BASE (STACK_TOP minus Linux's minimum 128 MiB stack gap).
"""

from __future__ import annotations

import errno
import itertools
import struct
import sys
from dataclasses import dataclass, field, replace

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.costs import BUDGETS
from hmk.kernel.memory import PROT_EXEC, PROT_READ, PROT_WRITE, AddressSpace, Frames, Vma
from hmk.kernel.objects import KERNEL_BASE
from hmk.kernel.syscalls import ERESTARTSYS, NAMES
from hmk.services.signals import SignalState

# User space ends where the kernel's linear map begins (hmk.kernel.objects.KERNEL_BASE): a
# 47.8-bit user VA, like a Linux kernel built with a smaller VA_BITS (phones often use 39)
TASK_SIZE = KERNEL_BASE
STACK_TOP = TASK_SIZE - PAGE_SIZE
SIGPAGE = STACK_TOP  # the page above the stack: the signal-return trampoline
SIGRETURN_CODE = struct.pack("<II", 0xD2801168, 0xD4000001)  # mov x8, #139 (rt_sigreturn); svc #0
MAX_ARG_BYTES = 128 * 1024  # execve's argv + envp (an assumption; Linux allows more)
STACK_SIZE = 8 << 20  # RLIMIT_STACK's default, 8 MiB
MMAP_BASE = STACK_TOP - (128 << 20)
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_SHARED_VALIDATE, MAP_FIXED_NOREPLACE = 0x03, 0x100000
# the flags MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK and the validated ones we know)
MAP_KNOWN = 0x3 | MAP_FIXED | MAP_ANONYMOUS | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000
MAP_KNOWN |= 0x10000 | 0x20000 | 0x40000 | MAP_FIXED_NOREPLACE
MREMAP_MAYMOVE = 1
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_REALTIME_COARSE, TIMER_ABSTIME = 0, 1, 5, 1
CLOCKS = (0, 1, 4, 5, 6, 7)  # REALTIME, MONOTONIC, MONOTONIC_RAW, *_COARSE, BOOTTIME
# the wall clock at boot (the RTC's reading): assumed, fixed so that runs are deterministic;
# 2024-07-10 00:00:00 UTC, the first day of OSDI '24, where HM's paper was presented
BOOT_TIME_NS = 1_720_569_600 * 10**9
UTSNAME = (b"Linux", b"hmk", b"6.1.0-hmk", b"#1 SMP hmk", b"aarch64", b"(none)")


_IMAGES = itertools.count(1)  # keys for loaded program images (equality only)


def _warn_once():
    """A warning sink for a personality used without the runner: each text once, to stderr."""
    seen = set()

    def warn(text: str) -> None:
        if text not in seen:
            seen.add(text)
            print(f"hmk: warning: {text}", file=sys.stderr)

    return warn


def _page_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass
class SyscallRecord:
    number: int
    name: str
    args: tuple
    result: int
    strings: dict | None = None  # string arguments as read at entry (execve replaces memory)


@dataclass
class ProcessState:
    brk_start: int
    brk: int
    exe_path: bytes
    exit_status: int | None = None
    clear_child_tid: int = 0
    stdout: bytearray = field(default_factory=bytearray)
    image: int = 0  # which loaded program image (fork keeps it, execve takes a new one)


class MinimalKernel:
    """One process. `on_tlb_change(pages or None, asid)` is called after mappings change, so
    the owner can flush the CPU's and the timing model's TLBs."""

    def __init__(
        self,
        ram,
        asid: int = 1,
        *,
        stdin=b"",
        out=None,
        err=None,
        clock=None,
        random_seed: int = 0,
        strace=None,
        space=None,
    ):
        self.ram = ram
        if space is None:  # stand-alone: its own frames and page tables
            space = AddressSpace(ram, Frames(ram), asid)
        self.frames = space.frames
        self.space = space
        self.stdin = bytes(stdin)
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr.buffer
        self.clock = clock or (lambda: 0)  # simulated nanoseconds since boot
        self.strace = strace  # a callable taking a SyscallRecord and the caller, or None
        self.on_tlb_change = lambda pages, asid: None
        self._random = _Xorshift(random_seed)
        self.warn = _warn_once()  # the runner's Messages.warn: one line per distinct warning
        self.syscalls = 0
        self.proc: ProcessState | None = None
        self.fs = None  # the file manager (hmk.services.fsmgr.FsMgr), set by the runner
        self.procmgr = None  # the process manager (hmk.services.procmgr.ProcMgr)
        self.task = None  # this process's procmgr record
        self.core = None  # the core kernel (hmk.kernel.core.CoreKernel)
        self.signals = SignalState()
        self._mmap_top = MMAP_BASE

    # ---- setting up the process (called by the loader)
    def load_segments(self, image) -> None:
        """VMAs for the ELF PT_LOAD segments, backed by the file bytes; brk after them."""
        from hmk.cpu.elf import ElfError  # noqa: PLC0415

        for seg in image.segments:
            start = seg.vaddr & ~(PAGE_SIZE - 1)
            end = _page_up(seg.vaddr + seg.memsz)
            if end > TASK_SIZE - STACK_SIZE:
                raise ElfError(
                    f"{image.path}: segment {start:#x}-{end:#x} is above user space "
                    f"(which ends at {TASK_SIZE - STACK_SIZE:#x}, below the stack)"
                )
            prot = ("r" in seg.flags and PROT_READ) | ("w" in seg.flags and PROT_WRITE)
            prot |= "x" in seg.flags and PROT_EXEC
            lead = b"\0" * (seg.vaddr - start)
            self.space.add(Vma(start, end, prot, image.path, lead + seg.data))
        brk = _page_up(max(s.vaddr + s.memsz for s in image.segments))
        self.proc = ProcessState(brk, brk, image.path.encode(), image=next(_IMAGES))
        if self.core is not None:
            self.core.images[self.proc.image] = image  # for a profile's symbols

    def make_stack(self, image_bytes: bytes, sp: int) -> None:
        """The stack VMA, with the initial stack image (argv, envp, auxv) at [sp, STACK_TOP),
        and above it the signal-return page (Linux's vDSO holds this trampoline)."""
        self.space.add(Vma(STACK_TOP - STACK_SIZE, STACK_TOP, PROT_READ | PROT_WRITE, "[stack]"))
        code = SIGRETURN_CODE
        self.space.add(Vma(SIGPAGE, SIGPAGE + PAGE_SIZE, PROT_READ | PROT_EXEC, "[sigpage]", code))
        if not self.space.write(sp, image_bytes):
            raise RuntimeError("could not write the initial stack")

    # ---- the CPU's kernel interface
    def page_fault(self, machine, vaddr: int, access: str) -> bool:
        return self.space.fault(vaddr, access)

    def syscall(self, machine, registers=None) -> None:
        """Serve the SVC; `registers`: x0-x5 and x8 when the caller has read them already."""
        *args, nr = registers or machine.syscall_registers()
        args = tuple(args)
        if self.fs is not None:
            self.fs.vfs.current = self  # /proc/self is the caller
        name = NAMES.get(nr, f"syscall_{nr}")
        handler = getattr(self.fs, f"sys_{name}", None) or getattr(self, f"sys_{name}", None)
        strings = None
        if self.strace is not None and name == "execve":  # its path is gone once it succeeds
            strings = {args[0]: self.space.read_cstring(args[0])}
        self.syscalls += 1
        if handler is None:
            self.warn(f"unsupported syscall {name} ({nr}): -ENOSYS")
            result = -errno.ENOSYS
        else:
            result = handler(machine, *args)
        if result == ERESTARTSYS:  # the thread blocked: run the SVC again when it wakes
            machine.set_pc(machine.pc - 4)
            if self.core is not None:
                self.core.will_restart(machine, interrupted=self.signals.handler_pending())
            return
        if self.core is not None:
            self.core.deadlines.pop(self.core.running, None)  # its timed wait, if any, is over
        if self.strace is not None:
            self.strace(SyscallRecord(nr, name, args, result, strings), self)
        gone = self.task.zombie or self.core.running not in self.task.threads
        if result is not None and not gone:  # None: execve set the registers
            machine.set_reg(0, result)

    # ---- process (the process manager's: hmk.services.procmgr)
    def sys_exit(self, m, status, *_):
        self.procmgr.thread_exit(m, self.task, (status & 0xFF) << 8)
        return 0  # for --strace: nobody receives it

    def sys_exit_group(self, m, status, *_):
        self.procmgr.exited(m, self.task, (status & 0xFF) << 8)
        return 0

    def sys_futex(self, m, uaddr, op, val, utime, *_):
        return self.procmgr.futex(self.task, uaddr, op, val, utime)

    def sys_rseq(self, m, *_):
        """Not there, deliberately and without a warning: glibc registers rseq at every start
        and carries on without it, as on a kernel built without CONFIG_RSEQ."""
        return -errno.ENOSYS

    def sys_set_tid_address(self, m, tidptr, *_):
        entry = self.task.threads[self.core.running]
        entry[1] = tidptr
        return entry[0]

    def sys_getpid(self, m, *_):
        return self.task.pid

    def sys_gettid(self, m, *_):
        return self.task.threads[self.core.running][0]

    def sys_getppid(self, m, *_):
        return self.task.ppid

    def sys_rt_sigaction(self, m, sig, act, oact, size, *_):
        return self.signals.sigaction(self.space, sig, act, oact, size)

    def sys_rt_sigprocmask(self, m, how, new, old, size, *_):
        return self.signals.sigprocmask(self.space, how, new, old, size)

    def sys_rt_sigreturn(self, m, *_):
        restored = self.signals.restore_frame(self.space, m.sp, m.extra_context())
        if restored is None:  # a corrupt frame: Linux forces SIGSEGV
            self.signals.post(11)
            return 0
        regs, extra = restored
        m.set_context(regs)
        m.set_extra_context(extra)
        return None

    def sys_kill(self, m, pid, sig, *_):
        return self.procmgr.kill(self.task, pid, sig)

    def sys_tgkill(self, m, tgid, tid, sig, *_):
        return self.procmgr.kill(self.task, tid, sig)

    def sys_tkill(self, m, tid, sig, *_):
        return self.procmgr.kill(self.task, tid, sig)

    def sys_clone(self, m, flags, newsp, parent_tid, tls, child_tid, *_):
        return self.procmgr.fork(m, self.task, flags, child_tid, newsp, tls, parent_tid)

    def sys_wait4(self, m, pid, wstatus, options, rusage, *_):
        return self.procmgr.wait4(self.task, pid, wstatus, options, rusage)

    def sys_waitid(self, m, idtype, ident, infop, options, rusage, *_):
        return self.procmgr.waitid(self.task, idtype, ident, infop, options, rusage)

    def sys_execve(self, m, path_ptr, argv_ptr, envp_ptr, *_):
        """Replace this process's image with the program at the path (in the file system)."""
        from hmk.cpu.elf import ElfError, parse_elf  # noqa: PLC0415
        from hmk.cpu.stack import auxv_for, build_stack  # noqa: PLC0415

        path = self.space.read_cstring(path_ptr)
        argv, envp = self._strings(argv_ptr), self._strings(envp_ptr)
        if path is None or argv is None or envp is None:
            return -errno.EFAULT
        if isinstance(argv, int) or isinstance(envp, int):
            return argv if isinstance(argv, int) else envp
        found = self.fs.executable(path)
        if isinstance(found, int):
            return found
        data, name = found
        try:
            image = parse_elf(data, name.decode(errors="replace"))
        except ElfError:
            return -errno.ENOEXEC
        if any(_page_up(sg.vaddr + sg.memsz) > TASK_SIZE - STACK_SIZE for sg in image.segments):
            return -errno.ENOEXEC
        # ---- the point of no return: the old image goes (a vfork parent goes on)
        self._unmap(0, TASK_SIZE)
        self.procmgr.vfork_done(self.task)
        self._mmap_top = MMAP_BASE
        self.load_segments(image)
        random16 = self._random.bytes(16)
        sp, stack = build_stack(STACK_TOP, argv, envp, auxv_for(image), name, random16)
        self.make_stack(stack, sp)
        m.use_code(self.proc.image)
        self.fs.close_on_exec(m)
        self.signals.exec_reset()
        regs = [0] * 34
        regs[31], regs[32] = sp, image.entry
        m.set_context(regs)
        return None

    def _strings(self, ptr):
        """A NULL-terminated array of C strings in user memory (argv, envp): a list, None
        (EFAULT) or -E2BIG."""
        out, total = [], 0
        if ptr == 0:
            return out
        while True:
            raw = self.space.read(ptr + 8 * len(out), 8)
            if raw is None:
                return None
            addr = struct.unpack("<Q", raw)[0]
            if addr == 0:
                return out
            s = self.space.read_cstring(addr, limit=MAX_ARG_BYTES)
            if s is None:
                return None
            total += len(s) + 9
            if total > MAX_ARG_BYTES:
                return -errno.E2BIG
            out.append(s)

    def forked(self, space) -> MinimalKernel:
        """The personality of a child made by fork: this one's state, a new address space,
        the same open files."""
        child = MinimalKernel(
            self.ram,
            stdin=self.stdin,
            out=self.out,
            err=self.err,
            clock=self.clock,
            strace=self.strace,
            space=space,
        )
        child._random, child.warn = self._random, self.warn
        child.on_tlb_change, child.core, child.procmgr = self.on_tlb_change, self.core, self.procmgr
        child.proc, child._mmap_top = replace(self.proc), self._mmap_top
        child.signals = self.signals.copy()
        child.proc.stdout = self.proc.stdout
        child.fs = self.fs.forked(child)
        return child

    # ---- credentials (procmgr's): real, effective and saved ids; supplementary groups
    def sys_getuid(self, m, *_):
        return self.task.uids[0]

    def sys_geteuid(self, m, *_):
        return self.task.uids[1]

    def sys_getgid(self, m, *_):
        return self.task.gids[0]

    def sys_getegid(self, m, *_):
        return self.task.gids[1]

    def sys_getresuid(self, m, r, e, s, *_):
        return self._put_ids(self.task.uids, (r, e, s))

    def sys_getresgid(self, m, r, e, s, *_):
        return self._put_ids(self.task.gids, (r, e, s))

    def _put_ids(self, ids, ptrs) -> int:
        for value, ptr in zip(ids, ptrs, strict=True):
            if not self.space.write(ptr, struct.pack("<I", value)):
                return -errno.EFAULT
        return 0

    def sys_setresuid(self, m, r, e, s, *_):
        return self.procmgr.set_ids(self.task, "uid", (r, e, s))

    def sys_setresgid(self, m, r, e, s, *_):
        return self.procmgr.set_ids(self.task, "gid", (r, e, s))

    def sys_setreuid(self, m, r, e, *_):
        return self._setre(self.task.uids, "uid", r, e)

    def sys_setregid(self, m, r, e, *_):
        return self._setre(self.task.gids, "gid", r, e)

    def _setre(self, ids, which, r, e) -> int:
        """setre[ug]id: the saved id follows the new effective one when the real id is set
        or the effective id changes to other than the real one (Linux's rule)."""
        r, e = r & 0xFFFFFFFF, e & 0xFFFFFFFF
        minus = 0xFFFFFFFF
        real = ids[0] if r == minus else r
        effective = ids[1] if e == minus else e
        saved = effective if r != minus or (e != minus and e != ids[0]) else minus
        if self.task.uids[1] != 0 and (r != minus and r not in ids[:2]):
            return -errno.EPERM  # an unprivileged real id: only to the real or effective one
        return self.procmgr.set_ids(self.task, which, (real, e, saved))

    def sys_setuid(self, m, uid, *_):
        return self._set_one(self.task.uids, "uid", uid)

    def sys_setgid(self, m, gid, *_):
        return self._set_one(self.task.gids, "gid", gid)

    def _set_one(self, ids, which, value) -> int:
        """set[ug]id: root sets all three ids; others only the effective one, and only to
        the real or the saved id."""
        value = value & 0xFFFFFFFF
        privileged = self.task.uids[1] == 0
        if not privileged and value not in (ids[0], ids[2]):
            return -errno.EPERM
        new = (value, value, value) if privileged else (-1, value, -1)
        return self.procmgr.set_ids(self.task, which, new)

    def sys_getgroups(self, m, size, ptr, *_):
        groups, size = self.task.groups, size & 0xFFFFFFFF
        if size == 0:
            return len(groups)
        if size >= 1 << 31 or size < len(groups):
            return -errno.EINVAL
        data = struct.pack(f"<{len(groups)}I", *groups)
        return len(groups) if self.space.write(ptr, data) else -errno.EFAULT

    def sys_setgroups(self, m, size, ptr, *_):
        size = size & 0xFFFFFFFF
        if size > 65536:  # NGROUPS_MAX
            return -errno.EINVAL
        if self.task.uids[1] != 0:
            return -errno.EPERM
        raw = self.space.read(ptr, 4 * size) if size else b""
        if raw is None:
            return -errno.EFAULT
        self.task.groups = struct.unpack(f"<{size}I", raw)
        return 0

    def sys_set_robust_list(self, m, head, size, *_):
        return 0 if size == 24 else -errno.EINVAL

    def sys_prlimit64(self, m, pid, resource, new, old, *_):
        task = self.task if pid == 0 else self.procmgr.tasks.get(pid)
        if task is None:
            return -errno.ESRCH
        if not 0 <= resource < 16:
            return -errno.EINVAL
        infinity = (1 << 64) - 1
        current = task.rlimits.get(resource, (STACK_SIZE if resource == 3 else infinity, infinity))
        if new:
            raw = self.space.read(new, 16)
            if raw is None:
                return -errno.EFAULT
            soft, hard = struct.unpack("<QQ", raw)
            if soft > hard:
                return -errno.EINVAL
        if old and not self.space.write(old, struct.pack("<QQ", *current)):
            return -errno.EFAULT
        if new:
            task.rlimits[resource] = (soft, hard)  # root may raise the hard limit too
        return 0

    def sys_setpgid(self, m, pid, pgid, *_):
        return self.procmgr.setpgid(self.task, pid, pgid)

    def sys_getpgid(self, m, pid, *_):
        return self.procmgr.getpgid(self.task, pid)

    def sys_getsid(self, m, pid, *_):
        return self.procmgr.getsid(self.task, pid)

    def sys_setsid(self, m, *_):
        return self.procmgr.setsid(self.task)

    def sys_uname(self, m, buf, *_):
        data = b"".join(f.ljust(65, b"\0") for f in UTSNAME)
        return 0 if self.space.write(buf, data) else -errno.EFAULT

    def sys_getrandom(self, m, buf, count, flags, *_):
        count = min(count, 1 << 20)
        return count if self.space.write(buf, self._random.bytes(count)) else -errno.EFAULT

    # ---- time: the simulated clock; the wall clock starts at BOOT_TIME_NS (the RTC's)
    def now_ns(self, clock_id: int) -> int | None:
        """The time on `clock_id` in ns (None: not a clock we have)."""
        if clock_id not in CLOCKS:
            return None
        return self.clock() + _epoch(clock_id)

    def sys_clock_gettime(self, m, clock_id, ts, *_):
        ns = self.now_ns(clock_id)
        if ns is None:
            return -errno.EINVAL
        return 0 if self.space.write(ts, _timespec(ns)) else -errno.EFAULT

    def sys_clock_getres(self, m, clock_id, res, *_):
        if clock_id not in CLOCKS:
            return -errno.EINVAL
        return 0 if not res or self.space.write(res, _timespec(1)) else -errno.EFAULT

    def sys_gettimeofday(self, m, tv, tz, *_):
        ns = self.now_ns(CLOCK_REALTIME)
        if tv and not self.space.write(tv, struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000)):
            return -errno.EFAULT
        return 0 if not tz or self.space.write(tz, bytes(8)) else -errno.EFAULT

    def sys_nanosleep(self, m, req, rem, *_):
        return self.sys_clock_nanosleep(m, CLOCK_MONOTONIC, 0, req, rem)

    def sys_clock_nanosleep(self, m, clock_id, flags, req, rem, *_):
        """Sleep: the thread blocks until the time passes (the core idles if nothing else can
        run). A signal's handler ends it early with EINTR and the time left in `rem`
        (CoreKernel._interrupt_call)."""
        if clock_id not in (CLOCK_REALTIME, CLOCK_MONOTONIC, 7):  # BOOTTIME
            return -errno.EINVAL
        ns = self.read_timespec(req)
        if ns is None or ns < 0:
            return -errno.EFAULT if ns is None else -errno.EINVAL
        if flags & TIMER_ABSTIME:  # a time on that clock: as a time since boot
            ns -= _epoch(clock_id)
        deadline = self.core.wait_deadline(ns, absolute=bool(flags & TIMER_ABSTIME))
        return ERESTARTSYS if self.core.sleep_until(deadline) else 0

    def sleep_interrupted(self, name: str, args, left_ns: int) -> None:
        """A handler cut a relative sleep short: the time left goes to its `rem`, if given."""
        if name == "nanosleep":
            rem = args[1]
        elif name == "clock_nanosleep" and not args[1] & TIMER_ABSTIME:
            rem = args[3]
        else:
            return
        if rem:
            self.space.write(rem, _timespec(left_ns))

    def interrupted(self, nr: int, name: str, args, restarted: bool = False) -> None:
        """A handler interrupted a blocked call: it ends with EINTR, or is `restarted` after
        the handler as a new call (the core kernel decided; --strace shows it as strace does)."""
        if self.strace is not None:
            result = ERESTARTSYS if restarted else -errno.EINTR
            self.strace(SyscallRecord(nr, name, tuple(args), result), self)

    def read_timespec(self, ptr: int) -> int | None:
        """A struct timespec in ns; None: a bad pointer; -1: a field out of range (EINVAL)."""
        raw = self.space.read(ptr, 16)
        if raw is None:
            return None
        sec, nsec = struct.unpack("<qq", raw)
        return -1 if sec < 0 or not 0 <= nsec < 10**9 else sec * 10**9 + nsec

    def sys_sched_yield(self, m, *_):
        k = self.core
        k.threads.yield_(0)  # to the tail of its priority; the kernel exit switches
        k.need_resched = True
        k.charge("sched", k.path(BUDGETS["thread.op"]))
        return 0

    # ---- files: the file manager's (hmk.services.fsmgr, `self.fs`)
    def _emit(self, fd, data: bytes) -> None:
        stream = self.out if fd == 1 else self.err
        stream.write(data)
        if fd == 1:
            self.proc.stdout += data

    # ---- memory
    def sys_brk(self, m, addr, *_):
        p = self.proc
        if addr < p.brk_start or addr > STACK_TOP - STACK_SIZE:
            return p.brk
        old_end, new_end = _page_up(p.brk), _page_up(addr)
        if new_end > old_end:
            if not self.space.is_free(old_end, new_end):
                return p.brk
            heap = next((v for v in self.space.vmas if v.name == "[heap]"), None)
            try:
                if heap is not None and heap.end == old_end:
                    heap.end = new_end
                    self.space.changed()
                else:
                    self.space.add(Vma(old_end, new_end, PROT_READ | PROT_WRITE, "[heap]"))
            except MemoryError:  # the region table is full
                if heap is not None and heap.end == new_end:
                    heap.end = old_end
                    self.space.changed()
                return p.brk
        elif new_end < old_end:
            self._unmap(new_end, old_end)
        p.brk = addr
        return addr

    def sys_mmap(self, m, addr, length, prot, flags, fd, offset):
        """Anonymous or file-backed, private (copy-on-write) or shared. A shared mapping's
        pages are the file's page-cache frames, written through (fsmgr sees the stores); shared
        anonymous memory is an unnamed object of the same kind, inherited across fork."""
        shared = flags & MAP_SHARED_VALIDATE in (MAP_SHARED, MAP_SHARED_VALIDATE)
        if length == 0 or length >= 1 << 47 or offset % PAGE_SIZE or not flags & 3:
            return -errno.EINVAL
        if flags & MAP_SHARED_VALIDATE == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN:
            return -errno.EOPNOTSUPP
        image, name, file = b"", "[anon]", None
        if not flags & MAP_ANONYMOUS:
            writes = bool(shared and prot & PROT_WRITE)
            source = self.fs.mapping_source(fd, offset, _page_up(length), writes)
            if isinstance(source, int):
                return source
            image, name, node = source
            file = (node, offset)
        elif shared:
            node = self.fs.shared_anonymous(_page_up(length))
            name, file = "/dev/zero (deleted)", (node, 0)
        length = _page_up(length)
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if addr % PAGE_SIZE or addr + length > STACK_TOP - STACK_SIZE:
                return -errno.EINVAL
            if not self.space.is_free(addr, addr + length):
                if flags & MAP_FIXED_NOREPLACE:
                    return -errno.EEXIST
                self._unmap(addr, addr + length)
            start = addr
        else:
            start = self._find_gap(length)
            if start is None:
                return -errno.ENOMEM
        try:
            self.space.add(Vma(start, start + length, prot & 7, name, image, file, shared))
        except MemoryError:  # the kernel's region table is full (Linux: vm.max_map_count)
            return -errno.ENOMEM
        return start

    def sys_munmap(self, m, addr, length, *_):
        if addr % PAGE_SIZE or length == 0 or addr + length > 1 << 48:
            return -errno.EINVAL
        self._unmap(addr, addr + _page_up(length))
        return 0

    def sys_mremap(self, m, old, old_size, new_size, flags, new_addr, *_):
        """Grow or shrink a mapping in place, or move it (MREMAP_MAYMOVE): its pages move with
        it (the frames are remapped, not copied). MREMAP_FIXED is not supported (EINVAL)."""
        old_size, new_size = _page_up(old_size), _page_up(new_size)
        if old % PAGE_SIZE or not new_size or flags & ~MREMAP_MAYMOVE or new_size >= 1 << 47:
            return -errno.EINVAL
        vma = self.space.find(old)
        if vma is None or old + old_size > vma.end or not old_size:
            return -errno.EFAULT
        if new_size <= old_size:
            self._unmap(old + new_size, old + old_size)
            return old
        end = old + new_size
        if end <= STACK_TOP - STACK_SIZE and self.space.is_free(old + old_size, end):
            grown = vma.piece(old, old + old_size)
            grown.end = end
            self.space.cut(old, old + old_size)
            self.space.add(grown)  # the pages are still mapped: they stay where they were
            return old
        if not flags & MREMAP_MAYMOVE:
            return -errno.ENOMEM
        start = self._find_gap(new_size)
        if start is None:
            return -errno.ENOMEM
        moved = vma.piece(old, old + old_size)
        moved.start, moved.end = start, start + new_size
        self.space.add(moved)
        self.space.move_pages(old, start, old_size)
        self._unmap(old, old + old_size)
        return start

    def sys_mprotect(self, m, addr, length, prot, *_):
        if addr % PAGE_SIZE or prot & ~7:
            return -errno.EINVAL
        end = addr + _page_up(length)
        if not self._mapped(addr, end):
            return -errno.ENOMEM
        changed = self.space.protect(addr, end, prot)
        if changed:
            self.on_tlb_change(changed, self.space.asid)
        return 0

    def sys_msync(self, m, addr, length, flags, *_):
        """Shared mappings are written through to the page cache, which fsmgr writes back
        before it reads or changes the file: msync only checks its arguments and the range."""
        if addr % PAGE_SIZE or flags & ~7 or flags & 5 == 5:  # MS_ASYNC | MS_SYNC together
            return -errno.EINVAL
        end = addr + _page_up(length)
        if not self._mapped(addr, end):
            return -errno.ENOMEM
        for v in self.space.vmas:
            if v.shared and v.start < end and addr < v.end:
                self.fs.sync_mapped(v.file[0])
        return 0

    def _mapped(self, start: int, end: int) -> bool:
        """Do VMAs cover all of [start, end)? (mprotect and msync: ENOMEM otherwise.)"""
        covered = sum(
            min(v.end, end) - max(v.start, start)
            for v in self.space.vmas
            if v.start < end and start < v.end
        )
        return covered == end - start

    def sys_madvise(self, m, addr, length, advice, *_):
        return 0  # advice only

    def _unmap(self, start: int, end: int) -> None:
        dropped = self.space.remove(start, end)
        if dropped:
            self.on_tlb_change(dropped, self.space.asid)

    def _find_gap(self, length: int) -> int | None:
        """Top-down from the lowest mmap so far, as Linux's default allocator does."""
        top = self._mmap_top
        while top - length >= self.proc.brk_start + (1 << 30):
            start = top - length
            clash = [v for v in self.space.vmas if v.start < top and start < v.end]
            if not clash:
                self._mmap_top = start
                return start
            top = min(v.start for v in clash)
        return None


def _epoch(clock_id: int) -> int:
    """Where `clock_id` counts from, in ns after boot's 0: the wall clock (REALTIME and its
    coarse form) from BOOT_TIME_NS, the others from boot."""
    return BOOT_TIME_NS if clock_id in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE) else 0


def _timespec(ns: int) -> bytes:
    return struct.pack("<qq", ns // 10**9, ns % 10**9)


class _Xorshift:
    """getrandom()'s bytes: deterministic (xorshift64*), seeded per run."""

    def __init__(self, seed: int):
        self.x = (seed * 0x9E3779B97F4A7C15 + 1) & (1 << 64) - 1 or 1

    def bytes(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            self.x ^= self.x >> 12
            self.x ^= (self.x << 25) & (1 << 64) - 1
            self.x ^= self.x >> 27
            out += ((self.x * 0x2545F4914F6CDD1D) & (1 << 64) - 1).to_bytes(8, "little")
        return bytes(out[:n])

"""The documented differences between hmk's answers and Linux's, as the differential fuzzing
(hmk.fuzz.diff) meets them; `hmk syscalls` and docs/syscalls.md list them.

Three kinds:

- a call hmk does not implement (ENOSYS, listed as missing or ENOSYS on purpose by
  `hmk syscalls`): every disagreement of it is explained by that;
- a call qemu-aarch64 7.2 does not pass to Linux (QEMU_LACKS: it answers ENOSYS itself), so
  the differential run has no Linux answer for it; where hmk implements it, tests compare it
  with this machine's Linux natively (tests/linux_native.py) or with Linux's semantics;
- a documented difference of hmk's own (DIFFERENCES): a result hmk gives on purpose, or cannot
  give the same, and why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ENOSYS = "-38"


@cache
def host_has_rtc() -> bool:
    """Has this machine a real-time clock device (Linux's alarm timers need one)?"""
    return any(Path("/sys/class/rtc").glob("rtc*"))


@cache
def host_root_can_raise_limits() -> bool:
    """Has this process CAP_SYS_RESOURCE (a container's root may lack it)?"""
    try:
        status = Path(f"/proc/{os.getpid()}/status").read_text()
    except OSError:
        return True
    caps = next((line.split()[1] for line in status.splitlines() if line.startswith("CapEff")), "")
    return not caps or bool(int(caps, 16) >> 24 & 1)


@dataclass(frozen=True)
class Difference:
    call: str
    hmk: str  # hmk's result: "-ERRNO", a value, or "*" for any
    linux: str  # Linux's
    why: str
    args: Callable[[list[int]], bool] | None = None  # which calls (by their arguments)
    host: Callable[[], bool] | None = None  # when this machine is the reason
    when: str = ""  # the arguments or the machine it applies to, in words

    def applies(self, call: str, hmk: str, linux: str, args: list[int]) -> bool:
        return (
            self.call == call
            and self.hmk in ("*", hmk)
            and self.linux in ("*", linux)
            and (self.args is None or self.args(args))
            and (self.host is None or self.host())
        )


def _alarm_clock(args: list[int]) -> bool:
    return bool(args) and args[0] & 0xFFFFFFFF in (8, 9)  # CLOCK_{REALTIME,BOOTTIME}_ALARM


def _urgent(flags_at: int):
    return lambda args: len(args) > flags_at and bool(args[flags_at] & MSG_OOB)


MSG_OOB = 1


def _futex_unmodelled(args: list[int]) -> bool:
    return len(args) > 1 and args[1] & 0x7F in (3, 4, 5, 6, 7, 8, 11, 12, 13)


def _raw_inet(args: list[int]) -> bool:
    return len(args) > 1 and args[0] & 0xFFFFFFFF in (2, 10) and args[1] & 0xF == 3  # SOCK_RAW


def _flag(at: int, bit: int):
    return lambda args: len(args) > at and bool(args[at] & bit)


def _seek_data(args: list[int]) -> bool:
    return len(args) > 2 and args[2] & 0xFFFFFFFF in (3, 4)  # SEEK_DATA, SEEK_HOLE


def _nproc(at: int):  # RLIMIT_NPROC or RLIMIT_SIGPENDING (fork_init sets it the same)
    return lambda args: len(args) > at and args[at] & 0xFFFFFFFF in (6, 11)


def _hugetlb(at: int, bit: int):
    return lambda args: len(args) > at and bool(args[at] & bit)


# calls qemu-aarch64 7.2 answers ENOSYS itself (it has no translation for them), and where
# their Linux answers are checked instead (the differential run's reference is this
# machine's Linux natively, so none are met there)
QEMU_LACKS: dict[str, str] = {}

NO_RTC = (
    "Linux's alarm timers need an RTC: on a machine without one (a reference machine may be "
    "such) Linux refuses the alarm clocks (EINVAL, EOPNOTSUPP); hmk's machine has one"
)
NO_CAP_SYS_RESOURCE = (
    "a root without CAP_SYS_RESOURCE (a container's, as a reference machine's may be) cannot "
    "raise a hard limit (EPERM); hmk's root has every capability"
)
NO_RAW_SOCKETS = (
    "raw IP sockets (SOCK_RAW in AF_INET and AF_INET6, root's) are not modelled: hmk refuses "
    "to make one (ESOCKTNOSUPPORT)"
)
DENSE_FILES = (
    "a file is held whole in hmk (no holes), so a size or a write past its tmpfs's size (half "
    "the simulated RAM) has no room: ENOSPC, where Linux makes a sparse file"
)
FUTEX_COMMANDS = (
    "futex's requeue, wake-op and priority-inheritance commands are not modelled (ENOSYS)"
)
NO_URGENT_BYTE = (
    "an AF_UNIX stream's urgent byte (MSG_OOB, Linux 5.15's CONFIG_AF_UNIX_OOB) is not "
    "modelled: hmk refuses to send one (EOPNOTSUPP) and never has one to receive (EINVAL)"
)
NPROC_FROM_RAM = (
    "RLIMIT_NPROC and RLIMIT_SIGPENDING start at max_threads / 2, which Linux's fork_init "
    "derives from the RAM: "
    "hmk's machine (512 MiB by default) has 2,048, a reference machine with more RAM more, "
    "so a soft limit between the two fits on one only"
)
NO_HUGETLBFS = (
    "huge pages are not modelled: hmk answers as a kernel built without hugetlbfs "
    "(MAP_HUGETLB and MFD_HUGETLB are EINVAL), where a kernel with it makes the mapping or "
    "the file"
)
MACHINE_SIGPENDING = (
    "RLIMIT_SIGPENDING counts the signals pending and the POSIX timers of every process of the "
    "user on the machine (Linux's ucounts): a reference machine's other processes of the user "
    "(root's, there) hold some at times, so a lowered limit refuses a queued signal there "
    "(EAGAIN) sooner, and not every run alike"
)
CPUMASK_SIZE = (
    "sched_getaffinity copies cpumask_size() bytes: hmk's kernel has at most 16 CPUs (8 bytes, "
    "a long), a reference machine's distribution kernel is built for thousands "
    "(CONFIG_NR_CPUS), so a mask past the caller's memory faults there only"
)
MREMAP_FIXED = "mremap's MREMAP_FIXED (a move to a given address) is not modelled: EINVAL"
SMP_TIMING = (
    "hmk runs one core: a child that a signal kills, or that writes to a pipe, runs when the "
    "parent sleeps or is preempted, where Linux runs it at once on another core; so a wait or "
    "a read that Linux finds ready at once may wait in hmk until the fuzzer's 10 ms watchdog "
    "interrupts it (EINTR), and Linux's own answer varies run to run"
)
LEASES_KEPT = (
    "a file lease is granted and reported but never broken: an open that would break one goes "
    "on at once, where Linux sends the holder SIGIO and makes the opener wait (O_NONBLOCK: "
    "EWOULDBLOCK)"
)

DIFFERENCES: tuple[Difference, ...] = (
    *(
        Difference(
            call, "*", "*", NO_RTC, _alarm_clock, lambda: not host_has_rtc(),
            "CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, on a machine without an RTC",
        )
        for call in ("clock_gettime", "clock_getres", "clock_nanosleep", "timer_create")
    ),
    *(
        Difference(
            call, "*", "-1", NO_CAP_SYS_RESOURCE, None, lambda: not host_root_can_raise_limits(),
            "a hard limit raised, on a machine whose root lacks CAP_SYS_RESOURCE",
        )
        for call in ("setrlimit", "prlimit64")
    ),
    *(
        Difference(call, "-94", "*", NO_RAW_SOCKETS, _raw_inet, None, "SOCK_RAW, AF_INET(6)")
        for call in ("socket", "socketpair")
    ),
    Difference("lseek", "*", "-6", DENSE_FILES, _seek_data, None, "SEEK_DATA, SEEK_HOLE"),
    Difference("sched_getaffinity", "*", "-14", CPUMASK_SIZE, None, None, "a mask near a fault"),
    Difference("mremap", "-22", "*", MREMAP_FIXED, _flag(3, 2), None, "MREMAP_FIXED"),
    *(
        Difference(call, "-4", "*", SMP_TIMING, None, None, "waiting on another process")
        for call in ("wait4", "waitid", "read", "readv", "ppoll", "pselect6", "epoll_pwait")
    ),
    *(
        Difference(call, "-28", "*", DENSE_FILES, None, None, "a huge size or offset")
        for call in ("truncate", "ftruncate", "fallocate", "write", "pwrite64", "pwritev",
                     "pwritev2", "writev", "copy_file_range", "sendfile", "splice")
    ),
    Difference("prlimit64", "*", "*", NPROC_FROM_RAM, _nproc(1), None,
               "RLIMIT_NPROC, RLIMIT_SIGPENDING"),
    Difference("setrlimit", "*", "*", NPROC_FROM_RAM, _nproc(0), None,
               "RLIMIT_NPROC, RLIMIT_SIGPENDING"),
    Difference("mmap", "-22", "*", NO_HUGETLBFS, _hugetlb(3, 0x40000), None, "MAP_HUGETLB"),
    Difference("memfd_create", "-22", "*", NO_HUGETLBFS, _hugetlb(1, 0x4), None, "MFD_HUGETLB"),
    *(
        Difference(call, "*", "-11", MACHINE_SIGPENDING, None, None, "a lowered RLIMIT_SIGPENDING")
        for call in ("tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                     "pidfd_send_signal", "timer_create")
    ),
    *(
        Difference(call, "*", "-11", LEASES_KEPT, None, None, "a file another holds a lease on")
        for call in ("openat", "openat2")
    ),
    Difference("futex", "-38", "*", FUTEX_COMMANDS, _futex_unmodelled, None,
               "FUTEX_REQUEUE, _CMP_REQUEUE, _WAKE_OP, the _PI commands"),
    *(
        Difference(call, "-95", "*", NO_URGENT_BYTE, _urgent(at), None, "with MSG_OOB")
        for call, at in (("sendto", 3), ("sendmsg", 2), ("sendmmsg", 3))
    ),
)  # fmt: skip


def listing() -> list[tuple[str, str, str]]:
    """The documented differences as `hmk syscalls` lists them: (calls, when, why)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for d in DIFFERENCES:
        groups.setdefault((d.when, d.why), []).append(d.call)
    rows = [(", ".join(calls), when, why) for (when, why), calls in groups.items()]
    rows.append((", ".join(sorted(FILE_CALLS)), "made with ids that are not root's", UNPRIVILEGED))
    rows += [(call, "", f"qemu-aarch64 lacks it: {why}") for call, why in QEMU_LACKS.items()]
    return rows


@cache
def _unimplemented() -> frozenset[str]:
    """The calls no service and not the shim answers (ENOSYS), as `hmk syscalls` lists them."""
    from hmk.linux.shimcalls import ShimCalls  # noqa: PLC0415  (the services load only here)
    from hmk.linux.syscalls import SHIM, SyscallTable  # noqa: PLC0415
    from hmk.services import registry  # noqa: PLC0415

    table = SyscallTable({SHIM: ShimCalls, **{cls.name: cls for cls in registry.SERVICES}})
    return frozenset(row.name for row in table if row.handler is None)


# the calls whose answers depend on file permissions
FILE_CALLS = frozenset(
    [
        "openat",
        "openat2",
        "mkdirat",
        "mknodat",
        "unlinkat",
        "symlinkat",
        "linkat",
        "renameat",
        "renameat2",
        "truncate",
        "fchmodat",
        "fchmodat2",
        "fchownat",
        "fchmod",
        "fchown",
        "faccessat",
        "faccessat2",
        "utimensat",
        "chdir",
        "fchdir",
        "newfstatat",
        "statx",
        "statfs",
        "readlinkat",
        "execve",
        "execveat",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "inotify_add_watch",
        "name_to_handle_at",
        "bind",
        "connect",
        "getcwd",
        "memfd_create",
    ]
)
UNPRIVILEGED = (
    "hmk's file manager checks no permission bits (every file is the caller's: "
    "docs/services.md); Linux refuses a caller whose ids are no longer root's"
)


def explain(call: str, hmk: str, linux: str, args: str = "") -> str | None:
    """Why hmk's result `hmk` of `call` differs from Linux's `linux`, if that is documented.
    A result ends with " u" when the call was made with ids that were not root's."""
    if hmk.endswith(" u") != linux.endswith(" u"):
        return None  # the runs' credentials differ
    if linux.endswith(" u"):
        hmk, linux = hmk[:-2], linux[:-2]
        if call in FILE_CALLS and linux in ("-13", "-1"):
            return UNPRIVILEGED
    if call in _unimplemented() or call.startswith("nosys_"):
        return "hmk does not implement it (ENOSYS)"
    if linux == ENOSYS and call in QEMU_LACKS:
        return f"qemu-aarch64 lacks it: {QEMU_LACKS[call]}"
    numbers = _numbers(args)
    return next((d.why for d in DIFFERENCES if d.applies(call, hmk, linux, numbers)), None)


def _numbers(args: str) -> list[int]:
    """A call's arguments as the fuzzer prints them ("0x8, 0, ...")."""
    try:
        return [int(a, 0) for a in args.split(",") if a.strip()]
    except ValueError:
        return []

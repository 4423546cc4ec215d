"""AArch64 Linux syscall numbers (the asm-generic table) and how --strace shows arguments.

ARGS gives, per call, the kinds of its arguments: d decimal, x hex, s a C string in user memory,
p a pointer (hex). Calls without an entry show six hex arguments.
"""

TABLE = {
    17: ("getcwd", "pd"),
    23: ("dup", "d"),
    24: ("dup3", "ddx"),
    25: ("fcntl", "ddx"),
    29: ("ioctl", "dxp"),
    34: ("mkdirat", "dsx"),
    35: ("unlinkat", "dsx"),
    38: ("renameat", "dsds"),
    46: ("ftruncate", "dd"),
    48: ("faccessat", "dsx"),
    49: ("chdir", "s"),
    50: ("fchdir", "d"),
    56: ("openat", "dsxx"),
    57: ("close", "d"),
    59: ("pipe2", "px"),
    61: ("getdents64", "dpd"),
    62: ("lseek", "ddd"),
    63: ("read", "dpd"),
    64: ("write", "dpd"),
    65: ("readv", "dpd"),
    66: ("writev", "dpd"),
    67: ("pread64", "dpdd"),
    68: ("pwrite64", "dpdd"),
    73: ("ppoll", "pdpp"),
    78: ("readlinkat", "dspd"),
    79: ("newfstatat", "dspx"),
    80: ("fstat", "dp"),
    82: ("fsync", "d"),
    83: ("fdatasync", "d"),
    93: ("exit", "d"),
    94: ("exit_group", "d"),
    96: ("set_tid_address", "p"),
    98: ("futex", "pxdppd"),
    95: ("waitid", "ddpxp"),
    99: ("set_robust_list", "pd"),
    101: ("nanosleep", "pp"),
    113: ("clock_gettime", "dp"),
    115: ("clock_nanosleep", "dxpp"),
    124: ("sched_yield", ""),
    129: ("kill", "dd"),
    130: ("tkill", "dd"),
    131: ("tgkill", "ddd"),
    134: ("rt_sigaction", "dppd"),
    135: ("rt_sigprocmask", "dppd"),
    139: ("rt_sigreturn", ""),
    143: ("setregid", "dd"),
    144: ("setgid", "d"),
    145: ("setreuid", "dd"),
    146: ("setuid", "d"),
    147: ("setresuid", "ddd"),
    148: ("getresuid", "ppp"),
    149: ("setresgid", "ddd"),
    150: ("getresgid", "ppp"),
    153: ("times", "p"),
    154: ("setpgid", "dd"),
    155: ("getpgid", "d"),
    156: ("getsid", "d"),
    157: ("setsid", ""),
    158: ("getgroups", "dp"),
    159: ("setgroups", "dp"),
    160: ("uname", "p"),
    163: ("getrlimit", "dp"),
    164: ("setrlimit", "dp"),
    165: ("getrusage", "dp"),
    166: ("umask", "x"),
    167: ("prctl", "dxxxx"),
    169: ("gettimeofday", "pp"),
    172: ("getpid", ""),
    173: ("getppid", ""),
    174: ("getuid", ""),
    175: ("geteuid", ""),
    176: ("getgid", ""),
    177: ("getegid", ""),
    178: ("gettid", ""),
    179: ("sysinfo", "p"),
    214: ("brk", "p"),
    215: ("munmap", "px"),
    216: ("mremap", "pxxxp"),
    220: ("clone", "xppxp"),
    221: ("execve", "spp"),
    222: ("mmap", "pxxxdx"),
    226: ("mprotect", "pxx"),
    227: ("msync", "pxx"),
    233: ("madvise", "pxd"),
    260: ("wait4", "dpxp"),
    261: ("prlimit64", "ddpp"),
    276: ("renameat2", "dsdsx"),
    278: ("getrandom", "pdx"),
    279: ("memfd_create", "sx"),
    291: ("statx", "dsxxp"),
    293: ("rseq", "pdxx"),
    435: ("clone3", "pd"),
    439: ("faccessat2", "dsxx"),
}
AT_FDCWD = -100


def signed(value: int) -> int:
    """A 64-bit register as a signed value (an off_t, a length, a result)."""
    return value - (1 << 64) if value >> 63 else value


ERESTARTSYS = -512  # Linux's: the call blocked; the SVC runs again when the thread wakes
NAMES = {nr: name for nr, (name, _) in TABLE.items()}
ARGS = {nr: kinds for nr, (_, kinds) in TABLE.items()}


def format_call(record, read_cstring, pid: int = 1) -> str:
    """`pid name(arg, ...) = result` like qemu-aarch64 -strace; read_cstring(va) -> bytes|None."""
    kinds = ARGS.get(record.number, "xxxxxx")
    shown = []
    for i, (kind, value) in enumerate(zip(kinds, record.args, strict=False)):
        as_int = signed(value)
        if i == 0 and as_int == AT_FDCWD and record.name.endswith("at"):
            shown.append("AT_FDCWD")
        elif kind == "d":
            shown.append(str(as_int))
        elif kind in "ps" and value == 0:
            shown.append("NULL")
        elif kind == "s":
            entry = getattr(record, "strings", None) or {}
            text = entry[value] if value in entry else read_cstring(value)
            shown.append(f'"{text.decode(errors="replace")}"' if text is not None else hex(value))
        else:
            shown.append(hex(value))
    result = 0 if record.result is None else record.result  # None: execve replaced the image
    if result == ERESTARTSYS:  # a handler interrupted it; it goes on after (SA_RESTART)
        tail = "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
    elif -4095 <= result < 0:
        import errno
        import os

        tail = f"-1 errno={-result} ({os.strerror(-result)})"
        tail = tail if -result in errno.errorcode else f"{result}"
    else:
        tail = hex(result) if kinds[:1] == "p" and record.name in ("brk", "mmap") else str(result)
    return f"{pid} {record.name}({','.join(shown)}) = {tail}"

"""The Linux user API's numbers, as AArch64 Linux defines them: one module, importing nothing.

Everything hmk's Linux layer and its services put in registers or guest memory comes from here:
error numbers (include/uapi/asm-generic/errno-base.h and errno.h), file flags and *at() flags
(asm-generic/fcntl.h, linux/fcntl.h), memory-mapping flags (asm-generic/mman-common.h, mman.h),
clone, futex and wait flags (linux/sched.h, linux/futex.h, linux/wait.h), signal numbers and
sigaction flags (asm-generic/signal.h), clocks (linux/time.h), poll events, statx, and the ioctl
requests hmk's devices answer. The values are the target's, never the host's (Python's errno,
os and signal modules give the host's: O_DIRECTORY differs on x86-64, ENOSYS on macOS).
"""

# ---- error numbers (asm-generic/errno-base.h, errno.h); a syscall returns -E...
EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
ENXIO = 6
E2BIG = 7
ENOEXEC = 8
EBADF = 9
ECHILD = 10
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
ENOTBLK = 15
EBUSY = 16
EEXIST = 17
EXDEV = 18
ENODEV = 19
ENOTDIR = 20
EISDIR = 21
EINVAL = 22
ENFILE = 23
EMFILE = 24
ENOTTY = 25
ETXTBSY = 26
EFBIG = 27
ENOSPC = 28
ESPIPE = 29
EROFS = 30
EMLINK = 31
EPIPE = 32
EDOM = 33
ERANGE = 34
EDEADLK = 35
ENAMETOOLONG = 36
ENOLCK = 37
ENOSYS = 38
ENOTEMPTY = 39
ELOOP = 40
ENOMSG = 42
EIDRM = 43
ECHRNG = 44
EL2NSYNC = 45
EL3HLT = 46
EL3RST = 47
ELNRNG = 48
EUNATCH = 49
ENOCSI = 50
EL2HLT = 51
EBADE = 52
EBADR = 53
EXFULL = 54
ENOANO = 55
EBADRQC = 56
EBADSLT = 57
EBFONT = 59
ENOSTR = 60
ENODATA = 61
ETIME = 62
ENOSR = 63
ENONET = 64
ENOPKG = 65
EREMOTE = 66
ENOLINK = 67
EADV = 68
ESRMNT = 69
ECOMM = 70
EPROTO = 71
EMULTIHOP = 72
EDOTDOT = 73
EBADMSG = 74
EOVERFLOW = 75
ENOTUNIQ = 76
EBADFD = 77
EREMCHG = 78
ELIBACC = 79
ELIBBAD = 80
ELIBSCN = 81
ELIBMAX = 82
ELIBEXEC = 83
EILSEQ = 84
ERESTART = 85
ESTRPIPE = 86
EUSERS = 87
ENOTSOCK = 88
EDESTADDRREQ = 89
EMSGSIZE = 90
EPROTOTYPE = 91
ENOPROTOOPT = 92
EPROTONOSUPPORT = 93
ESOCKTNOSUPPORT = 94
EOPNOTSUPP = 95
EPFNOSUPPORT = 96
EAFNOSUPPORT = 97
EADDRINUSE = 98
EADDRNOTAVAIL = 99
ENETDOWN = 100
ENETUNREACH = 101
ENETRESET = 102
ECONNABORTED = 103
ECONNRESET = 104
ENOBUFS = 105
EISCONN = 106
ENOTCONN = 107
ESHUTDOWN = 108
ETOOMANYREFS = 109
ETIMEDOUT = 110
ECONNREFUSED = 111
EHOSTDOWN = 112
EHOSTUNREACH = 113
EALREADY = 114
EINPROGRESS = 115
ESTALE = 116
EUCLEAN = 117
ENOTNAM = 118
ENAVAIL = 119
EISNAM = 120
EREMOTEIO = 121
EDQUOT = 122
ENOMEDIUM = 123
EMEDIUMTYPE = 124
ECANCELED = 125
ENOKEY = 126
EKEYEXPIRED = 127
EKEYREVOKED = 128
EKEYREJECTED = 129
EOWNERDEAD = 130
ENOTRECOVERABLE = 131
ERFKILL = 132
EHWPOISON = 133

EWOULDBLOCK = EAGAIN
EDEADLOCK = EDEADLK
ENOTSUP = EOPNOTSUPP
ERRNO_NAMES = {v: k for k, v in dict(globals()).items() if k[:1] == "E" and isinstance(v, int)}
ERRNO_NAMES.update({EAGAIN: "EAGAIN", EDEADLK: "EDEADLK", EOPNOTSUPP: "EOPNOTSUPP"})
# the kernel's own, never seen by a program: the call blocked, and its SVC runs again when the
# thread wakes (or a signal handler decides: include/linux/errno.h)
ERESTARTSYS = 512
MAX_ERRNO = 4095  # a result in [-4095, -1] is an error (include/linux/err.h)

# ---- files: open flags (asm-generic/fcntl.h) and fcntl commands
O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND = 0o100, 0o200, 0o400, 0o1000, 0o2000
O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC = 0o4000, 0o40000, 0o100000, 0o2000000
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
FD_CLOEXEC = 1
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
# the *at() calls (linux/fcntl.h)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_NO_AUTOMOUNT, AT_EMPTY_PATH = 0x100, 0x200, 0x800, 0x1000
AT_SYMLINK_FOLLOW = 0x400
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2  # utimensat's special tv_nsec values
AT_EACCESS = 0x200  # faccessat2's: the effective ids (the value AT_REMOVEDIR has for unlinkat)
AT_STATX_SYNC_TYPE = 0x6000
STATX_BASIC_STATS, STATX_RESERVED = 0x7FF, 0x80000000
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND = 0x40, 0x80, 0x100, 0x200
POLLMSG, POLLRDHUP = 0x400, 0x2000
NOFILE = 1024  # RLIMIT_NOFILE's default soft limit
MAX_RW_COUNT = 0x7FFFF000  # the most one read or write moves (INT_MAX rounded down to a page)
PIPE_BUF_BYTES = 65536  # a pipe's capacity: 16 pages (include/linux/pipe_fs_i.h)
PATH_MAX, NAME_MAX = 4096, 255
# memfd_create's flags (include/uapi/linux/memfd.h) and its name's limit (249: NAME_MAX less
# the "memfd:" prefix)
MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 1, 2, 4, 8, 0x10
MFD_NAME_MAX = 249
MLOCK_ONFAULT = 1  # mlock2's flag
# event files: eventfd's, timerfd's and signalfd's flags (linux/eventfd.h, timerfd.h: their
# CLOEXEC and NONBLOCK are O_CLOEXEC and O_NONBLOCK), epoll's (linux/eventpoll.h: its events are
# poll's, above, and these)
EFD_SEMAPHORE = 1
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 29, 1 << 30, 1 << 31
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4  # mlockall's flags

# ---- memory (asm-generic/mman-common.h, mman.h)
PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x10, 0x20, 0x100000
# the flags MAP_SHARED_VALIDATE accepts: LEGACY_MAP_MASK (growsdown, denywrite, executable,
# locked, norserve, populate, nonblock, stack, hugetlb) and the validated ones hmk knows
MAP_KNOWN = 0x3 | MAP_FIXED | MAP_ANONYMOUS | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000
MAP_KNOWN |= 0x10000 | 0x20000 | 0x40000 | MAP_FIXED_NOREPLACE
MREMAP_MAYMOVE = 1
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4

# ---- processes and threads (linux/sched.h, linux/wait.h, linux/futex.h, linux/resource.h)
CSIGNAL = 0xFF  # clone's low byte: the signal sent to the parent when the child exits
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS = 0x4000, 0x10000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x01000000
WAIT_ALSO = 0x20000000 | 0x40000000 | 0x80000000  # __WNOTHREAD, __WALL, __WCLONE
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 0, 1, 9, 10
FUTEX_CMD_MASK = 0x7F  # the command without FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME
FUTEX_CLOCK_REALTIME = 256
FUTEX_PRIVATE_FLAG = 128
FUTEX_32, FUTEX_WAITV_MAX = 2, 128  # futex_waitv: a waiter's size flag; waiters at most
RLIMIT_STACK, RLIM_NLIMITS = 3, 16
RLIM_INFINITY = (1 << 64) - 1
NGROUPS_MAX = 65536

# ---- signals (asm-generic/signal.h, siginfo.h)
SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM = 9, 10, 11, 12, 13, 14, 15
SIGCHLD, SIGCONT, SIGSTOP, SIGURG, SIGWINCH = 17, 18, 19, 23, 28
SIGVTALRM, SIGPROF = 26, 27
NSIG = 64
SIG_DFL, SIG_IGN = 0, 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SA_SIGINFO, SA_RESTORER, SA_RESTART = 4, 0x04000000, 0x10000000
SA_NODEFER, SA_RESETHAND = 0x40000000, 0x80000000
SA_ONSTACK = 0x08000000
SI_QUEUE, SI_TKILL = -1, -6
SI_USER, SEGV_MAPERR, CLD_EXITED, CLD_KILLED = 0, 1, 1, 2

# ---- time (linux/time.h)
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW = 0, 1, 4
CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 5, 6, 7
CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 2, 3
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
TIMER_ABSTIME = 1

# ---- ioctl requests hmk's devices answer
BLKGETSIZE64 = 0x80081272  # linux/fs.h: a block device's size in bytes
RTC_RD_TIME = 0x80247009  # linux/rtc.h: the real-time clock's struct rtc_time


def shell_status(wait_status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal that killed."""
    signaled = wait_status & 0x7F
    return 128 + signaled if signaled else wait_status >> 8 & 0xFF


RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2

/* sysfuzz: seeded random system calls, for `hmk fuzz syscalls` (hmk/fuzz/).
 *
 * usage: sysfuzz SEED CALLS [MODE [DIR [ONLY]]]
 *
 *   SEED   the PRNG's seed; the same seed makes the same calls with the same arguments
 *   CALLS  how many calls to make
 *   MODE   quiet (default): one summary line at the end;
 *          verbose: one line per call, "#I NR NAME(ARG, ...) = RESULT", the result as the
 *          kernel returned it (-errno on an error), written before the next call (for replay);
 *          safe: the safe subset only (below), one line per call, the result reduced to what
 *          two Linux kernels must agree on: a value where it is deterministic, else "ok", and
 *          -errno on an error (the differential comparison with Linux, hmk/fuzz/diff.py)
 *          table: the call table, one line per row, "NR NAME KINDS FLAGS" (FLAGS of "SVFDM":
 *          safe, value, descriptor, denied, mapping), and nothing else (SEED and CALLS unused)
 *   DIR    where its scratch directory (DIR/sysfuzz.XXXXXX) goes (default /tmp)
 *   ONLY   a comma-separated list of call names to draw from (default: every call)
 *
 * Calls: every number of the AArch64 table (CALLS below, one row per number, checked against
 * hmk/linux/numbers.py by tests/test_fuzz.py) and a few numbers that are no call, except the
 * deny list (rows flagged D: calls that would end or wedge the run: exit, exit_group,
 * rt_sigreturn, reboot, kexec_load, kexec_file_load, ptrace). A few more are made only in
 * ways that cannot end or wedge it ("handled specially", prepare() below): clone, clone3
 * (fork-like children only: never CLONE_VM or CLONE_VFORK, never a fatal exit signal),
 * execve and execveat (only paths that cannot be executed), the kill family (never SIGKILL or
 * SIGSTOP to itself, never pid -1), rt_sigaction (the handlers and flags it installs are
 * harmless, and a signal that would kill or stop by default gets the fuzzer's handler back
 * after the call), setitimer (ITIMER_REAL is the watchdog below: re-armed after), prctl and
 * seccomp (no seccomp, no syscall user dispatch, no PR_SET_MM), setrlimit and prlimit64 (no
 * CPU or real-time limits), brk (never below where it started), mmap and mremap (fixed
 * addresses only inside the fuzzer's zone), madvise (no hardware poisoning), close_range (never
 * stdout or stderr), and copy counts (sendfile, splice, copy_file_range...) and file sizes
 * (truncate, fallocate) are bounded so that a run cannot fill memory.
 *
 * Arguments are drawn by kind (the letters of each row, gen() below): descriptors from a
 * pool of its own (files, directories, pipes, sockets, an eventfd, an epoll, a memfd, ...),
 * paths from a pool inside its scratch directory (and absolute ones outside the safe subset),
 * pointers into its arena (two writable pages at a fixed address, followed by a read-only
 * page, an inaccessible page and nothing), at the arena's edge, at hmk's and Linux's kernel
 * addresses, NULL; lengths small and huge; flags with random bits; structures (iovecs,
 * timespecs, signal sets, socket addresses, message headers...) built in the arena. The arena
 * is refilled before every call that gets a pointer into it, so what one call wrote never
 * becomes the next call's input.
 *
 * Children: it forks a few (fork-like clones), which sleep until killed, so that process calls
 * (kill, wait4, setpgid, prlimit64, process_vm_readv...) have targets.
 *
 * Blocking: a watchdog (ITIMER_REAL, every 10 ms, a SIGALRM handler without SA_RESTART)
 * interrupts any call that blocks; signal sets the fuzzer builds never block SIGALRM. Every
 * catchable signal has a handler that counts it.
 *
 * The safe subset (rows flagged S) is what can run on a real Linux machine, as root, without
 * harm to it and with results that do not depend on the machine: file calls inside the scratch
 * directory (no absolute path, no "..", no device nodes), descriptor and socket calls on its
 * own descriptors (AF_UNIX addresses only), memory calls on its own zone, credentials and
 * process calls on itself and its children, signals, timers and sleeps with times of zero or at
 * least 2^40 s (so a sleep either ends at once or is interrupted by the watchdog: no race).
 * Nor does it ask what depends on the machine: no alarm clock (they need an RTC), no hard
 * limit changed (a container's root lacks CAP_SYS_RESOURCE to raise one back).
 * It stays root there: a call that sets ids keeps root's among the saved ones (setuid and
 * setgid only to 0, setreuid's and setresuid's effective and saved ids 0 or unchanged, the
 * same for groups), and root's ids are taken back after it (hmk checks no file permissions,
 * so an unprivileged run's file calls could not be compared). Rows flagged V have results
 * whose value two kernels must agree on (counts, offsets, ids); others are compared as
 * success or -errno.
 *
 * Output: quiet mode prints "sysfuzz: seed=S calls=N mode=M done" at the end and exits 0; a
 * bad command line prints one line on stderr and exits 2. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <asm/unistd.h>
#include <dirent.h>
#include <linux/sched.h>
#include <stdarg.h>
#include <unistd.h>

#include "../src/common.h"

/* ---- memory the fuzzer points calls at (fixed addresses: the same on every kernel) ---- */
#define PAGE 4096UL
#define ARENA 0x4f00000000UL                 /* two writable pages */
#define ARENA_SIZE (2 * PAGE)
#define RO_PAGE (ARENA + ARENA_SIZE)          /* read-only: zeros, then 0x5a from RO_TEXT */
#define RO_TEXT (RO_PAGE + PAGE / 2)
#define NONE_PAGE (RO_PAGE + PAGE)            /* PROT_NONE */
#define UNMAPPED (NONE_PAGE + PAGE)           /* nothing mapped from here on */
#define ZONE 0x5000000000UL                   /* where memory calls map and unmap */
#define ZONE_PAGES 64
#define ZONE_SIZE (ZONE_PAGES * PAGE)
#define HMK_KERNEL 0xE00000001000UL           /* hmk's kernel heap, in every address space */
#define LINUX_KERNEL 0xffff800008000000UL     /* arm64 Linux's kernel half */
#define SIGALRM_BIT (1UL << (SIGALRM - 1))

/* ---- the table ---- */
enum {
    S = 1,  /* in the safe subset */
    V = 2,  /* the result's value is comparable (else only success or -errno) */
    F = 4,  /* returns a new descriptor */
    D = 8,  /* denied: never made */
    MAP = 16, /* returns a mapping's address */
};

struct call {
    short nr;
    const char *name;
    const char *kinds; /* one letter per argument: gen() */
    unsigned char flags;
};

/* Argument kinds:
 *  f descriptor          a directory descriptor   s path              b buffer pointer
 *  n size or count       N bounded copy count     x flags             i int
 *  o file offset         L file length (bounded)  M file mode         w small selector
 *  m zone address        z zone length            p pid               k signal target
 *  S signal (for k)      u uid or gid             c clock id          W timeout in ms
 *  t timespec*           T itimerspec*            U utimens pair*     v iovec*
 *  g sigset*             8 sigset size            A sigaction*        K sockaddr*
 *  l socklen             q socklen*               h msghdr*           y mmsghdr*
 *  e epoll_event*        P pollfd*                F fd_set*           G pselect6 mask*
 *  r rlimit resource     R rlimit*                I ioctl request     X xattr name
 *  Y socket domain       Z socket type            j loff_t*           E sigevent*
 *  H capability header*  O open flags             C clone flags       Q clone_args*
 *  B brk address         D futex_waitv*           * int or pointer    _ zero
 *  V open_how*           #  the size of the structure the previous argument points at */
static const struct call CALLS[] = {
    {0, "io_setup", "nb", S},
    {1, "io_destroy", "x", S},
    {2, "io_submit", "xnb", S},
    {3, "io_cancel", "xbb", S},
    {4, "io_getevents", "xnnbt", S},
    {5, "setxattr", "sXbnx", S},
    {6, "lsetxattr", "sXbnx", S},
    {7, "fsetxattr", "fXbnx", S},
    {8, "getxattr", "sXbn", S | V},
    {9, "lgetxattr", "sXbn", S | V},
    {10, "fgetxattr", "fXbn", S | V},
    {11, "listxattr", "sbn", S},
    {12, "llistxattr", "sbn", S},
    {13, "flistxattr", "fbn", S},
    {14, "removexattr", "sX", S},
    {15, "lremovexattr", "sX", S},
    {16, "fremovexattr", "fX", S},
    {17, "getcwd", "bn", S},
    {18, "lookup_dcookie", "xbn", S},
    {19, "eventfd2", "ix", S | F},
    {20, "epoll_create1", "x", S | F},
    {21, "epoll_ctl", "fwfe", S},
    {22, "epoll_pwait", "fbiWg8", S | V},
    {23, "dup", "f", S | F},
    {24, "dup3", "ffx", S | F},
    {25, "fcntl", "fw*", S},
    {26, "inotify_init1", "x", S | F},
    {27, "inotify_add_watch", "fsx", S | V},
    {28, "inotify_rm_watch", "fi", S},
    {29, "ioctl", "fI*", S},
    {30, "ioprio_set", "wpi", 0},
    {31, "ioprio_get", "wp", S},
    {32, "flock", "fx", S},
    {33, "mknodat", "asMi", S},
    {34, "mkdirat", "asM", S},
    {35, "unlinkat", "asx", S},
    {36, "symlinkat", "sas", S},
    {37, "linkat", "asasx", S},
    {38, "renameat", "asas", S},
    {39, "umount2", "sx", 0},
    {40, "mount", "sssxb", 0},
    {41, "pivot_root", "ss", 0},
    {42, "nfsservctl", "ibb", S},
    {43, "statfs", "sb", S},
    {44, "fstatfs", "fb", S},
    {45, "truncate", "sL", S},
    {46, "ftruncate", "fL", S},
    {47, "fallocate", "fxoL", S},
    {48, "faccessat", "asx", S | V},
    {49, "chdir", "s", S},
    {50, "fchdir", "f", S},
    {51, "chroot", "s", 0},
    {52, "fchmod", "fM", S},
    {53, "fchmodat", "asM", S},
    {54, "fchownat", "asuux", S},
    {55, "fchown", "fuu", S},
    {56, "openat", "asOM", S | F},
    {57, "close", "f", S},
    {58, "vhangup", "", 0},
    {59, "pipe2", "bx", S},
    {60, "quotactl", "xsib", 0},
    {61, "getdents64", "fbn", S},
    {62, "lseek", "fow", S | V},
    {63, "read", "fbn", S | V},
    {64, "write", "fbn", S | V},
    {65, "readv", "fvn", S | V},
    {66, "writev", "fvn", S | V},
    {67, "pread64", "fbno", S | V},
    {68, "pwrite64", "fbno", S | V},
    {69, "preadv", "fvno_", S | V},
    {70, "pwritev", "fvno_", S | V},
    {71, "sendfile", "ffjN", S | V},
    {72, "pselect6", "iFFFtG", S | V},
    {73, "ppoll", "Pntg8", S | V},
    {74, "signalfd4", "fg8x", S | F},
    {75, "vmsplice", "fvnx", S | V},
    {76, "splice", "fjfjNx", S | V},
    {77, "tee", "ffNx", S | V},
    {78, "readlinkat", "asbn", S | V},
    {79, "newfstatat", "asbx", S},
    {80, "fstat", "fb", S},
    {81, "sync", "", 0},
    {82, "fsync", "f", S},
    {83, "fdatasync", "f", S},
    {84, "sync_file_range", "foox", S},
    {85, "timerfd_create", "cx", S | F},
    {86, "timerfd_settime", "fxTb", S},
    {87, "timerfd_gettime", "fb", S},
    {88, "utimensat", "asUx", S},
    {89, "acct", "s", 0},
    {90, "capget", "Hb", S},
    {91, "capset", "Hb", 0},
    {92, "personality", "x", 0},
    {93, "exit", "i", D},
    {94, "exit_group", "i", D},
    {95, "waitid", "wpbxb", S},
    {96, "set_tid_address", "b", S},
    {97, "unshare", "x", 0},
    {98, "futex", "bxi*bi", S},
    {99, "set_robust_list", "bn", S},
    {100, "get_robust_list", "pbb", S},
    {101, "nanosleep", "tb", S},
    {102, "getitimer", "wb", S},
    {103, "setitimer", "wTb", S},
    {104, "kexec_load", "xnbx", D},
    {105, "init_module", "bns", 0},
    {106, "delete_module", "sx", 0},
    {107, "timer_create", "cEb", S},
    {108, "timer_gettime", "ib", S},
    {109, "timer_getoverrun", "i", S},
    {110, "timer_settime", "ixTb", S},
    {111, "timer_delete", "i", S},
    {112, "clock_settime", "cb", 0},
    {113, "clock_gettime", "cb", S},
    {114, "clock_getres", "cb", S},
    {115, "clock_nanosleep", "cxtb", S},
    {116, "syslog", "ibn", 0},
    {117, "ptrace", "ipbb", D},
    {118, "sched_setparam", "pb", 0},
    {119, "sched_setscheduler", "pib", 0},
    {120, "sched_getscheduler", "p", S | V},
    {121, "sched_getparam", "pb", S},
    {122, "sched_setaffinity", "pnb", 0},
    {123, "sched_getaffinity", "pnb", S},
    {124, "sched_yield", "", S | V},
    {125, "sched_get_priority_max", "i", S | V},
    {126, "sched_get_priority_min", "i", S | V},
    {127, "sched_rr_get_interval", "pb", S},
    {128, "restart_syscall", "", S},
    {129, "kill", "kS", S},
    {130, "tkill", "kS", S},
    {131, "tgkill", "kkS", S},
    {132, "sigaltstack", "bb", S},
    {133, "rt_sigsuspend", "g8", S},
    {134, "rt_sigaction", "SAb8", S},
    {135, "rt_sigprocmask", "wgb8", S},
    {136, "rt_sigpending", "b8", S},
    {137, "rt_sigtimedwait", "gbt8", S},
    {138, "rt_sigqueueinfo", "kSb", S},
    {139, "rt_sigreturn", "", D},
    {140, "setpriority", "wpi", S},
    {141, "getpriority", "wp", S | V},
    {142, "reboot", "xxxb", D},
    {143, "setregid", "uu", S},
    {144, "setgid", "u", S},
    {145, "setreuid", "uu", S},
    {146, "setuid", "u", S},
    {147, "setresuid", "uuu", S},
    {148, "getresuid", "bbb", S},
    {149, "setresgid", "uuu", S},
    {150, "getresgid", "bbb", S},
    {151, "setfsuid", "u", S | V},
    {152, "setfsgid", "u", S | V},
    {153, "times", "b", S},
    {154, "setpgid", "pp", S},
    {155, "getpgid", "p", S},
    {156, "getsid", "p", S},
    {157, "setsid", "", S},
    {158, "getgroups", "nb", S | V},
    {159, "setgroups", "nb", S},
    {160, "uname", "b", S},
    {161, "sethostname", "bn", 0},
    {162, "setdomainname", "bn", 0},
    {163, "getrlimit", "rb", S},
    {164, "setrlimit", "rR", S},
    {165, "getrusage", "wb", S},
    {166, "umask", "M", S | V},
    {167, "prctl", "wiiii", S},
    {168, "getcpu", "bbb", S},
    {169, "gettimeofday", "bb", S},
    {170, "settimeofday", "bb", 0},
    {171, "adjtimex", "b", 0},
    {172, "getpid", "", S},
    {173, "getppid", "", S},
    {174, "getuid", "", S | V},
    {175, "geteuid", "", S | V},
    {176, "getgid", "", S | V},
    {177, "getegid", "", S | V},
    {178, "gettid", "", S},
    {179, "sysinfo", "b", S},
    {180, "mq_open", "sxMb", 0},
    {181, "mq_unlink", "s", 0},
    {182, "mq_timedsend", "fbnit", 0},
    {183, "mq_timedreceive", "fbnbt", 0},
    {184, "mq_notify", "fE", 0},
    {185, "mq_getsetattr", "fbb", 0},
    {186, "msgget", "ix", 0},
    {187, "msgctl", "iwb", 0},
    {188, "msgrcv", "ibnix", 0},
    {189, "msgsnd", "ibnx", 0},
    {190, "semget", "iix", 0},
    {191, "semctl", "iiw*", 0},
    {192, "semtimedop", "ibnt", 0},
    {193, "semop", "ibn", 0},
    {194, "shmget", "izx", 0},
    {195, "shmctl", "iwb", 0},
    {196, "shmat", "imx", MAP},
    {197, "shmdt", "m", 0},
    {198, "socket", "YZi", S | F},
    {199, "socketpair", "YZib", S},
    {200, "bind", "fKl", S},
    {201, "listen", "fi", S},
    {202, "accept", "fbq", S | F},
    {203, "connect", "fKl", S},
    {204, "getsockname", "fbq", S},
    {205, "getpeername", "fbq", S},
    {206, "sendto", "fbnxKl", S | V},
    {207, "recvfrom", "fbnxbq", S | V},
    {208, "setsockopt", "fwibl", S},
    {209, "getsockopt", "fwibq", S},
    {210, "shutdown", "fw", S},
    {211, "sendmsg", "fhx", S | V},
    {212, "recvmsg", "fhx", S | V},
    {213, "readahead", "fon", S},
    {214, "brk", "B", S},
    {215, "munmap", "mz", S},
    {216, "mremap", "mzzxm", S | MAP},
    {217, "add_key", "ssbni", 0},
    {218, "request_key", "sssi", 0},
    {219, "keyctl", "wiiii", 0},
    {220, "clone", "Cbbbb", S},
    {221, "execve", "sbb", S},
    {222, "mmap", "mzxxfo", S | MAP},
    {223, "fadvise64", "fooi", S},
    {224, "swapon", "sx", 0},
    {225, "swapoff", "s", 0},
    {226, "mprotect", "mzx", S},
    {227, "msync", "mzx", S},
    {228, "mlock", "mz", S},
    {229, "munlock", "mz", S},
    {230, "mlockall", "x", 0},
    {231, "munlockall", "", S},
    {232, "mincore", "mzb", S},
    {233, "madvise", "mzi", S},
    {234, "remap_file_pages", "mzxix", S},
    {235, "mbind", "mzwbnx", 0},
    {236, "get_mempolicy", "bbnmx", 0},
    {237, "set_mempolicy", "wbn", 0},
    {238, "migrate_pages", "pnbb", 0},
    {239, "move_pages", "pnbbbx", 0},
    {240, "rt_tgsigqueueinfo", "kkSb", S},
    {241, "perf_event_open", "bpiix", 0},
    {242, "accept4", "fbqx", S | F},
    {243, "recvmmsg", "fynxt", S | V},
    {260, "wait4", "pbxb", S},
    {261, "prlimit64", "prRb", S},
    {262, "fanotify_init", "xx", 0},
    {263, "fanotify_mark", "fxxas", 0},
    {264, "name_to_handle_at", "asbbx", S},
    {265, "open_by_handle_at", "fbx", 0},
    {266, "clock_adjtime", "cb", 0},
    {267, "syncfs", "f", S},
    {268, "setns", "fx", 0},
    {269, "sendmmsg", "fynx", S | V},
    {270, "process_vm_readv", "pvnvnx", S | V},
    {271, "process_vm_writev", "pvnvnx", S | V},
    {272, "kcmp", "ppwii", 0},
    {273, "finit_module", "fsx", 0},
    {274, "sched_setattr", "pbx", 0},
    {275, "sched_getattr", "pbnx", S},
    {276, "renameat2", "asasx", S},
    {277, "seccomp", "wxb", 0},
    {278, "getrandom", "bnx", S | V},
    {279, "memfd_create", "Xx", S | F},
    {280, "bpf", "wbn", 0},
    {281, "execveat", "asbbx", S},
    {282, "userfaultfd", "x", S | F},
    {283, "membarrier", "xxi", S},
    {284, "mlock2", "mzx", S},
    {285, "copy_file_range", "fjfjNx", S | V},
    {286, "preadv2", "fvno_x", S | V},
    {287, "pwritev2", "fvno_x", S | V},
    {288, "pkey_mprotect", "mzxi", S},
    {289, "pkey_alloc", "xx", S},
    {290, "pkey_free", "i", S},
    {291, "statx", "asxxb", S},
    {292, "io_pgetevents", "xnnbtb", S},
    {293, "rseq", "bnxx", S},
    {294, "kexec_file_load", "ffnsx", D},
    {424, "pidfd_send_signal", "fSbx", S},
    {425, "io_uring_setup", "nb", 0},
    {426, "io_uring_enter", "fnnxbn", 0},
    {427, "io_uring_register", "fwbn", 0},
    {428, "open_tree", "asx", 0},
    {429, "move_mount", "asasx", 0},
    {430, "fsopen", "sx", 0},
    {431, "fsconfig", "fwsbi", 0},
    {432, "fsmount", "fxx", 0},
    {433, "fspick", "asx", 0},
    {434, "pidfd_open", "px", S | F},
    {435, "clone3", "Q#", S},
    {436, "close_range", "iix", S},
    {437, "openat2", "asV#", S | F},
    {438, "pidfd_getfd", "ffx", S | F},
    {439, "faccessat2", "asxx", S | V},
    {440, "process_madvise", "fvnix", 0},
    {441, "epoll_pwait2", "fbitg8", S | V},
    {442, "mount_setattr", "asxbn", 0},
    {443, "quotactl_fd", "fxib", 0},
    {444, "landlock_create_ruleset", "bnx", 0},
    {445, "landlock_add_rule", "fwbx", 0},
    {446, "landlock_restrict_self", "fx", 0},
    {447, "memfd_secret", "x", S | F},
    {448, "process_mrelease", "fx", S},
    {449, "futex_waitv", "Dnxtc", S},
    {450, "set_mempolicy_home_node", "mzix", 0},
    {451, "cachestat", "fbbx", S},
    {452, "fchmodat2", "asMx", S},
    {453, "map_shadow_stack", "mzx", S | MAP},
    {454, "futex_wake", "bxix", S},
    {455, "futex_wait", "bxixtc", S},
    {456, "futex_requeue", "bxii", S},
    {457, "statmount", "bbnx", 0},
    {458, "listmount", "bbnx", 0},
    {459, "lsm_get_self_attr", "wbbx", 0},
    {460, "lsm_set_self_attr", "wbnx", 0},
    {461, "lsm_list_modules", "bbx", 0},
    {462, "mseal", "mzx", 0},
    {463, "setxattrat", "asxXbn", S},
    {464, "getxattrat", "asxXbn", S},
    {465, "listxattrat", "asxbn", S},
    {466, "removexattrat", "asxX", S},
    {467, "open_tree_attr", "asxbn", 0},
    {468, "file_getattr", "asbnx", S},
    {469, "file_setattr", "asbnx", 0},
    {470, "listns", "bbnx", S},
    {471, "rseq_slice_yield", "", S},
    /* numbers that are no call on arm64 (ENOSYS): the architecture-specific slots, a
     * number past the table, one far past it */
    {244, "nosys_244", "iiiiii", S},
    {300, "nosys_300", "iiiiii", S},
    {1024, "nosys_1024", "iiiiii", S},
};
#define NCALLS ((int)(sizeof(CALLS) / sizeof(CALLS[0])))

/* the arm64 numbers of the calls handled specially (the table's numbers are arm64's) */
enum {
    A_brk = 214,
    A_map_shadow_stack = 453,
    A_pidfd_send_signal = 424,
    A_process_madvise = 440,
    A_seccomp = 277,
    A_clock_getres = 114,
    A_clock_gettime = 113,
    A_clock_nanosleep = 115,
    A_clone = 220,
    A_clone3 = 435,
    A_close_range = 436,
    A_execve = 221,
    A_execveat = 281,
    A_fcntl = 25,
    A_getpriority = 141,
    A_getrandom = 278,
    A_io_uring_setup = 425,
    A_kill = 129,
    A_madvise = 233,
    A_mknodat = 33,
    A_mmap = 222,
    A_mremap = 216,
    A_openat2 = 437,
    A_pipe2 = 59,
    A_prctl = 167,
    A_prlimit64 = 261,
    A_pselect6 = 72,
    A_rt_sigaction = 134,
    A_rt_sigqueueinfo = 138,
    A_rt_tgsigqueueinfo = 240,
    A_setitimer = 103,
    A_setfsgid = 152,
    A_setfsuid = 151,
    A_setgid = 144,
    A_setregid = 143,
    A_setresgid = 149,
    A_setresuid = 147,
    A_setreuid = 145,
    A_setuid = 146,
    A_setpriority = 140,
    A_setrlimit = 164,
    A_socketpair = 199,
    A_symlinkat = 36,
    A_tgkill = 131,
    A_timer_create = 107,
    A_timer_settime = 110,
    A_timerfd_create = 85,
    A_timerfd_settime = 86,
    A_tkill = 130,
};

/* ---- state ---- */
static uint64_t rng;
static int safe, verbose;
static uint64_t call_index;
static long self_pid;
static unsigned long initial_brk;
static char scratch[256];
static const struct call *active[NCALLS];
static int nactive;

#define NFDS 24
static int fds[NFDS];
static long timers_made = 31; /* the highest POSIX timer id seen (reset deletes up to it) */
#define NKIDS 4
static long kids[NKIDS];
#define NMAPS 8
static unsigned long maps[NMAPS], map_lens[NMAPS];

static volatile unsigned long signals_seen;
static int unprivileged; /* its file-system or effective ids are not root's any more */
static struct rlimit initial_limits[RLIM_NLIMITS];

__attribute__((noreturn, used)) void sysfuzz_child(void);
void sysfuzz_handler(int sig, siginfo_t *info, void *context);

/* ---- raw calls: the kernel's own return value, no errno ----
 *
 * The fuzzer is an AArch64 program; it also builds for x86-64 (`cc -static`), so that this
 * machine's Linux can answer the safe subset natively (hmk/fuzz/diff.py): the table's numbers
 * and the arguments it prints stay arm64's, and just before a call native() turns them into
 * x86-64's where the two ABIs differ (the call's number, open flags, clone's argument order,
 * a signal handler's restorer). */
#if defined(__aarch64__)
static long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x3 __asm__("x3") = a3;
    register long x4 __asm__("x4") = a4;
    register long x5 __asm__("x5") = a5;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory", "cc");
    return x0;
}

/* clone or clone3: the child (result 0) goes straight to sysfuzz_child, on whatever stack
 * the kernel gave it, and never returns here */
static long spawn6(long nr, long a0, long a1, long a2, long a3, long a4)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x3 __asm__("x3") = a3;
    register long x4 __asm__("x4") = a4;
    __asm__ volatile("svc #0\n\t"
                     "cbnz x0, 1f\n\t"
                     "b sysfuzz_child\n"
                     "1:"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory", "cc");
    return x0;
}

static long native_nr(int nr) { return nr; }
#define NATIVE 0
#elif defined(__x86_64__)
static long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    long r = nr;
    __asm__ volatile("syscall"
                     : "+a"(r)
                     : "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory", "cc");
    return r;
}

static long spawn6(long nr, long a0, long a1, long a2, long a3, long a4)
{
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    long r = nr;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "and $-16, %%rsp\n\t"
                     "call sysfuzz_child\n"
                     "1:"
                     : "+a"(r)
                     : "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory", "cc");
    return r;
}

/* x86-64 has no signal-return trampoline of the kernel's: a handler needs SA_RESTORER */
void sysfuzz_restorer(void);
__asm__(".text\n"
        "sysfuzz_restorer:\n\t"
        "mov $15, %eax\n\t" /* rt_sigreturn */
        "syscall\n");

/* 1 + the x86-64 number of each arm64 number below 424 (from 424 on they are the same) */
static const short X86_NR[424] = {
    [0] = __NR_io_setup + 1, [1] = __NR_io_destroy + 1, [2] = __NR_io_submit + 1, [3] = __NR_io_cancel + 1,
    [4] = __NR_io_getevents + 1, [5] = __NR_setxattr + 1, [6] = __NR_lsetxattr + 1, [7] = __NR_fsetxattr + 1,
    [8] = __NR_getxattr + 1, [9] = __NR_lgetxattr + 1, [10] = __NR_fgetxattr + 1, [11] = __NR_listxattr + 1,
    [12] = __NR_llistxattr + 1, [13] = __NR_flistxattr + 1, [14] = __NR_removexattr + 1,
    [15] = __NR_lremovexattr + 1, [16] = __NR_fremovexattr + 1, [17] = __NR_getcwd + 1,
    [18] = __NR_lookup_dcookie + 1, [19] = __NR_eventfd2 + 1, [20] = __NR_epoll_create1 + 1,
    [21] = __NR_epoll_ctl + 1, [22] = __NR_epoll_pwait + 1, [23] = __NR_dup + 1, [24] = __NR_dup3 + 1,
    [25] = __NR_fcntl + 1, [26] = __NR_inotify_init1 + 1, [27] = __NR_inotify_add_watch + 1,
    [28] = __NR_inotify_rm_watch + 1, [29] = __NR_ioctl + 1, [30] = __NR_ioprio_set + 1,
    [31] = __NR_ioprio_get + 1, [32] = __NR_flock + 1, [33] = __NR_mknodat + 1, [34] = __NR_mkdirat + 1,
    [35] = __NR_unlinkat + 1, [36] = __NR_symlinkat + 1, [37] = __NR_linkat + 1, [38] = __NR_renameat + 1,
    [39] = __NR_umount2 + 1, [40] = __NR_mount + 1, [41] = __NR_pivot_root + 1, [42] = __NR_nfsservctl + 1,
    [43] = __NR_statfs + 1, [44] = __NR_fstatfs + 1, [45] = __NR_truncate + 1, [46] = __NR_ftruncate + 1,
    [47] = __NR_fallocate + 1, [48] = __NR_faccessat + 1, [49] = __NR_chdir + 1, [50] = __NR_fchdir + 1,
    [51] = __NR_chroot + 1, [52] = __NR_fchmod + 1, [53] = __NR_fchmodat + 1, [54] = __NR_fchownat + 1,
    [55] = __NR_fchown + 1, [56] = __NR_openat + 1, [57] = __NR_close + 1, [58] = __NR_vhangup + 1,
    [59] = __NR_pipe2 + 1, [60] = __NR_quotactl + 1, [61] = __NR_getdents64 + 1, [62] = __NR_lseek + 1,
    [63] = __NR_read + 1, [64] = __NR_write + 1, [65] = __NR_readv + 1, [66] = __NR_writev + 1,
    [67] = __NR_pread64 + 1, [68] = __NR_pwrite64 + 1, [69] = __NR_preadv + 1, [70] = __NR_pwritev + 1,
    [71] = __NR_sendfile + 1, [72] = __NR_pselect6 + 1, [73] = __NR_ppoll + 1, [74] = __NR_signalfd4 + 1,
    [75] = __NR_vmsplice + 1, [76] = __NR_splice + 1, [77] = __NR_tee + 1, [78] = __NR_readlinkat + 1,
    [79] = __NR_newfstatat + 1, [80] = __NR_fstat + 1, [81] = __NR_sync + 1, [82] = __NR_fsync + 1,
    [83] = __NR_fdatasync + 1, [84] = __NR_sync_file_range + 1, [85] = __NR_timerfd_create + 1,
    [86] = __NR_timerfd_settime + 1, [87] = __NR_timerfd_gettime + 1, [88] = __NR_utimensat + 1,
    [89] = __NR_acct + 1, [90] = __NR_capget + 1, [91] = __NR_capset + 1, [92] = __NR_personality + 1,
    [93] = __NR_exit + 1, [94] = __NR_exit_group + 1, [95] = __NR_waitid + 1, [96] = __NR_set_tid_address + 1,
    [97] = __NR_unshare + 1, [98] = __NR_futex + 1, [99] = __NR_set_robust_list + 1,
    [100] = __NR_get_robust_list + 1, [101] = __NR_nanosleep + 1, [102] = __NR_getitimer + 1,
    [103] = __NR_setitimer + 1, [104] = __NR_kexec_load + 1, [105] = __NR_init_module + 1,
    [106] = __NR_delete_module + 1, [107] = __NR_timer_create + 1, [108] = __NR_timer_gettime + 1,
    [109] = __NR_timer_getoverrun + 1, [110] = __NR_timer_settime + 1, [111] = __NR_timer_delete + 1,
    [112] = __NR_clock_settime + 1, [113] = __NR_clock_gettime + 1, [114] = __NR_clock_getres + 1,
    [115] = __NR_clock_nanosleep + 1, [116] = __NR_syslog + 1, [117] = __NR_ptrace + 1,
    [118] = __NR_sched_setparam + 1, [119] = __NR_sched_setscheduler + 1, [120] = __NR_sched_getscheduler + 1,
    [121] = __NR_sched_getparam + 1, [122] = __NR_sched_setaffinity + 1, [123] = __NR_sched_getaffinity + 1,
    [124] = __NR_sched_yield + 1, [125] = __NR_sched_get_priority_max + 1,
    [126] = __NR_sched_get_priority_min + 1, [127] = __NR_sched_rr_get_interval + 1,
    [128] = __NR_restart_syscall + 1, [129] = __NR_kill + 1, [130] = __NR_tkill + 1, [131] = __NR_tgkill + 1,
    [132] = __NR_sigaltstack + 1, [133] = __NR_rt_sigsuspend + 1, [134] = __NR_rt_sigaction + 1,
    [135] = __NR_rt_sigprocmask + 1, [136] = __NR_rt_sigpending + 1, [137] = __NR_rt_sigtimedwait + 1,
    [138] = __NR_rt_sigqueueinfo + 1, [139] = __NR_rt_sigreturn + 1, [140] = __NR_setpriority + 1,
    [141] = __NR_getpriority + 1, [142] = __NR_reboot + 1, [143] = __NR_setregid + 1, [144] = __NR_setgid + 1,
    [145] = __NR_setreuid + 1, [146] = __NR_setuid + 1, [147] = __NR_setresuid + 1, [148] = __NR_getresuid + 1,
    [149] = __NR_setresgid + 1, [150] = __NR_getresgid + 1, [151] = __NR_setfsuid + 1, [152] = __NR_setfsgid + 1,
    [153] = __NR_times + 1, [154] = __NR_setpgid + 1, [155] = __NR_getpgid + 1, [156] = __NR_getsid + 1,
    [157] = __NR_setsid + 1, [158] = __NR_getgroups + 1, [159] = __NR_setgroups + 1, [160] = __NR_uname + 1,
    [161] = __NR_sethostname + 1, [162] = __NR_setdomainname + 1, [163] = __NR_getrlimit + 1,
    [164] = __NR_setrlimit + 1, [165] = __NR_getrusage + 1, [166] = __NR_umask + 1, [167] = __NR_prctl + 1,
    [168] = __NR_getcpu + 1, [169] = __NR_gettimeofday + 1, [170] = __NR_settimeofday + 1,
    [171] = __NR_adjtimex + 1, [172] = __NR_getpid + 1, [173] = __NR_getppid + 1, [174] = __NR_getuid + 1,
    [175] = __NR_geteuid + 1, [176] = __NR_getgid + 1, [177] = __NR_getegid + 1, [178] = __NR_gettid + 1,
    [179] = __NR_sysinfo + 1, [180] = __NR_mq_open + 1, [181] = __NR_mq_unlink + 1, [182] = __NR_mq_timedsend + 1,
    [183] = __NR_mq_timedreceive + 1, [184] = __NR_mq_notify + 1, [185] = __NR_mq_getsetattr + 1,
    [186] = __NR_msgget + 1, [187] = __NR_msgctl + 1, [188] = __NR_msgrcv + 1, [189] = __NR_msgsnd + 1,
    [190] = __NR_semget + 1, [191] = __NR_semctl + 1, [192] = __NR_semtimedop + 1, [193] = __NR_semop + 1,
    [194] = __NR_shmget + 1, [195] = __NR_shmctl + 1, [196] = __NR_shmat + 1, [197] = __NR_shmdt + 1,
    [198] = __NR_socket + 1, [199] = __NR_socketpair + 1, [200] = __NR_bind + 1, [201] = __NR_listen + 1,
    [202] = __NR_accept + 1, [203] = __NR_connect + 1, [204] = __NR_getsockname + 1, [205] = __NR_getpeername + 1,
    [206] = __NR_sendto + 1, [207] = __NR_recvfrom + 1, [208] = __NR_setsockopt + 1, [209] = __NR_getsockopt + 1,
    [210] = __NR_shutdown + 1, [211] = __NR_sendmsg + 1, [212] = __NR_recvmsg + 1, [213] = __NR_readahead + 1,
    [214] = __NR_brk + 1, [215] = __NR_munmap + 1, [216] = __NR_mremap + 1, [217] = __NR_add_key + 1,
    [218] = __NR_request_key + 1, [219] = __NR_keyctl + 1, [220] = __NR_clone + 1, [221] = __NR_execve + 1,
    [222] = __NR_mmap + 1, [223] = __NR_fadvise64 + 1, [224] = __NR_swapon + 1, [225] = __NR_swapoff + 1,
    [226] = __NR_mprotect + 1, [227] = __NR_msync + 1, [228] = __NR_mlock + 1, [229] = __NR_munlock + 1,
    [230] = __NR_mlockall + 1, [231] = __NR_munlockall + 1, [232] = __NR_mincore + 1, [233] = __NR_madvise + 1,
    [234] = __NR_remap_file_pages + 1, [235] = __NR_mbind + 1, [236] = __NR_get_mempolicy + 1,
    [237] = __NR_set_mempolicy + 1, [238] = __NR_migrate_pages + 1, [239] = __NR_move_pages + 1,
    [240] = __NR_rt_tgsigqueueinfo + 1, [241] = __NR_perf_event_open + 1, [242] = __NR_accept4 + 1,
    [243] = __NR_recvmmsg + 1, [260] = __NR_wait4 + 1, [261] = __NR_prlimit64 + 1, [262] = __NR_fanotify_init + 1,
    [263] = __NR_fanotify_mark + 1, [264] = __NR_name_to_handle_at + 1, [265] = __NR_open_by_handle_at + 1,
    [266] = __NR_clock_adjtime + 1, [267] = __NR_syncfs + 1, [268] = __NR_setns + 1, [269] = __NR_sendmmsg + 1,
    [270] = __NR_process_vm_readv + 1, [271] = __NR_process_vm_writev + 1, [272] = __NR_kcmp + 1,
    [273] = __NR_finit_module + 1, [274] = __NR_sched_setattr + 1, [275] = __NR_sched_getattr + 1,
    [276] = __NR_renameat2 + 1, [277] = __NR_seccomp + 1, [278] = __NR_getrandom + 1,
    [279] = __NR_memfd_create + 1, [280] = __NR_bpf + 1, [281] = __NR_execveat + 1, [282] = __NR_userfaultfd + 1,
    [283] = __NR_membarrier + 1, [284] = __NR_mlock2 + 1, [285] = __NR_copy_file_range + 1,
    [286] = __NR_preadv2 + 1, [287] = __NR_pwritev2 + 1, [288] = __NR_pkey_mprotect + 1,
    [289] = __NR_pkey_alloc + 1, [290] = __NR_pkey_free + 1, [291] = __NR_statx + 1,
    [292] = __NR_io_pgetevents + 1, [293] = __NR_rseq + 1, [294] = __NR_kexec_file_load + 1,
};

static long native_nr(int nr)
{
    if (nr == 244 || nr == 300)
        return 400; /* no call on either (x86-64 335 and 336 are uprobes' calls) */
    return nr < 424 ? (X86_NR[nr] ? X86_NR[nr] - 1 : 400) : nr;
}
#define NATIVE 1
#else
#error "sysfuzz: AArch64 or x86-64 only"
#endif
#define sys0(nr) sys6(nr, 0, 0, 0, 0, 0, 0)
#define sys1(nr, a) sys6(nr, (long)(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b) sys6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c) sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(nr, a, b, c, d) sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* A child sleeps until it is killed; it leaves when its parent is gone. Raw calls only: its
 * thread pointer may be anything a clone gave it. */
static long parent_pid;
void sysfuzz_child(void)
{
    struct timespec nap = {0, 50 * 1000 * 1000};
    for (;;) {
        sys2(__NR_nanosleep, &nap, 0);
        if (sys0(__NR_getppid) != parent_pid)
            sys1(__NR_exit_group, 0);
    }
}

/* ---- output: unbuffered lines on fd 1 ---- */
static void out(const char *s, size_t n)
{
    while (n) {
        long w = sys3(__NR_write, 1, s, n);
        if (w == -EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1)
        n = sizeof line - 1;
    if (n > 0)
        out(line, (size_t)n);
}

/* ---- the PRNG: xorshift64 (common.h) from a splitmix64-scrambled seed ---- */
static uint64_t next(void) { return rng = xorshift64(rng); }
static uint64_t below(uint64_t n) { return reduce(next(), n); }
static int chance(unsigned pct) { return below(100) < pct; }
#define PICK(a) ((a)[below(sizeof(a) / sizeof((a)[0]))])

/* a | b with a drawn before b: C leaves the order of an operator's operands open, and the
 * x86-64 build must draw the same numbers in the same order as the arm64 one */
#define then_or(a, b) __extension__({ uint64_t first_ = (a); first_ | (b); })

/* a page of the zone, (pct in 100) at an address inside it */
static uint64_t zone_address(unsigned pct)
{
    uint64_t page = ZONE + PAGE * below(ZONE_PAGES);
    return page + (chance(pct) ? below(PAGE) : 0);
}

/* an int argument, now and then with junk in the upper half (the kernel reads 32 bits) */
static uint64_t wide(uint64_t v)
{
    v &= 0xffffffffUL;
    if (chance(3))
        v |= next() << 32;
    else if ((int32_t)v < 0)
        v |= 0xffffffff00000000UL; /* sign-extended, as C passes an int */
    return v;
}

/* ---- the arena: a bump allocator refilled before each call ---- */
static size_t arena_used;
static int arena_dirty = 1;

static void arena_reset(void)
{
    if (arena_dirty)
        memset((void *)ARENA, (int)below(256), ARENA_SIZE);
    arena_dirty = 0;
    arena_used = below(64) * 8;
}

/* `size` bytes of the arena for a structure the fuzzer fills (8-byte aligned) */
static void *room(size_t size)
{
    arena_dirty = 1;
    size = (size + 7) & ~7UL;
    if (arena_used + size > ARENA_SIZE)
        arena_used = 0;
    void *p = (void *)(ARENA + arena_used);
    arena_used += size;
    return p;
}

static const uint64_t BAD_POINTERS[] = {0, UNMAPPED, NONE_PAGE, HMK_KERNEL, LINUX_KERNEL,
                                        ~0UL, 8, PAGE - 1};

/* a pointer that is no good: NULL, unmapped, inaccessible, the kernel's */
static uint64_t bad_pointer(void)
{
    if (chance(5))
        return next(); /* anywhere */
    return PICK(BAD_POINTERS);
}

static int in_arena(uint64_t p) { return p >= ARENA && p < ARENA + ARENA_SIZE; }

/* a buffer: mostly the arena (random bytes), else its edge, the read-only page, a bad one */
static uint64_t buffer(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 65) {
        uint64_t *p = room(256);
        for (int i = 0; i < 32; i++)
            p[i] = next();
        return (uint64_t)p + (chance(10) ? below(8) : 0);
    }
    if (r < 72)
        return ARENA + ARENA_SIZE - 8 * (1 + below(8)); /* runs into the read-only page */
    if (r < 78)
        return RO_PAGE + 8 * below(256);
    if (r < 82)
        return NONE_PAGE - 8 * below(4); /* runs into the inaccessible page */
    if (!safe && r < 88)
        return zone_address(20);
    return bad_pointer();
}

/* a structure of `size` bytes the fuzzer fills, or (1 in 8) a bad pointer */
static void *structure(size_t size, uint64_t *bad)
{
    if (chance(12)) {
        *bad = chance(25) ? RO_PAGE : bad_pointer();
        return NULL;
    }
    void *p = room(size);
    *bad = (uint64_t)p;
    return p;
}

/* ---- numbers ---- */
static const uint64_t HUGE_SIZES[] = {1UL << 31, 1UL << 32, 1UL << 63, ~0UL, 0x7fffffffUL,
                                      0x80000000UL, (~0UL) - 4095, 1UL << 40};

static uint64_t size(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 10)
        return 0;
    if (r < 45)
        return below(65);
    if (r < 70)
        return below(ARENA_SIZE + 1);
    if (r < 80)
        return PICK(((const uint64_t[]){1, 8, 16, 24, 64, 128, 256, 4096, 8192, 16384}));
    if (r < 90)
        return below(1 << 20);
    return PICK(HUGE_SIZES);
}

static uint64_t small_int(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 60)
        return below(17);
    if (r < 70)
        return (uint64_t)-1L;
    if (r < 80)
        return below(1 << 16);
    if (r < 88)
        return PICK(((const uint64_t[]){0x7fffffff, 0x80000000, 0xffffffff, 1024, 4096, 65536}));
    return next();
}

static uint64_t flags(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 20)
        return 0;
    if (r < 55)
        return 1UL << below(24);
    if (r < 80)
        return (1UL << below(24)) | (1UL << below(24)) | (1UL << below(24));
    if (r < 90)
        return next() & 0xffffffffUL;
    if (r < 95)
        return 0xffffffffUL;
    return next();
}

static uint64_t offset(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 30)
        return 0;
    if (r < 60)
        return below(8192);
    if (r < 70)
        return PICK(((const uint64_t[]){4096, 65536, 1 << 20, 100}));
    if (r < 78)
        return (uint64_t)-1L;
    if (r < 86)
        return PICK(((const uint64_t[]){0x7fffffffffffffffUL, 1UL << 62, 1UL << 40,
                                        0x8000000000000000UL, (uint64_t)-4096L}));
    return next() & 0xffffffffUL;
}

/* a file length for truncate/fallocate: small (so no run fills memory) or absurd */
static uint64_t file_length(void)
{
    if (chance(85))
        return chance(50) ? below(8192) : below(1 << 20);
    return PICK(((const uint64_t[]){(uint64_t)-1L, 0x7fffffffffffffffUL, 1UL << 62,
                                    0x8000000000000000UL}));
}

/* a copy count (sendfile, splice, tee, copy_file_range): at most 1 MiB, or absurd only
 * where the kernel refuses it before copying */
static uint64_t copy_count(void)
{
    if (chance(90))
        return chance(60) ? below(8193) : below(1 << 20);
    return PICK(((const uint64_t[]){(uint64_t)-1L, 0x8000000000000000UL}));
}

/* ---- descriptors, paths, names ---- */
static uint64_t fd(void)
{
    if (chance(88))
        return wide((uint64_t)(long)fds[below(NFDS)]);
    return wide(PICK(((const uint64_t[]){(uint64_t)-1L, (uint64_t)-100L, 1 << 20, 0x7fffffff,
                                         0x80000000, 1023, 4096, 0xffffffff})));
}

static uint64_t dir_fd(void)
{
    return chance(55) ? wide((uint64_t)-100L) : fd(); /* AT_FDCWD */
}

static char long_name[300], long_path[4200], long_xattr[300];

static const char *const SAFE_PATHS[] = {
    "a", "b", "c", "d", "d/x", "d/y", "e", "l", "ld", "loop", "dangling", "p", "s0", "s1",
    ".", "", "nope/x", "a/x", "a/", "d/", "d/.", "d/../a", "ld/x", "e/f", "new", "d/new",
};
static const char *const ABSOLUTE_PATHS[] = {
    "/", "/tmp", "/dev/null", "/dev/zero", "/dev/tty", "/proc/self/status", "/proc/self/fd/0",
    "/proc", "/sys", "/etc", "/bin/hello", "/dev/ram0", "..", "../..", "/proc/self/exe",
    "/proc/self/maps", "/dev", "/dev/urandom", "/proc/self/cwd", "/tmp/x",
};

static uint64_t path(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 70)
        return (uint64_t)PICK(SAFE_PATHS);
    if (r < 74)
        return (uint64_t)long_name;
    if (r < 77)
        return (uint64_t)long_path;
    if (r < 80)
        return RO_TEXT + 8 * below(256); /* no NUL before the inaccessible page */
    if (r < 83)
        return ARENA + ARENA_SIZE - 8; /* runs into the read-only page */
    if (!safe && r < 93)
        return (uint64_t)PICK(ABSOLUTE_PATHS);
    return bad_pointer();
}

/* paths that are never a program (execve must fail) */
static uint64_t no_program(void)
{
    return (uint64_t)PICK(((const char *const[]){"d", "nope", "", ".", "nope/x", "a/x", "e"}));
}

static const char *const XATTRS[] = {"user.a", "user.b", "trusted.t", "security.s",
                                     "system.posix_acl_access", "user.", "", "nosuch.x",
                                     "system.nosuch", "user.a.b"};

static uint64_t xattr_name(void)
{
    if (chance(80))
        return (uint64_t)PICK(XATTRS);
    if (chance(50))
        return (uint64_t)long_xattr;
    return bad_pointer();
}

/* ---- processes and signals ---- */
static uint64_t pid(void)
{
    unsigned r = (unsigned)below(100);
    if (r < 30)
        return wide((uint64_t)self_pid);
    if (r < 55)
        return wide((uint64_t)kids[below(NKIDS)]);
    if (r < 70)
        return 0;
    if (r < 80)
        return wide((uint64_t)-1L);
    if (r < 90)
        return wide(0x3ffffff0); /* above any pid_max: nobody */
    return wide(PICK(((const uint64_t[]){0x80000000, (uint64_t)-2L, 0x7fffffff})));
}

/* a signal target: itself, a child, its process group, nobody; never -1 (everyone) */
static uint64_t target(int *self)
{
    unsigned r = (unsigned)below(100);
    *self = 0;
    if (r < 30) {
        *self = 1;
        return wide((uint64_t)self_pid);
    }
    if (r < 60) {
        long kid = kids[below(NKIDS)];
        *self = kid <= 0; /* an empty slot: 0, its own group */
        return wide((uint64_t)kid);
    }
    if (r < 70) {
        *self = 1;
        return 0;
    }
    if (r < 75) {
        *self = 1;
        return wide((uint64_t)-sys1(__NR_getpgid, 0));
    }
    if (r < 90)
        return wide(0x3ffffff0);
    return wide(PICK(((const uint64_t[]){0x80000000, (uint64_t)-0x3ffffff0L})));
}

/* a signal number for a target: never SIGKILL or SIGSTOP to itself (its own group included),
 * nor a fault signal with a made-up siginfo (`with_info`); anything else has its handler */
static int is_fault_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGSYS;
}

static uint64_t signal_for(int self, int with_info)
{
    for (;;) {
        uint64_t sig = chance(90) ? below(65) : PICK(((const uint64_t[]){65, 128, (uint64_t)-1L}));
        if (sig == SIGKILL || sig == SIGSTOP) {
            if (self || safe)
                continue;
        }
        if (with_info && is_fault_signal((int)sig))
            continue;
        return wide(sig);
    }
}

/* ---- structures ---- */
static void fill_timespec(int64_t *ts)
{
    static const int64_t sec_safe[] = {0, 0, 0, 1L << 40, 0x7fffffffffffffffL, -1, 1L << 62};
    static const int64_t nsec_safe[] = {0, 0, 0, 999999999, 1000000000, -1, 0x7fffffffffffffffL};
    if (safe || chance(60)) {
        int i = (int)below(7), j = (int)below(7);
        ts[0] = sec_safe[i];
        ts[1] = nsec_safe[j];
        if (ts[0] == 0 && ts[1] == 999999999)
            ts[1] = 0; /* a second could race the watchdog's interrupt */
        return;
    }
    ts[0] = (int64_t)PICK(((const uint64_t[]){0, 0, 1, 3600, 0, (uint64_t)-5L, 1UL << 33}));
    ts[1] = (int64_t)PICK(((const uint64_t[]){0, 1, 1000, 1000000, 5000000, 999999999, 1000000000}));
}

static uint64_t timespec_ptr(int pairs)
{
    uint64_t p;
    int64_t *ts = structure(16 * (size_t)pairs, &p);
    if (ts)
        for (int i = 0; i < pairs; i++)
            fill_timespec(ts + 2 * i);
    return p;
}

static uint64_t utimens_ptr(void)
{
    uint64_t p;
    int64_t *ts = structure(32, &p);
    if (ts)
        for (int i = 0; i < 2; i++) {
            ts[2 * i] = (int64_t)PICK(((const uint64_t[]){0, 1000, (uint64_t)-1L, 1UL << 40}));
            ts[2 * i + 1] = (int64_t)PICK(((const uint64_t[]){0, 5, 999999999, 1000000000,
                                                              (1 << 30) - 1, (1 << 30) - 2, (uint64_t)-1L}));
        }
    return p;
}

static uint64_t sigset_ptr(void)
{
    uint64_t p;
    uint64_t *set = structure(8, &p);
    if (set)
        *set = (chance(30) ? 0 : next()) & ~SIGALRM_BIT;
    return p;
}

static uint64_t sigset_size(void)
{
    return chance(85) ? 8 : PICK(((const uint64_t[]){0, 4, 16, 128, (uint64_t)-1L}));
}

static uint64_t iovec_ptr(void)
{
    uint64_t p;
    uint64_t *iov = structure(16 * 8, &p);
    if (iov)
        for (int i = 0; i < 8; i++) {
            iov[2 * i] = chance(85) ? ARENA + 8 * below(ARENA_SIZE / 8) : buffer();
            iov[2 * i + 1] = chance(90) ? below(300) : PICK(HUGE_SIZES);
        }
    return p;
}

static uint64_t socklen(void)
{
    uint64_t len = chance(80) ? PICK(((const uint64_t[]){0, 2, 3, 16, 28, 110, 111, 128, 4, 1}))
                              : small_int();
    return wide(len);
}

static const char *const SOCKET_PATHS[] = {"s0", "s1", "d/s", "a", "d", "nope/s", "p", ""};

static uint64_t sockaddr_ptr(void)
{
    uint64_t p;
    unsigned char *sa = structure(128, &p);
    if (!sa)
        return p;
    unsigned r = (unsigned)below(100);
    memset(sa, 0, 128);
    if (r < 70) {
        sa[0] = AF_UNIX;
        const char *name = PICK(SOCKET_PATHS);
        strcpy((char *)sa + 2, name);
        if (!safe && chance(20)) { /* an abstract name */
            sa[2] = 0;
            sa[3] = 'z';
        }
        if (chance(5))
            memset(sa + 2, 'u', 120); /* no terminator */
    } else if (r < 85 && !safe) {
        sa[0] = chance(50) ? AF_INET : AF_INET6;
        sa[2] = 0x1f;
        sa[3] = (unsigned char)below(4); /* ports 7936.. */
        if (sa[0] == AF_INET) {
            sa[4] = 127;
            sa[7] = 1;
        } else {
            sa[23] = 1; /* ::1 */
        }
    } else {
        for (int i = 0; i < 16; i++)
            ((uint64_t *)sa)[i] = next();
        sa[0] = (unsigned char)PICK(((const unsigned[]){0, 255, 46, 1})); /* AF_UNIX or not a family */
        sa[1] = safe ? 0xff : sa[1];
    }
    return p;
}

static uint64_t socklen_ptr(void)
{
    uint64_t p;
    uint32_t *len = structure(4, &p);
    if (len)
        *len = (uint32_t)socklen();
    return p;
}

/* ancillary data: one well-formed message, or junk */
static uint64_t control_ptr(uint64_t *len)
{
    uint64_t p;
    uint64_t *c = structure(64, &p);
    *len = chance(80) ? PICK(((const uint64_t[]){0, 16, 20, 24, 32, 64})) : size();
    if (!c)
        return p;
    for (int i = 0; i < 8; i++)
        c[i] = next();
    if (chance(70)) { /* a cmsghdr: SCM_RIGHTS of two descriptors or SCM_CREDENTIALS */
        int rights = chance(60);
        c[0] = rights ? 24 : 28;        /* cmsg_len */
        ((uint32_t *)c)[2] = SOL_SOCKET; /* cmsg_level */
        ((uint32_t *)c)[3] = rights ? SCM_RIGHTS : SCM_CREDENTIALS;
        if (rights) {
            ((int32_t *)c)[4] = (int32_t)fd();
            ((int32_t *)c)[5] = (int32_t)fd();
        } else {
            ((int32_t *)c)[4] = (int32_t)self_pid;
            ((uint32_t *)c)[5] = (uint32_t)below(2) * 1000;
            ((uint32_t *)c)[6] = 0;
        }
    }
    return p;
}

static void fill_msghdr(uint64_t *m)
{
    m[0] = chance(40) ? sockaddr_ptr() : 0; /* msg_name */
    m[1] = socklen();                       /* msg_namelen (an int) */
    m[2] = iovec_ptr();
    m[3] = chance(90) ? below(9) : PICK(((const uint64_t[]){1024, 1025, (uint64_t)-1L}));
    m[4] = chance(50) ? control_ptr(&m[5]) : 0;
    if (!m[4])
        m[5] = 0;
    m[6] = flags() & 0xffffffffUL;
}

static uint64_t msghdr_ptr(void)
{
    uint64_t p;
    uint64_t *m = structure(56, &p);
    if (m)
        fill_msghdr(m);
    return p;
}

static uint64_t mmsghdr_ptr(void)
{
    uint64_t p;
    uint64_t *m = structure(64 * 3, &p);
    if (m)
        for (int i = 0; i < 3; i++) {
            fill_msghdr(m + 8 * i);
            m[8 * i + 7] = next();
        }
    return p;
}

static uint64_t epoll_event_ptr(void)
{
    uint64_t p;
    uint32_t *e = structure(16, &p);
    if (e) {
        e[0] = (uint32_t)(chance(70) ? then_or(below(64), chance(30) ? 1U << 31 : 0) : next());
        e[2] = (uint32_t)next();
        e[3] = (uint32_t)next();
    }
    return p;
}

static uint64_t pollfd_ptr(void)
{
    uint64_t p;
    int32_t *pf = structure(8 * 6, &p);
    if (pf)
        for (int i = 0; i < 6; i++) {
            pf[2 * i] = (int32_t)fd();
            pf[2 * i + 1] = (int32_t)(chance(80) ? then_or(below(8), below(4) << 8) : next());
        }
    return p;
}

static uint64_t fdset_ptr(void)
{
    if (chance(25))
        return 0;
    uint64_t p;
    uint64_t *set = structure(128, &p);
    if (set) {
        memset(set, 0, 128);
        for (int i = 0; i < 4; i++) {
            int n = (int)(int32_t)fd();
            if (n >= 0 && n < 1024)
                set[n / 64] |= 1UL << (n % 64);
        }
    }
    return p;
}

static uint64_t pselect_mask_ptr(void)
{
    if (chance(30))
        return 0;
    uint64_t p;
    uint64_t *m = structure(16, &p);
    if (m) {
        m[0] = chance(80) ? sigset_ptr() : 0;
        m[1] = sigset_size();
    }
    return p;
}

static uint64_t rlimit_ptr(void)
{
    uint64_t p;
    uint64_t *r = structure(16, &p);
    static const uint64_t values[] = {0, 1, 16, 64, 256, 1024, 4096, 1UL << 20, 1UL << 30,
                                      ~0UL, ~0UL - 1, 8UL << 20};
    if (r) {
        r[0] = PICK(values);
        r[1] = chance(70) ? ~0UL : PICK(values);
    }
    return p;
}

static uint64_t loff_ptr(void)
{
    if (chance(40))
        return chance(75) ? 0 : bad_pointer();
    uint64_t p;
    uint64_t *o = structure(8, &p);
    if (o)
        *o = offset();
    return p;
}

static uint64_t sigevent_ptr(void)
{
    if (chance(20))
        return 0;
    uint64_t p;
    int32_t *e = structure(64, &p);
    if (e) {
        memset(e, 0, 64);
        e[2] = (int32_t)signal_for(1, 0);                         /* sigev_signo */
        e[3] = (int32_t)PICK(((const uint64_t[]){0, 1, 2, 4, 5})); /* sigev_notify */
        e[4] = (int32_t)(chance(50) ? self_pid : (long)next());  /* sigev_notify_thread_id */
    }
    return p;
}

static uint64_t cap_header_ptr(void)
{
    uint64_t p;
    uint32_t *h = structure(8, &p);
    if (h) {
        h[0] = (uint32_t)PICK(((const uint64_t[]){0x19980330, 0x20071026, 0x20080522, 0, 1}));
        h[1] = (uint32_t)pid();
    }
    return p;
}

static uint64_t open_how_ptr(void)
{
    uint64_t p;
    uint64_t *h = structure(32, &p);
    if (h) {
        h[0] = chance(80) ? then_or(below(4), flags() & 0x7fffff) : next();
        h[1] = chance(80) ? below(01000) : next();
        h[2] = chance(70) ? below(64) : next();
        h[3] = chance(80) ? 0 : next();
    }
    return p;
}

static uint64_t futex_waitv_ptr(void)
{
    uint64_t p;
    uint64_t *w = structure(24 * 2, &p);
    if (w)
        for (int i = 0; i < 2; i++) {
            w[3 * i] = next() & 0xff; /* val */
            w[3 * i + 1] = chance(85) ? ARENA + 4 * below(ARENA_SIZE / 4) : bad_pointer();
            ((uint32_t *)w)[6 * i + 4] = (uint32_t)(chance(80) ? 2 : next()); /* FUTEX2_SIZE_U32 */
            ((uint32_t *)w)[6 * i + 5] = chance(90) ? 0 : (uint32_t)next();
        }
    return p;
}

/* prlimit/setrlimit resources: every one, and some that are none */
static uint64_t resource(void)
{
    return wide(chance(90) ? below(RLIM_NLIMITS) : PICK(((const uint64_t[]){16, 100, (uint64_t)-1L})));
}

static const uint64_t IOCTLS_SAFE[] = {0x541B /* FIONREAD */, 0x5421 /* FIONBIO */,
                                       0x5451 /* FIOCLEX */, 0x5450 /* FIONCLEX */,
                                       0x5401 /* TCGETS */, 0x5413 /* TIOCGWINSZ */,
                                       0x5452 /* FIOASYNC */, 0x8912 /* SIOCGIFCONF */,
                                       0x541C /* TIOCCONS? no: TIOCLINUX */ - 1,
                                       0x12345678, 0, 0x80086601 /* FS_IOC_GETFLAGS */};

static uint64_t ioctl_request(void)
{
    if (safe || chance(60))
        return PICK(IOCTLS_SAFE);
    return chance(50) ? next() & 0xffffffffUL : 0x5400 + below(0x60);
}

static uint64_t int_or_pointer(void)
{
    return chance(50) ? small_int() : buffer();
}

/* ---- drawing a call's arguments ---- */
static uint64_t gen(char kind, const uint64_t *prev)
{
    switch (kind) {
    case 'f': return fd();
    case 'a': return dir_fd();
    case 's': return path();
    case 'b': return buffer();
    case 'n': return size();
    case 'N': return copy_count();
    case 'x': return flags();
    case 'i': return wide(small_int());
    case 'o': return offset();
    case 'L': return file_length();
    case 'M':
        if (!chance(85))
            return next();
        return then_or(below(010000), chance(20) ? 0170000 & (next() << 12) : 0);
    case 'w': return wide(chance(85) ? below(6) : small_int());
    case 'm': /* the zone, or places where nothing of the fuzzer's own is */
        if (chance(85))
            return zone_address(8);
        return PICK(((const uint64_t[]){0, HMK_KERNEL, LINUX_KERNEL, UNMAPPED, ZONE - PAGE,
                                        ~0UL - PAGE + 1}));
    case 'z': /* a few pages, or so much that every kernel refuses before acting */
        if (chance(88))
            return then_or(PAGE * below(9), chance(10) ? below(PAGE) : 0);
        return PICK(((const uint64_t[]){0, ~0UL, 1UL << 63, ~0UL - PAGE + 2}));
    case 'p': return pid();
    case 'u':
        return PICK(((const uint64_t[]){0, 0, 1, 1000, 1000, 65534, (uint64_t)-1L, 0xffffffff,
                                        0xfffffffe, (1UL << 32) | 5, 1UL << 40, 0x7fffffff}));
    case 'c': return wide(chance(85) ? below(12) : PICK(((const uint64_t[]){16, (uint64_t)-1L, (uint64_t)-6L, 0x7fffffff})));
    case 'W':
        if (safe)
            return wide(PICK(((const uint64_t[]){0, 0, (uint64_t)-1L, 0x7fffffff, (uint64_t)-2L, 0x80000000})));
        return wide(PICK(((const uint64_t[]){0, 0, (uint64_t)-1L, 1, 10, 1000, 0x7fffffff})));
    case 't': return chance(15) ? 0 : timespec_ptr(1);
    case 'T': return timespec_ptr(2);
    case 'U': return chance(20) ? 0 : utimens_ptr();
    case 'v': return iovec_ptr();
    case 'g': return chance(10) ? 0 : sigset_ptr();
    case '8': return sigset_size();
    case 'K': return sockaddr_ptr();
    case 'l': return socklen();
    case 'q': return chance(10) ? 0 : socklen_ptr();
    case 'h': return msghdr_ptr();
    case 'y': return mmsghdr_ptr();
    case 'e': return chance(10) ? 0 : epoll_event_ptr();
    case 'P': return pollfd_ptr();
    case 'F': return fdset_ptr();
    case 'G': return pselect_mask_ptr();
    case 'r': return resource();
    case 'R': return chance(15) ? 0 : rlimit_ptr();
    case 'I': return ioctl_request();
    case 'X': return xattr_name();
    case 'Y':
        if (safe)
            return wide(PICK(((const uint64_t[]){AF_UNIX, AF_UNIX, AF_UNIX, AF_INET, AF_INET6, 0, 46, (uint64_t)-1L})));
        return wide(chance(70) ? PICK(((const uint64_t[]){AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET}))
                               : below(50));
    case 'Z':
        return wide(then_or(chance(85) ? below(6) : next() & 0xff,
                            chance(30) ? PICK(((const uint64_t[]){SOCK_NONBLOCK, SOCK_CLOEXEC, 0x40})) : 0));
    case 'j': return loff_ptr();
    case 'E': return sigevent_ptr();
    case 'H': return cap_header_ptr();
    case 'O':
        return wide(then_or(below(4), chance(80) ? flags() & 0x7fffff : flags()));
    case 'V': return open_how_ptr();
    case 'D': return futex_waitv_ptr();
    case '*': return int_or_pointer();
    case '#': /* the size of the previous argument's structure, or another */
        (void)prev;
        return chance(70) ? 0 : PICK(((const uint64_t[]){0, 1, 8, 24, 32, 64, 80, 88, 96, 4096, (uint64_t)-1L}));
    case '_': return 0;
    }
    return next(); /* C, Q, A, B, S, k: prepare() fills them */
}

/* ---- calls that are made only in harmless ways ---- */
static void guard_signal(int sig);

/* a fixed mapping's place: inside the zone (its length then ends there too, unless it is
 * absurd enough that every kernel refuses it) */
static void in_zone(uint64_t *addr, uint64_t *len)
{
    if (*addr < ZONE || *addr >= ZONE + ZONE_SIZE)
        *addr = ZONE + PAGE * below(ZONE_PAGES);
    if (*len < (1UL << 63) && *addr + *len > ZONE + ZONE_SIZE)
        *len = ZONE + ZONE_SIZE - *addr;
}

static uint64_t clone_flags(void)
{
    uint64_t f = 0;
    static const uint64_t harmless[] = {CLONE_PARENT_SETTID, CLONE_CHILD_SETTID,
                                        CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_FS,
                                        CLONE_SYSVSEM, CLONE_IO, CLONE_UNTRACED,
                                        CLONE_DETACHED, CLONE_PIDFD};
    static const uint64_t refused[] = {CLONE_THREAD, CLONE_SIGHAND, CLONE_NEWUSER | CLONE_FS,
                                       CLONE_PIDFD | CLONE_DETACHED, CLONE_THREAD | CLONE_PIDFD,
                                       CLONE_NEWNS | CLONE_FS};
    static const uint64_t full_only[] = {CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, CLONE_NEWIPC,
                                         CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP,
                                         CLONE_SETTLS, CLONE_PTRACE};
    for (int i = 0; i < 3; i++)
        if (chance(40))
            f |= PICK(harmless);
    if (chance(15))
        f |= PICK(refused);
    if (!safe && chance(20))
        f |= PICK(full_only);
    /* the exit signal: SIGCHLD, none, or one it handles */
    uint64_t sig = chance(80) ? SIGCHLD : below(65);
    if (sig == SIGKILL || sig == SIGSTOP || is_fault_signal((int)sig))
        sig = SIGCHLD; /* (a fault signal's CLD_* code would look like a fault's) */
    return f | sig;
}

/* a struct clone_args (its size in *size) of a fork-like child, or one clone3 refuses */
static uint64_t clone_args(uint64_t *size)
{
    *size = chance(80) ? PICK(((const uint64_t[]){64, 80, 88})) : PICK(((const uint64_t[]){0, 8, 63, 96, 4096}));
    uint64_t p;
    uint64_t *ca = structure(96, &p);
    if (!ca)
        return p;
    memset(ca, 0, 96);
    uint64_t f = clone_flags();
    ca[0] = chance(90) ? f & ~0xffUL : f;                     /* flags */
    ca[1] = ca[2] = ca[3] = chance(80) ? (uint64_t)room(8) : buffer(); /* pidfd, child_tid, parent_tid */
    ca[4] = chance(90) ? f & 0xff : PICK(((const uint64_t[]){65, (uint64_t)-1L})); /* exit_signal */
    if (!safe && chance(20)) { /* a stack of its own: the arena's top */
        ca[5] = ARENA;
        ca[6] = ARENA_SIZE;
    } else if (chance(5)) {
        ca[6] = PAGE; /* a size without a stack */
    }
    if (chance(10))
        ca[8] = (uint64_t)room(8), ca[9] = below(3); /* set_tid */
    if (chance(5))
        ca[10] = next(); /* cgroup, with or without CLONE_INTO_CGROUP */
    if (chance(5))
        ca[11] = next(); /* past version 2: must be zero */
    return p;
}

static void track_kid(long pid)
{
    if (pid <= 0)
        return;
    int slot = (int)(call_index % NKIDS);
    if (kids[slot] > 0) {
        sys2(__NR_kill, kids[slot], SIGKILL);
        sys4(__NR_wait4, kids[slot], 0, __WALL, 0);
    }
    kids[slot] = pid;
}

/* A child: clone(SIGCHLD) */
static void spawn_child(void)
{
    parent_pid = self_pid;
    track_kid(spawn6(__NR_clone, SIGCHLD, 0, 0, 0, 0));
}

/* Fix a drawn call so that it cannot end or wedge the run; `special` set when the call itself
 * is made by do_call's caller (clone, clone3). Returns 0 to skip the call. */
static int prepare(const struct call *c, uint64_t *a)
{
    int self;
    switch (c->nr) {
    case A_clone:
        a[0] = clone_flags();
        a[1] = 0; /* the child's stack: its parent's (copied) */
        if (!(a[0] & CLONE_SETTLS))
            a[3] = 0;
        break;
    case A_execve:
        a[0] = no_program();
        break;
    case A_execveat:
        a[1] = no_program();
        a[4] &= ~0x1000UL; /* AT_EMPTY_PATH would run the descriptor's file */
        break;
    case A_kill:
    case A_tkill:
        a[0] = target(&self);
        a[1] = signal_for(self, 0);
        break;
    case A_tgkill:
        a[0] = target(&self);
        a[1] = chance(70) ? a[0] : target(&self);
        a[2] = signal_for(1, 0);
        break;
    case A_rt_sigqueueinfo:
        a[0] = target(&self);
        a[1] = signal_for(1, 1);
        break;
    case A_rt_tgsigqueueinfo:
        a[0] = target(&self);
        a[1] = chance(70) ? a[0] : target(&self);
        a[2] = signal_for(1, 1);
        break;
    case A_pidfd_send_signal: /* pidfd_send_signal: the descriptor may be its own pidfd */
        a[1] = signal_for(1, 1);
        break;
    case A_rt_sigaction: {
        a[0] = signal_for(0, 0);
        if (chance(25)) {
            a[1] = chance(50) ? 0 : bad_pointer();
            break;
        }
        uint64_t *act = room(32);
        act[0] = PICK(((const uint64_t[]){0 /* SIG_DFL */, 1 /* SIG_IGN */, 2}));
        act[1] = flags() & ~(uint64_t)(SA_ONSTACK | 0x04000000 /* SA_RESTORER */);
        act[2] = 0;
        act[3] = next();
        if (act[0] == 2) { /* its own handler (see guard_signal) */
            act[0] = (uint64_t)sysfuzz_handler;
            act[1] |= SA_SIGINFO;
        }
        a[1] = (uint64_t)act;
        break;
    }
    case A_prctl: {
        static const uint64_t allowed[] = {1, 2, 3, 4, 15, 16, 23, 36, 37, 38, 39, 41, 42,
                                           47, 8, 999, (uint64_t)-1L, 0};
        a[0] = wide(safe || chance(70) ? PICK(allowed) : below(80));
        uint64_t op = a[0] & 0xffffffff;
        if (op == 22 || op == 35 || op == 59 || op == 47)
            a[0] = 999; /* seccomp, PR_SET_MM, syscall user dispatch, PR_CAP_AMBIENT */
        if (op == 15)   /* PR_SET_NAME: a name */
            a[1] = chance(80) ? (uint64_t)"fuzz" : buffer();
        break;
    }
    case A_seccomp: /* seccomp: never SECCOMP_SET_MODE_STRICT nor a filter that could load */
        if ((a[0] & 0xffffffff) == 0 || (a[0] & 0xffffffff) == 1)
            a[2] = bad_pointer();
        break;
    case A_setrlimit:
    case A_prlimit64: {
        int r = c->nr == A_setrlimit ? 0 : 1;
        uint64_t res = a[r] & 0xffffffff;
        if (res == RLIMIT_CPU || res == RLIMIT_RTTIME || res == RLIMIT_STACK)
            a[r + 1] = 0; /* a query only: limits that kill, or shrink its stack */
        if (safe && (res == RLIMIT_AS || res == RLIMIT_DATA))
            a[r + 1] = 0; /* (what fits under them depends on the build's and the kernel's
                           * layout: an x86-64 binary's and its stack's are not arm64's) */
        if (safe && in_arena(a[r + 1]) && in_arena(a[r + 1] + 15)) {
            /* the hard limit kept: a root without CAP_SYS_RESOURCE (a container's) may not
             * raise one, nor then restore one it lowered */
            uint64_t old[2], *limit = (uint64_t *)a[r + 1];
            long pid = c->nr == A_prlimit64 ? (long)(int)a[0] : 0;
            if (sys4(__NR_prlimit64, pid, (long)res, 0, (long)old) == 0)
                limit[1] = old[1];
        } else if (safe && a[r + 1] >= RO_PAGE && a[r + 1] < RO_PAGE + PAGE) {
            a[r + 1] = RO_PAGE + PAGE; /* (read-only limits it cannot keep: none at all) */
        }
        break;
    }
    case A_clock_getres:
    case A_clock_gettime:
    case A_clock_nanosleep:
    case A_timer_create:
    case A_timerfd_create:
        /* the alarm clocks need an RTC, which a machine running the safe subset may lack:
         * their answers depend on it (CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM: REALTIME,
         * BOOTTIME instead) */
        if (safe && ((a[0] & 0xffffffff) == 8 || (a[0] & 0xffffffff) == 9))
            a[0] = (a[0] & ~0xffffffffUL) | ((a[0] & 0xffffffff) == 8 ? 0 : 7);
        break;
    case A_clone3:
        a[0] = clone_args(&a[1]);
        break;
    case A_setitimer:
        if (safe)
            a[0] = wide(chance(80) ? below(3) : small_int());
        break;
    case A_brk:
        a[0] = chance(30) ? 0
                          : initial_brk + PICK(((const uint64_t[]){0, 1, PAGE, 5 * PAGE, 1 << 20, 1UL << 40, 33}));
        break;
    case A_mmap:
    case A_map_shadow_stack:
        if (a[c->nr == A_mmap ? 3 : 2] & (MAP_FIXED | MAP_FIXED_NOREPLACE))
            in_zone(&a[0], &a[1]);
        break;
    case A_mremap:
        if (a[3] & 2 /* MREMAP_FIXED */)
            in_zone(&a[4], &a[2]);
        break;
    case A_madvise:
    case A_process_madvise:
        if ((a[2] & 0xffffffff) == 100 || (a[2] & 0xffffffff) == 101)
            a[2] = 4; /* MADV_HWPOISON, MADV_SOFT_OFFLINE: MADV_DONTNEED instead */
        break;
    case A_close_range:
        if ((uint32_t)a[0] < 3)
            a[0] = 3 + below(30);
        if (chance(60))
            a[1] = (uint32_t)a[0] + below(30);
        break;
    case A_setpriority:
    case A_getpriority:
        if (safe && (a[0] & 0xffffffff) != 0)
            a[0] = chance(70) ? 0 : 3; /* PRIO_PROCESS, or none: not every process of a user */
        break;
    case A_mknodat: {
        static const uint64_t types[] = {S_IFREG, S_IFIFO, S_IFSOCK, 0, S_IFDIR, 0170000};
        if (safe || chance(70)) {
            a[2] = (a[2] & 07777) | PICK(types);
            a[3] = 0;
        }
        break;
    }
    case A_setuid:
    case A_setgid:
        if (safe) /* root, or a value that is no id or truncates to root */
            a[0] = PICK(((const uint64_t[]){0, 1UL << 32, (uint64_t)-1L, 0xffffffff, 1UL << 40}));
        break;
    case A_setreuid:
    case A_setregid:
        if (safe && (a[1] & 0xffffffff) != 0 && (a[1] & 0xffffffff) != 0xffffffff)
            a[1] = chance(50) ? 1UL << 32 : (uint64_t)-1L;
        break;
    case A_setresuid:
    case A_setresgid:
        if (safe && (a[2] & 0xffffffff) != 0 && (a[2] & 0xffffffff) != 0xffffffff)
            a[2] = chance(50) ? 1UL << 32 : (uint64_t)-1L;
        break;
    case A_symlinkat:
        a[0] = (uint64_t)PICK(SAFE_PATHS); /* where a link points: never outside */
        break;
    case A_fcntl: {
        static const uint64_t cmds[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 36, 37, 38,
                                        1024, 1025, 1026, 1030, 1031, 1032, 1033, 1034, 1036,
                                        1037, 1038, 1039, 1040};
        a[1] = wide(chance(85) ? PICK(cmds) : small_int());
        if ((a[1] & 0xffffffff) == 1031 && (a[2] > (1 << 20)))
            a[2] = below(1 << 20); /* F_SETPIPE_SZ: no giant pipe */
        if ((a[1] & 0xffffffff) == F_SETSIG && is_fault_signal((int)(a[2] & 0xffffffff)))
            a[2] = 0; /* (its si_code would look like a fault's) */
        if ((a[1] & 0xffffffff) == 1024 && !safe) /* F_SETLEASE: any */
            break;
        if (safe && (a[1] & 0xffffffff) == F_SETOWN) /* a process, not a number: pids differ */
            a[2] = pid();
        if (safe && (a[1] & 0xffffffff) == F_SETOWN_EX && in_arena(a[2]) && in_arena(a[2] + 7))
            ((int *)a[2])[1] = (int)pid();
        break;
    }
    case A_timer_settime:
    case A_timerfd_settime:
        break;
    case A_getrandom:
        break;
    case A_io_uring_setup:
        break;
    }
    return 1;
}

/* x86-64's open flags for arm64's: four bits differ (O_DIRECTORY, O_NOFOLLOW, O_DIRECT,
 * O_LARGEFILE: arm64 040000, 0100000, 0200000, 0400000; x86-64 0200000, 0400000, 040000,
 * 0100000) */
static uint64_t x86_open_flags(uint64_t f)
{
    static const uint64_t arm[] = {040000, 0100000, 0200000, 0400000};
    static const uint64_t x86[] = {0200000, 0400000, 040000, 0100000};
    uint64_t out = f & ~(uint64_t)0740000;
    for (int i = 0; i < 4; i++)
        if (f & arm[i])
            out |= x86[i];
    return out;
}

/* just before a call: its arguments as this machine's ABI wants them (nothing on arm64) */
static void native(const struct call *c, uint64_t *a)
{
    if (!NATIVE)
        return;
    for (int i = 0; c->kinds[i]; i++)
        if (c->kinds[i] == 'O')
            a[i] = x86_open_flags(a[i]);
    switch (c->nr) {
    case A_pipe2:
        a[1] = x86_open_flags(a[1]);
        break;
    case A_fcntl:
        if ((a[1] & 0xffffffff) == F_SETFL)
            a[2] = x86_open_flags(a[2]);
        break;
    case A_openat2:
        if (in_arena(a[2]))
            *(uint64_t *)a[2] = x86_open_flags(*(uint64_t *)a[2]);
        break;
    case A_clone: { /* x86-64: flags, stack, parent_tid, child_tid, tls */
        uint64_t tls = a[3];
        a[3] = a[4];
        a[4] = tls;
        break;
    }
#if NATIVE
    case A_rt_sigaction:
        if (in_arena(a[1])) {
            ((uint64_t *)a[1])[1] |= 0x04000000; /* SA_RESTORER */
            ((uint64_t *)a[1])[2] = (uint64_t)sysfuzz_restorer;
        }
        break;
#endif
    }
}

/* after a call that may change credentials: are its file-system and effective ids still
 * root's? (setfsuid(-1) changes nothing and returns the file-system id) */
static void check_privilege(void)
{
    unprivileged = sys1(__NR_setfsuid, -1) != 0 || sys1(__NR_setfsgid, -1) != 0 ||
                   sys0(__NR_geteuid) != 0 || sys0(__NR_getegid) != 0;
}

/* after a call: track what it made; put back what the fuzzer relies on */
static void settle(const struct call *c, const uint64_t *a, long r)
{
    switch (c->nr) {
    case A_setuid: case A_setgid: case A_setreuid: case A_setregid: case A_setresuid:
    case A_setresgid: case A_setfsuid: case A_setfsgid:
        if (safe) { /* root's ids back (its saved ids are root's still), and the file-system
                     * capabilities an fs id other than 0 took away (setfsuid away and back) */
            sys3(__NR_setresuid, 0, 0, 0);
            sys3(__NR_setresgid, 0, 0, 0);
            sys1(__NR_setfsuid, 1);
            sys1(__NR_setfsuid, 0);
        }
        check_privilege();
    }
    if ((c->flags & F) && r >= 0)
        fds[call_index % NFDS] = (int)r;
    if (c->nr == A_timer_create && r == 0 && in_arena(a[2]) && in_arena(a[2] + 3)) {
        int id = *(int *)a[2];
        if (id > timers_made && id < 1 << 20)
            timers_made = id;
    }
    if (c->nr == A_fcntl && r >= 0 && ((a[1] & 0xffffffff) == 0 || (a[1] & 0xffffffff) == 1030))
        fds[call_index % NFDS] = (int)r;
    if ((c->nr == A_pipe2 || c->nr == A_socketpair) && r == 0) {
        uint64_t p = c->nr == A_pipe2 ? a[0] : a[3];
        if (p >= ARENA && p + 8 <= ARENA + ARENA_SIZE) {
            fds[call_index % NFDS] = ((int *)p)[0];
            fds[(call_index + 1) % NFDS] = ((int *)p)[1];
        }
    }
    if ((c->flags & MAP) && r > 0 && (r & (PAGE - 1)) == 0) {
        unsigned long at = (unsigned long)r;
        if (at < ZONE || at >= ZONE + ZONE_SIZE) { /* outside the zone: unmapped later */
            int slot = (int)(call_index % NMAPS);
            if (maps[slot])
                sys2(__NR_munmap, maps[slot], map_lens[slot]);
            maps[slot] = at;
            map_lens[slot] = c->nr == A_mremap ? a[2] : a[1];
        }
    }
    if ((c->nr == A_clone || c->nr == A_clone3) && r > 0)
        track_kid(r);
    if (c->nr == A_rt_sigaction && a[1] != 0)
        guard_signal((int)(a[0] & 0xffffffff));
    if (c->nr == A_setitimer && (a[0] & 0xffffffff) == ITIMER_REAL)
        guard_signal(SIGALRM);
}

/* ---- signals: a handler for each, and the watchdog ---- */
void sysfuzz_handler(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    /* a fault of its own (not a signal some call sent) would come back forever: stop */
    if ((sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && info &&
        info->si_code > 0) {
        char msg[96];
        int n = snprintf(msg, sizeof msg, "sysfuzz: a fault of its own: signal %d, code %d, at %p\n",
                         sig, info->si_code, info->si_addr);
        sys3(__NR_write, 2, msg, n);
        sys1(__NR_exit_group, 99);
    }
    signals_seen++;
}

static int default_is_harmless(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static void install(int sig)
{
    uint64_t act[4] = {(uint64_t)sysfuzz_handler, SA_SIGINFO, 0, 0};
#if NATIVE
    act[1] |= 0x04000000; /* SA_RESTORER */
    act[2] = (uint64_t)sysfuzz_restorer;
#endif
    sys4(__NR_rt_sigaction, sig, act, 0, 8);
}

static void arm_watchdog(void)
{
    struct itimerval tick = {{0, 10000}, {0, 10000}};
    sys3(__NR_setitimer, ITIMER_REAL, &tick, 0);
}

static void guard_signal(int sig)
{
    if (sig <= 0 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
        return;
    if (!default_is_harmless(sig))
        install(sig);
    if (sig == SIGALRM)
        arm_watchdog();
}

/* ---- the scratch directory and the descriptor pool ---- */
static void make_tree(void)
{
    static const char bytes[100] = "sysfuzz: a file with some bytes in it, the same on every kernel";
    int f = (int)sys4(__NR_openat, AT_FDCWD, "a", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (f >= 0) {
        sys3(__NR_write, f, bytes, sizeof bytes);
        sys1(__NR_close, f);
    }
    sys3(__NR_mkdirat, AT_FDCWD, "d", 0755);
    sys3(__NR_mkdirat, AT_FDCWD, "e", 0755);
    f = (int)sys4(__NR_openat, AT_FDCWD, "d/x", O_CREAT | O_WRONLY, 0600);
    if (f >= 0)
        sys1(__NR_close, f);
    sys3(__NR_symlinkat, "a", AT_FDCWD, "l");
    sys3(__NR_symlinkat, "d", AT_FDCWD, "ld");
    sys3(__NR_symlinkat, "loop", AT_FDCWD, "loop");
    sys3(__NR_symlinkat, "nope", AT_FDCWD, "dangling");
    sys4(__NR_mknodat, AT_FDCWD, "p", S_IFIFO | 0644, 0);
}

static void open_pool(void)
{
    int pipe_fds[2], pair[2];
    int n = 0;
    for (int i = 0; i < NFDS; i++)
        fds[i] = -1;
    fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY, 0);
    fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "d", O_RDONLY | O_DIRECTORY, 0);
    fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "a", O_RDWR, 0);
    fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "a", O_RDONLY, 0);
    fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "d/x", O_WRONLY | O_APPEND, 0);
    if (sys2(__NR_pipe2, pipe_fds, 0) == 0) {
        fds[n++] = pipe_fds[0];
        fds[n++] = pipe_fds[1];
    }
    if (sys4(__NR_socketpair, AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
        fds[n++] = pair[0];
        fds[n++] = pair[1];
    }
    if (sys4(__NR_socketpair, AF_UNIX, SOCK_DGRAM, 0, pair) == 0)
        fds[n++] = pair[0];
    fds[n++] = (int)sys2(__NR_eventfd2, 0, 0);
    fds[n++] = (int)sys1(__NR_epoll_create1, 0);
    fds[n++] = (int)sys2(__NR_memfd_create, "m", 0);
    fds[n++] = (int)sys3(__NR_socket, AF_UNIX, SOCK_STREAM, 0);
    fds[n++] = (int)sys2(__NR_pidfd_open, self_pid, 0);
    if (!safe) {
        fds[n++] = 0;
        fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "/dev/null", O_RDWR, 0);
        fds[n++] = (int)sys4(__NR_openat, AT_FDCWD, "/proc/self/status", O_RDONLY, 0);
    }
}

/* every so often (and at the start): the same starting state again, as far as it can be */
static void reset(void)
{
    for (int i = 0; i < NKIDS; i++) {
        if (kids[i] > 0) {
            sys2(__NR_kill, kids[i], SIGKILL);
            sys4(__NR_wait4, kids[i], 0, __WALL, 0);
        }
        kids[i] = 0;
    }
    for (int i = 0; i < NMAPS; i++) {
        if (maps[i])
            sys2(__NR_munmap, maps[i], map_lens[i]);
        maps[i] = 0;
    }
    /* every descriptor above stderr: what the calls made, and what they leaked */
    if (sys3(__NR_close_range, 3, ~0U, 0) != 0)
        for (int i = 3; i < 1024; i++)
            sys1(__NR_close, i);
    uint64_t none[1] = {0};
    sys4(__NR_rt_sigprocmask, SIG_SETMASK, none, 0, 8);
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            install(sig);
    arm_watchdog();
    for (int r = 0; r < RLIM_NLIMITS; r++)
        sys2(__NR_setrlimit, r, &initial_limits[r]);
    struct itimerval off = {{0, 0}, {0, 0}};
    sys3(__NR_setitimer, ITIMER_VIRTUAL, &off, 0);
    sys3(__NR_setitimer, ITIMER_PROF, &off, 0);
    for (long t = 0; t <= timers_made; t++) /* (ids go up: Linux does not reuse one soon) */
        sys1(__NR_timer_delete, t);
    sys2(__NR_munmap, ZONE, 1UL << 30); /* the zone and whatever grew past it */
    sys6(__NR_mmap, ZONE, ZONE_SIZE / 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
         -1, 0);
    sys1(__NR_brk, initial_brk);
    sys1(__NR_chdir, scratch);
    sys1(__NR_umask, 022);
    make_tree();
    open_pool();
    spawn_child();
}

static void map_fixed(unsigned long at, unsigned long len, int prot)
{
    long r = sys6(__NR_mmap, (long)at, (long)len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (r != (long)at) {
        say("sysfuzz: cannot map %#lx: %ld\n", at, r);
        exit(1);
    }
}

static void setup(const char *dir)
{
    self_pid = sys0(__NR_getpid);
    sys0(__NR_setsid); /* its own session: kill(0) reaches only it and its children */
    map_fixed(ARENA, ARENA_SIZE, PROT_READ | PROT_WRITE);
    map_fixed(RO_PAGE, PAGE, PROT_READ | PROT_WRITE);
    /* zeros (a structure read there has no huge length), then text with no NUL up to the
     * inaccessible page (and no SIGALRM bit in any 64-bit word) */
    memset((void *)RO_TEXT, 0x5a, PAGE / 2);
    sys3(__NR_mprotect, RO_PAGE, PAGE, PROT_READ);
    map_fixed(NONE_PAGE, PAGE, PROT_NONE);
    memset(long_name, 'n', sizeof long_name - 1);
    for (size_t i = 0; i + 2 < sizeof long_path; i += 2)
        memcpy(long_path + i, "d/", 2);
    memcpy(long_xattr, "user.", 5);
    memset(long_xattr + 5, 'x', sizeof long_xattr - 6);
    initial_brk = (unsigned long)sys1(__NR_brk, 0);
    /* a fixed number of descriptors, whatever the parent allowed */
    struct rlimit nofile = {256, 1024};
    sys2(__NR_setrlimit, RLIMIT_NOFILE, &nofile);
    for (int r = 0; r < RLIM_NLIMITS; r++)
        sys2(__NR_getrlimit, r, &initial_limits[r]);
    sys3(__NR_mkdirat, AT_FDCWD, dir, 0700); /* (if it is not there yet) */
    snprintf(scratch, sizeof scratch, "%s/sysfuzz.XXXXXX", dir);
    if (!mkdtemp(scratch)) {
        say("sysfuzz: cannot make a directory in %s\n", dir);
        exit(1);
    }
    if (safe) { /* stdin: a file of its own, not whatever the machine gave it */
        sys1(__NR_chdir, scratch);
        int in = (int)sys4(__NR_openat, AT_FDCWD, "in", O_CREAT | O_RDONLY, 0600);
        if (in >= 0 && in != 0) {
            sys3(__NR_dup3, in, 0, 0);
            sys1(__NR_close, in);
        }
    }
    reset();
}

/* the scratch directory and everything in it, as far as the calls left it removable */
static void remove_tree(int dirfd, int depth)
{
    char buf[4096];
    for (int pass = 0; pass < 3; pass++) {
        long n;
        sys3(__NR_lseek, dirfd, 0, SEEK_SET);
        while ((n = sys3(__NR_getdents64, dirfd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                unsigned short reclen = *(unsigned short *)(buf + off + 16);
                unsigned char type = *(unsigned char *)(buf + off + 18);
                const char *name = buf + off + 19;
                off += reclen;
                if (!strcmp(name, ".") || !strcmp(name, ".."))
                    continue;
                if (type == DT_DIR && depth < 16) {
                    sys4(__NR_fchmodat, dirfd, name, 0700, 0);
                    int sub = (int)sys4(__NR_openat, dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
                    if (sub >= 0) {
                        remove_tree(sub, depth + 1);
                        sys1(__NR_close, sub);
                    }
                    sys3(__NR_unlinkat, dirfd, name, AT_REMOVEDIR);
                } else {
                    sys3(__NR_unlinkat, dirfd, name, 0);
                }
            }
        }
    }
}

static void finish(void)
{
    for (int i = 0; i < NKIDS; i++)
        if (kids[i] > 0) {
            sys2(__NR_kill, kids[i], SIGKILL);
            sys4(__NR_wait4, kids[i], 0, __WALL, 0);
        }
    struct itimerval off = {{0, 0}, {0, 0}};
    sys3(__NR_setitimer, ITIMER_REAL, &off, 0);
    /* it may no longer be root, or may have changed its root: clean what it can */
    int top = (int)sys4(__NR_openat, AT_FDCWD, scratch, O_RDONLY | O_DIRECTORY, 0);
    if (top >= 0) {
        remove_tree(top, 0);
        sys1(__NR_close, top);
    }
    sys3(__NR_unlinkat, AT_FDCWD, scratch, AT_REMOVEDIR);
}

/* ---- the loop ---- */
/* " = RESULT", and " u" when the call was made with ids that are not root's (safe mode) */
static void print_result(const struct call *c, long r, int as_user)
{
    const char *mark = safe && as_user ? " u" : "";
    if (!safe || (r < 0 && r >= -4095) || c->flags & (V | F))
        say(" = %ld%s\n", r, mark);
    else
        say(" = ok%s\n", mark);
}

static void select_calls(const char *only)
{
    for (int i = 0; i < NCALLS; i++) {
        const struct call *c = &CALLS[i];
        if (c->flags & D)
            continue;
        if (safe && !(c->flags & S))
            continue;
        if (only) {
            size_t n = strlen(c->name);
            const char *p = only;
            int found = 0;
            while (*p) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                if (len == n && !strncmp(p, c->name, n))
                    found = 1;
                p += len + (end != NULL);
            }
            if (!found)
                continue;
        }
        active[nactive++] = c;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 6)
        usage(argv[0], "SEED CALLS [quiet|verbose|safe|table [DIR [CALL,...]]]");
    uint64_t seed = arg_u64(argc, argv, 1, "SEED", 0, 0, ~0UL);
    uint64_t calls = arg_u64(argc, argv, 2, "CALLS", 0, 0, 1UL << 40);
    const char *mode = argc > 3 ? argv[3] : "quiet";
    if (!strcmp(mode, "table")) {
        for (int i = 0; i < NCALLS; i++) {
            const struct call *c = &CALLS[i];
            say("%d %s %s %s%s%s%s%s\n", c->nr, c->name, *c->kinds ? c->kinds : "-",
                c->flags & S ? "S" : "", c->flags & V ? "V" : "", c->flags & F ? "F" : "",
                c->flags & D ? "D" : "", c->flags & MAP ? "M" : "");
        }
        return 0;
    }
    if (!strcmp(mode, "verbose"))
        verbose = 1;
    else if (!strcmp(mode, "safe"))
        safe = verbose = 1;
    else if (strcmp(mode, "quiet"))
        usage(argv[0], "SEED CALLS [quiet|verbose|safe|table [DIR [CALL,...]]]");
    select_calls(argc > 5 ? argv[5] : NULL);
    if (!nactive)
        usage(argv[0], "SEED CALLS [quiet|verbose|safe|table [DIR [CALL,...]]]: no such call");
    /* splitmix64 of the seed: nearby seeds make unrelated runs, and never a zero state */
    uint64_t z = seed + 0x9e3779b97f4a7c15UL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    rng = (z ^ (z >> 31)) | 1;

    setup(argc > 4 ? argv[4] : "/tmp");
    for (call_index = 0; call_index < calls; call_index++) {
        if (call_index && call_index % 1000 == 0)
            reset();
        const struct call *c = active[below((uint64_t)nactive)];
        arena_reset();
        uint64_t a[6] = {0};
        for (int i = 0; c->kinds[i]; i++)
            a[i] = gen(c->kinds[i], a);
        for (int i = (int)strlen(c->kinds); i < 6; i++)
            a[i] = chance(5) ? next() : 0; /* registers the call does not read */
        for (int i = 0; i < 6; i++)
            if (a[i] >= ARENA && a[i] < ARENA + ARENA_SIZE)
                arena_dirty = 1; /* the kernel may write there */
        if (!prepare(c, a))
            continue;
        if (verbose)
            say("#%lu %d %s(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)", (unsigned long)call_index, c->nr,
                c->name, a[0], a[1], a[2], a[3], a[4], a[5]);
        uint64_t n[6];
        memcpy(n, a, sizeof n);
        native(c, n);
        long r;
        long nr = native_nr(c->nr);
        if (c->nr == A_clone || c->nr == A_clone3) {
            parent_pid = self_pid;
            r = spawn6(nr, (long)n[0], (long)n[1], (long)n[2], (long)n[3], (long)n[4]);
        } else {
            r = sys6(nr, (long)n[0], (long)n[1], (long)n[2], (long)n[3], (long)n[4], (long)n[5]);
        }
        if (verbose)
            print_result(c, r, unprivileged);
        settle(c, a, r);
    }
    finish();
    say("sysfuzz: seed=%lu calls=%lu mode=%s done\n", (unsigned long)seed, (unsigned long)calls, mode);
    return 0;
}

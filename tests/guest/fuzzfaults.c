/* The faults the guest-syscall fuzzer found (hmk fuzz syscalls, hmk.fuzz.diff), each as Linux
 * answers it: a host exception hmk raised on the guest's behalf, a hang, or an errno that
 * differed from Linux's. Plain C with raw syscall(2)s, so that it also builds for this
 * machine and runs on its Linux (tests/linux_native.py); argv[1]: a directory to work in.
 * The calls a line reports are made in the order the line names them (each into its own
 * variable first: C leaves the order of a call's arguments open). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sched.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/futex.h>
#include <unistd.h>

/* the call's result, or -errno */
static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
    errno = 0;
    long r = syscall(nr, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
}
#define S0(nr) sys(nr, 0, 0, 0, 0, 0, 0)
#define S1(nr, a) sys(nr, (long)(a), 0, 0, 0, 0, 0)
#define S2(nr, a, b) sys(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(nr, a, b, c) sys(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(nr, a, b, c, d) sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(nr, a, b, c, d, e) sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define S6(nr, a, b, c, d, e, f) sys(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static volatile int caught, caught_code, caught_int;
static void on_signal(int sig, siginfo_t *info, void *uc)
{
    (void)sig, (void)uc;
    caught++;
    caught_code = info->si_code;
    caught_int = info->si_int;
}

static void handle(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: a blocking call ends with EINTR */
    sigaction(sig, &sa, NULL);
}

/* an alarm 20 ms from now, to interrupt a sleep */
static void alarm_soon(void)
{
    struct itimerval t = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &t, NULL);
}

static void sleeps(void)
{
    struct timespec huge = {1L << 62, 0}, rem = {0, 0}, bad_nsec = {0, 1000000000}, neg = {-1, 0};
    handle(SIGALRM);
    alarm_soon();
    long r = S2(SYS_nanosleep, &huge, &rem);
    printf("nanosleep 2^62 s, interrupted: %ld, time left at most ktime's: %d\n", r,
           rem.tv_sec > 9000000000L && rem.tv_sec <= 9223372036L);
    long a = S2(SYS_nanosleep, &bad_nsec, 0), b = S2(SYS_nanosleep, &neg, 0);
    printf("nanosleep bad nsec %ld, negative %ld\n", a, b);
    alarm_soon();
    printf("nanosleep interrupted, bad rem: %ld\n", S2(SYS_nanosleep, &huge, 8));
    alarm_soon();
    struct timespec abs_huge = {0x7fffffffffffffffL, 999999999};
    printf("clock_nanosleep absolute, the end of time, interrupted: %ld\n",
           S4(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_huge, 0));
    struct timespec zero = {0, 0};
    long c[5];
    int clocks[5] = {CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_THREAD_CPUTIME_ID, 11, 12};
    for (int i = 0; i < 5; i++)
        c[i] = S4(SYS_clock_nanosleep, clocks[i], 0, &zero, 0);
    printf("clock_nanosleep clocks: raw %ld coarse %ld thread cpu %ld tai %ld none %ld\n", c[0],
           c[1], c[2], c[3], c[4]);
    timer_t t;
    int timer_clocks[4] = {CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, 12, 11};
    for (int i = 0; i < 4; i++)
        c[i] = S3(SYS_timer_create, timer_clocks[i], 0, &t);
    printf("timer_create: coarse %ld raw %ld none %ld tai %ld\n", c[0], c[1], c[2], c[3]);
    printf("clock_gettime tai %ld\n", S2(SYS_clock_gettime, 11, &zero));
}

static void ids(void)
{
    unsigned r = 1, e = 1, s = 1;
    printf("setresuid with ids past 2^32: %ld\n",
           S3(SYS_setresuid, (1L << 32) | 5, (1L << 32) | 0, (1L << 32) | 7));
    long got = S3(SYS_getresuid, &r, &e, &s);
    printf("getresuid %ld: %u %u %u\n", got, r, e, s);
    long a = S3(SYS_setresuid, 0, 0, 0), b = S1(SYS_setuid, -1L), c = S1(SYS_setuid, 1L << 32);
    printf("setresuid back %ld, setuid(-1) %ld, setuid 2^32 %ld\n", a, b, c);
    printf("setresgid %ld\n", S3(SYS_setresgid, (1L << 32) | 9, -1L, -1L));
    S3(SYS_getresgid, &r, &e, &s);
    printf("getresgid %u %u %u\n", r, e, s);
    S3(SYS_setresgid, 0, 0, 0);
    a = S1(SYS_setfsuid, 1000);
    b = S3(SYS_setresuid, -1L, -1L, -1L);
    c = S1(SYS_setfsuid, -1L);
    S3(SYS_setresuid, 0, 0, 0);
    long d = S1(SYS_setfsuid, -1L);
    printf("setfsuid 1000: old %ld; setresuid(-1,-1,-1) keeps it: %ld %ld; setresuid(0,0,0) "
           "does not: %ld\n", a, b, c, d);
    gid_t groups[4] = {5, 3, 0xffffffff, 1}, sorted[3] = {5, 3, 1};
    a = S2(SYS_setgroups, 4, groups);
    b = S2(SYS_setgroups, 3, sorted);
    S2(SYS_getgroups, 3, groups);
    printf("setgroups with (gid_t)-1: %ld; sorted: %ld %u %u %u\n", a, b, groups[0], groups[1],
           groups[2]);
    S2(SYS_setgroups, 0, 0);
    a = S2(SYS_getgroups, -1, groups);
    b = S2(SYS_getgroups, 0x7fffffff, groups);
    c = S2(SYS_getgroups, 0, 0);
    printf("getgroups: negative %ld, huge %ld, 0 %ld\n", a, b, c);
}

static void randomness(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + page, page);
    char buf[64];
    long a = S3(SYS_getrandom, buf, 8, 0x100), b = S3(SYS_getrandom, buf, 8, 6);
    long c = S3(SYS_getrandom, buf, 8, 1);
    printf("getrandom flags: unknown %ld, insecure and random %ld, nonblock %ld\n", a, b, c);
    a = S3(SYS_getrandom, two + page - 100, 1000, 0);
    b = S3(SYS_getrandom, two + page, 10, 0);
    c = S3(SYS_getrandom, two + page, 0, 0);
    long d = S3(SYS_getrandom, 0xffff800008000000UL, 10, 0);
    printf("getrandom past the mapping: %ld (of 1000), unmapped %ld, none %ld, kernel %ld\n", a,
           b, c, d);
    munmap(two, page);
}

static void orders(const char *dir)
{
    char buf[512];
    long v[6];
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int efd = (int)S2(SYS_eventfd2, 0, 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    v[0] = S3(SYS_dup3, -1, 9, 8);
    v[1] = S3(SYS_dup3, 1, 1, 0);
    v[2] = S3(SYS_dup3, -1, 1 << 30, 0);
    printf("dup3: bad fd and flags %ld, same fd %ld, new too big %ld\n", v[0], v[1], v[2]);
    v[0] = S4(SYS_newfstatat, 1000, "x", buf, 0x80000);
    v[1] = S4(SYS_newfstatat, 1000, "", buf, 0x1000);
    v[2] = S4(SYS_newfstatat, AT_FDCWD, "", buf, 0x81000);
    printf("fstatat: bad fd, bad flags %ld; AT_EMPTY_PATH, bad fd %ld; bad flags, empty %ld\n",
           v[0], v[1], v[2]);
    v[0] = S5(SYS_statx, AT_FDCWD, dir, 0, 0x80000000U, buf);
    v[1] = S5(SYS_statx, AT_FDCWD, dir, 0, 0, 8);
    v[2] = S5(SYS_statx, AT_FDCWD, "/nope", 0, 0, 8);
    printf("statx: bad mask %ld, bad buffer %ld, missing with a bad buffer %ld\n", v[0], v[1],
           v[2]);
    v[0] = S3(SYS_faccessat, 1000, "x", 8);
    v[1] = S4(SYS_faccessat2, 1000, "x", 0, 0x1);
    printf("faccessat: bad mode, bad fd %ld; faccessat2 bad flags %ld\n", v[0], v[1]);
    v[0] = S1(SYS_fsync, p[0]);
    v[1] = S1(SYS_fsync, sv[0]);
    v[2] = S1(SYS_fsync, efd);
    v[3] = S1(SYS_fsync, dfd);
    printf("fsync: pipe %ld socket %ld eventfd %ld directory %ld\n", v[0], v[1], v[2], v[3]);
    v[0] = S2(SYS_fchmod, efd, 0600);
    v[1] = S3(SYS_fchown, efd, 0, 0);
    v[2] = S2(SYS_fchmod, p[0], 0600);
    printf("fchmod eventfd %ld, fchown eventfd %ld, fchmod pipe %ld\n", v[0], v[1], v[2]);
    v[0] = S2(SYS_getcwd, buf, 1L << 40);
    v[1] = S2(SYS_getcwd, buf, 1);
    printf("getcwd huge size: %d, too small %ld\n", v[0] == (long)strlen(buf) + 1, v[1]);
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    v[0] = S4(SYS_newfstatat, AT_FDCWD, longpath, buf, 0);
    v[1] = S3(SYS_mkdirat, AT_FDCWD, longpath, 0);
    v[2] = S3(SYS_symlinkat, "x", p[0], "");
    printf("path past PATH_MAX: fstatat %ld mkdirat %ld; empty with a bad dirfd: symlinkat %ld\n",
           v[0], v[1], v[2]);
    v[0] = S3(SYS_execve, "/nope", 8, 0);
    v[1] = S3(SYS_execve, dir, 8, 0);
    printf("execve: missing, bad argv %ld; a directory, bad argv %ld\n", v[0], v[1]);
    v[0] = S6(SYS_mmap, 0, 4096, 3, 0, -1, 0);
    v[1] = S6(SYS_mmap, 0, 0, 3, MAP_SHARED, -1, 0);
    v[2] = S6(SYS_mmap, 0, 4096, 3, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
    v[3] = S6(SYS_mmap, 0, 4096, 3, MAP_SHARED, p[0], 0);
    printf("mmap: bad fd before a bad type %ld, before length 0 %ld\n", v[0], v[1]);
    printf("mmap: SHARED_VALIDATE anonymous %ld; shared writable of a pipe %ld\n", v[2], v[3]);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}}, badns[2] = {{0, -5}, {0, 0}};
    v[0] = S4(SYS_utimensat, -1, "x", omit, 0);
    v[1] = S4(SYS_utimensat, AT_FDCWD, "/nope", badns, 0);
    v[2] = S4(SYS_utimensat, dfd, 0, 0, 0x100);
    v[3] = S4(SYS_utimensat, AT_FDCWD, "x", -1L, 0xff);
    printf("utimensat: both omitted, bad fd %ld; bad times, missing %ld\n", v[0], v[1]);
    printf("utimensat: fd with flags %ld; bad times pointer, bad flags %ld\n", v[2], v[3]);
    v[0] = S4(SYS_socketpair, 12345, SOCK_STREAM, 0, 8);
    v[1] = S4(SYS_socketpair, AF_UNIX, SOCK_STREAM | 0x40, 0, sv);
    printf("socketpair: bad pointer before a bad family %ld; bad flags %ld\n", v[0], v[1]);
    v[0] = S4(SYS_accept4, -1, 0, 0, 0x1000);
    v[1] = S4(SYS_accept4, p[0], 0, 0, 0);
    printf("accept4: bad fd before bad flags %ld; not a socket %ld\n", v[0], v[1]);
    v[0] = S4(SYS_rt_sigprocmask, 7, buf, 8, 8);
    v[1] = S4(SYS_rt_sigprocmask, 7, 0, 0, 8);
    printf("rt_sigprocmask: bad how, bad old %ld; bad how, no set %ld\n", v[0], v[1]);
    v[0] = S5(SYS_waitid, P_ALL, 0, 8, 0x40000, 0);
    v[1] = S5(SYS_waitid, 7, 0, buf, WEXITED, 0);
    printf("waitid: bad options, bad info %ld; bad type %ld\n", v[0], v[1]);
    close(p[0]), close(p[1]), close(sv[0]), close(sv[1]), close(efd), close(dfd);
}

/* rename looks both parents up before either last name (do_renameat2); an absolute path
 * never looks at its dirfd */
static void names(void)
{
    char longname[300], buf[256];
    long v[8];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    close(open("ffile", O_CREAT | O_WRONLY, 0600));
    v[0] = S4(SYS_renameat, AT_FDCWD, "missing", AT_FDCWD, longname);
    v[1] = S4(SYS_renameat, AT_FDCWD, longname, AT_FDCWD, "missing/x");
    v[2] = S4(SYS_renameat, AT_FDCWD, "ffile", AT_FDCWD, ".");
    v[3] = S5(SYS_renameat2, AT_FDCWD, "ffile", AT_FDCWD, "..", RENAME_NOREPLACE);
    v[4] = S4(SYS_renameat, AT_FDCWD, "/", AT_FDCWD, "x");
    v[5] = S4(SYS_renameat, AT_FDCWD, "ffile/", AT_FDCWD, "x");
    v[6] = S4(SYS_renameat, AT_FDCWD, "ffile", AT_FDCWD, "x/");
    v[7] = S5(SYS_renameat2, AT_FDCWD, "ffile", AT_FDCWD, "missing", RENAME_EXCHANGE);
    printf("renameat: missing to a long name %ld; long to a missing dir %ld; to . %ld\n", v[0],
           v[1], v[2]);
    printf("renameat: to .. not replacing %ld; / %ld; slashes %ld %ld; exchange, none %ld\n",
           v[3], v[4], v[5], v[6], v[7]);
    v[0] = S4(SYS_newfstatat, 1000, "/", buf, 0);
    v[1] = S4(SYS_newfstatat, 1000, "x", buf, 0);
    v[2] = S4(SYS_renameat, 1000, "ffile", 1001, "fmoved");
    v[3] = S4(SYS_renameat, AT_FDCWD, "ffile", 1001, "/nope/fmoved");
    printf("an absolute path, a bad dirfd: fstatat %ld (relative %ld); renameat %ld, %ld\n",
           v[0], v[1], v[2], v[3]);
    int in = (int)S1(SYS_inotify_init1, 0);
    v[0] = S3(SYS_inotify_add_watch, -1, ".", 0x80001);
    v[1] = S3(SYS_inotify_add_watch, -1, ".", 0x30000001);
    v[2] = S3(SYS_inotify_add_watch, in, ".", 0);
    v[3] = S3(SYS_inotify_add_watch, in, ".", 0x40000000);
    printf("inotify_add_watch, a bad fd: an unknown bit %ld, add and create %ld; no bits %ld; "
           "only IN_ISDIR %ld\n",
           v[0], v[1], v[2], v[3]);
    close(in);
    unlink("ffile");
}

/* mincore a VMA at a time, its vector written as it goes; process_vm_readv's vectors before
 * the process (nothing to move: 0) */
static void memory(void)
{
    long v[8];
    char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[4] = {9, 9, 9, 9};
    m[0] = 1;
    munmap(m + 4096, 4096);
    v[0] = S3(SYS_mincore, m, 3 * 4096, ro);
    v[1] = S3(SYS_mincore, m, 3 * 4096, vec);
    v[2] = S3(SYS_mincore, m + 4096, 4096, vec + 2);
    v[3] = S3(SYS_mincore, m, 4096, -4096L);
    printf("mincore: read-only vector %ld; a hole %ld, written before it %d %d; in it %ld; "
           "past %ld\n",
           v[0], v[1], vec[0], vec[1], v[2], v[3]);
    char buf[8];
    struct iovec none = {buf, 0}, one = {buf, 8}, negative = {buf, -1L}, there = {m, 8};
    v[0] = S6(SYS_process_vm_readv, getpid(), &none, 1, 8, 0x7fffffff, 0);
    v[1] = S6(SYS_process_vm_readv, 999999, &one, 1, &none, 1, 0);
    v[2] = S6(SYS_process_vm_readv, 999999, &one, 1, &there, 1, 0);
    v[3] = S6(SYS_process_vm_readv, getpid(), &negative, 1, &there, 1, 0);
    v[4] = S6(SYS_process_vm_readv, getpid(), &one, (1L << 32) | 1, &there, 1, 0);
    v[5] = S6(SYS_process_vm_readv, getpid(), &one, 1, &there, 1025, 0);
    printf("process_vm_readv: nothing local %ld, nothing remote %ld, nobody %ld; negative %ld\n"
           "process_vm_readv: a count's high bits %ld, too many %ld\n",
           v[0], v[1], v[2], v[3], v[4], v[5]);
    munmap(m, 3 * 4096);
    munmap(ro, 4096);
}

/* a write whose buffer faults part way: the bytes before the fault (a file), whole pages of
 * them (a pipe), none read (/dev/null), or the object's own errno first (a socket, an
 * eventfd); epoll_pwait's, the vectors', sched_getaffinity's and F_SETSIG's checks */
static void writes(void)
{
    long v[8];
    char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + 2 * 4096, 4096);
    memset(m, 'a', 2 * 4096);
    int p[2], sv[2];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int f = open("fwrite", O_CREAT | O_RDWR | O_TRUNC, 0600), null = open("/dev/null", O_WRONLY);
    int lone = socket(AF_UNIX, SOCK_STREAM, 0), efd = (int)S2(SYS_eventfd2, 0, 0);
    v[0] = S3(SYS_write, f, m + 100, 9000);
    v[1] = S3(SYS_write, p[1], m + 4096 + 100, 8000);
    v[2] = S3(SYS_write, p[1], m + 100, 9000);
    v[3] = S3(SYS_write, null, m + 2 * 4096, 10);
    v[4] = S3(SYS_write, sv[0], m + 2 * 4096, 10);
    v[5] = S3(SYS_write, lone, m + 2 * 4096, 10);
    v[6] = S3(SYS_write, efd, m + 2 * 4096, 8);
    v[7] = S3(SYS_write, efd, m + 2 * 4096, 4);
    printf("a write faulting part way: file %ld; pipe %ld, %ld; /dev/null %ld\n", v[0], v[1],
           v[2], v[3]);
    printf("a write faulting part way: socket %ld, unconnected %ld; eventfd %ld, 4 bytes %ld\n",
           v[4], v[5], v[6], v[7]);
    struct iovec iv[2] = {{(void *)-4096L, 8}, {m, -1L}};
    int ep = (int)S1(SYS_epoll_create1, 0);
    sigset_t none;
    sigemptyset(&none);
    v[0] = S3(SYS_writev, f, iv, 2);
    v[1] = S6(SYS_epoll_pwait, -1, m, -5, 0, &none, 8);
    v[2] = S6(SYS_epoll_pwait, ep, -4096L, 4, 0, &none, 8);
    v[3] = S6(SYS_epoll_pwait, 1, m, 4, 0, &none, 8);
    printf("writev: a negative length after a bad address %ld\n", v[0]);
    printf("epoll_pwait: bad fd, bad count %ld; bad buffer %ld; not an epoll %ld\n", v[1], v[2],
           v[3]);
    v[0] = S3(SYS_sched_getaffinity, 0, 1UL << 63, m);
    v[1] = S3(SYS_sched_getaffinity, 0, (1UL << 32) | 8, m);
    v[2] = S3(SYS_sched_setaffinity, 999999, 8, 1);
    v[3] = S3(SYS_fcntl, f, F_SETSIG, SIGUSR1);
    v[4] = S3(SYS_fcntl, f, F_GETSIG, 0);
    v[5] = S3(SYS_fcntl, f, F_SETSIG, 65);
    printf("sched_getaffinity: a size of 2^63 %ld, 2^32 + 8 %ld; setaffinity, bad mask %ld\n",
           v[0], v[1], v[2]);
    printf("F_SETSIG %ld F_GETSIG %ld, 65 %ld\n", v[3], v[4], v[5]);
    close(p[0]), close(p[1]), close(sv[0]), close(sv[1]), close(f), close(null), close(lone);
    close(efd), close(ep);
    unlink("fwrite");
    munmap(m, 2 * 4096);
}

/* more of Linux's rules the differential fuzzing met (hmk.fuzz.diff) */
static void rules(void)
{
    long v[8];
    char buf[256];
    close(open("frule", O_CREAT | O_WRONLY, 0600));
    v[0] = S3(SYS_mkdirat, AT_FDCWD, "frule/", 0700);
    v[1] = S3(SYS_symlinkat, "x", AT_FDCWD, "fnone/");
    v[2] = S3(SYS_mkdirat, AT_FDCWD, "fnone/.", 0700);
    v[3] = S4(SYS_newfstatat, AT_FDCWD, "frule/.", buf, 0);
    v[4] = S3(SYS_unlinkat, AT_FDCWD, ".", 0);
    v[5] = S3(SYS_unlinkat, AT_FDCWD, "..", AT_REMOVEDIR);
    printf("names: mkdir file/ %ld; symlink to missing/ %ld; mkdir missing/. %ld\n", v[0], v[1],
           v[2]);
    printf("names: stat file/. %ld; unlink . %ld; rmdir .. %ld\n", v[3], v[4], v[5]);
    int f = open("frule", O_RDWR);
    struct rlimit small = {100, RLIM_INFINITY}, old;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    v[0] = S3(SYS_write, f, buf, 150);
    v[1] = S3(SYS_write, f, buf, 10);
    v[2] = S2(SYS_ftruncate, f, 1000);
    setrlimit(RLIMIT_FSIZE, &old);
    v[3] = S3(SYS_lseek, f, 10, 3 /* SEEK_DATA */);
    v[4] = S3(SYS_lseek, f, 10, 4 /* SEEK_HOLE */);
    v[5] = S3(SYS_lseek, f, 100, 3);
    printf("RLIMIT_FSIZE 100: write 150 %ld, then %ld; ftruncate %ld\n", v[0], v[1], v[2]);
    printf("lseek: SEEK_DATA %ld SEEK_HOLE %ld, at the end %ld\n", v[3], v[4], v[5]);
    char *m = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    v[0] = S2(SYS_mlock, m, 4096);
    v[1] = S3(SYS_mlock2, m, 4096, 1 /* MLOCK_ONFAULT */);
    v[2] = S3(SYS_mprotect, m, 4096, PROT_READ | 0x10 /* PROT_BTI */);
    v[3] = S2(SYS_munmap, 0xe00000001000L, 4096);
    v[4] = S3(SYS_membarrier, 1 << 9 /* GET_REGISTRATIONS */, 0, 0);
    v[5] = S5(SYS_prctl, 42 /* PR_GET_THP_DISABLE */, 1, 0, 0, 0);
    printf("mlock PROT_NONE %ld, on fault %ld; mprotect PROT_BTI %ld\n", v[0], v[1], v[2]);
    printf("munmap past user space %ld; membarrier registrations %ld; PR_GET_THP_DISABLE, an "
           "argument %ld\n",
           v[3], v[4], v[5]);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    unsigned char attr[64];
    v[0] = S3(SYS_getdents64, dir, buf, 0x80000000UL);
    v[1] = S4(SYS_sched_getattr, 0, attr, 0x100000030UL, 0);
    v[2] = S2(SYS_setpgid, 0xffffffff80000000L, 0);
    v[3] = S3(SYS_getpriority, 0x100000000L | 0 /* PRIO_PROCESS */, 0, 0);
    printf("getdents64, a count past INT_MAX %ld; sched_getattr, a size past 32 bits %ld\n",
           v[0], v[1]);
    printf("setpgid(INT_MIN) %ld; getpriority, high bits %d\n", v[2], v[3] > 0);
    int ep = (int)S1(SYS_epoll_create1, 0), p[2], one = 1;
    pipe(p);
    v[0] = S3(SYS_ioctl, ep, 0x541b /* FIONREAD */, buf);
    v[1] = S3(SYS_ioctl, ep, FIOASYNC, &one);
    v[2] = S3(SYS_ioctl, p[0], FIOASYNC, &one);
    off_t at = 0;
    v[3] = S4(SYS_sendfile, -1, ep, &at, 10);
    v[4] = S4(SYS_sendfile, -1, ep, (off_t *)m, 10);
    printf("ioctl: epoll's unknown %ld, its FIOASYNC %ld, a pipe's %ld\n", v[0], v[1], v[2]);
    printf("sendfile's offset written back: %ld, to no memory %ld\n", v[3], v[4]);
    timer_t t1, t2;
    struct sigevent none = {0};
    none.sigev_notify = SIGEV_NONE;
    v[0] = S3(SYS_timer_create, CLOCK_MONOTONIC, &none, &t1);
    v[1] = S1(SYS_timer_delete, t1);
    v[2] = S3(SYS_timer_create, CLOCK_MONOTONIC, &none, &t2);
    printf("timer ids go up: %d\n", v[0] == 0 && v[1] == 0 && v[2] == 0 && (long)t2 > (long)t1);
    S1(SYS_timer_delete, t2);
    int pf = (int)S2(SYS_pidfd_open, getpid(), 0);
    v[0] = S4(SYS_fgetxattr, pf, "trusted.fz", buf, 64);
    v[1] = S5(SYS_fsetxattr, pf, "trusted.fz", "v", 1, 0);
    v[2] = S4(SYS_fgetxattr, pf, "trusted.fz", buf, 64);
    v[3] = S5(SYS_fsetxattr, pf, "user.fz", "v", 1, 0);
    v[4] = S3(SYS_flistxattr, pf, buf, 64);
    printf("pidfs: trusted.* before any %ld, set %ld, get %ld; user.* %ld; list %ld\n", v[0],
           v[1], v[2], v[3], v[4]);
    close(pf), close(ep), close(p[0]), close(p[1]), close(dir), close(f);
    munmap(m, 4096);
    unlink("frule");
}

static void signals(void)
{
    char info[128];
    long v[4];
    handle(SIGUSR1);
    handle(SIGCHLD);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    v[0] = S4(SYS_rt_sigaction, (0x12345678L << 32) | SIGWINCH, &sa, &old, 8);
    printf("rt_sigaction, a signal with junk above 32 bits: %ld\n", v[0]);
    v[0] = S4(SYS_rt_sigaction, 99, 8, 0, 8);
    v[1] = S4(SYS_rt_sigaction, SIGWINCH, &sa, 8, 8);
    printf("rt_sigaction: bad signal, bad act %ld; bad old after the change %ld\n", v[0], v[1]);
    memset(info, 0x7f, sizeof info);
    v[0] = S3(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, info);
    printf("rt_sigqueueinfo, an unknown layout with bytes past 48: %ld\n", v[0]);
    memset(info, 0, sizeof info);
    *(int *)(info + 8) = -1;          /* SI_QUEUE */
    *(int *)(info + 16) = -123;       /* si_pid */
    *(int *)(info + 24) = 0x7fffffff; /* si_int */
    caught = 0;
    v[0] = S3(SYS_rt_sigqueueinfo, getpid(), SIGCHLD, info);
    printf("rt_sigqueueinfo SIGCHLD with a caller's siginfo: %ld, caught %d code %d int %d\n",
           v[0], caught, caught_code, caught_int);
    *(int *)(info + 8) = 0; /* SI_USER: only to itself */
    v[0] = S3(SYS_rt_sigqueueinfo, 1, SIGUSR1, info);
    v[1] = S2(SYS_kill, 0x3ffffff0, SIGUSR1);
    v[2] = S2(SYS_kill, 0x3ffffff0, 99);
    v[3] = S2(SYS_kill, getpid(), 99);
    printf("a kill's code to another: %ld; nobody %ld; bad signal to nobody %ld, to itself %ld\n",
           v[0], v[1], v[2], v[3]);
    stack_t ss = {0}, os;
    v[0] = S2(SYS_sigaltstack, &ss, 0);
    ss.ss_size = 1024;
    v[1] = S2(SYS_sigaltstack, &ss, 0);
    ss.ss_flags = 7;
    v[2] = S2(SYS_sigaltstack, &ss, 0);
    ss.ss_flags = 0, ss.ss_size = 65536, ss.ss_sp = malloc(65536);
    v[3] = S2(SYS_sigaltstack, &ss, 8);
    S2(SYS_sigaltstack, 0, &os);
    printf("sigaltstack: zero as it is %ld; small %ld; bad flags %ld; set, bad old %ld, kept %d\n",
           v[0], v[1], v[2], v[3], os.ss_size == 65536 && os.ss_flags == 0);
    ss.ss_flags = SS_DISABLE;
    S2(SYS_sigaltstack, &ss, 0);
}

/* A call that blocks with a handler's signal pending is interrupted at once; on the linux
 * composition the thread went back into CFS's tree while it kept running, and the next switch
 * inserted it twice (a loop in the tree: a hang). */
static void interrupted_at_once(void)
{
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 2000; i++)
            sched_yield();
        _exit(0);
    }
    sigset_t usr1, none;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    int eintr = 0;
    for (int i = 0; i < 50; i++) {
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        kill(getpid(), SIGUSR1);
        if (S5(SYS_ppoll, 0, 0, 0, &none, 8) == -EINTR)
            eintr++;
        sched_yield();
    }
    int status;
    waitpid(child, &status, 0);
    printf("ppoll with a pending signal it unblocks: EINTR %d of 50, child %d\n", eintr,
           WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* copy_process's refusals; CLONE_PIDFD's pidfd where clone(2) writes the parent's tid */
static void clones(void)
{
    signal(SIGCHLD, SIG_DFL); /* (no handler to interrupt the waits) */
    long ns = S5(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0);
    long thread = S5(SYS_clone, CLONE_THREAD | SIGCHLD, 0, 0, 0, 0);
    long sighand = S5(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0);
    long detached = S5(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, 0, 0, 0);
    int fd = -1, tid = 0;
    long both = S5(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &fd, 0, 0);
    long bad = S5(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, 1, 0, 0);
    long none = S4(SYS_wait4, -1, 0, WNOHANG, 0);
    printf("clone refuses: a new namespace, shared fs %ld; thread alone %ld; actions alone %ld\n",
           ns, thread, sighand);
    printf("clone: pidfd detached %ld; pidfd and parent tid %ld; bad pidfd %ld, children %ld\n",
           detached, both, bad, none);
    long child = S5(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &fd, 0, 0);
    if (child == 0)
        _exit(3);
    long other = S5(SYS_clone, CLONE_PARENT_SETTID | SIGCHLD, 0, &tid, 0, 0);
    if (other == 0)
        _exit(4);
    siginfo_t info = {0};
    long waited = S5(SYS_waitid, P_PIDFD, fd, &info, WEXITED, 0);
    int status = 0;
    waitpid((pid_t)other, &status, 0);
    printf("clone: the pidfd's child %d exited %d; the parent's tid %d, exited %d\n",
           waited == 0 && info.si_pid == child, info.si_status, tid == other,
           WEXITSTATUS(status));
}

/* futex: the timeout is read first; every bit but the private and clock ones is the command */
static void futexes(void)
{
    int word = 1;
    long unknown = S6(SYS_futex, &word, 99, 0, 0, 0, 0);
    long high = S6(SYS_futex, &word, FUTEX_WAKE | 0x400, 1, 0, 0, 0);
    long timeout = S6(SYS_futex, &word, FUTEX_WAIT, 0, 1, 0, 0);
    struct timespec neg = {-1, 0};
    long negative = S6(SYS_futex, &word, FUTEX_WAIT, 0, &neg, 0, 0);
    long changed = S6(SYS_futex, &word, FUTEX_WAIT, 0, 0, 0, 0);
    printf("futex: unknown command -%ld, a high bit -%ld; bad timeout -%ld, negative -%ld; "
           "changed word -%ld\n",
           -unknown, -high, -timeout, -negative, -changed);
}


/* more rules the differential fuzzing met: leases, seals, write hints, locked memory and VMAs
 * merged again, a pidfd's process group, a clone child's death signal, SIGCHLD ignored, a
 * reaped process's pidfd, select's bound, poll's copy-out, a vector's order, control data,
 * an open's descriptor, statx's flags, rt_sigtimedwait's timeout, mincore's ranges, and more */
static void on_usr1(int sig) { (void)sig; caught++; }

static void conformance2(int f, int p[2]);
static void rt_queue(void);
static void more_orders(int f);

static void conformance(void)
{
    long v[8];
    char buf[64];
    int f = open("fconf", O_CREAT | O_RDWR | O_TRUNC, 0600), p[2];
    pipe(p);
    v[0] = S2(SYS_fcntl, f, F_GETLEASE);
    v[1] = S3(SYS_fcntl, f, F_SETLEASE, F_UNLCK);
    v[2] = S3(SYS_fcntl, f, F_SETLEASE, F_RDLCK);
    v[3] = S3(SYS_fcntl, f, F_SETLEASE, F_WRLCK);
    v[4] = S2(SYS_fcntl, f, F_GETLEASE);
    v[5] = S3(SYS_fcntl, f, F_SETLEASE, 7);
    v[6] = S3(SYS_fcntl, f, F_SETLEASE, F_UNLCK);
    v[7] = S3(SYS_fcntl, p[0], F_SETLEASE, F_RDLCK);
    printf("lease: %ld; unlock none %ld, read on a writer %ld, write %ld, then %ld; bad %ld, "
           "unlock %ld; a pipe's %ld\n",
           v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    int m = (int)S2(SYS_memfd_create, "sealed", MFD_ALLOW_SEALING);
    write(m, "abcd", 4);
    v[0] = S2(SYS_fcntl, f, F_GET_SEALS);
    v[1] = S3(SYS_fcntl, m, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW);
    v[2] = S3(SYS_write, m, "x", 1);
    v[3] = S2(SYS_ftruncate, m, 100);
    v[4] = S2(SYS_ftruncate, m, 2);
    v[5] = S2(SYS_fcntl, m, F_GET_SEALS);
    void *map = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    v[6] = map == MAP_FAILED ? -errno : 0;
    v[7] = S3(SYS_fcntl, m, F_ADD_SEALS, 0x40);
    printf("seals: a tmpfs file's %ld; add %ld; write %ld, grow %ld, shrink %ld; %ld; shared "
           "writable map %ld; unknown %ld\n",
           v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    int plain = (int)S2(SYS_memfd_create, "plain", 0);
    int noexec = (int)S2(SYS_memfd_create, "noexec", 0x8 /* MFD_NOEXEC_SEAL */);
    v[0] = S3(SYS_fcntl, plain, F_ADD_SEALS, F_SEAL_SHRINK);
    v[1] = S2(SYS_fcntl, noexec, F_GET_SEALS);
    v[2] = S2(SYS_fchmod, noexec, 0755);
    v[3] = S2(SYS_memfd_create, "both", 0x18 /* MFD_EXEC | MFD_NOEXEC_SEAL */);
    uint64_t hint = 2, bad = 9, got = 0;
    v[4] = S3(SYS_fcntl, f, F_SET_RW_HINT, 8);
    v[5] = S3(SYS_fcntl, f, F_SET_RW_HINT, &bad);
    v[6] = S3(SYS_fcntl, f, F_SET_RW_HINT, &hint);
    v[7] = S3(SYS_fcntl, f, F_GET_RW_HINT, &got);
    printf("seals: sealed against sealing %ld; noexec %ld, chmod +x %ld; exec and noexec %ld\n",
           v[0], v[1], v[2], v[3]);
    printf("write hints: bad pointer %ld, bad hint %ld, set %ld, get %ld: %d\n", v[4], v[5],
           v[6], v[7], (int)got);
    close(plain), close(noexec), close(m);

    char *a = mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    v[0] = S2(SYS_mlock, a + 5 * 4096 + 0x652, 0x7000);
    v[1] = S3(SYS_madvise, a, 64 * 4096, MADV_DONTNEED);
    v[2] = S3(SYS_madvise, a, 64 * 4096, 24 /* MADV_DONTNEED_LOCKED */);
    v[3] = (long)mremap(a + 12 * 4096, 3 * 4096, 5 * 4096, 0);
    v[3] = v[3] == (long)MAP_FAILED ? -errno : 0;
    v[4] = S2(SYS_munlock, a, 64 * 4096);
    v[5] = (long)mremap(a + 12 * 4096, 3 * 4096, 5 * 4096, 0);
    v[5] = v[5] == (long)MAP_FAILED ? -errno : 0;
    munmap(a + 60 * 4096, 4 * 4096);
    v[6] = S2(SYS_mlock, a + 56 * 4096, 8 * 4096);
    v[7] = S3(SYS_madvise, a + 56 * 4096, 4096, MADV_DONTNEED);
    printf("locked: mlock %ld; DONTNEED %ld, DONTNEED_LOCKED %ld; mremap across %ld\n"
           "locked: munlock %ld, merged %ld; to a hole %ld, locked before it %ld\n",
           v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    munmap(a, 60 * 4096);

    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        for (;;)
            pause();
    }
    pid_t follower = fork();
    if (follower == 0)
        for (;;)
            pause();
    setpgid(leader, leader);
    int lead = (int)S2(SYS_pidfd_open, leader, 0), follow = (int)S2(SYS_pidfd_open, follower, 0);
    v[0] = S4(SYS_pidfd_send_signal, lead, 0, 0, 4 /* PIDFD_SIGNAL_PROCESS_GROUP */);
    v[1] = S4(SYS_pidfd_send_signal, follow, 0, 0, 4);
    kill(leader, SIGKILL), kill(follower, SIGKILL);
    struct pollfd pf = {follow, POLLIN, 0};
    waitpid(follower, 0, 0);
    struct timespec zero = {0, 0};
    v[2] = S5(SYS_ppoll, &pf, 1, &zero, 0, 8) == 1 ? pf.revents : -1;
    while (waitpid(leader, 0, 0) < 0 && errno == EINTR)
        ;
    pf.fd = lead, pf.revents = 0;
    v[3] = S5(SYS_ppoll, &pf, 1, &zero, 0, 8) == 1 ? pf.revents : -1;
    printf("pidfd: the group it leads %ld, none %ld; reaped: poll %#lx, %#lx\n", v[0], v[1],
           v[2], v[3]);
    close(lead), close(follow);
    conformance2(f, p);
    close(f), close(p[0]), close(p[1]);
    unlink("fconf");
}

static void conformance2(int f, int p[2])
{
    long v[8];
    char buf[64];
    pid_t kid = (pid_t)S5(SYS_clone, 0 /* no death signal */, 0, 0, 0, 0);
    if (kid == 0)
        _exit(3);
    int status = 0;
    v[0] = S4(SYS_wait4, kid, &status, 0, 0);
    v[1] = S4(SYS_wait4, kid, &status, 0x80000000 /* __WCLONE */, 0) == kid;
    v[2] = WEXITSTATUS(status);
    signal(SIGCHLD, SIG_IGN);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    v[3] = S4(SYS_wait4, -1, 0, 0, 0);
    signal(SIGCHLD, SIG_DFL);
    v[4] = S4(SYS_wait4, (long)INT32_MIN, 0, 0, 0);
    printf("clone, no death signal: wait %ld, __WCLONE %ld status %ld\n"
           "SIGCHLD ignored: wait %ld; wait4(INT_MIN) %ld\n",
           v[0], v[1], v[2], v[3], v[4]);

    uint64_t *set = calloc(16, 8);
    set[0] = 1UL << p[0];
    set[15] = 1; /* descriptor 960, past the file table */
    struct timespec zero = {0, 0};
    v[0] = S6(SYS_pselect6, 1024, set, 0, 0, &zero, 0);
    free(set);
    sigset_t usr1, none;
    sigemptyset(&usr1), sigemptyset(&none);
    sigaddset(&usr1, SIGUSR1);
    signal(SIGUSR1, on_usr1);
    sigprocmask(SIG_BLOCK, &usr1, 0);
    raise(SIGUSR1);
    struct pollfd *ro = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro->fd = p[0], ro->events = POLLIN;
    mprotect(ro, 4096, PROT_READ);
    caught = 0;
    v[1] = S5(SYS_ppoll, ro, 1, &zero, &none, 8);
    v[2] = caught;
    raise(SIGUSR1);
    struct timespec bad = {0, -1};
    v[3] = S4(SYS_rt_sigtimedwait, &usr1, 0xe00000001000UL, &bad, 8);
    v[4] = S4(SYS_rt_sigtimedwait, &usr1, 0, &zero, 8);
    sigprocmask(SIG_UNBLOCK, &usr1, 0);
    signal(SIGUSR1, SIG_DFL);
    printf("pselect6 past the file table %ld; ppoll, a handler, no room for the result %ld "
           "(caught %ld)\nrt_sigtimedwait, bad time %ld, then %ld\n",
           v[0], v[1], v[2], v[3], v[4]);

    char *two = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(two + 4096, 4096, PROT_NONE);
    struct iovec *iov = (struct iovec *)(two + 4096 - sizeof(struct iovec));
    iov->iov_base = buf, iov->iov_len = (size_t)-1;
    v[0] = S3(SYS_writev, p[1], iov, 2);
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    struct iovec one = {buf, 1};
    struct msghdr msg = {0, 0, &one, 1, (void *)8, 200000, 0};
    v[1] = S3(SYS_sendmsg, s[0], &msg, 0);
    v[2] = S5(SYS_fsetxattr, s[0], "security.s", "v", 1, 0);
    v[3] = S2(SYS_fremovexattr, s[0], "security.s");
    v[4] = S2(SYS_pipe2, p, 0200 /* O_NOTIFICATION_PIPE */);
    printf("writev, a negative length before a fault %ld\nsendmsg, control past optmem_max %ld\n"
           "a socket's security.*: set %ld, remove %ld; notification pipe %ld\n",
           v[0], v[1], v[2], v[3], v[4]);
    struct rlimit lim, few;
    getrlimit(RLIMIT_NOFILE, &lim);
    int next = dup(0);
    close(next);
    few.rlim_cur = (rlim_t)next, few.rlim_max = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &few);
    v[0] = S4(SYS_openat, -1, "fconf", O_RDONLY, 0);
    setrlimit(RLIMIT_NOFILE, &lim);
    v[1] = S5(SYS_statx, -1, "", AT_EMPTY_PATH | 0x40000000, 0, buf);
    v[2] = S5(SYS_statx, -1, "", AT_EMPTY_PATH, 0, buf);
    v[3] = S3(SYS_mincore, 0xe00000001000UL, 0, buf);
    v[4] = S3(SYS_mincore, two, 4096, 0xe00000001000UL);
    printf("openat, no descriptor left, a bad dirfd %ld; statx: bad flags, bad fd %ld, bad fd "
           "%ld\nmincore's ranges: the kernel's %ld, a kernel vector %ld\n",
           v[0], v[1], v[2], v[3], v[4]);
    int dir = open(".", O_RDONLY | O_DIRECTORY), pidfd = (int)S2(SYS_pidfd_open, getpid(), 0);
    v[0] = S6(SYS_preadv2, dir, 0xc587933e1c22f64aUL, 0, 0, 0, 0x3dfb539b);
    v[1] = S3(SYS_readahead, f, 0, 1UL << 63);
    v[2] = S6(SYS_copy_file_range, pidfd, 0, f, 0, 10, 0);
    v[3] = S2(SYS_ftruncate, pidfd, 1L << 40);
    v[4] = S2(SYS_ftruncate, pidfd, 10);
    printf("preadv2 of nothing %ld; readahead, a negative count %ld\ncopy_file_range from a "
           "pidfd %ld; ftruncate of a pidfd, large %ld, small %ld\n",
           v[0], v[1], v[2], v[3], v[4]);
    close(dir), close(pidfd), close(s[0]), close(s[1]);
    struct rlimit huge = {~1UL, lim.rlim_max}, fsize;
    getrlimit(RLIMIT_FSIZE, &fsize);
    huge.rlim_max = fsize.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &huge);
    v[0] = S3(SYS_write, f, "x", 1);
    v[1] = S2(SYS_ftruncate, f, 10);
    setrlimit(RLIMIT_FSIZE, &fsize);
    signal(SIGXFSZ, SIG_DFL);
    v[2] = S5(SYS_fsetxattr, AT_FDCWD, "user.fz", "v", 1, 0);
    v[3] = S4(SYS_fgetxattr, AT_FDCWD, "user.fz", buf, sizeof buf);
    v[4] = S3(SYS_flistxattr, AT_FDCWD, buf, sizeof buf);
    v[5] = S2(SYS_fremovexattr, AT_FDCWD, "user.fz");
    removexattr(".", "user.fz");
    printf("RLIMIT_FSIZE 2^64 - 2 (negative to a write): write %ld, ftruncate %ld\n", v[0], v[1]);
    printf("xattrs of AT_FDCWD: fsetxattr %ld, fgetxattr %ld, flistxattr %ld, fremovexattr "
           "%ld\n",
           v[2], v[3], v[4], v[5]);
    munmap(two, 8192);
    munmap(ro, 4096);
    more_orders(f);
    rt_queue();
}

/* a hard link of the working directory's empty path, F_DUPFD_CLOEXEC's int, clock_nanosleep's
 * order, fchmodat2's NULL path, a thread's pidfd, SO_NO_CHECK, setsockopt's level first */
static void more_orders(int f)
{
    long v[8];
    int one = 1, got = 0, s = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t len = sizeof got;
    v[0] = S5(SYS_linkat, AT_FDCWD, "", AT_FDCWD, "flink", AT_EMPTY_PATH);
    v[1] = S3(SYS_fcntl, f, F_DUPFD_CLOEXEC, (1L << 36) | 200);
    if (v[1] >= 0)
        close((int)v[1]), v[1] = v[1] >= 200;
    v[2] = S4(SYS_clock_nanosleep, -1, 0, 0, 0);
    v[3] = S4(SYS_clock_nanosleep, 12, 0, 0, 0);
    v[4] = S4(452 /* fchmodat2, the same on both */, AT_FDCWD, 0, 0600, AT_EMPTY_PATH);
    v[5] = S2(SYS_pidfd_open, getpid(), 0200 /* PIDFD_THREAD */);
    if (v[5] >= 0)
        close((int)v[5]), v[5] = 0;
    v[6] = S5(SYS_setsockopt, s, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);
    v[7] = S5(SYS_getsockopt, s, SOL_SOCKET, SO_NO_CHECK, &got, &len);
    printf("linkat of \"\" with AT_EMPTY_PATH, a directory %ld; F_DUPFD_CLOEXEC, high bits %ld\n",
           v[0], v[1]);
    printf("clock_nanosleep, no time: a CPU clock %ld, no clock %ld; fchmodat2 NULL %ld; "
           "PIDFD_THREAD %ld\n",
           v[2], v[3], v[4], v[5]);
    int ip = socket(AF_INET, SOCK_DGRAM, 0);
    v[0] = S5(SYS_setsockopt, ip, 4 /* IPPROTO_IPIP */, 1, 0, 4);
    v[1] = S5(SYS_setsockopt, ip, 17 /* IPPROTO_UDP */, 1, 0, 4);
    printf("SO_NO_CHECK %ld, %ld: %d; setsockopt, an unknown level %ld, UDP's, no value %ld\n",
           v[6], v[7], got, v[0], v[1]);
    close(s), close(ip);
}

/* real-time signals queue, each instance with its own siginfo, up to the user's
 * RLIMIT_SIGPENDING (a child as nobody, whose pending signals are its own) */
static void rt_queue(void)
{
    pid_t kid = fork();
    if (kid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(1);
        long v[12];
        int rt = SIGRTMIN + 2, n = 0;
        sigset_t set;
        sigemptyset(&set), sigaddset(&set, rt), sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, 0);
        struct rlimit two = {2, 2};
        setrlimit(RLIMIT_SIGPENDING, &two);
        siginfo_t info;
        for (int i = 0; i < 3; i++) {
            memset(&info, 0, sizeof info);
            info.si_signo = rt, info.si_code = SI_QUEUE, info.si_value.sival_int = 10 + i;
            v[n++] = S3(SYS_rt_sigqueueinfo, getpid(), rt, &info);
        }
        v[n++] = S2(SYS_kill, getpid(), rt); /* kill's SI_USER: never refused */
        v[n++] = S3(SYS_tgkill, getpid(), getpid(), SIGUSR2);
        v[n++] = S3(SYS_tgkill, getpid(), getpid(), SIGUSR2); /* standard: no second */
        struct timespec zero = {0, 0};
        int got[5], vals[5];
        for (int i = 0; i < 5; i++) {
            memset(&info, 0, sizeof info);
            got[i] = (int)S4(SYS_rt_sigtimedwait, &set, &info, &zero, 8);
            vals[i] = got[i] == rt ? info.si_code == SI_QUEUE ? info.si_value.sival_int : 0 : -1;
        }
        printf("rt signals: queued %ld %ld %ld, kill %ld; SIGUSR2 twice %ld %ld\n", v[0], v[1],
               v[2], v[3], v[4], v[5]);
        printf("rt signals taken: %d %d %d %d %d, values %d %d %d %d\n", got[0] - rt + 2,
               got[1] - rt + 2, got[2] - rt + 2, got[3] - rt + 2, got[4], vals[0], vals[1],
               vals[2], vals[3]);
        _exit(0);
    }
    waitpid(kid, 0, 0);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (chdir(dir)) {
        perror("chdir");
        return 1;
    }
    sleeps();
    ids();
    randomness();
    orders(dir);
    names();
    memory();
    writes();
    rules();
    signals();
    interrupted_at_once();
    clones();
    futexes();
    conformance();
    return 0;
}

/*
 * lpinit: the init process of the measurement initramfs. It runs each kernel
 * path many times between marker instructions that the kcount QEMU plugin
 * sees (hint #0x60 opens a counting window, #0x61 closes it, #0x62 writes the
 * counts of the windows closed since the previous dump). After each dump it
 * prints "@DUMP <seq> <round> <test> <n>" on the console so that the parser can
 * name the dump. Each operation runs in a window of its own; every test runs
 * with two iteration counts (N1 < N2) and the parser takes the difference, so
 * that what happens once per test (the first fault of a fresh mapping, say)
 * cancels.
 *
 * The operations use raw system calls (svc #0) where the C library would add
 * work of its own, so that what is counted is the kernel's path.
 *
 * Build: aarch64-linux-gnu-gcc -O2 -static -o init lpinit.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BEGIN() __asm__ volatile("hint #0x60" ::: "memory")
#define END() __asm__ volatile("hint #0x61" ::: "memory")
#define DUMPM() __asm__ volatile("hint #0x62" ::: "memory")

#define PAGE 4096UL
#define MB (1024UL * 1024UL)
#define GB (1024UL * MB)
/* fixed addresses, far from where the kernel puts mappings by itself */
#define AREA_FAULT (0x4000000000UL)  /* 256 GiB */
#define AREA_VMAS (0x5000000000UL)   /* 320 GiB */
#define AREA_FORK (0x6000000000UL)   /* 384 GiB */
#define AREA_SPARSE (0x7000000000UL) /* 448 GiB */

static long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#define sc(n, a, b, c, d, e) sc6(n, a, b, c, d, e, 0)

static int round_no;
static long dump_seq;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) {
        n = sizeof buf - 1;
    }
    if (write(1, buf, n) < 0) {
        _exit(1);
    }
}

static void dump(const char *test, long n)
{
    DUMPM();
    say("@DUMP %ld %d %s %ld\n", dump_seq++, round_no, test, n);
}

static void die(const char *what)
{
    say("@FAIL %s: %s\n", what, strerror(errno));
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static void *map_fixed(unsigned long addr, unsigned long len)
{
    void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)addr) {
        die("mmap fixed");
    }
    return p;
}

/* ---- 1. null system call ---- */
static void t_null(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_getppid, 0, 0, 0, 0, 0);
        END();
    }
}

/* ---- 2, 3. anonymous faults on a fresh mapping, n pages in one VMA ---- */
static void t_fault(long n, int write)
{
    volatile char *p = map_fixed(AREA_FAULT, n * PAGE);
    char s = 0;
    for (long i = 0; i < n; i++) {
        BEGIN();
        if (write) {
            p[i * PAGE] = 1;
        } else {
            s += p[i * PAGE];
        }
        END();
    }
    __asm__ volatile("" ::"r"(s));
    munmap((void *)p, n * PAGE);
}
static void t_rdfault(long n) { t_fault(n, 0); }
static void t_wrfault(long n) { t_fault(n, 1); }

/* ---- first write fault of a fresh VMA: n VMAs 4 MiB apart (own PTE table) ---- */
static void t_wrfault_vma(long n)
{
    for (long i = 0; i < n; i++) {
        map_fixed(AREA_VMAS + i * 4 * MB, 16 * PAGE);
    }
    for (long i = 0; i < n; i++) {
        BEGIN();
        *(volatile char *)(AREA_VMAS + i * 4 * MB) = 1;
        END();
    }
    for (long i = 0; i < n; i++) {
        munmap((void *)(AREA_VMAS + i * 4 * MB), 16 * PAGE);
    }
}

/* ---- 4. context switch: two processes pass a token over two pipes ---- */
static void t_ctx(long n)
{
    int a[2], b[2];
    char c = 'x';
    if (pipe(a) || pipe(b)) {
        die("pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        die("fork");
    }
    if (pid == 0) {
        close(a[1]);
        close(b[0]);
        for (;;) {
            if (sc(__NR_read, a[0], (long)&c, 1, 0, 0) != 1) {
                sc(__NR_exit_group, 0, 0, 0, 0, 0);
            }
            sc(__NR_write, b[1], (long)&c, 1, 0, 0);
        }
    }
    close(a[0]);
    close(b[1]);
    /* one exchange first so that the child is waiting in read() */
    sc(__NR_write, a[1], (long)&c, 1, 0, 0);
    sc(__NR_read, b[0], (long)&c, 1, 0, 0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_write, a[1], (long)&c, 1, 0, 0);
        sc(__NR_read, b[0], (long)&c, 1, 0, 0);
        END();
    }
    close(a[1]);
    close(b[0]);
    waitpid(pid, NULL, 0);
}

/* ---- 5. pipe write + read of one byte in one process (no switch) ---- */
static void t_pipe(long n)
{
    int a[2];
    char c = 'x';
    if (pipe(a)) {
        die("pipe");
    }
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_write, a[1], (long)&c, 1, 0, 0);
        sc(__NR_read, a[0], (long)&c, 1, 0, 0);
        END();
    }
    close(a[0]);
    close(a[1]);
}

/* ---- 6. fork + exit + wait: the child exits at once without touching memory ---- */
static long fork_exit(void)
{
    register long x8 __asm__("x8") = __NR_clone;
    register long x0 __asm__("x0") = SIGCHLD;
    register long x1 __asm__("x1") = 0;
    register long x2 __asm__("x2") = 0;
    register long x3 __asm__("x3") = 0;
    register long x4 __asm__("x4") = 0;
    __asm__ volatile("svc #0\n\t"
                     "cbnz x0, 1f\n\t"
                     "mov x8, #94\n\t" /* exit_group(0) */
                     "svc #0\n"
                     "1:"
                     : "+r"(x0), "+r"(x8)
                     : "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                     : "memory");
    return x0;
}

static void fork_loop(long n, void (*redirty)(void))
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long pid = fork_exit();
        sc(__NR_wait4, pid, 0, 0, 0, 0);
        END();
        if (redirty) {
            redirty();
        }
    }
}

static void t_fork(long n) { fork_loop(n, NULL); }

/* extra state in the forking process: fork cost as a function of it */
static long extra_vmas, extra_pages, extra_sparse;
static int extra_touch;

static void redirty(void)
{
    if (extra_touch) {
        for (long i = 0; i < extra_vmas; i++) {
            *(volatile char *)(AREA_VMAS + i * 2 * PAGE) = 1;
        }
    }
    for (long i = 0; i < extra_pages; i++) {
        *(volatile char *)(AREA_FORK + i * PAGE) = 1;
    }
    for (long i = 0; i < extra_sparse; i++) {
        *(volatile char *)(AREA_SPARSE + i * 2 * MB) = 1;
    }
}

static void setup_extra(long vmas, int touch, long pages, long sparse)
{
    extra_vmas = vmas;
    extra_touch = touch;
    extra_pages = pages;
    extra_sparse = sparse;
    for (long i = 0; i < vmas; i++) {
        /* one page each with a one-page hole: the VMAs cannot merge */
        map_fixed(AREA_VMAS + i * 2 * PAGE, PAGE);
    }
    if (pages) {
        map_fixed(AREA_FORK, pages * PAGE);
    }
    if (sparse) {
        map_fixed(AREA_SPARSE, sparse * 2 * MB);
    }
    redirty();
}

static void teardown_extra(void)
{
    for (long i = 0; i < extra_vmas; i++) {
        munmap((void *)(AREA_VMAS + i * 2 * PAGE), PAGE);
    }
    if (extra_pages) {
        munmap((void *)AREA_FORK, extra_pages * PAGE);
    }
    if (extra_sparse) {
        munmap((void *)AREA_SPARSE, extra_sparse * 2 * MB);
    }
    extra_vmas = extra_pages = extra_sparse = 0;
}

static void t_fork_extra(long n) { fork_loop(n, redirty); }

/* ---- 7. thread create + exit + join, raw clone and futex ---- */
static char thread_stack[64 * 1024] __attribute__((aligned(16)));

static void t_thread(long n)
{
    volatile int tid_word = 0;
    unsigned long tp;
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
    const long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                       CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                       CLONE_CHILD_CLEARTID;
    for (long i = 0; i < n; i++) {
        BEGIN();
        register long x8 __asm__("x8") = __NR_clone;
        register long x0 __asm__("x0") = flags;
        register long x1 __asm__("x1") = (long)(thread_stack + sizeof thread_stack);
        register long x2 __asm__("x2") = (long)&tid_word; /* parent tid */
        register long x3 __asm__("x3") = (long)tp;        /* tls */
        register long x4 __asm__("x4") = (long)&tid_word; /* child tid, cleared at exit */
        __asm__ volatile("svc #0\n\t"
                         "cbnz x0, 1f\n\t"
                         "mov x0, #0\n\t"
                         "mov x8, #93\n\t" /* exit(0): this thread only */
                         "svc #0\n"
                         "1:"
                         : "+r"(x0), "+r"(x8)
                         : "r"(x1), "r"(x2), "r"(x3), "r"(x4)
                         : "memory");
        int t;
        while ((t = tid_word) != 0) {
            sc(__NR_futex, (long)&tid_word, FUTEX_WAIT, t, 0, 0);
        }
        END();
    }
}

static void *thread_fn(void *arg) { return arg; }

static void t_pthread(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t th;
        BEGIN();
        if (pthread_create(&th, NULL, thread_fn, NULL)) {
            die("pthread_create");
        }
        pthread_join(th, NULL);
        END();
    }
}

/* ---- 8. execve: the window opens in the child just before execve and closes at
 * the first instruction of the new image (its entry point is the END marker) ---- */
static char *const exec_env[] = {"HOME=/", "TERM=linux", NULL};

static void exec_loop(long n, const char *path)
{
    char *const argv[] = {(char *)path, NULL};
    for (long i = 0; i < n; i++) {
        long pid = sc(__NR_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) {
            BEGIN();
            sc(__NR_execve, (long)path, (long)argv, (long)exec_env, 0, 0);
            sc(__NR_exit_group, 127, 0, 0, 0, 0);
        }
        int st = 0;
        sc(__NR_wait4, pid, (long)&st, 0, 0, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            say("@WARN exec %s status %x\n", path, st);
        }
    }
}
static void t_exec_tiny(long n) { exec_loop(n, "/tiny_m"); }
static void t_exec_glibc(long n) { exec_loop(n, "/hello_m"); }

/* fork + execve + exit + wait of the tiny program, all in one window */
static void t_spawn(long n)
{
    char *const argv[] = {"/tiny", NULL};
    for (long i = 0; i < n; i++) {
        BEGIN();
        long pid = sc(__NR_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) {
            sc(__NR_execve, (long)"/tiny", (long)argv, (long)exec_env, 0, 0);
            sc(__NR_exit_group, 127, 0, 0, 0, 0);
        }
        sc(__NR_wait4, pid, 0, 0, 0, 0);
        END();
    }
}

/* ---- 9. mmap + munmap of an anonymous 64 KiB region ---- */
static void mmap_loop(long n, int touch)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long p = sc6(__NR_mmap, 0, 16 * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (touch) {
            *(volatile char *)p = 1;
        }
        sc(__NR_munmap, p, 16 * PAGE, 0, 0, 0);
        END();
    }
}
static void t_mmap(long n) { mmap_loop(n, 0); }
static void t_mmap_touch(long n) { mmap_loop(n, 1); }

/* ---- 10. the file system: paths, descriptors, data (a tmpfs on /t, set up in main) ---- */
#define T_SHALLOW "/t/f1"              /* 2 components */
#define T_DEEP "/t/a/b/c/d/e/f/f8"     /* 8 components */
#define T_DATA "/t/data"               /* DATA_PAGES pages, all written */
#define DATA_PAGES 16
static int data_fd = -1; /* the data file, opened by each test's child on first use */
static char iobuf[DATA_PAGES * PAGE] __attribute__((aligned(64)));

static void need_data(void)
{
    if (data_fd < 0) {
        data_fd = (int)sc(__NR_openat, AT_FDCWD, (long)T_DATA, O_RDWR, 0, 0);
        if (data_fd < 0) {
            die(T_DATA);
        }
    }
}

static void open_loop(long n, const char *path)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long fd = sc(__NR_openat, AT_FDCWD, (long)path, O_RDONLY, 0, 0);
        sc(__NR_close, fd, 0, 0, 0, 0);
        END();
    }
}
static void t_open2(long n) { open_loop(n, T_SHALLOW); }
static void t_open8(long n) { open_loop(n, T_DEEP); }

static void stat_loop(long n, const char *path)
{
    struct stat st;
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_newfstatat, AT_FDCWD, (long)path, (long)&st, 0, 0);
        END();
    }
}
static void t_stat2(long n) { stat_loop(n, T_SHALLOW); }
static void t_stat8(long n) { stat_loop(n, T_DEEP); }

static void t_fstat(long n)
{
    struct stat st;
    need_data();
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_fstat, data_fd, (long)&st, 0, 0, 0);
        END();
    }
}

/* pread64 / pwrite64 of `len` bytes at offset 0 of the data file (its pages exist) */
static void rw_loop(long n, long nr, long len)
{
    need_data();
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(nr, data_fd, (long)iobuf, len, 0, 0);
        END();
    }
}
static void t_pread1(long n) { rw_loop(n, __NR_pread64, 1); }
static void t_pread4k(long n) { rw_loop(n, __NR_pread64, PAGE); }
static void t_pread64k(long n) { rw_loop(n, __NR_pread64, DATA_PAGES * PAGE); }
static void t_pwrite1(long n) { rw_loop(n, __NR_pwrite64, 1); }
static void t_pwrite4k(long n) { rw_loop(n, __NR_pwrite64, PAGE); }
static void t_pwrite64k(long n) { rw_loop(n, __NR_pwrite64, DATA_PAGES * PAGE); }

/* one byte written at the start of a page the file does not have yet: a page-cache
 * insertion each time (the file grows a page per operation; truncated afterwards) */
static void t_pwrite_newpage(long n)
{
    long fd = sc(__NR_openat, AT_FDCWD, (long)"/t/grow", O_RDWR | O_CREAT | O_TRUNC, 0600, 0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_pwrite64, fd, (long)iobuf, 1, i * PAGE, 0);
        END();
    }
    sc(__NR_ftruncate, fd, 0, 0, 0, 0);
    sc(__NR_close, fd, 0, 0, 0, 0);
}

/* write(4 KiB) + read(4 KiB) on one pipe in one process */
static void t_pipe4k(long n)
{
    int a[2];
    if (pipe(a)) {
        die("pipe");
    }
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_write, a[1], (long)iobuf, PAGE, 0, 0);
        sc(__NR_read, a[0], (long)iobuf, PAGE, 0, 0);
        END();
    }
    close(a[0]);
    close(a[1]);
}

/* pipe2 + close of both ends: a pipe made and freed */
static void t_pipe_make(long n)
{
    int a[2];
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_pipe2, (long)a, 0, 0, 0, 0);
        sc(__NR_close, a[0], 0, 0, 0, 0);
        sc(__NR_close, a[1], 0, 0, 0, 0);
        END();
    }
}

/* dup + close: a descriptor allocated and released (the file stays open) */
static void t_dup_close(long n)
{
    need_data();
    for (long i = 0; i < n; i++) {
        BEGIN();
        long fd = sc(__NR_dup, data_fd, 0, 0, 0, 0);
        sc(__NR_close, fd, 0, 0, 0, 0);
        END();
    }
}

/* openat(O_CREAT|O_EXCL) + close + unlinkat of a file in the tmpfs */
static void t_creat_unlink(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long fd = sc(__NR_openat, AT_FDCWD, (long)"/t/new", O_RDWR | O_CREAT | O_EXCL, 0600, 0);
        sc(__NR_close, fd, 0, 0, 0, 0);
        sc(__NR_unlinkat, AT_FDCWD, (long)"/t/new", 0, 0, 0);
        END();
    }
}

/* lseek to 0 + getdents64 of a directory with `entries` files (and . and ..) */
static void getdents_loop(long n, const char *dir)
{
    static char dents[64 * 1024] __attribute__((aligned(8)));
    long fd = sc(__NR_openat, AT_FDCWD, (long)dir, O_RDONLY | O_DIRECTORY, 0, 0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_lseek, fd, 0, SEEK_SET, 0, 0);
        sc(__NR_getdents64, fd, (long)dents, sizeof dents, 0, 0);
        END();
    }
    sc(__NR_close, fd, 0, 0, 0, 0);
}
static void t_getdents0(long n) { getdents_loop(n, "/t/d0"); }
static void t_getdents64(long n) { getdents_loop(n, "/t/d64"); }

/* ---- 11. memory: VMA edits, brk, mremap, unmapping written pages ---- */
#define AREA_EDIT (0x8000000000UL) /* 512 GiB */

/* mprotect of a whole untouched 16-page VMA to read-only and back */
static void t_mprotect(long n)
{
    map_fixed(AREA_EDIT, 16 * PAGE);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_mprotect, AREA_EDIT, 16 * PAGE, PROT_READ, 0, 0);
        sc(__NR_mprotect, AREA_EDIT, 16 * PAGE, PROT_READ | PROT_WRITE, 0, 0);
        END();
    }
    munmap((void *)AREA_EDIT, 16 * PAGE);
}

/* mprotect of one page in the middle (a split into three VMAs) and back (a merge) */
static void t_mprotect_split(long n)
{
    map_fixed(AREA_EDIT, 16 * PAGE);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_mprotect, AREA_EDIT + 8 * PAGE, PAGE, PROT_READ, 0, 0);
        sc(__NR_mprotect, AREA_EDIT + 8 * PAGE, PAGE, PROT_READ | PROT_WRITE, 0, 0);
        END();
    }
    munmap((void *)AREA_EDIT, 16 * PAGE);
}

/* brk up by a page and back, untouched */
static void t_brk(long n)
{
    long cur = sc(__NR_brk, 0, 0, 0, 0, 0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_brk, cur + PAGE, 0, 0, 0, 0);
        sc(__NR_brk, cur, 0, 0, 0, 0);
        END();
    }
}

/* mremap of an untouched 16-page VMA to 32 pages in place and back */
static void t_mremap(long n)
{
    map_fixed(AREA_EDIT, 16 * PAGE);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_mremap, AREA_EDIT, 16 * PAGE, 32 * PAGE, 0, 0);
        sc(__NR_mremap, AREA_EDIT, 32 * PAGE, 16 * PAGE, 0, 0);
        END();
    }
    munmap((void *)AREA_EDIT, 16 * PAGE);
}

/* mmap + write every one of 16 pages + munmap (with mmap_touch: per page unmapped) */
static void t_mmap_touch16(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long p = sc6(__NR_mmap, 0, 16 * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (long k = 0; k < 16; k++) {
            *(volatile char *)(p + k * PAGE) = 1;
        }
        sc(__NR_munmap, p, 16 * PAGE, 0, 0, 0);
        END();
    }
}

/* ---- 12. processes: futex, signals, credentials ---- */
static int futex_word;

/* FUTEX_WAKE with nobody waiting: the hash lookup and nothing to wake */
static void t_futex_wake(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_futex, (long)&futex_word, FUTEX_WAKE_PRIVATE, 1, 0, 0);
        END();
    }
}

static volatile long caught;
static void on_usr1(int sig) { caught += sig; }

/* kill(self, SIGUSR1) with a handler: sending, the frame built on return to user, the
 * handler, rt_sigreturn */
static void t_signal(long n)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    long pid = sc(__NR_getpid, 0, 0, 0, 0, 0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_kill, pid, SIGUSR1, 0, 0, 0);
        END();
    }
    signal(SIGUSR1, SIG_DFL);
}

/* rt_sigaction (set and get the old action) */
static void t_sigaction(long n)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_rt_sigaction, SIGUSR2, (long)&sa, (long)&old, 8, 0);
        END();
    }
}

/* rt_sigprocmask(SIG_SETMASK) with the old mask returned */
static void t_sigprocmask(long n)
{
    uint64_t set = 0, old;
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_rt_sigprocmask, SIG_SETMASK, (long)&set, (long)&old, 8, 0);
        END();
    }
}

/* setresuid(-1, -1, -1): new credentials prepared and committed, nothing changed */
static void t_setresuid(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_setresuid, -1, -1, -1, 0, 0);
        END();
    }
}

/* ---- 13. the console: write one newline to /dev/console (ttyAMA0, PL011) ---- */
static void t_console(long n)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc(__NR_write, 1, (long)"\n", 1, 0, 0);
        END();
    }
}

/* ---- sockets (after the rest, on the loopback setup_net() brings up) ---- */
static void setup_net(void)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) {
        die("lo flags");
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr)) {
        die("lo up");
    }
    close(s);
}

static struct sockaddr_in lo_addr(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* a TCP listener on the loopback (an ephemeral port), its address in `a` */
static int tcp_listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    *a = lo_addr(0);
    socklen_t len = sizeof *a;
    if (l < 0 || bind(l, (struct sockaddr *)a, len) || listen(l, 128) ||
        getsockname(l, (struct sockaddr *)a, &len)) {
        die("tcp listener");
    }
    return l;
}

/* a connected TCP pair on the loopback, Nagle off (each byte goes at once) */
static void tcp_pair(int fds[2])
{
    struct sockaddr_in a;
    int l = tcp_listener(&a), one = 1;
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fds[0], (struct sockaddr *)&a, sizeof a)) {
        die("tcp connect");
    }
    fds[1] = accept(l, NULL, NULL);
    if (fds[1] < 0) {
        die("tcp accept");
    }
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
}

/* one byte sent on fds[0] and received on fds[1] (sendto and recvfrom, no address) */
static void send_recv(const int fds[2], long n, long bytes)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc6(__NR_sendto, fds[0], (long)iobuf, bytes, 0, 0, 0);
        sc6(__NR_recvfrom, fds[1], (long)iobuf, bytes, 0, 0, 0);
        END();
    }
    close(fds[0]);
    close(fds[1]);
}

static void t_sk_unix(long n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        die("socketpair");
    }
    send_recv(sv, n, 1);
}

static void t_sk_unix4k(long n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        die("socketpair");
    }
    send_recv(sv, n, PAGE);
}

static void t_sk_unix_dgram(long n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) {
        die("socketpair");
    }
    send_recv(sv, n, 1);
}

static void t_sk_tcp(long n)
{
    int fds[2];
    tcp_pair(fds);
    send_recv(fds, n, 1);
}

static void t_sk_udp(long n)
{
    int fds[2] = {socket(AF_INET, SOCK_DGRAM, 0), socket(AF_INET, SOCK_DGRAM, 0)};
    struct sockaddr_in a = lo_addr(0);
    socklen_t len = sizeof a;
    if (bind(fds[1], (struct sockaddr *)&a, len) || getsockname(fds[1], (struct sockaddr *)&a, &len) ||
        connect(fds[0], (struct sockaddr *)&a, len)) {
        die("udp pair");
    }
    send_recv(fds, n, 1);
}

/* socket + close */
static void make_close(long n, int family, int type)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long fd = sc(__NR_socket, family, type, 0, 0, 0);
        sc(__NR_close, fd, 0, 0, 0, 0);
        END();
    }
}

static void t_sk_unix_make(long n) { make_close(n, AF_UNIX, SOCK_STREAM); }
static void t_sk_tcp_make(long n) { make_close(n, AF_INET, SOCK_STREAM); }
static void t_sk_udp_make(long n) { make_close(n, AF_INET, SOCK_DGRAM); }

/* socket + connect + accept + close of both ends, to a listener set up before */
static void connect_accept(long n, int l, int family, const struct sockaddr *a, socklen_t len)
{
    for (long i = 0; i < n; i++) {
        BEGIN();
        long c = sc(__NR_socket, family, SOCK_STREAM, 0, 0, 0);
        sc(__NR_connect, c, (long)a, len, 0, 0);
        long s = sc(__NR_accept, l, 0, 0, 0, 0);
        sc(__NR_close, c, 0, 0, 0, 0);
        sc(__NR_close, s, 0, 0, 0, 0);
        END();
    }
    close(l);
}

static void t_sk_unix_conn(long n)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path + 1, "lp", 2);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 3;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, len) || listen(l, 128)) {
        die("unix listener");
    }
    connect_accept(n, l, AF_UNIX, (struct sockaddr *)&a, len);
}

static void t_sk_tcp_conn(long n)
{
    struct sockaddr_in a;
    int l = tcp_listener(&a);
    connect_accept(n, l, AF_INET, (struct sockaddr *)&a, sizeof a);
}

/* socket + bind (127.0.0.1, an ephemeral port) + listen + close */
static void t_sk_bind_listen(long n)
{
    struct sockaddr_in a = lo_addr(0);
    for (long i = 0; i < n; i++) {
        BEGIN();
        long s = sc(__NR_socket, AF_INET, SOCK_STREAM, 0, 0, 0);
        sc(__NR_bind, s, (long)&a, sizeof a, 0, 0);
        sc(__NR_listen, s, 16, 0, 0, 0);
        sc(__NR_close, s, 0, 0, 0, 0);
        END();
    }
}

/* setsockopt(SO_RCVBUF) + getsockopt(SO_RCVBUF) + getsockname on a TCP socket */
static void t_sk_opt(long n)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), v = 65536;
    socklen_t vlen = sizeof v;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    for (long i = 0; i < n; i++) {
        BEGIN();
        sc6(__NR_setsockopt, s, SOL_SOCKET, SO_RCVBUF, (long)&v, sizeof v, 0);
        sc6(__NR_getsockopt, s, SOL_SOCKET, SO_RCVBUF, (long)&v, (long)&vlen, 0);
        sc(__NR_getsockname, s, (long)&a, (long)&alen, 0, 0);
        END();
        v = 65536, vlen = sizeof v, alen = sizeof a;
    }
    close(s);
}

/* sendmsg of one byte and one descriptor (SCM_RIGHTS) + recvmsg + close of the descriptor
 * received */
static void t_sk_scm(long n)
{
    int sv[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p)) {
        die("socketpair");
    }
    char control[CMSG_SPACE(sizeof(int))], rcontrol[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {iobuf, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int)); /* a pipe's end: not a socket in flight */
    struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = rcontrol};
    for (long i = 0; i < n; i++) {
        r.msg_controllen = sizeof rcontrol;
        BEGIN();
        sc(__NR_sendmsg, sv[0], (long)&m, 0, 0, 0);
        sc(__NR_recvmsg, sv[1], (long)&r, 0, 0, 0);
        int fd;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&r)), sizeof fd);
        sc(__NR_close, fd, 0, 0, 0, 0);
        END();
    }
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* a file of `bytes` bytes, written from a mapping of its own (the process's own memory,
 * which fork copies, stays as the older paths measured it) */
static void make_file(const char *path, long bytes)
{
    long fd = sc(__NR_openat, AT_FDCWD, (long)path, O_RDWR | O_CREAT | O_TRUNC, 0600, 0);
    if (fd < 0) {
        die(path);
    }
    if (bytes) {
        char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED) {
            die("mmap");
        }
        memset(buf, 'x', bytes);
        if (sc(__NR_write, fd, (long)buf, bytes, 0, 0) != bytes) {
            die("write");
        }
        munmap(buf, bytes);
    }
    sc(__NR_close, fd, 0, 0, 0, 0);
}

/* /t: a tmpfs with the files and directories the tests above use (they run in children of
 * their own, so that the process the older paths measure keeps its memory and files) */
static void setup_files(void)
{
    if (mkdir("/t", 0755) || mount("tmpfs", "/t", "tmpfs", 0, NULL)) {
        die("tmpfs on /t");
    }
    const char *dirs[] = {"/t/a", "/t/a/b", "/t/a/b/c", "/t/a/b/c/d", "/t/a/b/c/d/e",
                          "/t/a/b/c/d/e/f", "/t/d0", "/t/d64"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (mkdir(dirs[i], 0755)) {
            die(dirs[i]);
        }
    }
    make_file(T_SHALLOW, 0);
    make_file(T_DEEP, 0);
    make_file(T_DATA, DATA_PAGES * PAGE);
    for (int i = 0; i < 64; i++) {
        char name[32];
        snprintf(name, sizeof name, "/t/d64/file%02d", i);
        make_file(name, 0);
    }
}

/* ---- timer tick: a user-mode spin, n million loop iterations ---- */
static void t_spin(long n)
{
    BEGIN();
    for (long i = 0; i < n * 1000000L; i++) {
        __asm__ volatile("" ::: "memory");
    }
    END();
}

/* ---- driver ---- */
struct test {
    const char *name;
    void (*fn)(long);
    long n1, n2;
    long vmas, pages, sparse; /* extra state for the fork family */
    int touch;
    int in_child; /* run the test in a child process */
};

static const struct test tests[] = {
    {"null", t_null, 2000, 6000, 0, 0, 0, 0, 0},
    {"rdfault", t_rdfault, 512, 1536, 0, 0, 0, 0, 0},
    {"wrfault", t_wrfault, 512, 1536, 0, 0, 0, 0, 0},
    {"wrfault_vma", t_wrfault_vma, 64, 192, 0, 0, 0, 0, 0},
    {"ctx", t_ctx, 500, 1500, 0, 0, 0, 0, 0},
    {"pipe", t_pipe, 1000, 3000, 0, 0, 0, 0, 0},
    {"fork", t_fork, 40, 120, 0, 0, 0, 0, 0},
    {"fork_vmas256_untouched", t_fork_extra, 20, 60, 256, 0, 0, 0, 0},
    {"fork_vmas256_touched", t_fork_extra, 20, 60, 256, 0, 0, 1, 0},
    {"fork_pages1024", t_fork_extra, 20, 60, 0, 1024, 0, 0, 0},
    {"fork_pages4096", t_fork_extra, 20, 60, 0, 4096, 0, 0, 0},
    {"fork_sparse64", t_fork_extra, 20, 60, 0, 0, 64, 0, 0},
    {"thread", t_thread, 100, 300, 0, 0, 0, 0, 0},
    {"pthread", t_pthread, 100, 300, 0, 0, 0, 0, 1},
    {"exec_tiny", t_exec_tiny, 20, 60, 0, 0, 0, 0, 0},
    {"exec_glibc", t_exec_glibc, 20, 60, 0, 0, 0, 0, 0},
    {"spawn_tiny", t_spawn, 20, 60, 0, 0, 0, 0, 0},
    {"mmap", t_mmap, 500, 1500, 0, 0, 0, 0, 0},
    {"mmap_touch", t_mmap_touch, 500, 1500, 0, 0, 0, 0, 0},
    {"spin", t_spin, 20, 60, 0, 0, 0, 0, 0},
};

/* the file-system, memory and process calls: after every round of the paths above (so that
 * those run as they did before these existed), on the tmpfs setup_files() makes, each in a
 * child of its own */
static const struct test later_tests[] = {
    {"open2", t_open2, 500, 1500, 0, 0, 0, 0, 1},
    {"open8", t_open8, 500, 1500, 0, 0, 0, 0, 1},
    {"stat2", t_stat2, 500, 1500, 0, 0, 0, 0, 1},
    {"stat8", t_stat8, 500, 1500, 0, 0, 0, 0, 1},
    {"fstat", t_fstat, 1000, 3000, 0, 0, 0, 0, 1},
    {"pread1", t_pread1, 1000, 3000, 0, 0, 0, 0, 1},
    {"pread4k", t_pread4k, 1000, 3000, 0, 0, 0, 0, 1},
    {"pread64k", t_pread64k, 250, 750, 0, 0, 0, 0, 1},
    {"pwrite1", t_pwrite1, 1000, 3000, 0, 0, 0, 0, 1},
    {"pwrite4k", t_pwrite4k, 1000, 3000, 0, 0, 0, 0, 1},
    {"pwrite64k", t_pwrite64k, 250, 750, 0, 0, 0, 0, 1},
    {"pwrite_newpage", t_pwrite_newpage, 500, 1500, 0, 0, 0, 0, 1},
    {"pipe4k", t_pipe4k, 500, 1500, 0, 0, 0, 0, 1},
    {"pipe_make", t_pipe_make, 500, 1500, 0, 0, 0, 0, 1},
    {"dup_close", t_dup_close, 1000, 3000, 0, 0, 0, 0, 1},
    {"creat_unlink", t_creat_unlink, 500, 1500, 0, 0, 0, 0, 1},
    {"getdents0", t_getdents0, 500, 1500, 0, 0, 0, 0, 1},
    {"getdents64", t_getdents64, 500, 1500, 0, 0, 0, 0, 1},
    {"mprotect", t_mprotect, 500, 1500, 0, 0, 0, 0, 1},
    {"mprotect_split", t_mprotect_split, 500, 1500, 0, 0, 0, 0, 1},
    {"brk", t_brk, 500, 1500, 0, 0, 0, 0, 1},
    {"mremap", t_mremap, 500, 1500, 0, 0, 0, 0, 1},
    {"mmap_touch16", t_mmap_touch16, 250, 750, 0, 0, 0, 0, 1},
    {"futex_wake", t_futex_wake, 1000, 3000, 0, 0, 0, 0, 1},
    {"signal", t_signal, 500, 1500, 0, 0, 0, 0, 1},
    {"sigaction", t_sigaction, 1000, 3000, 0, 0, 0, 0, 1},
    {"sigprocmask", t_sigprocmask, 1000, 3000, 0, 0, 0, 0, 1},
    {"setresuid", t_setresuid, 1000, 3000, 0, 0, 0, 0, 1},
    {"console", t_console, 200, 600, 0, 0, 0, 0, 1},
};

/* the socket calls: after those, on the loopback setup_net() brings up, each in a child of
 * its own */
static const struct test socket_tests[] = {
    {"sk_unix_rt", t_sk_unix, 1000, 3000, 0, 0, 0, 0, 1},
    {"sk_unix4k_rt", t_sk_unix4k, 500, 1500, 0, 0, 0, 0, 1},
    {"sk_unix_dgram_rt", t_sk_unix_dgram, 1000, 3000, 0, 0, 0, 0, 1},
    {"sk_tcp_rt", t_sk_tcp, 1000, 3000, 0, 0, 0, 0, 1},
    {"sk_udp_rt", t_sk_udp, 1000, 3000, 0, 0, 0, 0, 1},
    {"sk_unix_make", t_sk_unix_make, 500, 1500, 0, 0, 0, 0, 1},
    {"sk_tcp_make", t_sk_tcp_make, 500, 1500, 0, 0, 0, 0, 1},
    {"sk_udp_make", t_sk_udp_make, 500, 1500, 0, 0, 0, 0, 1},
    {"sk_unix_conn", t_sk_unix_conn, 250, 750, 0, 0, 0, 0, 1},
    {"sk_tcp_conn", t_sk_tcp_conn, 250, 750, 0, 0, 0, 0, 1},
    {"sk_bind_listen", t_sk_bind_listen, 250, 750, 0, 0, 0, 0, 1},
    {"sk_opt", t_sk_opt, 1000, 3000, 0, 0, 0, 0, 1},
    {"sk_scm", t_sk_scm, 500, 1500, 0, 0, 0, 0, 1},
};

static void cat(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("@INFO %s: %s\n", path, strerror(errno));
        return;
    }
    long n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (write(1, buf, n) < 0) {
            break;
        }
    }
    close(fd);
}

static void info(void)
{
    say("@INFO begin\n");
    cat("/proc/version");
    cat("/proc/cmdline");
    DIR *d = opendir("/sys/devices/system/cpu/vulnerabilities");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') {
                continue;
            }
            char path[300];
            snprintf(path, sizeof path, "/sys/devices/system/cpu/vulnerabilities/%s",
                     e->d_name);
            say("vulnerability %s: ", e->d_name);
            cat(path);
        }
        closedir(d);
    }
    cat("/sys/kernel/mm/transparent_hugepage/enabled");
    cat("/proc/sys/kernel/sched_child_runs_first");
    cat("/proc/cpuinfo");
    cat("/proc/self/maps");
    say("@INFO end\n");
}

/* each test of `list` in every round: a warm-up, then N1 and N2 operations */
static void run_tests(const struct test *list, size_t n, int rounds, const char *only)
{
    for (round_no = 0; round_no < rounds; round_no++) {
        for (size_t k = 0; k < n; k++) {
            const struct test *t = &list[k];
            if (only && !strstr(only, t->name)) {
                continue;
            }
            /* a test that leaves mappings behind (glibc keeps a thread's stack for the
             * next thread) runs in a child, so that the tests after it, and the next
             * round, see the same process */
            pid_t child = t->in_child ? fork() : 0;
            if (child < 0) {
                die("fork");
            }
            if (child == 0) {
                int extra = t->vmas || t->pages || t->sparse;
                if (extra) {
                    setup_extra(t->vmas, t->touch, t->pages, t->sparse);
                }
                t->fn(t->n1 / 4 > 0 ? t->n1 / 4 : 1); /* warm-up */
                dump("warmup", 0);
                t->fn(t->n1);
                dump(t->name, t->n1);
                t->fn(t->n2);
                dump(t->name, t->n2);
                if (extra) {
                    teardown_extra();
                }
                if (t->in_child) {
                    _exit(0);
                }
            } else {
                waitpid(child, NULL, 0);
                dump_seq += 3; /* the child's dumps */
            }
        }
    }
}

int main(int argc, char **argv)
{
    int rounds = 2;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "rounds=", 7) == 0) {
            rounds = atoi(argv[i] + 7);
        } else if (strncmp(argv[i], "only=", 5) == 0) {
            only = argv[i] + 5;
        }
    }
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    info();
    say("@START rounds=%d\n", rounds);
    run_tests(tests, sizeof tests / sizeof tests[0], rounds, only);
    setup_files();
    run_tests(later_tests, sizeof later_tests / sizeof later_tests[0], rounds, only);
    setup_net();
    run_tests(socket_tests, sizeof socket_tests / sizeof socket_tests[0], rounds, only);
    say("@DONE\n");
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}


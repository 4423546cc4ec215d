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
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
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
    for (round_no = 0; round_no < rounds; round_no++) {
        for (size_t k = 0; k < sizeof tests / sizeof tests[0]; k++) {
            const struct test *t = &tests[k];
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
    say("@DONE\n");
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}

/* lat [OP] [N] [WARM]: N iterations of one operating-system operation, lmbench style, for
 * `hmk bench` and `hmk paper`.
 *
 *   null        getppid() (lmbench's "null syscall")
 *   getpid      the getpid system call (glibc no longer caches it)
 *   read        read 1 byte from /dev/null
 *   write       write 1 byte to /dev/null
 *   open        open /etc/passwd read-only and close it
 *   stat        stat /etc/passwd
 *   pipe        a 1-byte round trip through two pipes to a forked child and back
 *   pipe-self   write 1 byte into a pipe and read it back in the same process (the overhead
 *               lmbench's lat_ctx subtracts from a pipe ring)
 *   fault-read  first read of each of N fresh anonymous pages (a minor fault each)
 *   fault-write first write of each of N fresh anonymous pages
 *   mmap        mmap 64 KiB of anonymous memory (untouched) and munmap it
 *   fork        fork, the child _exits at once, the parent waits
 *   exec        fork, the child execs /bin/exitcode 0, the parent waits
 *   thread      pthread_create of an empty function and pthread_join
 *
 * Defaults: null 1000. Prints `lat: op=OP n=N ok=N` (ok counts the iterations whose results
 * were right) and exits 0; an operation that fails prints what failed on stderr and exits 1.
 * The cost of one operation is the difference between runs with two values of N divided by
 * their difference: start-up, the first calls' cold misses and the exit cancel out.
 *
 * Timed mode (a third argument, WARM): the program times itself. It runs WARM iterations to
 * warm up, then N more between two reads of CLOCK_MONOTONIC (after the operation's set-up and
 * before its tear-down), less the shortest of three empty pairs of reads, and prints
 * `lat: op=OP n=N warm=WARM ok=K ns=T ns_per_op=T/N` (ok over all WARM + N iterations; the
 * quotient with two decimals, in integer arithmetic). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define OPS "null|getpid|read|write|open|stat|pipe|pipe-self|fault-read|fault-write|mmap|fork|exec|thread"

extern char **environ;

/* Timed mode: the iterations run before the clock starts, and the two clock readings. */
static uint64_t warm;
static int timed;
static struct timespec started, stopped;

/* for (i = 0; i < n; i++) BODY; in timed mode WARM iterations first, then the clock starts,
 * N more, and the clock stops. The loop is the same in both modes, so an untimed run costs
 * what it did before the timed mode existed. */
#define REPEAT(i, n, ...)                                                                      \
    for (int pass_ = !timed; pass_ < 2; pass_++) {                                             \
        uint64_t to_ = pass_ ? warm + (n) : warm;                                              \
        if (pass_ && timed)                                                                    \
            clock_gettime(CLOCK_MONOTONIC, &started);                                          \
        for (uint64_t i = pass_ ? warm : 0; i < to_; i++)                                      \
            __VA_ARGS__                                                                        \
    }                                                                                          \
    if (timed)                                                                                 \
        clock_gettime(CLOCK_MONOTONIC, &stopped)

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
    return (uint64_t)(b->tv_sec - a->tv_sec) * UINT64_C(1000000000) + (uint64_t)b->tv_nsec -
           (uint64_t)a->tv_nsec;
}

__attribute__((noreturn)) static void fail(const char *op, const char *what)
{
    fprintf(stderr, "lat: %s: %s failed\n", op, what);
    exit(1);
}

static int waited_ok(pid_t pid)
{
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void *nothing(void *arg)
{
    return arg;
}

static uint64_t dev_null(const char *op, uint64_t n, int writing)
{
    int fd = open("/dev/null", writing ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        fail(op, "open /dev/null");
    char c = 'x';
    uint64_t ok = 0;
    REPEAT(i, n, {
        ok += writing ? write(fd, &c, 1) == 1 : read(fd, &c, 1) == 0;
    });
    close(fd);
    return ok;
}

/* N round trips of one byte: parent -> child -> parent. */
static uint64_t pipe_round_trips(const char *op, uint64_t n)
{
    int there[2], back[2];
    if (pipe(there) || pipe(back))
        fail(op, "pipe");
    pid_t pid = fork();
    if (pid < 0)
        fail(op, "fork");
    char c = 0;
    if (pid == 0) {
        close(there[1]);
        close(back[0]);
        while (read(there[0], &c, 1) == 1) {
            c++;
            if (write(back[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    uint64_t ok = 0;
    REPEAT(i, n, {
        char sent = (char)i, got = 0;
        if (write(there[1], &sent, 1) != 1 || read(back[0], &got, 1) != 1)
            fail(op, "round trip");
        ok += got == (char)(sent + 1);
    });
    close(there[1]); /* the child reads end-of-file and exits */
    if (!waited_ok(pid))
        fail(op, "the child");
    return ok;
}

static uint64_t pipe_self(const char *op, uint64_t n)
{
    int p[2];
    if (pipe(p))
        fail(op, "pipe");
    uint64_t ok = 0;
    REPEAT(i, n, {
        char sent = (char)i, got = 0;
        if (write(p[1], &sent, 1) != 1 || read(p[0], &got, 1) != 1)
            fail(op, "write and read");
        ok += got == sent;
    });
    return ok;
}

static uint64_t faults(const char *op, uint64_t n, int writing)
{
    volatile char *p = mmap(NULL, (size_t)(warm + n + 1) * 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail(op, "mmap");
    uint64_t ok = 0;
    REPEAT(i, n, {
        if (writing)
            p[i * 4096] = 1;
        ok += p[i * 4096] == writing;
    });
    return ok;
}

static uint64_t processes(const char *op, uint64_t n, int exec)
{
    uint64_t ok = 0;
    REPEAT(i, n, {
        pid_t pid = fork();
        if (pid < 0)
            fail(op, "fork");
        if (pid == 0) {
            if (exec) {
                char *args[] = {"/bin/exitcode", "0", NULL};
                execve(args[0], args, environ);
                _exit(127);
            }
            _exit(0);
        }
        ok += waited_ok(pid);
    });
    return ok;
}

static uint64_t run(const char *op, uint64_t n)
{
    uint64_t ok = 0;
    if (!strcmp(op, "null")) {
        REPEAT(i, n, {
            ok += getppid() >= 0;
        });
    } else if (!strcmp(op, "getpid")) {
        pid_t me = (pid_t)syscall(SYS_getpid);
        REPEAT(i, n, {
            ok += syscall(SYS_getpid) == me;
        });
    } else if (!strcmp(op, "read") || !strcmp(op, "write")) {
        ok = dev_null(op, n, op[0] == 'w');
    } else if (!strcmp(op, "open")) {
        REPEAT(i, n, {
            int fd = open("/etc/passwd", O_RDONLY);
            ok += fd >= 0 && close(fd) == 0;
        });
    } else if (!strcmp(op, "stat")) {
        struct stat st;
        REPEAT(i, n, {
            ok += stat("/etc/passwd", &st) == 0 && S_ISREG(st.st_mode);
        });
    } else if (!strcmp(op, "pipe")) {
        ok = pipe_round_trips(op, n);
    } else if (!strcmp(op, "pipe-self")) {
        ok = pipe_self(op, n);
    } else if (!strcmp(op, "fault-read") || !strcmp(op, "fault-write")) {
        ok = faults(op, n, op[6] == 'w');
    } else if (!strcmp(op, "mmap")) {
        REPEAT(i, n, {
            void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                           0);
            ok += p != MAP_FAILED && munmap(p, 65536) == 0;
        });
    } else if (!strcmp(op, "fork") || !strcmp(op, "exec")) {
        ok = processes(op, n, op[0] == 'e');
    } else if (!strcmp(op, "thread")) {
        REPEAT(i, n, {
            pthread_t t;
            void *got = NULL;
            if (pthread_create(&t, NULL, nothing, (void *)(uintptr_t)(i + 1)))
                fail(op, "pthread_create");
            ok += pthread_join(t, &got) == 0 && got == (void *)(uintptr_t)(i + 1);
        });
    } else {
        return UINT64_MAX;
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc > 4)
        usage(argv[0], "[" OPS "] [N] [WARM]");
    const char *op = argc > 1 ? argv[1] : "null";
    timed = argc > 3;
    uint64_t n = arg_u64(argc, argv, 2, "N", 1000, (uint64_t)timed, UINT64_C(1) << 32);
    warm = arg_u64(argc, argv, 3, "WARM", 0, 0, UINT64_C(1) << 32);
    uint64_t ok = run(op, n);
    if (ok == UINT64_MAX)
        usage(argv[0], "[" OPS "] [N] [WARM]");
    if (!timed) {
        printf("lat: op=%s n=%" PRIu64 " ok=%" PRIu64 "\n", op, n, ok);
        return 0;
    }
    uint64_t ns = ns_between(&started, &stopped), empty = UINT64_MAX;
    for (int k = 0; k < 3; k++) { /* what the two reads add to the interval: the least of 3 */
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (ns_between(&a, &b) < empty)
            empty = ns_between(&a, &b);
    }
    ns = ns > empty ? ns - empty : 0;
    uint64_t hundredths = ns * 100 / n;
    printf("lat: op=%s n=%" PRIu64 " warm=%" PRIu64 " ok=%" PRIu64 " ns=%" PRIu64
           " ns_per_op=%" PRIu64 ".%02" PRIu64 "\n",
           op, n, warm, ok, ns, hundredths / 100, hundredths % 100);
    return 0;
}

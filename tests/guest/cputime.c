/* CPU time and the process's place under a shell, as a benchmark harness reads them: getrusage,
   times, clock and the CPU clocks, wait4's rusage, getppid. Prints what it observed as facts
   that hold on any Linux machine (not raw times, which differ between machines). */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static void burn(long n) {
    for (long i = 0; i < n; i++) sink += i * i;
}

static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

static long cpu_ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts)) return -errno;
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(void) {
    printf("parent is pid 1: %d\n", getppid() == 1);
    printf("parent alive (kill 0): %d\n", kill(getppid(), 0) == 0);

    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    long p0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    burn(2000000);
    getrusage(RUSAGE_SELF, &b);
    long t1 = cpu_ns(CLOCK_THREAD_CPUTIME_ID), p1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    /* user + system throughout: Linux splits a task's run time between the two by where its
       timer ticks fell (cputime_adjust), so a stretch shorter than a tick can show as either */
    long cpu_a = usec(a.ru_utime) + usec(a.ru_stime), cpu_b = usec(b.ru_utime) + usec(b.ru_stime);
    printf("cpu time grew: %d\n", cpu_b > cpu_a);
    printf("cpu time under 1 s: %d\n", cpu_b < 1000000);
    printf("process clock grew: %d, thread clock grew: %d\n", p1 > p0, t1 > t0);
    printf("thread clock <= process clock read after it: %d\n", t1 <= p1);
    struct timespec res;
    printf("cpu clock res ok: %d\n", clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0);

    struct rusage c;
    getrusage(RUSAGE_CHILDREN, &c);
    printf("children time before any child: %ld\n", usec(c.ru_utime) + usec(c.ru_stime));

    pid_t pid = fork();
    if (pid == 0) {
        burn(2000000);
        _exit(7);
    }
    int status;
    struct rusage r;
    pid_t got = wait4(pid, &status, 0, &r);
    printf("wait4 child: %d status %d\n", got == pid, WEXITSTATUS(status));
    long child = usec(r.ru_utime) + usec(r.ru_stime);
    printf("child cpu time > 0: %d\n", child > 0);
    getrusage(RUSAGE_CHILDREN, &c);
    printf("children time after wait > 0: %d\n", usec(c.ru_utime) + usec(c.ru_stime) > 0);
    printf("children time = wait4's: %d\n", usec(c.ru_utime) + usec(c.ru_stime) == child);

    struct tms t;
    clock_t now = times(&t);
    printf("times ok: %d, tms_cutime >= 0: %d\n", now != (clock_t)-1, t.tms_cutime >= 0);
    printf("clock() > 0: %d\n", clock() > 0);

    errno = 0;
    printf("getrusage bad who: %d errno %d\n", getrusage(5, &c), errno);
    errno = 0;
    printf("getrusage bad buffer: %ld errno %d\n", syscall(SYS_getrusage, 0, (void *)8), errno);
    errno = 0;
    printf("clock_gettime bad clock: %ld errno %d\n",
           syscall(SYS_clock_gettime, 99, (void *)&res), errno);
    return 0;
}

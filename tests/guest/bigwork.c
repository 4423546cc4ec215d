/* One thread moving from CPU to CPU: on each CPU named on the command line it pins itself
   there, times a compute loop (its wall time on CLOCK_MONOTONIC and its CPU time on
   CLOCK_THREAD_CPUTIME_ID) and a 10 ms nanosleep, then goes on to the next. At the end it
   compares its CPU clock with the times it measured and with getrusage(RUSAGE_THREAD).

   usage: bigwork ITERATIONS CPU [CPU...]

   stdout: facts that hold on any Linux machine; stderr: the times measured, in ns. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define MS 1000000L

static volatile unsigned long sink;

static void burn(long n) {  /* independent chains a wide core overlaps, a narrow one less */
    unsigned long a = 1, b = 2, c = 3, d = 4;
    for (long i = 0; i < n; i++) {
        a += i * i;
        b ^= a >> 3;
        c += i + (c >> 5);
        d = d * 33 + i;
    }
    sink = a + b + c + d;
}

static long ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts)) return -errno;
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bigwork ITERATIONS CPU [CPU...]\n");
        return 2;
    }
    long n = atol(argv[1]), cpu_sum = 0;
    for (int k = 2; k < argc; k++) {
        int cpu = atoi(argv[k]);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set)) {
            printf("sched_setaffinity to %d: %d\n", cpu, errno);
            return 1;
        }
        printf("cpu %d: runs there: %d\n", cpu, sched_getcpu() == cpu);

        long w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID);
        burn(n);
        long c1 = ns(CLOCK_THREAD_CPUTIME_ID), w1 = ns(CLOCK_MONOTONIC);
        printf("cpu %d: work's cpu time within its wall time: %d\n", cpu, c1 - c0 <= w1 - w0);

        struct timespec ten = {0, 10 * MS};
        long s0 = ns(CLOCK_MONOTONIC), d0 = ns(CLOCK_THREAD_CPUTIME_ID);
        int r = nanosleep(&ten, NULL);
        long d1 = ns(CLOCK_THREAD_CPUTIME_ID), s1 = ns(CLOCK_MONOTONIC);
        printf("cpu %d: nanosleep %d, slept at least 10 ms: %d, its cpu time under 1 ms: %d\n",
               cpu, r, s1 - s0 >= 10 * MS, d1 - d0 < MS);
        fprintf(stderr, "cpu=%d work_wall=%ld work_cpu=%ld sleep_wall=%ld sleep_cpu=%ld\n", cpu,
                w1 - w0, c1 - c0, s1 - s0, d1 - d0);
        cpu_sum += (c1 - c0) + (d1 - d0);
    }
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    long total = ns(CLOCK_THREAD_CPUTIME_ID);
    long used = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000L +
                (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000L;
    printf("thread cpu time covers the stretches measured: %d\n", total >= cpu_sum);
    printf("getrusage within 1 ms of the thread's cpu clock: %d\n", labs(total - used) < MS);
    fprintf(stderr, "total_cpu=%ld measured_cpu=%ld rusage=%ld\n", total, cpu_sum, used);
    return 0;
}

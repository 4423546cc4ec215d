/* timers [rtc]: sleeping and timeouts. nanosleep and clock_nanosleep (relative and absolute)
 * sleep at least as long as asked; a futex wait, a condition variable's timed wait and a ppoll
 * time out with ETIMEDOUT / 0 after their timeouts; a ppoll is woken by a child that writes to
 * a pipe after a sleep; bad timespecs are EINVAL / EFAULT; the wall clock reads a date after
 * 2024. With `rtc`, also the date /dev/rtc0 gives (RTC_RD_TIME). Elapsed times are compared,
 * never printed, so the output is the same on any machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/rtc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *name(int e)
{
    return e == 0 ? "ok" : e == ETIMEDOUT ? "ETIMEDOUT" : e == EINVAL ? "EINVAL"
        : e == EFAULT ? "EFAULT" : e == EAGAIN ? "EAGAIN" : "other";
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "rtc") != 0))
        usage(argv[0], "[rtc]");
    long long t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec ts = {0, 10 * 1000000};
    int r = nanosleep(&ts, NULL);
    printf("nanosleep 10ms: %s, long enough %d\n", name(r ? errno : 0),
           now_ns(CLOCK_MONOTONIC) - t0 >= 10000000);

    t0 = now_ns(CLOCK_MONOTONIC);
    struct timespec until = {(t0 + 7000000) / 1000000000, (t0 + 7000000) % 1000000000};
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    printf("clock_nanosleep absolute: %s, reached %d\n", name(r),
           now_ns(CLOCK_MONOTONIC) >= t0 + 7000000);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL); /* in the past */
    printf("clock_nanosleep past: %s\n", name(r));

    ts.tv_nsec = 1000000000;
    printf("nanosleep bad nsec: %s\n", name(nanosleep(&ts, NULL) ? errno : 0));
    printf("nanosleep bad pointer: %s\n", name(nanosleep((void *)8, NULL) ? errno : 0));

    /* a futex wait that nobody wakes */
    unsigned word = 0;
    struct timespec five = {0, 5 * 1000000};
    t0 = now_ns(CLOCK_MONOTONIC);
    r = (int)syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &five, NULL, 0);
    printf("futex wait: %s, long enough %d\n", name(r ? errno : 0),
           now_ns(CLOCK_MONOTONIC) - t0 >= 5000000);
    r = (int)syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &five, NULL, 0);
    printf("futex wait, value changed: %s\n", name(r ? errno : 0));

    /* a condition variable's timed wait (FUTEX_WAIT_BITSET, absolute, wall clock) */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 3000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    r = pthread_cond_timedwait(&c, &m, &deadline);
    pthread_mutex_unlock(&m);
    printf("cond timedwait: %s\n", name(r));

    /* ppoll: a timeout, then a child's write after its sleep */
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    struct pollfd p = {fds[0], POLLIN, 0};
    struct timespec three = {0, 3 * 1000000};
    t0 = now_ns(CLOCK_MONOTONIC);
    r = ppoll(&p, 1, &three, NULL);
    printf("ppoll timeout: %d, long enough %d\n", r, now_ns(CLOCK_MONOTONIC) - t0 >= 3000000);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec twenty = {0, 20 * 1000000};
        nanosleep(&twenty, NULL);
        write(fds[1], "x", 1);
        _exit(0);
    }
    struct timespec five_s = {5, 0};
    t0 = now_ns(CLOCK_MONOTONIC);
    r = ppoll(&p, 1, &five_s, NULL);
    long long waited = now_ns(CLOCK_MONOTONIC) - t0;
    printf("ppoll woken: %d revents=%d, after the child's sleep %d, before the timeout %d\n", r,
           p.revents, waited >= 20000000, waited < 5000000000LL);
    waitpid(pid, NULL, 0);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("wall clock after 2024: %d\n", tv.tv_sec >= 1704067200);
    printf("clock_gettime bad clock: %s\n",
           name(clock_gettime((clockid_t)99, &ts) ? errno : 0));

    if (argc == 2) {
        int fd = open("/dev/rtc0", O_RDONLY);
        struct rtc_time rt;
        memset(&rt, 0, sizeof rt);
        r = fd < 0 ? -1 : ioctl(fd, RTC_RD_TIME, &rt);
        printf("rtc: %s %04d-%02d-%02d\n", name(r ? errno : 0), rt.tm_year + 1900, rt.tm_mon + 1,
               rt.tm_mday);
    }
    return 0;
}

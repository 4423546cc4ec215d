/* Periodic timers far faster than anything reads them, while the program sleeps 10 s: a
   timerfd every 1 ns, ITIMER_REAL every 1 us with SIGALRM blocked, a POSIX timer with no
   signal (SIGEV_NONE) every 1 ns. Linux starts such a timer again only when it is read or its
   signal is taken, so the sleep is quiet; then the count and the times are as expected. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;
static void on_alarm(int sig) { handled++; }

int main(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec fast = {{0, 1}, {0, 1}};
    printf("timerfd_settime %d\n", timerfd_settime(fd, 0, &fast, 0));
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alrm, 0);
    signal(SIGALRM, on_alarm);
    struct itimerval every_us = {{0, 1}, {0, 1}};
    printf("setitimer %d\n", setitimer(ITIMER_REAL, &every_us, 0));
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    timer_t quiet;
    printf("timer_create %d\n", timer_create(CLOCK_MONOTONIC, &none, &quiet));
    printf("timer_settime %d\n", timer_settime(quiet, 0, &fast, 0));

    struct timespec ten = {10, 0};
    printf("nanosleep %d\n", nanosleep(&ten, 0));
    uint64_t n = 0;
    printf("read %zd, expirations above 1e9: %d\n", read(fd, &n, 8), n > 1000000000ULL);
    struct itimerspec left;
    timer_gettime(quiet, &left);
    printf("quiet timer: next within its period %d, period %ld ns\n",
           left.it_value.tv_sec == 0 && left.it_value.tv_nsec <= 1, left.it_interval.tv_nsec);
    sigset_t pending;
    sigpending(&pending);
    printf("SIGALRM pending %d, handled %d\n", sigismember(&pending, SIGALRM), handled);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    sigprocmask(SIG_UNBLOCK, &alrm, 0);
    printf("after unblocking: handled %d\n", handled);
    return 0;
}

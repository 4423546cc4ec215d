/* epoll_pwait2 as Linux answers it: its timespec timeout (NULL: none, zero: a poll, one that
 * passes), a bad timeout (EINVAL, EFAULT: checked before the other arguments), maxevents, and a
 * wait a timerfd's expiry ends or a signal interrupts (EINTR). qemu-user (7.2) does not
 * translate this call, so this program is portable C, compared with the host's own Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void wait2(const char *what, int ep, int max, const struct timespec *timeout)
{
    struct epoll_event ev[4];
    memset(ev, 0, sizeof ev);
    int n = epoll_pwait2(ep, ev, max, timeout, NULL);
    printf("%s: %d", what, n < 0 ? -errno : n);
    for (int i = 0; i < n; i++)
        printf(" [%#x:%llx]", (unsigned)ev[i].events, (unsigned long long)ev[i].data.u64);
    printf("\n");
}

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    int ep = epoll_create1(0), p[2];
    if (pipe(p))
        return 1;
    struct epoll_event e = {EPOLLIN, {.u64 = 0xabc}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
    struct timespec zero = {0, 0}, bad_nsec = {0, 1000000000}, negative = {-1, 0};
    struct timespec ms20 = {0, 20000000};
    wait2("nothing", ep, 4, &zero);
    wait2("bad nsec", ep, 0, &bad_nsec);
    wait2("negative", ep, 4, &negative);
    wait2("bad pointer", ep, 0, (void *)8);
    wait2("maxevents 0", ep, 0, &zero);
    long long t0 = now();
    wait2("20ms", ep, 4, &ms20);
    printf("after 20ms: %s\n", now() - t0 >= 20000000 ? "yes" : "no");
    char c = 'x';
    if (write(p[1], &c, 1) != 1)
        return 1;
    wait2("ready, no timeout", ep, 4, NULL);
    if (read(p[0], &c, 1) != 1)
        return 1;

    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct epoll_event te = {EPOLLIN, {.u64 = 0x7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &te);
    struct itimerspec in15 = {{0, 0}, {0, 15000000}};
    t0 = now();
    timerfd_settime(t, 0, &in15, NULL);
    wait2("timer", ep, 4, NULL);
    printf("after 15ms: %s\n", now() - t0 >= 15000000 ? "yes" : "no");
    uint64_t ticks;
    if (read(t, &ticks, 8) != 8)
        return 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(10000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    wait2("interrupted", ep, 4, NULL);
    int status;
    waitpid(child, &status, 0);
    return 0;
}

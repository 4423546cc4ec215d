/* epoll_create1, epoll_ctl and epoll_pwait as Linux answers them: every errno of their checks
 * (EPERM for a file without a poll method, a device with one watched); level-triggered,
 * edge-triggered (EPOLLET) and one-shot (EPOLLONESHOT) items on pipes; EPOLLHUP and EPOLLERR;
 * the caller's 64-bit data; the order of the ready list when maxevents cuts it; eventfd,
 * timerfd and signalfd items; an epoll in an epoll (and a cycle: ELOOP) and in poll; items that
 * go with their file's last descriptor (not with a dup's); a wait another process's write ends,
 * one a timeout ends, one a signal interrupts (EINTR), one a signal for a watched signalfd
 * ends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = {events, {.u64 = data}};
    return epoll_ctl(ep, op, fd, &e) < 0 ? -errno : 0;
}

/* one wait: its result and the events, as "n [events:data] ..." */
static void wait_for(const char *what, int ep, int max, int timeout)
{
    struct epoll_event ev[8];
    memset(ev, 0, sizeof ev);
    int n = epoll_wait(ep, ev, max, timeout);
    printf("%s: %d", what, n < 0 ? -errno : n);
    for (int i = 0; i < n; i++)
        printf(" [%#x:%llx]", ev[i].events, (unsigned long long)ev[i].data.u64);
    printf("\n");
}

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    char c = 'x', buf[256];
    int p[2], q[2];
    printf("bad flags: %d\n", epoll_create1(1) < 0 ? -errno : 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("cloexec: %d\n", fcntl(ep, F_GETFD));
    if (pipe(p) || pipe(q))
        return 1;

    /* epoll_ctl's checks */
    int file = open("/tmp/epoll.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDWR);
    int dir = open("/tmp", O_RDONLY);
    printf("bad epfd: %d\n", ctl(99, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    printf("bad fd: %d\n", ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0));
    printf("regular file: %d\n", ctl(ep, EPOLL_CTL_ADD, file, EPOLLIN, 0));
    printf("/dev/null: %d\n", ctl(ep, EPOLL_CTL_ADD, null, EPOLLIN, 0));
    printf("directory: %d\n", ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN, 0));
    int urandom = open("/dev/urandom", O_RDONLY), random = open("/dev/random", O_RDONLY);
    printf("/dev/urandom: %d\n", ctl(ep, EPOLL_CTL_ADD, urandom, EPOLLIN, 0));
    printf("/dev/random: %d\n", ctl(ep, EPOLL_CTL_ADD, random, EPOLLIN | EPOLLOUT, 0xde5));
    wait_for("random", ep, 8, 0);
    ctl(ep, EPOLL_CTL_DEL, random, 0, 0);
    printf("not an epoll: %d\n", ctl(q[0], EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    printf("itself: %d\n", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
    printf("bad op: %d\n", ctl(ep, 7, p[0], EPOLLIN, 0));
    printf("bad event: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (void *)8) < 0 ? -errno : 0);
    printf("del ignores event: %d\n",
           epoll_ctl(ep, EPOLL_CTL_DEL, p[0], (void *)8) < 0 ? -errno : 0);
    printf("mod missing: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0));
    printf("exclusive with oneshot: %d\n",
           ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0));
    printf("add: %d\n", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x1234567890abcdefULL));
    printf("add again: %d\n", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    printf("mod exclusive: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0));

    /* epoll_pwait's checks */
    struct epoll_event ev[8];
    printf("maxevents 0: %d\n", epoll_wait(ep, ev, 0, 0) < 0 ? -errno : 0);
    long neg = syscall(SYS_epoll_pwait, ep, ev, -1, 0, NULL, 8);
    printf("maxevents -1: %ld\n", neg < 0 ? -errno : neg);
    printf("wait bad epfd: %d\n", epoll_wait(99, ev, 1, 0) < 0 ? -errno : 0);
    printf("wait not an epoll: %d\n", epoll_wait(p[0], ev, 1, 0) < 0 ? -errno : 0);
    sigset_t none;
    sigemptyset(&none);
    printf("bad sigset size: %ld\n",
           syscall(SYS_epoll_pwait, ep, ev, 1, 0, &none, 4) < 0 ? -errno : 0L);
    printf("read an epoll: %d\n", read(ep, buf, 8) < 0 ? -errno : 0);

    /* level-triggered */
    wait_for("nothing", ep, 8, 0);
    write(p[1], &c, 1);
    wait_for("one byte", ep, 8, 0);
    wait_for("still there", ep, 8, 0);
    read(p[0], &c, 1);
    wait_for("read", ep, 8, 0);
    printf("mod rdnorm: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLRDNORM, 7));
    write(p[1], &c, 1);
    wait_for("rdnorm", ep, 8, 0);

    /* edge-triggered */
    printf("mod et: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 1));
    wait_for("et after mod", ep, 8, 0);
    wait_for("et again", ep, 8, 0);
    write(p[1], &c, 1);
    wait_for("et another write", ep, 8, 0);
    wait_for("et nothing new", ep, 8, 0);
    read(p[0], &c, 1);
    wait_for("et partial read", ep, 8, 0);

    /* one-shot */
    printf("mod oneshot: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 2));
    wait_for("oneshot", ep, 8, 0);
    write(p[1], &c, 1);
    wait_for("oneshot disabled", ep, 8, 0);
    printf("rearm: %d\n", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 3));
    wait_for("oneshot rearmed", ep, 8, 0);
    printf("del: %d\n", ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0));
    wait_for("deleted", ep, 8, 0);
    while (read(p[0], buf, sizeof buf) == sizeof buf)
        ;

    /* the write end: writable, full, no reader */
    printf("add write end: %d\n", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 0x10));
    wait_for("writable", ep, 8, 0);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    while (write(p[1], buf, sizeof buf) > 0)
        ;
    wait_for("full", ep, 8, 0);
    close(p[0]);
    wait_for("no reader", ep, 8, 0);
    close(p[1]);
    wait_for("closed", ep, 8, 0);

    /* hang-up of the read end, with EPOLLRDHUP asked */
    if (pipe(p))
        return 1;
    ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLRDHUP, 0x20);
    write(p[1], &c, 1);
    close(p[1]);
    wait_for("hung up with a byte", ep, 8, 0);
    read(p[0], &c, 1);
    wait_for("hung up", ep, 8, 0);
    ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0);
    close(p[0]);

    /* the ready list's order when maxevents cuts it */
    int r[3][2];
    for (int i = 0; i < 3; i++) {
        if (pipe(r[i]))
            return 1;
        write(r[i][1], &c, 1);
        ctl(ep, EPOLL_CTL_ADD, r[i][0], EPOLLIN, 0xa0 + i);
    }
    wait_for("two of three", ep, 2, 0);
    wait_for("next two", ep, 2, 0);
    wait_for("all", ep, 8, 0);
    for (int i = 0; i < 3; i++) {
        close(r[i][0]);
        close(r[i][1]);
    }
    wait_for("all closed", ep, 8, 0);

    /* event files */
    int e = eventfd(0, 0);
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int s = signalfd(-1, &usr1, 0);
    ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLOUT | EPOLLET, 0xe);
    ctl(ep, EPOLL_CTL_ADD, t, EPOLLIN, 0x7);
    ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN, 0x5);
    wait_for("eventfd writable", ep, 8, 0);
    eventfd_write(e, 2);
    wait_for("eventfd written", ep, 8, 0);
    eventfd_t got;
    eventfd_read(e, &got);
    wait_for("eventfd read", ep, 8, 0);
    struct itimerspec in20 = {{0, 0}, {0, 20000000}};
    long long t0 = now();
    timerfd_settime(t, 0, &in20, NULL);
    wait_for("timer", ep, 8, -1);
    printf("after 20ms: %s\n", now() - t0 >= 20000000 ? "yes" : "no");
    uint64_t ticks;
    read(t, &ticks, 8);
    wait_for("timer read", ep, 8, 0);
    kill(getpid(), SIGUSR1);
    wait_for("signal", ep, 8, 0);
    struct signalfd_siginfo si;
    read(s, &si, sizeof si);
    wait_for("signal read", ep, 8, 0);

    /* an epoll in an epoll, and in poll */
    int outer = epoll_create1(0), inner = epoll_create1(0);
    if (pipe(p))
        return 1;
    ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x11);
    printf("nest: %d\n", ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 0x22));
    printf("cycle: %d\n", ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 0x33));
    printf("exclusive epoll: %d\n", ctl(ep, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE, 0));
    wait_for("outer, nothing", outer, 8, 0);
    struct pollfd pf = {inner, POLLIN, 0};
    printf("poll inner: %d %#x\n", poll(&pf, 1, 0), pf.revents);
    write(p[1], &c, 1);
    wait_for("outer", outer, 8, 0);
    printf("poll inner: %d %#x\n", poll(&pf, 1, 0), pf.revents);
    wait_for("inner", inner, 8, 0);
    read(p[0], &c, 1);
    wait_for("outer, drained", outer, 8, 0);

    /* items go with their file's last descriptor */
    int d = dup(p[0]);
    ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 0xd);
    close(d);
    write(p[1], &c, 1);
    wait_for("dup closed, file open", ep, 8, 0);
    printf("del closed: %d\n", ctl(ep, EPOLL_CTL_DEL, d, 0, 0));
    read(p[0], &c, 1);
    ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0xf);
    close(p[0]);
    close(d);
    if (pipe(q))
        return 1;
    write(q[1], &c, 1);
    wait_for("file closed", ep, 8, 0);
    printf("del after close: %d\n", ctl(ep, EPOLL_CTL_DEL, q[0], 0, 0));

    /* waits: another process's write, a timeout, a signal */
    int w = epoll_create1(0);
    if (pipe(p))
        return 1;
    ctl(w, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x99);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(10000);
        write(p[1], &c, 1);
        _exit(0);
    }
    wait_for("woken", w, 8, -1);
    int status;
    waitpid(child, &status, 0);
    read(p[0], &c, 1);
    t0 = now();
    wait_for("timeout", w, 8, 20);
    printf("after 20ms: %s\n", now() - t0 >= 20000000 ? "yes" : "no");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    child = fork();
    if (child == 0) {
        usleep(10000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    wait_for("interrupted", w, 8, -1);
    waitpid(child, &status, 0);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int sw = epoll_create1(0);
    ctl(sw, EPOLL_CTL_ADD, s, EPOLLIN, 0x5);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        usleep(10000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    wait_for("a signal for the signalfd", sw, 8, -1);
    waitpid(child, &status, 0);
    read(s, &si, sizeof si);
    printf("from the child: %s\n", si.ssi_pid == (unsigned)child ? "yes" : "no");
    unlink("/tmp/epoll.txt");
    return 0;
}

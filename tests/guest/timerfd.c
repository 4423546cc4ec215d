/* timerfd_create, timerfd_settime and timerfd_gettime as Linux answers them: bad clocks, flags,
 * times and descriptors; a one-shot timer a read waits for; a periodic one whose expirations
 * are counted after a sleep; absolute times on CLOCK_REALTIME (one in the past counts the
 * periods since); the old value settime returns; disarming; poll and ppoll on a timer. Times
 * are printed as conditions that hold whatever the host's speed: a count of expirations is
 * checked against the clock read around it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static long long now(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static struct itimerspec spec(long long value, long long interval)
{
    struct itimerspec s = {{interval / 1000000000, interval % 1000000000},
                           {value / 1000000000, value % 1000000000}};
    return s;
}

static long long ns(struct timespec t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long set(int fd, int flags, long long value, long long interval)
{
    struct itimerspec s = spec(value, interval);
    return timerfd_settime(fd, flags, &s, NULL) < 0 ? -errno : 0;
}

static long long rd(int fd)
{
    uint64_t n = 0;
    ssize_t r = read(fd, &n, 8);
    return r < 0 ? -errno : (long long)n;
}

static int pol(int fd, int timeout)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, timeout);
    return n < 0 ? -errno : p.revents;
}

static const char *yes(int c)
{
    return c ? "yes" : "no";
}

int main(void)
{
    printf("bad clock: %d\n", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0) < 0 ? -errno : 0);
    printf("bad flags: %d\n", timerfd_create(CLOCK_MONOTONIC, 1) < 0 ? -errno : 0);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("flags: fl %#x fd %d\n", fcntl(t, F_GETFL), fcntl(t, F_GETFD));
    struct itimerspec cur;
    timerfd_gettime(t, &cur);
    printf("disarmed: %lld %lld\n", ns(cur.it_value), ns(cur.it_interval));
    printf("read disarmed: %lld\n", rd(t));
    printf("bad settime flags: %ld\n", set(t, 4, MS, 0));
    struct itimerspec bad = {{0, 1000000000}, {1, 0}};
    printf("bad nsec: %d\n", timerfd_settime(t, 0, &bad, NULL) < 0 ? -errno : 0);
    struct itimerspec neg = {{0, 0}, {-1, 0}};
    printf("negative: %d\n", timerfd_settime(t, 0, &neg, NULL) < 0 ? -errno : 0);
    printf("bad pointer: %d\n", timerfd_settime(t, 0, (void *)8, NULL) < 0 ? -errno : 0);
    printf("gettime bad pointer: %d\n", timerfd_gettime(t, (void *)8) < 0 ? -errno : 0);
    int p[2];
    pipe(p);
    printf("not a timer: %ld\n", set(p[0], 0, MS, 0));
    printf("gettime not a timer: %d\n", timerfd_gettime(p[0], &cur) < 0 ? -errno : 0);
    printf("bad fd: %ld\n", set(99, 0, MS, 0));
    printf("write: %ld\n", write(t, &(uint64_t){1}, 8) < 0 ? -errno : 0L);
    char small[4];
    printf("short read: %ld\n", read(t, small, 4) < 0 ? -errno : 0L);
    printf("lseek: %ld\n", (long)lseek(t, 0, SEEK_CUR));

    /* a one-shot timer, read (nonblocking first, then waiting) */
    int w = timerfd_create(CLOCK_MONOTONIC, 0);
    long long t0 = now(CLOCK_MONOTONIC);
    set(w, 0, 20 * MS, 0);
    timerfd_gettime(w, &cur);
    printf("armed: left in (0, 20ms] %s interval %lld\n",
           yes(ns(cur.it_value) > 0 && ns(cur.it_value) <= 20 * MS), ns(cur.it_interval));
    printf("poll before: %#x\n", pol(w, 0));
    long long n = rd(w);
    long long t1 = now(CLOCK_MONOTONIC);
    printf("one-shot read: %lld waited 20ms %s\n", n, yes(t1 - t0 >= 20 * MS));
    timerfd_gettime(w, &cur);
    printf("after: %lld %lld\n", ns(cur.it_value), ns(cur.it_interval));

    /* a periodic timer, its expirations counted after a sleep */
    t0 = now(CLOCK_MONOTONIC);
    set(t, 0, 10 * MS, 10 * MS);
    long long t0b = now(CLOCK_MONOTONIC);
    usleep(55000);
    printf("poll expired: %#x\n", pol(t, 0));
    t1 = now(CLOCK_MONOTONIC);
    n = rd(t);
    long long t1b = now(CLOCK_MONOTONIC);
    printf("periodic: at least 5 %s, as the clock says %s\n", yes(n >= 5),
           yes(n >= (t1 - t0b) / (10 * MS) && n <= (t1b - t0) / (10 * MS)));
    printf("read again: %lld\n", rd(t));
    timerfd_gettime(t, &cur);
    printf("periodic gettime: left in (0, 10ms] %s interval %lld\n",
           yes(ns(cur.it_value) > 0 && ns(cur.it_value) <= 10 * MS), ns(cur.it_interval));
    struct itimerspec one = spec(3600000 * MS, 0), old;
    timerfd_settime(t, 0, &one, &old);
    printf("old: left in (0, 10ms] %s interval %lld\n",
           yes(ns(old.it_value) > 0 && ns(old.it_value) <= 10 * MS), ns(old.it_interval));
    printf("rearmed read: %lld\n", rd(t));
    set(t, 0, 0, 10 * MS);
    timerfd_gettime(t, &cur);
    printf("disarmed again: %lld %lld\n", ns(cur.it_value), ns(cur.it_interval));

    /* an expired, unread timer set again forgets its expiration */
    set(t, 0, MS, 0);
    usleep(5000);
    printf("expired: %#x\n", pol(t, 0));
    set(t, 0, 3600000 * MS, 0);
    printf("set again: poll %#x read %lld\n", pol(t, 0), rd(t));

    /* absolute times on the wall clock: ahead (a read waits), and in the past */
    int r = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    t0 = now(CLOCK_REALTIME);
    set(r, TFD_TIMER_ABSTIME, t0 + 20 * MS, 0);
    printf("absolute ahead: poll %#x\n", pol(r, -1));
    t1 = now(CLOCK_REALTIME);
    printf("absolute: read %lld after 20ms %s\n", rd(r), yes(t1 - t0 >= 20 * MS));
    long long past = now(CLOCK_REALTIME) - 1000 * MS;
    t0 = now(CLOCK_REALTIME);
    set(r, TFD_TIMER_ABSTIME, past, 10 * MS);
    n = rd(r);
    t1 = now(CLOCK_REALTIME);
    printf("absolute past: at least 101 %s, as the clock says %s\n", yes(n >= 101),
           yes(n >= (t0 - past) / (10 * MS) + 1 && n <= (t1 - past) / (10 * MS) + 1));
    int b = timerfd_create(CLOCK_BOOTTIME, 0);
    t0 = now(CLOCK_BOOTTIME);
    set(b, 0, 15 * MS, 0);
    n = rd(b);
    printf("boottime: read %lld after 15ms %s\n", n, yes(now(CLOCK_BOOTTIME) - t0 >= 15 * MS));
    return 0;
}

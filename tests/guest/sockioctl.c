/* ioctls on sockets and other streams as Linux answers them: bytes to read (FIONREAD/SIOCINQ:
 * a stream's queued bytes, a datagram socket's first message, EINVAL for a listener), bytes
 * not yet taken by the peer (SIOCOUTQ, SIOCOUTQNSD), the urgent mark, the owner to signal
 * (FIOSETOWN, SIOCSPGRP and their getters, which fcntl's F_GETOWN reads too; ESRCH for no such
 * process), receive timestamps (ENOENT: nothing received since asking), the interfaces with
 * an IPv4 address (SIOCGIFCONF: the loopback alone here), ioctls a socket does not know
 * (ENOTTY), a bad pointer (EFAULT); a pipe's FIONREAD and a timerfd's TFD_IOC_SET_TICKS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#ifndef SIOCGSTAMP_NEW
#define SIOCGSTAMP_NEW _IOR(0x89, 0x06, long long[2])
#endif

static long ctl(int fd, unsigned long request, void *arg)
{
    return ioctl(fd, request, arg) < 0 ? -errno : 0;
}

static long value(int fd, unsigned long request)
{
    int v = -1;
    long r = ctl(fd, request, &v);
    return r < 0 ? r : v;
}

static void ready(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 1000);
}

static void interfaces(const char *what, int fd, int room)
{
    struct ifreq req[2];
    struct ifconf ifc = {.ifc_len = room, .ifc_req = room ? req : NULL};
    memset(req, 0, sizeof req);
    long r = ctl(fd, SIOCGIFCONF, &ifc);
    printf("%s: %ld len %d", what, r, ifc.ifc_len);
    for (int i = 0; room && i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        struct sockaddr_in *in = (struct sockaddr_in *)&req[i].ifr_addr;
        printf(" %s %d %s", req[i].ifr_name, in->sin_family, inet_ntoa(in->sin_addr));
    }
    printf("\n");
}

int main(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&addr, sizeof addr);
    listen(l, 1);
    getsockname(l, (struct sockaddr *)&addr, &len);
    printf("listener inq: %ld outq: %ld\n", value(l, SIOCINQ), value(l, SIOCOUTQ));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&addr, sizeof addr);
    int a = accept(l, NULL, NULL);
    printf("tcp empty: inq %ld\n", value(a, FIONREAD));
    write(c, "0123456789", 10);
    ready(a);
    printf("tcp inq %ld outq %ld unsent %ld atmark %ld\n", value(a, SIOCINQ), value(c, SIOCOUTQ),
           value(c, SIOCOUTQNSD), value(a, SIOCATMARK));
    char buf[64];
    read(a, buf, 4);
    printf("tcp after 4 read: inq %ld\n", value(a, FIONREAD));
    printf("bad pointer: %ld\n", ctl(a, FIONREAD, (void *)8));
    struct timeval tv;
    long long ts[2];
    printf("stamp: %ld new: %ld\n", ctl(a, SIOCGSTAMP, &tv), ctl(a, SIOCGSTAMP_NEW, ts));
    struct termios t;
    printf("not a terminal: %ld\n", ctl(a, TCGETS, &t));

    printf("owner: %ld\n", value(c, FIOGETOWN));
    int me = getpid(), group = -getpgrp(), nobody = 999999;
    printf("set owner: %ld\n", ctl(c, FIOSETOWN, &me));
    printf("owner is me: %d fcntl agrees: %d\n", value(c, FIOGETOWN) == me,
           fcntl(c, F_GETOWN) == me);
    printf("set group: %ld\n", ctl(c, SIOCSPGRP, &group));
    printf("group is mine: %d\n", value(c, SIOCGPGRP) == group);
    printf("no such owner: %ld\n", ctl(c, FIOSETOWN, &nobody));
    int set = fcntl(c, F_SETOWN, 0);
    printf("fcntl set owner: %d now none: %d\n", set, value(c, FIOGETOWN) == 0);
    set = fcntl(c, F_SETOWN, nobody);
    printf("fcntl no such owner: %d errno %d\n", set, errno);

    interfaces("ifconf count", c, 0);
    interfaces("ifconf", c, (int)sizeof(struct ifreq[2]));
    interfaces("ifconf no room", c, (int)sizeof(struct ifreq) - 1);
    struct ifconf bad = {.ifc_len = 40, .ifc_req = (void *)8};
    printf("ifconf bad buffer: %ld\n", ctl(c, SIOCGIFCONF, &bad));

    int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in uaddr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    len = sizeof uaddr;
    bind(u, (struct sockaddr *)&uaddr, sizeof uaddr);
    getsockname(u, (struct sockaddr *)&uaddr, &len);
    printf("udp empty: inq %ld outq %ld\n", value(u, SIOCINQ), value(v, SIOCOUTQ));
    sendto(v, "hello", 5, 0, (struct sockaddr *)&uaddr, sizeof uaddr);
    sendto(v, "123456789", 9, 0, (struct sockaddr *)&uaddr, sizeof uaddr);
    ready(u);
    printf("udp inq (the first message): %ld\n", value(u, FIONREAD));
    recv(u, buf, sizeof buf, 0);
    printf("udp inq then: %ld unsent: %ld\n", value(u, FIONREAD), value(u, SIOCOUTQNSD));

    int s[2], d[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    write(s[0], "abc", 3);
    write(s[0], "defg", 4);
    write(d[0], "abc", 3);
    write(d[0], "defg", 4);
    printf("unix stream inq %ld dgram inq %ld\n", value(s[1], FIONREAD), value(d[1], FIONREAD));
    printf("unix outq pending: %d %d\n", value(s[0], SIOCOUTQ) > 0, value(d[0], SIOCOUTQ) > 0);
    read(s[1], buf, sizeof buf);
    read(d[1], buf, sizeof buf);
    read(d[1], buf, sizeof buf);
    printf("unix outq drained: %ld %ld\n", value(s[0], SIOCOUTQ), value(d[0], SIOCOUTQ));
    printf("unix unsent: %ld atmark: %ld\n", value(s[0], SIOCOUTQNSD), value(s[0], SIOCATMARK));
    interfaces("ifconf on unix", s[0], 0);

    int p[2];
    pipe(p);
    write(p[1], "pipe!!", 6);
    printf("pipe inq %ld outq %ld\n", value(p[0], FIONREAD), value(p[1], TIOCOUTQ));

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    uint64_t ticks = 3, got = 0;
    printf("set ticks: %ld\n", ctl(tfd, TFD_IOC_SET_TICKS, &ticks));
    long n = read(tfd, &got, 8);
    printf("read: %ld ticks %llu\n", n, (unsigned long long)got);
    ticks = 0;
    printf("set 0 ticks: %ld\n", ctl(tfd, TFD_IOC_SET_TICKS, &ticks));
    printf("set ticks bad pointer: %ld\n", ctl(tfd, TFD_IOC_SET_TICKS, (void *)8));
    printf("timerfd FIONREAD: %ld\n", value(tfd, FIONREAD));
    return 0;
}

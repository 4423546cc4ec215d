/* More socket options as Linux answers them on a loopback-only machine: TCP_SYNCNT,
 * TCP_LINGER2 (negative: -1; capped at 120), TCP_DEFER_ACCEPT (seconds read back as the
 * retransmissions' seconds), TCP_WINDOW_CLAMP (0 only while closed; at least half the smallest
 * receive buffer), TCP_QUICKACK, TCP_USER_TIMEOUT, before and after a connection; IP_MTU
 * (ENOTCONN until connected), SO_INCOMING_CPU (-1 until a connected socket received a packet,
 * then the CPU it came on: 0, the program being on CPU 0), SO_RESERVE_MEM (EOPNOTSUPP without a memory cgroup's socket accounting).
 * Each line: the option, getsockopt's answer and value, or setsockopt's answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_RESERVE_MEM
#define SO_RESERVE_MEM 73
#endif

static void get(const char *what, int fd, int level, int name)
{
    int v = -99;
    socklen_t len = sizeof v;
    int r = getsockopt(fd, level, name, &v, &len);
    printf("%s: %d %d\n", what, r < 0 ? -errno : r, r < 0 ? -99 : v);
}

static void set(const char *what, int fd, int level, int name, int v)
{
    int r = setsockopt(fd, level, name, &v, sizeof v);
    printf("set %s %d: %d\n", what, v, r < 0 ? -errno : r);
}

static const char *names[] = {"syncnt", "linger2", "defer", "clamp", "quickack", "user_timeout"};
static const int opts[] = {TCP_SYNCNT,       TCP_LINGER2,  TCP_DEFER_ACCEPT,
                           TCP_WINDOW_CLAMP, TCP_QUICKACK, TCP_USER_TIMEOUT};

static void all(int fd)
{
    for (int i = 0; i < 6; i++)
        get(names[i], fd, IPPROTO_TCP, opts[i]);
    get("incoming_cpu", fd, SOL_SOCKET, SO_INCOMING_CPU);
    get("ip_mtu", fd, IPPROTO_IP, IP_MTU);
}

int main(void)
{
    int t = socket(AF_INET, SOCK_STREAM, 0);
    all(t);
    set("clamp", t, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
    set("reserve_mem", t, SOL_SOCKET, SO_RESERVE_MEM, 4096);
    set("reserve_mem", t, SOL_SOCKET, SO_RESERVE_MEM, -1);
    get("reserve_mem", t, SOL_SOCKET, SO_RESERVE_MEM);

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 1);
    getsockname(l, (struct sockaddr *)&a, &len);
    connect(t, (struct sockaddr *)&a, sizeof a);
    int c = accept(l, NULL, NULL);
    char b;
    write(t, "x", 1);
    read(c, &b, 1);
    all(c);
    get("ip_mtu listener", l, IPPROTO_IP, IP_MTU);

    set("syncnt", c, IPPROTO_TCP, TCP_SYNCNT, 0);
    set("syncnt", c, IPPROTO_TCP, TCP_SYNCNT, 128);
    set("syncnt", c, IPPROTO_TCP, TCP_SYNCNT, 3);
    int linger[] = {-5, 999, 10, 0}, defer[] = {1, 2, 5, 100, 1000, -1};
    for (int i = 0; i < 4; i++) {
        set("linger2", c, IPPROTO_TCP, TCP_LINGER2, linger[i]);
        get("linger2", c, IPPROTO_TCP, TCP_LINGER2);
    }
    for (int i = 0; i < 6; i++) {
        set("defer", c, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer[i]);
        get("defer", c, IPPROTO_TCP, TCP_DEFER_ACCEPT);
    }
    set("clamp", c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 0);
    set("clamp", c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 100);
    set("quickack", c, IPPROTO_TCP, TCP_QUICKACK, 0);
    set("user_timeout", c, IPPROTO_TCP, TCP_USER_TIMEOUT, -1);
    set("user_timeout", c, IPPROTO_TCP, TCP_USER_TIMEOUT, 1234);
    set("incoming_cpu", c, SOL_SOCKET, SO_INCOMING_CPU, 3);
    set("ip_mtu", c, IPPROTO_IP, IP_MTU, 1000);
    all(c);

    int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
    bind(u, (struct sockaddr *)&a, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    len = sizeof ua;
    bind(u, (struct sockaddr *)&ua, sizeof ua);
    getsockname(u, (struct sockaddr *)&ua, &len);
    get("udp incoming_cpu", u, SOL_SOCKET, SO_INCOMING_CPU);
    get("udp ip_mtu", v, IPPROTO_IP, IP_MTU);
    sendto(v, "d", 1, 0, (struct sockaddr *)&ua, sizeof ua);
    recv(u, &b, 1, 0);
    get("udp incoming_cpu after a datagram", u, SOL_SOCKET, SO_INCOMING_CPU);
    connect(v, (struct sockaddr *)&ua, sizeof ua);
    get("udp ip_mtu connected", v, IPPROTO_IP, IP_MTU);
    struct sockaddr_in va;
    len = sizeof va;
    getsockname(v, (struct sockaddr *)&va, &len);
    connect(u, (struct sockaddr *)&va, sizeof va);
    get("udp connected incoming_cpu", u, SOL_SOCKET, SO_INCOMING_CPU);
    send(v, "e", 1, 0);
    recv(u, &b, 1, 0);
    get("udp connected incoming_cpu after a datagram", u, SOL_SOCKET, SO_INCOMING_CPU);
    set("udp reserve_mem", u, SOL_SOCKET, SO_RESERVE_MEM, 4096);
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    write(s[0], "x", 1);
    get("unix incoming_cpu", s[1], SOL_SOCKET, SO_INCOMING_CPU);
    return 0;
}

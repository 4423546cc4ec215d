/* AF_INET and AF_INET6 sockets on the loopback, as Linux answers them on a machine whose only
 * network is the loopback (in one process): TCP and UDP made and refused, bind (ephemeral
 * ports, EADDRINUSE, SO_REUSEADDR and SO_REUSEPORT, EADDRNOTAVAIL), listen, connect (refused,
 * unreachable, EISCONN), accept and accept4 with the peer's address, getsockname and
 * getpeername, send and receive (MSG_PEEK, MSG_DONTWAIT, MSG_TRUNC, datagram boundaries),
 * shutdown and close (EOF, EPIPE, SIGPIPE, a reset), a full send buffer, the socket options,
 * IPv6 with IPv4-mapped peers and IPV6_V6ONLY, and poll's readiness in each state. Ephemeral
 * ports differ between runs: only whether they are in Linux's range is printed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

/* " label value", one call a statement: C leaves the order of a call's arguments open */
static void v(const char *label, int x) { printf(" %s%s%d", label, *label ? " " : "", x); }
static void vx(const char *label, int x) { printf(" %s %#x", label, x); }

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig, sigpipes++; }

static struct sockaddr_in in4(const char *ip, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 in6(const char *ip, int port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

#define SA(x) ((struct sockaddr *)&(x))

static int ephemeral(int port) { return port >= 32768 && port <= 60999; }

/* an address as "family addr port", the port shown as `eph` when ephemeral, `L` when it is
 * the listener's */
static int listener_port;
static void show_addr(const char *what, struct sockaddr_storage *a, socklen_t len)
{
    char ip[64] = "?";
    int port = -1;
    if (a->ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)a;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        port = ntohs(s->sin_port);
    } else if (a->ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        port = ntohs(s->sin6_port);
    }
    printf("%s len %u family %d %s ", what, len, a->ss_family, ip);
    if (port == listener_port && port > 0) {
        printf("port L\n");
    } else if (ephemeral(port)) {
        printf("port eph\n");
    } else {
        printf("port %d\n", port);
    }
}

static void name(const char *what, int fd, int peer)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, SA(a), &len) : getsockname(fd, SA(a), &len);
    if (r < 0) {
        printf("%s %d\n", what, -errno);
    } else {
        show_addr(what, &a, len);
    }
}

static int port_of(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    getsockname(fd, SA(a), &len);
    return a.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&a)->sin_port)
                                  : ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
}

static int pol(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
    int n = poll(&p, 1, 0);
    return n < 0 ? -errno : p.revents;
}

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

static int setopt(int fd, int level, int name, int v)
{
    return e(setsockopt(fd, level, name, &v, sizeof v));
}

/* a port nothing listens on: one bound, then closed */
static int closed_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = in4("127.0.0.1", 0);
    bind(s, SA(a), sizeof a);
    int port = port_of(s);
    close(s);
    return port;
}

static void creation(void)
{
    int fds[6] = {socket(AF_INET, SOCK_STREAM, 0),       socket(AF_INET, SOCK_STREAM, IPPROTO_TCP),
                  socket(AF_INET, SOCK_DGRAM, 0),        socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP),
                  socket(AF_INET6, SOCK_STREAM, 0),      socket(AF_INET6, SOCK_DGRAM, 0)};
    printf("sockets %d %d %d %d %d %d\n", fds[0], fds[1], fds[2], fds[3], fds[4], fds[5]);
    printf("types %d %d %d %d protocols %d %d %d %d domains %d %d\n",
           opt(fds[0], SOL_SOCKET, SO_TYPE), opt(fds[2], SOL_SOCKET, SO_TYPE),
           opt(fds[4], SOL_SOCKET, SO_TYPE), opt(fds[5], SOL_SOCKET, SO_TYPE),
           opt(fds[0], SOL_SOCKET, SO_PROTOCOL), opt(fds[2], SOL_SOCKET, SO_PROTOCOL),
           opt(fds[4], SOL_SOCKET, SO_PROTOCOL), opt(fds[5], SOL_SOCKET, SO_PROTOCOL),
           opt(fds[0], SOL_SOCKET, SO_DOMAIN), opt(fds[4], SOL_SOCKET, SO_DOMAIN));
    for (int i = 0; i < 6; i++) {
        close(fds[i]);
    }
    printf("udp as tcp %d tcp as udp %d protocol 99 %d type 11 %d\n",
           e(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)), e(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)),
           e(socket(AF_INET, SOCK_STREAM, 99)), e(socket(AF_INET, 11, 0)));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    printf("nonblock cloexec: getfl %#x getfd %d\n", fcntl(s, F_GETFL), fcntl(s, F_GETFD));
    close(s);
}

static void options(void)
{
    int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
    int t6 = socket(AF_INET6, SOCK_STREAM, 0);
    printf("tcp sndbuf %d rcvbuf %d, udp sndbuf %d rcvbuf %d\n", opt(t, SOL_SOCKET, SO_SNDBUF),
           opt(t, SOL_SOCKET, SO_RCVBUF), opt(u, SOL_SOCKET, SO_SNDBUF),
           opt(u, SOL_SOCKET, SO_RCVBUF));
    printf("set sndbuf"), v("", setopt(t, SOL_SOCKET, SO_SNDBUF, 10000));
    v("->", opt(t, SOL_SOCKET, SO_SNDBUF)), printf("\n");
    printf("nodelay"), v("", opt(t, IPPROTO_TCP, TCP_NODELAY));
    v("set", setopt(t, IPPROTO_TCP, TCP_NODELAY, 1)), v("->", opt(t, IPPROTO_TCP, TCP_NODELAY));
    printf(", on udp"), v("", setopt(u, IPPROTO_TCP, TCP_NODELAY, 1));
    v("", opt(u, IPPROTO_TCP, TCP_NODELAY)), printf("\n");
    printf("reuseaddr"), v("", setopt(t, SOL_SOCKET, SO_REUSEADDR, 1));
    v("->", opt(t, SOL_SOCKET, SO_REUSEADDR));
    printf(" reuseport"), v("", setopt(t, SOL_SOCKET, SO_REUSEPORT, 1));
    v("->", opt(t, SOL_SOCKET, SO_REUSEPORT));
    printf(" keepalive"), v("", setopt(t, SOL_SOCKET, SO_KEEPALIVE, 1));
    v("->", opt(t, SOL_SOCKET, SO_KEEPALIVE)), v("error", opt(t, SOL_SOCKET, SO_ERROR));
    printf("\nv6only"), v("", opt(t6, IPPROTO_IPV6, IPV6_V6ONLY));
    v("set", setopt(t6, IPPROTO_IPV6, IPV6_V6ONLY, 1)), v("->", opt(t6, IPPROTO_IPV6, IPV6_V6ONLY));
    printf(", on v4"), v("", setopt(t, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    v("", opt(t, IPPROTO_IPV6, IPV6_V6ONLY)), printf("\n");
    printf("unknown socket option"), v("", setopt(t, SOL_SOCKET, 999, 1));
    v("", opt(t, SOL_SOCKET, 999)), printf(" tcp option"), v("", setopt(t, IPPROTO_TCP, 999, 1));
    v("", opt(t, IPPROTO_TCP, 999)), printf("\n");
    struct linger l = {1, 3}, lg;
    socklen_t len = sizeof lg;
    setsockopt(t, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    int r = e(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg, &len));
    printf("linger %d %d %d\n", r, lg.l_onoff, lg.l_linger);
    struct timeval tv = {1, 500000}, got;
    len = sizeof got;
    setsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    r = e(getsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &got, &len));
    printf("sndtimeo %d %ld.%06ld\n", r, (long)got.tv_sec, (long)got.tv_usec);
    close(t), close(u), close(t6);
}

static void tcp(void)
{
    char buf[64];
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4("127.0.0.1", 0);
    printf("bind %d\n", e(bind(l, SA(a), sizeof a)));
    listener_port = port_of(l);
    name("listener", l, 0);
    printf("bind again %d\n", e(bind(l, SA(a), sizeof a)));
    int o = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in same = in4("127.0.0.1", listener_port);
    printf("bind in use %d\n", e(bind(o, SA(same), sizeof same)));
    struct sockaddr_in any = in4("0.0.0.0", listener_port);
    printf("bind any in use %d\n", e(bind(o, SA(any), sizeof any)));
    struct sockaddr_in far = in4("192.0.2.2", 0);
    printf("bind not local %d short %d\n", e(bind(o, SA(far), sizeof far)),
           e(bind(o, SA(a), 8)));
    struct sockaddr_in wrong = a;
    wrong.sin_family = AF_UNIX;
    printf("bind wrong family %d\n", e(bind(o, SA(wrong), sizeof wrong)));
    struct sockaddr_in lo2 = in4("127.0.0.2", 0);
    printf("bind 127.0.0.2 %d\n", e(bind(o, SA(lo2), sizeof lo2)));
    name("bound to 127.0.0.2", o, 0);
    close(o);
    printf("poll before listen %#x\n", pol(l));
    printf("listen"), v("", e(listen(l, 8))), v("acceptconn", opt(l, SOL_SOCKET, SO_ACCEPTCONN));
    vx("poll", pol(l)), printf("\n");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    printf("unconnected: poll %#x peer ", pol(c));
    name("", c, 1);
    printf("unconnected:"), v("send", e(send(c, "x", 1, 0))), v("sigpipes", sigpipes);
    v("recv", e(recv(c, buf, 1, MSG_DONTWAIT))), v("shutdown", e(shutdown(c, SHUT_RD)));
    vx("poll", pol(c)), printf("\n");
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    printf("connect"), v("", e(connect(c, SA(same), sizeof same)));
    v("again", e(connect(c, SA(same), sizeof same))), printf("\n");
    name("client", c, 0);
    name("client peer", c, 1);
    printf("poll listener %#x client %#x\n", pol(l), pol(c));
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    int acc = accept(l, SA(from), &flen);
    printf("accept %d\n", acc);
    show_addr("accepted from", &from, flen);
    printf("client port matches %d\n", port_of(c) == ntohs(((struct sockaddr_in *)&from)->sin_port));
    name("accepted", acc, 0);
    printf("accepted acceptconn %d\n", opt(acc, SOL_SOCKET, SO_ACCEPTCONN));
    printf("send"), v("", e(send(c, "hello", 5, 0))), v("write", e(write(c, " tcp", 4)));
    printf("\n");
    printf("poll accepted %#x\n", pol(acc));
    int n = e(recv(acc, buf, 3, MSG_PEEK));
    printf("peek %d %.3s\n", n, buf);
    flen = sizeof from;
    n = e(recvfrom(acc, buf, sizeof buf, 0, SA(from), &flen));
    printf("recvfrom %d %.*s addrlen %u\n", n, n > 0 ? n : 0, buf, flen);
    printf("dontwait %d\n", e(recv(acc, buf, sizeof buf, MSG_DONTWAIT)));
    struct sockaddr_in elsewhere = in4("127.0.0.1", 9);
    printf("sendto with an address %d\n", e(sendto(acc, "back", 4, 0, SA(elsewhere), sizeof elsewhere)));
    n = e(recv(c, buf, sizeof buf, 0));
    printf("client got %d %.*s\n", n, n > 0 ? n : 0, buf);
    printf("connect listener"), v("", e(connect(l, SA(same), sizeof same)));
    v("accept client", e(accept(c, NULL, NULL))), printf("\n");
    printf("shutdown wr %d\n", e(shutdown(c, SHUT_WR)));
    printf("poll client %#x accepted %#x\n", pol(c), pol(acc));
    printf("accepted recv %d\n", e(recv(acc, buf, sizeof buf, 0)));
    printf("client send"), v("", e(send(c, "x", 1, 0))), v("sigpipes", sigpipes), printf("\n");
    printf("accepted still sends %d\n", e(send(acc, "late", 4, 0)));
    n = e(recv(c, buf, sizeof buf, 0));
    printf("client got %d %.*s\n", n, n > 0 ? n : 0, buf);
    close(acc);
    printf("both shut:"), vx("poll client", pol(c)), v("recv", e(recv(c, buf, sizeof buf, 0)));
    printf("\n");
    close(c);

    /* a close with unread data resets the connection */
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, SA(same), sizeof same);
    acc = accept(l, NULL, NULL);
    send(c, "unread", 6, 0);
    close(acc);
    printf("reset:"), vx("poll", pol(c)), v("error", opt(c, SOL_SOCKET, SO_ERROR));
    v("recv", e(recv(c, buf, sizeof buf, 0))), v("then", e(recv(c, buf, sizeof buf, 0)));
    v("send", e(send(c, "x", 1, MSG_NOSIGNAL))), printf("\n");
    close(c);

    /* ... and a reset is reported by the next call that looks */
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, SA(same), sizeof same);
    acc = accept(l, NULL, NULL);
    send(c, "unread", 6, 0);
    close(acc);
    printf("reset:"), v("recv", e(recv(c, buf, sizeof buf, 0)));
    v("then", e(recv(c, buf, sizeof buf, 0))), v("error", opt(c, SOL_SOCKET, SO_ERROR));
    printf("\n");
    close(c);

    /* writing to a peer that closed: the first write is answered by a reset */
    c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, SA(same), sizeof same);
    acc = accept(l, NULL, NULL);
    close(acc);
    printf("peer closed: poll %#x\n", pol(c));
    printf("write"), v("", e(send(c, "a", 1, MSG_NOSIGNAL))), vx("poll", pol(c));
    v("write", e(send(c, "b", 1, MSG_NOSIGNAL))), vx("poll", pol(c));
    v("recv", e(recv(c, buf, sizeof buf, 0))), printf("\n");
    close(c);

    /* non-blocking: accept, connect, a full send buffer */
    fcntl(l, F_SETFL, O_NONBLOCK);
    printf("accept none %d\n", e(accept(l, NULL, NULL)));
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("nonblocking connect %d", e(connect(c, SA(same), sizeof same)));
    struct pollfd p = {c, POLLOUT, 0};
    poll(&p, 1, 1000);
    vx("then writable", p.revents), v("error", opt(c, SOL_SOCKET, SO_ERROR));
    v("connect", e(connect(c, SA(same), sizeof same)));
    v("again", e(connect(c, SA(same), sizeof same))), printf("\n");
    acc = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    printf("accept4 getfl %#x\n", fcntl(acc, F_GETFL));
    static char big[65536];
    long total = 0;
    int r;
    while ((r = send(c, big, sizeof big, 0)) > 0) {
        total += r;
    }
    printf("filled: %d more than 64 KiB %d poll %#x\n", -errno, total > 65536, pol(c));
    long got = 0;
    while ((r = recv(acc, big, sizeof big, 0)) > 0) {
        got += r;
    }
    printf("drained: %d all %d poll %#x\n", -errno, got == total, pol(c));
    close(c), close(acc);

    /* refused and unreachable */
    c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in closed = in4("127.0.0.1", closed_port(SOCK_STREAM));
    printf("connect refused"), v("", e(connect(c, SA(closed), sizeof closed)));
    v("error after", opt(c, SOL_SOCKET, SO_ERROR)), printf("\n");
    struct sockaddr_in lo2p = in4("127.0.0.2", listener_port);
    printf("connect another loopback address %d\n", e(connect(c, SA(lo2p), sizeof lo2p)));
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in net = in4("192.0.2.9", 80);
    printf("connect unreachable %d\n", e(connect(c, SA(net), sizeof net)));
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    printf("listen unbound %d\n", e(listen(c, 1)));
    name("autobound", c, 0);
    close(c);
    close(l);
    listener_port = 0;
}

static void udp(void)
{
    char buf[64];
    int s = socket(AF_INET, SOCK_DGRAM, 0), c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = in4("127.0.0.1", 0);
    bind(s, SA(a), sizeof a);
    listener_port = port_of(s);
    struct sockaddr_in to = in4("127.0.0.1", listener_port);
    printf("udp poll %#x\n", pol(s));
    name("udp unbound", c, 0);
    printf("send no address %d\n", e(send(c, "x", 1, 0)));
    printf("sendto"), v("", e(sendto(c, "first", 5, 0, SA(to), sizeof to)));
    v("", e(sendto(c, "", 0, 0, SA(to), sizeof to)));
    v("", e(sendto(c, "third one", 9, 0, SA(to), sizeof to))), printf("\n");
    name("udp autobound", c, 0);
    printf("udp poll %#x\n", pol(s));
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    int n = e(recvfrom(s, buf, sizeof buf, 0, SA(from), &flen));
    printf("recvfrom %d %.*s ", n, n, buf);
    show_addr("from", &from, flen);
    printf("empty %d\n", e(recv(s, buf, sizeof buf, 0)));
    n = e(recv(s, buf, 5, MSG_PEEK));
    printf("peek %d %.5s", n, buf);
    struct iovec iov = {buf, 5};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = e(recvmsg(s, &m, 0));
    printf(" recvmsg %d flags %#x %.5s\n", n, m.msg_flags, buf);
    sendto(c, "abcdefgh", 8, 0, SA(to), sizeof to);
    printf("recv trunc"), v("", e(recv(s, buf, 2, MSG_TRUNC)));
    v("dontwait", e(recv(s, buf, sizeof buf, MSG_DONTWAIT))), printf("\n");
    static char big[70000];
    printf("too big %d\n", e(sendto(c, big, sizeof big, 0, SA(to), sizeof to)));
    printf("connect"), v("", e(connect(c, SA(to), sizeof to))), v("send", e(send(c, "conn", 4, 0)));
    printf("\n");
    name("udp peer", c, 1);
    recv(s, buf, sizeof buf, 0);
    int x = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in cto;
    socklen_t clen = sizeof cto;
    getsockname(c, SA(cto), &clen);
    sendto(x, "stranger", 8, 0, SA(cto), sizeof cto);
    sendto(s, "peer", 4, 0, SA(cto), sizeof cto);
    n = e(recv(c, buf, sizeof buf, MSG_DONTWAIT));
    printf("connected recv %d %.*s", n, n > 0 ? n : 0, buf);
    v("then", e(recv(c, buf, sizeof buf, MSG_DONTWAIT))), printf("\n");
    close(x);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("disconnect %d peer ", e(connect(c, &unspec, sizeof unspec)));
    name("", c, 1);
    struct sockaddr_in closed = in4("127.0.0.1", closed_port(SOCK_DGRAM));
    printf("sendto a closed port"), v("", e(sendto(c, "x", 1, 0, SA(closed), sizeof closed)));
    v("recv", e(recv(c, buf, sizeof buf, MSG_DONTWAIT))), printf("\n");
    connect(c, SA(closed), sizeof closed);
    printf("connected to a closed port:"), v("send", e(send(c, "x", 1, 0))), vx("poll", pol(c));
    v("error", opt(c, SOL_SOCKET, SO_ERROR)), v("send", e(send(c, "x", 1, 0)));
    v("send", e(send(c, "x", 1, 0))), v("recv", e(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    v("send", e(send(c, "x", 1, 0))), v("recv", e(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    v("recv", e(recv(c, buf, sizeof buf, MSG_DONTWAIT))), printf("\n");
    close(c);
    int r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = in4("0.0.0.0", 0);
    bind(r1, SA(any), sizeof any);
    struct sockaddr_in same = in4("0.0.0.0", port_of(r1));
    printf("udp bind in use %d\n", e(bind(r2, SA(same), sizeof same)));
    close(r1), close(r2);
    r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0);
    setopt(r1, SOL_SOCKET, SO_REUSEADDR, 1), setopt(r2, SOL_SOCKET, SO_REUSEADDR, 1);
    bind(r1, SA(any), sizeof any);
    same = in4("0.0.0.0", port_of(r1));
    printf("udp bind reuseaddr %d\n", e(bind(r2, SA(same), sizeof same)));
    close(r1), close(r2);
    printf("udp shutdown unconnected %d\n", e(shutdown(s, SHUT_RD)));
    c = socket(AF_INET, SOCK_DGRAM, 0);
    connect(c, SA(to), sizeof to);
    printf("udp shutdown rd"), v("", e(shutdown(c, SHUT_RD))), vx("poll", pol(c));
    v("recv", e(recv(c, buf, sizeof buf, 0))), printf("\n");
    close(c), close(s);
    listener_port = 0;
}

static void tcp_reuse(void)
{
    int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
    setopt(a, SOL_SOCKET, SO_REUSEPORT, 1), setopt(b, SOL_SOCKET, SO_REUSEPORT, 1);
    struct sockaddr_in lo = in4("127.0.0.1", 0);
    bind(a, SA(lo), sizeof lo);
    struct sockaddr_in same = in4("127.0.0.1", port_of(a));
    printf("reuseport bind"), v("", e(bind(b, SA(same), sizeof same)));
    v("listen", e(listen(a, 1))), v("", e(listen(b, 1))), printf("\n");
    close(a), close(b);
    a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
    setopt(a, SOL_SOCKET, SO_REUSEADDR, 1), setopt(b, SOL_SOCKET, SO_REUSEADDR, 1);
    bind(a, SA(lo), sizeof lo);
    same = in4("127.0.0.1", port_of(a));
    printf("reuseaddr bind"), v("", e(bind(b, SA(same), sizeof same)));
    v("listen", e(listen(a, 1))), v("", e(listen(b, 1))), printf("\n");
    close(a), close(b);
    /* a port left in TIME_WAIT by an active close is bound again with SO_REUSEADDR */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    setopt(l, SOL_SOCKET, SO_REUSEADDR, 1);
    bind(l, SA(lo), sizeof lo);
    listen(l, 1);
    int port = port_of(l);
    same = in4("127.0.0.1", port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, SA(same), sizeof same);
    int acc = accept(l, NULL, NULL);
    close(acc), close(l), close(c);
    l = socket(AF_INET, SOCK_STREAM, 0);
    setopt(l, SOL_SOCKET, SO_REUSEADDR, 1);
    printf("rebind after close"), v("", e(bind(l, SA(same), sizeof same)));
    v("listen", e(listen(l, 1))), printf("\n");
    close(l);
}

static void ipv6(void)
{
    char buf[16];
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo = in6("::1", 0);
    printf("v6 bind short %d\n", e(bind(l, SA(lo), 16)));
    printf("v6 bind"), v("", e(bind(l, SA(lo), sizeof lo))), v("listen", e(listen(l, 4)));
    printf("\n");
    listener_port = port_of(l);
    name("v6 listener", l, 0);
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to = in6("::1", listener_port);
    printf("v6 connect %d\n", e(connect(c, SA(to), sizeof to)));
    name("v6 client peer", c, 1);
    struct sockaddr_storage from;
    socklen_t flen = sizeof from;
    int acc = accept(l, SA(from), &flen);
    show_addr("v6 accepted from", &from, flen);
    send(c, "six", 3, 0);
    int n = e(recv(acc, buf, sizeof buf, 0));
    printf("v6 got %d %.3s\n", n, buf);
    close(acc), close(c), close(l);

    /* a dual-stack listener on :: takes IPv4 connections, their peers IPv4-mapped */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any = in6("::", 0);
    bind(l, SA(any), sizeof any);
    listen(l, 4);
    listener_port = port_of(l);
    int v4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to4 = in4("127.0.0.1", listener_port);
    printf("v4 to a dual-stack listener %d\n", e(connect(v4, SA(to4), sizeof to4)));
    flen = sizeof from;
    acc = accept(l, SA(from), &flen);
    show_addr("mapped peer", &from, flen);
    name("mapped name", acc, 0);
    close(acc), close(v4);
    int v4l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4 = in4("0.0.0.0", listener_port);
    printf("v4 bind on the dual-stack port %d\n", e(bind(v4l, SA(any4), sizeof any4)));
    close(v4l), close(l);

    l = socket(AF_INET6, SOCK_STREAM, 0);
    setopt(l, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    bind(l, SA(any), sizeof any);
    listen(l, 4);
    listener_port = port_of(l);
    v4 = socket(AF_INET, SOCK_STREAM, 0);
    to4 = in4("127.0.0.1", listener_port);
    printf("v4 to a v6-only listener %d\n", e(connect(v4, SA(to4), sizeof to4)));
    close(v4);
    v4l = socket(AF_INET, SOCK_STREAM, 0);
    any4 = in4("0.0.0.0", listener_port);
    printf("v4 bind beside v6-only %d\n", e(bind(v4l, SA(any4), sizeof any4)));
    close(v4l), close(l);

    c = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 far = in6("2001:db8::1", 80);
    struct sockaddr_in6 mapped = in6("::ffff:192.0.2.9", 80);
    printf("v6 unreachable"), v("", e(connect(c, SA(far), sizeof far)));
    v("mapped unreachable", e(connect(c, SA(mapped), sizeof mapped))), printf("\n");
    close(c);

    int u = socket(AF_INET6, SOCK_DGRAM, 0), v = socket(AF_INET6, SOCK_DGRAM, 0);
    bind(u, SA(lo), sizeof lo);
    listener_port = port_of(u);
    to = in6("::1", listener_port);
    printf("v6 udp sendto %d", e(sendto(v, "udp6", 4, 0, SA(to), sizeof to)));
    flen = sizeof from;
    n = e(recvfrom(u, buf, sizeof buf, 0, SA(from), &flen));
    printf(" got %d %.4s ", n, buf);
    show_addr("from", &from, flen);
    close(u), close(v);
    listener_port = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_sigpipe);
    creation();
    options();
    tcp();
    udp();
    tcp_reuse();
    ipv6();
    return 0;
}

/* AF_UNIX sockets as Linux answers them, in one process: socket's and socketpair's errors and
 * flags, stream, datagram and seqpacket pairs (boundaries, truncation, MSG_PEEK, MSG_DONTWAIT,
 * MSG_TRUNC), shutdown and close (EOF, EPIPE with and without SIGPIPE, ECONNRESET), names in
 * the file system (a socket node, EADDRINUSE, ENOENT, ECONNREFUSED, EPROTOTYPE) and abstract
 * ones (autobind), listen's backlog, accept and accept4, getsockname and getpeername, the
 * socket options, SCM_RIGHTS (descriptors into the receiver's table, MSG_CTRUNC, descriptors
 * dropped unread) and SCM_CREDENTIALS, sendmmsg and recvmmsg, poll's readiness in each state,
 * ENOTSOCK and EBADF, and a timed receive (SO_RCVTIMEO). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

/* " label value", one call a statement: C leaves the order of a call's arguments open */
static void v(const char *label, int x) { printf(" %s%s%d", label, *label ? " " : "", x); }
static void vx(const char *label, int x) { printf(" %s %#x", label, x); }

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig, sigpipes++; }

static socklen_t path_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
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
    int r = getsockopt(fd, level, name, &v, &len);
    return r < 0 ? -errno : v;
}

/* the name of a socket: its length, then the path (or @name for an abstract one) */
static void show_name(const char *what, int fd, int peer)
{
    struct sockaddr_un a;
    memset(&a, 0x55, sizeof a);
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    if (r < 0) {
        printf("%s %d\n", what, -errno);
        return;
    }
    int n = (int)len - (int)offsetof(struct sockaddr_un, sun_path);
    if (n <= 0) {
        printf("%s len %u family %d unnamed\n", what, len, a.sun_family);
    } else if (a.sun_path[0] == 0) {
        printf("%s len %u family %d @%.*s\n", what, len, a.sun_family, n - 1, a.sun_path + 1);
    } else {
        printf("%s len %u family %d %s\n", what, len, a.sun_family, a.sun_path);
    }
}

static void creation(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int d = socket(AF_UNIX, SOCK_DGRAM, PF_UNIX);
    int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    int r = socket(AF_UNIX, SOCK_RAW, 0);
    printf("socket stream %d dgram %d seqpacket %d raw %d raw is dgram %d\n", s, d, q, r,
           opt(r, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM);
    struct stat st;
    printf("fstat %d socket %d size %ld\n", e(fstat(s, &st)), S_ISSOCK(st.st_mode),
           (long)st.st_size);
    printf("lseek %d\n", e(lseek(s, 0, SEEK_SET)));
    close(s), close(d), close(q), close(r);
    printf("bad type %d rdm %d protocol %d family %d negative family %d\n",
           e(socket(AF_UNIX, 11, 0)), e(socket(AF_UNIX, SOCK_RDM, 0)),
           e(socket(AF_UNIX, SOCK_STREAM, 2)), e(socket(1234, SOCK_STREAM, 0)),
           e(socket(-1, SOCK_STREAM, 0)));
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    printf("nonblock cloexec: getfl %#x getfd %d\n", fcntl(s, F_GETFL), fcntl(s, F_GETFD));
    close(s);
    int sv[2];
    printf("socketpair inet %d family %d type %d\n", e(socketpair(AF_INET, SOCK_STREAM, 0, sv)),
           e(socketpair(1234, SOCK_STREAM, 0, sv)), e(socketpair(AF_UNIX, 11, 0, sv)));
}

static void stream_pair(void)
{
    int sv[2];
    char buf[64];
    printf("socketpair %d fds %d %d\n", e(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)), sv[0], sv[1]);
    show_name("pair name", sv[0], 0);
    show_name("pair peer", sv[0], 1);
    printf("poll empty %#x\n", pol(sv[1]));
    printf("write %d send %d\n", e(write(sv[0], "hello", 5)), e(send(sv[0], " world", 6, 0)));
    printf("poll data %#x\n", pol(sv[1]));
    int n = e(recv(sv[1], buf, 3, MSG_PEEK));
    printf("peek %d %.3s\n", n, buf);
    n = e(read(sv[1], buf, sizeof buf));
    printf("read %d %.*s\n", n, n > 0 ? n : 0, buf);
    printf("dontwait %d\n", e(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
    write(sv[0], "ab", 2), write(sv[0], "cd", 2), write(sv[0], "ef", 2);
    n = e(recv(sv[1], buf, 5, 0));
    printf("recv across writes %d %.5s", n, buf);
    printf(" then %d\n", e(recv(sv[1], buf, 5, 0)));
    printf("recv zero bytes %d", e(recv(sv[1], buf, 0, MSG_DONTWAIT)));
    printf(" send zero bytes %d\n", e(send(sv[0], buf, 0, 0)));
    write(sv[0], "z", 1);
    printf("recv fault %d", e(recv(sv[1], (char *)8, 1, 0)));
    printf(" send fault %d\n", e(send(sv[0], (char *)8, 1, 0)));
    recv(sv[1], buf, 1, MSG_DONTWAIT);
    printf("shutdown bad how %d\n", e(shutdown(sv[0], 3)));
    printf("shutdown wr %d\n", e(shutdown(sv[0], SHUT_WR)));
    printf("poll writer %#x reader %#x\n", pol(sv[0]), pol(sv[1]));
    printf("read eof %d\n", e(read(sv[1], buf, sizeof buf)));
    printf("write after shutdown %d sigpipes %d\n", e(write(sv[0], "x", 1)), sigpipes);
    printf("nosignal %d sigpipes %d\n", e(send(sv[0], "x", 1, MSG_NOSIGNAL)), sigpipes);
    printf("the other way %d\n", e(write(sv[1], "back", 4)));
    n = e(read(sv[0], buf, sizeof buf));
    printf("read back %d\n", n);
    close(sv[1]);
    printf("peer closed:");
    vx("poll", pol(sv[0])), v("read", e(read(sv[0], buf, 4))), v("write", e(write(sv[0], "x", 1)));
    printf(" sigpipes %d\n", sigpipes);
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    shutdown(sv[1], SHUT_RD);
    printf("peer shut rd:");
    vx("poll", pol(sv[1])), v("send", e(send(sv[0], "x", 1, MSG_NOSIGNAL)));
    vx("poll other", pol(sv[0])), printf("\n");
    close(sv[0]), close(sv[1]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    printf("closed with unread data:");
    vx("poll", pol(sv[0])), v("read", e(read(sv[0], buf, 4))), v("then", e(read(sv[0], buf, 4)));
    printf("\n");
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    printf("nonblocking pair read %d\n", e(read(sv[0], buf, 4)));
    static char big[65536];
    long total = 0;
    int r;
    while ((r = send(sv[0], big, sizeof big, 0)) > 0) {
        total += r;
    }
    printf("filled: %d after more than 64 KiB %d poll %#x\n", -errno, total > 65536,
           pol(sv[0]));
    n = e(recv(sv[1], big, sizeof big, 0));
    printf("drained some %d poll %#x\n", n > 0, pol(sv[0]));
    close(sv[0]), close(sv[1]);
}

static void dgram_pair(int type)
{
    int sv[2];
    char buf[64];
    printf("%s pair %d\n", type == SOCK_DGRAM ? "dgram" : "seqpacket",
           e(socketpair(AF_UNIX, type, 0, sv)));
    send(sv[0], "one", 3, 0);
    send(sv[0], "second", 6, 0);
    send(sv[0], "", 0, 0);
    send(sv[0], "fourth!", 7, 0);
    int n = e(recv(sv[1], buf, sizeof buf, 0));
    printf("recv %d %.*s\n", n, n, buf);
    n = e(recv(sv[1], buf, 2, 0));
    printf("recv short %d %.2s\n", n, buf);
    printf("empty message %d\n", e(recv(sv[1], buf, sizeof buf, 0)));
    struct iovec iov = {buf, 3};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = e(recvmsg(sv[1], &m, 0));
    printf("recvmsg %d flags %#x %.3s\n", n, m.msg_flags, buf);
    send(sv[0], "abcdef", 6, 0);
    printf("recv trunc %d\n", e(recv(sv[1], buf, 2, MSG_TRUNC)));
    printf("dontwait %d poll %#x\n", e(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)), pol(sv[1]));
    show_name("dgram pair peer", sv[1], 1);
    close(sv[0]);
    printf("peer closed:");
    vx("poll", pol(sv[1])), v("recv", e(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)));
    v("send", e(send(sv[1], "x", 1, MSG_NOSIGNAL))), printf("\n");
    close(sv[1]);
}

static void named(void)
{
    const char *path = "/tmp/hmk-sockunix-a";
    struct sockaddr_un a, b;
    socklen_t alen = path_addr(&a, path);
    unlink(path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("listen unbound %d\n", e(listen(s, 5)));
    printf("bind %d\n", e(bind(s, (struct sockaddr *)&a, alen)));
    struct stat st;
    printf("node %d socket %d\n", e(stat(path, &st)), S_ISSOCK(st.st_mode));
    printf("bind again %d\n", e(bind(s, (struct sockaddr *)&a, alen)));
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind in use %d\n", e(bind(t, (struct sockaddr *)&a, alen)));
    printf("bind missing dir %d\n",
           e(bind(t, (struct sockaddr *)&b, path_addr(&b, "/tmp/no/such/dir"))));
    printf("bind bad family %d short %d long %d\n",
           (b.sun_family = AF_INET, e(bind(t, (struct sockaddr *)&b, alen))),
           e(bind(t, (struct sockaddr *)&a, 1)), e(bind(t, (struct sockaddr *)&a, 111)));
    show_name("bound name", s, 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect, not listening %d\n", e(connect(c, (struct sockaddr *)&a, alen)));
    printf("listen %d", e(listen(s, 1)));
    printf(" again %d acceptconn %d\n", e(listen(s, 1)), opt(s, SOL_SOCKET, SO_ACCEPTCONN));
    printf("poll listening %#x\n", pol(s));
    printf("connect missing %d\n",
           e(connect(c, (struct sockaddr *)&b, path_addr(&b, "/tmp/hmk-no-such-sock"))));
    int f = open("/tmp/hmk-sockunix-file", O_CREAT | O_RDWR, 0600);
    close(f);
    printf("connect to a file %d\n",
           e(connect(c, (struct sockaddr *)&b, path_addr(&b, "/tmp/hmk-sockunix-file"))));
    unlink("/tmp/hmk-sockunix-file");
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("dgram to a stream listener %d\n", e(connect(d, (struct sockaddr *)&a, alen)));
    close(d);
    printf("connect %d\n", e(connect(c, (struct sockaddr *)&a, alen)));
    printf("connect again %d\n", e(connect(c, (struct sockaddr *)&a, alen)));
    printf("poll pending %#x client %#x\n", pol(s), pol(c));
    printf("send before accept %d\n", e(send(c, "early", 5, 0)));
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    int acc = accept(s, (struct sockaddr *)&from, &flen);
    printf("accept %d addrlen %u\n", acc >= 0, flen);
    char buf[16];
    int n = e(recv(acc, buf, sizeof buf, 0));
    printf("accepted got %d %.*s\n", n, n, buf);
    show_name("accepted name", acc, 0);
    show_name("accepted peer", acc, 1);
    show_name("client name", c, 0);
    show_name("client peer", c, 1);
    printf("accepted acceptconn %d\n", opt(acc, SOL_SOCKET, SO_ACCEPTCONN));
    fcntl(s, F_SETFL, O_NONBLOCK);
    printf("accept none %d\n", e(accept(s, NULL, NULL)));
    printf("accept on connected %d on dgram %d\n", e(accept(c, NULL, NULL)),
           e(accept(d = socket(AF_UNIX, SOCK_DGRAM, 0), NULL, NULL)));
    close(d);
    /* the backlog: listen(1) queues two connections, then refuses more (EAGAIN) */
    int cs[4], ok = 0;
    for (int i = 0; i < 4; i++) {
        cs[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(cs[i], (struct sockaddr *)&a, alen) == 0) {
            ok++;
        } else {
            printf("connect %d: %d\n", i, -errno);
        }
    }
    printf("backlog took %d\n", ok);
    printf("accept4 bad flags %d\n", e(accept4(s, NULL, NULL, 1)));
    int acc2 = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4 %d getfl %#x getfd %d\n", acc2 >= 0, fcntl(acc2, F_GETFL), fcntl(acc2, F_GETFD));
    close(acc2);
    close(accept(s, NULL, NULL));
    for (int i = 0; i < 4; i++) {
        close(cs[i]);
    }
    close(s);
    printf("connect after the listener closed %d\n", e(connect(t, (struct sockaddr *)&a, alen)));
    printf("after close: client recv %d\n", e(recv(c, buf, sizeof buf, MSG_DONTWAIT)));
    close(acc);
    printf("accepted closed: client poll %#x", pol(c));
    printf(" recv %d\n", e(recv(c, buf, sizeof buf, 0)));
    close(c), close(t);
    printf("unlink %d\n", e(unlink(path)));
}

static void abstract(void)
{
    struct sockaddr_un a;
    socklen_t alen = abstract_addr(&a, "hmk-abstract");
    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("abstract bind %d listen %d\n", e(bind(s, (struct sockaddr *)&a, alen)),
           e(listen(s, 4)));
    show_name("abstract name", s, 0);
    int t = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("abstract in use %d\n", e(bind(t, (struct sockaddr *)&a, alen)));
    printf("autobind %d\n", e(bind(t, (struct sockaddr *)&a, sizeof(sa_family_t))));
    struct sockaddr_un got;
    socklen_t glen = sizeof got;
    getsockname(t, (struct sockaddr *)&got, &glen);
    printf("autobound len %u first byte %d\n", glen, got.sun_path[0]);
    printf("abstract connect %d\n", e(connect(t, (struct sockaddr *)&a, alen)));
    int acc = accept(s, NULL, NULL);
    send(t, "packet-one", 10, 0);
    send(t, "two", 3, 0);
    char buf[32];
    int n = e(recv(acc, buf, 6, 0));
    printf("seqpacket recv %d %.6s", n, buf);
    printf(" then %d\n", e(recv(acc, buf, sizeof buf, 0)));
    struct sockaddr_un none;
    socklen_t nlen = abstract_addr(&none, "hmk-nobody");
    int u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    printf("abstract nobody %d\n", e(connect(u, (struct sockaddr *)&none, nlen)));
    printf("seqpacket unconnected send %d\n", e(send(u, "x", 1, MSG_NOSIGNAL)));
    close(u), close(acc), close(t), close(s);
}

static void dgram_named(void)
{
    struct sockaddr_un srv, cli, from;
    socklen_t slen = abstract_addr(&srv, "hmk-dgram-srv");
    socklen_t clen = abstract_addr(&cli, "hmk-dgram-cli");
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(s, (struct sockaddr *)&srv, slen);
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    char buf[32];
    printf("dgram unconnected send %d\n", e(send(c, "x", 1, 0)));
    printf("sendto %d\n", e(sendto(c, "anon", 4, 0, (struct sockaddr *)&srv, slen)));
    socklen_t flen = sizeof from;
    int n = e(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    printf("recvfrom %d %.4s fromlen %u\n", n, buf, flen);
    bind(c, (struct sockaddr *)&cli, clen);
    sendto(c, "named", 5, 0, (struct sockaddr *)&srv, slen);
    flen = sizeof from;
    n = e(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen));
    printf("recvfrom %d %.5s fromlen %u @%.*s\n", n, buf, flen, (int)flen - 3, from.sun_path + 1);
    printf("connect %d", e(connect(c, (struct sockaddr *)&srv, slen)));
    printf(" send %d\n", e(send(c, "conn", 4, 0)));
    recv(s, buf, sizeof buf, 0);
    show_name("dgram peer", c, 1);
    struct sockaddr_un nope;
    socklen_t nlen = path_addr(&nope, "/tmp/hmk-no-such-sock");
    printf("sendto missing %d\n", e(sendto(c, "x", 1, 0, (struct sockaddr *)&nope, nlen)));
    int ok = 0;
    while (send(c, "q", 1, MSG_DONTWAIT) == 1) {
        ok++;
    }
    printf("queue took %d then %d poll %#x\n", ok, -errno, pol(c));
    printf("a full receiver polls %#x\n", pol(s));
    close(s);
    printf("receiver gone: send %d\n", e(send(c, "x", 1, 0)));
    close(c);
}

static int send_fds(int sock, const int *fds, int nfds, const char *data)
{
    char control[CMSG_SPACE(4 * sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = CMSG_SPACE(nfds * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    return e(sendmsg(sock, &m, 0));
}

/* a message's descriptors: how many arrived, their numbers, and the flags */
static void recv_fds(int sock, size_t room, int *got)
{
    char control[CMSG_SPACE(4 * sizeof(int))];
    char buf[16];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = room};
    int n = e(recvmsg(sock, &m, 0));
    printf("recvmsg %d %.*s flags %#x controllen %zu:", n, n > 0 ? n : 0, buf, m.msg_flags,
           (size_t)m.msg_controllen);
    int k = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        printf(" level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        int count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (int i = 0; i < count; i++) {
            memcpy(&got[k], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            printf(" fd %d", got[k++]);
        }
    }
    printf("\n");
}

static void rights(void)
{
    int sv[2], p[2], q[2], got[4] = {-1, -1, -1, -1};
    char buf[8];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    printf("send one fd %d\n", send_fds(sv[0], &p[1], 1, "x"));
    close(p[1]);
    recv_fds(sv[1], CMSG_SPACE(4 * sizeof(int)), got);
    printf("write through it %d", e(write(got[0], "via", 3)));
    printf(" read %d\n", e(read(p[0], buf, sizeof buf)));
    close(got[0]);
    printf("pipe at eof %d\n", e(read(p[0], buf, sizeof buf)));
    close(p[0]);
    pipe(p), pipe(q);
    int two[2] = {p[1], q[1]};
    printf("send two fds %d\n", send_fds(sv[0], two, 2, "yy"));
    close(p[1]), close(q[1]);
    recv_fds(sv[1], CMSG_SPACE(4 * sizeof(int)), got);
    printf("both write"), v("", e(write(got[0], "k", 1))), v("", e(write(got[1], "l", 1)));
    close(got[0]), close(got[1]);
    printf("\nand both pipes end"), v("", e(read(p[0], buf, sizeof buf)));
    v("", e(read(q[0], buf, sizeof buf))), v("then", e(read(p[0], buf, sizeof buf)));
    v("", e(read(q[0], buf, sizeof buf))), printf("\n");
    close(q[0]);
    printf("send an fd, read it plainly: ");
    pipe(q);
    send_fds(sv[0], &q[1], 1, "z");
    close(q[1]);
    printf("read %d,", e(read(sv[1], buf, sizeof buf)));
    printf(" pipe eof %d\n", e(read(q[0], buf, 8)));
    close(q[0]), close(p[0]);
    int bad = 99;
    printf("send a bad fd %d\n", send_fds(sv[0], &bad, 1, "b"));
    /* descriptors stop a stream read: the data before them is read apart */
    write(sv[0], "ab", 2);
    pipe(q);
    send_fds(sv[0], &q[1], 1, "cd");
    write(sv[0], "ef", 2);
    close(q[1]);
    int n = e(read(sv[1], buf, 1));
    printf("stream read %d %.1s\n", n, buf);
    got[0] = -1;
    recv_fds(sv[1], CMSG_SPACE(sizeof(int)), got);
    close(got[0]);
    n = e(read(sv[1], buf, sizeof buf));
    printf("after them %d %.*s\n", n, n > 0 ? n : 0, buf);
    close(q[0]);
    close(sv[0]), close(sv[1]);
}

static void credentials(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int one = 1;
    printf("passcred %d", e(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, 4)));
    printf(" get %d\n", opt(sv[1], SOL_SOCKET, SO_PASSCRED));
    send(sv[0], "c", 1, 0);
    char control[CMSG_SPACE(sizeof(struct ucred))], buf[4];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    int n = e(recvmsg(sv[1], &m, 0));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct ucred cred;
    memcpy(&cred, CMSG_DATA(c), sizeof cred);
    printf("recvmsg %d level %d type %d len %zu pid %d uid %d gid %d\n", n, c->cmsg_level,
           c->cmsg_type, (size_t)c->cmsg_len, cred.pid == getpid(), cred.uid == getuid(),
           cred.gid == getgid());
    socklen_t len = sizeof cred;
    memset(&cred, 0, sizeof cred);
    int r = e(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len));
    printf("peercred %d len %u pid %d uid %d\n", r, len, cred.pid == getpid(),
           cred.uid == getuid());
    close(sv[0]), close(sv[1]);
}

static void options(void)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0), d = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("type %d %d domain %d protocol %d error %d acceptconn %d\n",
           opt(s, SOL_SOCKET, SO_TYPE), opt(d, SOL_SOCKET, SO_TYPE),
           opt(s, SOL_SOCKET, SO_DOMAIN), opt(s, SOL_SOCKET, SO_PROTOCOL),
           opt(s, SOL_SOCKET, SO_ERROR), opt(s, SOL_SOCKET, SO_ACCEPTCONN));
    printf("sndbuf %d rcvbuf %d\n", opt(s, SOL_SOCKET, SO_SNDBUF), opt(s, SOL_SOCKET, SO_RCVBUF));
    int n = 4096;
    printf("set sndbuf"), v("", e(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &n, sizeof n)));
    v("->", opt(s, SOL_SOCKET, SO_SNDBUF));
    printf(", rcvbuf"), v("", e(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &n, sizeof n)));
    v("->", opt(s, SOL_SOCKET, SO_RCVBUF)), printf("\n");
    n = 1;
    printf("reuseaddr"), v("", e(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &n, sizeof n)));
    v("->", opt(s, SOL_SOCKET, SO_REUSEADDR));
    printf(" keepalive"), v("", e(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &n, sizeof n)));
    v("->", opt(s, SOL_SOCKET, SO_KEEPALIVE)), printf("\n");
    printf("short optlen %d unknown %d get unknown %d\n",
           e(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &n, 2)),
           e(setsockopt(s, SOL_SOCKET, 999, &n, sizeof n)), opt(s, SOL_SOCKET, 999));
    printf("other level set %d get %d\n", e(setsockopt(s, 6, 1, &n, sizeof n)), opt(s, 6, 1));
    char big[16];
    socklen_t len = sizeof big;
    int r = e(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &len));
    printf("get with a long optlen %d len %u\n", r, len);
    len = 2;
    r = e(getsockopt(s, SOL_SOCKET, SO_TYPE, big, &len));
    printf("get with a short optlen %d len %u\n", r, len);
    printf("get bad optlen pointer %d\n", e(getsockopt(s, SOL_SOCKET, SO_TYPE, big, (void *)8)));
    struct linger l = {1, 5}, lg = {0, 0};
    len = sizeof lg;
    printf("linger %d ", e(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l)));
    r = e(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &len));
    printf("get %d %d %d len %u\n", r, lg.l_onoff, lg.l_linger, len);
    struct timeval tv = {0, 30000}, got = {0, 0};
    len = sizeof got;
    printf("rcvtimeo %d ", e(setsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)));
    r = e(getsockopt(d, SOL_SOCKET, SO_RCVTIMEO, &got, &len));
    printf("get %d %ld.%06ld\n", r, (long)got.tv_sec, (long)got.tv_usec);
    struct sockaddr_un a;
    bind(d, (struct sockaddr *)&a, abstract_addr(&a, "hmk-timed"));
    char buf[4];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = e(recv(d, buf, sizeof buf, 0));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("timed recv %d waited 30ms %s\n", r, ms >= 30 && ms < 1000 ? "yes" : "no");
    close(s), close(d);
}

static void mmsg(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr out[3], in[4];
    struct iovec oiov[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
    char bufs[4][8];
    struct iovec iiov[4];
    memset(out, 0, sizeof out), memset(in, 0, sizeof in);
    for (int i = 0; i < 3; i++) {
        out[i].msg_hdr.msg_iov = &oiov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    for (int i = 0; i < 4; i++) {
        iiov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        in[i].msg_hdr.msg_iov = &iiov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    int r = e(sendmmsg(sv[0], out, 3, 0));
    printf("sendmmsg %d lens %u %u %u\n", r, out[0].msg_len, out[1].msg_len, out[2].msg_len);
    printf("recvmmsg %d", e(recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL)));
    for (int i = 0; i < 3; i++) {
        printf(" %u:%.*s", in[i].msg_len, (int)in[i].msg_len, bufs[i]);
    }
    printf("\nrecvmmsg none %d\n", e(recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL)));
    close(sv[0]), close(sv[1]);
}

static void not_sockets(void)
{
    int p[2];
    pipe(p);
    char buf[4];
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    int v = 1;
    printf("on a pipe: send %d recv %d getsockname %d setsockopt %d listen %d shutdown %d\n",
           e(send(p[1], "x", 1, 0)), e(recv(p[0], buf, 1, 0)),
           e(getsockname(p[0], (struct sockaddr *)&a, &len)),
           e(setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v)), e(listen(p[0], 1)),
           e(shutdown(p[0], SHUT_RD)));
    printf("on a bad fd: send %d accept %d connect %d bind %d\n", e(send(99, "x", 1, 0)),
           e(accept(99, NULL, NULL)), e(connect(99, (struct sockaddr *)&a, 4)),
           e(bind(99, (struct sockaddr *)&a, 4)));
    close(p[0]), close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, on_sigpipe);
    creation();
    stream_pair();
    dgram_pair(SOCK_DGRAM);
    dgram_pair(SOCK_SEQPACKET);
    named();
    abstract();
    dgram_named();
    rights();
    credentials();
    options();
    mmsg();
    not_sockets();
    return 0;
}

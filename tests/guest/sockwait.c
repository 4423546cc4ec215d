/* Sockets between processes, as Linux answers them: calls that wait (accept, recv, send on a
 * full buffer, connect to a full backlog, poll) and the peer's act that ends the wait, a
 * signal handler interrupting a wait (EINTR, or the call going on under SA_RESTART unless the
 * socket has a timeout),
 * MSG_WAITALL, sockets shared by fork and closed by exit, and descriptors and credentials
 * passed from a child. Each child acts after a short sleep, so the parent is waiting by then;
 * children report through their exit status, so the output's order is the parent's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

static void sleep_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static int status_of(pid_t child)
{
    int st = -1;
    waitpid(child, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return sizeof(sa_family_t) + 1 + strlen(name);
}

static int handled;
static void on_usr1(int sig) { (void)sig, handled++; }

static void handle_usr1(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
    handled = 0;
}

/* the child's part of a wait a handler restarts: a signal, then the data */
static void signal_then_write(int fd)
{
    sleep_ms(20);
    kill(getppid(), SIGUSR1);
    sleep_ms(20);
    _exit(write(fd, "late", 4) == 4 ? 0 : 1);
}

/* the child's part of a wait a handler ends: SIGUSR1 to the parent every 10 ms until the
 * parent says (a byte on `told`) that its call returned, then "late" on `fd` (if any); the
 * signals before the parent waits are handled too, so only whether one was is printed */
static void nag_then_write(int told, int fd)
{
    struct pollfd p = {told, POLLIN, 0};
    do {
        kill(getppid(), SIGUSR1);
    } while (poll(&p, 1, 10) == 0);
    _exit(fd < 0 || write(fd, "late", 4) == 4 ? 0 : 1);
}

static void accept_waits(void)
{
    struct sockaddr_un a;
    socklen_t alen = abstract_addr(&a, "hmk-sockwait");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, alen);
    listen(l, 4);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(20);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, alen);
        _exit(send(c, "hi", 2, 0) == 2 ? 0 : 1);
    }
    int acc = accept(l, NULL, NULL);
    char buf[8];
    int n = e(recv(acc, buf, sizeof buf, 0));
    printf("unix accept waited %d got %d %.2s", acc >= 0, n, buf);
    printf(" eof %d child %d\n", e(recv(acc, buf, sizeof buf, 0)), status_of(child));
    close(acc);

    /* SO_PEERCRED and SCM_CREDENTIALS name the child */
    child = fork();
    if (child == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, alen);
        char b;
        /* send only once the parent has asked for credentials ("g") */
        _exit(recv(c, &b, 1, 0) == 1 && send(c, "c", 1, 0) == 1 && recv(c, &b, 1, 0) == 0 ? 0 : 1);
    }
    acc = accept(l, NULL, NULL);
    int one = 1;
    setsockopt(acc, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    send(acc, "g", 1, 0);
    struct ucred peer;
    socklen_t len = sizeof peer;
    getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &peer, &len);
    char control[CMSG_SPACE(sizeof(struct ucred))], buf1[4];
    struct iovec iov = {buf1, sizeof buf1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    n = e(recvmsg(acc, &m, 0));
    struct ucred sent;
    memcpy(&sent, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof sent);
    printf("peercred is the child %d, credentials from the child %d, recvmsg %d\n",
           peer.pid == child, sent.pid == child, n);
    close(acc);
    printf("child %d\n", status_of(child));

    /* SA_RESTART: accept goes on after the handler */
    handle_usr1(SA_RESTART);
    child = fork();
    if (child == 0) {
        sleep_ms(20);
        kill(getppid(), SIGUSR1);
        sleep_ms(20);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        _exit(connect(c, (struct sockaddr *)&a, alen) == 0 ? 0 : 1);
    }
    acc = e(accept(l, NULL, NULL));
    printf("accept restarted %d handled %d child %d\n", acc >= 0, handled, status_of(child));
    close(acc);

    /* a full backlog: connect waits until an accept makes room */
    close(l);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, alen);
    listen(l, 0);
    int first = socket(AF_UNIX, SOCK_STREAM, 0), second = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("first connect %d", e(connect(first, (struct sockaddr *)&a, alen)));
    child = fork();
    if (child == 0) {
        sleep_ms(20);
        _exit(accept(l, NULL, NULL) >= 0 ? 0 : 1);
    }
    printf(" second waited %d child %d\n", e(connect(second, (struct sockaddr *)&a, alen)),
           status_of(child));
    close(first), close(second), close(l);
}

static void tcp_waits(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 4);
    socklen_t alen = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &alen);
    pid_t child = fork();
    if (child == 0) {
        sleep_ms(20);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, sizeof a);
        send(c, "ab", 2, 0);
        sleep_ms(20);
        send(c, "cd", 2, 0);
        sleep_ms(20);
        _exit(0); /* the connection closes with the child */
    }
    int acc = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    char buf[8];
    int n = e(recv(acc, buf, 4, MSG_WAITALL));
    printf("tcp accept waited %d waitall %d %.4s", acc >= 0, n, buf);
    printf(" eof %d child %d\n", e(recv(acc, buf, sizeof buf, 0)), status_of(child));
    close(acc);

    /* a full send buffer: send waits until the peer reads */
    child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, sizeof a);
        sleep_ms(30);
        static char big[65536];
        long got = 0, r;
        while ((r = recv(c, big, sizeof big, 0)) > 0) {
            got += r;
        }
        _exit(got > 200000 ? 0 : 1);
    }
    acc = accept(l, NULL, NULL);
    fcntl(acc, F_SETFL, O_NONBLOCK);
    static char big[100000];
    long total = 0, r;
    while ((r = send(acc, big, sizeof big, 0)) > 0) {
        total += r;
    }
    fcntl(acc, F_SETFL, 0);
    printf("tcp filled %d", -errno);
    printf(" then sent %d", e(send(acc, big, sizeof big, 0)));
    printf(" %d", e(send(acc, big, sizeof big, 0)));
    close(acc);
    printf(" child %d\n", status_of(child));
    close(l);
}

static void pair_waits(void)
{
    int sv[2];
    char buf[16];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        sleep_ms(20);
        _exit(write(sv[1], "data", 4) == 4 ? 0 : 1);
    }
    close(sv[1]);
    int n = e(recv(sv[0], buf, sizeof buf, 0));
    printf("recv waited %d %.4s", n, buf);
    printf(" then eof after the child's exit %d child %d\n", e(recv(sv[0], buf, sizeof buf, 0)),
           status_of(child));
    close(sv[0]);

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    child = fork();
    if (child == 0) {
        sleep_ms(20);
        _exit(0);
    }
    close(sv[1]);
    struct pollfd p = {sv[0], POLLIN | POLLRDHUP, 0};
    printf("poll waits for the peer's last close %d", e(poll(&p, 1, -1)));
    printf(" %#x child %d\n", p.revents, status_of(child));
    close(sv[0]);

    /* a handler without SA_RESTART ends the wait: EINTR */
    int told[2];
    handle_usr1(0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(told);
    child = fork();
    if (child == 0) {
        nag_then_write(told[0], sv[1]);
    }
    printf("recv interrupted %d handled %d", e(recv(sv[0], buf, sizeof buf, 0)), handled > 0);
    write(told[1], "x", 1);
    n = e(recv(sv[0], buf, sizeof buf, 0));
    printf(" then %d %.4s child %d\n", n, buf, status_of(child));
    close(sv[0]), close(sv[1]), close(told[0]), close(told[1]);

    handle_usr1(SA_RESTART);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    child = fork();
    if (child == 0) {
        signal_then_write(sv[1]);
    }
    n = e(recv(sv[0], buf, sizeof buf, 0));
    printf("recv restarted %d %.4s handled %d child %d\n", n, buf, handled, status_of(child));
    close(sv[0]), close(sv[1]);

    /* with a timeout set on the socket (SO_RCVTIMEO) the call is not restarted: EINTR */
    handle_usr1(SA_RESTART);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {5, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pipe(told);
    child = fork();
    if (child == 0) {
        nag_then_write(told[0], sv[1]);
    }
    n = e(recv(sv[0], buf, sizeof buf, 0));
    printf("timed recv interrupted %d handled %d", n, handled > 0);
    write(told[1], "x", 1);
    n = e(recv(sv[0], buf, sizeof buf, 0));
    printf(" then %d %.4s child %d\n", n, buf, status_of(child));
    close(sv[0]), close(sv[1]), close(told[0]), close(told[1]);

    /* a blocked send sends what it can before a handler interrupts it */
    handle_usr1(0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    static char big[65536];
    long total = 0, r;
    while ((r = send(sv[0], big, sizeof big, 0)) > 0) {
        total += r;
    }
    fcntl(sv[0], F_SETFL, 0);
    pipe(told);
    child = fork();
    if (child == 0) {
        nag_then_write(told[0], -1);
    }
    printf("full send interrupted %d handled %d", e(send(sv[0], big, 100, 0)), handled > 0);
    write(told[1], "x", 1);
    printf(" child %d\n", status_of(child));
    close(told[0]), close(told[1]);
    child = fork();
    if (child == 0) {
        sleep_ms(20);
        long got = 0;
        while (got < total + 100000 && (r = recv(sv[1], big, sizeof big, 0)) > 0) {
            got += r;
        }
        _exit(got == total + 100000 ? 0 : 1);
    }
    printf("blocked send of 100000: %d", e(send(sv[0], big, 65536, 0)));
    printf(" %d child %d\n", e(send(sv[0], big, 100000 - 65536, 0)), status_of(child));
    close(sv[0]), close(sv[1]);
}

static void rights_from_a_child(void)
{
    int sv[2], p[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    pid_t child = fork();
    if (child == 0) {
        pipe(p);
        char control[CMSG_SPACE(sizeof(int))];
        memset(control, 0, sizeof control);
        struct iovec iov = {"f", 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                           .msg_controllen = sizeof control};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        sendmsg(sv[1], &m, 0);
        close(p[1]);
        char b[8];
        _exit(read(p[0], b, sizeof b) == 5 && memcmp(b, "hello", 5) == 0 ? 0 : 1);
    }
    char control[CMSG_SPACE(sizeof(int))], buf[4];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    int n = e(recvmsg(sv[0], &m, 0));
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
    printf("a child's pipe %d fd %d write %d", n, fd, e(write(fd, "hello", 5)));
    close(fd);
    printf(" child %d\n", status_of(child));
    close(sv[0]), close(sv[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    accept_waits();
    tcp_waits();
    pair_waits();
    rights_from_a_child();
    return 0;
}

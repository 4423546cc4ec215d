/* Pipes in "packet mode" (pipe2 with O_DIRECT, pipe(7)): each write is a packet, a read takes
 * one packet at most and discards what of it did not fit, a write longer than PIPE_BUF is cut
 * into packets of PIPE_BUF bytes, a zero-length write makes none, and each packet takes a
 * buffer of its own (a page of the pipe's capacity: sixteen in a default pipe, one in a pipe
 * of one page), which poll's POLLOUT follows; FIONREAD counts the bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static char buf[10000];

static long rd(int fd, size_t n)
{
    ssize_t r = read(fd, buf, n);
    return r < 0 ? -errno : r;
}

static long wr(int fd, const char *s, size_t n)
{
    ssize_t r = write(fd, s, n);
    return r < 0 ? -errno : r;
}

static int out(int fd)
{
    struct pollfd p = {fd, POLLOUT, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void)
{
    int p[2], q[2], n = 0;
    printf("pipe2 O_DIRECT: %d\n", pipe2(p, O_DIRECT | O_NONBLOCK) < 0 ? -errno : 0);
    long a = wr(p[1], "abc", 3), b = wr(p[1], "defgh", 5), c = wr(p[1], "", 0);
    printf("writes: %ld %ld %ld\n", a, b, c);
    ioctl(p[0], FIONREAD, &n);
    printf("queued %d\n", n);
    long r = rd(p[0], 100);
    printf("read 100: %ld '%.*s'\n", r, (int)r, buf);
    r = rd(p[0], 2);
    printf("read 2: %ld '%.*s'\n", r, (int)r, buf);
    printf("read empty: %ld\n", rd(p[0], 100));

    static char big[5000];
    memset(big, 'x', sizeof big);
    printf("write 5000: %ld\n", wr(p[1], big, sizeof big));
    a = rd(p[0], sizeof buf);
    b = rd(p[0], sizeof buf);
    c = rd(p[0], 1);
    printf("reads: %ld %ld %ld\n", a, b, c);

    int packets = 0;
    while (wr(p[1], "z", 1) == 1)
        packets++;
    a = wr(p[1], "z", 1);
    printf("one-byte packets that fit: %d, then %ld, pollout %#x\n", packets, a, out(p[1]));
    rd(p[0], 1);
    int o = out(p[1]);
    printf("after a read: pollout %#x write %ld\n", o, wr(p[1], "zz", 2));
    while (rd(p[0], 1) > 0)
        ;

    printf("one page: %d\n", fcntl(p[1], F_SETPIPE_SZ, 4096));
    a = wr(p[1], "a", 1);
    b = wr(p[1], "b", 1);
    printf("packets: %ld %ld\n", a, b);
    r = rd(p[0], 10);
    printf("read: %ld '%c'", r, buf[0]);
    printf(" then %ld\n", rd(p[0], 10));

    pipe2(q, O_NONBLOCK); /* the same in a plain pipe: bytes, not packets */
    wr(q[1], "abc", 3);
    wr(q[1], "defgh", 5);
    r = rd(q[0], 100);
    printf("plain read 100: %ld '%.*s'\n", r, (int)r, buf);
    printf("bad flag: %d\n", pipe2(q, 0x100) < 0 ? -errno : 0);
    return 0;
}

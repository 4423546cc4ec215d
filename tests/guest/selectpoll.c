/* select (pselect6) and poll (ppoll) on pipes and files, as Linux answers them: readiness, a
 * hung-up pipe (POLLHUP, and readable for select), a pipe with no reader (POLLERR), a closed
 * descriptor in a set (EBADF), a timeout that passes, and a wait a child's write ends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sel(int fd, int write, long usec)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    struct timeval tv = {0, usec};
    int n = select(fd + 1, write ? NULL : &set, write ? &set : NULL, NULL, usec < 0 ? NULL : &tv);
    return n < 0 ? -errno : n * 10 + FD_ISSET(fd, &set);
}

static int pol(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, 0);
    return n < 0 ? -errno : p.revents;
}

int main(void)
{
    int p[2];
    char c = 'x';
    if (pipe(p))
        return 1;
    printf("empty: select %d poll %#x\n", sel(p[0], 0, 0), pol(p[0], POLLIN));
    if (write(p[1], &c, 1) != 1)
        return 1;
    printf("one byte: select %d poll %#x\n", sel(p[0], 0, 0), pol(p[0], POLLIN));
    printf("write end: select %d poll %#x\n", sel(p[1], 1, 0), pol(p[1], POLLOUT));
    if (read(p[0], &c, 1) != 1)
        return 1;
    close(p[1]);
    printf("hung up: select %d poll %#x\n", sel(p[0], 0, 0), pol(p[0], POLLIN));
    close(p[0]);
    printf("closed: select %d poll %#x\n", sel(p[0], 0, 0), pol(p[0], POLLIN));
    if (pipe(p))
        return 1;
    close(p[0]);
    printf("no reader: select %d poll %#x\n", sel(p[1], 1, 0), pol(p[1], POLLOUT));
    close(p[1]);
    int f = open("/tmp/selectpoll.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    printf("file: select %d %d poll %#x\n", sel(f, 0, 0), sel(f, 1, 0), pol(f, POLLIN | POLLOUT));
    close(f);
    unlink("/tmp/selectpoll.txt");
    if (pipe(p))
        return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int n = sel(p[0], 0, 20000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("timeout: select %d waited 20ms %s\n", n, ms >= 20 ? "yes" : "no");
    pid_t child = fork();
    if (child == 0) {
        usleep(5000);
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        _exit(0);
    }
    printf("woken: select %d\n", sel(p[0], 0, -1));
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    return 0;
}

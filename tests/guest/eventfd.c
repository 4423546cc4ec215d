/* eventfd2 as Linux answers it: flags, the count read whole or one at a time (EFD_SEMAPHORE),
 * short buffers and the maximum value (EINVAL), a full count (EAGAIN, and a writer that waits
 * for a reader in another process), poll and select readiness, lseek and pread, and a reader
 * that waits for another process's write or is interrupted by a signal (EINTR). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long rd(int fd, size_t n)
{
    uint64_t v[2] = {0, 0};
    ssize_t r = read(fd, v, n);
    return r < 0 ? -errno : (long)v[0];
}

static long wr(int fd, uint64_t v, size_t n)
{
    ssize_t r = write(fd, &v, n);
    return r < 0 ? -errno : r;
}

static int pol(int fd)
{
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDNORM, 0};
    return poll(&p, 1, 0) < 0 ? -errno : p.revents;
}

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    printf("bad flags: %ld\n", syscall(SYS_eventfd2, 0, 0x100) < 0 ? -errno : 0L);
    int e = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    printf("flags: fl %#x fd %d\n", fcntl(e, F_GETFL), fcntl(e, F_GETFD));
    printf("poll with 3: %#x\n", pol(e));
    printf("short read: %ld\n", rd(e, 4));
    printf("read: %ld\n", rd(e, 8));
    printf("read again: %ld\n", rd(e, 8));
    printf("poll empty: %#x\n", pol(e));
    printf("short write: %ld\n", wr(e, 1, 7));
    printf("long write: %ld\n", wr(e, 1, 16));
    printf("max write: %ld\n", wr(e, UINT64_MAX, 8));
    printf("write 5: %ld\n", wr(e, 5, 8));
    printf("write 7: %ld\n", wr(e, 7, 8));
    printf("read 16 bytes: %ld\n", rd(e, 16));
    printf("zero write: %ld\n", wr(e, 0, 8));
    printf("poll: %#x\n", pol(e));
    printf("fill: %ld\n", wr(e, UINT64_MAX - 1, 8));
    printf("poll full: %#x\n", pol(e));
    printf("one more: %ld\n", wr(e, 1, 8));
    printf("drain: %d\n", rd(e, 8) == (long)(UINT64_MAX - 1));
    printf("lseek: %ld\n", (long)lseek(e, 5, SEEK_SET));
    printf("pread: %ld\n", pread(e, &(uint64_t){0}, 8, 0) < 0 ? -errno : 0L);
    close(e);
    printf("poll closed: %#x\n", pol(e));

    int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    for (int i = 0; i < 4; i++)
        printf("semaphore read %d: %ld\n", i, rd(s, 8));
    fd_set set;
    FD_ZERO(&set);
    FD_SET(s, &set);
    struct timeval tv = {0, 0};
    printf("select empty: %d\n", select(s + 1, &set, NULL, NULL, &tv));
    close(s);

    int w = eventfd(0, 0);
    pid_t child = fork();
    if (child == 0) {
        usleep(10000);
        _exit(wr(w, 42, 8) == 8 ? 0 : 1);
    }
    printf("waited read: %ld\n", rd(w, 8));
    int status;
    waitpid(child, &status, 0);
    printf("writer status %d\n", WEXITSTATUS(status));

    printf("fill: %ld\n", wr(w, UINT64_MAX - 1, 8));
    child = fork();
    if (child == 0) {
        usleep(10000);
        _exit(rd(w, 8) == (long)(UINT64_MAX - 1) ? 0 : 1);
    }
    printf("waited write: %ld\n", wr(w, 9, 8));
    printf("then read: %ld\n", rd(w, 8));
    waitpid(child, &status, 0);
    printf("reader status %d\n", WEXITSTATUS(status));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    child = fork();
    if (child == 0) {
        usleep(10000);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    printf("interrupted read: %ld\n", rd(w, 8));
    waitpid(child, &status, 0);
    close(w);
    return 0;
}

/* signalfd4 as Linux answers it: bad flags, pointers and descriptors; reads of the pending
 * signals of its mask as struct signalfd_siginfo (a sender's pid and uid, a child's status, the
 * first sender's of a signal sent twice), several in one read, a short buffer, EAGAIN; poll; a
 * new mask for an existing signalfd; a read that waits for another process's kill; and a
 * forked child reading its own signals through the descriptor it inherited. (A mask size other
 * than 8 is EINVAL on Linux, but qemu-user does not check it: tests/test_event_files.py does.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigset_t set_of(int a, int b)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, a);
    if (b)
        sigaddset(&s, b);
    return s;
}

static int pol(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) < 0 ? -errno : p.revents;
}

static void show(const char *what, int fd, pid_t from)
{
    struct signalfd_siginfo si[2];
    ssize_t n = read(fd, si, sizeof si);
    printf("%s: %zd", what, n < 0 ? -errno : n);
    for (int i = 0; i < n / (ssize_t)sizeof si[0]; i++)
        printf(" [signo %u code %d from %s uid %s status %d]", si[i].ssi_signo, si[i].ssi_code,
               si[i].ssi_pid == (unsigned)from ? "ok" : "other",
               si[i].ssi_uid == getuid() ? "ok" : "other", si[i].ssi_status);
    printf("\n");
}

int main(void)
{
    sigset_t both = set_of(SIGUSR1, SIGUSR2), usr1 = set_of(SIGUSR1, 0);
    sigset_t blocked = set_of(SIGUSR1, SIGUSR2);
    sigaddset(&blocked, SIGCHLD);
    sigprocmask(SIG_BLOCK, &blocked, NULL);
    printf("bad flags: %ld\n", syscall(SYS_signalfd4, -1, &usr1, 8, 1) < 0 ? -errno : 0L);
    printf("bad mask: %ld\n", syscall(SYS_signalfd4, -1, (void *)8, 8, 0) < 0 ? -errno : 0L);
    printf("bad fd: %d\n", signalfd(99, &usr1, 0) < 0 ? -errno : 0);
    printf("fd -2: %d\n", signalfd(-2, &usr1, 0) < 0 ? -errno : 0);
    int p[2];
    if (pipe(p))
        return 1;
    printf("not a signalfd: %d\n", signalfd(p[0], &usr1, 0) < 0 ? -errno : 0);

    int s = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("flags: fl %#x fd %d\n", fcntl(s, F_GETFL), fcntl(s, F_GETFD));
    printf("empty: poll %#x\n", pol(s));
    show("empty read", s, 0);
    kill(getpid(), SIGUSR1);
    printf("pending: poll %#x\n", pol(s));
    char small[64];
    printf("short read: %d\n", read(s, small, sizeof small) < 0 ? -errno : 0);
    show("read", s, getpid());
    kill(getpid(), SIGUSR2);
    printf("other signal: poll %#x\n", pol(s));
    show("other signal read", s, 0);
    kill(getpid(), SIGUSR1);
    printf("new mask: %d\n", signalfd(s, &both, 0) == s);
    show("both", s, getpid());
    printf("write: %d\n", write(s, small, 8) < 0 ? -errno : 0);
    printf("lseek: %ld\n", (long)lseek(s, 0, SEEK_CUR));

    int wait_fd = signalfd(-1, &both, 0);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        usleep(10000);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    show("waited", wait_fd, child);
    int status;
    waitpid(child, &status, 0);

    sigset_t chld = set_of(SIGCHLD, 0);
    int c = signalfd(-1, &chld, SFD_NONBLOCK);
    pid_t first = child;
    show("the first child's SIGCHLD", c, first);
    show("no more", c, 0);
    fcntl(c, F_SETFL, 0);
    child = fork();
    if (child == 0)
        _exit(7);
    show("child", c, child);
    waitpid(child, &status, 0);
    printf("reaped: %d\n", WEXITSTATUS(status));
    for (int i = 0; i < 2; i++) {
        pid_t twice = fork();
        if (twice == 0)
            _exit(i);
        if (i == 0)
            first = twice;
        waitpid(twice, &status, 0);
    }
    show("two children, one SIGCHLD", c, first);

    fflush(stdout);
    child = fork();
    if (child == 0) {
        kill(getpid(), SIGUSR1);
        show("in the child", wait_fd, getpid());
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("parent's: poll %#x\n", pol(wait_fd));
    return 0;
}

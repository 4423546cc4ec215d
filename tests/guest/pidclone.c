/* Process descriptors and clone3, mincore, and copies between processes' memory: what
   runtimes, supervisors and debuggers use. Prints what it observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static long clone3_raw(struct clone_args *a, size_t size) { return syscall(SYS_clone3, a, size); }

int main(void) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    int pidfd = -1;
    a.flags = CLONE_PIDFD;
    a.pidfd = (uintptr_t)&pidfd;
    a.exit_signal = SIGCHLD;
    fflush(stdout);
    long child = clone3_raw(&a, sizeof a);
    if (child == 0) syscall(SYS_exit_group, 5);
    printf("clone3: child %d pidfd %d\n", child > 0, pidfd >= 0);
    struct pollfd p = {pidfd, POLLIN, 0};
    printf("poll pidfd: %d revents %#x\n", poll(&p, 1, 1000), p.revents);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    printf("waitid P_PIDFD: %d pid ok %d status %d\n", waitid(P_PIDFD, pidfd, &si, WEXITED),
           si.si_pid == child, si.si_status);
    errno = 0;
    printf("signal after reap: %ld errno %d\n", syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0),
           errno);
    close(pidfd);

    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    errno = 0;
    printf("clone3 small: %ld errno %d\n", clone3_raw(&a, 32), errno);
    a.exit_signal = 99;
    errno = 0;
    printf("clone3 bad exit signal: %ld errno %d\n", clone3_raw(&a, sizeof a), errno);
    a.exit_signal = 0;
    a.flags = SIGCHLD;
    errno = 0;
    printf("clone3 signal in flags: %ld errno %d\n", clone3_raw(&a, sizeof a), errno);
    a.flags = 0;
    a.stack = 0x1000;
    errno = 0;
    printf("clone3 stack without size: %ld errno %d\n", clone3_raw(&a, sizeof a), errno);
    char big[200];
    memset(big, 0, sizeof big);
    memcpy(big, &a, sizeof a);
    ((struct clone_args *)big)->stack = 0;
    big[150] = 1;
    errno = 0;
    printf("clone3 unknown field set: %ld errno %d\n", clone3_raw((void *)big, sizeof big), errno);

    /* pidfd_open, pidfd_send_signal, pidfd_getfd */
    errno = 0;
    printf("pidfd_open bad flags: %ld errno %d\n", syscall(SYS_pidfd_open, getpid(), 1), errno);
    errno = 0;
    printf("pidfd_open no such: %ld errno %d\n", syscall(SYS_pidfd_open, 999999, 0), errno);
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        for (;;) pause();
    }
    int kfd = syscall(SYS_pidfd_open, kid, 0);
    printf("pidfd_open: %d cloexec %d\n", kfd >= 0, (fcntl(kfd, F_GETFD) & FD_CLOEXEC) != 0);
    p.fd = kfd;
    p.revents = 0;
    printf("poll running: %d\n", poll(&p, 1, 0));
    char buf[8];
    errno = 0;
    printf("read pidfd: %zd errno %d\n", read(kfd, buf, 8), errno);
    printf("send SIGTERM: %ld\n", syscall(SYS_pidfd_send_signal, kfd, SIGTERM, NULL, 0));
    int status;
    waitpid(kid, &status, 0);
    printf("killed by %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    errno = 0;
    printf("send bad flags: %ld errno %d\n", syscall(SYS_pidfd_send_signal, kfd, 0, NULL, 0x100), errno);
    errno = 0;
    printf("send on non-pidfd: %ld errno %d\n", syscall(SYS_pidfd_send_signal, 1, 0, NULL, 0), errno);
    int self = syscall(SYS_pidfd_open, getpid(), 0);
    int copy = syscall(SYS_pidfd_getfd, self, 1, 0);
    struct stat s1, s2;
    fstat(1, &s1);
    fstat(copy, &s2);
    printf("getfd: same file %d cloexec %d\n", s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev,
           (fcntl(copy, F_GETFD) & FD_CLOEXEC) != 0);
    errno = 0;
    printf("getfd bad target fd: %ld errno %d\n", syscall(SYS_pidfd_getfd, self, 77, 0), errno);
    errno = 0;
    printf("getfd bad flags: %ld errno %d\n", syscall(SYS_pidfd_getfd, self, 1, 1), errno);

    /* mincore */
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[2 * pg] = 1;
    unsigned char vec[4];
    printf("mincore: %d", mincore(m, 4 * pg, vec));
    for (int i = 0; i < 4; i++) printf(" %d", vec[i] & 1);
    printf("\n");
    errno = 0;
    printf("mincore unaligned: %d errno %d\n", mincore(m + 1, pg, vec), errno);
    munmap(m + 3 * pg, pg);
    errno = 0;
    printf("mincore unmapped: %d errno %d\n", mincore(m, 4 * pg, vec), errno);

    /* process_vm_readv / writev against a child */
    static char secret[32] = "a secret in memory";
    int go[2], back[2];
    pipe(go);
    pipe(back);
    fflush(stdout);
    kid = fork();
    if (kid == 0) {
        strcpy(secret, "the child's own text");
        write(back[1], "r", 1);
        char c;
        read(go[0], &c, 1);
        printf("child sees: %s\n", secret);
        fflush(stdout);
        _exit(0);
    }
    char c;
    read(back[0], &c, 1);
    char got[32] = {0};
    struct iovec local = {got, 20}, remote = {secret, 20};
    printf("readv: %zd '%s'\n", process_vm_readv(kid, &local, 1, &remote, 1, 0), got);
    char put[] = "written from outside";
    local.iov_base = put;
    local.iov_len = sizeof put;
    remote.iov_len = sizeof put;
    printf("writev: %zd\n", process_vm_writev(kid, &local, 1, &remote, 1, 0));
    errno = 0;
    printf("readv bad flags: %zd errno %d\n", process_vm_readv(kid, &local, 1, &remote, 1, 1), errno);
    remote.iov_base = (void *)8;
    errno = 0;
    printf("readv bad remote: %zd errno %d\n", process_vm_readv(kid, &local, 1, &remote, 1, 0), errno);
    fflush(stdout);
    write(go[1], "g", 1);
    waitpid(kid, NULL, 0);
    errno = 0;
    printf("readv no such: %zd errno %d\n", process_vm_readv(999999, &local, 1, &remote, 1, 0), errno);
    return 0;
}

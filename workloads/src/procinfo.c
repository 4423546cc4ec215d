/* procinfo: waitid, wait4 by process group, statx and the credential calls, each result printed
 * (errors by name). Children exit with known codes or die by a signal; waitid reports them with
 * WNOWAIT (the child stays waitable), WNOHANG (none yet) and by group; statx reports a file made
 * in /tmp; the process drops from root to uid/gid 1000 and checks what it may change back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const char *name(int e)
{
    switch (e) {
    case 0: return "ok";
    case ECHILD: return "ECHILD";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static const char *res(long r)
{
    return name(r < 0 ? errno : 0);
}

static pid_t child(int code, int sig)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (sig)
            raise(sig);
        _exit(code);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        usage(argv[0], "");
    siginfo_t si;
    /* waitid: WNOWAIT leaves the zombie; a second waitid reaps it */
    pid_t a = child(7, 0);
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, (id_t)a, &si, WEXITED | WNOWAIT);
    printf("waitid nowait: %s signo=%d code=%s pid-match=%d status=%d\n", res(r), si.si_signo,
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_pid == a, si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid all: %s pid-match=%d status=%d\n", res(r), si.si_pid == a, si.si_status);
    r = waitid(P_PID, (id_t)a, &si, WEXITED);
    printf("waitid reaped: %s\n", res(r));

    /* a child killed by a signal */
    pid_t b = child(0, SIGTERM);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, (id_t)b, &si, WEXITED);
    printf("waitid killed: %s code=%s status=%d\n", res(r),
           si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", si.si_status);

    /* WNOHANG with a live child that is waiting on a pipe */
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(fds[1]);
        read(fds[0], &x, 1);
        _exit(3);
    }
    close(fds[0]);
    memset(&si, 0xff, sizeof si);
    r = waitid(P_PID, (id_t)c, &si, WEXITED | WNOHANG);
    printf("waitid nohang: %s pid=%d\n", res(r), si.si_pid);
    printf("waitid no flags: %s\n", res(waitid(P_PID, (id_t)c, &si, WNOHANG)));
    printf("waitid bad type: %s\n", res(waitid((idtype_t)9, 0, &si, WEXITED)));
    close(fds[1]);
    int status = 0;
    printf("wait4 by pid: %s", res(waitpid(c, &status, 0)));
    printf(" exit=%d\n", WEXITSTATUS(status));

    /* wait4 by process group: a child in its own group is not ours to wait for by group 0 */
    pid_t d = fork();
    if (d == 0) {
        setpgid(0, 0);
        _exit(5);
    }
    setpgid(d, d);
    printf("wait4 own group: %s\n", res(waitpid(0, &status, 0)));
    pid_t got = waitpid(-d, &status, 0);
    printf("wait4 group -pid: %s match=%d exit=%d\n", res(got), got == d, WEXITSTATUS(status));
    printf("wait4 none left: %s\n", res(waitpid(-1, &status, WNOHANG)));
    printf("wait4 bad options: %s\n", res(waitpid(-1, &status, 0x100)));

    /* statx */
    const char *path = "/tmp/procinfo.txt";
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0640);
    write(fd, "0123456789", 10);
    close(fd);
    struct statx sx;
    memset(&sx, 0, sizeof sx);
    r = statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
    printf("statx: %s basic=%d size=%llu regular=%d nlink=%u blksize-set=%d\n", res(r),
           (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS,
           (unsigned long long)sx.stx_size, S_ISREG(sx.stx_mode), sx.stx_nlink,
           sx.stx_blksize > 0);
    r = statx(AT_FDCWD, "/tmp", 0, STATX_BASIC_STATS, &sx);
    printf("statx dir: %s dir=%d\n", res(r), S_ISDIR(sx.stx_mode));
    printf("statx missing: %s\n", res(statx(AT_FDCWD, "/tmp/nope", 0, STATX_TYPE, &sx)));
    printf("statx bad flags: %s\n", res(statx(AT_FDCWD, path, 0x40000, STATX_TYPE, &sx)));
    printf("statx bad buffer: %s\n", res(statx(AT_FDCWD, path, 0, STATX_TYPE, (void *)8)));
    unlink(path);

    /* credentials: root drops to 1000 */
    uid_t ru, eu, su;
    gid_t groups[4];
    printf("ids: uid=%d euid=%d gid=%d egid=%d groups=%d\n", getuid(), geteuid(), getgid(),
           getegid(), getgroups(4, groups));
    printf("setgroups: %s", res(setgroups(2, (gid_t[]){10, 20})));
    printf(" count=%d first=%d\n", getgroups(4, groups), groups[0]);
    printf("setresgid: %s\n", res(setresgid(1000, 1000, 1000)));
    printf("setresuid: %s\n", res(setresuid(1000, 1000, 0)));
    getresuid(&ru, &eu, &su);
    printf("resuid: %d %d %d\n", ru, eu, su);
    printf("seteuid 0 (saved): %s euid=%d\n", res(seteuid(0)), geteuid());
    printf("seteuid 1000: %s\n", res(seteuid(1000)));
    printf("setuid 1000: %s\n", res(setuid(1000)));
    getresuid(&ru, &eu, &su);
    printf("resuid: %d %d %d\n", ru, eu, su);
    printf("setuid 0: %s\n", res(setuid(0)));
    printf("setgroups unprivileged: %s\n", res(setgroups(0, NULL)));
    printf("setresuid 5: %s\n", res(setresuid(-1, 5, -1)));
    return 0;
}

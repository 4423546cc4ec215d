/* procgrp: process groups, sessions and resource limits. A child makes its own process group;
 * a second child starts a new session; the shell signals a whole group with kill(-pgid); a
 * limit set with setrlimit is read back and inherited by a child. Prints relations and results
 * only, never the numbers the kernel picks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        usage(argv[0], "");
    pid_t me = getpid();
    if (getpgrp() != me) /* started inside another group (a shell's pipeline): lead our own */
        setpgid(0, 0);
    printf("shell: leads its group %d\n", getpgrp() == me);

    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(p[0]);
        setpgid(0, 0);
        write(p[1], "x", 1); /* the group exists: tell the shell */
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    read(p[0], &c, 1);
    printf("child group: its own %d, not the shell's %d\n", getpgid(child) == child,
           getpgid(child) != getpgrp());
    printf("setsid as a group leader: %d %s\n", setsid(), errno == EPERM ? "EPERM" : "?");
    int status = 0;
    printf("kill the child's group: %d\n", kill(-child, SIGTERM));
    waitpid(child, &status, 0);
    printf("child killed by SIGTERM: %d\n", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

    fflush(stdout);
    child = fork();
    if (child == 0) {
        pid_t sid = setsid();
        printf("new session: leads it %d, leads its group %d\n", sid == getpid(),
               getpgrp() == getpid());
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);

    struct rlimit rl = {.rlim_cur = 100, .rlim_max = 200};
    printf("setrlimit: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
    fflush(stdout);
    child = fork();
    if (child == 0) {
        struct rlimit got;
        getrlimit(RLIMIT_NOFILE, &got);
        printf("child's limit: %lu %lu\n", (unsigned long)got.rlim_cur,
               (unsigned long)got.rlim_max);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);
    rl.rlim_cur = 300;
    printf("soft above hard: %d %s\n", setrlimit(RLIMIT_NOFILE, &rl),
           errno == EINVAL ? "EINVAL" : "?");
    printf("no such group: %d %s\n", kill(-99999, SIGTERM), errno == ESRCH ? "ESRCH" : "?");
    return 0;
}

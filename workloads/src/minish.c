/* minish [PROGRAM [ARG]]: a miniature shell. It runs PROGRAM (default /bin/hello) with ARG
 * (default "pipe") in a child whose standard output is a pipe, reads what the child wrote and
 * prints it with the number of bytes, and reports the child's exit status from wait4; then a
 * second child exits with status 7 without exec, and a wait for a child that does not exist
 * fails with ECHILD. Prints the parent's and the children's view of their process ids as
 * relations only (child != parent, child's parent == parent), so the output does not depend
 * on the numbers the kernel picks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static volatile int value = 1; /* a child's write must not reach the parent (copy-on-write) */

int main(int argc, char **argv)
{
    if (argc > 3)
        usage(argv[0], "[PROGRAM [ARG]]");
    char *prog = argc > 1 ? argv[1] : "/bin/hello";
    char *arg = argc > 2 ? argv[2] : "pipe";
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t me = getpid();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        char *args[] = {prog, arg, NULL};
        char *env[] = {"PATH=/bin", NULL};
        execve(prog, args, env);
        printf("exec failed: %s\n", strerror(errno));
        fflush(stdout);
        _exit(127);
    }
    close(p[1]);
    char buf[256];
    int total = 0;
    for (ssize_t n; (n = read(p[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0;)
        total += (int)n;
    buf[total] = 0;
    close(p[0]);
    int status = -1;
    pid_t waited = waitpid(child, &status, 0);
    printf("child said (%d bytes): %s", total, buf);
    printf("waited for it: %d, exited: %d, status %d\n", waited == child, WIFEXITED(status),
           WEXITSTATUS(status));

    fflush(stdout);
    pid_t second = fork();
    if (second == 0) {
        value = 99;
        printf("second child: my parent is the shell: %d, I am not: %d, my value %d\n",
               getppid() == me, getpid() != me, value);
        fflush(stdout);
        _exit(7);
    }
    waited = waitpid(-1, &status, 0);
    printf("second: waited %d, status %d, the shell's value %d\n", waited == second,
           WEXITSTATUS(status), value);
    errno = 0;
    printf("no more children: %d %s\n", (int)waitpid(-1, &status, 0), errno == ECHILD ? "ECHILD" : "?");
    return 0;
}

/* spawn: vfork and posix_spawn (clone with CLONE_VM | CLONE_VFORK). posix_spawn runs /bin/hello
 * and reports a missing program as ENOENT (its child writes the error into the parent's memory,
 * which a vfork child shares); a vfork child's store to a variable is seen by its parent, which
 * waits until the child exits or execs; a vfork child execs /bin/exitcode 7.
 * qemu-aarch64 cannot be the reference here: it runs vfork as a fork and cannot follow an
 * execve into another AArch64 program, so the expected output is Linux's semantics
 * (tests/workload_expectations.py). */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

extern char **environ;

static volatile int borrowed;

static int status_of(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        usage(argv[0], "");
    fflush(stdout);
    pid_t pid;
    char *hello[] = {"/bin/hello", NULL};
    int r = posix_spawn(&pid, "/bin/hello", NULL, NULL, hello, environ);
    printf("posix_spawn hello: %s, status %d\n", r ? strerror(r) : "ok", r ? -1 : status_of(pid));
    char *missing[] = {"/bin/nope", NULL};
    r = posix_spawn(&pid, "/bin/nope", NULL, NULL, missing, environ);
    printf("posix_spawn missing: %s\n", r == ENOENT ? "ENOENT" : r ? "other" : "ok");

    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        borrowed = 42; /* the parent's memory */
        _exit(3);
    }
    printf("vfork: status %d, the child's store seen %d\n", status_of(pid), borrowed == 42);

    fflush(stdout);
    pid = vfork();
    if (pid == 0) {
        char *args[] = {"/bin/exitcode", "7", NULL};
        execve(args[0], args, environ);
        _exit(127);
    }
    printf("vfork+execve: status %d\n", status_of(pid));
    return 0;
}

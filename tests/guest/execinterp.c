/* execve of dynamically linked programs whose interpreter is wrong, each in a child: the
 * errno execve returns, or how the child ended when Linux finds the fault past execve's point
 * of no return. argv[1..]: the programs to try. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {argv[i], "child", NULL};
            char *env[] = {NULL};
            execve(argv[i], args, env);
            printf("%s: execve -> %s\n", argv[i], strerrorname_np(errno));
            fflush(stdout);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status))
            printf("%s: killed by signal %d\n", argv[i], WTERMSIG(status));
        else if (WEXITSTATUS(status) != 127) /* 127: the child said why execve failed */
            printf("%s: exited %d\n", argv[i], WEXITSTATUS(status));
    }
    return 0;
}

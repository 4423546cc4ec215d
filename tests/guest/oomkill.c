/* The OOM killer's choice. argv: the MiB a child touches and then holds, and the MiB its
   parent touches afterwards. When the two do not fit in RAM, the process with the most
   resident memory is killed: the child (SIGKILL) if it holds more, and the parent goes on;
   the parent itself if it holds more. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(long mib) {
    for (long i = 0; i < mib; i++) {
        char *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap failed at %ld MiB\n", i);
            _exit(3);
        }
        memset(p, 1, 1 << 20);
    }
}

int main(int argc, char **argv) {
    long child_mib = argc > 1 ? atol(argv[1]) : 40, parent_mib = argc > 2 ? atol(argv[2]) : 30;
    int ready[2];
    pipe(ready);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        touch(child_mib);
        write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char r;
    printf("child ready %zd\n", read(ready[0], &r, 1));
    touch(parent_mib);
    printf("parent touched %ld MiB\n", parent_mib);
    kill(child, SIGTERM);  /* if it is still there */
    int status;
    waitpid(child, &status, 0);
    printf("child signaled %d signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
    return 0;
}

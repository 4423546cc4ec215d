/* eintr CASE: a signal handler interrupts a blocked call, and the call fails with EINTR or
 * goes on, as Linux decides (signal(7), "Interruption of system calls by signal handlers"):
 *
 *   read      a read of an empty pipe, handler without SA_RESTART: -1 EINTR, then the data
 *   restart   the same with SA_RESTART: the read goes on and returns the data
 *   wait      wait4 for a child, no SA_RESTART: -1 EINTR, then the child's status
 *   sleep     nanosleep(2 s), even with SA_RESTART: -1 EINTR, and the time left in *rem
 *
 * A forked child sends SIGUSR1 to its parent 20 ms in (the parent is blocked by then), then,
 * 20 ms later, does what ends the parent's wait. Prints what each call returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t handled;

static void on_usr1(int sig) { handled += sig == SIGUSR1; }

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void handle(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, NULL);
}

/* the child: a signal 20 ms in, then, 20 ms later, a byte into `fd` (if any) and exit 7 */
static pid_t child(int fd)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pause_ms(20);
        kill(getppid(), SIGUSR1);
        pause_ms(20);
        if (fd >= 0 && write(fd, "x", 1) != 1)
            _exit(3);
        _exit(7);
    }
    return pid;
}

static void show(const char *what, long r)
{
    printf("%s: %ld %s, handled %d\n", what, r, r < 0 ? strerror(errno) : "ok", (int)handled);
}

static int reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        usage(argv[0], "read|restart|wait|sleep");
    const char *c = argv[1];
    char buf[4];
    int fds[2];
    if (!strcmp(c, "read") || !strcmp(c, "restart")) {
        handle(!strcmp(c, "restart") ? SA_RESTART : 0);
        if (pipe(fds))
            return 1;
        pid_t pid = child(fds[1]);
        long r = read(fds[0], buf, sizeof buf);
        show("read", r);
        if (r < 0) {
            r = read(fds[0], buf, sizeof buf);
            show("read again", r);
        }
        printf("child: %d\n", reap(pid));
    } else if (!strcmp(c, "wait")) {
        handle(0);
        pid_t pid = child(-1);
        int status = 0;
        long r = waitpid(pid, &status, 0);
        show("waitpid", r);
        printf("child: %d\n", reap(pid));
    } else if (!strcmp(c, "sleep")) {
        handle(SA_RESTART);
        pid_t pid = child(-1);
        struct timespec t = {2, 0}, rem = {0, 0};
        long r = nanosleep(&t, &rem);
        show("nanosleep", r);
        printf("time left between 1.5 and 2 s: %s\n",
               rem.tv_sec == 1 && rem.tv_nsec >= 500000000L ? "yes" : "no");
        printf("child: %d\n", reap(pid));
    } else {
        usage(argv[0], "read|restart|wait|sleep");
    }
    return 0;
}

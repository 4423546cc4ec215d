/* sigtest [segv]: Linux signals. A handler runs for a signal the process sends itself; a
 * blocked signal waits until it is unblocked; SIGCHLD arrives with the child's status in its
 * siginfo; children die of SIGSEGV (a null store), SIGTERM and SIGPIPE (a write to a pipe with
 * no reader) by default, as wait4 reports; an ignored SIGTERM is harmless. With "segv" the
 * program itself then stores through a null pointer: status 139, as a shell reports it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t got_usr1, chld_status = -1, chld_code;

static void on_usr1(int sig) { got_usr1 = sig; }

static void on_chld(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    chld_status = info->si_status;
    chld_code = info->si_code;
}

static int death(void (*body)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

static void null_store(void) { *(volatile int *)0 = 1; }
static void terminate(void) { kill(getpid(), SIGTERM); }
static void broken_pipe(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    write(p[1], "x", 1);
}
static void ignore_term(void)
{
    signal(SIGTERM, SIG_IGN);
    kill(getpid(), SIGTERM);
    _exit(3);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "segv")))
        usage(argv[0], "[segv]");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("handler ran: %d\n", got_usr1 == SIGUSR1);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    got_usr1 = 0;
    kill(getpid(), SIGUSR1);
    printf("while blocked: %d\n", (int)got_usr1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("after unblocking: %d\n", got_usr1 == SIGUSR1);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGCHLD, &sa, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    int status = 0;
    waitpid(pid, &status, 0);
    printf("child exited with 5: %d; SIGCHLD said status %d, exited %d\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 5, (int)chld_status,
           chld_code == CLD_EXITED);

    printf("null store kills with %d\n", death(null_store));
    printf("SIGTERM kills with %d\n", death(terminate));
    printf("broken pipe kills with %d\n", death(broken_pipe));
    printf("ignored SIGTERM: exit %d\n", -death(ignore_term));
    fflush(stdout);
    if (argc == 2)
        null_store();
    return 0;
}

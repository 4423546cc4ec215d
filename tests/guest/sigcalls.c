/* Signal calls a harness or a runtime uses beyond sigaction and kill: the alternate signal
   stack, the pending set, sigsuspend, sigtimedwait/sigwaitinfo, sigqueue and the raw
   rt_sigqueueinfo/rt_tgsigqueueinfo checks. Prints what it observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char altstack[65536];
static volatile int on_alt, alt_flags_inside, change_inside, handled, got_value, got_code;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    char local;
    stack_t now;
    on_alt = &local >= altstack && &local < altstack + sizeof altstack;
    sigaltstack(NULL, &now);
    alt_flags_inside = now.ss_flags;
    stack_t again = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    change_inside = sigaltstack(&again, NULL) == 0 ? 0 : errno;
    handled++;
    got_value = si->si_value.sival_int;
    got_code = si->si_code;
}

static void plain(int sig) { handled++; }

int main(void) {
    stack_t ss, old;
    sigaltstack(NULL, &old);
    printf("initial altstack disabled: %d\n", (old.ss_flags & SS_DISABLE) != 0);
    ss.ss_sp = altstack;
    ss.ss_size = 1024;
    ss.ss_flags = 0;
    printf("too small: %d errno %d\n", sigaltstack(&ss, NULL), errno);
    ss.ss_size = sizeof altstack;
    ss.ss_flags = 7;
    errno = 0;
    printf("bad flags: %d errno %d\n", sigaltstack(&ss, NULL), errno);
    ss.ss_flags = 0;
    printf("set: %d\n", sigaltstack(&ss, NULL));
    sigaltstack(NULL, &old);
    printf("read back: size ok %d flags %d\n", old.ss_size == sizeof altstack, old.ss_flags);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("handler on altstack: %d, flags inside %d, change inside errno %d, code %d\n", on_alt,
           alt_flags_inside, change_inside, got_code);
    sigaltstack(NULL, &old);
    printf("after handler flags: %d\n", old.ss_flags);

    /* pending set */
    sigset_t block, pend, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    sigpending(&pend);
    printf("pending has usr1: %d usr2: %d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2));
    handled = 0;
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    printf("delivered on unblock: %d\n", handled);
    errno = 0;
    printf("sigpending bad size: %ld errno %d\n", syscall(SYS_rt_sigpending, &pend, 16), errno);

    /* sigsuspend: a child signals us; the mask from before comes back */
    sigprocmask(SIG_BLOCK, &block, NULL);
    handled = 0;
    pid_t child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t empty;
    sigemptyset(&empty);
    int r = sigsuspend(&empty);
    int e = errno;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("sigsuspend: %d errno %d handled %d usr1 blocked again %d\n", r, e, handled,
           sigismember(&cur, SIGUSR1));
    waitpid(child, NULL, 0);

    /* sigtimedwait: one already pending, a timeout, one from a child */
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGUSR2);
    sigprocmask(SIG_BLOCK, &w, NULL);
    raise(SIGUSR2);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = sigtimedwait(&w, &si, NULL);
    printf("sigtimedwait pending: %d signo %d code %d pid is mine %d\n", r, si.si_signo, si.si_code,
           si.si_pid == getpid());
    struct timespec ten_ms = {0, 10000000};
    errno = 0;
    printf("sigtimedwait timeout: %d errno %d\n", sigtimedwait(&w, &si, &ten_ms), errno);
    struct timespec bad = {0, 2000000000};
    errno = 0;
    printf("sigtimedwait bad timeout: %d errno %d\n", sigtimedwait(&w, &si, &bad), errno);
    child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&w, &si);
    printf("sigwaitinfo from child: %d from it %d code %d\n", r, si.si_pid == child, si.si_code);
    waitpid(child, NULL, 0);

    /* sigqueue and the raw calls */
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    union sigval v = {.sival_int = 42};
    handled = 0;
    printf("sigqueue self: %d handled %d value %d code %d\n", sigqueue(getpid(), SIGUSR1, v), handled,
           got_value, got_code);
    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_signo = SIGUSR1;
    forged.si_code = SI_USER;
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    errno = 0;
    printf("forged code to another: %ld errno %d\n",
           syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &forged), errno);
    forged.si_code = SI_QUEUE;
    errno = 0;
    printf("bad signal: %ld errno %d\n", syscall(SYS_rt_sigqueueinfo, child, 99, &forged), errno);
    errno = 0;
    printf("bad info pointer: %ld errno %d\n", syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, (void *)8),
           errno);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    errno = 0;
    printf("no such process: %ld errno %d\n", syscall(SYS_rt_sigqueueinfo, child, SIGUSR1, &forged),
           errno);
    handled = 0;
    printf("tgsigqueueinfo self: %ld handled %d\n",
           syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &forged), handled);
    errno = 0;
    printf("tgsigqueueinfo bad tid: %ld errno %d\n",
           syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR1, &forged), errno);
    errno = 0;
    printf("tgsigqueueinfo other tid: %ld errno %d\n",
           syscall(SYS_rt_tgsigqueueinfo, getpid(), 999999, SIGUSR1, &forged), errno);

    signal(SIGUSR2, plain);
    return 0;
}

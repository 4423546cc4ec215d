/* Timers that signal a process, as benchmark harnesses and runtimes use them: the interval
   timers (setitimer, getitimer, alarm) on wall and CPU time, and POSIX timers (timer_create,
   timer_settime, timer_gettime, timer_getoverrun, timer_delete). Prints what it observed, as
   facts that hold on any Linux machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms, vtalrms, profs, last_code;
static void on_alarm(int sig, siginfo_t *si, void *uc) {
    alarms++;
    last_code = si->si_code;
}
static void on_vt(int sig) { vtalrms++; }
static void on_prof(int sig) { profs++; }
static volatile unsigned long sink;

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGVTALRM, on_vt);
    signal(SIGPROF, on_prof);

    struct itimerval it = {{0, 0}, {0, 20000}}, cur;
    printf("setitimer real 20 ms: %d\n", setitimer(ITIMER_REAL, &it, NULL));
    getitimer(ITIMER_REAL, &cur);
    printf("remaining within 20 ms: %d interval %ld\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 20000,
           (long)cur.it_interval.tv_usec);
    pause();
    printf("alarms %d code is SI_KERNEL %d\n", alarms, last_code == SI_KERNEL);
    getitimer(ITIMER_REAL, &cur);
    printf("disarmed after: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

    it.it_interval.tv_usec = 5000;
    it.it_value.tv_usec = 5000;
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    sigset_t none;
    sigemptyset(&none);
    while (alarms < 3) sigsuspend(&none);
    struct itimerval off = {{0, 0}, {0, 0}}, old;
    setitimer(ITIMER_REAL, &off, &old);
    printf("periodic: 3 alarms, old interval %ld\n", (long)old.it_interval.tv_usec);

    printf("alarm(5) before: %u\n", alarm(5));
    printf("alarm(0) left: %d\n", alarm(0) > 0);

    struct itimerval vt = {{0, 0}, {0, 10000}};
    setitimer(ITIMER_VIRTUAL, &vt, NULL);
    for (long i = 0; i < 2000000000L && !vtalrms; i++) sink += i;
    printf("virtual timer fired: %d\n", vtalrms);
    setitimer(ITIMER_PROF, &vt, NULL);
    for (long i = 0; i < 2000000000L && !profs; i++) sink += i;
    printf("prof timer fired: %d\n", profs);

    errno = 0;
    printf("bad which: %d errno %d\n", setitimer(7, &it, NULL), errno);
    struct itimerval bad = {{0, 0}, {0, 2000000}};
    errno = 0;
    printf("bad usec: %d errno %d\n", setitimer(ITIMER_REAL, &bad, NULL), errno);

    /* POSIX timers */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 77;
    timer_t t;
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &ev, &t));
    struct itimerspec ts = {{0, 0}, {0, 10000000}}, got;
    printf("timer_settime 10 ms: %d\n", timer_settime(t, 0, &ts, NULL));
    timer_gettime(t, &got);
    printf("armed: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_nsec > 0);
    siginfo_t si;
    int sig = sigwaitinfo(&usr1, &si);
    printf("expired: sig %d code is SI_TIMER %d value %d\n", sig, si.si_code == SI_TIMER,
           si.si_value.sival_int);
    timer_gettime(t, &got);
    printf("one-shot disarmed: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_nsec == 0);

    ts.it_interval.tv_nsec = 1000000;
    ts.it_value.tv_nsec = 1000000;
    timer_settime(t, 0, &ts, NULL);
    struct timespec ten_ms = {0, 10000000};
    nanosleep(&ten_ms, NULL);
    sigwaitinfo(&usr1, &si);
    int overruns = timer_getoverrun(t);
    printf("periodic while blocked: overruns >= 3: %d\n", overruns >= 3);

    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 2000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    struct itimerspec abs = {{0, 0}, now};
    printf("absolute: %d\n", timer_settime(t, TIMER_ABSTIME, &abs, NULL));
    sig = sigwaitinfo(&usr1, &si);
    printf("absolute expired: %d\n", sig == SIGUSR1);
    printf("timer_delete: %d\n", timer_delete(t));
    errno = 0;
    printf("deleted again: %ld errno %d\n", syscall(SYS_timer_delete, 0), errno);
    errno = 0;
    printf("bad clock: %ld errno %d\n", syscall(SYS_timer_create, 99, NULL, &t), errno);
    ev.sigev_signo = 99;
    errno = 0;
    printf("bad signal: %ld errno %d\n", syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &t), errno);
    timer_t none_t;
    struct sigevent quiet;
    memset(&quiet, 0, sizeof quiet);
    quiet.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &quiet, &none_t);
    struct itimerspec q = {{0, 0}, {0, 1000000}};
    timer_settime(none_t, 0, &q, NULL);
    nanosleep(&ten_ms, NULL);
    timer_gettime(none_t, &got);
    printf("SIGEV_NONE expired quietly: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_nsec == 0);
    struct itimerspec bad_ts = {{0, 0}, {0, 1000000000}};
    errno = 0;
    printf("bad timespec: %d errno %d\n", timer_settime(none_t, 0, &bad_ts, NULL), errno);
    return 0;
}

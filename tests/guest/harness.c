/* A benchmark harness in the manner of lmbench's benchmp: the parent forks workers, waits
   for them with select (glibc: pselect6) and a setitimer alarm as its timeout, the workers
   check that their parent is alive (getppid() != 1), time a loop of null syscalls with
   gettimeofday and report through pipes; the parent reaps them and reads their CPU time with
   getrusage. Prints what it observed, as facts that hold on any Linux machine. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 2
#define ITERATIONS 2000

static volatile int timed_out;
static void on_alarm(int sig) { timed_out = 1; }

static long usec_between(struct timeval a, struct timeval b) {
    return (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_usec - a.tv_usec);
}

static void worker(int ready_fd, int start_fd, int result_fd) {
    char c;
    if (getppid() == 1) _exit(9);  /* lmbench's workers give up when their parent is gone */
    write(ready_fd, "r", 1);
    read(start_fd, &c, 1);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    for (int i = 0; i < ITERATIONS; i++) getppid();
    gettimeofday(&t1, NULL);
    long us = usec_between(t0, t1);
    write(result_fd, &us, sizeof us);
    _exit(getppid() == 1 ? 8 : 0);
}

int main(void) {
    int ready[2], start[2], result[2];
    pipe(ready);
    pipe(start);
    pipe(result);
    printf("my parent is alive: %d\n", getppid() != 1);
    signal(SIGALRM, on_alarm);
    struct itimerval limit = {{0, 0}, {5, 0}};
    setitimer(ITIMER_REAL, &limit, NULL);

    pid_t pids[WORKERS];
    fflush(stdout);
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) worker(ready[1], start[0], result[1]);
    }
    int readies = 0;
    while (readies < WORKERS && !timed_out) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(ready[0], &rd);
        struct timeval tv = {1, 0};
        int n = select(ready[0] + 1, &rd, NULL, NULL, &tv);
        if (n > 0 && FD_ISSET(ready[0], &rd)) {
            char c;
            readies += read(ready[0], &c, 1);
        }
    }
    printf("workers ready: %d\n", readies);
    write(start[1], "gogo", WORKERS);

    int results = 0, positive = 0;
    while (results < WORKERS && !timed_out) {
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(result[0], &rd);
        struct timeval tv = {1, 0};
        if (select(result[0] + 1, &rd, NULL, NULL, &tv) > 0) {
            long us;
            if (read(result[0], &us, sizeof us) == sizeof us) {
                results++;
                positive += us >= 0;
            }
        }
    }
    printf("results: %d, all timed: %d\n", results, positive == WORKERS);
    int clean = 0;
    for (int i = 0; i < WORKERS; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        clean += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    printf("workers exited cleanly: %d\n", clean);
    struct itimerval left;
    getitimer(ITIMER_REAL, &left);
    printf("timeout still armed, not fired: %d %d\n", left.it_value.tv_sec > 0 || left.it_value.tv_usec > 0,
           !timed_out);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children used CPU: %d\n", ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
                                          ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec > 0);
    getrusage(RUSAGE_SELF, &ru);
    printf("I used CPU: %d\n", ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
                                   ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec > 0);
    return 0;
}

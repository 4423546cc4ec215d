/* Scheduling policies set and read back: sched_setscheduler, sched_setparam, sched_getattr,
   sched_setattr, sched_rr_get_interval, SCHED_RESET_ON_FORK. Prints what it observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

#define SHOW(what, call)                                              \
    do {                                                              \
        errno = 0;                                                    \
        long r_ = (call);                                             \
        printf("%s: %ld errno %d\n", what, r_, r_ < 0 ? errno : 0);   \
    } while (0)

int main(void) {
    struct sched_param p = {0};
    SHOW("batch", sched_setscheduler(0, SCHED_BATCH, &p));
    printf("policy %d\n", sched_getscheduler(0));
    p.sched_priority = 5;
    SHOW("batch with priority 5", sched_setscheduler(0, SCHED_BATCH, &p));
    SHOW("bad policy", sched_setscheduler(0, 4, &p));
    SHOW("null param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
    SHOW("no such pid", sched_setscheduler(999999, SCHED_OTHER, &p));
    p.sched_priority = 0;
    SHOW("idle", sched_setscheduler(0, SCHED_IDLE, &p));
    printf("policy %d\n", sched_getscheduler(0));
    SHOW("setparam 0", sched_setparam(0, &p));
    p.sched_priority = 3;
    SHOW("setparam 3 on idle", sched_setparam(0, &p));
    p.sched_priority = 0;
    SHOW("other, reset on fork", sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p));
    printf("policy has reset flag %d\n", (sched_getscheduler(0) & SCHED_RESET_ON_FORK) != 0);
    setpriority(PRIO_PROCESS, 0, -4);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child policy %d nice %d\n", sched_getscheduler(0), getpriority(PRIO_PROCESS, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    setpriority(PRIO_PROCESS, 0, 0);
    sched_setscheduler(0, SCHED_OTHER, &p);

    struct attr a;
    memset(&a, 0, sizeof a);
    SHOW("getattr", syscall(SYS_sched_getattr, 0, &a, sizeof a, 0));
    printf("attr size %u policy %u nice %d prio %u\n", a.size, a.policy, a.nice, a.priority);
    SHOW("getattr small", syscall(SYS_sched_getattr, 0, &a, 16, 0));
    SHOW("getattr flags", syscall(SYS_sched_getattr, 0, &a, sizeof a, 1));
    memset(&a, 0, sizeof a);
    a.size = 48;
    a.policy = SCHED_BATCH;
    a.nice = 7;
    SHOW("setattr batch nice 7", syscall(SYS_sched_setattr, 0, &a, 0));
    printf("nice now %d policy %d\n", getpriority(PRIO_PROCESS, 0), sched_getscheduler(0));
    a.size = 200;
    SHOW("setattr too big size", syscall(SYS_sched_setattr, 0, &a, 0));
    printf("size written back %u\n", a.size);
    a.size = 48;
    a.policy = 77;
    SHOW("setattr bad policy", syscall(SYS_sched_setattr, 0, &a, 0));

    struct timespec ts = {9, 9};
    SHOW("rr interval", sched_rr_get_interval(0, &ts));
    SHOW("rr interval no such", sched_rr_get_interval(999999, &ts));
    return 0;
}

/* membarrier with a second thread running: its expedited commands (private, sync-core, rseq
 * with and without a CPU named, global) and their registrations, made while a worker thread
 * spins on a flag, then the plain global barrier. Prints each call's result. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int spinning = -1, stop;

static long mb(int cmd, unsigned flags, int cpu)
{
    return syscall(SYS_membarrier, cmd, flags, cpu) < 0 ? -errno : 0;
}

static void *worker(void *arg)
{
    (void)arg;
    spinning = sched_getcpu();
    while (!stop)
        sched_yield();
    return NULL;
}

int main(void)
{
    printf("register private expedited alone %ld\n",
           mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0));
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (spinning < 0)
        sched_yield();
    long r[3];
    for (int i = 0; i < 3; i++)
        r[i] = mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    printf("private expedited %ld %ld %ld\n", r[0], r[1], r[2]);
    printf("register sync-core %ld", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    printf(" sync-core %ld\n", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
    printf("register rseq %ld", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0));
    printf(" rseq %ld", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0));
    printf(" on the worker's cpu %ld",
           mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, spinning));
    printf(" on its own %ld",
           mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, sched_getcpu()));
    printf(" on cpu 1000 %ld\n",
           mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, 1000));
    printf("global expedited unregistered %ld", mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0));
    printf(" register %ld", mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0));
    printf(" again %ld", mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0));
    printf(" global expedited %ld\n", mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0));
    printf("registrations %#lx\n", syscall(SYS_membarrier, 1 << 9 /* GET_REGISTRATIONS */, 0, 0));
    stop = 1;
    pthread_join(t, NULL);
    printf("global %ld\n", mb(MEMBARRIER_CMD_GLOBAL, 0, 0));
    return 0;
}

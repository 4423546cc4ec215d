/* threads [N]: two threads (pthread_create: clone with CLONE_THREAD) each add 1 to a shared
 * counter N times (default 100000) under a mutex (futex wait and wake when they contend), then
 * the main thread joins the other (futex on its tid word) and prints the total, the value the
 * thread returned, and whether the thread had its own thread id in the same process. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t counter, n;
static long worker_tid, worker_pid;

static void add(void)
{
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
}

static void *worker(void *arg)
{
    worker_tid = syscall(SYS_gettid);
    worker_pid = getpid();
    add();
    return (void *)((uintptr_t)arg * 2);
}

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[N]");
    n = arg_u64(argc, argv, 1, "N", 100000, 1, 100000000);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, (void *)21) != 0)
        return 1;
    add();
    void *ret = NULL;
    pthread_join(t, &ret);
    printf("threads: n=%" PRIu64 " total=%" PRIu64 " returned=%ld own_tid=%d same_pid=%d\n", n,
           counter, (long)(uintptr_t)ret, worker_tid != getpid(), worker_pid == getpid());
    return 0;
}

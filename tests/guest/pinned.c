/* pinned C1 C2 C3 CM: threads pinned to chosen CPUs with pthread_setaffinity_np, each saying
 * where it runs (sched_getcpu) once pinned and again after some work and a yield:
 *   thread 1 is pinned to C1 by the main thread while it waits for a semaphore,
 *   thread 2 pins itself to C2,
 *   thread 3 is pinned to C3 by the main thread while it spins on a flag,
 *   the main thread pins itself to CM.
 * Each also reads its mask back (pthread_getaffinity_np). Everything is printed by the main
 * thread after the joins, in a fixed order. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

static int want[4];
static int got[4][2], masks[4];
static sem_t wake1;
static volatile int spinning, go;

static void pin(pthread_t t, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int r = pthread_setaffinity_np(t, sizeof set, &set);
    if (r != 0) {
        printf("pthread_setaffinity_np to %d: %d\n", cpu, r);
        exit(1);
    }
}

static void observe(int who)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    masks[who] = 0;
    for (int cpu = 0; cpu < 32; cpu++)
        if (CPU_ISSET(cpu, &set))
            masks[who] |= 1 << cpu;
    got[who][0] = sched_getcpu();
    volatile unsigned long sum = 0;
    for (unsigned long i = 0; i < 200000; i++)
        sum += i;
    sched_yield();
    got[who][1] = sched_getcpu();
}

static void *waiter(void *arg)
{
    (void)arg;
    sem_wait(&wake1);
    observe(1);
    return NULL;
}

static void *self_pinner(void *arg)
{
    (void)arg;
    pin(pthread_self(), want[2]);
    observe(2);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    spinning = 1;
    while (!go)
        sched_yield();
    observe(3);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    for (int i = 1; i < 4; i++)
        want[i] = atoi(argv[i]);
    want[0] = atoi(argv[4]);
    sem_init(&wake1, 0, 0);
    pthread_t t1, t2, t3;
    pthread_create(&t3, NULL, spinner, NULL);
    while (!spinning)
        sched_yield();
    pin(t3, want[3]);
    pthread_create(&t1, NULL, waiter, NULL);
    pin(t1, want[1]);
    pthread_create(&t2, NULL, self_pinner, NULL);
    pin(pthread_self(), want[0]);
    observe(0);
    go = 1;
    sem_post(&wake1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    static const char *names[] = {"main", "thread 1", "thread 2", "thread 3"};
    for (int i = 0; i < 4; i++)
        printf("%s: pinned to %d, mask %#x, on %d, after work on %d\n", names[i], want[i],
               masks[i], got[i][0], got[i][1]);
    return 0;
}

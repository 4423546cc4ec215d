/* shootdown THREADS ROUNDS: THREADS threads each touch a page of their own and wait at a
 * barrier; then the main thread maps, writes and unmaps a page ROUNDS times while they wait,
 * and lets them go. Prints what it did; the cost of each munmap's TLB invalidation depends
 * on the cores the process ran on. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static pthread_barrier_t started, done;
static char pages[8][4096] __attribute__((aligned(4096)));

static void *work(void *arg)
{
    pages[(long)arg][0] = 1;
    pthread_barrier_wait(&started);
    pthread_barrier_wait(&done);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long threads = atol(argv[1]), rounds = atol(argv[2]);
    if (threads < 0 || threads > 8 || rounds < 1)
        return 2;
    pthread_barrier_init(&started, NULL, threads + 1);
    pthread_barrier_init(&done, NULL, threads + 1);
    pthread_t tid[8];
    for (long t = 0; t < threads; t++)
        pthread_create(&tid[t], NULL, work, (void *)t);
    pthread_barrier_wait(&started);
    long unmapped = 0;
    for (long r = 0; r < rounds; r++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        p[0] = 1;
        unmapped += munmap(p, 4096) == 0;
    }
    pthread_barrier_wait(&done);
    for (long t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    printf("shootdown threads=%ld rounds=%ld unmapped=%ld\n", threads, rounds, unmapped);
    return 0;
}

/* psum MODE THREADS N [ROUNDS]: THREADS pthreads share work of N steps (ROUNDS times, default
 * 1) and the main thread joins them.
 *   sum      each sums its share of an N-element array the main thread filled
 *   shared   threads 1.. each read their own counter (never written: 0) N / THREADS times
 *            while thread 0 adds 1 to its own until they are done, the counters in one cache
 *            line (false sharing: every write takes the line from the readers)
 *   padded   the same with each counter on a line of its own
 * Prints totals that do not depend on how the threads were scheduled (the writer's count does:
 * it is not printed). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 8

static uint64_t *array;
static long n, threads, rounds = 1;
static volatile uint64_t shared_counters[MAX_THREADS];
static struct {
    volatile uint64_t value;
    char pad[56];
} padded_counters[MAX_THREADS] __attribute__((aligned(64)));
static uint64_t sums[MAX_THREADS];
static int mode;
static volatile int readers_done __attribute__((aligned(64)));

static void *work(void *arg)
{
    long t = (long)arg;
    long share = n / threads, first = t * share, last = t == threads - 1 ? n : first + share;
    for (long r = 0; r < rounds; r++) {
        if (mode == 0) {
            uint64_t sum = 0;
            for (long i = first; i < last; i++)
                sum += array[i];
            sums[t] += sum;
        } else if (t == 0) {  /* the writer */
            while (!readers_done)
                if (mode == 1)
                    shared_counters[0]++;
                else
                    padded_counters[0].value++;
            return NULL;
        } else {
            uint64_t seen = 0;
            for (long i = first; i < last; i++)
                seen += mode == 1 ? shared_counters[t] : padded_counters[t].value;
            sums[t] += seen;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: psum sum|shared|padded THREADS N [ROUNDS]\n");
        return 2;
    }
    mode = !strcmp(argv[1], "sum") ? 0 : !strcmp(argv[1], "shared") ? 1 : 2;
    threads = atol(argv[2]);
    n = atol(argv[3]);
    if (argc == 5)
        rounds = atol(argv[4]);
    if (threads < 1 || threads > MAX_THREADS || n < threads || rounds < 1)
        return 2;
    if (mode == 0) {
        array = malloc(n * sizeof *array);
        for (long i = 0; i < n; i++)
            array[i] = i;
    }
    pthread_t tid[MAX_THREADS];
    for (long t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, work, (void *)t))
            return 1;
    for (long t = mode == 0 ? 0 : 1; t < threads; t++)
        pthread_join(tid[t], NULL);
    readers_done = 1;
    if (mode != 0)
        pthread_join(tid[0], NULL);
    uint64_t total = 0;
    for (long t = 0; t < threads; t++)
        total += sums[t];
    printf("psum %s threads=%ld n=%ld rounds=%ld total=%llu\n", argv[1], threads, n, rounds,
           (unsigned long long)total);
    return 0;
}

/* A light thread and a heavy one side by side, to see where a kernel places each: the light
   thread sleeps 2 ms and does a little work, WAKEUPS times; the heavy one sleeps 1 ms (its
   creator is waiting for both by then) and computes ITERATIONS loop iterations in 16 chunks.
   Each notes the CPU it ran on (sched_getcpu) after every wake-up or chunk.

   usage: lightheavy WAKEUPS ITERATIONS

   stdout: facts that hold on any Linux machine; stderr: the CPUs, in order. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHUNKS 16
#define MAX_WAKEUPS 256

static long wakeups, iterations;
static int light_cpu[MAX_WAKEUPS], heavy_cpu[CHUNKS];
static volatile unsigned long sink;

static unsigned long burn(long n, unsigned long seed) {
    unsigned long a = seed, b = 2;
    for (long i = 0; i < n; i++) {
        a += i * i;
        b ^= a >> 3;
    }
    return a + b;
}

static void nap(long ns) {
    struct timespec t = {0, ns};
    nanosleep(&t, NULL);
}

static void *light(void *arg) {
    (void)arg;
    for (long k = 0; k < wakeups; k++) {
        nap(2000000);
        sink += burn(2000, k);
        light_cpu[k] = sched_getcpu();
    }
    return NULL;
}

static void *heavy(void *arg) {
    (void)arg;
    unsigned long sum = 0;
    nap(1000000);
    for (int c = 0; c < CHUNKS; c++) {
        sum += burn(iterations / CHUNKS, c);
        heavy_cpu[c] = sched_getcpu();
    }
    sink += sum;
    return (void *)sum;
}

int main(int argc, char **argv) {
    if (argc != 3 || atol(argv[1]) < 1 || atol(argv[1]) > MAX_WAKEUPS) {
        fprintf(stderr, "usage: lightheavy WAKEUPS(1-%d) ITERATIONS\n", MAX_WAKEUPS);
        return 2;
    }
    wakeups = atol(argv[1]);
    iterations = atol(argv[2]);
    pthread_t h, l;
    void *sum;
    if (pthread_create(&h, NULL, heavy, NULL) || pthread_create(&l, NULL, light, NULL)) {
        printf("pthread_create failed\n");
        return 1;
    }
    pthread_join(l, NULL);
    pthread_join(h, &sum);
    int valid = 1;
    for (long k = 0; k < wakeups; k++) valid &= light_cpu[k] >= 0;
    for (int c = 0; c < CHUNKS; c++) valid &= heavy_cpu[c] >= 0;
    printf("heavy sum %lu\n", (unsigned long)sum);
    printf("light woke %ld times; every cpu noted valid: %d\n", wakeups, valid);
    fprintf(stderr, "light");
    for (long k = 0; k < wakeups; k++) fprintf(stderr, " %d", light_cpu[k]);
    fprintf(stderr, "\nheavy");
    for (int c = 0; c < CHUNKS; c++) fprintf(stderr, " %d", heavy_cpu[c]);
    fprintf(stderr, "\n");
    return 0;
}

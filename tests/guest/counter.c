/* The generic timer read from EL0 (mrs cntfrq_el0 / cntvct_el0 / cntpct_el0), as programs that
   time themselves without a syscall do: it must count the same time as clock_gettime. Prints
   facts that hold on any Linux machine, and the raw readings after "raw:" (compared apart). */
#include <stdio.h>
#include <time.h>

static unsigned long frq(void) {
    unsigned long v;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v;
}

static unsigned long vct(void) {
    unsigned long v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static volatile unsigned long sink;

int main(void) {
    unsigned long f = frq();
    printf("frequency set: %d\n", f > 0);
    long t0 = now_ns();
    unsigned long c0 = vct();
    struct timespec ten_ms = {0, 10000000};
    nanosleep(&ten_ms, 0);
    for (int i = 0; i < 100000; i++) sink += i;
    unsigned long c1 = vct();
    long t1 = now_ns();
    long counted = (long)((c1 - c0) * 1000000000.0 / f);
    printf("counter advanced at least 10 ms: %d\n", counted >= 10000000);
    /* (within one counter tick: the counter is read in whole ticks) */
    printf("counter within the clock's interval: %d\n", counted <= t1 - t0 + (long)(1e9 / f) + 1);
    unsigned long a = vct(), b = vct();
    printf("counter monotonic: %d\n", b >= a);
    printf("raw: frequency %lu counted %ld clock %ld\n", f, counted, t1 - t0);
    return 0;
}

/* storevis MODE LAYOUT THREADS N: THREADS threads each make N updates, ordered for the other
 * cores as MODE says, to a slot (a lock and a value) of their own, the slots in one cache line
 * (LAYOUT shared: false sharing, different words) or each on a line of its own (padded):
 *   dmb    str of the value + 1, then dmb ish
 *   stlr   the value + 1 published with a release store
 *   stadd  an LSE store atomic adding 1, then dmb ish
 *   lock   the value + 1 under the slot's spinlock, taken with ldaxr/stxr, given back with stlr;
 *          shared: every thread uses slot 0 (one lock, contended), padded: its own
 *   cas    the same, the lock taken with LSE casa
 * The main thread is thread 0. Prints every slot's value and their total: the same however the threads were scheduled. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 4

struct slot {
    volatile uint64_t lock, value;
};
static struct slot one_line[MAX_THREADS] __attribute__((aligned(64)));
static struct {
    struct slot s;
    char pad[64 - sizeof(struct slot)];
} own_lines[MAX_THREADS] __attribute__((aligned(64)));
static long n, threads;
static int mode, padded;

static struct slot *slot_of(long t)
{
    return padded ? &own_lines[t].s : &one_line[t];
}

static void lock_exclusive(volatile uint64_t *lock)
{
    uint64_t seen;
    uint32_t failed;
    asm volatile("1: ldaxr %0, [%2]\n"
                 "   cbnz %0, 1b\n"
                 "   stxr %w1, %3, [%2]\n"
                 "   cbnz %w1, 1b\n"
                 : "=&r"(seen), "=&r"(failed)
                 : "r"(lock), "r"(1UL)
                 : "memory");
}

static void lock_cas(volatile uint64_t *lock)
{
    uint64_t seen;
    do {
        seen = 0;
        asm volatile(".arch_extension lse\n\tcasa %0, %2, [%1]"
                     : "+r"(seen)
                     : "r"(lock), "r"(1UL)
                     : "memory");
    } while (seen != 0);
}

static void unlock(volatile uint64_t *lock)
{
    asm volatile("stlr xzr, [%0]" : : "r"(lock) : "memory");
}

static void *work(void *arg)
{
    struct slot *s = slot_of((long)arg);
    if (mode >= 3 && !padded)
        s = slot_of(0);
    for (long i = 0; i < n; i++) {
        uint64_t next = s->value + 1;
        switch (mode) {
        case 0:
            asm volatile("str %0, [%1]\n\tdmb ish" : : "r"(next), "r"(&s->value) : "memory");
            break;
        case 1:
            asm volatile("stlr %0, [%1]" : : "r"(next), "r"(&s->value) : "memory");
            break;
        case 2:
            asm volatile(".arch_extension lse\n\tstadd %0, [%1]\n\tdmb ish"
                         : : "r"(1UL), "r"(&s->value) : "memory");
            break;
        default:
            if (mode == 3)
                lock_exclusive(&s->lock);
            else
                lock_cas(&s->lock);
            s->value = s->value + 1;
            unlock(&s->lock);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *modes[] = {"dmb", "stlr", "stadd", "lock", "cas"};
    if (argc != 5) {
        fprintf(stderr, "usage: storevis dmb|stlr|stadd|lock|cas shared|padded THREADS N\n");
        return 2;
    }
    mode = -1;
    for (int m = 0; m < 5; m++)
        if (!strcmp(argv[1], modes[m]))
            mode = m;
    padded = !strcmp(argv[2], "padded");
    threads = atol(argv[3]);
    n = atol(argv[4]);
    if (mode < 0 || (!padded && strcmp(argv[2], "shared")) || threads < 1 ||
        threads > MAX_THREADS || n < 1)
        return 2;
    pthread_t tid[MAX_THREADS];
    for (long t = 1; t < threads; t++)  /* the main thread is thread 0 */
        if (pthread_create(&tid[t], NULL, work, (void *)t))
            return 1;
    work(0);
    for (long t = 1; t < threads; t++)
        pthread_join(tid[t], NULL);
    uint64_t total = 0;
    printf("storevis %s %s threads=%ld n=%ld:", argv[1], argv[2], threads, n);
    for (long t = 0; t < threads; t++) {
        printf(" %llu", (unsigned long long)slot_of(t)->value);
        total += slot_of(t)->value;
    }
    printf(" total=%llu\n", (unsigned long long)total);
    return 0;
}

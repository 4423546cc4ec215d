/* hmbench OP N: N iterations of one kernel operation, for `hmk fidelity` (runs on hmk only).
 *
 *   null         the null core-kernel call (thread_self: exception entry, dispatch, return)
 *   ipc          call + reply to an endpoint served in this domain (no address-space switch)
 *   ipc-domain   call + reply to an endpoint served in another domain (two TTBR0/ASID switches)
 *   fault-read   first read of each of N fresh anonymous pages (a minor fault each)
 *   fault-write  first write of each of N fresh anonymous pages
 *
 * The cost of one operation is the difference between runs with two values of N divided by
 * their difference: start-up, the first calls' cold misses and the exit cancel out. */
#include "hmcalls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static char act_stacks[2 * HM_ACTIVATION_STACK] __attribute__((aligned(16)));

static void echo(long a, long b, long c)
{
    (void)b;
    (void)c;
    hm_call(HM_IPC_REPLY, a, 0, 0, 0);
    __builtin_unreachable();
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hmbench null|ipc|ipc-domain|fault-read|fault-write N\n");
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    long acc = 0;
    if (!strcmp(op, "null")) {
        for (long i = 0; i < n; i++)
            acc += hm_call(HM_THREAD_SELF, 0, 0, 0, 0);
    } else if (!strcmp(op, "ipc") || !strcmp(op, "ipc-domain")) {
        long create = strcmp(op, "ipc") ? HM_EP_CREATE_DOMAIN : HM_EP_CREATE;
        if (hm_call(create, 1, (long)echo, (long)act_stacks, sizeof act_stacks) != 0)
            return 1;
        for (long i = 0; i < n; i++)
            acc += hm_call(HM_IPC_CALL, 1, i, 0, 0);
    } else if (!strcmp(op, "fault-read") || !strcmp(op, "fault-write")) {
        volatile char *p = mmap(NULL, (size_t)(n + 1) * 4096, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        if (op[6] == 'r')
            for (long i = 0; i < n; i++)
                acc += p[i * 4096];
        else
            for (long i = 0; i < n; i++)
                p[i * 4096] = 1;
    } else {
        fprintf(stderr, "hmbench: unknown operation %s\n", op);
        return 2;
    }
    printf("hmbench %s %ld %ld\n", op, n, acc);
    return 0;
}

/* hmipc: HM-native core-kernel calls from a guest program (runs on hmk only; see hmcalls.h).
 *
 *   hmipc [CALLS [SPINS]]   CALLS (default 100): IPC round trips to the program's own
 *                           endpoint; SPINS (default 20000000): the spinner's bound (part 5)
 *
 * 1. an endpoint whose handler adds its three arguments; CALLS calls, their sum printed;
 * 2. capability rights: a derived copy without the CALL right is refused (EPERM), a deleted
 *    slot is empty (ENOENT), a slot outside the CSpace is invalid (EINVAL);
 * 3. round robin: two threads at the main thread's priority log their ids and yield 4 times;
 * 4. priority preemption: a thread created at a higher priority runs before thread_create
 *    returns;
 * 5. timer preemption: a thread spins (no calls) until a second thread of the same priority
 *    has run, which only the timer interrupt can allow; the spin is bounded;
 * 6. across address spaces: an endpoint served in a new protection domain running this
 *    program (its own VSpace, a fresh copy of the image): CALLS calls, their sum printed;
 * 7. notifications: a thread blocks in wait until main notifies it; pending bits are taken
 *    at once by the next wait;
 * 8. a dead endpoint: after ep_destroy, calls get EPIPE;
 * 9. bad calls get errors: a thread at address 0, an endpoint with no room for a stack, a reply
 *    outside a handler, a thread that does not exist, a priority out of range, an unknown
 *    call, a call to the memory manager's endpoint (slot 0: not open to programs).
 * Threads other than main call no libc function (they share main's TLS pointer). */
#include "hmcalls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define STACK 16384
static char act_stacks[4 * HM_ACTIVATION_STACK] __attribute__((aligned(16)));
static char stacks[4][STACK] __attribute__((aligned(16)));

static volatile int order[16];
static volatile int n_order;
static volatile int finished[4];
static volatile int other_ran;
static volatile uint64_t spins;

static uint64_t spin_limit = 20000000;

static void add3(long a, long b, long c)
{
    hm_call(HM_IPC_REPLY, a + b + c, 0, 0, 0);
    __builtin_unreachable();
}

static void worker(long id)
{
    for (int i = 0; i < 4; i++) {
        order[n_order++] = (int)id;
        hm_call(HM_THREAD_YIELD, 0, 0, 0, 0);
    }
    finished[id] = 1;
    hm_call(HM_THREAD_EXIT, 0, 0, 0, 0);
}

static void urgent(long id)
{
    order[n_order++] = (int)id;
    hm_call(HM_THREAD_EXIT, 0, 0, 0, 0);
}

static void spinner(long id)
{
    while (!other_ran && spins < spin_limit)
        spins++;
    finished[id] = 1;
    hm_call(HM_THREAD_EXIT, 0, 0, 0, 0);
}

static volatile long got;

static void waiter(long id)
{
    got = hm_call(HM_WAIT, 6, 0, 0, 0);
    finished[id] = 1;
    hm_call(HM_THREAD_EXIT, 0, 0, 0, 0);
}

static void other(long id)
{
    other_ran = 1;
    finished[id] = 1;
    hm_call(HM_THREAD_EXIT, 0, 0, 0, 0);
}

static long top(int i) { return (long)(stacks[i] + STACK); }

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 100;
    if (argc > 2)
        spin_limit = strtoull(argv[2], NULL, 10);
    long self = hm_call(HM_THREAD_SELF, 0, 0, 0, 0);

    /* 1. IPC to our own endpoint in slot 1 */
    long err = hm_call(HM_EP_CREATE, 1, (long)add3, (long)act_stacks, sizeof act_stacks);
    long sum = 0;
    for (long i = 0; i < calls; i++)
        sum += hm_call(HM_IPC_CALL, 1, i, 2 * i, 3);
    printf("ipc: ep_create %ld, %ld calls, sum %ld\n", err, calls, sum);

    /* 2. rights */
    long derive = hm_call(HM_CAP_DERIVE, 1, 2, HM_READ, 0);
    long no_call = hm_call(HM_IPC_CALL, 2, 1, 1, 1);
    long del = hm_call(HM_CAP_DELETE, 2, 0, 0, 0);
    long empty = hm_call(HM_IPC_CALL, 2, 1, 1, 1);
    long outside = hm_call(HM_IPC_CALL, 4096, 1, 1, 1);
    printf("caps: derive %ld, call without CALL %ld, delete %ld, call empty %ld, "
           "call outside %ld\n", derive, no_call, del, empty, outside);

    /* 3. round robin at our own priority (100) */
    hm_call(HM_THREAD_CREATE, (long)worker, top(0), 1, 100);
    hm_call(HM_THREAD_CREATE, (long)worker, top(1), 2, 100);
    while (!(finished[1] && finished[2]))
        hm_call(HM_THREAD_YIELD, 0, 0, 0, 0);
    printf("round robin:");
    for (int i = 0; i < n_order; i++)
        printf(" %d", order[i]);
    printf("\n");

    /* 4. a higher priority runs at once */
    n_order = 0;
    hm_call(HM_THREAD_CREATE, (long)urgent, top(2), 3, 200);
    order[n_order++] = (int)self;
    printf("priority: %d then %d\n", order[0], order[1]);

    /* 5. the timer preempts a spinning thread */
    finished[1] = finished[2] = 0;
    hm_call(HM_THREAD_CREATE, (long)spinner, top(0), 1, 100);
    hm_call(HM_THREAD_CREATE, (long)other, top(1), 2, 100);
    while (!(finished[1] && finished[2]))
        hm_call(HM_THREAD_YIELD, 0, 0, 0, 0);
    printf("timer: other thread ran while the spinner spun: %s\n",
           other_ran && spins < spin_limit ? "yes" : "no");

    /* 6. across address spaces */
    err = hm_call(HM_EP_CREATE_DOMAIN, 5, (long)add3, (long)act_stacks, sizeof act_stacks);
    sum = 0;
    for (long i = 0; i < calls; i++)
        sum += hm_call(HM_IPC_CALL, 5, i, i, i);
    printf("domain: ep_create_domain %ld, %ld calls, sum %ld\n", err, calls, sum);

    /* 7. notifications */
    long made = hm_call(HM_NTFN_CREATE, 6, 0, 0, 0);
    hm_call(HM_THREAD_CREATE, (long)waiter, top(2), 3, 100);
    hm_call(HM_THREAD_YIELD, 0, 0, 0, 0); /* the waiter runs and blocks */
    long signalled = hm_call(HM_NOTIFY, 6, 0x5, 0, 0);
    while (!finished[3])
        hm_call(HM_THREAD_YIELD, 0, 0, 0, 0);
    hm_call(HM_NOTIFY, 6, 0x30, 0, 0);
    long pending = hm_call(HM_WAIT, 6, 0, 0, 0);
    printf("notify: create %ld, notify %ld, waiter got %ld, pending taken %ld\n", made,
           signalled, got, pending);

    /* 8. a dead endpoint */
    long killed = hm_call(HM_EP_DESTROY, 1, 0, 0, 0);
    printf("dead endpoint: destroy %ld, call %ld\n", killed, hm_call(HM_IPC_CALL, 1, 1, 2, 3));

    /* 9. bad calls */
    printf("bad: thread at 0 %ld, small ep %ld, stray reply %ld, no thread %ld, priority %ld, "
           "unknown %ld, memmgr %ld\n",
           hm_call(HM_THREAD_CREATE, 0, top(3), 0, 100),
           hm_call(HM_EP_CREATE, 3, (long)add3, (long)act_stacks, 100),
           hm_call(HM_IPC_REPLY, 7, 0, 0, 0),
           hm_call(HM_THREAD_RESUME, 9999, 0, 0, 0),
           hm_call(HM_THREAD_SET_PRIORITY, self, 300, 0, 0),
           hm_call(HM_CALL_BASE + 0x7f, 0, 0, 0, 0),
           hm_call(HM_IPC_CALL, 0, 1, 2, 3));
    return 0;
}

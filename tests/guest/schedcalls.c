/* Scheduling-class queries, membarrier and the mlock family as Linux answers them for a
 * normal (SCHED_OTHER) process. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }
static long mb(int cmd, unsigned flags) { return e(syscall(SYS_membarrier, cmd, flags, 0)); }

int main(void)
{
    printf("priority other %d..%d fifo %d..%d rr %d..%d bad %d\n",
           sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
           sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
           sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_RR),
           e(sched_get_priority_max(42)));
    struct sched_param p = {77};
    printf("scheduler %d param %d %d nobody %d %d\n", sched_getscheduler(0), e(sched_getparam(0, &p)),
           p.sched_priority, e(sched_getscheduler(99999)), e(sched_getscheduler(-1)));
    long q = mb(MEMBARRIER_CMD_QUERY, 0);
    printf("membarrier query has global %d private-expedited %d\n",
           (q & MEMBARRIER_CMD_GLOBAL) != 0, (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0);
    printf("membarrier unregistered %ld register %ld then %ld global %ld bad %ld bad flags %ld\n",
           mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0),
           mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0),
           mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0), mb(MEMBARRIER_CMD_GLOBAL, 0), mb(1 << 20, 0),
           mb(MEMBARRIER_CMD_GLOBAL, 2));
    char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* (mlock2 with MLOCK_ONFAULT is left out: qemu-aarch64 7.2 answers it EINVAL, Linux 0) */
    printf("mlock %d unaligned %d unmapped %d mlock2 bad flags %d\n", e(mlock(m, 8192)),
           e(mlock(m + 100, 10)), e(mlock((void *)0x1000, 4096)), e(mlock2(m, 4096, 8)));
    m[0] = 1;
    printf("munlock %d mlockall %d bad %d munlockall %d\n", e(munlock(m, 8192)),
           e(mlockall(MCL_CURRENT)), e(mlockall(0)), e(munlockall()));
    return 0;
}

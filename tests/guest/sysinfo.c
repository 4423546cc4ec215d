/* sysinfo, sched_getaffinity and sched_setaffinity: what a program learns of the machine. The
 * values that depend on the machine are printed as facts about them (a one-core model: the
 * mask is CPU 0), so the output is Linux's on a one-CPU machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

int main(void)
{
    struct sysinfo si;
    int r = sysinfo(&si);
    printf("sysinfo %d unit %u ram %s free %s procs %s swap %lu\n", r, si.mem_unit,
           si.totalram >= (64ul << 20) ? "big" : "small",
           si.freeram > 0 && si.freeram < si.totalram ? "some" : "odd",
           si.procs >= 1 ? "some" : "none", si.totalswap);
    printf("sysinfo fault %d\n", sysinfo((struct sysinfo *)8) < 0 ? -errno : 0);
    unsigned long mask[16] = {0};
    long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    printf("getaffinity %ld mask %#lx\n", n, mask[0]);
    printf("getaffinity small %ld odd %ld nobody %ld\n",
           syscall(SYS_sched_getaffinity, 0, 4, mask) < 0 ? -(long)errno : 0,
           syscall(SYS_sched_getaffinity, 0, 12, mask) < 0 ? -(long)errno : 0,
           syscall(SYS_sched_getaffinity, 99999, sizeof mask, mask) < 0 ? -(long)errno : 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    int ok = sched_setaffinity(0, sizeof set, &set);
    CPU_ZERO(&set);
    CPU_SET(5, &set);
    int none = sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
    printf("setaffinity cpu0 %d cpu5-only %d\n", ok, none);
    printf("nprocs %d\n", get_nprocs());
    return 0;
}

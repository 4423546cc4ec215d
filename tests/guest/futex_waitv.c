/* futex_waitv (Linux 5.16) as Linux answers it: its checks (flags, the count, a waiter's flags
 * and reserved field, the clock, the timeout, a misaligned or unmapped word), a word that
 * differs (EAGAIN), a timeout (ETIMEDOUT), and a child waiting on three futexes in shared
 * memory, woken by its parent's FUTEX_WAKE of the third: the call returns that futex's index.
 * qemu-user 7.2 does not translate it: the test compares with this machine's own Linux. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NR_futex_waitv 449
#define WAITV_32 2 /* FUTEX2_SIZE_U32, FUTEX_32 in older headers */

struct waiter {
    uint64_t val, uaddr;
    uint32_t flags, reserved;
};

static long waitv(struct waiter *w, unsigned n, unsigned flags, struct timespec *t, int clock)
{
    long r = syscall(NR_futex_waitv, w, n, flags, t, clock);
    return r < 0 ? -errno : r;
}

static void set(struct waiter *w, uint32_t *word, uint32_t val, uint32_t flags)
{
    *w = (struct waiter){val, (uintptr_t)word, flags, 0};
}

static struct timespec after(long ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += ns;
    t.tv_sec += t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

int main(void)
{
    uint32_t *words = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct waiter w[3];
    struct timespec soon = after(1000000), bad = {0, 1000000000};
    void *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);

    set(&w[0], &words[0], 0, WAITV_32);
    set(&w[1], &words[1], 0, WAITV_32 | FUTEX_PRIVATE_FLAG);
    printf("flags: %ld\n", waitv(w, 2, 1, &soon, CLOCK_MONOTONIC));
    printf("none: %ld\n", waitv(w, 0, 0, &soon, CLOCK_MONOTONIC));
    printf("too many: %ld\n", waitv(w, 129, 0, &soon, CLOCK_MONOTONIC));
    printf("no array: %ld\n", waitv(NULL, 1, 0, &soon, CLOCK_MONOTONIC));
    printf("bad clock: %ld\n", waitv(w, 2, 0, &soon, CLOCK_BOOTTIME));
    printf("bad timeout: %ld\n", waitv(w, 2, 0, &bad, CLOCK_MONOTONIC));
    printf("timeout unmapped: %ld\n", waitv(w, 2, 0, gone, CLOCK_MONOTONIC));
    printf("array unmapped: %ld\n", waitv(gone, 2, 0, &soon, CLOCK_MONOTONIC));
    w[1].reserved = 1;
    printf("reserved: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], &words[1], 0, 0);
    printf("no size: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], &words[1], 0, WAITV_32 | 1);
    printf("unknown flag: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], (uint32_t *)((char *)words + 6), 0, WAITV_32);
    printf("misaligned: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], gone, 0, WAITV_32);
    printf("unmapped word: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], &words[1], 5, WAITV_32);
    printf("second word differs: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    set(&w[1], &words[1], 0, WAITV_32);
    printf("timed out: %ld\n", waitv(w, 2, 0, &soon, CLOCK_MONOTONIC));
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    printf("timed out on the wall clock: %ld\n", waitv(w, 2, 0, &wall, CLOCK_REALTIME));

    int ready[2];
    char c;
    pipe(ready);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++)
            set(&w[i], &words[i], 0, WAITV_32);
        write(ready[1], "w", 1);
        long r = waitv(w, 3, 0, NULL, 0);
        printf("child: woken from futex %ld\n", r);
        return 0;
    }
    read(ready[0], &c, 1);
    long woken = 0;
    for (int i = 0; i < 1000 && !woken; i++) {
        struct timespec nap = {0, 2000000};
        nanosleep(&nap, NULL);
        woken = syscall(SYS_futex, &words[2], FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("parent: woke %ld, child exited %d\n", woken, WEXITSTATUS(status));
    return 0;
}

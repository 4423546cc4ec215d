/* sched_setaffinity and sched_getaffinity: their errors (an empty mask or one with no CPU of
 * the machine, a size of 0, a mask the caller cannot read or write, a thread that does not
 * exist, and which check comes first), a mask's CPUs beyond the machine's dropped, and the
 * masks new threads and processes start with. Prints errnos and what it read back, nothing
 * that depends on how many CPUs the machine has. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((void *)8)
#define NOBODY 999999

static long e(long r) { return r < 0 ? -errno : r; }
static long set(pid_t pid, size_t size, const void *mask)
{
    return e(syscall(SYS_sched_setaffinity, pid, size, mask));
}
static long get(pid_t pid, size_t size, void *mask)
{
    return e(syscall(SYS_sched_getaffinity, pid, size, mask));
}

static cpu_set_t original;
static int same_as(const cpu_set_t *mask) { return CPU_EQUAL(mask, &original); }

static void *thread_mask(void *arg)
{
    cpu_set_t mask;
    CPU_ZERO(&mask);
    sched_getaffinity(0, sizeof mask, &mask);
    *(int *)arg = CPU_COUNT(&mask) == 1 && CPU_ISSET(0, &mask);
    return NULL;
}

int main(void)
{
    cpu_set_t mask, back;
    sched_getaffinity(0, sizeof original, &original);
    CPU_ZERO(&mask);
    printf("setaffinity empty %ld", set(0, sizeof mask, &mask));
    CPU_SET(1000, &mask);
    printf(" cpu 1000 only %ld size 0 %ld", set(0, sizeof mask, &mask), set(0, 0, &original));
    printf(" unreadable %ld unreadable nobody %ld", set(0, sizeof mask, BAD),
           set(NOBODY, sizeof mask, BAD));
    printf(" nobody %ld nobody empty %ld negative %ld\n", set(NOBODY, sizeof original, &original),
           set(NOBODY, sizeof mask, &mask), set(-5, sizeof original, &original));
    printf("getaffinity size 0 %ld size 4 %ld size 12 %ld unwritable %ld nobody unwritable %ld"
           " negative %ld\n",
           get(0, 0, &mask), get(0, 4, &mask), get(0, 12, &mask), get(0, sizeof mask, BAD),
           get(NOBODY, sizeof mask, BAD), get(-5, sizeof mask, &mask));

    mask = original;
    CPU_SET(1000, &mask);
    long r = set(0, sizeof mask, &mask);
    CPU_ZERO(&back);
    sched_getaffinity(0, sizeof back, &back);
    printf("set with cpu 1000 too %ld, read back the machine's %d\n", r, same_as(&back));

    CPU_ZERO(&mask);
    CPU_SET(0, &mask);
    r = set(0, sizeof mask, &mask);
    CPU_ZERO(&back);
    sched_getaffinity(0, sizeof back, &back);
    printf("pinned to cpu 0 %ld: mask has cpu 0 alone %d, on cpu %d\n", r,
           CPU_COUNT(&back) == 1 && CPU_ISSET(0, &back), sched_getcpu());

    int inherited = -1;
    pthread_t t;
    pthread_create(&t, NULL, thread_mask, &inherited);
    pthread_join(t, NULL);
    printf("a new thread has cpu 0 alone %d\n", inherited);

    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        CPU_ZERO(&back);
        sched_getaffinity(0, sizeof back, &back);
        printf("a child has cpu 0 alone %d\n", CPU_COUNT(&back) == 1 && CPU_ISSET(0, &back));
        fflush(stdout);
        write(ready[1], "r", 1);
        char c;
        read(done[0], &c, 1);
        CPU_ZERO(&back);
        sched_getaffinity(0, sizeof back, &back);
        printf("the child's mask set by its parent is the machine's %d\n", same_as(&back));
        fflush(stdout);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    printf("parent sets the child's mask %ld", set(child, sizeof original, &original));
    CPU_ZERO(&back);
    printf(", reads it %ld: the machine's %d\n", get(child, sizeof back, &back) > 0,
           same_as(&back));
    fflush(stdout);
    write(done[1], "d", 1);
    waitpid(child, NULL, 0);
    return 0;
}

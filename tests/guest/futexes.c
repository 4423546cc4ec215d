/* Futexes between processes, as Linux keys them: a futex in MAP_SHARED memory is one futex for
 * every process that maps it (a child's FUTEX_WAIT woken by its parent's FUTEX_WAKE returns 0
 * though the word never changed; the parent's wake counts it), a FUTEX_PRIVATE_FLAG futex there
 * is each process's own (the parent's private wakes reach nobody, the child's private wait
 * times out), a futex in private memory after fork is the child's own (a copy), and the
 * errors: a misaligned word (EINVAL), a changed word (EAGAIN), an unmapped word for a shared
 * wake (EFAULT) but not for a private one, a bad timeout or an empty bitset (EINVAL), an
 * unknown command (ENOSYS). */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex3(uint32_t *word, int op, uint32_t val, const struct timespec *t, uint32_t val3)
{
    long r = syscall(SYS_futex, word, op, val, t, NULL, val3);
    return r < 0 ? -errno : r;
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *t)
{
    return futex3(word, op, val, t, 0);
}

static void nap(void)
{
    struct timespec t = {0, 2000000};
    nanosleep(&t, NULL);
}

/* wake the child waiting on `word` with `op` (its pipe says it is about to), until one is
 * woken or `tries` wakes reached nobody; how many were woken */
static long wake_child(uint32_t *word, int op, int tries)
{
    long woken = 0;
    for (int i = 0; i < tries && !woken; i++) {
        nap();
        woken = futex(word, op, 1, NULL);
    }
    return woken;
}

static int report(pid_t child)
{
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint32_t local = 0;
    int ready[2];
    char c;
    long woken;
    int status;
    struct timespec soon = {0, 50000000};
    pipe(ready);
    fflush(stdout);

    pid_t child = fork();
    if (child == 0) { /* a shared futex: woken by the parent, the word unchanged */
        write(ready[1], "w", 1);
        long r = futex(&shared[0], FUTEX_WAIT, 0, NULL);
        printf("child: shared wait %ld, word %u\n", r, shared[0]);
        return 0;
    }
    read(ready[0], &c, 1);
    woken = wake_child(&shared[0], FUTEX_WAKE, 1000);
    status = report(child);
    printf("parent: shared wake woke %ld, child exited %d\n", woken, status);

    fflush(stdout);
    child = fork();
    if (child == 0) { /* a private futex in shared memory: the parent's wakes miss it */
        write(ready[1], "p", 1);
        long r = futex(&shared[1], FUTEX_WAIT_PRIVATE, 0, &soon);
        printf("child: private wait %ld\n", r);
        return 0;
    }
    read(ready[0], &c, 1);
    woken = wake_child(&shared[1], FUTEX_WAKE_PRIVATE, 5);
    status = report(child);
    printf("parent: private wakes woke %ld, child exited %d\n", woken, status);

    fflush(stdout);
    child = fork();
    if (child == 0) { /* private memory after fork: the child's own word */
        write(ready[1], "l", 1);
        long r = futex(&local, FUTEX_WAIT, 0, &soon);
        printf("child: wait on its own copy %ld\n", r);
        return 0;
    }
    read(ready[0], &c, 1);
    woken = wake_child(&local, FUTEX_WAKE, 5);
    status = report(child);
    printf("parent: wakes of its own copy woke %ld, child exited %d\n", woken, status);

    struct timespec bad = {0, 1000000000};
    void *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    printf("misaligned wait: %ld\n", futex((uint32_t *)((char *)shared + 2), FUTEX_WAIT, 0, NULL));
    printf("misaligned wake: %ld\n", futex((uint32_t *)((char *)shared + 2), FUTEX_WAKE, 1, NULL));
    shared[2] = 7;
    printf("changed word: %ld\n", futex(&shared[2], FUTEX_WAIT, 6, NULL));
    printf("bad timeout: %ld\n", futex(&shared[2], FUTEX_WAIT, 7, &bad));
    printf("shared wake, nothing mapped: %ld\n", futex(gone, FUTEX_WAKE, 1, NULL));
    printf("private wake, nothing mapped: %ld\n", futex(gone, FUTEX_WAKE_PRIVATE, 1, NULL));
    printf("wake nobody: %ld\n", futex(&shared[2], FUTEX_WAKE, 1, NULL));
    struct timespec past = {0, 1};
    printf("empty bitset: %ld\n", futex3(&shared[2], FUTEX_WAIT_BITSET, 7, &past, 0));
    printf("wake, empty bitset: %ld\n", futex3(&shared[2], FUTEX_WAKE_BITSET, 1, NULL, 0));
    printf("timed out: %ld\n", futex3(&shared[2], FUTEX_WAIT_BITSET, 7, &past, ~0u));
    printf("unknown command: %ld\n", futex(&shared[2], 99, 0, NULL));
    return 0;
}

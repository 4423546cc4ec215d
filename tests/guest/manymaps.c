/* Many mappings: 300 separate anonymous ones (far more than the kernel's region table holds;
 * alternately read-write and read-only, so no two merge), each written or read, then every
 * other one unmapped, a child forked that reads the rest. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 300
static char *maps[N];


int main(void)
{
    long sum = 0;
    int failed = 0;
    for (int i = 0; i < N; i++) {
        /* a hint far from the others keeps a gap between every two mappings */
        void *hint = (void *)(0x200000000UL + (unsigned long)i * 0x4000);
        maps[i] = mmap(hint, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (maps[i] == MAP_FAILED) {
            failed++;
            continue;
        }
        maps[i][0] = (char)(i & 0x7f);
        if (i % 2)
            mprotect(maps[i], 4096, PROT_READ);
    }
    for (int i = 0; i < N; i++)
        sum += maps[i][0];
    printf("mapped %d failed %d sum %ld\n", N - failed, failed, sum);
    for (int i = 0; i < N; i += 2)
        munmap(maps[i], 4096);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        long s = 0;
        for (int i = 1; i < N; i += 2)
            s += maps[i][0];
        printf("child sum %ld\n", s);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child status %d\n", WEXITSTATUS(status));
    return 0;
}

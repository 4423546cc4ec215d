/* RLIMIT_AS enforced on mmap, brk and mremap, as Linux's may_expand_vm does. Prints what it
   observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void) {
    struct rlimit rl = {64 << 20, 64 << 20};
    printf("setrlimit AS 64 MiB: %d\n", setrlimit(RLIMIT_AS, &rl));
    errno = 0;
    void *big = mmap(NULL, 100 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 100 MiB: %s errno %d\n", big == MAP_FAILED ? "failed" : "mapped", errno);
    char *small = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 1 MiB: %s\n", small == MAP_FAILED ? "failed" : "mapped");
    errno = 0;
    void *grown = mremap(small, 1 << 20, 200 << 20, MREMAP_MAYMOVE);
    printf("mremap to 200 MiB: %s errno %d\n", grown == MAP_FAILED ? "failed" : "moved", errno);
    void *top = sbrk(0);
    errno = 0;
    void *r = sbrk(100 << 20);
    printf("sbrk 100 MiB: %s errno %d\n", r == (void *)-1 ? "failed" : "grown", errno);
    printf("break unchanged: %d\n", sbrk(0) == top);
    return 0;
}

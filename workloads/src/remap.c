/* remap [PAGES]: mremap. Maps PAGES pages (default 8), writes a byte to each, shrinks the
 * mapping to half, grows it back (in place or moved), grows it to twice with MREMAP_MAYMOVE
 * behind a blocking mapping so it must move, and checks after each step that the surviving
 * pages kept their bytes and new pages read zero. Also a realloc of a large block (glibc
 * moves such blocks with mremap). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

static int check(unsigned char *p, uint64_t kept, uint64_t total)
{
    for (uint64_t i = 0; i < total; i++)
        if (p[i * 4096] != (i < kept ? (unsigned char)(i + 1) : 0))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[PAGES]");
    uint64_t pages = arg_u64(argc, argv, 1, "PAGES", 8, 2, 1024);
    size_t size = pages * 4096;
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (uint64_t i = 0; i < pages; i++)
        p[i * 4096] = (unsigned char)(i + 1);
    unsigned char *q = mremap(p, size, size / 2, 0);
    printf("shrink: same place %d, kept %d\n", q == p, check(q, pages / 2, pages / 2));
    void *blocker = mmap(q + size, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    unsigned char *r = mremap(q, size / 2, size, 0);
    printf("grow in place: %s\n", r == MAP_FAILED ? (errno == ENOMEM ? "ENOMEM" : "?") : "ok");
    r = mremap(q, size / 2, size, MREMAP_MAYMOVE);
    printf("grow: moved %d, kept %d\n", r != q, check(r, pages / 2, pages));
    r[0] = 77;
    printf("writable after moving: %d\n", r[0] == 77);
    printf("old place unmapped: %d\n", mremap(q, 4096, 4096, 0) == MAP_FAILED && errno == EFAULT);
    munmap(blocker, 4096);
    munmap(r, size);

    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    big = realloc(big, 4 << 20);
    printf("realloc kept: %d\n", big[0] == 'x' && big[(1 << 20) - 1] == 'x');
    free(big);
    return 0;
}

/* madvise as Linux answers it: MADV_DONTNEED gives zeros back on private anonymous memory and
 * the file's bytes back on a private file mapping (its private copy dropped), keeps shared
 * memory's data; hints change nothing; the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

int main(void)
{
    char *a = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 'a', 3 * 4096);
    printf("dontneed %d -> %d %d %d\n", e(madvise(a + 4096, 4096, MADV_DONTNEED)), a[0], a[4096],
           a[8192]);
    int fd = open("/tmp/mad.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[4096];
    memset(page, 'f', sizeof page);
    if (write(fd, page, sizeof page) != sizeof page)
        return 1;
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    p[0] = 'x';
    printf("private file %c ", p[0]);
    printf("dontneed %d -> %c\n", e(madvise(p, 4096, MADV_DONTNEED)), p[0]);
    char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    s[0] = 's';
    printf("shared dontneed %d -> %c\n", e(madvise(s, 4096, MADV_DONTNEED)), s[0]);
    a[0] = 'b';
    printf("hints %d %d %d -> %c\n", e(madvise(a, 4096, MADV_WILLNEED)),
           e(madvise(a, 4096, MADV_SEQUENTIAL)), e(madvise(a, 4096, MADV_FREE)), a[0]);
    printf("unaligned %d bad advice %d remove private %d unmapped %d\n",
           e(madvise(a + 1, 4096, MADV_DONTNEED)), e(madvise(a, 4096, 77)),
           e(madvise(a, 4096, MADV_REMOVE)), e(madvise((void *)0x10000, 4096, MADV_NORMAL)));
    close(fd);
    unlink("/tmp/mad.txt");
    return 0;
}

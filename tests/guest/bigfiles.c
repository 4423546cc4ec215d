/* Files with holes far bigger than the machine: hmk keeps a file's bytes whole in memory, so
   a growth past the room a tmpfs has (half the RAM) is ENOSPC, where Linux keeps the hole
   free; a hole within it reads as zeros, as on Linux. A shared anonymous mapping larger than
   the machine is ENOMEM on both (Linux's overcommit guess). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHOW(what, r) printf("%s: %ld errno %d\n", what, (long)(r), (r) < 0 ? errno : 0)

int main(int argc, char **argv) {
    long hole_mib = argc > 1 ? atol(argv[1]) : 8;
    int fd = open("/tmp/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    SHOW("ftruncate 1 TiB", ftruncate(fd, 1LL << 40));
    SHOW("lseek 512 GiB", lseek(fd, 1LL << 39, SEEK_SET) > 0);
    SHOW("write there", write(fd, "x", 1));
    SHOW("truncate 1 TiB", truncate("/tmp/big", 1LL << 40));
    void *p = mmap(0, 1LL << 40, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    SHOW("shared anonymous 1 TiB", p == MAP_FAILED ? -1 : 0);
    SHOW("pwrite past a hole", pwrite(fd, "y", 1, hole_mib << 20));
    struct stat st;
    fstat(fd, &st);
    char b = 1;
    SHOW("size", st.st_size);
    SHOW("pread in the hole", pread(fd, &b, 1, 12345));
    printf("hole byte %d\n", b);
    int null = open("/dev/null", O_WRONLY);
    SHOW("write to /dev/null from no buffer", write(null, NULL, 1L << 30));
    unlink("/tmp/big");
    return 0;
}

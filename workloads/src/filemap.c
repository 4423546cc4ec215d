/* filemap [PAGES]: writes a file of PAGES pages (default 64) in /tmp, page i filled with the
 * byte i mod 251, maps it privately and reads the first byte of every page through the mapping,
 * then writes to one mapped page (a private copy: the file keeps its byte), and prints the sum
 * of the bytes read and what the file and the mapping hold after that write. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[PAGES]");
    uint64_t pages = arg_u64(argc, argv, 1, "PAGES", 64, 1, 4096);
    char path[] = "/tmp/filemapXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    static char page[4096];
    for (uint64_t i = 0; i < pages; i++) {
        memset(page, (int)(i % 251), sizeof page);
        if (write(fd, page, sizeof page) != (ssize_t)sizeof page)
            return 1;
    }
    unsigned char *map = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return 1;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < pages; i++)
        sum += map[i * 4096];
    map[0] = 200;
    unsigned char first = 0;
    pread(fd, &first, 1, 0);
    printf("filemap: pages=%" PRIu64 " sum=%" PRIu64 " file=%d mapping=%d\n", pages, sum, first,
           map[0]);
    munmap(map, pages * 4096);
    close(fd);
    unlink(path);
    return 0;
}

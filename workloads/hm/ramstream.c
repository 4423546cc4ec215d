/* ramstream read|write BLOCK_KIB [KIB]: sequential block I/O on hmk's RAM disk, /dev/ram0 (devhost;
 * a twin driver's data path when the system file asks for one), timed by the program itself, for
 * `hmk paper`.
 *
 * Streams KIB KiB (default: the whole disk) in BLOCK_KIB-KiB requests, pread or pwrite at
 * ascending offsets from 0 (wrapping at the end of the disk), after 8 untimed requests to warm
 * up. The stream is timed with two reads of CLOCK_MONOTONIC, less the shortest of three empty
 * pairs of reads, and the program prints
 * `ramstream: op=OP block_kib=B kib=K ok=1 ns=T mb_s=M` (M = bytes * 1000 / T: decimal MB/s, in
 * integer arithmetic; ok=1 when every request moved a whole block and, on a read of what this
 * program wrote, every block came back). A Linux program (no core-kernel calls), but hmk's disk
 * is not the host's /dev/ram0, so it lives with the HM-native programs, as blkio does. */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define WARM 8

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec;
}

/* `count` requests of `block` bytes from offset `first` * block; 1 when every one was whole. */
static int stream(int fd, int writing, unsigned char *buf, uint64_t block, uint64_t first,
                  uint64_t count, uint64_t blocks)
{
    int ok = 1;
    for (uint64_t i = first; i < first + count; i++) {
        off_t at = (off_t)((i % blocks) * block);
        ssize_t n = writing ? pwrite(fd, buf, block, at) : pread(fd, buf, block, at);
        ok &= n == (ssize_t)block;
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "write"))) {
        fprintf(stderr, "usage: %s read|write BLOCK_KIB [KIB]\n", argv[0]);
        return 2;
    }
    int writing = argv[1][0] == 'w';
    uint64_t block = strtoull(argv[2], NULL, 10) * 1024;
    int fd = open("/dev/ram0", O_RDWR);
    if (fd < 0) {
        perror("open /dev/ram0");
        return 1;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || block == 0 || block > size) {
        fprintf(stderr, "ramstream: BLOCK_KIB must be 1..%llu\n", (unsigned long long)(size >> 10));
        return 2;
    }
    uint64_t blocks = size / block;
    uint64_t total = argc > 3 ? strtoull(argv[3], NULL, 10) * 1024 : blocks * block;
    if (total < block) {
        fprintf(stderr, "ramstream: KIB must be at least BLOCK_KIB\n");
        return 2;
    }
    unsigned char *buf = malloc(block);
    if (buf == NULL)
        return 1;
    memset(buf, 0x5a, block);
    int ok = 1;
    uint64_t count = total / block;
    if (!writing) /* the blocks a read will reach hold 0x5a, written untimed */
        ok &= stream(fd, 1, buf, block, 0, WARM + count < blocks ? WARM + count : blocks, blocks);
    ok &= stream(fd, writing, buf, block, 0, WARM, blocks);
    uint64_t t0 = now_ns();
    ok &= stream(fd, writing, buf, block, WARM, count, blocks);
    uint64_t ns = now_ns() - t0, empty = UINT64_MAX;
    for (int k = 0; k < 3; k++) {
        uint64_t a = now_ns(), b = now_ns();
        if (b - a < empty)
            empty = b - a;
    }
    ns = ns > empty ? ns - empty : 1;
    if (!writing)
        for (uint64_t i = 0; i < block; i++)
            ok &= buf[i] == 0x5a;
    uint64_t bytes = count * block;
    printf("ramstream: op=%s block_kib=%llu kib=%llu ok=%d ns=%llu mb_s=%llu\n", argv[1],
           (unsigned long long)(block >> 10), (unsigned long long)(bytes >> 10), ok,
           (unsigned long long)ns, (unsigned long long)(bytes * 1000 / ns));
    close(fd);
    return 0;
}

/* blkio [KIB]: block I/O on hmk's RAM disk, /dev/ram0 (devhost; a twin driver's data path when
 * the system file asks for one). Gets the disk's size with BLKGETSIZE64, writes KIB KiB
 * (default 256, at most the disk) in 4 KiB blocks, block b filled with the byte b mod 253, reads
 * them back from offset 0, and prints the size, whether every byte came back, and a checksum.
 * A Linux program (no core-kernel calls), but hmk's disk is not the host's /dev/ram0, so it is
 * built with the HM-native programs and checked against its own semantics. */
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long kib = argc > 1 ? atol(argv[1]) : 256;
    int fd = open("/dev/ram0", O_RDWR);
    if (fd < 0) {
        perror("open /dev/ram0");
        return 1;
    }
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || kib < 4 || (uint64_t)kib * 1024 > size) {
        fprintf(stderr, "blkio: KIB must be 4..%llu\n", (unsigned long long)(size / 1024));
        return 2;
    }
    static unsigned char block[4096], back[4096];
    long blocks = kib / 4;
    for (long b = 0; b < blocks; b++) {
        memset(block, (int)(b % 253), sizeof block);
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            return 1;
    }
    lseek(fd, 0, SEEK_SET);
    int ok = 1;
    uint64_t sum = 0;
    for (long b = 0; b < blocks; b++) {
        if (read(fd, back, sizeof back) != (ssize_t)sizeof back)
            return 1;
        ok &= back[0] == b % 253 && back[4095] == b % 253;
        sum += back[100];
    }
    printf("blkio: size=%llu kib=%ld ok=%d sum=%llu\n", (unsigned long long)size, blocks * 4, ok,
           (unsigned long long)sum);
    close(fd);
    return 0;
}

/* shmem [PAGES]: shared memory. A MAP_SHARED|MAP_ANONYMOUS area of PAGES pages (default 4) is
 * inherited by a forked child, whose writes the parent then sees (a private area beside it keeps
 * the parent's bytes); a file in /tmp mapped MAP_SHARED is written through the mapping and read
 * back with read(), written with pwrite() and seen through the mapping, shared with a child the
 * same way, and survives munmap; and mmap's errors for a shared mapping: a read-only descriptor
 * with PROT_WRITE, no mapping type, msync's checks. (Not MAP_SHARED_VALIDATE: qemu-aarch64 7.2
 * refuses it outright, where Linux checks its flags.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const char *err(long r)
{
    if (r >= 0)
        return "ok";
    return errno == EACCES ? "EACCES" : errno == EINVAL ? "EINVAL"
        : errno == ENOMEM ? "ENOMEM" : "other";
}

static int wait_child(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[PAGES]");
    uint64_t pages = arg_u64(argc, argv, 1, "PAGES", 4, 1, 1024);
    size_t size = pages * 4096;

    /* anonymous: shared and private side by side, the child writes both */
    unsigned char *shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                 -1, 0);
    unsigned char *private = mmap(NULL, size, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || private == MAP_FAILED)
        return 1;
    shared[0] = 1; /* touched before fork: the child must see the same frame */
    private[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        for (uint64_t i = 0; i < pages; i++) {
            shared[i * 4096] = (unsigned char)(i + 7);
            private[i * 4096] = 99;
        }
        _exit(0);
    }
    int status = wait_child(pid);
    uint64_t seen = 0, kept = 0;
    for (uint64_t i = 0; i < pages; i++) {
        seen += shared[i * 4096] == (unsigned char)(i + 7);
        kept += private[i * 4096] == (i == 0 ? 1 : 0);
    }
    printf("anonymous: child %d, shared pages seen %" PRIu64 "/%" PRIu64 ", private kept %"
           PRIu64 "\n", status, seen, pages, kept);
    munmap(shared, size);
    munmap(private, size);

    /* a file: stores through the mapping reach read(), pwrite reaches the mapping */
    char path[] = "/tmp/shmemXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        return 1;
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return 1;
    memcpy(map + size - 4096, "through the mapping", 19);
    char buf[32] = {0};
    pread(fd, buf, 19, (off_t)(size - 4096));
    printf("file: read sees \"%s\"\n", buf);
    pwrite(fd, "via pwrite", 10, 100);
    printf("file: mapping sees \"%.10s\"\n", map + 100);
    pid = fork();
    if (pid == 0) {
        memcpy(map, "child", 5);
        _exit(0);
    }
    status = wait_child(pid);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 5, 0);
    printf("file: child %d wrote \"%s\"\n", status, buf);
    printf("msync: %s", err(msync(map, size, MS_SYNC)));
    printf(", unaligned %s", err(msync(map + 1, 4096, MS_SYNC)));
    printf(", both flags %s\n", err(msync(map, 4096, MS_SYNC | MS_ASYNC)));
    map[4096] = 'Z';
    munmap(map, size);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 1, 4096);
    printf("file: after munmap \"%s\"\n", buf);
    printf("msync unmapped: %s\n", err(msync(map, 4096, MS_SYNC)));

    /* errors */
    int ro = open(path, O_RDONLY);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("read-only fd, shared writable: %s\n", err(p == MAP_FAILED ? -1 : 0));
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    printf("read-only fd, private writable: %s\n", err(p == MAP_FAILED ? -1 : 0));
    p = mmap(NULL, 4096, PROT_READ, 0, ro, 0);
    printf("no type: %s\n", err(p == MAP_FAILED ? -1 : 0));
    close(ro);
    close(fd);
    unlink(path);
    return 0;
}

/* preadv, pwritev, preadv2 and pwritev2 (their offsets and RWF_* flags), sync_file_range,
 * readahead, fdatasync and close_range as Linux answers them on a tmpfs: bytes scattered and
 * gathered, the file position each form moves or keeps, the flags a tmpfs file and a pipe
 * take, and the errors in Linux's order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "fsguest.h"

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x20
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static long pos(int fd) { return lseek(fd, 0, SEEK_CUR); }

static void vectors(void)
{
    int fd = open("v", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char a[] = "hello ", b[] = "vector ", c[] = "world";
    struct iovec out[3] = {{a, 6}, {b, 7}, {c, 5}};
    say("pwritev", e(pwritev(fd, out, 3, 4)));
    say("pos", pos(fd));
    end();
    char x[5] = {0}, y[20] = {0};
    struct iovec in[2] = {{x, 4}, {y, 19}};
    say("preadv", e(preadv(fd, in, 2, 4)));
    say("pos", pos(fd));
    says("got", x);
    says("and", y);
    end();
    say("pwritev2 at -1", e(pwritev2(fd, out, 1, -1, 0)));
    say("pos", pos(fd));
    end();
    memset(y, 0, sizeof y);
    lseek(fd, 10, SEEK_SET);
    say("preadv2 at -1", e(preadv2(fd, in, 2, -1, 0)));
    say("pos", pos(fd));
    says("got", x);
    says("and", y);
    end();
}

static void flags(void)
{
    int fd = open("v", O_RDWR);
    char a[] = "hello", x[8] = {0};
    struct iovec out = {a, 5}, in = {x, 4};
    say("flags on a file: hipri", e(pwritev2(fd, &out, 1, 0, RWF_HIPRI)));
    say("dsync", e(pwritev2(fd, &out, 1, 0, RWF_DSYNC)));
    say("sync", e(pwritev2(fd, &out, 1, 0, RWF_SYNC)));
    say("read sync", e(preadv2(fd, &in, 1, 0, RWF_SYNC)));
    end();
    say("nowait read", e(preadv2(fd, &in, 1, 0, RWF_NOWAIT)));
    say("nowait write", e(pwritev2(fd, &out, 1, 0, RWF_NOWAIT)));
    say("atomic", e(pwritev2(fd, &out, 1, 0, 0x40)));
    say("dontcache", e(preadv2(fd, &in, 1, 0, 0x80)));
    end();
    long before = pos(fd);
    say("append at 0", e(pwritev2(fd, &out, 1, 0, RWF_APPEND)));
    say("pos kept", pos(fd) == before);
    say("size", lseek(fd, 0, SEEK_END));
    lseek(fd, 3, SEEK_SET);
    say("append at -1", e(pwritev2(fd, &out, 1, -1, RWF_APPEND)));
    say("pos", pos(fd));
    end();
    say("append|noappend", e(pwritev2(fd, &out, 1, 0, RWF_APPEND | RWF_NOAPPEND)));
    say("unknown", e(pwritev2(fd, &out, 1, 0, 0x10000)));
    say("empty vector with bad flags", e(preadv2(fd, &in, 0, 0, 0x10000)));
    say("bad flags on a read-only file", e(pwritev2(open("v", O_RDONLY), &out, 1, 0, 0x10000)));
    end();
    say("errors: negative", e(preadv(fd, &in, 1, -1)));
    say("-2 for v2", e(preadv2(fd, &in, 1, -2, 0)));
    say("bad fd", e(preadv(99, &in, 1, 0)));
    say("bad vector", e(preadv(fd, (void *)8, 1, 0)));
    say("too many", e(preadv(fd, &in, 1025, 0)));
    say("read-only pwritev", e(pwritev(open("v", O_RDONLY), &out, 1, 0)));
    end();
    int p[2];
    pipe(p);
    say("pipe: preadv", e(preadv(p[0], &in, 1, 0)));
    say("pwritev2 at -1", e(pwritev2(p[1], &out, 1, -1, 0)));
    say("preadv2 at -1", e(preadv2(p[0], &in, 1, -1, 0)));
    says("got", x);
    end();
    say("nowait on the rest", e(preadv2(p[0], &in, 1, -1, RWF_NOWAIT)));
    say("nowait on empty", e(preadv2(p[0], &in, 1, -1, RWF_NOWAIT)));
    end();
    close(p[0]);
    say("no reader, nosignal", e(pwritev2(p[1], &out, 1, -1, 0x100)));
    end();
    close(p[1]);
    close(fd);
}

static void sync_and_readahead(void)
{
    int fd = open("v", O_RDWR);
    int p[2];
    pipe(p);
    say("sync_file_range", e(sync_file_range(fd, 0, 10, 0)));
    say("all flags", e(sync_file_range(fd, 0, 0, 7)));
    say("bad flags", e(sync_file_range(fd, 0, 10, 8)));
    say("negative", e(sync_file_range(fd, -1, 10, 0)));
    say("overflow", e(sync_file_range(fd, 0x7fffffffffffffff, 10, 0)));
    say("pipe", e(sync_file_range(p[0], 0, 10, 0)));
    say("bad fd", e(sync_file_range(99, 0, 10, 8)));
    end();
    int wo = open("v", O_WRONLY), dir = open(".", O_RDONLY | O_DIRECTORY);
    say("readahead", e(readahead(fd, 0, 4096)));
    say("beyond the end", e(readahead(fd, 1 << 20, 4096)));
    say("pipe", e(readahead(p[0], 0, 10)));
    say("write-only", e(readahead(wo, 0, 10)));
    say("bad fd", e(readahead(99, 0, 10)));
    say("dir", e(readahead(dir, 0, 10)));
    end();
    say("fdatasync", e(fdatasync(fd)));
    say("fsync", e(fsync(fd)));
    say("bad fd", e(fdatasync(99)));
    end();
    close(dir);
    close(wo);
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void ranges(void)
{
    int base = open("v", O_RDONLY);
    for (int i = 0; i < 5; i++)
        dup2(base, 20 + i);
    say("close_range 21..22", e(syscall(SYS_close_range, 21, 22, 0)));
    for (int i = 20; i < 25; i++)
        say("open", fcntl(i, F_GETFD) >= 0);
    end();
    say("cloexec 23..~0", e(syscall(SYS_close_range, 23, ~0u, 4)));
    say("flags", fcntl(23, F_GETFD));
    say("flags", fcntl(24, F_GETFD));
    say("unshare", e(syscall(SYS_close_range, 24, 24, 2)));
    say("still open", fcntl(24, F_GETFD) >= 0);
    end();
    say("errors: first > last", e(syscall(SYS_close_range, 5, 4, 0)));
    say("flags", e(syscall(SYS_close_range, 4, 5, 1)));
    say("empty range", e(syscall(SYS_close_range, 900, 1000, 0)));
    end();
    syscall(SYS_close_range, 20, 30, 0);
    close(base);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "fsvec");
    vectors();
    flags();
    sync_and_readahead();
    ranges();
    unlink("v");
    cleaned(dir);
    return 0;
}

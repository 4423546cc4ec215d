/* O_PATH descriptors: what takes one (fstat, fstatfs, fchdir, dup, fcntl's descriptor
 * commands, a lookup's dirfd, an empty path with AT_EMPTY_PATH, close) and what refuses it
 * with EBADF as Linux's fdget does (read, write, their vectored and positional forms, lseek,
 * getdents64, ioctl, fsync, fchmod, fchown, ftruncate, mmap, flock, epoll_ctl, ...). An
 * O_PATH open opens nothing: not a FIFO (no waiting for a writer), not a symlink with
 * O_NOFOLLOW (the descriptor names the link). argv[1]: a directory to work in. Raw syscalls
 * (plain C), so that it also builds for this machine and runs on its Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static long e(long r)
{
    return r < 0 ? -errno : r;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    if (chdir(dir))
        return 1;
    mkdir("op", 0755);
    int fd = open("op/file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, "hello", 5);
    close(fd);
    symlink("file", "op/link");
    mkfifo("op/fifo", 0644);

    int p = e(open("op/file", O_PATH | O_RDWR | O_TRUNC | O_APPEND));
    char buf[8] = {0};
    struct iovec iv = {buf, sizeof buf};
    printf("open O_PATH: %d; F_GETFL O_PATH %d, access %ld\n", p >= 0,
           !!(fcntl(p, F_GETFL) & O_PATH), (long)(fcntl(p, F_GETFL) & O_ACCMODE));
    long r1 = e(read(p, buf, 4)), r2 = e(readv(p, &iv, 0)), r3 = e(pread(p, buf, 4, 0));
    long w1 = e(write(p, "x", 1)), w2 = e(writev(p, &iv, 0)), w3 = e(pwrite(p, "x", 1, 0));
    printf("read %ld readv %ld pread %ld; write %ld writev %ld pwrite %ld\n", r1, r2, r3, w1,
           w2, w3);
    long l = e(lseek(p, 0, SEEK_SET)), g = e(syscall(SYS_getdents64, p, buf, sizeof buf));
    long i = e(ioctl(p, FIONREAD, buf)), s = e(fsync(p)), m = e(fchmod(p, 0600));
    long o = e(fchown(p, 0, 0)), t = e(ftruncate(p, 0)), f = e(flock(p, LOCK_SH));
    void *map = mmap(0, 4096, PROT_READ, MAP_PRIVATE, p, 0);
    long mm = map == MAP_FAILED ? -errno : 0;
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    long c = e(epoll_ctl(ep, EPOLL_CTL_ADD, p, &ev));
    printf("lseek %ld getdents64 %ld ioctl %ld fsync %ld fchmod %ld fchown %ld\n"
           "ftruncate %ld flock %ld mmap %ld epoll_ctl %ld\n",
           l, g, i, s, m, o, t, f, mm, c);
    struct stat st = {0};
    struct statfs sf;
    long fs = e(fstat(p, &st)), ff = e(fstatfs(p, &sf));
    long fa = e(fstatat(p, "", &st, AT_EMPTY_PATH));
    int d = e(dup(p)), d3 = e(dup3(p, 40, O_CLOEXEC)), fd2 = e(fcntl(p, F_DUPFD, 50));
    long fl = e(fcntl(p, F_SETFL, O_NONBLOCK)), gd = e(fcntl(p, F_GETFD));
    long lk = e(fcntl(p, F_GETLK, buf));
    printf("fstat %ld size %ld fstatfs %ld fstatat empty %ld; dup %d dup3 %d F_DUPFD %d "
           "F_SETFL %ld F_GETFD %ld F_GETLK %ld\n",
           fs, (long)st.st_size, ff, fa, d >= 0, d3, fd2, fl, gd, lk);
    long fc = e(fchownat(p, "", 0, 0, AT_EMPTY_PATH)), cl = e(close(d));
    printf("fchownat empty %ld close %ld; the file was not truncated: %ld bytes\n", fc, cl,
           (long)(stat("op/file", &st) == 0 ? st.st_size : -1));

    int dp = e(open("op", O_PATH | O_DIRECTORY));
    long at = e(faccessat(dp, "file", R_OK, 0)), ch = e(fchdir(dp));
    long here = e(access("file", F_OK)), back = e(chdir(".."));
    long dr = e(read(dp, buf, 1)), dg = e(syscall(SYS_getdents64, dp, buf, sizeof buf));
    printf("O_PATH dir: faccessat %ld fchdir %ld file there %ld back %ld; read %ld getdents64 "
           "%ld\n",
           at, ch, here, back, dr, dg);

    int lp = e(open("op/link", O_PATH | O_NOFOLLOW));
    long lst = e(fstat(lp, &st));
    int is_link = S_ISLNK(st.st_mode);
    long rl = e(readlinkat(lp, "", buf, sizeof buf));
    int lnotdir = e(open("op/link", O_PATH | O_NOFOLLOW | O_DIRECTORY));
    long lookup = e(openat(lp, "x", O_RDONLY));
    printf("O_PATH|O_NOFOLLOW link: %d fstat %ld a link %d readlinkat empty %ld \"%.4s\";\n"
           "the link: O_DIRECTORY %d; as a dirfd %ld\n",
           lp >= 0, lst, is_link, rl, buf, lnotdir, lookup);
    long rf = e(readlinkat(p, "", buf, sizeof buf)), rc = e(readlinkat(AT_FDCWD, "", buf, 8));
    long rb = e(readlinkat(99, "", buf, sizeof buf));
    printf("readlinkat empty: a file %ld the cwd %ld a bad fd %ld\n", rf, rc, rb);

    int fp = e(open("op/fifo", O_PATH));
    printf("O_PATH fifo: %d (no wait); write %ld\n", fp >= 0, e(write(fp, "x", 1)));
    int missing = e(open("op/none", O_PATH | O_CREAT, 0644));
    printf("O_PATH|O_CREAT of a missing file %d\n", missing);
    unlink("op/file");
    unlink("op/link");
    unlink("op/fifo");
    printf("cleaned %ld\n", e(rmdir("op")));
    return 0;
}

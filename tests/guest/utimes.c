/* utimensat and futimens as Linux answers them: times given, UTIME_OMIT, UTIME_NOW (a time
 * after the one given), on a symlink itself, through a descriptor; the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

static void show(const char *what, const char *p, int flags)
{
    struct stat st;
    fstatat(AT_FDCWD, p, &st, flags);
    printf("%s: atime %ld.%09ld mtime %ld.%09ld\n", what, (long)st.st_atim.tv_sec,
           st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int main(void)
{
    int fd = open("/tmp/u.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    struct timespec t[2] = {{1000000000, 123}, {1100000000, 456}};
    printf("set %d\n", e(utimensat(AT_FDCWD, "/tmp/u.txt", t, 0)));
    show("given", "/tmp/u.txt", 0);
    struct timespec o[2] = {{5, UTIME_OMIT}, {1200000000, 789}};
    printf("omit atime %d\n", e(utimensat(AT_FDCWD, "/tmp/u.txt", o, 0)));
    show("omitted", "/tmp/u.txt", 0);
    struct timespec n[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    printf("now %d\n", e(futimens(fd, n)));
    struct stat st;
    fstat(fd, &st);
    printf("atime now is later %d mtime kept %ld\n", st.st_atim.tv_sec > 1200000000,
           (long)st.st_mtim.tv_sec);
    symlink("/tmp/u.txt", "/tmp/u.sym");
    struct timespec l[2] = {{1300000000, 0}, {1300000000, 1}};
    printf("on the link %d\n", e(utimensat(AT_FDCWD, "/tmp/u.sym", l, AT_SYMLINK_NOFOLLOW)));
    show("link", "/tmp/u.sym", AT_SYMLINK_NOFOLLOW);
    stat("/tmp/u.txt", &st);
    printf("its target: atime after 2020 %d mtime %ld\n", st.st_atim.tv_sec > 1577836800,
           (long)st.st_mtim.tv_sec);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    printf("bad nsec %d missing %d bad flags %d bad fd %d\n",
           e(utimensat(AT_FDCWD, "/tmp/u.txt", bad, 0)), e(utimensat(AT_FDCWD, "/tmp/nope", t, 0)),
           e(utimensat(AT_FDCWD, "/tmp/u.txt", t, 0x2)), e(futimens(99, t)));
    close(fd);
    unlink("/tmp/u.sym");
    unlink("/tmp/u.txt");
    return 0;
}

/* symlinkat and linkat as Linux answers them: a symlink read back and followed, a hard link
 * sharing the file's bytes and counting its names (st_nlink), the file living on after one
 * name goes, and the errors (EEXIST, ENOENT, EPERM for a directory, EINVAL for bad flags). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

static long nlink(const char *p)
{
    struct stat st;
    return lstat(p, &st) ? -errno : (long)st.st_nlink;
}

int main(void)
{
    int fd = open("/tmp/l.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (write(fd, "hello", 5) != 5)
        return 1;
    close(fd);
    printf("symlink %d again %d empty %d\n", e(symlink("/tmp/l.txt", "/tmp/l.sym")),
           e(symlink("/tmp/l.txt", "/tmp/l.sym")), e(symlink("", "/tmp/l.empty")));
    char buf[64] = {0};
    printf("readlink %d %s\n", e(readlink("/tmp/l.sym", buf, sizeof buf)), buf);
    char got[8] = {0};
    fd = open("/tmp/l.sym", O_RDONLY);
    printf("through the symlink %d %s\n", e(read(fd, got, 5)), got);
    close(fd);
    printf("link %d nlink %ld %ld\n", e(link("/tmp/l.txt", "/tmp/l.hard")), nlink("/tmp/l.txt"),
           nlink("/tmp/l.hard"));
    printf("link again %d missing %d dir %d flags %d\n", e(link("/tmp/l.txt", "/tmp/l.hard")),
           e(link("/tmp/nope", "/tmp/l.x")), e(link("/tmp", "/tmp/l.dir")),
           e(linkat(AT_FDCWD, "/tmp/l.txt", AT_FDCWD, "/tmp/l.y", 0x1)));
    printf("link to the symlink itself %d nlink %ld\n",
           e(linkat(AT_FDCWD, "/tmp/l.sym", AT_FDCWD, "/tmp/l.sym2", 0)), nlink("/tmp/l.sym"));
    printf("unlink %d nlink %ld\n", e(unlink("/tmp/l.txt")), nlink("/tmp/l.hard"));
    memset(got, 0, sizeof got);
    fd = open("/tmp/l.hard", O_RDONLY);
    printf("the other name %d %s dangling %d\n", e(read(fd, got, 5)), got,
           e(open("/tmp/l.sym", O_RDONLY)));
    close(fd);
    unlink("/tmp/l.hard");
    unlink("/tmp/l.sym");
    unlink("/tmp/l.sym2");
    return 0;
}

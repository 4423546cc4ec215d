/* statfs and fstatfs, fallocate, fchown and fchownat, fchmodat2 as Linux answers them on a
 * tmpfs, in a fresh directory under argv[1] (default /tmp): the facts that hold for any tmpfs
 * (its type, block size, name length, a write using blocks), the modes
 * fallocate takes and refuses, ownership reported by stat and statx and the set-id bits a
 * chown clears, and the errors of each call in Linux's order. fchmodat2's lines come last:
 * qemu-aarch64 does not know the call (Linux 6.6), so they are checked apart. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fsguest.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static long size_of(int fd)
{
    struct stat st;
    return fstat(fd, &st) ? -errno : (long)st.st_size;
}

static void owner(const char *label, const char *path, int flags)
{
    struct stat st;
    struct statx sx;
    if (fstatat(AT_FDCWD, path, &st, flags) || statx(AT_FDCWD, path, flags, STATX_BASIC_STATS, &sx))
        printf("%s: stat %d\n", label, -errno);
    else
        printf("%s: uid %u gid %u statx %u %u mode %04o\n", label, st.st_uid, st.st_gid,
               sx.stx_uid, sx.stx_gid, st.st_mode & 07777);
}

static void statfs_facts(void)
{
    struct statfs a, b, c;
    int fd = open("big", O_RDWR | O_CREAT, 0600);
    if (statfs(".", &a) || fstatfs(fd, &b))
        return;
    printf("statfs: tmpfs %d bsize %ld frsize %ld namelen %ld rdonly %ld\n",
           a.f_type == TMPFS_MAGIC, (long)a.f_bsize, (long)a.f_frsize, (long)a.f_namelen,
           (long)(a.f_flags & ST_RDONLY));
    printf("statfs: blocks %d free <= blocks %d avail == free %d files %d ffree <= files %d\n",
           a.f_blocks > 0, a.f_bfree <= a.f_blocks, a.f_bavail == a.f_bfree, a.f_files > 0,
           a.f_ffree <= a.f_files);
    printf("fstatfs same type %d bsize %d\n", b.f_type == a.f_type, b.f_bsize == a.f_bsize);
    static char page[4096];
    for (int i = 0; i < 64; i++)
        if (write(fd, page, sizeof page) != sizeof page)
            return;
    statfs(".", &c);
    printf("a 256 KiB write uses blocks %d\n", a.f_bfree - c.f_bfree >= 64);
    close(fd);
    unlink("big");
    int pipes[2];
    pipe(pipes);
    fstatfs(pipes[0], &c);
    printf("pipe: pipefs %d\n", c.f_type == PIPEFS_MAGIC);
    close(pipes[0]);
    close(pipes[1]);
    statfs("/proc", &c);
    printf("proc: %d\n", c.f_type == PROC_SUPER_MAGIC);
    say("statfs errors: missing", e(statfs("nope", &c)));
    say("bad fd", e(fstatfs(99, &c)));
    say("bad buf", e(syscall(SYS_statfs, ".", (void *)8)));
    end();
}

static void fallocate_facts(void)
{
    int fd = open("f", O_RDWR | O_CREAT, 0600);
    say("fallocate 0:", e(fallocate(fd, 0, 0, 10000)));
    say("size", size_of(fd));
    say("keep size:", e(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 50000)));
    say("size", size_of(fd));
    say("within:", e(fallocate(fd, 0, 100, 200)));
    say("size", size_of(fd));
    end();
    pwrite(fd, "abcdefghij", 10, 4090);
    printf("punch: %d size %ld\n",
           e(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4092, 4)), size_of(fd));
    char got[11] = {0};
    pread(fd, got, 10, 4090);
    for (int i = 0; i < 10; i++)
        got[i] = got[i] ? got[i] : '.';
    printf("punched bytes %s\n", got);
    printf("punch without keep %d zero range %d collapse %d insert %d unknown %d\n",
           e(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10)),
           e(fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10)),
           e(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096)),
           e(fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 4096)), e(fallocate(fd, 0x100, 0, 10)));
    printf("bad: offset %d len %d overflow %d fd %d\n", e(fallocate(fd, 0, -1, 10)),
           e(fallocate(fd, 0, 0, 0)), e(fallocate(fd, 0, 0x7fffffffffffff00, 0x1000)),
           e(fallocate(99, 0, 0, 10)));
    int ro = open("f", O_RDONLY);
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    int pipes[2];
    pipe(pipes);
    int null = open("/dev/null", O_WRONLY);
    printf("read-only %d dir %d pipe %d %d device %d\n", e(fallocate(ro, 0, 0, 10)),
           e(fallocate(dir, 0, 0, 10)), e(fallocate(pipes[1], 0, 0, 10)),
           e(fallocate(pipes[0], 0, 0, 10)), e(fallocate(null, 0, 0, 10)));
    close(ro);
    close(dir);
    close(pipes[0]);
    close(pipes[1]);
    close(null);
    close(fd);
}

static void chown_facts(void)
{
    int fd = open("o", O_RDWR | O_CREAT, 0644);
    owner("new file", "o", 0);
    printf("fchown %d\n", e(fchown(fd, 1000, 2000)));
    owner("after fchown", "o", 0);
    printf("fchown -1 3000 %d\n", e(fchown(fd, -1, 3000)));
    owner("group only", "o", 0);
    fchmod(fd, 06755);
    printf("chown of a set-id file %d\n", e(fchownat(AT_FDCWD, "o", 5, -1, 0)));
    owner("set-id bits", "o", 0);
    fchmod(fd, 02644);
    printf("sgid without group exec %d\n", e(fchown(fd, 6, 6)));
    owner("kept", "o", 0);
    symlink("o", "o.link");
    printf("lchown %d\n", e(fchownat(AT_FDCWD, "o.link", 7, 8, AT_SYMLINK_NOFOLLOW)));
    owner("link", "o.link", AT_SYMLINK_NOFOLLOW);
    owner("its target", "o", 0);
    printf("empty path %d\n", e(fchownat(fd, "", 9, 9, AT_EMPTY_PATH)));
    owner("by descriptor", "o", 0);
    printf("errors: flags %d missing %d bad fd %d empty %d\n",
           e(fchownat(AT_FDCWD, "o", 1, 1, 0x1)), e(fchownat(AT_FDCWD, "nope", 1, 1, 0)),
           e(fchown(99, 1, 1)), e(fchownat(AT_FDCWD, "", 1, 1, 0)));
    chmod(".", 0777);
    fflush(stdout);
    if (fork() == 0) {
        setgid(100);
        setuid(100);
        printf("unprivileged: chown %d\n", e(fchown(fd, 100, -1)));
        int mine = open("mine", O_RDWR | O_CREAT, 0644);
        owner("its own file", "mine", 0);
        printf("give away %d keep %d other group %d\n", e(fchown(mine, 0, -1)),
               e(fchown(mine, 100, 100)), e(fchown(mine, -1, 0)));
        close(mine);
        exit(0);
    }
    wait(NULL);
    unlink("mine");
    unlink("o.link");
    close(fd);
}

static void fchmodat2_facts(void)
{
    int fd = open("m", O_RDWR | O_CREAT, 0600);
    symlink("m", "m.link");
    printf("fchmodat2 %d", e(syscall(SYS_fchmodat2, AT_FDCWD, "m.link", 0640, 0)));
    owner(" follows", "m", 0);
    printf("symlink itself %d flags %d empty path %d\n",
           e(syscall(SYS_fchmodat2, AT_FDCWD, "m.link", 0600, AT_SYMLINK_NOFOLLOW)),
           e(syscall(SYS_fchmodat2, AT_FDCWD, "m", 0600, 0x1)),
           e(syscall(SYS_fchmodat2, fd, "", 0604, AT_EMPTY_PATH)));
    owner("by descriptor", "m", 0);
    printf("regular with nofollow %d missing %d\n",
           e(syscall(SYS_fchmodat2, AT_FDCWD, "m", 0600, AT_SYMLINK_NOFOLLOW)),
           e(syscall(SYS_fchmodat2, AT_FDCWD, "nope", 0600, 0)));
    close(fd);
    unlink("m.link");
    unlink("m");
}

int main(int argc, char **argv)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/fsattrs.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(dir) || chdir(dir))
        return 1;
    statfs_facts();
    fallocate_facts();
    chown_facts();
    unlink("f");
    unlink("o");
    fchmodat2_facts();
    chdir("/");
    printf("cleaned %d\n", e(rmdir(dir)));
    return 0;
}

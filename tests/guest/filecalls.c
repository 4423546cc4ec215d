/* File calls as Linux answers them: umask (and the modes it leaves on new files and
 * directories, inherited by a child), fchmod and fchmodat, truncate, faccessat2, fadvise64,
 * sync, syncfs and their errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

static unsigned mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) ? 0 : st.st_mode & 07777;
}

static long size_of(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
    printf("umask old %#o\n", umask(027));
    printf("umask now %#o\n", umask(027));
    int fd = open("/tmp/fc.txt", O_RDWR | O_CREAT | O_TRUNC, 0666);
    mkdir("/tmp/fc.dir", 0777);
    printf("created file %#o dir %#o\n", mode_of("/tmp/fc.txt"), mode_of("/tmp/fc.dir"));
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child umask %#o\n", umask(0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("fchmod %d -> %#o\n", e(fchmod(fd, 0604)), mode_of("/tmp/fc.txt"));
    printf("fchmodat %d -> %#o\n", e(fchmodat(AT_FDCWD, "/tmp/fc.txt", 04755, 0)),
           mode_of("/tmp/fc.txt"));
    printf("fchmod bad fd %d\n", e(fchmod(99, 0600)));
    printf("fchmodat missing %d\n", e(fchmodat(AT_FDCWD, "/tmp/nope", 0600, 0)));
    printf("truncate %d size %ld\n", e(truncate("/tmp/fc.txt", 5000)), size_of("/tmp/fc.txt"));
    printf("truncate down %d size %ld\n", e(truncate("/tmp/fc.txt", 10)), size_of("/tmp/fc.txt"));
    printf("truncate dir %d negative %d missing %d\n", e(truncate("/tmp/fc.dir", 0)),
           e(truncate("/tmp/fc.txt", -1)), e(truncate("/tmp/nope", 0)));
    printf("faccessat2 %d %d bad flags %d\n",
           e(syscall(SYS_faccessat2, AT_FDCWD, "/tmp/fc.txt", R_OK | W_OK, AT_EACCESS)),
           e(syscall(SYS_faccessat2, AT_FDCWD, "/tmp/nope", F_OK, 0)),
           e(syscall(SYS_faccessat2, AT_FDCWD, "/tmp/fc.txt", F_OK, 0x4)));
    int p[2];
    if (pipe(p))
        return 1;
    printf("fadvise %d pipe %d bad fd %d bad advice %d\n",
           posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL), posix_fadvise(p[0], 0, 0, 0),
           posix_fadvise(99, 0, 0, 0), posix_fadvise(fd, 0, 0, 77));
    sync();
    printf("syncfs %d bad fd %d\n", e(syncfs(fd)), e(syncfs(99)));
    close(fd);
    unlink("/tmp/fc.txt");
    rmdir("/tmp/fc.dir");
    return 0;
}

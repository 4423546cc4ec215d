/* memfd_create as Linux answers it: an anonymous regular file, written and read through its
 * descriptor and through a shared mapping, resized, inherited by a child, close-on-exec on
 * request; its errors (unknown flags, a name too long). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int fd = memfd_create("hmk-test", MFD_CLOEXEC);
    printf("memfd %s cloexec %d\n", fd >= 3 ? "ok" : "failed", fcntl(fd, F_GETFD) & FD_CLOEXEC);
    printf("write %zd\n", write(fd, "hello memfd", 11));
    char buf[16] = {0};
    printf("pread %zd %s\n", pread(fd, buf, 11, 0), buf);
    printf("ftruncate %d\n", ftruncate(fd, 8192));
    struct stat st;
    fstat(fd, &st);
    printf("fstat reg %d size %ld mode %#o\n", S_ISREG(st.st_mode), (long)st.st_size,
           st.st_mode & 0777);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(m + 4096, "mapped", 6);
    memset(buf, 0, sizeof buf);
    printf("through the mapping %zd %s first %c\n", pread(fd, buf, 6, 4096), buf, m[0]);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char b[8] = {0};
        printf("child reads %zd %s\n", pread(fd, b, 5, 0), b);
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    printf("bad flags %d long name %d\n", memfd_create("x", 0x100) < 0 ? -errno : 0,
           memfd_create(longname, 0) < 0 ? -errno : 0);
    int plain = memfd_create("plain", 0);
    printf("plain cloexec %d\n", fcntl(plain, F_GETFD) & FD_CLOEXEC);
    munmap(m, 8192);
    close(fd);
    close(plain);
    return 0;
}

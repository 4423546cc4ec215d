/* fsx [N]: a file-system exerciser. In a fresh directory under /tmp it creates, writes (N
 * times, default 3, at most 100), reads,
 * renames, lists, stats, truncates, maps and unlinks files and directories, uses dup, fcntl,
 * a pipe and /dev/null and /dev/zero, and prints each step's result (an errno's name when a
 * call fails, as every one of the failing steps is meant to); then it removes everything it
 * made. Takes no arguments. The output names nothing that differs between runs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *errname(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";
    default: return "other";
    }
}

static long check(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
    return r;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[N]");
    uint64_t writes = arg_u64(argc, argv, 1, "N", 3, 1, 100);
    char dir[] = "/tmp/fsxXXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    check("chdir", chdir(dir));
    char cwd[256];
    printf("getcwd matches: %d\n", getcwd(cwd, sizeof cwd) && !strcmp(cwd, dir));

    int fd = (int)check("open a", open("a", O_CREAT | O_WRONLY | O_TRUNC, 0644));
    for (uint64_t i = 0; i < writes; i++)
        check("write", write(fd, "hello fsx\n", 10));
    check("close", close(fd));
    check("close again", close(fd));
    struct stat st;
    check("stat a", stat("a", &st));
    printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));

    char buf[64] = {0};
    fd = (int)check("open a rw", open("a", O_RDWR));
    check("lseek", lseek(fd, 6, SEEK_SET));
    check("read", read(fd, buf, 3));
    printf("read '%s'\n", buf);
    check("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    check("pread", pread(fd, buf, 10, 0));
    printf("pread '%.9s'\n", buf);
    check("ftruncate", ftruncate(fd, 4));
    check("fstat", fstat(fd, &st));
    printf("size %lld\n", (long long)st.st_size);
    check("lseek end", lseek(fd, 0, SEEK_END));
    check("close", close(fd));
    check("open excl", open("a", O_CREAT | O_EXCL | O_WRONLY, 0644));
    check("open missing", open("nope", O_RDONLY));

    check("rename a b", rename("a", "b"));
    check("stat a", stat("a", &st));
    check("mkdir d", mkdir("d", 0755));
    check("mkdir d again", mkdir("d", 0755));
    fd = (int)check("open d/x", open("d/x", O_CREAT | O_WRONLY, 0644));
    check("write", write(fd, "x", 1));
    check("close", close(fd));
    check("rmdir d", rmdir("d"));
    check("unlink d", unlink("d"));
    check("open d/x/y", open("d/x/y", O_RDONLY));
    check("open d for writing", open("d", O_WRONLY));
    check("rename d into itself", rename("d", "d/e"));

    DIR *dp = opendir(".");
    char *names[16];
    int n = 0;
    for (struct dirent *e; (e = readdir(dp)) && n < 16;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(dp);
    qsort(names, n, sizeof names[0], by_name);
    printf("list:");
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");

    fd = (int)check("open b", open("b", O_RDONLY | O_CLOEXEC));
    char *map = mmap(NULL, 4, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("mmap b: %.4s\n", map == MAP_FAILED ? "fail" : map);
    check("munmap", munmap(map, 4));
    check("F_GETFD", fcntl(fd, F_GETFD));
    int fd2 = (int)check("dup", dup(fd));
    check("F_GETFD of dup", fcntl(fd2, F_GETFD));
    check("dup2 to 9", dup2(fd, 9));
    check("close 9", close(9));
    check("close", close(fd2));
    check("close", close(fd));

    int p[2];
    check("pipe", pipe(p));
    check("write pipe", write(p[1], "ping", 4));
    memset(buf, 0, sizeof buf);
    check("read pipe", read(p[0], buf, sizeof buf));
    printf("pipe '%s'\n", buf);
    check("lseek pipe", lseek(p[0], 0, SEEK_SET));
    check("close write end", close(p[1]));
    check("read at eof", read(p[0], buf, sizeof buf));
    check("close", close(p[0]));

    fd = (int)check("open /dev/null", open("/dev/null", O_WRONLY));
    check("write null", write(fd, "gone", 4));
    check("close", close(fd));
    fd = (int)check("open /dev/zero", open("/dev/zero", O_RDONLY));
    memset(buf, 7, 8);
    check("read zero", read(fd, buf, 8));
    printf("zeros: %d\n", buf[0] == 0 && buf[7] == 0);
    check("close", close(fd));

    check("access b", access("b", R_OK));
    check("access nope", access("nope", F_OK));
    check("unlink d/x", unlink("d/x"));
    check("rmdir d", rmdir("d"));
    check("unlink b", unlink("b"));
    check("chdir /", chdir("/"));
    check("rmdir dir", rmdir(dir));
    printf("done\n");
    return 0;
}

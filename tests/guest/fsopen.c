/* openat2 as Linux answers it: struct open_how's sizes and fields checked, and its RESOLVE_*
 * rules on a small tree of files and symbolic links (relative, absolute, climbing out, procfs's
 * magic link); and openat's O_CREAT | O_DIRECTORY refused (Linux 6.4). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fsguest.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
/* linux/openat2.h's, which older C libraries' headers lack */
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

struct how {
    uint64_t flags, mode, resolve, extra;
};

static int sub;

static int open2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct how how = {flags, mode, resolve, 0};
    int fd = e(syscall(SYS_openat2, dirfd, path, &how, 24));
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? 0 : fd;
}

static void sizes(void)
{
    struct how how = {O_RDONLY, 0, 0, 0};
    say("openat2", open2(sub, "file", O_RDONLY, 0, 0));
    say("size 23", e(syscall(SYS_openat2, sub, "file", &how, 23)));
    say("32 zero tail", e(syscall(SYS_openat2, sub, "file", &how, 32)) >= 0);
    how.extra = 1;
    say("32 tail set", e(syscall(SYS_openat2, sub, "file", &how, 32)));
    say("4097", e(syscall(SYS_openat2, sub, "file", &how, 4097)));
    say("bad pointer", e(syscall(SYS_openat2, sub, "file", (void *)8, 24)));
    end();
    say("fields: unknown flag", open2(sub, "file", 1ull << 40, 0, 0));
    say("mode without O_CREAT", open2(sub, "file", O_RDONLY, 0600, 0));
    say("bad mode", open2(sub, "new", O_CREAT | O_WRONLY, 010000, 0));
    say("O_CREAT|O_DIRECTORY", open2(sub, "new", O_CREAT | O_DIRECTORY, 0600, 0));
    end();
    say("unknown resolve", open2(sub, "file", O_RDONLY, 0, 0x40));
    say("beneath and in root", open2(sub, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
    say("O_PATH|O_RDWR", open2(sub, "file", O_PATH | O_RDWR, 0, 0));
    say("cached create", open2(sub, "new", O_CREAT | O_WRONLY, 0600, RESOLVE_CACHED));
    say("cached", open2(sub, "file", O_RDONLY, 0, RESOLVE_CACHED));
    end();
    say("create", open2(sub, "new", O_CREAT | O_WRONLY, 0640, 0));
    struct stat st = {0};
    fstatat(sub, "new", &st, 0);
    say("mode", st.st_mode & 0777);
    say("openat O_CREAT|O_DIRECTORY", e(openat(sub, "new2", O_CREAT | O_DIRECTORY, 0600)));
    say("made", e(fstatat(sub, "new2", &st, 0)));
    end();
}

static void resolve(void)
{
    say("no symlinks: file", open2(sub, "file", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    say("link", open2(sub, "link", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    say("through a dir link", open2(AT_FDCWD, "dirlink/file", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    say("nofollow link", open2(sub, "link", O_RDONLY | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS));
    end();
    say("beneath: file", open2(sub, "file", O_RDONLY, 0, RESOLVE_BENEATH));
    say("link", open2(sub, "link", O_RDONLY, 0, RESOLVE_BENEATH));
    say("up and back", open2(sub, "../sub/file", O_RDONLY, 0, RESOLVE_BENEATH));
    say("absolute", open2(sub, "/etc/passwd", O_RDONLY, 0, RESOLVE_BENEATH));
    say("absolute link", open2(sub, "abs", O_RDONLY, 0, RESOLVE_BENEATH));
    end();
    say("link up", open2(sub, "up", O_RDONLY, 0, RESOLVE_BENEATH));
    say("down and up", open2(sub, "d/../file", O_RDONLY, 0, RESOLVE_BENEATH));
    end();
    say("in root: /file", open2(sub, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    say("../../file", open2(sub, "../../file", O_RDONLY, 0, RESOLVE_IN_ROOT));
    say("absolute link", open2(sub, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT));
    say("link up", open2(sub, "up", O_RDONLY, 0, RESOLVE_IN_ROOT));
    end();
    say("magic link", open2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, 0));
    say("no magic links", open2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS));
    say("no symlinks", open2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_SYMLINKS));
    say("beneath /proc", open2(open("/proc", O_RDONLY), "self/exe", O_RDONLY, 0, RESOLVE_BENEATH));
    end();
    say("no xdev: file", open2(sub, "file", O_RDONLY, 0, RESOLVE_NO_XDEV));
    say("out of the mount", open2(sub, "../../..", O_RDONLY, 0, RESOLVE_NO_XDEV));
    say("into /proc", open2(sub, "/proc/self", O_RDONLY, 0, RESOLVE_NO_XDEV));
    say("plain", open2(sub, "../../..", O_RDONLY, 0, 0));
    end();
    say("errors: missing", open2(sub, "nope", O_RDONLY, 0, 0));
    say("bad dirfd", open2(99, "file", O_RDONLY, 0, 0));
    say("not a dir", open2(sub, "file/x", O_RDONLY, 0, 0));
    end();
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "fsopen");
    mkdir("sub", 0755);
    mkdir("sub/d", 0755);
    close(open("sub/file", O_CREAT | O_WRONLY, 0600));
    symlink("file", "sub/link");
    symlink("/etc/passwd", "sub/abs");
    symlink("../sub/file", "sub/up");
    symlink("sub", "dirlink");
    sub = open("sub", O_RDONLY | O_DIRECTORY);
    sizes();
    resolve();
    close(sub);
    unlink("sub/new");
    rmdir("sub/new2");
    unlink("sub/file");
    unlink("sub/link");
    unlink("sub/abs");
    unlink("sub/up");
    unlink("dirlink");
    rmdir("sub/d");
    rmdir("sub");
    cleaned(dir);
    return 0;
}

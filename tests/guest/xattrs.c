/* The extended-attribute calls (set, get, list and remove; by path, by path without following a
 * symbolic link, by descriptor) as Linux answers them on a tmpfs: the user and trusted
 * namespaces, XATTR_CREATE and XATTR_REPLACE, sizes (ERANGE, E2BIG), names (ERANGE, EINVAL,
 * EOPNOTSUPP), which kinds of file take user.* (EPERM, ENODATA), what an unprivileged process
 * may do with trusted.*, and file systems that keep none (procfs, pipes). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "fsguest.h"

static char value[70000];

/* the names listxattr gives, comma-separated */
static void names(const char *label, long n, const char *list)
{
    say(label, n);
    printf(" [");
    for (long i = 0; i < n; i += strlen(list + i) + 1)
        printf("%s%s", i ? "," : "", list + i);
    printf("]");
}

static void basics(void)
{
    char got[64] = {0};
    say("set", e(setxattr("f", "user.a", "one", 3, 0)));
    say("size", e(getxattr("f", "user.a", NULL, 0)));
    say("get", e(getxattr("f", "user.a", got, sizeof got)));
    says("value", got);
    say("small buffer", e(getxattr("f", "user.a", got, 2)));
    say("missing", e(getxattr("f", "user.b", got, sizeof got)));
    end();
    say("create existing", e(setxattr("f", "user.a", "x", 1, XATTR_CREATE)));
    say("replace missing", e(setxattr("f", "user.b", "x", 1, XATTR_REPLACE)));
    say("both, missing", e(setxattr("f", "user.b", "x", 1, XATTR_CREATE | XATTR_REPLACE)));
    say("both, existing", e(setxattr("f", "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE)));
    say("bad flags", e(setxattr("f", "user.a", "x", 1, 4)));
    end();
    say("replace", e(setxattr("f", "user.a", "two", 3, XATTR_REPLACE)));
    say("create", e(setxattr("f", "user.b", "", 0, XATTR_CREATE)));
    say("empty value", e(getxattr("f", "user.b", got, sizeof got)));
    say("trusted", e(setxattr("f", "trusted.t", "T", 1, 0)));
    say("another", e(setxattr("f", "user.0", "z", 1, 0)));
    end();
    char list[256];
    names("list", e(listxattr("f", list, sizeof list)), list);
    say("size", e(listxattr("f", NULL, 0)));
    say("small", e(listxattr("f", list, 5)));
    end();
    say("64 KiB", e(setxattr("f", "user.big", value, 65536, 0)));
    say("read back", e(getxattr("f", "user.big", value, sizeof value)));
    say("one more", e(setxattr("f", "user.big", value, 65537, 0)));
    say("removed", e(removexattr("f", "user.big")));
    say("again", e(removexattr("f", "user.big")));
    end();
}

static void the_names(void)
{
    char name[300] = "user.";
    memset(name + 5, 'n', 250);
    say("names: 255 bytes", e(setxattr("f", name, "v", 1, 0)));
    say("removed", e(removexattr("f", name)));
    name[255] = 'n';
    say("256", e(setxattr("f", name, "v", 1, 0)));
    say("get 256", e(getxattr("f", name, NULL, 0)));
    say("empty", e(setxattr("f", "", "v", 1, 0)));
    say("prefix only", e(setxattr("f", "user.", "v", 1, 0)));
    end();
    say("unknown namespace", e(setxattr("f", "foo.bar", "v", 1, 0)));
    say("get", e(getxattr("f", "foo.bar", NULL, 0)));
    say("remove", e(removexattr("f", "foo.bar")));
    say("system", e(setxattr("f", "system.nope", "v", 1, 0)));
    end();
    say("errors: missing file", e(setxattr("nope", "user.a", "v", 1, 0)));
    say("bad name pointer", e(setxattr("f", (char *)8, "v", 1, 0)));
    say("bad value pointer", e(setxattr("f", "user.a", (char *)8, 1, 0)));
    end();
    say("bad list pointer", e(listxattr("f", (char *)8, 100)));
    say("bad fd", e(fgetxattr(99, "user.a", NULL, 0)));
    say("bad fd, bad flags", e(fsetxattr(99, "user.a", "v", 1, 8)));
    end();
}

static void kinds(void)
{
    char got[64] = {0}, list[256];
    symlink("f", "l");
    mkfifo("p", 0600);
    mkdir("d", 0700);
    say("through a link", e(getxattr("l", "user.a", got, sizeof got)));
    say("the link itself", e(lgetxattr("l", "user.a", got, sizeof got)));
    say("user on a link", e(lsetxattr("l", "user.x", "v", 1, 0)));
    say("trusted on a link", e(lsetxattr("l", "trusted.x", "v", 1, 0)));
    end();
    names("its list", e(llistxattr("l", list, sizeof list)), list);
    say("remove user", e(lremovexattr("l", "user.x")));
    say("trusted", e(lremovexattr("l", "trusted.x")));
    end();
    say("fifo: user", e(setxattr("p", "user.x", "v", 1, 0)));
    say("get", e(getxattr("p", "user.x", got, sizeof got)));
    say("trusted", e(setxattr("p", "trusted.x", "v", 1, 0)));
    say("dir: user", e(setxattr("d", "user.x", "v", 1, 0)));
    names("list", e(listxattr("d", list, sizeof list)), list);
    end();
    int fd = open("f", O_RDWR), pipes[2];
    pipe(pipes);
    say("by descriptor: set", e(fsetxattr(fd, "user.fd", "F", 1, 0)));
    say("get", e(fgetxattr(fd, "user.fd", got, sizeof got)));
    say("list", e(flistxattr(fd, list, sizeof list)));
    say("remove", e(fremovexattr(fd, "user.fd")));
    say("again", e(fremovexattr(fd, "user.fd")));
    end();
    say("pipe: user", e(fsetxattr(pipes[1], "user.x", "v", 1, 0)));
    say("trusted", e(fsetxattr(pipes[1], "trusted.x", "v", 1, 0)));
    say("get", e(fgetxattr(pipes[0], "trusted.x", got, sizeof got)));
    say("list", e(flistxattr(pipes[0], list, sizeof list)));
    say("procfs get", e(getxattr("/proc/meminfo", "user.x", got, sizeof got)));
    end();
    close(pipes[0]);
    close(pipes[1]);
    close(fd);
}

static void unprivileged(void)
{
    chmod(".", 0755);
    chmod("f", 0666);
    if (fork() == 0) {
        char got[64], list[256];
        setuid(100);
        say("unprivileged: set trusted", e(setxattr("f", "trusted.u", "v", 1, 0)));
        say("get trusted", e(getxattr("f", "trusted.t", got, sizeof got)));
        say("remove trusted", e(removexattr("f", "trusted.t")));
        names("list", e(listxattr("f", list, sizeof list)), list);
        end();
        exit(0);
    }
    wait(NULL);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "xattrs");
    close(open("f", O_CREAT | O_WRONLY, 0644));
    basics();
    the_names();
    kinds();
    unprivileged();
    unlink("f");
    unlink("l");
    unlink("p");
    rmdir("d");
    cleaned(dir);
    return 0;
}

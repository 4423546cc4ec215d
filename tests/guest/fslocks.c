/* flock(2) and fcntl(2)'s record locks (POSIX and open file description ones) as Linux answers
 * them, in a fresh directory under argv[1] (default /tmp): conflicts between open files and
 * between processes (fork), conversions, ranges split and merged, F_GETLK's report, releases
 * at close and exit, blocking waits woken when the lock goes, EDEADLK, and the errors. The
 * processes take turns through pipes, so what they print comes in one order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "fsguest.h"

static int lk(int fd, int cmd, int type, long start, long len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return e(fcntl(fd, cmd, &fl));
}

/* F_GETLK's answer for [start, start + len) */
static void show(const char *who, int fd, int cmd, int type, long start, long len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    int r = e(fcntl(fd, cmd, &fl));
    if (r || fl.l_type == F_UNLCK)
        printf("%s: getlk %d type %d\n", who, r, fl.l_type);
    else
        printf("%s: getlk type %d start %ld len %ld pid %s\n", who, fl.l_type, (long)fl.l_start,
               (long)fl.l_len,
               fl.l_pid == -1 ? "-1" : fl.l_pid == getppid() ? "parent" : fl.l_pid == getpid() ? "self" : "other");
}

static int to_child[2], to_parent[2];
static void tell(int *p) { write(p[1], "x", 1); }
static void hear(int *p)
{
    char c;
    read(p[0], &c, 1);
}

static void flock_facts(void)
{
    int a = open("f", O_RDWR | O_CREAT, 0600), b = open("f", O_RDWR);
    say("flock ex", e(flock(a, LOCK_EX)));
    say("other nb", e(flock(b, LOCK_EX | LOCK_NB)));
    say("sh nb", e(flock(b, LOCK_SH | LOCK_NB)));
    end();
    int d = dup(a);
    say("same description", e(flock(d, LOCK_EX | LOCK_NB)));
    say("to shared", e(flock(a, LOCK_SH)));
    say("other shared", e(flock(b, LOCK_SH | LOCK_NB)));
    say("other ex", e(flock(b, LOCK_EX | LOCK_NB)));
    end();
    say("conversion that fails drops the lock", e(flock(a, LOCK_EX | LOCK_NB)));
    say("then other ex", e(flock(b, LOCK_EX | LOCK_NB)));
    end();
    say("unlock", e(flock(b, LOCK_UN)));
    say("and", e(flock(a, LOCK_UN)));
    say("again", e(flock(a, LOCK_UN)));
    end();
    flock(a, LOCK_EX);
    close(a);
    say("a dup keeps it:", e(flock(b, LOCK_EX | LOCK_NB)));
    close(d);
    say("last close releases:", e(flock(b, LOCK_EX | LOCK_NB)));
    end();
    flock(b, LOCK_UN);
    say("errors: 0", e(flock(b, 0)));
    say("sh|ex", e(flock(b, LOCK_SH | LOCK_EX)));
    say("nb", e(flock(b, LOCK_NB)));
    say("bad fd", e(flock(99, LOCK_SH)));
    say("mand", e(flock(b, 32)));
    end();
    /* across processes */
    flock(b, LOCK_EX);
    if (fork() == 0) {
        int c = open("f", O_RDWR);
        say("child: inherited", e(flock(b, LOCK_EX | LOCK_NB)));
        say("own file", e(flock(c, LOCK_SH | LOCK_NB)));
        end();
        tell(to_parent);
        hear(to_child);
        printf("child: waits\n");
        printf("child: got it %d\n", e(flock(c, LOCK_EX)));
        exit(0);
    }
    hear(to_parent);
    tell(to_child);
    usleep(100000);
    printf("parent: releases\n");
    flock(b, LOCK_UN);
    wait(NULL);
    printf("parent: after the child's exit %d\n", e(flock(b, LOCK_EX | LOCK_NB)));
    close(b);
}

static void posix_facts(void)
{
    int a = open("p", O_RDWR | O_CREAT, 0600), b = open("p", O_RDWR);
    write(a, "0123456789", 10);
    say("setlk", lk(a, F_SETLK, F_WRLCK, 0, 100));
    say("own overlap", lk(b, F_SETLK, F_WRLCK, 50, 10));
    say("unlock middle", lk(a, F_SETLK, F_UNLCK, 40, 20));
    end();
    show("self", a, F_GETLK, F_WRLCK, 0, 0);
    if (fork() == 0) {
        show("child whole", b, F_GETLK, F_WRLCK, 0, 0);
        show("child hole", b, F_GETLK, F_WRLCK, 40, 20);
        show("child right", b, F_GETLK, F_RDLCK, 55, 10);
        say("child: setlk", lk(b, F_SETLK, F_RDLCK, 0, 1));
        say("in the hole", lk(b, F_SETLK, F_RDLCK, 45, 5));
        say("to the end", lk(b, F_SETLK, F_WRLCK, 100, 0));
        end();
        tell(to_parent);
        hear(to_child);
        exit(0);
    }
    hear(to_parent);
    show("parent sees the child's", a, F_GETLK, F_WRLCK, 45, 1);
    show("parent sees the child's end", a, F_GETLK, F_RDLCK, 1000, 1);
    tell(to_child);
    wait(NULL);
    show("after its exit", a, F_GETLK, F_WRLCK, 100, 0);
    /* merging and a read lock under a write lock */
    say("merge", lk(a, F_SETLK, F_RDLCK, 200, 10));
    say("and", lk(a, F_SETLK, F_RDLCK, 210, 10));
    say("downgrade", lk(a, F_SETLK, F_RDLCK, 0, 10));
    end();
    if (fork() == 0) {
        show("child merged", b, F_GETLK, F_WRLCK, 205, 10);
        show("child downgraded", b, F_GETLK, F_WRLCK, 0, 1);
        printf("child: read beside a read %d\n", lk(b, F_SETLK, F_RDLCK, 0, 1));
        exit(0);
    }
    wait(NULL);
    /* a close of any descriptor of the file releases the process's locks */
    int c = open("p", O_RDONLY);
    close(c);
    if (fork() == 0) {
        show("child after the parent's close", b, F_GETLK, F_WRLCK, 0, 0);
        exit(0);
    }
    wait(NULL);
    /* a blocking wait, woken when the child unlocks */
    lk(a, F_SETLK, F_WRLCK, 0, 1);
    if (fork() == 0) {
        printf("child: setlk %d, waits\n", lk(b, F_SETLK, F_WRLCK, 0, 1));
        tell(to_parent);
        printf("child: setlkw %d\n", lk(b, F_SETLKW, F_WRLCK, 0, 1));
        exit(0);
    }
    hear(to_parent);
    usleep(100000);
    printf("parent: unlocks\n");
    lk(a, F_SETLK, F_UNLCK, 0, 0);
    wait(NULL);
    /* a deadlock: each holds a byte the other wants */
    lk(a, F_SETLK, F_WRLCK, 0, 1);
    if (fork() == 0) {
        lk(b, F_SETLK, F_WRLCK, 1, 1);
        tell(to_parent);
        printf("child: waits for byte 0 %d\n", lk(b, F_SETLKW, F_WRLCK, 0, 1));
        exit(0);
    }
    hear(to_parent);
    usleep(100000);
    printf("parent: byte 1 would deadlock %d\n", lk(a, F_SETLKW, F_WRLCK, 1, 1));
    lk(a, F_SETLK, F_UNLCK, 0, 1);
    wait(NULL);
    /* errors */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = 7};
    int ro = open("p", O_RDONLY), wo = open("p", O_WRONLY);
    say("errors: whence", e(fcntl(a, F_SETLK, &fl)));
    fl.l_whence = SEEK_SET;
    fl.l_type = 9;
    say("type", e(fcntl(a, F_SETLK, &fl)));
    say("getlk unlck", lk(a, F_GETLK, F_UNLCK, 0, 1));
    say("negative start", lk(a, F_SETLK, F_WRLCK, -1, 1));
    say("len", lk(a, F_SETLK, F_WRLCK, 2, -5));
    say("back", lk(a, F_SETLK, F_WRLCK, 5, -5));
    end();
    say("write on read-only", lk(ro, F_SETLK, F_WRLCK, 0, 1));
    say("read on write-only", lk(wo, F_SETLK, F_RDLCK, 0, 1));
    say("unlock on read-only", lk(ro, F_SETLK, F_UNLCK, 0, 1));
    say("bad pointer", e(fcntl(a, F_SETLK, (void *)8)));
    say("bad fd", lk(99, F_SETLK, F_WRLCK, 0, 1));
    end();
    close(ro);
    close(wo);
    lk(a, F_SETLK, F_UNLCK, 0, 0);
    close(a);
    close(b);
}

static void ofd_facts(void)
{
    int a = open("o", O_RDWR | O_CREAT, 0600), b = open("o", O_RDWR), c = dup(a);
    say("ofd setlk", lk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
    say("other description", lk(b, F_OFD_SETLK, F_RDLCK, 5, 1));
    say("same description", lk(c, F_OFD_SETLK, F_WRLCK, 5, 1));
    end();
    show("ofd", b, F_OFD_GETLK, F_WRLCK, 0, 0);
    printf("posix lock of the same process %d\n", lk(b, F_SETLK, F_WRLCK, 0, 1));
    show("posix getlk", b, F_GETLK, F_RDLCK, 3, 1);
    struct flock fl = {.l_type = F_WRLCK, .l_pid = 1};
    printf("ofd with a pid %d\n", e(fcntl(b, F_OFD_SETLK, &fl)));
    int d = open("o", O_RDONLY);
    close(d);
    say("another close keeps it", lk(b, F_OFD_SETLK, F_WRLCK, 0, 1));
    close(a);
    say("one of two descriptors", lk(b, F_OFD_SETLK, F_WRLCK, 0, 1));
    close(c);
    say("the description's last", lk(b, F_OFD_SETLK, F_WRLCK, 0, 1));
    end();
    if (fork() == 0) {
        show("child", b, F_GETLK, F_RDLCK, 0, 0);
        printf("child: inherited description %d\n", lk(b, F_OFD_SETLK, F_WRLCK, 0, 1));
        exit(0);
    }
    wait(NULL);
    close(b);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "fslocks");
    if (pipe(to_child) || pipe(to_parent))
        return 1;
    flock_facts();
    posix_facts();
    ofd_facts();
    unlink("f");
    unlink("p");
    unlink("o");
    cleaned(dir);
    return 0;
}

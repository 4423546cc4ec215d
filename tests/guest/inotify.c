/* inotify as Linux answers it on a tmpfs: the events the file calls raise on a watched directory
 * (with the name) and a watched file (without), in their order, IN_ISDIR, a rename's cookie,
 * equal events merged, IN_DELETE_SELF and IN_IGNORED, IN_ONESHOT, IN_MASK_ADD, reads (whole
 * events, EAGAIN, EINVAL, waiting for an event from another process), poll, and the errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "fsguest.h"

static int wds[16];
static const char *labels[16];
static int nlabels;
static unsigned last_cookie;

static void label(int wd, const char *name)
{
    wds[nlabels] = wd;
    labels[nlabels++] = name;
}

static const char *who(int wd)
{
    for (int i = 0; i < nlabels; i++)
        if (wds[i] == wd)
            return labels[i];
    return "?";
}

static void show_mask(unsigned mask)
{
    static const struct {
        unsigned bit;
        const char *name;
    } bits[] = {{IN_ACCESS, "ACCESS"},         {IN_MODIFY, "MODIFY"},
                {IN_ATTRIB, "ATTRIB"},         {IN_CLOSE_WRITE, "CLOSE_WRITE"},
                {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
                {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
                {IN_CREATE, "CREATE"},         {IN_DELETE, "DELETE"},
                {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
                {IN_IGNORED, "IGNORED"},       {IN_ISDIR, "ISDIR"},
                {IN_Q_OVERFLOW, "Q_OVERFLOW"}};
    int first = 1;
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (mask & bits[i].bit) {
            printf("%s%s", first ? "" : "|", bits[i].name);
            first = 0;
        }
}

/* every event queued, one a line: watch, mask, name (its padded length), cookie */
static void events(const char *what)
{
    char buf[4096] __attribute__((aligned(8)));
    printf("%s:\n", what);
    long n;
    while ((n = read(wds[15], buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            printf("  %s ", who(ev->wd));
            show_mask(ev->mask);
            if (ev->len)
                printf(" %s (%u)", ev->name, ev->len);
            if (ev->mask & IN_MOVED_FROM)
                last_cookie = ev->cookie;
            if (ev->cookie)
                printf(" cookie %s", ev->cookie == last_cookie ? "shared" : "other");
            printf("\n");
            p += sizeof *ev + ev->len;
        }
    if (n < 0 && errno != EAGAIN)
        printf("  read %d\n", -errno);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "inotify");
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    wds[15] = in;
    char buf[64];
    say("init", in >= 0);
    say("empty read", e(read(in, buf, sizeof buf)));
    say("cloexec", fcntl(in, F_GETFD));
    end();
    int wd = inotify_add_watch(in, ".", IN_ALL_EVENTS);
    label(wd, "dir");
    say("watch the directory", wd > 0);
    end();

    int fd = open("a", O_CREAT | O_WRONLY, 0644);
    write(fd, "hello", 5);
    write(fd, "hello", 5);
    close(fd);
    fd = open("a", O_RDONLY);
    read(fd, buf, 3);
    close(fd);
    events("a created, written twice, closed, read");

    int wa = inotify_add_watch(in, "a", IN_ATTRIB | IN_DELETE_SELF | IN_MODIFY | IN_MOVE_SELF);
    label(wa, "a");
    chmod("a", 0600);
    truncate("a", 2);
    setxattr("a", "user.x", "1", 1, 0);
    chown("a", 1, 1);
    utimensat(AT_FDCWD, "a", NULL, 0);
    events("a watched: chmod, truncate, setxattr, chown, utimensat");

    mkdir("sub", 0755);
    rename("a", "b");
    link("b", "c");
    symlink("b", "s");
    mkfifo("p", 0600);
    events("mkdir, rename, link, symlink, mkfifo");

    int d = open(".", O_RDONLY | O_DIRECTORY);
    char ents[1024];
    syscall(SYS_getdents64, d, ents, sizeof ents);
    close(d);
    fd = open("c", O_WRONLY | O_TRUNC);
    fallocate(fd, 0, 0, 100);
    close(fd);
    events("the directory listed; c opened with O_TRUNC, fallocate");

    unlink("c");
    unlink("b");
    rmdir("sub");
    unlink("s");
    unlink("p");
    events("unlinks and rmdir");

    say("watch again", inotify_add_watch(in, ".", IN_CREATE) == wd);
    say("mask add", inotify_add_watch(in, ".", IN_DELETE | IN_MASK_ADD) == wd);
    say("mask create", e(inotify_add_watch(in, ".", IN_CREATE | IN_MASK_CREATE)));
    end();
    fd = open("e", O_CREAT | O_WRONLY, 0644);
    close(fd);
    unlink("e");
    int once = inotify_add_watch(in, ".", IN_CREATE | IN_ONESHOT);
    label(once, "once");
    say("oneshot replaces the mask", once == wd);
    end();
    close(open("f", O_CREAT | O_WRONLY, 0644));
    close(open("g", O_CREAT | O_WRONLY, 0644));
    events("create e (IN_CREATE | IN_DELETE), then oneshot: f and g");

    wd = inotify_add_watch(in, ".", IN_ALL_EVENTS);
    label(wd, "dir2");
    say("a new watch's number", wd > once);
    say("rm_watch", e(inotify_rm_watch(in, wd)));
    say("again", e(inotify_rm_watch(in, wd)));
    end();
    events("rm_watch");

    say("errors: bad fd", e(inotify_add_watch(99, ".", IN_ALL_EVENTS)));
    say("not inotify", e(inotify_add_watch(0, ".", IN_ALL_EVENTS)));
    say("missing", e(inotify_add_watch(in, "nope", IN_ALL_EVENTS)));
    say("no events", e(inotify_add_watch(in, ".", IN_ONESHOT)));
    say("add and create", e(inotify_add_watch(in, ".", IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE)));
    end();
    say("only a dir", e(inotify_add_watch(in, "f", IN_CREATE | IN_ONLYDIR)));
    say("init flags", e(inotify_init1(1)));
    say("rm_watch not inotify", e(inotify_rm_watch(0, 1)));
    say("rm_watch bad fd", e(inotify_rm_watch(99, 1)));
    say("write", e(write(in, "x", 1)));
    say("lseek", e(lseek(in, 0, SEEK_SET)));
    end();

    int ww = inotify_add_watch(in, "f", IN_ATTRIB);
    label(ww, "f");
    chmod("f", 0600);
    char small[10];
    say("read smaller than an event", e(read(in, small, sizeof small)));
    struct pollfd pfd = {in, POLLIN, 0};
    say("poll", poll(&pfd, 1, 0));
    say("revents", pfd.revents);
    say("read", e(read(in, buf, sizeof buf)));
    say("then poll", poll(&pfd, 1, 0));
    end();

    int ep = epoll_create1(0);
    struct epoll_event want = {.events = EPOLLIN}, got;
    epoll_ctl(ep, EPOLL_CTL_ADD, in, &want);
    say("epoll: nothing", epoll_wait(ep, &got, 1, 0));
    chmod("f", 0640);
    say("an event", epoll_wait(ep, &got, 1, 0));
    say("events", got.events);
    say("read", e(read(in, buf, sizeof buf)));
    say("then", epoll_wait(ep, &got, 1, 0));
    end();
    close(ep);

    fcntl(in, F_SETFL, 0);
    if (fork() == 0) {
        usleep(100000);
        chmod("f", 0644);
        exit(0);
    }
    struct inotify_event *ev = (struct inotify_event *)buf;
    say("waits, then reads", e(read(in, buf, sizeof buf)));
    says("from", who(ev->wd));
    say("mask", ev->mask);
    end();
    wait(NULL);
    unlink("f");
    unlink("g");
    fcntl(in, F_SETFL, O_NONBLOCK);
    events("f unlinked");
    close(in);
    cleaned(dir);
    return 0;
}

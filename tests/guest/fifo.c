/* mknodat's nodes and named pipes as Linux answers them, in a fresh directory under argv[1]
 * (default /tmp): each kind of node made and stat'ed, a device node and a socket node that no
 * driver or socket answers (ENXIO), a FIFO's opens (a reader waits for a writer and a writer for
 * a reader, O_NONBLOCK's answers, O_RDWR), its bytes between processes, its end of file, and a
 * pipe's size (F_GETPIPE_SZ, F_SETPIPE_SZ: rounding, EBUSY, the ring at its new size). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "fsguest.h"

static void kind(const char *path)
{
    struct stat st;
    if (lstat(path, &st)) {
        printf("%s: %d\n", path, -errno);
        return;
    }
    printf("%s: type %o perm %o rdev %u:%u size %ld\n", path, st.st_mode >> 12,
           st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev), (long)st.st_size);
}

static void nodes(void)
{
    umask(022);
    say("mknod fifo", e(mknod("fifo", S_IFIFO | 0666, 0)));
    say("reg", e(mknod("reg", S_IFREG | 0640, 0)));
    say("zero", e(mknod("zero", 0600, 0)));
    say("chr", e(mknod("chr", S_IFCHR | 0600, makedev(60, 7))));
    say("blk", e(mknod("blk", S_IFBLK | 0600, makedev(61, 300))));
    say("sock", e(mknod("sock", S_IFSOCK | 0644, 0)));
    end();
    kind("fifo");
    kind("reg");
    kind("zero");
    kind("chr");
    kind("blk");
    kind("sock");
    printf("errors: exists %d dir %d bad type %d missing dir %d at bad fd %d\n",
           e(mknod("fifo", S_IFIFO | 0600, 0)), e(mknod("d", S_IFDIR | 0700, 0)),
           e(mknod("x", 0170000, 0)), e(mknod("nope/x", S_IFIFO, 0)),
           e(mknodat(99, "x", S_IFIFO, 0)));
    say("open chr", e(open("chr", O_RDWR)));
    say("blk", e(open("blk", O_RDONLY)));
    say("sock", e(open("sock", O_RDONLY)));
    say("reg", e(open("reg", O_RDONLY)));
    end();
    close(3);
    unlink("reg");
    unlink("zero");
    unlink("chr");
    unlink("blk");
    unlink("sock");
}

static void fifo_opens(void)
{
    printf("write-only nonblocking, no reader %d\n", e(open("fifo", O_WRONLY | O_NONBLOCK)));
    int r = open("fifo", O_RDONLY | O_NONBLOCK);
    char buf[16];
    say("read-only nonblocking", r >= 0);
    say("read", e(read(r, buf, sizeof buf)));
    end();
    int w = open("fifo", O_WRONLY | O_NONBLOCK);
    say("now a writer opens", w >= 0);
    say("writes", e(write(w, "hello", 5)));
    end();
    printf("read %d\n", e(read(r, buf, sizeof buf)));
    close(w);
    printf("writer gone: read %d\n", e(read(r, buf, sizeof buf)));
    close(r);
    int rw = open("fifo", O_RDWR);
    say("read-write", rw >= 0);
    say("writes", e(write(rw, "abc", 3)));
    say("reads", e(read(rw, buf, sizeof buf)));
    end();
    struct stat st;
    fstat(rw, &st);
    printf("fstat type %o lseek %d\n", st.st_mode >> 12, e(lseek(rw, 0, SEEK_SET)));
    write(rw, "left", 4);
    close(rw);
    r = open("fifo", O_RDONLY | O_NONBLOCK);
    printf("bytes left when every end closed: read %d\n", e(read(r, buf, sizeof buf)));
    close(r);
}

static void fifo_processes(void)
{
    int to_child[2], to_parent[2];
    char c, buf[32] = {0};
    pipe(to_child);
    pipe(to_parent);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        printf("child: opens for writing\n");
        int w = open("fifo", O_WRONLY);
        printf("child: writes %d\n", e(write(w, "from the child", 14)));
        write(to_parent[1], "x", 1);
        read(to_child[0], &c, 1);
        close(w);
        exit(0);
    }
    printf("parent: opens for reading, waits\n");
    int r = open("fifo", O_RDONLY);
    read(to_parent[0], &c, 1);
    say("parent: opened, reads", e(read(r, buf, sizeof buf - 1)));
    says("bytes", buf);
    end();
    write(to_child[1], "x", 1);
    printf("parent: end of file %d\n", e(read(r, buf, sizeof buf)));
    waitpid(pid, NULL, 0);
    close(r);
    pid = fork();
    if (pid == 0) {
        usleep(100000);
        printf("child: opens for reading\n");
        int r2 = open("fifo", O_RDONLY);
        char got[8] = {0};
        read(to_child[0], &c, 1);
        say("child: reads", e(read(r2, got, 7)));
        says("bytes", got);
        end();
        exit(0);
    }
    printf("parent: opens for writing, waits\n");
    int w = open("fifo", O_WRONLY);
    printf("parent: opened, writes %d\n", e(write(w, "to kid", 6)));
    write(to_child[1], "x", 1);
    waitpid(pid, NULL, 0);
    close(w);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
}

static void on_usr1(int sig) { (void)sig; }

/* a signal's handler ends a waiting open: EINTR, and the reader it counted is gone; with
 * SA_RESTART the open is made again and completes when a writer comes */
static void fifo_interrupted(void)
{
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        exit(0);
    }
    printf("interrupted open %d\n", e(open("fifo", O_RDONLY)));
    waitpid(pid, NULL, 0);
    printf("then no reader: %d\n", e(open("fifo", O_WRONLY | O_NONBLOCK)));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pid = fork();
    if (pid == 0) {
        usleep(100000);
        kill(getppid(), SIGUSR1);
        usleep(100000);
        int w = open("fifo", O_WRONLY);
        write(w, "r", 1);
        close(w);
        exit(0);
    }
    int r = open("fifo", O_RDONLY);
    char c = 0;
    say("restarted open", r >= 0);
    say("reads", e(read(r, &c, 1)));
    say("byte", c);
    end();
    close(r);
    waitpid(pid, NULL, 0);
}

static void pipe_sizes(void)
{
    int p[2];
    pipe(p);
    printf("pipe size %d\n", e(fcntl(p[0], F_GETPIPE_SZ)));
    say("set 1 ->", e(fcntl(p[1], F_SETPIPE_SZ, 1)));
    say("5000 ->", e(fcntl(p[1], F_SETPIPE_SZ, 5000)));
    say("65536 ->", e(fcntl(p[1], F_SETPIPE_SZ, 65536)));
    say("100000 ->", e(fcntl(p[0], F_SETPIPE_SZ, 100000)));
    say("get", e(fcntl(p[1], F_GETPIPE_SZ)));
    end();
    static char big[300000];
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    printf("fills %d\n", e(write(p[1], big, sizeof big)));
    printf("smaller than its bytes %d\n", e(fcntl(p[0], F_SETPIPE_SZ, 4096)));
    printf("drain %d: 5000 bytes on two pages\n", e(read(p[0], big, 131072 - 5000)));
    say("to one page", e(fcntl(p[0], F_SETPIPE_SZ, 4096)));
    say("to two", e(fcntl(p[0], F_SETPIPE_SZ, 8192)));
    end();
    say("drain", e(read(p[0], big, sizeof big)));
    say("then", e(read(p[0], big, sizeof big)));
    end();
    say("size", e(fcntl(p[0], F_GETPIPE_SZ)));
    say("bytes fit", e(write(p[1], big, sizeof big)));
    end();
    printf("and read back %d\n", e(read(p[0], big, sizeof big)));
    printf("errors: too big %d not a pipe %d bad fd %d\n",
           e(fcntl(p[0], F_SETPIPE_SZ, (1u << 31) + 1)), e(fcntl(open("/dev/null", O_RDONLY), F_GETPIPE_SZ)),
           e(fcntl(99, F_GETPIPE_SZ)));
    int f = open("fifo", O_RDWR);
    say("fifo size", e(fcntl(f, F_GETPIPE_SZ)));
    say("set", e(fcntl(f, F_SETPIPE_SZ, 4096)));
    end();
    close(f);
    f = open("fifo", O_RDWR);
    printf("reopened: size %d\n", e(fcntl(f, F_GETPIPE_SZ)));
    close(f);
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "fifo");
    nodes();
    fifo_opens();
    fifo_processes();
    fifo_interrupted();
    pipe_sizes();
    unlink("fifo");
    cleaned(dir);
    return 0;
}

/* sendfile, copy_file_range, splice, tee and vmsplice as Linux answers them on a tmpfs: bytes
 * moved between files, pipes and devices, the offsets and file positions each moves, short
 * copies at the end of a file, and the errors in Linux's order. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "fsguest.h"

static long pos(int fd) { return lseek(fd, 0, SEEK_CUR); }

/* the bytes at `at` of the file, or of a pipe when `at` < 0 */
static void show(const char *label, int fd, long at, int n)
{
    char buf[64] = {0};
    long got = at < 0 ? read(fd, buf, n) : pread(fd, buf, n, at);
    say(label, got);
    printf(" [%s]", buf);
}

static void sendfile_facts(void)
{
    int s = open("s", O_RDWR | O_CREAT | O_TRUNC, 0600), d = open("d", O_RDWR | O_CREAT | O_TRUNC, 0600);
    for (int i = 0; i < 1000; i++)
        dprintf(s, "%09d ", i);
    lseek(s, 0, SEEK_SET);
    say("sendfile", e(sendfile(d, s, NULL, 5000)));
    say("in pos", pos(s));
    say("out pos", pos(d));
    show("bytes", d, 4990, 10);
    end();
    off_t off = 8000;
    say("at 8000", e(sendfile(d, s, &off, 5000)));
    say("offset", off);
    say("in pos", pos(s));
    say("out pos", pos(d));
    say("at the end", e(sendfile(d, s, &off, 5000)));
    end();
    int p[2];
    pipe(p);
    off = 20;
    say("to a pipe", e(sendfile(p[1], s, &off, 9)));
    show("bytes", p[0], -1, 9);
    int null = open("/dev/null", O_WRONLY);
    off = 0;
    say("to /dev/null", e(sendfile(null, s, &off, 3000)));
    end();
    int wo = open("s", O_WRONLY), ro = open("d", O_RDONLY), ap = open("d", O_WRONLY | O_APPEND);
    say("errors: write-only in", e(sendfile(d, wo, NULL, 10)));
    say("read-only out", e(sendfile(ro, s, NULL, 10)));
    say("pipe in", e(sendfile(d, p[0], NULL, 10)));
    say("append out", e(sendfile(ap, s, NULL, 10)));
    end();
    off = -1;
    say("negative offset", e(sendfile(d, s, &off, 10)));
    say("bad offset pointer", e(sendfile(d, s, (off_t *)8, 10)));
    say("bad fd", e(sendfile(99, s, NULL, 10)));
    say("count 0", e(sendfile(d, s, NULL, 0)));
    say("dir in", e(sendfile(d, open(".", O_RDONLY), NULL, 10)));
    end();
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[70000];
    write(p[1], big, sizeof big);
    off = 0;
    say("full pipe, nonblocking", e(sendfile(p[1], s, &off, 10)));
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    say("no reader", e(sendfile(p[1], s, &off, 10)));
    end();
    close(p[1]);
    close(null);
    close(wo);
    close(ro);
    close(ap);
    close(s);
    close(d);
}

static void copy_facts(void)
{
    int s = open("s", O_RDWR), d = open("d", O_RDWR | O_TRUNC);
    loff_t in = 0, out = 100;
    say("copy_file_range", e(copy_file_range(s, &in, d, &out, 4000, 0)));
    say("offsets", in);
    say("and", out);
    say("positions", pos(s));
    say("and", pos(d));
    show("bytes", d, 100, 10);
    end();
    lseek(s, 9995, SEEK_SET);
    say("by position, short at the end", e(copy_file_range(s, NULL, d, NULL, 100, 0)));
    say("positions", pos(s));
    say("and", pos(d));
    say("at the end", e(copy_file_range(s, NULL, d, NULL, 100, 0)));
    end();
    in = 0;
    out = 50;
    say("same file overlapping", e(copy_file_range(d, &in, d, &out, 100, 0)));
    out = 5000;
    say("not overlapping", e(copy_file_range(d, &in, d, &out, 100, 0)));
    say("overlap past the end is cut first", e(copy_file_range(d, &out, d, &in, 10000, 0)));
    end();
    int wo = open("s", O_WRONLY), ap = open("d", O_WRONLY | O_APPEND), p[2];
    pipe(p);
    in = out = 0;
    say("errors: flags", e(copy_file_range(s, &in, d, &out, 10, 1)));
    say("append out", e(copy_file_range(s, &in, ap, &out, 10, 0)));
    say("write-only in", e(copy_file_range(wo, &in, d, &out, 10, 0)));
    say("pipe", e(copy_file_range(p[0], NULL, d, &out, 10, 0)));
    say("dir", e(copy_file_range(open(".", O_RDONLY), &in, d, &out, 10, 0)));
    end();
    in = -1;
    say("negative offset", e(copy_file_range(s, &in, d, &out, 10, 0)));
    say("bad offset pointer", e(copy_file_range(s, (loff_t *)8, d, &out, 10, 0)));
    say("bad fd", e(copy_file_range(99, NULL, d, NULL, 10, 0)));
    in = 0;
    say("len 0", e(copy_file_range(s, &in, d, &out, 0, 0)));
    end();
    int m = memfd_create("m", 0);
    write(m, "memfd", 5);
    in = out = 0;
    say("from a memfd (another file system)", e(copy_file_range(m, &in, d, &out, 5, 0)));
    in = 5;
    say("at its end", e(copy_file_range(m, &in, d, &out, 5, 0)));
    end();
    close(m);
    close(p[0]);
    close(p[1]);
    close(wo);
    close(ap);
    close(s);
    close(d);
}

static void splice_facts(void)
{
    int s = open("s", O_RDWR), d = open("d", O_RDWR | O_TRUNC), p[2], q[2];
    pipe(p);
    pipe(q);
    loff_t off = 30;
    say("file to pipe", e(splice(s, &off, p[1], NULL, 25, 0)));
    say("offset", off);
    say("position", pos(s));
    off = 7;
    say("pipe to file", e(splice(p[0], NULL, d, &off, 5, 0)));
    say("offset", off);
    show("bytes", d, 7, 5);
    end();
    say("by position", e(splice(p[0], NULL, d, NULL, 5, 0)));
    say("position", pos(d));
    say("pipe to pipe", e(splice(p[0], NULL, q[1], NULL, 8, 0)));
    show("bytes", q[0], -1, 8);
    show("left", p[0], -1, 20);
    end();
    int ap = open("d", O_WRONLY | O_APPEND), wo = open("s", O_WRONLY);
    write(p[1], "data", 4);
    say("errors: no pipe", e(splice(s, NULL, d, NULL, 10, 0)));
    say("offset on a pipe", e(splice(p[0], &off, d, NULL, 10, 0)));
    say("same pipe", e(splice(p[0], NULL, p[1], NULL, 10, 0)));
    say("flags", e(splice(p[0], NULL, d, NULL, 10, 0x10)));
    say("len 0 with bad flags", e(splice(p[0], NULL, d, NULL, 0, 0x10)));
    end();
    say("append out", e(splice(p[0], NULL, ap, NULL, 10, 0)));
    say("write-only in", e(splice(wo, NULL, p[1], NULL, 10, 0)));
    say("read end as out", e(splice(s, NULL, p[0], NULL, 10, 0)));
    say("bad fd", e(splice(99, NULL, p[1], NULL, 10, 0)));
    say("bad offset pointer", e(splice(s, (loff_t *)8, p[1], NULL, 10, 0)));
    end();
    char buf[8];
    read(p[0], buf, sizeof buf);
    say("empty pipe, nonblocking", e(splice(p[0], NULL, d, NULL, 10, SPLICE_F_NONBLOCK)));
    close(p[1]);
    say("no writer", e(splice(p[0], NULL, d, NULL, 10, 0)));
    end();
    close(p[0]);
    close(q[0]);
    close(q[1]);
    close(ap);
    close(wo);
    close(s);
    close(d);
}

static void tee_facts(void)
{
    int p[2], q[2], s = open("s", O_RDONLY);
    pipe(p);
    pipe(q);
    write(p[1], "hello world", 11);
    say("tee", e(tee(p[0], q[1], 5, 0)));
    show("copy", q[0], -1, 20);
    show("original", p[0], -1, 20);
    end();
    say("errors: same pipe", e(tee(p[0], p[1], 5, 0)));
    say("not pipes", e(tee(s, q[1], 5, 0)));
    say("flags", e(tee(p[0], q[1], 5, 0x10)));
    say("len 0", e(tee(p[0], q[1], 0, 0)));
    end();
    say("write end in", e(tee(p[1], q[1], 5, 0)));
    say("empty nonblocking", e(tee(p[0], q[1], 5, SPLICE_F_NONBLOCK)));
    close(p[1]);
    say("no writer", e(tee(p[0], q[1], 5, 0)));
    end();
    close(p[0]);
    close(q[0]);
    close(q[1]);
    close(s);
}

static void vmsplice_facts(void)
{
    int p[2], s = open("s", O_RDONLY);
    pipe(p);
    char a[] = "abc", b[] = "def", got[8] = {0};
    struct iovec out[2] = {{a, 3}, {b, 3}}, in = {got, 4};
    say("vmsplice in", e(vmsplice(p[1], out, 2, 0)));
    say("out", e(vmsplice(p[0], &in, 1, 0)));
    says("bytes", got);
    show("left", p[0], -1, 8);
    end();
    say("errors: not a pipe", e(vmsplice(s, out, 1, 0)));
    say("flags", e(vmsplice(p[1], out, 1, 0x10)));
    say("bad fd", e(vmsplice(99, out, 1, 0)));
    say("empty", e(vmsplice(p[1], out, 0, 0)));
    say("bad vector", e(vmsplice(p[1], (struct iovec *)8, 1, 0)));
    end();
    close(p[0]);
    close(p[1]);
    close(s);
}

int main(int argc, char **argv)
{
    char *dir = fresh_dir(argc, argv, "fscopy");
    sendfile_facts();
    copy_facts();
    splice_facts();
    tee_facts();
    vmsplice_facts();
    unlink("s");
    unlink("d");
    cleaned(dir);
    return 0;
}

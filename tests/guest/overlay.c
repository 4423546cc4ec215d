/* Changes to files under a directory, as the guest sees them: a file appended to and read
 * back, a new file, a name removed and gone from the listing, a rename, a new directory, a
 * mode changed, a file truncated. argv[1]: the directory (the printed lines do not name it);
 * argv[2] "ro": instead try each change once and print its errno (a read-only mount). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path_buf[4][512];
static const char *base;

static const char *at(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", base, name);
    return path_buf[slot];
}

static int e(long r) { return r < 0 ? -errno : (int)r; }

static void show(const char *name)
{
    char buf[128] = {0};
    int fd = open(at(0, name), O_RDONLY);
    if (fd < 0) {
        printf("%s: %d\n", name, -errno);
        return;
    }
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %ld [%s]\n", name, n, buf);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listing(void)
{
    DIR *d = opendir(base);
    char *names[64];
    int n = 0;
    struct dirent *ent;
    while (d && (ent = readdir(d)) && n < 64)
        if (ent->d_name[0] != '.')
            names[n++] = strdup(ent->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    printf("listing:");
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
}

static void read_only(void)
{
    printf("open for writing %d\n", e(open(at(0, "a.txt"), O_WRONLY)));
    printf("create %d\n", e(open(at(0, "new.txt"), O_WRONLY | O_CREAT, 0644)));
    printf("unlink %d\n", e(unlink(at(0, "gone.txt"))));
    printf("rename %d\n", e(rename(at(0, "b.txt"), at(1, "c.txt"))));
    printf("mkdir %d\n", e(mkdir(at(0, "dir"), 0755)));
    printf("chmod %d\n", e(chmod(at(0, "a.txt"), 0600)));
    printf("truncate %d\n", e(truncate(at(0, "a.txt"), 1)));
    show("a.txt");
    listing();
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    base = argv[1];
    if (argc > 2 && !strcmp(argv[2], "ro")) {
        read_only();
        return 0;
    }
    listing();
    show("a.txt");
    int fd = open(at(0, "a.txt"), O_WRONLY | O_APPEND);
    printf("append %d %d\n", e(write(fd, " more", 5)), e(close(fd)));
    show("a.txt");
    fd = open(at(0, "new.txt"), O_WRONLY | O_CREAT | O_EXCL, 0640);
    printf("create %d %d\n", e(write(fd, "fresh", 5)), e(close(fd)));
    show("new.txt");
    printf("unlink %d again %d\n", e(unlink(at(0, "gone.txt"))), e(unlink(at(0, "gone.txt"))));
    show("gone.txt");
    printf("rename %d\n", e(rename(at(0, "b.txt"), at(1, "c.txt"))));
    show("b.txt");
    show("c.txt");
    printf("mkdir %d again %d\n", e(mkdir(at(0, "dir"), 0750)), e(mkdir(at(0, "dir"), 0750)));
    printf("rmdir of a full one %d\n", e(rmdir(at(0, "sub"))));
    printf("unlink in it %d rmdir %d\n", e(unlink(at(0, "sub/inner.txt"))),
           e(rmdir(at(1, "sub"))));
    struct stat st;
    printf("chmod %d ", e(chmod(at(0, "c.txt"), 0600)));
    printf("mode %o\n", stat(at(0, "c.txt"), &st) ? 0 : st.st_mode & 07777);
    printf("truncate %d ", e(truncate(at(0, "a.txt"), 3)));
    printf("size %ld\n", stat(at(0, "a.txt"), &st) ? -1L : (long)st.st_size);
    show("a.txt");
    listing();
    return 0;
}

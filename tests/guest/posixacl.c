/* POSIX ACLs as extended attributes (system.posix_acl_access, system.posix_acl_default) on a
 * tmpfs: parsing and validity (EOPNOTSUPP, EINVAL), an ACL no more than the mode (the mode
 * set, nothing kept), one with a mask (kept, the group's bits from the mask), chmod rewriting
 * it, removal, listing, a default ACL (directories only) and what a new file and directory
 * inherit from it (the umask not applied), other file systems. argv[1]: a directory to work
 * in. Plain C, so that it also builds for this machine and runs on its Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ACCESS "system.posix_acl_access"
#define DEFAULT "system.posix_acl_default"
enum { USER_OBJ = 1, USER = 2, GROUP_OBJ = 4, GROUP = 8, MASK = 0x10, OTHER = 0x20 };

struct acl {
    uint32_t version;
    struct {
        uint16_t tag, perm;
        uint32_t id;
    } e[8];
};

static long e(long r)
{
    return r < 0 ? -errno : r;
}

static size_t acl(struct acl *a, int n, const int (*entries)[3])
{
    a->version = 2;
    for (int i = 0; i < n; i++) {
        a->e[i].tag = entries[i][0];
        a->e[i].perm = entries[i][1];
        a->e[i].id = entries[i][2];
    }
    return 4 + 8 * n;
}

static void show(const char *what, const char *path, const char *name)
{
    struct acl a;
    struct stat st;
    long n = e(getxattr(path, name, &a, sizeof a));
    stat(path, &st);
    printf("%s: mode %o, %s", what, st.st_mode & 07777, name + 17);
    if (n < 0)
        printf(" %ld", n);
    for (long i = 0; n > 0 && i < (n - 4) / 8; i++)
        printf(" %x:%o:%d", a.e[i].tag, a.e[i].perm, (int)a.e[i].id);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    if (chdir(dir))
        return 1;
    umask(022);
    mkdir("acl", 0755);
    close(open("acl/f", O_CREAT | O_WRONLY, 0644));
    struct acl a;
    const int minimal[][3] = {{USER_OBJ, 7, 0}, {GROUP_OBJ, 5, 0}, {OTHER, 1, 0}};
    const int masked[][3] = {{USER_OBJ, 6, 0}, {USER, 7, 1000}, {GROUP_OBJ, 4, 0},
                             {MASK, 5, 0}, {OTHER, 0, 0}};
    const int unordered[][3] = {{GROUP_OBJ, 4, 0}, {USER_OBJ, 6, 0}, {OTHER, 0, 0}};
    const int no_mask[][3] = {{USER_OBJ, 6, 0}, {USER, 7, 1000}, {GROUP_OBJ, 4, 0}, {OTHER, 0, 0}};
    const int bad_tag[][3] = {{USER_OBJ, 6, 0}, {0x40, 4, 0}, {OTHER, 0, 0}};
    const int bad_perm[][3] = {{USER_OBJ, 8, 0}, {GROUP_OBJ, 4, 0}, {OTHER, 0, 0}};
    const int no_id[][3] = {{USER_OBJ, 6, 0}, {USER, 7, -1}, {GROUP_OBJ, 4, 0}, {MASK, 7, 0},
                            {OTHER, 0, 0}};

    size_t n = acl(&a, 3, minimal);
    long v1 = e(setxattr("acl/f", ACCESS, &a, 3, 0));
    a.version = 1;
    long v2 = e(setxattr("acl/f", ACCESS, &a, n, 0));
    a.version = 2;
    long v3 = e(setxattr("acl/f", ACCESS, &a, n - 1, 0));
    long v4 = e(setxattr("acl/f", ACCESS, &a, acl(&a, 3, unordered), 0));
    long v5 = e(setxattr("acl/f", ACCESS, &a, acl(&a, 4, no_mask), 0));
    long v6 = e(setxattr("acl/f", ACCESS, &a, acl(&a, 3, bad_tag), 0));
    long v7 = e(setxattr("acl/f", ACCESS, &a, acl(&a, 3, bad_perm), 0));
    long v8 = e(setxattr("acl/f", ACCESS, &a, acl(&a, 5, no_id), 0));
    printf("refused: short %ld version %ld size %ld order %ld no mask %ld tag %ld perm %ld "
           "id %ld\n",
           v1, v2, v3, v4, v5, v6, v7, v8);

    printf("minimal: %ld\n", e(setxattr("acl/f", ACCESS, &a, acl(&a, 3, minimal), 0)));
    show("minimal", "acl/f", ACCESS);
    printf("masked: %ld\n", e(setxattr("acl/f", ACCESS, &a, acl(&a, 5, masked), XATTR_CREATE)));
    show("masked", "acl/f", ACCESS);
    char names[256];
    long ln = e(listxattr("acl/f", names, sizeof names));
    printf("list %ld: %s\n", ln, ln > 0 ? names : "");
    printf("size only %ld, too small %ld\n", e(getxattr("acl/f", ACCESS, 0, 0)),
           e(getxattr("acl/f", ACCESS, &a, 8)));
    chmod("acl/f", 0751);
    show("chmod 751", "acl/f", ACCESS);
    printf("removed %ld, again %ld\n", e(removexattr("acl/f", ACCESS)),
           e(removexattr("acl/f", ACCESS)));
    show("removed", "acl/f", ACCESS);
    printf("empty value: %ld\n", e(setxattr("acl/f", ACCESS, "", 0, 0)));

    long d1 = e(setxattr("acl/f", DEFAULT, &a, acl(&a, 3, minimal), 0));
    long d2 = e(setxattr("acl/f", DEFAULT, "", 0, 0));
    long d3 = e(removexattr("acl/f", DEFAULT));
    printf("default on a file: %ld, removing %ld %ld\n", d1, d2, d3);
    printf("default: %ld\n", e(setxattr("acl", DEFAULT, &a, acl(&a, 5, masked), 0)));
    show("dir", "acl", DEFAULT);
    close(open("acl/g", O_CREAT | O_WRONLY, 0666));
    show("new file", "acl/g", ACCESS);
    show("new file", "acl/g", DEFAULT);
    mkdir("acl/sub", 0777);
    show("new dir", "acl/sub", ACCESS);
    show("new dir", "acl/sub", DEFAULT);
    setxattr("acl", DEFAULT, &a, acl(&a, 3, minimal), 0);
    close(open("acl/h", O_CREAT | O_WRONLY, 0666));
    show("minimal default, new file", "acl/h", ACCESS);
    symlink("f", "acl/l");
    long s1 = e(lsetxattr("acl/l", ACCESS, &a, acl(&a, 3, minimal), 0));
    long s2 = e(lgetxattr("acl/l", ACCESS, &a, sizeof a));
    int p[2];
    pipe(p);
    long p1 = e(fsetxattr(p[0], ACCESS, &a, acl(&a, 3, minimal), 0));
    long p2 = e(fgetxattr(p[0], ACCESS, &a, sizeof a));
    printf("symlink: set %ld get %ld; pipe: set %ld get %ld\n", s1, s2, p1, p2);
    unlink("acl/f");
    unlink("acl/g");
    unlink("acl/h");
    unlink("acl/l");
    rmdir("acl/sub");
    printf("cleaned %ld\n", e(rmdir("acl")));
    return 0;
}

/* Calls glibc reaches through other calls (or not at all), made directly so each is checked:
   fstat, nanosleep, getrlimit/setrlimit, uname, readv/writev, fsync/fdatasync, fchdir,
   renameat2, sched_yield, tkill, the id calls and capset. Prints what it observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(what, call)                                  \
    do {                                                  \
        errno = 0;                                        \
        long r_ = (call);                                 \
        printf("%s: %ld errno %d\n", what, r_, r_ < 0 ? errno : 0); \
    } while (0)

static volatile int got;
static void on_usr1(int s) { got = s; }

int main(void) {
    char dir[] = "/tmp/rawcallsXXXXXX";
    if (!mkdtemp(dir)) return 1;
    chdir(dir);
    struct stat st;
    int fd = open("f", O_RDWR | O_CREAT, 0600);
    SHOW("fstat", syscall(SYS_fstat, fd, &st));
    printf("fstat regular %d size %ld\n", S_ISREG(st.st_mode), (long)st.st_size);
    SHOW("fstat bad fd", syscall(SYS_fstat, 99, &st));
    SHOW("fstat bad buffer", syscall(SYS_fstat, fd, (void *)8));

    char a[] = "hello ", b[] = "world\n";
    struct iovec out[2] = {{a, 6}, {b, 6}};
    SHOW("writev", syscall(SYS_writev, fd, out, 2));
    lseek(fd, 0, SEEK_SET);
    char c1[4] = {0}, c2[16] = {0};
    struct iovec in[2] = {{c1, 3}, {c2, 15}};
    SHOW("readv", syscall(SYS_readv, fd, in, 2));
    printf("readv got '%s' '%s'\n", c1, c2);
    SHOW("readv too many", syscall(SYS_readv, fd, in, 5000));
    SHOW("fsync", syscall(SYS_fsync, fd));
    SHOW("fdatasync", syscall(SYS_fdatasync, fd));
    SHOW("fsync bad fd", syscall(SYS_fsync, 99));

    mkdir("sub", 0700);
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    SHOW("fchdir", syscall(SYS_fchdir, dfd));
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    printf("cwd ends in sub: %d\n", strcmp(cwd + strlen(cwd) - 4, "/sub") == 0);
    SHOW("fchdir to a file", syscall(SYS_fchdir, fd));
    chdir("..");
    int g = open("g", O_RDWR | O_CREAT, 0600);
    close(g);
    SHOW("renameat2 noreplace onto existing", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", RENAME_NOREPLACE));
    SHOW("renameat2 exchange", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", RENAME_EXCHANGE));
    struct stat sf, sg;
    stat("f", &sf);
    stat("g", &sg);
    printf("exchanged: f size %ld g size %ld\n", (long)sf.st_size, (long)sg.st_size);
    SHOW("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "g", 8));
    SHOW("renameat2 noreplace to new", syscall(SYS_renameat2, AT_FDCWD, "f", AT_FDCWD, "h", RENAME_NOREPLACE));

    struct timespec t = {0, 1000000}, bad = {0, -1};
    SHOW("nanosleep", syscall(SYS_nanosleep, &t, NULL));
    SHOW("nanosleep bad", syscall(SYS_nanosleep, &bad, NULL));
    SHOW("sched_yield", syscall(SYS_sched_yield));

    struct rlimit rl;
    SHOW("getrlimit", syscall(SYS_getrlimit, RLIMIT_STACK, &rl));
    printf("stack 8 MiB: %d\n", rl.rlim_cur == 8 << 20);
    rl.rlim_cur = 4 << 20;
    SHOW("setrlimit", syscall(SYS_setrlimit, RLIMIT_STACK, &rl));
    syscall(SYS_getrlimit, RLIMIT_STACK, &rl);
    printf("stack now 4 MiB: %d\n", rl.rlim_cur == 4 << 20);
    SHOW("getrlimit bad", syscall(SYS_getrlimit, 77, &rl));

    struct utsname u;
    SHOW("uname", syscall(SYS_uname, &u));
    printf("sysname %s machine %s\n", u.sysname, u.machine);
    SHOW("uname bad", syscall(SYS_uname, (void *)8));

    signal(SIGUSR1, on_usr1);
    SHOW("tkill self", syscall(SYS_tkill, gettid(), SIGUSR1));
    printf("got %d\n", got);
    SHOW("tkill bad tid", syscall(SYS_tkill, -5, SIGUSR1));

    /* A session id may be 0 when the caller's session is the kernel's own (a
       service manager's children): compare it with itself by pid instead. */
    long sid = syscall(SYS_getsid, 0);
    printf("getsid of self by pid: %d\n", sid >= 0 && sid == syscall(SYS_getsid, getpid()));
    SHOW("getsid no such", syscall(SYS_getsid, 999999));
    gid_t r, e, s;
    SHOW("getresgid", syscall(SYS_getresgid, &r, &e, &s));
    printf("gids %u %u %u\n", r, e, s);
    SHOW("setregid", syscall(SYS_setregid, 10, 20));
    syscall(SYS_getresgid, &r, &e, &s);
    printf("gids %u %u %u\n", r, e, s);
    SHOW("setgid", syscall(SYS_setgid, 30));
    syscall(SYS_getresgid, &r, &e, &s);
    printf("gids %u %u %u\n", r, e, s);
    printf("setfsgid old %ld\n", syscall(SYS_setfsgid, -1));

    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    syscall(SYS_capget, &hdr, data);
    data[0].effective &= ~(1u << CAP_CHOWN);
    SHOW("capset drop chown", syscall(SYS_capset, &hdr, data));
    syscall(SYS_capget, &hdr, data);
    printf("chown effective %d permitted %d\n", data[0].effective >> CAP_CHOWN & 1,
           data[0].permitted >> CAP_CHOWN & 1);
    data[0].effective |= 1u << CAP_CHOWN;
    SHOW("capset back", syscall(SYS_capset, &hdr, data));
    hdr.pid = 999999;
    SHOW("capset another", syscall(SYS_capset, &hdr, data));

    fflush(stdout);
    if (fork() == 0) { /* a new session has no controlling terminal: nothing is hung up */
        setsid();
        SHOW("vhangup in a new session", syscall(SYS_vhangup));
        return 0;
    }
    wait(NULL);

    SHOW("setreuid", syscall(SYS_setreuid, 1000, 1000));
    SHOW("setreuid back to root", syscall(SYS_setreuid, 0, 0));
    data[0].effective = data[0].permitted = ~0u;
    hdr.pid = 0;
    SHOW("capset raise after root is gone", syscall(SYS_capset, &hdr, data));
    SHOW("vhangup without CAP_SYS_TTY_CONFIG", syscall(SYS_vhangup));
    return 0;
}

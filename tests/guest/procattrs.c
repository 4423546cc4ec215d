/* A process's attributes as programs read and set them: nice values, resource limits and
   their enforcement (descriptors; processes for a user that is not root), prctl's names,
   parent-death signal, subreaper and flags, getcpu, personality, capabilities, fs ids, the
   robust-futex list. Prints what it observed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    errno = 0;
    printf("nice %d\n", getpriority(PRIO_PROCESS, 0));
    printf("set 5: %d now %d\n", setpriority(PRIO_PROCESS, 0, 5), getpriority(PRIO_PROCESS, 0));
    printf("set -3 (root): %d now %d\n", setpriority(PRIO_PROCESS, 0, -3), getpriority(PRIO_PROCESS, 0));
    printf("clamped 99: %d now %d\n", setpriority(PRIO_PROCESS, 0, 99), getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 0);
    errno = 0;
    printf("bad which: %d errno %d\n", getpriority(7, 0), errno);
    errno = 0;
    printf("no such pid: %d errno %d\n", setpriority(PRIO_PROCESS, 999999, 1), errno);
    printf("raw getpriority: %ld\n", syscall(SYS_getpriority, PRIO_PROCESS, 0));

    struct rlimit rl, saved;
    getrlimit(RLIMIT_NOFILE, &saved);
    printf("nofile soft <= hard: %d\n", saved.rlim_cur <= saved.rlim_max);
    rl.rlim_cur = 16;
    rl.rlim_max = saved.rlim_max;
    printf("nofile 16: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
    errno = 0;
    printf("dup2 to 20: %d errno %d\n", dup2(0, 20), errno);
    printf("dup2 to 15: %d\n", dup2(0, 15));
    errno = 0;
    printf("F_DUPFD from 16: %d errno %d\n", fcntl(0, F_DUPFD, 16), errno);
    close(15);
    setrlimit(RLIMIT_NOFILE, &saved);
    rl.rlim_cur = 10;
    rl.rlim_max = 5;
    errno = 0;
    printf("soft above hard: %d errno %d\n", setrlimit(RLIMIT_NOFILE, &rl), errno);
    errno = 0;
    printf("bad resource: %d errno %d\n", getrlimit(99, &rl), errno);
    getrlimit(RLIMIT_STACK, &rl);
    printf("stack soft 8 MiB: %d\n", rl.rlim_cur == 8 << 20);
    struct rlimit64 o;
    printf("prlimit self: %d soft ok %d\n", prlimit64(0, RLIMIT_NOFILE, NULL, &o), o.rlim_cur == saved.rlim_cur);

    pid_t child = fork();
    if (child == 0) {  /* a user that is not root, allowed one process: fork fails */
        struct rlimit one = {1, 1};
        setrlimit(RLIMIT_NPROC, &one);
        if (setuid(4321)) _exit(2);
        errno = 0;
        pid_t again = fork();
        if (again == 0) _exit(0);
        _exit(again < 0 && errno == EAGAIN ? 7 : 3);
    }
    int status;
    waitpid(child, &status, 0);
    printf("nproc 1 for a user: fork EAGAIN %d\n", WEXITSTATUS(status) == 7);

    char name[16] = {0};
    printf("set name: %d\n", prctl(PR_SET_NAME, "a-rather-long-task-name", 0, 0, 0));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("name: %s\n", name);
    int sig = -1;
    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    printf("pdeathsig %d\n", sig);
    errno = 0;
    printf("pdeathsig bad: %d errno %d\n", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0), errno);
    printf("no_new_privs %d set %d now %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
           prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    errno = 0;
    printf("no_new_privs bad: %d errno %d\n", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), errno);
    printf("dumpable %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    errno = 0;
    printf("dumpable bad: %d errno %d\n", prctl(PR_SET_DUMPABLE, 3, 0, 0, 0), errno);
    printf("capbset chown %d\n", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
    errno = 0;
    printf("capbset bad: %d errno %d\n", prctl(PR_CAPBSET_READ, 999, 0, 0, 0), errno);
    errno = 0;
    printf("unknown option: %d errno %d\n", prctl(9999, 0, 0, 0, 0), errno);

    /* a subreaper adopts its grandchild, which dies of its parent-death signal */
    printf("subreaper: %d\n", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int ready[2];
    pipe(ready);
    child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
            write(ready[1], "x", 1);
            for (;;) pause();
        }
        char c;
        read(ready[0], &c, 1);
        _exit(0);
    }
    waitpid(child, &status, 0);
    pid_t adopted = wait(&status);
    printf("adopted grandchild reaped: %d killed by %d\n", adopted > 0,
           WIFSIGNALED(status) ? WTERMSIG(status) : -1);

    unsigned cpu = 99, node = 99;
    printf("getcpu: %d node %u cpu known %d\n", getcpu(&cpu, &node), node, cpu < 1024);
    printf("personality: %d\n", personality(0xffffffff));

    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    printf("capget: %ld setuid effective %d\n", syscall(SYS_capget, &hdr, data),
           (data[0].effective >> CAP_SETUID) & 1);
    hdr.version = 0x12345678;
    errno = 0;
    printf("capget bad version: %ld errno %d version now %#x\n", syscall(SYS_capget, &hdr, NULL), errno,
           hdr.version);

    printf("fsuid %d\n", setfsuid(-1));
    printf("setfsuid 1000: old %d now %d\n", setfsuid(1000), setfsuid(-1));
    setfsuid(0);

    void *head = 0;
    size_t len = 0;
    printf("robust list: %ld len %zu head set %d\n", syscall(SYS_get_robust_list, 0, &head, &len), len,
           head != 0);
    errno = 0;
    printf("robust list no such: %ld errno %d\n", syscall(SYS_get_robust_list, 999999, &head, &len),
           errno);
    return 0;
}

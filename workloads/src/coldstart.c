/* coldstart [LAUNCHES] [WARM]: an app's cold start, for `hmk paper`.
 *
 * Installs an "app" in a fresh directory under /tmp (8 resource files of 4, 8, ..., 32 KiB, the
 * 64-byte line k of file i filled with the byte (7i + k) mod 251, and a 128 KiB "library" whose page p is filled with the
 * byte p mod 251), then launches it LAUNCHES times (default 1, at most 64): fork, the child
 * execs /bin/coldstart app DIR, the launcher waits. The app opens and reads every resource file
 * in 4 KiB reads (checking the first byte of each line), maps the library privately and reads a byte of each page (file-backed faults),
 * touches 256 KiB of anonymous memory (a page at a time), forks a helper that exits at once and
 * waits for it, and exits 0 when every byte it read was the one installed (1 otherwise). The
 * launcher removes the app and prints `coldstart: launches=N ok=K` (K: launches that exited 0).
 *
 * Timed mode (a second argument, WARM): WARM untimed launches first, then the N launches between
 * two reads of CLOCK_MONOTONIC, less the shortest of three empty pairs of reads; prints
 * `coldstart: launches=N warm=WARM ok=K ns=T ns_per_launch=T/N` (ok over all launches, the
 * quotient in integer arithmetic with two decimals). The exec needs /bin/coldstart: hmk's /bin,
 * not the host's. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define RESOURCES 8
#define LIBRARY_PAGES 32
#define ANON_KIB 256

extern char **environ;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec;
}

static void name(char *out, const char *dir, const char *file)
{
    strcpy(out, dir);
    strcat(out, "/");
    strcat(out, file);
}

static void resource_name(char *out, const char *dir, int i)
{
    char file[] = "res0";
    file[3] = (char)('0' + i);
    name(out, dir, file);
}

/* A file of `bytes` bytes, each 64-byte line at offset `at` filled with byte(arg, at). */
static int write_file(const char *path, uint64_t bytes, int (*byte)(int, uint64_t), int arg)
{
    static unsigned char chunk[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return -1;
    for (uint64_t at = 0; at < bytes; at += sizeof chunk) {
        for (uint64_t j = 0; j < sizeof chunk; j += 64)
            memset(chunk + j, byte(arg, at + j), 64);
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            return -1;
    }
    return close(fd);
}

static int resource_byte(int i, uint64_t j)
{
    return (int)((7 * (uint64_t)i + j / 64) % 251);
}

static int library_byte(int unused, uint64_t j)
{
    (void)unused;
    return (int)((j / 4096) % 251);
}

static int app(const char *dir)
{
    char path[64];
    static unsigned char buf[4096];
    int right = 1;
    for (int i = 0; i < RESOURCES; i++) {
        resource_name(path, dir, i);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return 1;
        uint64_t at = 0;
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            for (ssize_t j = 0; j < n; j += 64)
                right &= buf[j] == resource_byte(i, at + (uint64_t)j);
            at += (uint64_t)n;
        }
        right &= at == (uint64_t)(i + 1) * 4096;
        close(fd);
    }
    name(path, dir, "lib.so");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    const volatile unsigned char *lib =
        mmap(NULL, LIBRARY_PAGES * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (lib == MAP_FAILED)
        return 1;
    for (uint64_t p = 0; p < LIBRARY_PAGES; p++)
        right &= lib[p * 4096 + 1] == p % 251;
    volatile unsigned char *heap = mmap(NULL, ANON_KIB * 1024, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (heap == MAP_FAILED)
        return 1;
    for (uint64_t at = 0; at < ANON_KIB * 1024; at += 4096)
        heap[at] = 1;
    pid_t helper = fork();
    if (helper == 0)
        _exit(0);
    int status = 0;
    right &= helper > 0 && waitpid(helper, &status, 0) == helper && status == 0;
    return !right;
}

static int launch(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {"/bin/coldstart", "app", (char *)dir, NULL};
        execve(args[0], args, environ);
        _exit(127);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "app"))
        return app(argv[2]);
    if (argc > 3)
        usage(argv[0], "[LAUNCHES] [WARM] | app DIR");
    int timed = argc > 2;
    uint64_t launches = arg_u64(argc, argv, 1, "LAUNCHES", 1, timed, 64);
    uint64_t warm = arg_u64(argc, argv, 2, "WARM", 0, 0, 64);
    char dir[] = "/tmp/coldstartXXXXXX", path[64];
    if (mkdtemp(dir) == NULL)
        return 1;
    for (int i = 0; i < RESOURCES; i++) {
        resource_name(path, dir, i);
        if (write_file(path, (uint64_t)(i + 1) * 4096, resource_byte, i))
            return 1;
    }
    name(path, dir, "lib.so");
    if (write_file(path, LIBRARY_PAGES * 4096, library_byte, 0))
        return 1;
    uint64_t ok = 0, t0 = 0;
    for (uint64_t i = 0; i < warm + launches; i++) {
        if (i == warm)
            t0 = now_ns();
        ok += launch(dir);
    }
    uint64_t ns = now_ns() - t0, empty = UINT64_MAX;
    for (int k = 0; k < 3; k++) {
        uint64_t a = now_ns(), b = now_ns();
        if (b - a < empty)
            empty = b - a;
    }
    ns = ns > empty ? ns - empty : 0;
    unlink(path);
    for (int i = 0; i < RESOURCES; i++) {
        resource_name(path, dir, i);
        unlink(path);
    }
    rmdir(dir);
    if (!timed) {
        printf("coldstart: launches=%" PRIu64 " ok=%" PRIu64 "\n", launches, ok);
        return 0;
    }
    uint64_t hundredths = ns * 100 / launches;
    printf("coldstart: launches=%" PRIu64 " warm=%" PRIu64 " ok=%" PRIu64 " ns=%" PRIu64
           " ns_per_launch=%" PRIu64 ".%02" PRIu64 "\n",
           launches, warm, ok, ns, hundredths / 100, hundredths % 100);
    return 0;
}

/* A dynamically linked program looks at how it was loaded: the auxiliary vector against what
 * the dynamic loader reports (AT_ENTRY, AT_PHDR, AT_BASE, AT_PAGESZ, AT_EXECFN), the objects
 * loaded (dl_iterate_phdr), a library opened at run time (dlopen of libm, a symbol called),
 * thread-local storage in the main thread and a second one, and a file mapped by offset.
 * It prints what it saw, no addresses (they differ between kernels). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

extern void _start(void);
__thread int tls_counter = 5;
static __thread char tls_name[16] = "main";

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int object(struct dl_phdr_info *info, size_t size, void *seen)
{
    int loads = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
        loads += info->dlpi_phdr[i].p_type == PT_LOAD;
    const char *name = info->dlpi_name[0] ? base_name(info->dlpi_name) : "(program)";
    if (!info->dlpi_name[0])
        printf("AT_PHDR is the program's headers: %d\n",
               (unsigned long)info->dlpi_phdr == getauxval(AT_PHDR));
    if (strstr(name, "ld-linux"))
        printf("AT_BASE is the loader's bias: %d\n", info->dlpi_addr == getauxval(AT_BASE));
    printf("object %s with %d PT_LOADs\n", name, loads);
    ++*(int *)seen;
    return 0;
}

static void *worker(void *arg)
{
    tls_counter += 10;
    strcpy(tls_name, "worker");
    printf("thread: tls_counter %d tls_name %s\n", tls_counter, tls_name);
    return arg;
}

int main(int argc, char **argv)
{
    printf("AT_ENTRY is _start: %d\n", getauxval(AT_ENTRY) == (unsigned long)&_start);
    printf("AT_PAGESZ %lu AT_EXECFN is argv[0]: %d\n", getauxval(AT_PAGESZ),
           !strcmp((const char *)getauxval(AT_EXECFN), argv[0]));
    printf("AT_BASE set: %d\n", getauxval(AT_BASE) != 0);
    int seen = 0;
    dl_iterate_phdr(object, &seen);
    printf("%d objects\n", seen);

    void *libm = dlopen("libm.so.6", RTLD_NOW);
    if (!libm) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    double (*cosine)(double) = (double (*)(double))dlsym(libm, "cos");
    printf("dlsym cos %d: cos(0.5) = %.6f\n", cosine != NULL, cosine ? cosine(0.5) : 0.0);
    printf("dlclose %d\n", dlclose(libm));
    printf("missing library: %s\n", dlopen("libnothere.so.9", RTLD_NOW) ? "found" : "NULL");

    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    printf("main: tls_counter %d tls_name %s\n", tls_counter, tls_name);

    /* the program's own file, mapped at an offset, as the loader maps libraries */
    int fd = open("/proc/self/exe", O_RDONLY);
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *head = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
    unsigned char *second = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, page);
    unsigned char buf[16];
    long got = pread(fd, buf, sizeof buf, page);
    printf("mapped ELF magic %d, page 1 as pread sees it %d (%ld)\n",
           !memcmp(head, ELFMAG, SELFMAG), !memcmp(second, buf, sizeof buf), got);
    close(fd);
    printf("argc %d\n", argc);
    return 0;
}

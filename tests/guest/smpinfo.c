/* How many CPUs a program finds, every way glibc and Linux offer: sysconf's counts (glibc
 * reads /sys/devices/system/cpu/online and counts the cpu<N> entries), get_nprocs,
 * sched_getaffinity's mask (what nproc counts) and the raw call's size, the CPU lists, the
 * cpu<N> entries, and which CPUs share each of every CPU's caches. Prints what it read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define CPUS "/sys/devices/system/cpu"

static void show(const char *name)
{
    char path[512], line[256] = "";
    snprintf(path, sizeof path, CPUS "/%s", name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("%s: missing\n", name);
        return;
    }
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\n")] = 0;
    printf("%s: '%s'\n", name, line);
}

int main(void)
{
    printf("sysconf online %ld configured %ld\n", sysconf(_SC_NPROCESSORS_ONLN),
           sysconf(_SC_NPROCESSORS_CONF));
    printf("get_nprocs %d conf %d\n", get_nprocs(), get_nprocs_conf());
    cpu_set_t set;
    CPU_ZERO(&set);
    int r = sched_getaffinity(0, sizeof set, &set);
    printf("sched_getaffinity %d count %d first cpus", r, CPU_COUNT(&set));
    for (int cpu = 0; cpu < 16; cpu++)
        if (CPU_ISSET(cpu, &set))
            printf(" %d", cpu);
    printf("\n");
    unsigned long raw[16] = {0};
    printf("raw getaffinity %ld mask %#lx\n", syscall(SYS_sched_getaffinity, 0, sizeof raw, raw),
           raw[0]);
    show("online");
    show("possible");
    show("present");
    show("offline");
    struct dirent **names;
    int n = scandir(CPUS, &names, NULL, alphasort), cpus = 0;
    for (int i = 0; i < n; i++) {
        int cpu;
        char end;
        if (sscanf(names[i]->d_name, "cpu%d%c", &cpu, &end) == 1) {
            printf("entry %s\n", names[i]->d_name);
            cpus++;
        }
    }
    for (int cpu = 0; cpu < cpus; cpu++)
        for (int index = 0;; index++) {
            char name[128];
            snprintf(name, sizeof name, "cpu%d/cache/index%d", cpu, index);
            char path[512];
            snprintf(path, sizeof path, CPUS "/%s", name);
            if (access(path, F_OK) != 0)
                break;
            snprintf(name, sizeof name, "cpu%d/cache/index%d/shared_cpu_map", cpu, index);
            show(name);
            snprintf(name, sizeof name, "cpu%d/cache/index%d/shared_cpu_list", cpu, index);
            show(name);
        }
    return 0;
}

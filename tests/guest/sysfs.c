/* The CPUs as a program finds them: sysconf's counts (glibc reads /sys/devices/system/cpu),
 * sched_getaffinity, and the files of /sys/devices/system/cpu: the CPU lists, the cpu<N>
 * entries, and each cache index's attributes. Prints what it read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CPUS "/sys/devices/system/cpu"

static void show(const char *path)
{
    char line[256] = "";
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("%s: missing\n", path);
        return;
    }
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = 0;
    fclose(f);
    line[strcspn(line, "\n")] = 0;
    printf("%s: '%s'\n", path + strlen(CPUS) + 1, line);
}

int main(void)
{
    static const char *lists[] = {"online", "possible", "present", "offline"};
    static const char *attrs[] = {"level", "type", "size", "coherency_line_size",
                                  "ways_of_associativity", "number_of_sets", "shared_cpu_map",
                                  "shared_cpu_list"};
    char path[512];
    cpu_set_t set;
    printf("online %ld configured %ld\n", sysconf(_SC_NPROCESSORS_ONLN),
           sysconf(_SC_NPROCESSORS_CONF));
    sched_getaffinity(0, sizeof set, &set);
    printf("affinity %d\n", CPU_COUNT(&set));
    for (unsigned i = 0; i < sizeof lists / sizeof *lists; i++) {
        snprintf(path, sizeof path, CPUS "/%s", lists[i]);
        show(path);
    }
    struct dirent **names;
    int n = scandir(CPUS, &names, NULL, alphasort);
    for (int i = 0; i < n; i++)
        if (strncmp(names[i]->d_name, "cpu", 3) == 0)
            printf("entry %s\n", names[i]->d_name);
    for (int index = 0;; index++) {
        snprintf(path, sizeof path, CPUS "/cpu0/cache/index%d", index);
        if (access(path, F_OK) != 0)
            break;
        for (unsigned a = 0; a < sizeof attrs / sizeof *attrs; a++) {
            snprintf(path, sizeof path, CPUS "/cpu0/cache/index%d/%s", index, attrs[a]);
            show(path);
        }
    }
    return 0;
}

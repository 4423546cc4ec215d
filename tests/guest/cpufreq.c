/* What a program learns of its CPUs' capacities and clocks from sysfs, as Android's and
   Linux's tools read them: for each online CPU its cpu_capacity, where its cpufreq link goes,
   and its policy's clocks (kHz), governor and CPUs. A file that cannot be read prints as its
   errno.

   usage: cpufreq */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CPUS "/sys/devices/system/cpu"

static void show(int cpu, const char *file) {
    char name[128], text[128] = "";
    snprintf(name, sizeof name, CPUS "/cpu%d/%s", cpu, file);
    FILE *f = fopen(name, "r");
    if (!f) {
        printf("cpu%d %s: errno %d\n", cpu, file, errno);
        return;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    printf("cpu%d %s: \"", cpu, file);
    for (size_t i = 0; i < n; i++) printf(text[i] == '\n' ? "\\n" : "%c", text[i]);
    printf("\"\n");
}

int main(void) {
    static const char *files[] = {
        "cpu_capacity", "cpufreq/cpuinfo_min_freq", "cpufreq/cpuinfo_max_freq",
        "cpufreq/scaling_cur_freq", "cpufreq/scaling_min_freq", "cpufreq/scaling_max_freq",
        "cpufreq/scaling_available_frequencies", "cpufreq/scaling_governor",
        "cpufreq/scaling_available_governors", "cpufreq/affected_cpus", "cpufreq/related_cpus",
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < cpus; cpu++) {
        char name[64], link[64];
        snprintf(name, sizeof name, CPUS "/cpu%d/cpufreq", cpu);
        ssize_t n = readlink(name, link, sizeof link - 1);
        if (n < 0)
            printf("cpu%d cpufreq: errno %d\n", cpu, errno);
        else
            printf("cpu%d cpufreq -> %.*s\n", cpu, (int)n, link);
        for (size_t k = 0; k < sizeof files / sizeof *files; k++) show(cpu, files[k]);
    }
    return 0;
}

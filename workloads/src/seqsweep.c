/* seqsweep [KIB] [PASSES]: sequential read-modify-write sweeps over an array of KIB KiB
 * (default 256) of 64-bit words, PASSES times (default 8).
 *
 * a[i] starts as i * 0x9e3779b97f4a7c15. Every pass runs a sum through the array, carried
 * across passes: s += a[i], then a[i] = s ^ (s >> 32) (the shift folds high bits into low ones,
 * so the checksum does not fill up with zero low bits as repeated plain prefix sums would).
 * Each element is loaded and stored once per pass, and the checksum (the final s) depends on
 * every load and every store, in order; the loop-carried dependence is one add. */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 3)
        usage(argv[0], "[KIB] [PASSES]");
    uint64_t kib = arg_u64(argc, argv, 1, "KIB", 256, 1, UINT64_C(1) << 20);
    uint64_t passes = arg_u64(argc, argv, 2, "PASSES", 8, 0, UINT64_C(1) << 20);
    uint64_t n = kib * 1024 / sizeof(uint64_t);
    uint64_t *a = malloc(n * sizeof(uint64_t));
    if (a == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++)
        a[i] = i * UINT64_C(0x9e3779b97f4a7c15);
    uint64_t s = 0;
    for (uint64_t p = 0; p < passes; p++) {
        for (uint64_t i = 0; i < n; i++) {
            s += a[i];
            a[i] = s ^ (s >> 32);
        }
    }
    printf("seqsweep: kib=%" PRIu64 " passes=%" PRIu64 " checksum=%016" PRIx64 "\n", kib, passes,
           s);
    return 0;
}

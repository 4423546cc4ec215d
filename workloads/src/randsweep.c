/* randsweep [KIB] [ACCESSES]: random read-modify-write accesses to an array of KIB KiB
 * (default 256) of 64-bit words, ACCESSES times (default 262144).
 *
 * a[i] starts as i. Each access draws x from a fixed-seed xorshift64, picks i from x's high
 * half, adds x to a[i] and adds the new a[i] to the checksum. */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 3)
        usage(argv[0], "[KIB] [ACCESSES]");
    uint64_t kib = arg_u64(argc, argv, 1, "KIB", 256, 1, UINT64_C(1) << 20);
    uint64_t accesses = arg_u64(argc, argv, 2, "ACCESSES", 262144, 0, UINT64_C(1) << 40);
    uint64_t n = kib * 1024 / sizeof(uint64_t);
    uint64_t *a = malloc(n * sizeof(uint64_t));
    if (a == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++)
        a[i] = i;
    uint64_t x = XORSHIFT_SEED, s = 0;
    for (uint64_t k = 0; k < accesses; k++) {
        x = xorshift64(x);
        uint64_t i = reduce(x, n);
        a[i] += x;
        s += a[i];
    }
    printf("randsweep: kib=%" PRIu64 " accesses=%" PRIu64 " checksum=%016" PRIx64 "\n", kib,
           accesses, s);
    return 0;
}

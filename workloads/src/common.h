/* Shared helpers for the bundled workloads: argument parsing and a fixed-seed PRNG.
 *
 * Everything here is deterministic and locale-free: numbers are parsed by hand (decimal digits
 * only), and output uses printf with integer conversions only. tests/workload_expectations.py
 * reimplements each program's arithmetic in Python; keep the two in step. */
#ifndef HMK_WORKLOAD_COMMON_H
#define HMK_WORKLOAD_COMMON_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Exit status for a bad command line (as in many Unix tools). */
#define USAGE_STATUS 2

/* Marsaglia's xorshift64 seed and step ("Xorshift RNGs", 2003, the 13/7/17 triple). */
#define XORSHIFT_SEED UINT64_C(88172645463325252)

static inline uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* An index in [0, n) from the high 32 bits of x, without a division (Lemire's multiply-shift);
 * n must be below 2^32. */
static inline uint64_t reduce(uint64_t x, uint64_t n)
{
    return ((x >> 32) * n) >> 32;
}

__attribute__((noreturn, unused)) static void usage(const char *prog, const char *synopsis)
{
    fprintf(stderr, "usage: %s %s\n", prog, synopsis);
    exit(USAGE_STATUS);
}

/* argv[i] as a decimal integer in [min, max], or def when argc <= i. Anything else (a sign, a
 * non-digit, an empty string, a value out of range) is a usage error. */
__attribute__((unused)) static uint64_t arg_u64(int argc, char **argv, int i, const char *name,
                                                uint64_t def, uint64_t min, uint64_t max)
{
    if (argc <= i)
        return def;
    const char *s = argv[i];
    uint64_t v = 0;
    if (*s == '\0')
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            goto bad;
        uint64_t d = (uint64_t)(*s - '0');
        if (d > max || v > (max - d) / 10)
            goto bad;
        v = v * 10 + d;
    }
    if (v < min)
        goto bad;
    return v;
bad:
    fprintf(stderr, "%s: %s must be an integer in [%" PRIu64 ", %" PRIu64 "], not '%s'\n", argv[0],
            name, min, max, argv[i]);
    exit(USAGE_STATUS);
}

#endif

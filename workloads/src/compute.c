/* compute [N] [LIMIT]: a floating-point kernel and an integer kernel.
 *
 * FP: C = A x B for N x N doubles (default 64), A[i][j] = ((31i + 17j) mod 101) / 7 and
 * B[i][j] = ((13i + 29j) mod 97) / 3 - 16, each C[i][j] summed over k in ascending order from
 * 0.0. Built with -ffp-contract=off, so every product and sum is rounded (no fused
 * multiply-add) and the result is exactly IEEE double arithmetic in this order. Prints an FNV-1a
 * hash of the bit patterns of C (row-major) and the trace of C truncated to thousandths.
 *
 * Integer: a sieve of Eratosthenes up to LIMIT (default 200000); prints the number of primes
 * <= LIMIT and their sum. */
#include <string.h>

#include "common.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static void oom(const char *prog)
{
    fprintf(stderr, "%s: out of memory\n", prog);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc > 3)
        usage(argv[0], "[N] [LIMIT]");
    uint64_t n = arg_u64(argc, argv, 1, "N", 64, 1, 2048);
    uint64_t limit = arg_u64(argc, argv, 2, "LIMIT", 200000, 2, UINT64_C(0xffffffff));

    double *a = malloc(n * n * sizeof(double));
    double *b = malloc(n * n * sizeof(double));
    double *c = malloc(n * n * sizeof(double));
    if (a == NULL || b == NULL || c == NULL)
        oom(argv[0]);
    for (uint64_t i = 0; i < n; i++) {
        for (uint64_t j = 0; j < n; j++) {
            a[i * n + j] = (double)((31 * i + 17 * j) % 101) / 7.0;
            b[i * n + j] = (double)((13 * i + 29 * j) % 97) / 3.0 - 16.0;
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        for (uint64_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (uint64_t k = 0; k < n; k++)
                sum += a[i * n + k] * b[k * n + j];
            c[i * n + j] = sum;
        }
    }
    uint64_t hash = FNV_OFFSET;
    int64_t trace_milli = 0;
    for (uint64_t i = 0; i < n * n; i++) {
        uint64_t bits;
        memcpy(&bits, &c[i], sizeof bits);
        hash = (hash ^ bits) * FNV_PRIME;
    }
    for (uint64_t i = 0; i < n; i++)
        trace_milli += (int64_t)(c[i * n + i] * 1000.0);

    unsigned char *composite = calloc(limit + 1, 1);
    if (composite == NULL)
        oom(argv[0]);
    uint64_t primes = 0, prime_sum = 0;
    for (uint64_t p = 2; p <= limit; p++) {
        if (composite[p])
            continue;
        primes++;
        prime_sum += p;
        for (uint64_t q = p * p; q <= limit; q += p)
            composite[q] = 1;
    }
    printf("compute: n=%" PRIu64 " matmul_hash=%016" PRIx64 " trace_milli=%" PRId64 "\n", n, hash,
           trace_milli);
    printf("compute: limit=%" PRIu64 " primes=%" PRIu64 " prime_sum=%" PRIu64 "\n", limit, primes,
           prime_sum);
    return 0;
}

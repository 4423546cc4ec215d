/* pchase [KIB] [STEPS]: a dependent pointer chase through KIB KiB (default 256) of 64-byte
 * nodes (one cache line each), STEPS steps (default 1000000); prints the final node index.
 *
 * The nodes' next indices form one random cycle through all nodes (Sattolo's algorithm, with
 * j drawn from a fixed-seed xorshift64), so the chase visits every node before repeating and
 * each step is a load whose address depends on the previous load. */
#include "common.h"

struct node {
    uint64_t next;
    uint64_t pad[7];
};

int main(int argc, char **argv)
{
    if (argc > 3)
        usage(argv[0], "[KIB] [STEPS]");
    uint64_t kib = arg_u64(argc, argv, 1, "KIB", 256, 1, UINT64_C(1) << 20);
    uint64_t steps = arg_u64(argc, argv, 2, "STEPS", 1000000, 0, UINT64_C(1) << 40);
    uint64_t n = kib * 1024 / sizeof(struct node);
    struct node *nodes = malloc(n * sizeof(struct node));
    if (nodes == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++)
        nodes[i].next = i;
    uint64_t x = XORSHIFT_SEED;
    for (uint64_t i = n - 1; i > 0; i--) {
        x = xorshift64(x);
        uint64_t j = reduce(x, i); /* j in [0, i): Sattolo, so one cycle */
        uint64_t t = nodes[i].next;
        nodes[i].next = nodes[j].next;
        nodes[j].next = t;
    }
    uint64_t idx = 0;
    for (uint64_t k = 0; k < steps; k++)
        idx = nodes[idx].next;
    printf("pchase: kib=%" PRIu64 " nodes=%" PRIu64 " steps=%" PRIu64 " final=%" PRIu64 "\n", kib,
           n, steps, idx);
    return 0;
}

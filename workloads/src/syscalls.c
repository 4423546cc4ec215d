/* syscalls [N]: N iterations (default 10000) of two cheap system calls, getppid() and a
 * 0-byte write(1, buf, 0), so 2N syscalls in the loop; prints N and how many of the writes
 * returned 0 (all of them, on Linux). getppid's value depends on the host, so it is not printed. */
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[N]");
    uint64_t n = arg_u64(argc, argv, 1, "N", 10000, 0, UINT64_C(1) << 40);
    static const char buf[1];
    uint64_t ok = 0;
    for (uint64_t i = 0; i < n; i++) {
        (void)getppid();
        if (write(1, buf, 0) == 0)
            ok++;
    }
    printf("syscalls: n=%" PRIu64 " zero_writes_ok=%" PRIu64 "\n", n, ok);
    return 0;
}

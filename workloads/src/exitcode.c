/* exitcode [STATUS]: prints nothing and exits with STATUS (default 3). The kernel keeps the low
 * 8 bits, so the observed status is STATUS mod 256. */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[STATUS]");
    exit((int)arg_u64(argc, argv, 1, "STATUS", 3, 0, 0x7fffffff));
}

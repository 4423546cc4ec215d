/* hello [NAME]: prints "hello, NAME" (default "world") and exits with status 0. */
#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 2)
        usage(argv[0], "[NAME]");
    printf("hello, %s\n", argc > 1 ? argv[1] : "world");
    return 0;
}

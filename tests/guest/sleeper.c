/* Sleeps argv[1] seconds with nanosleep, then says how it went. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    struct timespec t = {argc > 1 ? atol(argv[1]) : 1, 0};
    int r = nanosleep(&t, NULL);
    printf("nanosleep %d\n", r);
    return 0;
}

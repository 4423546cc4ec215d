/* A thread bomb, then a fork bomb: threads (sleeping) until pthread_create fails, processes
 * until fork fails (at once here: the threads hold every slot); both must fail with EAGAIN, as
 * Linux's do at their limits, not end the program. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *sleeper(void *a)
{
    (void)a;
    pause();
    return NULL;
}

int main(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 65536);
    int threads = 0, processes = 0, r;
    pthread_t t;
    while ((r = pthread_create(&t, &at, sleeper, NULL)) == 0 && threads < 100000)
        threads++;
    printf("threads stopped: %d (made some: %d)\n", r, threads > 0);
    pid_t p;
    while ((p = fork()) > 0 && processes < 100000)
        processes++;
    if (p == 0) {
        pause();
        _exit(0);
    }
    printf("fork stopped: %d (made some: %d)\n", errno, processes > 0);
    return 0;
}

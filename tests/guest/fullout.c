/* Writes to its standard output when the host cannot take the bytes, SIGPIPE ignored: says
   what write answered on its standard error. */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
int main(void) {
    signal(SIGPIPE, SIG_IGN);
    ssize_t r = write(1, "hello\n", 6);
    fprintf(stderr, "write: %zd %s\n", r, r < 0 ? strerror(errno) : "");
    return 0;
}

/* What the file-call guest programs share: results as -errno, lines printed a value at a time
 * (so that calls happen in the order they are written, whatever order a compiler evaluates a
 * call's arguments in: the programs are also run natively, on this machine's Linux), and a
 * fresh directory to work in under argv[1] (default /tmp). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int e(long r) { return r < 0 ? -errno : (int)r; }

static int said;

/* "label value", after a space if the line has something already */
static void say(const char *label, long value)
{
    printf(said ? " %s %ld" : "%s %ld", label, value);
    said = 1;
}

static void says(const char *label, const char *text)
{
    printf(said ? " %s %s" : "%s %s", label, text);
    said = 1;
}

static void end(void)
{
    printf("\n");
    said = 0;
}

/* a fresh directory made by mkdtemp under argv[1] (or /tmp), and the process in it */
static char *fresh_dir(int argc, char **argv, const char *name)
{
    static char dir[256];
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(dir, sizeof dir, "%s/%s.XXXXXX", argc > 1 ? argv[1] : "/tmp", name);
    if (!mkdtemp(dir) || chdir(dir))
        exit(1);
    return dir;
}

static void cleaned(const char *dir)
{
    chdir("/");
    say("cleaned", e(rmdir(dir)));
    end();
}

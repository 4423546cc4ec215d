/* siaddr CASE: one faulting access, and the SIGSEGV handler prints its si_addr (Linux gives the
 * faulting byte's address, FAR_EL1). CASE: base, offset, index (a register index, sign-extended
 * and shifted), post (post-indexed: the base alone), pair (ldp), fetch (a jump to unmapped code). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    printf("signal %d code %d addr %#lx\n", sig, si->si_code, (unsigned long)si->si_addr);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    const char *c = argc > 1 ? argv[1] : "base";
    unsigned long base = 0x12345678, out = 0;
    long index = -3;
    if (!strcmp(c, "base"))
        __asm__ volatile("ldrb %w0, [%1]" : "=r"(out) : "r"(base) : "memory");
    else if (!strcmp(c, "offset"))
        __asm__ volatile("ldr %0, [%1, #16]" : "=r"(out) : "r"(base + 0x988) : "memory");
    else if (!strcmp(c, "index"))
        __asm__ volatile("ldr %0, [%1, %w2, sxtw #3]" : "=r"(out) : "r"(base), "r"(index) : "memory");
    else if (!strcmp(c, "post"))
        __asm__ volatile("ldr %0, [%1], #64" : "=r"(out), "+r"(base) : : "memory");
    else if (!strcmp(c, "pair"))
        __asm__ volatile("stp xzr, xzr, [%0, #-32]!" : "+r"(base) : : "memory");
    else if (!strcmp(c, "fetch"))
        ((void (*)(void))0x76543210UL)();
    printf("no fault (%lu)\n", out);
    return 1;
}

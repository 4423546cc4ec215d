/*
 * tiny: the smallest static program, for execve. Built twice: with MARK
 * defined its first instruction is the kcount END marker (hint #0x61), so a
 * window opened just before execve closes at the first user instruction of the
 * new image. It exits at once without touching memory.
 *
 * Build: aarch64-linux-gnu-gcc -O2 -static -nostdlib -o tiny_m -DMARK tiny.c
 */
void _start(void)
{
#ifdef MARK
    __asm__ volatile("hint #0x61");
#endif
    __asm__ volatile("mov x0, #0\n\t"
                     "mov x8, #94\n\t" /* exit_group(0) */
                     "svc #0");
    __builtin_unreachable();
}

/*
 * hello: a static C-library program for execve, whose entry point is the
 * kcount END marker followed by a jump to the C library's own entry.
 *
 * Build: aarch64-linux-gnu-gcc -O2 -static -Wl,-e,lp_entry -o hello_m hello.c
 */
__asm__(".text\n"
        ".global lp_entry\n"
        ".type lp_entry, %function\n"
        "lp_entry:\n"
        "\thint #0x61\n"
        "\tb _start\n");

int main(void) { return 0; }

/* hmmem: frames and address tokens through core-kernel calls (runs on hmk only; hmcalls.h).
 *
 *   hmmem [after-revoke]
 *
 * 1. a frame: allocated, mapped read/write, written and read back, remapped (refused: one
 *    mapping per frame), made read-only, unmapped;
 * 2. an address token for a notification: its kernel page mapped read-only, so the pending bits
 *    are read with plain loads, no kernel call; a wait takes them (the word reads 0 again);
 *    the token is revoked;
 * 3. bad calls: a mapping outside the window, an unaligned one, a frame slot that is empty, a
 *    token for something that is not a notification;
 * with "after-revoke", the program then reads through the revoked token: SIGSEGV (status 139). */
#include "hmcalls.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FRAME_SLOT 10
#define NTFN_SLOT 11
#define TOKEN_SLOT 12

int main(int argc, char **argv)
{
    volatile uint64_t *page = (volatile uint64_t *)HM_MAP_WINDOW;
    long alloc = hm_call(HM_FRAME_ALLOC, FRAME_SLOT, 0, 0, 0);
    long map = hm_call(HM_VSPACE_MAP, FRAME_SLOT, (long)page, HM_MAP_WRITABLE, 0);
    uint64_t before = page[1];
    page[1] = 0x1234;
    long again = hm_call(HM_VSPACE_MAP, FRAME_SLOT, (long)page + 4096, HM_MAP_WRITABLE, 0);
    long ro = hm_call(HM_VSPACE_PROTECT, FRAME_SLOT, 0, 0, 0);
    uint64_t after = page[1]; /* reads still work */
    long unmap = hm_call(HM_VSPACE_UNMAP, FRAME_SLOT, 0, 0, 0);
    printf("frame: alloc %ld, map %ld, zeroed %llu, wrote and read %#llx, remap %ld, "
           "read-only %ld, unmap %ld\n",
           alloc, map, (unsigned long long)before, (unsigned long long)after, again, ro, unmap);

    long made = hm_call(HM_NTFN_CREATE, NTFN_SLOT, 0, 0, 0);
    long addr = hm_call(HM_TOKEN_GRANT, NTFN_SLOT, TOKEN_SLOT, HM_MAP_WINDOW + 0x10000, 0);
    volatile uint64_t *word = (volatile uint64_t *)addr;
    hm_call(HM_NOTIFY, NTFN_SLOT, 0x99, 0, 0);
    uint64_t seen1 = *word;
    hm_call(HM_NOTIFY, NTFN_SLOT, 0x100, 0, 0);
    uint64_t seen2 = *word;
    long taken = hm_call(HM_WAIT, NTFN_SLOT, 0, 0, 0);
    uint64_t seen3 = *word;
    long in_window = addr >= (long)HM_MAP_WINDOW && addr < (long)HM_MAP_WINDOW + 0x11000;
    long revoke = hm_call(HM_TOKEN_REVOKE, TOKEN_SLOT, 0, 0, 0);
    printf("token: create %ld, grant in window %ld, word %#llx then %#llx, wait %#lx, word %llu, "
           "revoke %ld\n",
           made, in_window, (unsigned long long)seen1, (unsigned long long)seen2,
           (unsigned long)taken, (unsigned long long)seen3, revoke);

    printf("bad: map outside %ld, unaligned %ld, empty slot %ld, token of a frame %ld\n",
           hm_call(HM_VSPACE_MAP, FRAME_SLOT, 0x10000, 0, 0),
           hm_call(HM_VSPACE_MAP, FRAME_SLOT, (long)page + 8, 0, 0),
           hm_call(HM_VSPACE_MAP, 30, (long)page, 0, 0),
           hm_call(HM_TOKEN_GRANT, FRAME_SLOT, 13, HM_MAP_WINDOW + 0x20000, 0));
    fflush(stdout);
    if (argc > 1 && !strcmp(argv[1], "after-revoke"))
        return (int)*word; /* the token is gone: SIGSEGV */
    return 0;
}

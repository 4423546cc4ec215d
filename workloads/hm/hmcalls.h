/* HM-native core-kernel calls for bundled programs that talk to hmk's core kernel directly
 * (hmk/kernel/hmcalls.py is the other side and the reference for the numbers and semantics).
 * An SVC with x8 = a number from HM_CALL_BASE up is a core-kernel call, not a Linux syscall;
 * arguments in x0-x3, the result in x0 (negative: a Linux-style errno). These programs run on
 * hmk only: Linux and qemu-aarch64 answer these numbers with -ENOSYS. */
#ifndef HMK_HMCALLS_H
#define HMK_HMCALLS_H

#include <stdint.h>

#define HM_CALL_BASE 0x1000
enum {
    HM_THREAD_CREATE = HM_CALL_BASE, /* (entry, stack top, arg, priority) -> thread id */
    HM_THREAD_YIELD,                 /* () -> 0 */
    HM_THREAD_EXIT,                  /* () -> does not return; the last thread ends the process */
    HM_THREAD_SET_PRIORITY,          /* (thread, priority) -> 0 */
    HM_THREAD_SUSPEND,               /* (thread) -> 0 */
    HM_THREAD_RESUME,                /* (thread) -> 0 */
    HM_THREAD_SELF,                  /* () -> thread id */
    HM_EP_CREATE = HM_CALL_BASE + 0x10, /* (slot, handler, stacks, stacks' bytes) -> 0 */
    HM_IPC_CALL,                        /* (slot, a0, a1, a2) -> the handler's reply */
    HM_IPC_REPLY,                       /* (value) -> returns in the caller, not here */
    HM_EP_CREATE_DOMAIN, /* as HM_EP_CREATE, served in a new domain running this program */
    HM_EP_DESTROY,       /* (slot) -> 0; later calls get -EPIPE (a dead endpoint) */
    HM_CAP_DERIVE = HM_CALL_BASE + 0x20, /* (source slot, destination slot, rights) -> 0 */
    HM_CAP_DELETE,                       /* (slot) -> 0 */
    HM_CAP_REVOKE,                       /* (slot) -> slots deleted */
    HM_NTFN_CREATE = HM_CALL_BASE + 0x30, /* (slot) -> 0: a notification */
    HM_NOTIFY,                            /* (slot, bits below 2^63) -> 0 */
    HM_WAIT,                              /* (slot) -> the pending bits; blocks while none */
    HM_FRAME_ALLOC = HM_CALL_BASE + 0x40, /* (slot) -> 0: a zeroed 4 KiB frame */
    HM_VSPACE_MAP,                        /* (frame slot, va, HM_MAP_* flags) -> 0 */
    HM_VSPACE_UNMAP,                      /* (frame slot) -> 0 */
    HM_VSPACE_PROTECT,                    /* (frame slot, HM_MAP_* flags) -> 0 */
    HM_TOKEN_GRANT,  /* (notification slot, token slot, va, writable) -> the record's address */
    HM_TOKEN_REVOKE, /* (token slot) -> 0 */
};

/* frames and tokens are mapped only in [HM_MAP_WINDOW, HM_MAP_WINDOW_END), page-aligned */
#define HM_MAP_WINDOW 0x600000000000UL
#define HM_MAP_WINDOW_END 0x700000000000UL
#define HM_MAP_WRITABLE 1
#define HM_MAP_EXECUTABLE 2

/* a capability of another type than the call needs (hmk/kernel/cspace.py EBADTYPE): -200 */
#define HM_EBADTYPE 200

/* capability rights (hmk/kernel/cspace.py) */
#define HM_READ 1
#define HM_WRITE 2
#define HM_GRANT 4
#define HM_CALL 8

/* An activation's stack (HM: 16 KiB per activation). */
#define HM_ACTIVATION_STACK 16384

static inline long hm_call(long nr, long a0, long a1, long a2, long a3)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x3 __asm__("x3") = a3;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
                     : "memory", "x4", "x5", "x6", "x7", "x9", "x10", "x11", "x12", "x13", "x14",
                       "x15", "x16", "x17", "x18", "cc");
    return x0;
}

#endif

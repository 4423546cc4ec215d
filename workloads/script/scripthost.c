/* scripthost: the guest side of a Python-scripted process (hmk.api, docs/scripting.md).
 *
 * It has no C library: it asks the simulator for its next request through a private SVC (the
 * "channel", x8 = SCRIPT_CHANNEL, a number no Linux uses; hmk's core kernel hands it to hmk.api
 * and charges nothing for it), then does what it is told, with real instructions the model
 * times like any program's, and asks again:
 *
 *   x9 = REQ_SYSCALL  a Linux syscall: x8 = its number, x0-x5 its arguments
 *   x9 = REQ_TOUCH    x0 = address, x1 = length, x2 = stride: a one-byte load (x3 = 0) or a
 *                     load and store of the same byte (x3 = 1, contents kept) every stride bytes
 *   x9 = REQ_COMPUTE  x0 iterations of a two-instruction loop (subs; b.ne)
 *
 * x10 is a count of the same loop to run first: the extra user-side cost of a libc wrapper.
 * The result of each request (x0) goes back with the next channel call (x1 = TAG_RESULT); the
 * first call (x1 = TAG_HELLO) gives the scratch buffer where the script's strings and data go.
 * Under Linux or qemu-aarch64 the channel answers -ENOSYS, and the program exits with status 2. */

#define SCRIPT_CHANNEL 0x484d4b00L /* "HMK\0" */
#define TAG_HELLO 0
#define TAG_RESULT 1
#define REQ_SYSCALL 0
#define REQ_TOUCH 1
#define REQ_COMPUTE 2
#define SCRATCH_BYTES (1L << 20)
#define ENOSYS 38
#define NR_EXIT_GROUP 94

static unsigned char scratch[SCRATCH_BYTES] __attribute__((aligned(4096)));

struct request {
    long a0, a1, a2, a3, a4, a5, nr, kind, extra;
};

static inline void channel(long value, long tag, struct request *r)
{
    register long x0 __asm__("x0") = value;
    register long x1 __asm__("x1") = tag;
    register long x2 __asm__("x2") = SCRATCH_BYTES;
    register long x3 __asm__("x3"), x4 __asm__("x4"), x5 __asm__("x5");
    register long x8 __asm__("x8") = SCRIPT_CHANNEL;
    register long x9 __asm__("x9"), x10 __asm__("x10");
    __asm__ volatile("svc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "=r"(x3), "=r"(x4), "=r"(x5), "+r"(x8),
                       "=r"(x9), "=r"(x10)
                     :
                     : "memory");
    r->a0 = x0, r->a1 = x1, r->a2 = x2, r->a3 = x3, r->a4 = x4, r->a5 = x5;
    r->nr = x8, r->kind = x9, r->extra = x10;
}

static inline long syscall6(const struct request *r)
{
    register long x0 __asm__("x0") = r->a0;
    register long x1 __asm__("x1") = r->a1;
    register long x2 __asm__("x2") = r->a2;
    register long x3 __asm__("x3") = r->a3;
    register long x4 __asm__("x4") = r->a4;
    register long x5 __asm__("x5") = r->a5;
    register long x8 __asm__("x8") = r->nr;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5), "r"(x8)
                     : "memory");
    return x0;
}

static inline void spin(long n)
{
    if (n > 0)
        __asm__ volatile("1: subs %0, %0, #1\n\tb.ne 1b" : "+r"(n) : : "cc");
}

static long touch(unsigned char *p, long length, long stride, long write)
{
    volatile unsigned char *v = p, *end = p + length;
    long sum = 0;
    if (stride <= 0)
        return -22; /* EINVAL */
    if (write)
        for (; v < end; v += stride)
            *v = *v;
    else
        for (; v < end; v += stride)
            sum += *v;
    return sum & 0xff;
}

void _start(void) __attribute__((noreturn));
void _start(void)
{
    struct request r;
    long result;
    channel((long)scratch, TAG_HELLO, &r);
    if (r.a0 == -ENOSYS && r.nr == SCRIPT_CHANNEL) { /* not under hmk.api */
        r.nr = NR_EXIT_GROUP, r.a0 = 2;
        syscall6(&r);
    }
    for (;;) {
        spin(r.extra);
        if (r.kind == REQ_TOUCH)
            result = touch((unsigned char *)r.a0, r.a1, r.a2, r.a3);
        else if (r.kind == REQ_COMPUTE)
            spin(r.a0), result = 0;
        else
            result = syscall6(&r);
        channel(result, TAG_RESULT, &r);
    }
}

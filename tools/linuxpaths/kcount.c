/*
 * kcount: a QEMU TCG plugin (plugin API version 1, as in QEMU 7.x) that counts
 * the instructions an AArch64 guest kernel executes, per instruction address
 * and per function (inclusive of callees), inside windows that the guest's
 * user program opens and closes with marker instructions.
 *
 * Markers are unallocated HINT instructions (architecturally NOPs) at EL0:
 *   hint #0x60  BEGIN  open a window (remember every counter's value)
 *   hint #0x61  END    close it (add what was counted since BEGIN)
 *   hint #0x62  DUMP   write the counts of the windows closed since the last
 *                      DUMP, then clear them
 * A window in which the root interrupt handler ran (the timer tick, mostly) is
 * accumulated apart from the others, so that a path can be counted without it.
 *
 * Per kernel instruction address (inline TCG ops, so only instructions that
 * execute count): executions; memory accesses as QEMU's memory instrumentation
 * sees them (a pair load is two; reads and writes are told apart by the
 * parser, which decodes the instruction word: in QEMU 7.2 the read/write
 * filter of memory instrumentation did not match loads as reads); and, for a call instruction (BL, BLR), the kernel instructions
 * executed by its callees.
 *
 * Per function: inclusive instructions and calls, from a shadow call stack
 * kept per kernel task. Calls are BL/BLR; a function entered without a call
 * (a tail call, an exception vector branching to its handler) gets a frame
 * that ends with its caller's. Frames end at the return site (the instruction
 * after the call), at ERET, or are dropped when the task next runs user code.
 * The task is told by the address from which cpu_switch_to loads the next
 * task's saved registers; time spent in other tasks is not counted in a
 * suspended frame. Recursion counts the outermost activation only.
 *
 * Arguments: out=<file>, cfg=<file>. The cfg file has one item a line:
 *   F <hex>  function start (functions are numbered in the order given)
 *   R <hex>  return site: the instruction after a BL or BLR
 *   V <hex>  exception vector entry for exceptions taken from EL1
 *   S <hex>  the load in cpu_switch_to that reads the next task's context
 *   N <hex>  ret_from_fork (a new task's first instruction)
 *   Q <hex>  root interrupt handler
 *
 * Output (text):
 *   W <window> <kernel insns> <user insns> <irqs>   one line per closed window
 *   D <dump> <0|1> <windows> <kernel insns> <user insns>
 *                    0: windows without an interrupt, 1: windows with one;
 *                    each D line is followed by its P and F lines
 *   P <pc> <execs> <accesses> <callee insns>        per address (hex pc)
 *   F <function number> <inclusive insns> <calls>
 *   E <dump>                                        end of a dump
 *   I <pc> <insn word>               at exit, every kernel address translated
 *   X <name> <value>                 at exit, bookkeeping counters
 *
 * The declarations below are written from the documented plugin API; this
 * file does not include QEMU's header so that it builds without QEMU's source.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef uint32_t qemu_plugin_meminfo_t;
typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} kc_qemu_info;

enum kc_cb_flags { KC_CB_NO_REGS = 0 };
enum kc_mem_rw { KC_MEM_RW = 3 };
enum kc_op { KC_INLINE_ADD_U64 = 0 };

typedef void (*kc_tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*kc_vcpu_udata_cb)(unsigned int, void *);
typedef void (*kc_udata_cb)(qemu_plugin_id_t, void *);
typedef void (*kc_mem_cb)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void *);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, kc_tb_trans_cb);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *,
                                                        size_t);
extern const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum kc_op,
                                                       void *, uint64_t);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *,
                                                   kc_vcpu_udata_cb, enum kc_cb_flags,
                                                   void *);
extern void qemu_plugin_register_vcpu_mem_inline(struct qemu_plugin_insn *, enum kc_mem_rw,
                                                 enum kc_op, void *, uint64_t);
extern void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *, kc_mem_cb,
                                             enum kc_cb_flags, enum kc_mem_rw, void *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, kc_udata_cb, void *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define KERNEL_BASE 0xffff000000000000ULL
#define HINT(imm) (0xd503201fU | ((uint32_t)(imm) << 5))
#define M_BEGIN 0x60
#define M_END 0x61
#define M_DUMP 0x62
#define IS_BL(w) (((w) & 0xfc000000U) == 0x94000000U)
#define IS_BLR(w) (((w) & 0xfffffc1fU) == 0xd63f0000U)
#define IS_ERET(w) ((w) == 0xd69f03e0U)
#define NONE UINT32_MAX

static void *zalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "kcount: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- address -> value map, open addressing (value 0 means absent) ---- */
typedef struct {
    uint64_t *key;
    uint32_t *val;
    uint64_t cap, used;
} map;

static uint64_t hash(uint64_t k) { return (k >> 2) * 0x9e3779b97f4a7c15ULL; }

static void map_put_raw(map *m, uint64_t k, uint32_t v)
{
    uint64_t i = hash(k) & (m->cap - 1);
    while (m->val[i] != 0 && m->key[i] != k) {
        i = (i + 1) & (m->cap - 1);
    }
    if (m->val[i] == 0) {
        m->used++;
    }
    m->key[i] = k;
    m->val[i] = v;
}

static void map_set(map *m, uint64_t k, uint32_t v)
{
    if (2 * (m->used + 1) > m->cap) {
        map old = *m;
        m->cap = old.cap ? old.cap * 2 : 1024;
        m->key = zalloc(m->cap, sizeof *m->key);
        m->val = zalloc(m->cap, sizeof *m->val);
        m->used = 0;
        for (uint64_t i = 0; i < old.cap; i++) {
            if (old.val[i]) {
                map_put_raw(m, old.key[i], old.val[i]);
            }
        }
        free(old.key);
        free(old.val);
    }
    map_put_raw(m, k, v);
}

static uint32_t map_get(const map *m, uint64_t k)
{
    if (!m->cap) {
        return 0;
    }
    uint64_t i = hash(k) & (m->cap - 1);
    while (m->val[i] != 0) {
        if (m->key[i] == k) {
            return m->val[i];
        }
        i = (i + 1) & (m->cap - 1);
    }
    return 0;
}

/* ---- counters per instruction address, in chunks that never move ---- */
typedef struct {
    uint64_t n, mem, sub;
} counters;

#define CHUNK_BITS 16
#define CHUNK (1u << CHUNK_BITS)
#define MAX_CHUNKS 256

static counters *live[MAX_CHUNKS], *base[MAX_CHUNKS], *acc[2][MAX_CHUNKS];
static uint64_t *slot_pc[MAX_CHUNKS];
static uint32_t *slot_insn[MAX_CHUNKS];
static uint32_t nslots;
static map slots; /* pc -> slot + 1 */

static counters *slot(uint32_t i, counters **arr) { return &arr[i >> CHUNK_BITS][i & (CHUNK - 1)]; }

static uint32_t slot_for(uint64_t pc, uint32_t insn)
{
    uint32_t v = map_get(&slots, pc);
    if (v) {
        slot_insn[(v - 1) >> CHUNK_BITS][(v - 1) & (CHUNK - 1)] = insn; /* text may be patched */
        return v - 1;
    }
    uint32_t s = nslots++;
    uint32_t c = s >> CHUNK_BITS;
    if (c >= MAX_CHUNKS) {
        fprintf(stderr, "kcount: too many kernel instruction addresses\n");
        exit(1);
    }
    if (!live[c]) {
        live[c] = zalloc(CHUNK, sizeof(counters));
        base[c] = zalloc(CHUNK, sizeof(counters));
        acc[0][c] = zalloc(CHUNK, sizeof(counters));
        acc[1][c] = zalloc(CHUNK, sizeof(counters));
        slot_pc[c] = zalloc(CHUNK, sizeof(uint64_t));
        slot_insn[c] = zalloc(CHUNK, sizeof(uint32_t));
    }
    slot_pc[c][s & (CHUNK - 1)] = pc;
    slot_insn[c][s & (CHUNK - 1)] = insn;
    map_set(&slots, pc, s + 1);
    return s;
}

/* ---- functions ---- */
typedef struct {
    uint64_t incl, calls;
} fcounters;

static uint64_t *fn_addr; /* sorted */
static uint32_t nfn, fn_cap;
static fcounters *f_live, *f_base, *f_acc[2];
static map fn_map, ret_map, vec_map, irq_map;
static uint64_t switch_pc, retfork_pc;

static uint32_t fn_containing(uint64_t pc)
{
    uint32_t lo = 0, hi = nfn;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (fn_addr[mid] <= pc) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo ? lo - 1 : NONE;
}

/* ---- shadow call stacks, one per kernel task ---- */
enum { FR_CALL, FR_TAIL, FR_EXC };
typedef struct {
    uint64_t ret, target, start;
    uint32_t fn, site;
    uint8_t kind, awaiting;
} frame;

#define MAXD 160
typedef struct {
    uint64_t key, excl, out_at;
    int depth;
    frame f[MAXD];
} task;

static task **tasks;
static uint32_t ntasks, task_cap;
static map task_map;
static task *cur;
static uint64_t kinsn, user_live, user_seen;
static uint64_t n_overflow, n_dropped, n_switch;

static uint64_t lclock(const task *t) { return kinsn - t->excl; }

static task *task_for(uint64_t key)
{
    uint32_t v = map_get(&task_map, key);
    if (v) {
        return tasks[v - 1];
    }
    if (ntasks == task_cap) {
        task_cap = task_cap ? task_cap * 2 : 64;
        tasks = realloc(tasks, task_cap * sizeof *tasks);
        if (!tasks) {
            fprintf(stderr, "kcount: out of memory\n");
            exit(1);
        }
    }
    task *t = zalloc(1, sizeof *t);
    t->key = key;
    t->excl = kinsn;
    t->out_at = kinsn;
    tasks[ntasks++] = t;
    map_set(&task_map, key, ntasks);
    return t;
}

static void end_frame(task *t, int i)
{
    frame *f = &t->f[i];
    if (f->kind == FR_EXC) {
        return;
    }
    uint64_t dur = lclock(t) - f->start;
    if (f->kind == FR_CALL && f->site != NONE) {
        slot(f->site, live)->sub += dur;
    }
    if (f->fn != NONE) {
        bool outer = true;
        for (int j = 0; j < i; j++) {
            if (t->f[j].fn == f->fn && t->f[j].kind != FR_EXC) {
                outer = false;
                break;
            }
        }
        if (outer) {
            f_live[f->fn].incl += dur;
        }
        f_live[f->fn].calls++;
    }
}

static void pop_to(task *t, int i)
{
    while (t->depth > i) {
        end_frame(t, t->depth - 1);
        t->depth--;
    }
}

static void push(task *t, uint8_t kind, uint64_t ret, uint64_t target, uint32_t fn,
                 uint32_t site, uint8_t awaiting)
{
    if (t->depth == MAXD) {
        n_overflow++;
        return;
    }
    frame *f = &t->f[t->depth++];
    f->kind = kind;
    f->ret = ret;
    f->target = target;
    f->fn = fn;
    f->site = site;
    f->awaiting = awaiting;
    f->start = lclock(t);
}

/* the first kernel callback after user code ran: the task came from EL0 and
 * has no kernel frames */
static void user_check(void)
{
    if (user_live != user_seen) {
        user_seen = user_live;
        if (cur->depth) {
            n_dropped += cur->depth;
            cur->depth = 0;
        }
    }
}

typedef struct {
    uint64_t ret, target;
    uint32_t fn, site;
} callsite;

static void cb_call(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    const callsite *c = udata;
    user_check();
    push(cur, FR_CALL, c->ret, c->target, c->fn, c->site, 1);
}

static void cb_entry(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    uint32_t fn = (uint32_t)(uintptr_t)udata;
    uint64_t pc = fn_addr[fn];
    user_check();
    task *t = cur;
    if (pc == retfork_pc) {
        t->depth = 0; /* a new task: nothing of a previous one at this address */
    }
    frame *top = t->depth ? &t->f[t->depth - 1] : NULL;
    if (top && top->kind == FR_CALL && top->awaiting && (top->target == 0 || top->target == pc)) {
        top->awaiting = 0;
        top->fn = fn;
        return;
    }
    if (top && top->kind == FR_TAIL && top->fn == fn) {
        return; /* a label branched back to */
    }
    push(t, FR_TAIL, top ? top->ret : 0, pc, fn, NONE, 0);
}

static void cb_ret(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    task *t = cur;
    for (int i = t->depth - 1; i >= 0 && t->f[i].kind != FR_EXC; i--) {
        if (t->f[i].kind == FR_CALL && t->f[i].ret == pc) {
            pop_to(t, i);
            return;
        }
    }
}

static void cb_vec(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    user_check();
    task *t = cur;
    if (t->depth && t->f[t->depth - 1].kind == FR_EXC &&
        lclock(t) - t->f[t->depth - 1].start < 64) {
        return; /* one exception passing through two vector tables */
    }
    push(t, FR_EXC, 0, 0, NONE, NONE, 0);
}

static void cb_eret(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    task *t = cur;
    for (int i = t->depth - 1; i >= 0; i--) {
        if (t->f[i].kind == FR_EXC) {
            pop_to(t, i);
            return;
        }
    }
    pop_to(t, 0); /* back to user */
}

static void cb_switch(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)info;
    ((counters *)udata)->mem++;
    if (vaddr == cur->key || vaddr == cur->key + 8) {
        return; /* the second half of the pair load */
    }
    n_switch++;
    cur->out_at = kinsn;
    task *t = task_for(vaddr);
    t->excl += kinsn - t->out_at;
    cur = t;
}

/* ---- windows ---- */
static uint64_t user_base, user_acc[2];
static uint64_t irqs, irq_base, kinsn_base;
static uint64_t windows, dumps, win_in_dump[2];
static bool in_window;
static FILE *out;

static void begin_window(void)
{
    for (uint32_t c = 0; c * CHUNK < nslots; c++) {
        memcpy(base[c], live[c], sizeof(counters) * CHUNK);
    }
    memcpy(f_base, f_live, sizeof(fcounters) * nfn);
    user_base = user_live;
    irq_base = irqs;
    kinsn_base = kinsn;
    in_window = true;
}

static void end_window(void)
{
    if (!in_window) {
        fprintf(out, "# END without BEGIN ignored\n");
        return;
    }
    uint64_t nirq = irqs - irq_base;
    int d = nirq ? 1 : 0;
    /* slots created inside the window have a zero base: live was zero then */
    for (uint32_t s = 0; s < nslots; s++) {
        counters *l = slot(s, live), *b = slot(s, base);
        if (l->n != b->n || l->mem != b->mem || l->sub != b->sub) {
            counters *a = slot(s, acc[d]);
            a->n += l->n - b->n;
            a->mem += l->mem - b->mem;
            a->sub += l->sub - b->sub;
        }
    }
    for (uint32_t f = 0; f < nfn; f++) {
        if (f_live[f].calls != f_base[f].calls) {
            f_acc[d][f].incl += f_live[f].incl - f_base[f].incl;
            f_acc[d][f].calls += f_live[f].calls - f_base[f].calls;
        }
    }
    uint64_t u = user_live - user_base;
    user_acc[d] += u;
    in_window = false;
    win_in_dump[d]++;
    fprintf(out, "W %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", windows++,
            kinsn - kinsn_base, u, nirq);
}

static void dump(void)
{
    for (int d = 0; d < 2; d++) {
        uint64_t k = 0;
        for (uint32_t s = 0; s < nslots; s++) {
            k += slot(s, acc[d])->n;
        }
        fprintf(out, "D %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", dumps, d,
                win_in_dump[d], k, user_acc[d]);
        for (uint32_t s = 0; s < nslots; s++) {
            counters *a = slot(s, acc[d]);
            if (a->n || a->mem || a->sub) {
                fprintf(out, "P %" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                        slot_pc[s >> CHUNK_BITS][s & (CHUNK - 1)], a->n, a->mem, a->sub);
                memset(a, 0, sizeof *a);
            }
        }
        for (uint32_t f = 0; f < nfn; f++) {
            if (f_acc[d][f].calls) {
                fprintf(out, "F %" PRIu32 " %" PRIu64 " %" PRIu64 "\n", f, f_acc[d][f].incl,
                        f_acc[d][f].calls);
                memset(&f_acc[d][f], 0, sizeof(fcounters));
            }
        }
        user_acc[d] = 0;
        win_in_dump[d] = 0;
    }
    fprintf(out, "E %" PRIu64 "\n", dumps++);
    fflush(out);
}

static void on_marker(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    switch ((uintptr_t)udata) {
    case M_BEGIN:
        begin_window();
        break;
    case M_END:
        end_window();
        break;
    case M_DUMP:
        dump();
        break;
    }
}

static void on_irq(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    irqs++;
}

/* ---- translation ---- */
static void instrument_kernel(struct qemu_plugin_insn *insn, uint64_t pc, uint32_t word)
{
    uint32_t s = slot_for(pc, word);
    counters *c = slot(s, live);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, KC_INLINE_ADD_U64, &c->n, 1);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, KC_INLINE_ADD_U64, &kinsn, 1);
    if (pc == switch_pc) {
        /* this callback counts the accesses itself; it asks for reads and writes
         * because in QEMU 7.2 a filter for reads alone did not see loads */
        qemu_plugin_register_vcpu_mem_cb(insn, cb_switch, KC_CB_NO_REGS, KC_MEM_RW, &c->mem);
    } else {
        qemu_plugin_register_vcpu_mem_inline(insn, KC_MEM_RW, KC_INLINE_ADD_U64, &c->mem, 1);
    }
    if (map_get(&ret_map, pc)) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_ret, KC_CB_NO_REGS,
                                               (void *)(uintptr_t)pc);
    }
    uint32_t fv = map_get(&fn_map, pc);
    if (fv) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_entry, KC_CB_NO_REGS,
                                               (void *)(uintptr_t)(fv - 1));
    }
    if (map_get(&vec_map, pc)) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_vec, KC_CB_NO_REGS, NULL);
    }
    if (map_get(&irq_map, pc)) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_irq, KC_CB_NO_REGS, NULL);
    }
    /* calls in the image only: the kpti trampoline (run from its alias) uses a BL
     * to fill the return stack, not to call */
    if ((IS_BL(word) || IS_BLR(word)) && nfn && pc >= fn_addr[0] && pc <= fn_addr[nfn - 1]) {
        callsite *cs = zalloc(1, sizeof *cs); /* lives as long as the translation */
        cs->ret = pc + 4;
        cs->site = s;
        cs->fn = NONE;
        if (IS_BL(word)) {
            int64_t off = (int64_t)((uint64_t)(word & 0x3ffffffU) << 38) >> 36;
            cs->target = pc + off;
            uint32_t tv = map_get(&fn_map, cs->target);
            cs->fn = tv ? tv - 1 : fn_containing(cs->target);
        }
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_call, KC_CB_NO_REGS, cs);
    }
    if (IS_ERET(word)) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_eret, KC_CB_NO_REGS, NULL);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        uint32_t word = 0;
        size_t sz = qemu_plugin_insn_size(insn);
        memcpy(&word, qemu_plugin_insn_data(insn), sz < 4 ? sz : 4);
        if (pc >= KERNEL_BASE) {
            instrument_kernel(insn, pc, word);
        } else {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, KC_INLINE_ADD_U64, &user_live, 1);
            if (word == HINT(M_BEGIN) || word == HINT(M_END) || word == HINT(M_DUMP)) {
                uintptr_t m = (word >> 5) & 0x7f;
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, KC_CB_NO_REGS,
                                                       (void *)m);
            }
        }
    }
}

static void on_atexit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    for (uint32_t s = 0; s < nslots; s++) {
        fprintf(out, "I %" PRIx64 " %08" PRIx32 "\n", slot_pc[s >> CHUNK_BITS][s & (CHUNK - 1)],
                slot_insn[s >> CHUNK_BITS][s & (CHUNK - 1)]);
    }
    fprintf(out, "X tasks %" PRIu32 "\nX switches %" PRIu64 "\n", ntasks, n_switch);
    fprintf(out, "X frames_overflowed %" PRIu64 "\nX frames_dropped %" PRIu64 "\n", n_overflow,
            n_dropped);
    fclose(out);
}

static int load_cfg(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    char kind;
    uint64_t a;
    while (fscanf(f, " %c %" SCNx64, &kind, &a) == 2) {
        switch (kind) {
        case 'F':
            if (nfn == fn_cap) {
                fn_cap = fn_cap ? fn_cap * 2 : 4096;
                fn_addr = realloc(fn_addr, fn_cap * sizeof *fn_addr);
                if (!fn_addr) {
                    fprintf(stderr, "kcount: out of memory\n");
                    exit(1);
                }
            }
            if (nfn && a <= fn_addr[nfn - 1]) {
                fprintf(stderr, "kcount: function starts must be sorted and unique\n");
                return 1;
            }
            fn_addr[nfn++] = a;
            map_set(&fn_map, a, nfn);
            break;
        case 'R':
            map_set(&ret_map, a, 1);
            break;
        case 'V':
            map_set(&vec_map, a, 1);
            break;
        case 'Q':
            map_set(&irq_map, a, 1);
            break;
        case 'S':
            switch_pc = a;
            break;
        case 'N':
            retfork_pc = a;
            break;
        default:
            fprintf(stderr, "kcount: bad cfg line kind %c\n", kind);
            return 1;
        }
    }
    fclose(f);
    f_live = zalloc(nfn + 1, sizeof(fcounters));
    f_base = zalloc(nfn + 1, sizeof(fcounters));
    f_acc[0] = zalloc(nfn + 1, sizeof(fcounters));
    f_acc[1] = zalloc(nfn + 1, sizeof(fcounters));
    return 0;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const kc_qemu_info *info,
                                                               int argc, char **argv)
{
    const char *path = "kcount.out", *cfg = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        } else if (strncmp(argv[i], "cfg=", 4) == 0) {
            cfg = argv[i] + 4;
        }
    }
    if (!info->system_emulation) {
        fprintf(stderr, "kcount: needs full-system emulation\n");
        return 1;
    }
    if (!cfg || load_cfg(cfg)) {
        fprintf(stderr, "kcount: needs cfg=<file> (see the comment at the top of kcount.c)\n");
        return 1;
    }
    out = fopen(path, "w");
    if (!out) {
        perror(path);
        return 1;
    }
    fprintf(out, "# kcount target=%s functions=%" PRIu32 "\n", info->target_name, nfn);
    cur = task_for(1); /* whatever runs before the first switch */
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
    return 0;
}

# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twin of hmk.hw.reference: the same model in C structs over numpy-owned memory.

hmk.hw.engine builds the arrays (parameters, state, counters) and hands them to `Engine`, which
keeps raw pointers into them; Python can read the counters at any time. Function names follow
the reference so the two read side by side.

Layout choices (behaviour is the reference's; only the representation differs; the numbers
are in docs/performance.md):
* a set is one block of memory (the engine allocates it; the reference's state has no array
  twin): its ways' keys, the low 32 bits of each line's tag, side by side so that SSE2 compares
  all of them with the line's at once; then a valid bit and a dirty bit per way in two 64-bit
  words; then the replacement state. Tags wider than 32 bits (lines high in a 48-bit space) keep
  their upper bits in a side array, consulted only once such a tag has been seen;
* true LRU of up to 16 ways is an order word, the way numbers 4 bits each, most recent first
  (a use moves one nibble to the front, a fill takes the last), empty ways last; more ways keep
  an age per way; PLRU keeps its ways-1 tree bits in the same word. Ways never move;
* each cache remembers the line it used last (present, and most recent in its set): the same
  line again is a hit with nothing to update but its count, found without a lookup;
* TLBs and the walk cache keep a last-use stamp per entry; a fully associative TLB also keeps a
  256-bucket count of its entries' page numbers and the XOR of their slots, so a miss is usually
  known, and a lone entry found, without a scan;
* with coherence, each core keeps a small direct-mapped table of lines it wrote after every other
  copy was gone and that no other core has looked up since: a write to one of them needs no look
  into the other cores' caches (the reference always looks, and finds nothing).
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, realloc
from hmk._fast.shared cimport (
    ADDR_MASK, DOWNGRADES, DTLB_HIT, DTLB_MISS, EXCLUSIVE, EXCLUSIVE_HINTS, FETCH,
    INCLUSIVE, ITLB_HIT, ITLB_MISS, L2TLB_HIT, L2TLB_MISS, MESI, NG, NINE, PAGE_SHIFT, READ,
    TLB_FILTER, TRANSFERS_IN, TRANSFERS_OUT, UPGRADES, WALK, WALK_FAULT, WALKS, WC_HIT, WC_MISS,
    WRITE, Event
)

cimport numpy as cnp
import numpy as np

cnp.import_array()

cdef enum:  # a core's translation structures, in hmk.hw.engine's order (_tlb_shapes)
    ITLB = 0
    DTLB = 1
    L2TLB = 2
    WCACHE = 3




cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* A set's ways side by side. Keys: 4, 8 or a multiple of 16 lanes, compared at once where
       the host has SSE2 (a plain loop elsewhere); what padding lanes hold is never used
       (callers mask the result with the set's valid ways). */
    #if defined(__SSE2__)
    static inline uint64_t hmk_eq16(const uint32_t *keys, __m128i k) {
        __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)keys), k);
        __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(keys + 4)), k);
        __m128i c = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(keys + 8)), k);
        __m128i d = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(keys + 12)), k);
        __m128i ab = _mm_packs_epi32(a, b), cd = _mm_packs_epi32(c, d);
        return (uint16_t)_mm_movemask_epi8(_mm_packs_epi16(ab, cd));
    }
    #endif
    static inline uint64_t hmk_keys_eq(const uint32_t *keys, uint32_t key, int lanes) {
        uint64_t m = 0;
    #if defined(__SSE2__)
        __m128i k = _mm_set1_epi32((int)key);
        if (lanes == 4)
            return _mm_movemask_ps(_mm_castsi128_ps(
                _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)keys), k)));
        if (lanes == 8) {
            __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)keys), k);
            __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(keys + 4)), k);
            __m128i ab = _mm_packs_epi32(a, b);
            return (uint8_t)_mm_movemask_epi8(_mm_packs_epi16(ab, ab));
        }
        for (int w = 0; w < lanes; w += 16) m |= hmk_eq16(keys + w, k) << w;
    #else
        for (int w = 0; w < lanes; w++) m |= (uint64_t)(keys[w] == key) << w;
    #endif
        return m;
    }
    static inline int hmk_ctz(uint64_t m) { return __builtin_ctzll(m); }

    /* LRU of up to 16 ways: an order word holds the way numbers, 4 bits each, the most
       recently used at position 0 (bits 0-3); positions past the ways hold 0. */
    #define HMK_NIBBLES 0x1111111111111111ULL
    static inline int hmk_order_pos(uint64_t order, int way) {  /* way's position */
        uint64_t x = order ^ (HMK_NIBBLES * (uint64_t)way);  /* a zero nibble where it is */
        return __builtin_ctzll((x - HMK_NIBBLES) & ~x & (HMK_NIBBLES << 3)) >> 2;
    }
    static inline uint64_t hmk_order_front(uint64_t order, int pos) {  /* pos moves to 0 */
        uint64_t below = ((uint64_t)1 << (4 * pos)) - 1;
        uint64_t upto = ((uint64_t)16 << (4 * pos)) - 1;  /* all ones when pos is 15 */
        return (order & ~upto) | (order & below) << 4 | ((order >> (4 * pos)) & 15);
    }
    static inline uint64_t hmk_order_back(uint64_t order, int pos, int ways) {  /* to ways-1 */
        uint64_t below = ((uint64_t)1 << (4 * pos)) - 1;
        uint64_t way = (order >> (4 * pos)) & 15;
        return (order & below) | ((order >> 4) & ~below) | way << (4 * (ways - 1));
    }

    /* LRU of more ways: an age per way, 0 the most recently used, ways-1 the least; lanes
       are a multiple of 16 */
    static inline int hmk_oldest(const uint8_t *ages, uint8_t oldest, int lanes) {
        for (int w = 0; w < lanes; w++)
            if (ages[w] == oldest) return w;
        return -1;
    }
    static inline void hmk_ages_below_inc(uint8_t *ages, uint8_t age, int lanes) {
    #if defined(__SSE2__)
        __m128i a = _mm_set1_epi8((char)age);
        for (int w = 0; w < lanes; w += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(ages + w));
            _mm_storeu_si128((__m128i *)(ages + w), _mm_sub_epi8(v, _mm_cmplt_epi8(v, a)));
        }
    #else
        for (int w = 0; w < lanes; w++) ages[w] += ages[w] < age;
    #endif
    }
    static inline void hmk_ages_above_dec(uint8_t *ages, uint8_t age, int lanes) {
    #if defined(__SSE2__)
        __m128i a = _mm_set1_epi8((char)age);
        for (int w = 0; w < lanes; w += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(ages + w));
            _mm_storeu_si128((__m128i *)(ages + w), _mm_add_epi8(v, _mm_cmpgt_epi8(v, a)));
        }
    #else
        for (int w = 0; w < lanes; w++) ages[w] -= ages[w] > age;
    #endif
    }
    """
    uint64_t keys_eq "hmk_keys_eq" (const uint32_t *keys, uint32_t key, int lanes) nogil
    int ctz "hmk_ctz" (uint64_t m) nogil
    int order_pos "hmk_order_pos" (uint64_t order, int way) nogil
    uint64_t order_front "hmk_order_front" (uint64_t order, int pos) nogil
    uint64_t order_back "hmk_order_back" (uint64_t order, int pos, int ways) nogil
    int oldest_way "hmk_oldest" (const uint8_t *ages, uint8_t oldest, int lanes) nogil
    void ages_below_inc "hmk_ages_below_inc" (uint8_t *ages, uint8_t age, int lanes) nogil
    void ages_above_dec "hmk_ages_above_dec" (uint8_t *ages, uint8_t age, int lanes) nogil


cdef enum:  # a set's block: keys (4 * key_lanes bytes), these 64-bit words, then (AGES) ages
    VALID = 0  # bit w: way w holds a line
    DIRTY = 1  # bit w: way w's line is dirty
    REPL = 2  # ORDER: the order word; PLRU: the tree bits

cdef enum:  # how a cache keeps its replacement state
    ORDER = 0  # true LRU, up to 16 ways
    AGES = 1  # true LRU, more ways
    PLRU = 2  # tree pseudo-LRU


cdef struct Cache:
    int64_t set_mask
    int set_bits
    int ways
    int repl
    int key_lanes
    int age_lanes
    int64_t stride  # bytes of a set's block
    uint64_t full  # VALID when every way holds a line
    uint64_t order_mask  # ORDER: the bits of positions 0 .. ways-1
    int incl
    int is_l1
    int below
    int index
    int chain_len
    int owner  # the core it is private to, -1 for the shared level (coherence)
    Cache *chain[4]  # itself and the levels below
    int words_at  # where a block's words start: 4 * key_lanes
    int ndesc
    int64_t *desc
    uint8_t *blocks
    uint32_t *hi  # per (set, way): tag >> 32, kept only once a tag that wide has been seen
    int wide
    int keep_victims  # its victims go on: back-invalidated above, or into an exclusive level
    int64_t last  # the line used most recently here: present, MRU in its set; -1 = none
    int last_way
    int private_len  # how many levels of its chain are its core's (coherence)
    int64_t *cnt  # [hit/miss][kind]
    int64_t *ev  # evictions, writebacks, back_invalidations


cdef struct Tlb:
    int64_t set_mask
    int ways
    int64_t clock
    int64_t *key  # vpn, or VA prefix for the walk cache; -1 = empty
    int64_t *asid
    int64_t *flag  # global (TLB) or level (walk cache)
    int64_t *val  # pfn, or next table address
    int64_t *stamp
    # fully associative TLBs only (filt != NULL): entries per bucket (key & 255), the XOR of
    # their slots (the slot itself when the bucket holds one entry), and a recency list: head
    # most recent, tail least recent or empty (empty slots are always at the tail end)
    uint8_t *filt
    int64_t *hint
    int64_t *prev
    int64_t *next
    int64_t head
    int64_t tail


cdef struct Core:
    int l1i
    int l1d
    int walk_entry
    int has_tlb
    int64_t l2tlb_lat
    int64_t wc_lat
    int64_t dram_lat
    int64_t *lat  # per cache
    int64_t *tcnt
    Tlb tlb[4]


cdef class Engine

cdef enum:
    RAW_NOGIL = 4096  # events: run_raw releases the GIL for a batch at least this long


cdef void run_raw(void *engine, const Event *ev, int *out, Py_ssize_t n) noexcept:
    """Engine.run's timing of events [0, n) into out (Engine.raw_entry); a long run of them
    without the GIL, as run() does (a kernel path's few are not worth its hand-over)."""
    cdef Engine e = <Engine>engine
    e._reserve(n)
    if n < RAW_NOGIL:
        e._run(ev, out, 0, n)
        return
    with nogil:
        e._run(ev, out, 0, n)


cdef inline int64_t* _p64(a):
    cdef int64_t[::1] v = a
    return &v[0]


@cython.final
cdef class Engine:
    cdef Cache *c
    cdef Core *core
    cdef int ncaches
    cdef int ncores
    cdef int line_bits
    cdef int levelwise
    # coherence (the structs above keep their sizes without it: the hot path's indexing)
    cdef int protocol  # 0: no coherence (one core, or none configured), else MESI or MOESI
    cdef int shared  # the shared level, -1 for none
    cdef int64_t *transfer_lat  # per core: a line from another core's caches
    cdef int64_t *upgrade_lat  # per core: the least a write that invalidates other copies costs
    cdef int64_t *ccnt  # per core, hmk.hw.layout.COHERENCE_COUNTERS
    cdef int64_t *cinv  # per cache: copies other cores' writes removed
    cdef int64_t *excl  # per core, EXCLUSIVE_HINTS lines it holds alone (slot: line % that)
    # the last batch's write events that needed coherence work (coherent_writes), and whether
    # the event being timed did
    cdef int64_t *marks
    cdef Py_ssize_t nmarks, marks_cap
    cdef bint worked
    cdef int64_t *dram
    cdef uint64_t *ram
    cdef int64_t ram_bytes
    cdef int64_t *roots
    cdef list _keep
    cdef object _caches_mem
    cdef object _cores_mem
    cdef list _blocks

    def __init__(self, dict spec):
        """spec: the arrays built by hmk.hw.engine.BatchHierarchy (kept alive here)."""
        cdef int x, c, t, k, b
        cdef uint64_t[::1] ram
        self._keep = list(spec.values())
        self.ncaches = len(spec["ways"])
        self.ncores = len(spec["l1i"])
        self.line_bits = int(spec["misc"][0])
        self.levelwise = int(spec["misc"][1])
        self.protocol = int(spec["misc"][2])
        self.shared = int(spec["misc"][3])
        self.transfer_lat = _p64(spec["transfer_lat"])
        self.upgrade_lat = _p64(spec["upgrade_lat"])
        self.ccnt = _p64(spec["ccnt"])
        self.cinv = _p64(spec["cinv"])
        self.excl = _p64(spec["excl"])
        self.marks = NULL
        self.nmarks = self.marks_cap = 0
        self.worked = False
        self._caches_mem = np.zeros(self.ncaches * sizeof(Cache), np.uint8)
        self._cores_mem = np.zeros(self.ncores * sizeof(Core), np.uint8)
        self.c = <Cache*> <size_t> self._caches_mem.ctypes.data
        self.core = <Core*> <size_t> self._cores_mem.ctypes.data
        self._blocks = []
        for x in range(self.ncaches):
            self._init_cache(&self.c[x], spec, x)
        for x in range(self.ncaches):
            b = self.c[x].below
            self.c[x].keep_victims = (
                not self.c[x].is_l1 and self.c[x].incl == INCLUSIVE and self.c[x].ndesc > 0
                or b >= 0 and self.c[b].incl == EXCLUSIVE)
        for c in range(self.ncores):
            self.core[c].l1i = spec["l1i"][c]
            self.core[c].l1d = spec["l1d"][c]
            self.core[c].walk_entry = spec["walk_entry"][c]
            self.core[c].has_tlb = spec["has_tlb"][c]
            self.core[c].l2tlb_lat = spec["l2tlb_lat"][c]
            self.core[c].wc_lat = spec["wc_lat"][c]
            self.core[c].dram_lat = spec["dram_lat"][c]
            self.core[c].lat = _p64(spec["lat"]) + self.ncaches * c
            self.core[c].tcnt = _p64(spec["tcnt"]) + 10 * c
            for t in range(4):
                k = 4 * c + t
                self.core[c].tlb[t].set_mask = spec["t_sets"][k] - 1
                self.core[c].tlb[t].ways = spec["t_ways"][k]
                self.core[c].tlb[t].clock = 0
                self.core[c].tlb[t].key = _p64(spec["t_key"]) + <Py_ssize_t>spec["t_base"][k]
                self.core[c].tlb[t].asid = _p64(spec["t_asid"]) + <Py_ssize_t>spec["t_base"][k]
                self.core[c].tlb[t].flag = _p64(spec["t_flag"]) + <Py_ssize_t>spec["t_base"][k]
                self.core[c].tlb[t].val = _p64(spec["t_val"]) + <Py_ssize_t>spec["t_base"][k]
                self.core[c].tlb[t].stamp = _p64(spec["t_stamp"]) + <Py_ssize_t>spec["t_base"][k]
                if spec["t_sets"][k] == 1 and t != WCACHE:
                    self._init_fa(&self.core[c].tlb[t], spec, k)
                else:
                    self.core[c].tlb[t].filt = NULL
        self.dram = _p64(spec["dram"])
        ram = spec["ram"]
        self.ram = &ram[0]
        self.ram_bytes = 8 * ram.shape[0]
        self.roots = _p64(spec["roots"])

    def __dealloc__(self):
        free(self.marks)

    cdef int _reserve(self, Py_ssize_t n) except -1:
        """A new batch of n events: room for its marks (with coherence), none yet."""
        cdef int64_t *grown
        self.nmarks = 0
        if self.protocol and n > self.marks_cap:
            grown = <int64_t*> realloc(self.marks, n * sizeof(int64_t))
            if grown == NULL:
                raise MemoryError()
            self.marks, self.marks_cap = grown, n
        return 0

    def coherent_writes(self):
        """The last batch's write events that needed coherence work: their indexes, ascending
        (int64; hmk.hw.reference.MemoryHierarchy.coherent_writes)."""
        out = np.empty(self.nmarks, np.int64)
        cdef int64_t[::1] view = out
        cdef Py_ssize_t i
        for i in range(self.nmarks):
            view[i] = self.marks[i]
        return out

    def marks_entry(self):
        """(marks, count): for compiled callers, the addresses of the pointer to the last
        batch's coherent-write indexes (int64_t *) and of their count (Py_ssize_t)."""
        return <size_t>&self.marks, <size_t>&self.nmarks

    cdef _init_cache(self, Cache *c, dict spec, int x):
        """Cache x's parameters, and its sets, empty."""
        cdef int64_t sets = spec["sets"][x], s
        cdef int w, k
        cdef uint8_t[::1] blocks
        cdef uint32_t[::1] hi
        cdef uint64_t order = 0
        c.ways = spec["ways"][x]
        c.set_mask = sets - 1
        c.set_bits = 0
        while (<int64_t>1 << c.set_bits) < sets:
            c.set_bits += 1
        c.repl = PLRU if spec["repl"][x] else ORDER if c.ways <= 16 else AGES
        c.key_lanes = 4 if c.ways <= 4 else 8 if c.ways <= 8 else (c.ways + 15) & ~15
        c.age_lanes = (c.ways + 15) & ~15 if c.repl == AGES else 0
        c.words_at = 4 * c.key_lanes
        c.stride = (c.words_at + 8 * (REPL + 1) + c.age_lanes + 15) & ~15
        c.full = (<uint64_t>-1) >> (64 - c.ways)
        c.order_mask = (<uint64_t>-1) >> (64 - 4 * c.ways) if c.repl == ORDER else 0
        c.incl = spec["incl"][x]
        c.is_l1 = spec["is_l1"][x]
        c.below = spec["below"][x]
        c.chain_len = spec["chain_len"][x]
        c.index = x
        for k in range(c.chain_len):
            c.chain[k] = &self.c[<int>spec["chain"][x, k]]
        c.ndesc = spec["desc_off"][x + 1] - spec["desc_off"][x]
        c.desc = _p64(spec["desc"]) + <Py_ssize_t>spec["desc_off"][x]
        c.cnt = _p64(spec["cnt"]) + 8 * x
        c.ev = _p64(spec["cev"]) + 3 * x
        c.owner = spec["owner"][x]
        c.private_len = spec["private_len"][x]
        block_mem = np.zeros(sets * c.stride, np.uint8)
        hi_mem = np.zeros(sets * c.ways, np.uint32)
        self._blocks += [block_mem, hi_mem]
        blocks = block_mem
        hi = hi_mem
        c.blocks = &blocks[0]
        c.hi = &hi[0]
        c.wide = False
        c.last = -1
        c.last_way = 0
        for w in range(c.ways if c.repl == ORDER else 0):
            order |= <uint64_t>w << (4 * w)
        for s in range(sets):  # any order of the empty ways will do
            if c.repl == ORDER:
                self._words(c, s)[REPL] = order
            elif c.repl == AGES:
                for w in range(c.ways):
                    self._ages(c, s)[w] = w

    cdef _init_fa(self, Tlb *t, dict spec, int k):
        cdef int64_t i, n = t.ways
        t.filt = <uint8_t*> <size_t> spec["t_filt"].ctypes.data + TLB_FILTER * k
        t.hint = _p64(spec["t_hint"]) + TLB_FILTER * k
        t.prev = _p64(spec["t_prev"]) + <Py_ssize_t>spec["t_base"][k]
        t.next = _p64(spec["t_next"]) + <Py_ssize_t>spec["t_base"][k]
        for i in range(n):
            t.prev[i] = i - 1
            t.next[i] = i + 1 if i + 1 < n else -1
        t.head = 0
        t.tail = n - 1

    # ------------------------------------------------------------ one cache
    # A set is one block: its ways' keys (the low 32 bits of tag = line >> set_bits) side by
    # side, then the VALID, DIRTY and REPL words, then (AGES) an age per way. Ways keep their
    # positions (PLRU's tree needs them); LRU's order puts empty ways last, so the least
    # recently used way is the one to fill.

    cdef inline uint32_t* _keys(self, Cache *c, int64_t s) noexcept nogil:
        return <uint32_t*>(c.blocks + s * c.stride)

    cdef inline uint64_t* _words(self, Cache *c, int64_t s) noexcept nogil:
        return <uint64_t*>(c.blocks + s * c.stride + c.words_at)

    cdef inline uint8_t* _ages(self, Cache *c, int64_t s) noexcept nogil:
        return c.blocks + s * c.stride + c.words_at + 8 * (REPL + 1)

    cdef inline int _find(self, Cache *c, int64_t s, int64_t line) noexcept nogil:
        """The way holding `line` in set s, or -1."""
        cdef int64_t tag = line >> c.set_bits
        cdef uint64_t m = keys_eq(self._keys(c, s), <uint32_t>tag, c.key_lanes)
        m &= self._words(c, s)[VALID]
        if not m:
            return -1
        if c.wide or tag >> 32:
            return self._find_wide(c, s, tag, m)
        return ctz(m)  # every key is a whole tag: only one can match

    cdef int _find_wide(self, Cache *c, int64_t s, int64_t tag, uint64_t m) noexcept nogil:
        """_find once tags past 32 bits are about: the ways whose keys match (m), checked."""
        cdef int w
        while m:
            w = ctz(m)
            if c.hi[s * c.ways + w] == tag >> 32:
                return w
            m &= m - 1
        return -1

    cdef inline void _touch(self, Cache *c, int64_t s, int w) noexcept nogil:
        """Way w of set s was used."""
        cdef uint64_t *words
        if c.repl != ORDER:
            self._touch_other(c, s, w)
            return
        words = self._words(c, s)  # (no test for position 0: an unpredictable branch)
        words[REPL] = order_front(words[REPL], order_pos(words[REPL], w))

    cdef void _touch_other(self, Cache *c, int64_t s, int w) noexcept nogil:
        """_touch for AGES and PLRU."""
        cdef uint64_t *words = self._words(c, s)
        cdef uint8_t *ages
        cdef uint64_t t
        cdef int node, span, right
        if c.repl == AGES:
            ages = self._ages(c, s)
            if ages[w]:
                ages_below_inc(ages, ages[w], c.age_lanes)
                ages[w] = 0
            return
        t = words[REPL]
        node = 0
        span = c.ways
        while span > 1:
            span >>= 1
            right = (w // span) & 1
            if right:
                t &= ~(<uint64_t>1 << node)
            else:
                t |= <uint64_t>1 << node
            node = 2 * node + 1 + right
        words[REPL] = t

    cdef inline bint cache_lookup(self, Cache *c, int64_t line) noexcept nogil:
        cdef int64_t s
        cdef int w
        if line == c.last:  # present and already the most recently used: nothing to update
            return True
        s = line & c.set_mask
        w = self._find(c, s, line)
        if w < 0:
            return False
        self._touch(c, s, w)
        c.last = line
        c.last_way = w
        return True

    cdef int _victim_other(self, Cache *c, int64_t s) noexcept nogil:
        """The way to fill for AGES and PLRU, its replacement state updated as for a use."""
        cdef uint64_t *words = self._words(c, s)
        cdef uint64_t empty = ~words[VALID] & c.full
        cdef uint64_t t = words[REPL]
        cdef uint8_t *ages
        cdef int w = 0, node = 0, span = c.ways, right
        if c.repl == AGES:  # the oldest becomes the youngest: every other way one older
            ages = self._ages(c, s)
            w = oldest_way(ages, c.ways - 1, c.ways)
            ages_below_inc(ages, c.ways - 1, c.age_lanes)
            ages[w] = 0
            return w
        if empty:  # PLRU: the first empty way, else the one the tree points at
            w = ctz(empty)
        else:
            while span > 1:
                span >>= 1
                right = (t >> node) & 1
                w += right * span
                node = 2 * node + 1 + right
        self._touch_other(c, s, w)
        return w

    cdef inline int cache_insert(self, Cache *c, int64_t line, bint dirty, bint absent,
                                 int64_t *victim) noexcept nogil:
        """Insert (`absent`: the caller knows the line is not here). -1 if no line was evicted,
        else the victim's dirty bit (and its line in victim[0])."""
        cdef int64_t s = line & c.set_mask
        cdef int64_t tag = line >> c.set_bits
        cdef int w = -1, evicted
        cdef uint64_t *words = self._words(c, s)
        cdef uint64_t bit, order
        if not absent:
            w = c.last_way if line == c.last else self._find(c, s, line)
        if w >= 0:
            if dirty:
                words[DIRTY] |= <uint64_t>1 << w
            self._touch(c, s, w)
            c.last = line
            c.last_way = w
            return -1
        if c.repl == ORDER:  # the last way in the order becomes the first
            order = words[REPL]
            w = (order >> (4 * c.ways - 4)) & 15
            words[REPL] = (order << 4 | <uint64_t>w) & c.order_mask
        else:
            w = self._victim_other(c, s)
        bit = <uint64_t>1 << w
        evicted = -1
        if words[VALID] & bit:
            evicted = (words[DIRTY] >> w) & 1
            victim[0] = self._keys(c, s)[w]
        else:
            words[VALID] |= bit
        self._keys(c, s)[w] = <uint32_t>tag
        if c.wide or tag >> 32:
            self._store_wide(c, s, w, tag, victim if evicted >= 0 else NULL)
        words[DIRTY] = (words[DIRTY] & ~bit) | <uint64_t>dirty << w
        c.last = line
        c.last_way = w
        if evicted >= 0:
            victim[0] = victim[0] << c.set_bits | s
        return evicted

    cdef void _store_wide(self, Cache *c, int64_t s, int w, int64_t tag,
                          int64_t *victim) noexcept nogil:
        """Way w of set s takes `tag` when tags past 32 bits are about (from now on, if this is
        the first): the bits above the key, and those of the evicted tag (victim, if any)."""
        if victim != NULL and c.wide:
            victim[0] |= <int64_t>c.hi[s * c.ways + w] << 32
        c.wide = True
        c.hi[s * c.ways + w] = <uint32_t>(tag >> 32)

    cdef inline int cache_remove(self, Cache *c, int64_t line) noexcept nogil:
        """-1 if absent, else the removed line's dirty bit."""
        cdef int64_t s = line & c.set_mask
        cdef int w = self._find(c, s, line)
        cdef uint64_t *words = self._words(c, s)
        cdef uint8_t *ages
        cdef int dirty
        if w < 0:
            return -1
        dirty = (words[DIRTY] >> w) & 1
        words[VALID] &= ~(<uint64_t>1 << w)
        words[DIRTY] &= ~(<uint64_t>1 << w)
        if c.repl == ORDER:  # an empty way goes last
            words[REPL] = order_back(words[REPL], order_pos(words[REPL], w), c.ways)
        elif c.repl == AGES:  # the way becomes the oldest: every older one one younger
            ages = self._ages(c, s)
            ages_above_dec(ages, ages[w], c.age_lanes)
            ages[w] = c.ways - 1
        if line == c.last:
            c.last = -1
        return dirty

    cdef inline bint cache_mark_dirty(self, Cache *c, int64_t line) noexcept nogil:
        cdef int64_t s = line & c.set_mask
        cdef int w = c.last_way if line == c.last else self._find(c, s, line)
        if w < 0:
            return False
        self._words(c, s)[DIRTY] |= <uint64_t>1 << w
        return True

    cdef inline int cache_dirty(self, Cache *c, int64_t line) noexcept nogil:
        """-1 if absent, else the line's dirty bit."""
        cdef int64_t s = line & c.set_mask
        cdef int w = c.last_way if line == c.last else self._find(c, s, line)
        if w < 0:
            return -1
        return (self._words(c, s)[DIRTY] >> w) & 1

    cdef inline void cache_clear_dirty(self, Cache *c, int64_t line) noexcept nogil:
        cdef int64_t s = line & c.set_mask
        cdef int w = c.last_way if line == c.last else self._find(c, s, line)
        if w >= 0:
            self._words(c, s)[DIRTY] &= ~(<uint64_t>1 << w)

    # ------------------------------------------------------------ the hierarchy

    cdef inline void fill(self, Cache *c, int64_t line, bint dirty) noexcept nogil:
        """Insert into cache c, where the line is known to be absent; evict."""
        cdef int64_t victim = 0
        cdef int vdirty = self.cache_insert(c, line, dirty, True, &victim)
        if vdirty < 0:
            return
        c.ev[0] += 1
        if vdirty or c.keep_victims:  # else a clean victim that goes nowhere
            self.evict(c.index, victim, vdirty)

    cdef void evict(self, int x, int64_t victim, bint vdirty) noexcept nogil:
        """Cache x evicted `victim` (counted): back-invalidate the copies above an inclusive
        cache; write it back, or move it into an exclusive level below (which may evict in
        turn)."""
        cdef Cache *c
        cdef int k, r, b
        while True:
            c = &self.c[x]
            if not c.is_l1 and c.incl == INCLUSIVE:
                for k in range(c.ndesc):
                    r = self.cache_remove(&self.c[c.desc[k]], victim)
                    if r >= 0:
                        c.ev[2] += 1
                        if r:
                            vdirty = True
            if vdirty:
                c.ev[1] += 1
            b = c.below
            if not (b >= 0 and self.c[b].incl == EXCLUSIVE):
                if vdirty:
                    self.write_back(b, victim)
                return
            c = &self.c[b]
            r = self.cache_insert(c, victim, vdirty, False, &victim)
            if r < 0:
                return
            c.ev[0] += 1
            x = b
            vdirty = r

    cdef void write_back(self, int x, int64_t line) noexcept nogil:
        while x >= 0:
            if self.cache_mark_dirty(&self.c[x], line):
                return
            x = self.c[x].below
        self.dram[1] += 1

    cdef int64_t access_line(self, int core, int entry, int64_t line, int kind) noexcept nogil:
        """One line, 'hardware' mode; returns its latency."""
        cdef Cache *e = &self.c[entry]
        cdef int hit_at
        cdef int64_t latency
        cdef bint carried = False
        if self.cache_lookup(e, line):  # the common case first
            e.cnt[kind] += 1
            if kind == WRITE:
                self.cache_mark_dirty(e, line)
                if self.protocol:
                    return self.write_coherence(core, line, self.core[core].lat[entry])
            return self.core[core].lat[entry]
        e.cnt[4 + kind] += 1
        if self.protocol:
            return self.access_line_coherent(core, e, line, kind)
        hit_at = self.look_up(e, 1, e.chain_len, line, kind)
        latency = self.served(core, e, hit_at, line, &carried)
        self.fill_up(e, hit_at, line, carried)
        if kind == WRITE:
            self.cache_mark_dirty(e, line)
        return latency

    cdef inline int look_up(self, Cache *e, int start, int stop, int64_t line,
                            int kind) noexcept nogil:
        """Look the line up in levels [start, stop) of e's chain, counting; the level that hit,
        or e.chain_len if none did."""
        cdef int i
        cdef Cache *h
        for i in range(start, stop):
            h = e.chain[i]
            if self.cache_lookup(h, line):
                h.cnt[kind] += 1
                return i
            h.cnt[4 + kind] += 1
        return e.chain_len

    cdef inline int64_t served(self, int core, Cache *e, int hit_at, int64_t line,
                               bint *carried) noexcept nogil:
        """The latency of the level of e's chain that hit (DRAM at chain_len); an exclusive level
        gives the line up (its dirty bit into carried)."""
        cdef Cache *h
        if hit_at == e.chain_len:
            self.dram[0] += 1
            return self.core[core].dram_lat
        h = e.chain[hit_at]
        if hit_at > 0 and h.incl == EXCLUSIVE:
            carried[0] = self.cache_remove(h, line) == 1
        return self.core[core].lat[h.index]

    cdef inline void fill_up(self, Cache *e, int hit_at, int64_t line, bint carried) noexcept nogil:
        """Fill the levels of e's chain above hit_at, bottom-up; the lowest filled level takes
        the dirty data an exclusive level gave up."""
        cdef int i
        cdef Cache *h
        for i in range(hit_at - 1, -1, -1):
            h = e.chain[i]
            if i > 0 and h.incl == EXCLUSIVE:
                continue
            self.fill(h, line, carried)
            carried = False

    cdef int64_t access_line_coherent(self, int core, Cache *e, int64_t line,
                                      int kind) noexcept nogil:
        """access_line after a miss in the entry level, with coherence: the core's own levels,
        then another core's dirty copy, then the levels below (see the reference)."""
        cdef int n = e.chain_len
        cdef int hit_at = self.look_up(e, 1, e.private_len, line, kind)
        cdef int owner = self.dirty_owner(core, line) if hit_at == n else -1
        cdef int64_t latency
        cdef bint carried = False
        if owner >= 0:  # the line comes from there; the levels below are not asked
            hit_at = e.private_len
            latency = self.transfer(core, owner, line, kind)
            self.worked |= kind == WRITE
        else:
            if hit_at == n:
                hit_at = self.look_up(e, e.private_len, n, line, kind)
            latency = self.served(core, e, hit_at, line, &carried)
        self.fill_up(e, hit_at, line, carried)
        if kind == WRITE:
            self.cache_mark_dirty(e, line)
            latency = self.write_coherence(core, line, latency)
        return latency

    # ------------------------------------------------------------ coherence (see the reference)

    cdef void drop_hints(self, int core, int64_t line) noexcept nogil:
        """`core` is about to hold or write `line`: no other core holds it alone any more."""
        cdef int c
        cdef int64_t k = line & (EXCLUSIVE_HINTS - 1)
        for c in range(self.ncores):
            if c != core and self.excl[EXCLUSIVE_HINTS * c + k] == line:
                self.excl[EXCLUSIVE_HINTS * c + k] = -1

    cdef int dirty_owner(self, int core, int64_t line) noexcept nogil:
        """The other core holding `line` dirty (the first found in cache order), or -1."""
        cdef int x
        cdef Cache *h
        self.drop_hints(core, line)
        for x in range(self.ncaches):
            h = &self.c[x]
            if h.owner >= 0 and h.owner != core and self.cache_dirty(h, line) == 1:
                return h.owner
        return -1

    cdef int64_t transfer(self, int core, int owner, int64_t line, int kind) noexcept nogil:
        """The line comes from `owner`'s caches (a read under MESI: the owner writes it back and
        keeps a clean copy); the transfer latency."""
        cdef int x
        self.ccnt[4 * core + TRANSFERS_IN] += 1
        self.ccnt[4 * owner + TRANSFERS_OUT] += 1
        if kind != WRITE and self.protocol == MESI:
            for x in range(self.ncaches):
                if self.c[x].owner == owner:
                    self.cache_clear_dirty(&self.c[x], line)
            self.ccnt[4 * owner + DOWNGRADES] += 1
            self.write_back(self.shared, line)
        return self.transfer_lat[core]

    cdef int64_t write_coherence(self, int core, int64_t line, int64_t latency) noexcept nogil:
        """A write by `core`: remove every other core's copy of `line`; if there was any, the
        write costs at least the upgrade latency. Returns the write's latency."""
        cdef int64_t *hint = &self.excl[EXCLUSIVE_HINTS * core + (line & (EXCLUSIVE_HINTS - 1))]
        cdef int x
        cdef bint found = False
        cdef Cache *h
        if hint[0] == line:  # no other core has looked it up since this one held it alone
            return latency
        hint[0] = line
        self.drop_hints(core, line)
        for x in range(self.ncaches):
            h = &self.c[x]
            if h.owner >= 0 and h.owner != core and self.cache_remove(h, line) >= 0:
                self.cinv[x] += 1
                found = True
        if not found:
            return latency
        self.worked = True
        self.ccnt[4 * core + UPGRADES] += 1
        return max(latency, self.upgrade_lat[core])

    cdef int64_t access_levelwise(self, int core, int entry, int64_t first, int64_t last,
                                  int kind) noexcept nogil:
        """cachegrind's rule (see the reference)."""
        cdef int x = entry
        cdef Cache *c
        cdef bint missed
        while x >= 0:
            c = &self.c[x]
            missed = False
            if not self.cache_lookup(c, first):
                missed = True
                self.fill(c, first, False)
            if last != first and not self.cache_lookup(c, last):
                missed = True
                self.fill(c, last, False)
            if kind == WRITE and x == entry:
                self.cache_mark_dirty(c, first)
                if last != first:
                    self.cache_mark_dirty(c, last)
            if not missed:
                c.cnt[kind] += 1
                return self.core[core].lat[x]
            c.cnt[4 + kind] += 1
            x = c.below
        self.dram[0] += 1
        return self.core[core].dram_lat

    # ------------------------------------------------------------ translation

    cdef inline bint _t_match(self, Tlb *t, int64_t k, int64_t vpn, int64_t asid) noexcept nogil:
        return t.key[k] == vpn and (t.flag[k] != 0 or t.asid[k] == asid)

    cdef inline void _fa_unlink(self, Tlb *t, int64_t k) noexcept nogil:
        cdef int64_t *prev = t.prev
        cdef int64_t *next = t.next
        cdef int64_t p = prev[k], n = next[k]
        if p >= 0:
            next[p] = n
        else:
            t.head = n
        if n >= 0:
            prev[n] = p
        else:
            t.tail = p

    cdef inline void _fa_to_front(self, Tlb *t, int64_t k) noexcept nogil:
        cdef int64_t head = t.head
        if head == k:
            return
        self._fa_unlink(t, k)  # (not the head: the head stays)
        t.prev[k] = -1
        t.next[k] = head
        t.prev[head] = k
        t.head = k

    cdef inline void _fa_to_back(self, Tlb *t, int64_t k) noexcept nogil:
        if t.tail == k:
            return
        self._fa_unlink(t, k)
        t.next[k] = -1
        t.prev[k] = t.tail
        t.next[t.tail] = k
        t.tail = k

    cdef inline int64_t tlb_lookup(self, Tlb *t, int64_t vpn, int64_t asid) noexcept nogil:
        """Slot of the matching entry (its use refreshed), or -1. Conflicting entries are never
        kept, so at most one entry matches."""
        cdef int64_t k, b
        if t.filt != NULL:
            if self._t_match(t, t.head, vpn, asid):
                return t.head  # the most recent entry again: nothing to reorder
            return self._fa_lookup(t, vpn, asid)
        b = (vpn & t.set_mask) * t.ways
        for k in range(b, b + t.ways):
            if self._t_match(t, k, vpn, asid):
                t.clock += 1
                t.stamp[k] = t.clock
                return k
        return -1

    cdef inline int64_t _fa_lookup(self, Tlb *t, int64_t vpn, int64_t asid) noexcept nogil:
        """tlb_lookup in a fully associative TLB whose most recent entry does not match."""
        cdef int64_t k, n = t.filt[vpn & (TLB_FILTER - 1)]
        if n == 0:
            return -1
        if n == 1:
            k = t.hint[vpn & (TLB_FILTER - 1)]
            if not self._t_match(t, k, vpn, asid):
                return -1
        else:
            k = 0
            while k < t.ways and not self._t_match(t, k, vpn, asid):
                k += 1
            if k == t.ways:
                return -1
        self._fa_to_front(t, k)
        return k

    cdef void _t_drop(self, Tlb *t, int64_t k) noexcept nogil:
        """Empty slot k (a no-op if it is empty)."""
        cdef int64_t bucket
        if t.key[k] < 0:
            return
        if t.filt != NULL:
            bucket = t.key[k] & (TLB_FILTER - 1)
            t.filt[bucket] -= 1
            t.hint[bucket] ^= k
            t.key[k] = -1
            self._fa_to_back(t, k)
        t.key[k] = -1

    cdef inline bint _t_conflict(self, Tlb *t, int64_t k, int64_t key, int64_t asid,
                                 int64_t flag) noexcept nogil:
        """Would a lookup match both slot k and the translation (key, asid, flag)?"""
        return t.key[k] == key and (flag != 0 or t.flag[k] != 0 or t.asid[k] == asid)

    cdef inline void tlb_insert(self, Tlb *t, int64_t key, int64_t asid, int64_t flag,
                                int64_t val, bint conflicts) noexcept nogil:
        """Add a translation, or a walk-cache entry, in an empty slot or the least recently
        used one's. `conflicts`: first drop the translations it conflicts with (see the
        reference); a caller whose lookup of (key, asid) just missed need only ask for a global
        one, as only a global translation can conflict with what such a lookup does not match."""
        cdef int64_t k = self._fa_slot(t, key, asid, flag, conflicts) if t.filt != NULL else \
            self._set_slot(t, key, asid, flag, conflicts)
        t.key[k] = key
        t.asid[k] = asid
        t.flag[k] = flag
        t.val[k] = val

    cdef inline int64_t _fa_slot(self, Tlb *t, int64_t key, int64_t asid, int64_t flag,
                                 bint conflicts) noexcept nogil:
        """tlb_insert's slot in a fully associative TLB, the most recent from now on."""
        cdef int64_t k, best, bucket = key & (TLB_FILTER - 1)
        if conflicts and t.filt[bucket]:  # conflicting entries are in the key's bucket
            if t.filt[bucket] == 1:
                if self._t_conflict(t, t.hint[bucket], key, asid, flag):
                    self._t_drop(t, t.hint[bucket])
            else:
                for k in range(t.ways):
                    if self._t_conflict(t, k, key, asid, flag):
                        self._t_drop(t, k)
        best = t.tail  # empty, or the least recently used
        k = t.key[best]
        if k >= 0:
            t.filt[k & (TLB_FILTER - 1)] -= 1
            t.hint[k & (TLB_FILTER - 1)] ^= best
        self._fa_to_front(t, best)
        t.filt[bucket] += 1
        t.hint[bucket] ^= best
        return best

    cdef inline int64_t _set_slot(self, Tlb *t, int64_t key, int64_t asid, int64_t flag,
                                  bint conflicts) noexcept nogil:
        """tlb_insert's slot in a set-associative TLB or walk cache, in one pass over the set:
        drop conflicts, note the first empty slot and the least recently used."""
        cdef int64_t b = (key & t.set_mask) * t.ways
        cdef int64_t k, best = -1, empty = -1
        for k in range(b, b + t.ways):
            if conflicts and t.key[k] >= 0 and self._t_conflict(t, k, key, asid, flag):
                t.key[k] = -1
            if t.key[k] < 0:
                if empty < 0:
                    empty = k
            elif best < 0 or t.stamp[k] < t.stamp[best]:
                best = k
        if empty >= 0:
            best = empty
        t.clock += 1
        t.stamp[best] = t.clock
        return best

    cdef inline int64_t wc_lookup(self, Tlb *t, int64_t level, int64_t prefix,
                                  int64_t asid) noexcept nogil:
        cdef int64_t b = (prefix & t.set_mask) * t.ways
        cdef int64_t k
        for k in range(b, b + t.ways):
            if t.key[k] == prefix and t.flag[k] == level and t.asid[k] == asid:
                t.clock += 1
                t.stamp[k] = t.clock
                return t.val[k]
        return -1

    cdef int64_t walk(self, int core, int64_t vpn, int64_t asid, int64_t *latency,
                      bint *glob) noexcept nogil:
        """4-level walk with a walk cache; returns the pfn or -1 (a fault)."""
        cdef Core *cr = &self.core[core]
        cdef Tlb *wc = &cr.tlb[WCACHE]
        cdef int64_t va = vpn << PAGE_SHIFT
        cdef int64_t table = self.roots[asid]
        cdef int64_t found, desc_pa, desc, nxt
        cdef int level = 0, cached
        cr.tcnt[WALKS] += 1
        latency[0] += cr.wc_lat
        for cached in range(2, -1, -1):
            found = self.wc_lookup(wc, cached, va >> (12 + 9 * (3 - cached)), asid)
            if found >= 0:
                level = cached + 1
                table = found
                break
        cr.tcnt[WC_HIT if level > 0 else WC_MISS] += 1
        while True:
            if table < 0:
                cr.tcnt[WALK_FAULT] += 1
                return -1
            desc_pa = table + 8 * ((va >> (12 + 9 * (3 - level))) & 511)
            if desc_pa + 8 > self.ram_bytes:
                cr.tcnt[WALK_FAULT] += 1
                return -1
            latency[0] += self.access_line(core, cr.walk_entry, desc_pa >> self.line_bits, WALK)
            desc = <int64_t>self.ram[desc_pa >> 3]  # bit 63 is ignored below
            if desc & 3 != 3:
                cr.tcnt[WALK_FAULT] += 1
                return -1
            nxt = desc & ADDR_MASK
            if level == 3:
                glob[0] = (desc & NG) == 0
                return nxt >> PAGE_SHIFT
            self.tlb_insert(wc, va >> (12 + 9 * (3 - level)), asid, level, nxt, False)
            level += 1
            table = nxt

    cdef int64_t translate(self, int core, int64_t vpn, int64_t asid, bint fetch,
                           int64_t *latency, bint head_missed) noexcept nogil:
        """The pfn; an untranslatable page is timed as identity-mapped. `head_missed`: the
        caller found that the L1 TLB's most recent entry does not match."""
        cdef Core *cr = &self.core[core]
        cdef Tlb *l1 = &cr.tlb[ITLB if fetch else DTLB]
        cdef int64_t k = (self._fa_lookup(l1, vpn, asid) if head_missed
                          else self.tlb_lookup(l1, vpn, asid))
        cdef int64_t pfn, glob
        cdef bint g = False
        if k >= 0:
            cr.tcnt[ITLB_HIT if fetch else DTLB_HIT] += 1
            return l1.val[k]
        cr.tcnt[ITLB_MISS if fetch else DTLB_MISS] += 1
        latency[0] += cr.l2tlb_lat
        k = self.tlb_lookup(&cr.tlb[L2TLB], vpn, asid)
        if k >= 0:
            cr.tcnt[L2TLB_HIT] += 1
            pfn = cr.tlb[L2TLB].val[k]
            glob = cr.tlb[L2TLB].flag[k]
        else:
            cr.tcnt[L2TLB_MISS] += 1
            pfn = self.walk(core, vpn, asid, latency, &g)
            if pfn < 0:
                return vpn
            glob = 1 if g else 0
            self.tlb_insert(&cr.tlb[L2TLB], vpn, asid, glob, pfn, glob != 0)
        self.tlb_insert(l1, vpn, asid, glob, pfn, glob != 0)  # both lookups missed
        return pfn

    def invalidate(self, int64_t va, int64_t asid):
        """TLBI: va < 0 means no VA given, asid < 0 no ASID given (see the reference)."""
        cdef int c, t
        cdef int64_t k, key, vpn = va >> PAGE_SHIFT
        cdef Tlb *tl
        cdef bint hit
        for c in range(self.ncores):
            for t in range(4):
                tl = &self.core[c].tlb[t]
                for k in range((tl.set_mask + 1) * tl.ways):
                    key = tl.key[k]
                    if key < 0:
                        continue
                    if t == WCACHE:
                        hit = (asid < 0 or tl.asid[k] == asid) and (
                            va < 0 or key == va >> (12 + 9 * (3 - tl.flag[k])))
                    elif va >= 0 and key != vpn:
                        hit = False
                    elif asid < 0:
                        hit = True
                    elif va < 0:
                        hit = tl.asid[k] == asid and tl.flag[k] == 0
                    else:
                        hit = tl.flag[k] != 0 or tl.asid[k] == asid
                    if hit:
                        self._t_drop(tl, k)

    def raw_entry(self):
        """(function, engine, dram): for compiled callers holding this engine and the GIL, the
        address of `run_raw` (void (void *engine, const Event *ev, int *out, Py_ssize_t n):
        run's timing of n events into out, with no Python objects made), this engine's
        address, and the address of the DRAM counters (int64 reads, writes)."""
        return <size_t>&run_raw, <size_t><void*>self, <size_t>self.dram

    # ------------------------------------------------------------ the batch

    def first_bad(self, events, int64_t line):
        """Index of the first event the model cannot take (see hmk.hw.events.check_events, which
        names the problem), or -1. A compiled pre-pass, so a bad batch changes no state."""
        cdef const uint8_t[::1] raw = events.view(np.uint8)
        cdef const Event *ev = <const Event*> &raw[0] if raw.shape[0] else NULL
        cdef Py_ssize_t i, bad = -1, n = events.shape[0]
        with nogil:
            for i in range(n):
                if (ev[i].addr >> 48 != 0 or ev[i].kind > FETCH or ev[i].size == 0
                        or ev[i].size > line or ev[i].core >= self.ncores):
                    bad = i
                    break
        return bad

    def run(self, events, int[::1] out):
        """Time each event (a C-contiguous EVENT_DTYPE array) into out[i]."""
        cdef const uint8_t[::1] raw = events.view(np.uint8)
        cdef const Event *ev = <const Event*> &raw[0] if raw.shape[0] else NULL
        cdef Py_ssize_t n = events.shape[0]
        assert sizeof(Event) == 16 and events.dtype.itemsize == 16
        self._reserve(n)
        with nogil:
            self._run(ev, &out[0] if n else NULL, 0, n)

    def run_marked(self, events, ends):
        """As run, returning (latencies, writes): writes[k] is the lines the events [ends[k-1],
        ends[k]) wrote back to DRAM. `events`: a C-contiguous EVENT_DTYPE array; `ends`: a
        C-contiguous int64 array, ascending within the events, or None (one segment: all of
        them). Arrays reached through the C API: the kernel times its paths with this, often
        and for few events, and typed memoryviews cost more than that."""
        cdef cnp.ndarray ev = <cnp.ndarray?>events, marks, out, writes
        cdef Py_ssize_t k, lo = 0, n, nseg = 1
        cdef cnp.npy_intp dim
        cdef int64_t whole, before
        cdef const int64_t* e = &whole
        cdef int64_t* w
        if not cnp.PyArray_IS_C_CONTIGUOUS(ev) or cnp.PyArray_ITEMSIZE(ev) != sizeof(Event):
            raise ValueError("run_marked: events must be a C-contiguous EVENT_DTYPE array")
        n = cnp.PyArray_DIM(ev, 0)
        whole = n
        if ends is not None:
            marks = <cnp.ndarray?>ends
            if cnp.PyArray_TYPE(marks) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(marks):
                raise ValueError("run_marked: ends must be a C-contiguous int64 array")
            nseg = cnp.PyArray_DIM(marks, 0)
            e = <const int64_t*>cnp.PyArray_DATA(marks)
        for k in range(nseg):
            if not lo <= e[k] <= n:
                raise ValueError("run_marked: segment ends must ascend within the events")
            lo = e[k]
        dim = n
        out = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_INT32, 0)
        dim = nseg
        writes = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_INT64, 0)
        w = <int64_t*>cnp.PyArray_DATA(writes)
        lo = 0
        self._reserve(n)
        with nogil:
            for k in range(nseg):
                before = self.dram[1]
                self._run(<const Event*>cnp.PyArray_DATA(ev), <int*>cnp.PyArray_DATA(out), lo,
                          e[k])
                w[k] = self.dram[1] - before
                lo = e[k]
        return out, writes

    cdef void _run(self, const Event *ev, int *out, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
        """Time events [lo, hi) into out[lo:hi]."""
        cdef Py_ssize_t i
        cdef int64_t a, end, first, last, fp, lp, pf, pl, latency, lat2
        cdef int64_t tlat  # the translations' cycles (kept apart: its address is taken)
        cdef int k, c, entry
        cdef Tlb *tl
        cdef Cache *e
        cdef int lb = self.line_bits
        cdef int offset_bits = PAGE_SHIFT - lb
        cdef int64_t mask = (<int64_t>1 << offset_bits) - 1
        for i in range(lo, hi):
            a = <int64_t>ev[i].addr
            k = ev[i].kind
            c = ev[i].core
            end = a + ev[i].size - 1
            entry = self.core[c].l1i if k == FETCH else self.core[c].l1d
            first = a >> lb
            last = end >> lb
            latency = 0
            if self.core[c].has_tlb:
                tlat = 0
                fp = a >> PAGE_SHIFT
                lp = end >> PAGE_SHIFT
                tl = &self.core[c].tlb[ITLB if k == FETCH else DTLB]
                if self._t_match(tl, tl.head, fp, ev[i].asid):  # most common: same page
                    self.core[c].tcnt[ITLB_HIT if k == FETCH else DTLB_HIT] += 1
                    pf = tl.val[tl.head]
                else:
                    pf = self.translate(c, fp, ev[i].asid, k == FETCH, &tlat, True)
                pl = pf
                if lp != fp:
                    pl = self.translate(c, lp, ev[i].asid, k == FETCH, &tlat, False)
                first = (pf << offset_bits) | (first & mask)
                last = (pl << offset_bits) | (last & mask)
                latency = tlat
            e = &self.c[entry]
            if first == e.last and last == first:  # the line this cache used last: a hit that
                e.cnt[k] += 1  # changes nothing else (the line is the most recent in its set)
                if k == WRITE:
                    self._words(e, first & e.set_mask)[DIRTY] |= <uint64_t>1 << e.last_way
                    if self.protocol:  # other cores' copies to invalidate: what more it costs
                        latency += self.write_coherence(c, first, self.core[c].lat[entry]) \
                            - self.core[c].lat[entry]
                latency += self.core[c].lat[entry]
            elif self.levelwise:
                latency += self.access_levelwise(c, entry, first, last, k)
            else:
                lat2 = self.access_line(c, entry, first, k)
                if last != first:
                    lat2 = max(lat2, self.access_line(c, entry, last, k))
                latency += lat2
            out[i] = <int>latency
            if self.worked:
                self.marks[self.nmarks] = i
                self.nmarks += 1
                self.worked = False

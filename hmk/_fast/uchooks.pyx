# cython: boundscheck=False, wraparound=False, cdivision=True
"""Native unicorn hooks: translation through hmk's page tables and recording of what ran.

unicorn calls these C functions directly (their addresses are registered with uc_hook_add by
hmk.cpu.machine), so no Python runs per instruction, block, memory access or TLB fill. Python
runs only when a fill finds no valid mapping (the kernel's page-fault path, through a C callback
pointer made by ctypes) and when the recording buffers are handed over.

* tlb_fill: walks the 4-level ARMv8 tables of the current address space (root, in simulated RAM)
  and gives unicorn the physical page and its permissions. A miss, or a write to a read-only
  page, or a fetch from a non-executable one, calls `fault_cb(vaddr, access)`; if it returns 1
  the walk is retried, else the fill fails and the CPU stops with an exception.
* mem: every data access as a hmk.hw.events record (virtual address, kind, size, ASID, core).
  In virtual-TLB mode unicorn passes memory hooks the *physical* address, so the fill hook
  keeps a reverse map (physical page -> virtual page) of the current address space, and the
  memory hook turns the address back into the virtual one the TLB model needs. A frame mapped
  at two virtual pages of one address space is attributed to the page filled last.
* sysreg: a read of the generic timer's counter or frequency (MRS of CNTFRQ_EL0, CNTPCT_EL0,
  CNTVCT_EL0 and their self-synchronised forms) calls `counter_cb(reg, op2)`, which answers
  from the simulated clock and returns 1 (the instruction is skipped); other system registers
  return 0 and read as unicorn has them, with no Python.
* block: every executed translation block as a block record (address, size, instructions,
  index of its first event), preceded by one fetch event per cache line the block spans; with
  event recording off (`record_events`, a functional stretch of a sampled run, while the
  machine has the memory hook removed) the block record alone. It also counts the
  instructions of every block it lets run (`instructions`).
  With a table of the blocks seen (`watch_code`, a sampled run's), it notes every block run
  for the first time (`last_new`) and, with `stop_on_new`, stops before it (`cold_stop`).
When a buffer is nearly full, or the instruction count has reached `stop_at`, the block hook
asks unicorn to stop before the block it announces runs; the machine drains the buffers and
resumes there. EVENT_MARGIN leaves room for the accesses of the block that is running when the
buffer crosses the mark.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from hmk._fast.shared cimport (
    ADDR_MASK, AP_EL0, AP_RO, FETCH, LEVELS, PAGE_SHIFT, PAGE_SIZE, READ, TABLE_DESC, UC_MEM_FETCH,
    UC_MEM_READ, UC_MEM_WRITE, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, UXN, WRITE, Block, Event
)

import numpy as np

from hmk.hw.events import BLOCK_DTYPE

cdef enum:
    # room kept free in the event buffer for the rest of a block after a stop is requested
    # (unicorn finishes the current translation block; a TB holds at most 512 instructions,
    # each of which can make at most a few accesses, e.g. a load pair that straddles lines)
    EVENT_MARGIN = 4096

cdef uint64_t UNTIL_PAGE = (<uint64_t>0xFFFFFFFFFFFFFFFF) >> PAGE_SHIFT  # hmk.cpu.machine.UNTIL
cdef uint64_t HASH_MUL = (<uint64_t>0x9E3779B9 << 32) | <uint64_t>0x7F4A7C15  # Fibonacci hashing


cdef struct uc_tlb_entry:
    uint64_t paddr
    int perms


ctypedef int (*fault_cb_t)(uint64_t vaddr, int access) noexcept nogil
ctypedef int (*counter_cb_t)(int reg, int op2) noexcept nogil


cdef struct uc_arm64_cp_reg:  # unicorn's description of the system register an MRS names
    uint32_t crn
    uint32_t crm
    uint32_t op0
    uint32_t op1
    uint32_t op2
    uint64_t val
ctypedef int (*emu_stop_t)(void *uc) noexcept nogil


cdef struct State:
    uint64_t *ram  # simulated physical RAM, as 64-bit words
    uint64_t ram_bytes
    int64_t root  # level-0 table of the current address space, -1 = none
    uint16_t asid
    uint8_t core
    int line_bits
    fault_cb_t fault_cb
    counter_cb_t counter_cb
    emu_stop_t emu_stop
    Event *events
    uint64_t nev
    uint64_t ev_cap
    Block *blocks
    uint64_t nblk
    uint64_t blk_cap
    bint stop_requested
    bint record_events  # fetch, read and write events recorded (else blocks only)
    uint64_t insns  # instructions of the blocks let run
    uint64_t stop_at  # stop before the first block announced once insns reaches it
    uint64_t *seen  # blocks seen: (address << 12 | size) + 1, open addressing (NULL: none)
    uint64_t seen_mask
    uint64_t *seen_used  # the table's count of entries (its last word)
    bint stop_on_new  # stop before a block never seen
    bint stopped_on_new  # the last stop was for one
    uint64_t last_new  # insns when the last block never seen was announced
    uint64_t fills
    uint64_t faults
    uint64_t *rmap_key  # physical page + 1 (0 = empty), open addressing
    uint64_t *rmap_val  # virtual page
    uint64_t rmap_mask
    uint64_t rmap_used
    uint64_t unattributed  # data accesses whose frame was not in the reverse map


cdef inline int _walk(State *st, uint64_t va, uint64_t *pa, int *perms) noexcept nogil:
    """1 and the page's physical address and permissions, or 0 when no valid page maps va."""
    cdef int64_t table = st.root
    cdef uint64_t desc, slot
    cdef int level
    if table < 0 or va >> 48:
        return 0
    for level in range(LEVELS):
        slot = <uint64_t>table + 8 * ((va >> (39 - 9 * level)) & 511)
        if slot + 8 > st.ram_bytes:
            return 0
        desc = st.ram[slot >> 3]
        if desc & TABLE_DESC != TABLE_DESC:  # invalid, or a block descriptor (not modelled)
            return 0
        table = <int64_t>(desc & ADDR_MASK)
    if not desc & AP_EL0:  # AP[1]: not accessible from EL0
        return 0
    pa[0] = desc & ADDR_MASK
    perms[0] = UC_PROT_READ
    if not desc & AP_RO:  # AP[2] clear: writable
        perms[0] |= UC_PROT_WRITE
    if not desc & UXN:  # UXN clear: executable at EL0
        perms[0] |= UC_PROT_EXEC
    return 1


cdef inline void _rmap_put(State *st, uint64_t ppage, uint64_t vpage) noexcept nogil:
    cdef uint64_t i = ((ppage * HASH_MUL) >> 20) & st.rmap_mask
    while st.rmap_key[i] != 0 and st.rmap_key[i] != ppage + 1:
        i = (i + 1) & st.rmap_mask
    if st.rmap_key[i] == 0:
        if 2 * (st.rmap_used + 1) > st.rmap_mask + 1:
            return  # over half full: the machine clears it (and unicorn's TLB) at the next drain
        st.rmap_used += 1
        st.rmap_key[i] = ppage + 1
    st.rmap_val[i] = vpage


cdef inline int64_t _rmap_get(State *st, uint64_t ppage) noexcept nogil:
    cdef uint64_t i = ((ppage * HASH_MUL) >> 20) & st.rmap_mask
    while st.rmap_key[i] != 0:
        if st.rmap_key[i] == ppage + 1:
            return <int64_t>st.rmap_val[i]
        i = (i + 1) & st.rmap_mask
    return -1


cdef inline bint _first_seen(State *st, uint64_t address, uint32_t size) noexcept nogil:
    """Whether the block at `address` of `size` bytes is seen for the first time (and note it);
    a table over half full notes no more and takes every block as seen."""
    cdef uint64_t key = ((address << 12) | (size & 4095)) + 1
    cdef uint64_t i = ((key * HASH_MUL) >> 20) & st.seen_mask
    while st.seen[i] != 0:
        if st.seen[i] == key:
            return False
        i = (i + 1) & st.seen_mask
    if 2 * (st.seen_used[0] + 1) > st.seen_mask + 1:
        return False
    st.seen[i] = key
    st.seen_used[0] += 1
    return True


cdef inline int _allowed(int perms, int access) noexcept nogil:
    if access == UC_MEM_WRITE:
        return perms & UC_PROT_WRITE
    if access == UC_MEM_FETCH:
        return perms & UC_PROT_EXEC
    return perms & UC_PROT_READ


cdef bint tlb_fill(void *uc, uint64_t vaddr, int access, uc_tlb_entry *result,
                   void *user) noexcept nogil:
    cdef State *st = <State*> user
    cdef uint64_t pa = 0
    cdef int perms = 0
    cdef int attempt
    st.fills += 1
    if vaddr >> PAGE_SHIFT == UNTIL_PAGE:
        # unicorn translates its `until` address (hmk.cpu.machine.UNTIL) whenever it stops;
        # give it a harmless read/exec view of frame 0 instead of a fault
        result.paddr = 0
        result.perms = UC_PROT_READ | UC_PROT_EXEC
        return True
    for attempt in range(2):
        if _walk(st, vaddr, &pa, &perms) and _allowed(perms, access):
            result.paddr = pa | (vaddr & (PAGE_SIZE - 1))
            result.perms = perms
            _rmap_put(st, pa >> PAGE_SHIFT, vaddr >> PAGE_SHIFT)
            return True
        if attempt == 0:
            st.faults += 1
            if st.fault_cb == NULL or not st.fault_cb(vaddr, access):
                return False
    return False


cdef inline void _request_stop(void *uc, State *st) noexcept nogil:
    if not st.stop_requested:
        st.stop_requested = True
        st.emu_stop(uc)


cdef inline void _event(State *st, uint64_t addr, uint8_t kind, uint8_t size) noexcept nogil:
    cdef Event *e
    if st.nev >= st.ev_cap:  # cannot happen while EVENT_MARGIN holds; never overflow
        return
    e = &st.events[st.nev]
    e.addr = addr
    e.asid = st.asid
    e.kind = kind
    e.size = size
    e.core = st.core
    st.nev += 1


cdef void noop_mem_hook(void *uc, int access, uint64_t address, int size, int64_t value,
                        void *user) noexcept nogil:
    """Does nothing: what unicorn costs with a native memory hook at all (the benchmarks'
    ceiling for any design that sees every access)."""
    pass


cdef void mem_hook(void *uc, int access, uint64_t address, int size, int64_t value,
                   void *user) noexcept nogil:
    cdef State *st = <State*> user
    cdef uint64_t line = <uint64_t>1 << st.line_bits
    cdef uint64_t first, room
    cdef uint8_t kind = WRITE if access == UC_MEM_WRITE else READ
    cdef int64_t vpage
    if not st.record_events:
        return
    vpage = _rmap_get(st, address >> PAGE_SHIFT)
    if vpage >= 0:
        address = (<uint64_t>vpage << PAGE_SHIFT) | (address & (PAGE_SIZE - 1))
    else:
        st.unattributed += 1
    # an access wider than a line (a 32-byte SIMD pair, say) is recorded line by line
    while size > 0:
        first = line - (address & (line - 1))
        room = <uint64_t>size if <uint64_t>size < first else first
        _event(st, address, kind, <uint8_t>room)
        address += room
        size -= <int>room


cdef uint32_t sysreg_hook(void *uc, int reg, const uc_arm64_cp_reg *cp, void *user) noexcept nogil:
    cdef State *st = <State*> user
    # the generic timer's EL0 registers: op0 3, op1 3, CRn 14, CRm 0 (op2: 0 CNTFRQ_EL0,
    # 1 CNTPCT_EL0, 2 CNTVCT_EL0, 5 CNTPCTSS_EL0, 6 CNTVCTSS_EL0)
    if cp.op0 == 3 and cp.op1 == 3 and cp.crn == 14 and cp.crm == 0 and st.counter_cb != NULL:
        if cp.op2 <= 2 or cp.op2 == 5 or cp.op2 == 6:
            return <uint32_t> st.counter_cb(reg, cp.op2)
    return 0


cdef void block_hook(void *uc, uint64_t address, uint32_t size, void *user) noexcept nogil:
    cdef State *st = <State*> user
    cdef Block *b
    cdef uint64_t line = <uint64_t>1 << st.line_bits
    cdef uint64_t a = address, end = address + size, chunk
    if st.stop_requested:
        return
    if st.seen != NULL and _first_seen(st, address, size):
        st.last_new = st.insns
        if st.stop_on_new:  # (announced again on resume: seen then)
            st.stopped_on_new = True
            _request_stop(uc, st)
            return
    if (st.nblk + 1 >= st.blk_cap or st.nev + EVENT_MARGIN >= st.ev_cap
            or st.insns >= st.stop_at):
        # a stop requested here takes effect before this block runs: it is announced again
        # when the machine resumes, so nothing is recorded for it now
        _request_stop(uc, st)
        return
    b = &st.blocks[st.nblk]
    b.addr = address
    b.size = size
    b.ninsn = size >> 2  # A64 instructions are 4 bytes
    b.event_start = st.nev
    st.nblk += 1
    st.insns += b.ninsn
    if not st.record_events:
        return
    while a < end:
        chunk = line - (a & (line - 1))
        if a + chunk > end:
            chunk = end - a
        _event(st, a, FETCH, <uint8_t>chunk)
        a += chunk


cdef class Recorder:
    """Owns the hook state and the buffers; hmk.cpu.machine registers the hook addresses."""

    cdef State st
    cdef object _ram
    cdef object _rmap
    cdef object _seen  # the table of blocks seen that the hook uses (watch_code)
    cdef object _events  # two buffer sets: the hooks fill one while the other is consumed
    cdef object _blocks
    cdef Event *_event_bufs[2]
    cdef Block *_block_bufs[2]
    cdef int _current

    def __init__(self, ram, int line_bits, size_t emu_stop_address, int event_capacity=1 << 20,
                 int block_capacity=1 << 18, int rmap_capacity=1 << 16):
        from hmk.hw.events import EVENT_DTYPE

        if rmap_capacity < 2 or rmap_capacity & (rmap_capacity - 1):
            raise ValueError("rmap_capacity must be a power of two")
        if event_capacity <= 2 * EVENT_MARGIN:
            raise ValueError(f"event_capacity must exceed {2 * EVENT_MARGIN}")
        self._ram = ram
        self._events = [np.zeros(event_capacity, EVENT_DTYPE) for _ in range(2)]
        self._blocks = [np.zeros(block_capacity, BLOCK_DTYPE) for _ in range(2)]
        for which in range(2):
            self._event_bufs[which] = <Event*> <size_t> self._events[which].ctypes.data
            self._block_bufs[which] = <Block*> <size_t> self._blocks[which].ctypes.data
        self._current = 0
        self.st.ram = <uint64_t*> <size_t> ram.ctypes.data
        self.st.ram_bytes = ram.nbytes
        self.st.root = -1
        self.st.asid = 0
        self.st.core = 0
        self.st.line_bits = line_bits
        self.st.fault_cb = NULL
        self.st.counter_cb = NULL
        self.st.emu_stop = <emu_stop_t> emu_stop_address
        self._use(0)
        self.st.ev_cap = event_capacity
        self.st.blk_cap = block_capacity
        self.st.nev = self.st.nblk = 0
        self.st.stop_requested = False
        self.st.record_events = True
        self.st.insns = 0
        self.st.stop_at = <uint64_t>0xFFFFFFFFFFFFFFFF
        self.st.seen = self.st.seen_used = NULL
        self.st.seen_mask = 0
        self.st.stop_on_new = self.st.stopped_on_new = False
        self.st.last_new = 0
        self._seen = None
        self.st.fills = self.st.faults = 0
        self._rmap = np.zeros((2, rmap_capacity), np.uint64)
        self.st.rmap_key = <uint64_t*> <size_t> self._rmap[0].ctypes.data
        self.st.rmap_val = <uint64_t*> <size_t> self._rmap[1].ctypes.data
        self.st.rmap_mask = rmap_capacity - 1
        self.st.rmap_used = 0
        self.st.unattributed = 0

    def set_fault_callback(self, size_t address):
        """A C function pointer int(uint64 vaddr, int access) (e.g. a ctypes CFUNCTYPE)."""
        self.st.fault_cb = <fault_cb_t> address

    def set_counter_callback(self, size_t address):
        """A C function pointer int(int reg, int op2) answering generic-timer reads."""
        self.st.counter_cb = <counter_cb_t> address

    def forget_translations(self):
        """Empty the reverse map; the caller flushes unicorn's TLB at the same time."""
        self._rmap[0, :] = 0
        self.st.rmap_used = 0

    @property
    def translations_crowded(self):
        return 2 * self.st.rmap_used >= self.st.rmap_mask

    def set_space(self, int64_t root, int asid, int core=0):
        """Switch the address space the fills walk (the kernel's TTBR0/ASID write); the caller
        flushes unicorn's TLB and calls forget_translations()."""
        self.st.root = root
        self.st.asid = <uint16_t> asid
        self.st.core = <uint8_t> core

    @property
    def state_address(self):
        return <size_t> &self.st

    @staticmethod
    def hook_addresses():
        return {
            "tlb_fill": <size_t> &tlb_fill,
            "mem": <size_t> &mem_hook,
            "block": <size_t> &block_hook,
            "sysreg": <size_t> &sysreg_hook,
            "noop_mem": <size_t> &noop_mem_hook,
        }

    cdef _use(self, int which):
        self._current = which
        self.st.events = self._event_bufs[which]
        self.st.blocks = self._block_bufs[which]

    def take(self):
        """(blocks, events) recorded since the last take, as views of the buffer set just
        filled; the hooks go on in the other set. The views stay valid until the take after
        next, so the consumer must be done with them by then."""
        blocks = self._blocks[self._current][: self.st.nblk]
        events = self._events[self._current][: self.st.nev]
        self._use(1 - self._current)
        self.st.nblk = self.st.nev = 0
        self.st.stop_requested = False
        return blocks, events

    @property
    def stop_requested(self):
        return bool(self.st.stop_requested)

    @property
    def instructions(self):
        """Instructions of the blocks let run so far (every block recorded, in any mode)."""
        return self.st.insns

    @property
    def stop_at(self):
        """The instruction count at which the block hook stops the CPU (before the first
        block announced once `instructions` reached it); None: never."""
        return None if self.st.stop_at == <uint64_t>0xFFFFFFFFFFFFFFFF else self.st.stop_at

    @stop_at.setter
    def stop_at(self, value):
        self.st.stop_at = <uint64_t>0xFFFFFFFFFFFFFFFF if value is None else <uint64_t>value

    def watch_code(self, table):
        """Note the blocks run in `table` (a uint64 numpy array of a power of two plus one
        words, zero at first; the last counts the entries), or in none (None)."""
        if table is None:
            self._seen = None
            self.st.seen = self.st.seen_used = NULL
            return
        size = len(table) - 1
        if table.dtype != np.uint64 or size < 2 or size & (size - 1) or not table.flags.c_contiguous:
            raise ValueError("a table of blocks is a uint64 array of a power of two plus one words")
        self._seen = table
        self.st.seen = <uint64_t*> <size_t> table.ctypes.data
        self.st.seen_mask = size - 1
        self.st.seen_used = &self.st.seen[size]

    @property
    def stop_on_new(self):
        """Whether a block never seen stops the CPU before it runs (with watch_code)."""
        return bool(self.st.stop_on_new)

    @stop_on_new.setter
    def stop_on_new(self, bint on):
        self.st.stop_on_new = on

    def cold_stop(self):
        """Whether the CPU stopped for a block never seen since this was last asked."""
        stopped, self.st.stopped_on_new = self.st.stopped_on_new, False
        return bool(stopped)

    @property
    def last_new(self):
        """The instruction count when the last block never seen was announced."""
        return self.st.last_new

    @property
    def record_events(self):
        """Whether fetch, read and write events are recorded (else block records only)."""
        return bool(self.st.record_events)

    @record_events.setter
    def record_events(self, bint on):
        self.st.record_events = on

    @property
    def counts(self):
        return {"fills": self.st.fills, "faults": self.st.faults,
                "unattributed": self.st.unattributed}

    def translate(self, uint64_t va, int access=UC_MEM_READ):
        """The physical address `va` maps to for this access (read/write/fetch), or None."""
        cdef uint64_t pa = 0
        cdef int perms = 0
        if _walk(&self.st, va, &pa, &perms) and _allowed(perms, access):
            return pa | (va & (PAGE_SIZE - 1))
        return None

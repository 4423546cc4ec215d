# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled twin of hmk.kernel.vspace.VSpaces's page-table walks and edits: `mapped` (the
pages a range maps, each table read once), `map`, `protect` and `unmap` (timed: the same
descriptor reads and writes, VSpace field loads and frame zeroing, logged as the reference
logs them, so the same cycles). Read it beside the reference; tests/test_vspace_twin.py holds
the two together under hypothesis.

The Python entry points take what the reference takes and return what it returns; arguments
that are not plain ints go to the reference itself. The memory manager's compiled fork and
teardown (hmk._fast.addrspacefast) call the `c_` methods at C level.
"""

from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memset

cimport numpy as cnp
import numpy as np

from hmk._fast.event cimport log_commit, log_reserve, mem_dict, put_event
from hmk._fast.shared cimport (
    ADDR_MASK, AP_EL0, AP_RO, EEXIST, EINVAL, ENOENT, ENOMEM, KERNEL_BASE, LEVELS, LINE, OK,
    PAGE_BITS, PAGE_SIZE, PXN, READ, TABLE_DESC, UXN, WRITE, Event
)

cnp.import_array()

cdef enum:
    WALK_RECORDS = 1 + LEVELS  # the root's load and a descriptor per level
    EDIT_RECORDS = WALK_RECORDS + 3  # + the descriptor's write, generation and asid loads

cdef uint64_t VA_END = (<uint64_t>1) << 48  # hmk.hw.pagetable.VA_LIMIT


cdef class FastVSpaces:
    def __init__(self, vspaces):
        v, mem = vspaces.vspace, vspaces.mem
        self.vspaces, self.mem, self.asids = vspaces, mem, vspaces.asids
        self.frames = vspaces.frames
        self.alloc_frame = vspaces._alloc_frame
        self.mem_d = mem_dict(mem)
        self.words = vspaces.words
        self.ram = <uint8_t*>cnp.PyArray_DATA(vspaces.ram)
        self.ram_bytes = len(vspaces.ram)
        self.heap_lo, self.heap_hi = mem.base_pa, mem.base_pa + mem.size
        self.vs_used = v.used.view("u1")
        self.vs_root, self.vs_gen, self.vs_asid = v["root"], v["generation"], v["asid"]
        self.vs_base, self.vs_rec = KERNEL_BASE + v.base, v.record
        self.o_root, self.o_gen, self.o_asid = (
            v.offset["root"], v.offset["generation"], v.offset["asid"]
        )
        self.found_va = np.zeros(64, np.uint64)
        self.found_pa = np.zeros(64, np.uint64)

    # ---- checks (VSpaces.valid, user_page, data_frame) ------------------------------------
    cdef bint plain(self, i, va) noexcept:
        """Arguments the C paths take: a VSpace index in the pool's range and an address in
        [0, 2**48), both plain ints (the reference answers everything else)."""
        return (type(i) is int and type(va) is int and 0 <= i < self.vs_used.shape[0]
                and 0 <= va < VA_END)

    cdef bint valid(self, long long i) noexcept:
        return 0 <= i < self.vs_used.shape[0] and self.vs_used[i]

    cdef bint data_frame(self, uint64_t pa) noexcept:
        return (pa <= <uint64_t>(self.ram_bytes - PAGE_SIZE) and pa % PAGE_SIZE == 0
                and not <long long>(self.heap_lo - PAGE_SIZE) < <long long>pa < self.heap_hi)

    # ---- the walk: each table that covers part of the range read once -------------------
    def mapped(self, i, start, end):
        """As VSpaces.mapped: [(va, pa)] of the pages VSpace `i` maps in [start, end)."""
        if not self.plain(i, 0) or type(start) is not int or type(end) is not int:
            return self.vspaces.mapped(i, start, end)
        if not self.valid(i) or end <= 0 or start >= VA_END:
            return []
        cdef Py_ssize_t k, n = self.c_mapped(i, max(start, 0), min(end, VA_END))
        return [(self.found_va[k], self.found_pa[k]) for k in range(n)]

    cdef Py_ssize_t c_mapped(self, long long i, uint64_t start, uint64_t end) except -1:
        """The mapped pages of [start, end) of the valid VSpace `i` into found_va / found_pa;
        their count."""
        return self._under(self.vs_root[i], 0, 0, start, end, 0)

    cdef Py_ssize_t _under(self, uint64_t table, int level, uint64_t base, uint64_t start,
                           uint64_t end, Py_ssize_t n) except -1:
        cdef int shift = 12 + 9 * (LEVELS - 1 - level)
        cdef uint64_t first = (start - base) >> shift if start > base else 0
        cdef uint64_t last, k, desc, va
        if end <= base:
            return n
        last = (end - base + (<uint64_t>1 << shift) - 1) >> shift
        if last > 512:
            last = 512
        for k in range(first, last):
            desc = self.words[(table >> 3) + k]
            if desc & TABLE_DESC != TABLE_DESC:
                continue
            va = base + (k << shift)
            if level < LEVELS - 1:
                n = self._under(desc & ADDR_MASK, level + 1, va, start, end, n)
                continue
            if n == self.found_va.shape[0]:
                self.found_va = np.concatenate((self.found_va, np.zeros(n, np.uint64)))
                self.found_pa = np.concatenate((self.found_pa, np.zeros(n, np.uint64)))
            self.found_va[n] = va
            self.found_pa[n] = desc & ADDR_MASK
            n += 1
        return n

    def translate(self, i, va):
        """As VSpaces.translate (untimed)."""
        if not self.plain(i, va) or not self.valid(i):
            return self.vspaces.translate(i, va)
        cdef uint64_t table = self.vs_root[<long long>i], desc = 0
        cdef int level
        for level in range(LEVELS):
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC != TABLE_DESC:
                return None
            table = desc & ADDR_MASK
        return table | (<uint64_t>va & (PAGE_SIZE - 1))

    # ---- edits (timed) --------------------------------------------------------------------
    def map(self, i, va, pa, writable=True, executable=False):
        """As VSpaces.map: (OK | EINVAL | EEXIST | ENOMEM, [])."""
        if not self.plain(i, va) or type(pa) is not int or not 0 <= pa < VA_END:
            return self.vspaces.map(i, va, pa, writable, executable)
        return self.c_map(i, va, pa, writable, executable), []

    def protect(self, i, va, writable, executable, user=True):
        """As VSpaces.protect: (OK, tlbi) | (EINVAL | ENOENT, [])."""
        cdef long long asid = -1
        if not self.plain(i, va):
            return self.vspaces.protect(i, va, writable, executable, user)
        code = self.c_protect(i, va, writable, executable, user, &asid)
        return code, [(va, asid)] if asid >= 0 else []

    def unmap(self, i, va):
        """As VSpaces.unmap: (OK, tlbi) | (EINVAL | ENOENT, [])."""
        cdef long long asid = -1
        if not self.plain(i, va):
            return self.vspaces.unmap(i, va)
        code = self.c_unmap(i, va, &asid)
        return code, [(va, asid)] if asid >= 0 else []

    cdef int c_map(self, long long i, uint64_t va, uint64_t pa, bint writable,
                   bint executable) except? -1000:
        """VSpaces.map of the page at `va` to the frame at `pa` (`i` in the pool's range)."""
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        cdef uint64_t table, desc
        cdef int level = 0, k, missing
        cdef uint64_t new[LEVELS]
        if not (self.valid(i) and va < KERNEL_BASE and va % PAGE_SIZE == 0
                and self.data_frame(pa)):
            return EINVAL
        if executable:
            self.frames.code.add(pa)  # its reuse must drop the CPU's translated code
        log = log_reserve(self.mem, self.mem_d, WALK_RECORDS, &ln, &core)
        table = self.vs_root[i]
        put_event(log, ln, self.vs_base + i * self.vs_rec + self.o_root, READ, 8, core); ln += 1
        while level < LEVELS - 1:  # walk as far as the tables exist
            put_event(log, ln, KERNEL_BASE + table + 8 * idx(va, level), READ, 8, core); ln += 1
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC != TABLE_DESC:
                break
            table = desc & ADDR_MASK
            level += 1
        if level == LEVELS - 1:
            put_event(log, ln, KERNEL_BASE + table + 8 * idx(va, level), READ, 8, core); ln += 1
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC == TABLE_DESC:
                log_commit(self.mem_d, ln)
                return EEXIST
        log_commit(self.mem_d, ln)
        missing = LEVELS - 1 - level
        for k in range(missing):  # all frames first: ENOMEM changes nothing
            got = self.alloc_frame()
            if got < 0:
                for k2 in range(k):
                    self.frames.free(new[k2])
                return ENOMEM
            new[k] = got
        log = log_reserve(self.mem, self.mem_d, missing * (PAGE_SIZE // LINE + 1) + 1, &ln, &core)
        for k in range(missing):
            ln = self.zero(new[k], log, ln, core)
            put_event(log, ln, KERNEL_BASE + table + 8 * idx(va, level), WRITE, 8, core); ln += 1
            self.words[(table >> 3) + idx(va, level)] = new[k] | TABLE_DESC
            table, level = new[k], level + 1
        desc = (pa & ADDR_MASK) | PAGE_BITS | AP_EL0
        desc |= 0 if writable else AP_RO
        desc |= 0 if executable else UXN | PXN
        put_event(log, ln, KERNEL_BASE + table + 8 * idx(va, LEVELS - 1), WRITE, 8, core); ln += 1
        self.words[(table >> 3) + idx(va, LEVELS - 1)] = desc
        log_commit(self.mem_d, ln)
        return OK

    cdef int c_protect(self, long long i, uint64_t va, bint writable, bint executable,
                       bint user, long long* asid) except? -1000:
        """VSpaces.protect of the page at `va` (`i` in the pool's range); asid[0]: the TLB
        maintenance's ASID, -1 for none."""
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        cdef uint64_t slot, desc
        asid[0] = -1
        if not (self.valid(i) and va < KERNEL_BASE and va % PAGE_SIZE == 0):
            return EINVAL
        log = log_reserve(self.mem, self.mem_d, EDIT_RECORDS, &ln, &core)
        slot = self.leaf(i, va, log, &ln, core)
        if not slot:
            log_commit(self.mem_d, ln)
            return ENOENT
        desc = self.words[slot] & ~(AP_EL0 | AP_RO | UXN | PXN)
        desc |= (0 if writable else AP_RO) | (0 if executable else UXN | PXN)
        desc |= AP_EL0 if user else 0
        put_event(log, ln, KERNEL_BASE + 8 * slot, WRITE, 8, core); ln += 1
        self.words[slot] = desc
        ln = self.tlbi(i, log, ln, core, asid)
        log_commit(self.mem_d, ln)
        return OK

    cdef int c_unmap(self, long long i, uint64_t va, long long* asid) except? -1000:
        """VSpaces.unmap of the page at `va` (`i` in the pool's range); asid[0] as for
        c_protect."""
        cdef Py_ssize_t ln
        cdef uint8_t core
        cdef Event* log
        cdef uint64_t slot
        asid[0] = -1
        if not (self.valid(i) and va < KERNEL_BASE and va % PAGE_SIZE == 0):
            return EINVAL
        log = log_reserve(self.mem, self.mem_d, EDIT_RECORDS, &ln, &core)
        slot = self.leaf(i, va, log, &ln, core)
        if not slot:
            log_commit(self.mem_d, ln)
            return ENOENT
        put_event(log, ln, KERNEL_BASE + 8 * slot, WRITE, 8, core); ln += 1
        self.words[slot] = 0
        ln = self.tlbi(i, log, ln, core, asid)
        log_commit(self.mem_d, ln)
        return OK

    # ---- helpers --------------------------------------------------------------------------
    cdef uint64_t leaf(self, long long i, uint64_t va, Event* log, Py_ssize_t* ln,
                       uint8_t core) noexcept:
        """VSpaces._leaf's timed walk: the word index of the valid leaf of `va`, 0 for none
        (no leaf lives in word 0: the kernel heap starts there)."""
        cdef uint64_t table = self.vs_root[i], desc
        cdef int level
        put_event(log, ln[0], self.vs_base + i * self.vs_rec + self.o_root, READ, 8, core)
        ln[0] += 1
        for level in range(LEVELS):
            put_event(log, ln[0], KERNEL_BASE + table + 8 * idx(va, level), READ, 8, core)
            ln[0] += 1
            desc = self.words[(table >> 3) + idx(va, level)]
            if desc & TABLE_DESC != TABLE_DESC:
                return 0
            if level < LEVELS - 1:
                table = desc & ADDR_MASK
        return (table >> 3) + idx(va, LEVELS - 1)

    cdef Py_ssize_t tlbi(self, long long i, Event* log, Py_ssize_t ln, uint8_t core,
                         long long* asid) except -1:
        """VSpaces._tlbi: the generation's load, and the ASID's when it is current."""
        cdef uint64_t vsa = self.vs_base + i * self.vs_rec
        cdef uint64_t gen = self.vs_gen[i]
        put_event(log, ln, vsa + self.o_gen, READ, 8, core); ln += 1
        if gen == 0 or gen != <uint64_t>self.asids.generation:
            return ln
        put_event(log, ln, vsa + self.o_asid, READ, 2, core); ln += 1
        asid[0] = self.vs_asid[i]
        return ln

    cdef Py_ssize_t zero(self, uint64_t pa, Event* log, Py_ssize_t ln, uint8_t core) noexcept:
        """Zero the frame at `pa`: 64 timed line writes (DC ZVA)."""
        cdef uint64_t off
        memset(self.ram + pa, 0, PAGE_SIZE)
        for off in range(0, PAGE_SIZE, LINE):
            put_event(log, ln, KERNEL_BASE + pa + off, WRITE, LINE, core); ln += 1
        return ln


cdef inline uint64_t idx(uint64_t va, int level) noexcept:
    return (va >> (12 + 9 * (LEVELS - 1 - level))) & 511

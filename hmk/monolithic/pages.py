"""Linux's per-page bookkeeping on an anonymous fault: the model of what it touches.

A fault that gives a process a new anonymous page does more on Linux than take a frame and
zero it (mm/memory.c do_anonymous_page and wp_page_copy, Linux 5.10, read for the mechanism):

- the page leaves the CPU's per-cpu free list (rmqueue_pcplist: the list's count and head, the
  page's list links) and is prepared (post_alloc_hook: its flags and reference count);
- it is charged to the memory cgroup (mem_cgroup_charge: the per-cpu charge stock, refilled
  from the cgroup's page counter every MEMCG_CHARGE_BATCH = 32 pages; the page's memcg_data),
  unless the controller is off (cgroup_disable=memory: `memcg=False`, no charge, no cgroup
  counters);
- it joins the anonymous reverse map (page_add_new_anon_rmap: its mapcount, mapping = the
  VMA's anon_vma, index; the NR_ANON_MAPPED counters of the node and the cgroup);
- it goes on an LRU list (lru_cache_add: the per-cpu pagevec; every PAGEVEC_SIZE = 15 pages the
  vector is drained under the lruvec lock, each page's flags set and its links put on the
  inactive anonymous list);
- a page table a fault allocates is a page too (pte_alloc: the same allocation and charge, and
  pgtable_pte_page_ctor's lock and NR_PAGETABLE counter).

`PageBook` lays these structures out in kernel memory: `mem_map`, one 64-byte struct page per
frame of RAM (arm64's struct page size), at the frames the assembly reserves for it (as Linux's
vmemmap), and the per-cpu and per-node records in a kernel pool. Each step logs its loads and
stores there (KernelMemory), and the fault path times them with its own accesses.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.objects import KernelMemory, Pool
from hmk.kernel.vspace import log_phys

STRUCT_PAGE = 64  # sizeof(struct page) on arm64
# field offsets inside struct page (Linux 5.10 layout: flags, lru / mapping / index, ...)
FLAGS, LRU_NEXT, LRU_PREV, MAPPING, INDEX, PRIVATE, MAPCOUNT, REFCOUNT, MEMCG = (
    0,
    8,
    16,
    24,
    32,
    40,
    48,
    52,
    56,
)
MEMCG_CHARGE_BATCH = 32  # include/linux/memcontrol.h
PAGEVEC_SIZE = 15  # include/linux/pagevec.h

PERCPU_FIELDS = {  # one record per core: the per-cpu parts the fault path touches
    "pcp_count": (np.int32, 1),
    "pcp_head": (np.uint64, 1),
    "stock_memcg": (np.uint64, 1),
    "stock_pages": (np.int32, 1),
    "pvec_nr": (np.int32, 1),
    "pvec_pages": (np.uint64, PAGEVEC_SIZE),
    "vmstat_anon": (np.int64, 1),
    "vmstat_pagetable": (np.int64, 1),
    "memcg_anon": (np.int64, 1),
}
NODE_FIELDS = {  # the node's lruvec and the cgroup's page counter
    "lru_lock": (np.uint32, 1),
    "lru_head_next": (np.uint64, 1),
    "lru_head_prev": (np.uint64, 1),
    "lru_size": (np.int64, 1),
    "memcg_usage": (np.int64, 1),
    "memcg_max": (np.int64, 1),
    "memcg_parent_usage": (np.int64, 1),
}


class PageBook:
    """Linux's page bookkeeping over `frames` (hmk.kernel.memory.Frames), logged in `mem`."""

    def __init__(self, mem: KernelMemory, frames, ram_bytes: int, memcg: bool = True):
        self.mem, self.memcg = mem, memcg
        count = -(-(ram_bytes // PAGE_SIZE) * STRUCT_PAGE // PAGE_SIZE)
        first = frames.alloc(zero=False, owner="kernel")
        for _ in range(count - 1):  # contiguous: boot allocates from the bottom up
            frames.alloc(zero=False, owner="kernel")
        self.mem_map = first
        self.percpu = mem.register(Pool("linux_percpu", 1, 256, PERCPU_FIELDS))
        self.node = mem.register(Pool("linux_node", 1, 64, NODE_FIELDS))
        self.percpu.alloc()
        self.node.alloc()
        self.percpu["pcp_count"][0] = 63  # assumed: a warm per-cpu list (batch size 63)
        self.node["memcg_max"][0] = 1 << 62
        mem.take_log()

    def page(self, pa: int) -> int:
        """The physical address of the struct page of frame `pa`."""
        return self.mem_map + (pa // PAGE_SIZE) * STRUCT_PAGE

    def _page(self, pa: int, offset: int, kind: int, size: int = 8) -> None:
        log_phys(self.mem, self.page(pa) + offset, kind, size)

    # ---- the steps -----------------------------------------------------------------------
    def allocate(self, pa: int) -> None:
        """rmqueue_pcplist + prep_new_page: `pa` leaves the per-cpu free list."""
        mem, cpu = self.mem, self.percpu
        count = mem.load(cpu, 0, "pcp_count")
        mem.load(cpu, 0, "pcp_head")
        self._page(pa, LRU_NEXT, READ)  # the next free page becomes the head
        mem.store(cpu, 0, "pcp_head", self.page(pa))
        mem.store(cpu, 0, "pcp_count", count - 1 if count > 1 else 63)  # a bulk refill
        self._page(pa, FLAGS, READ)
        self._page(pa, FLAGS, WRITE)
        self._page(pa, REFCOUNT, WRITE, 4)
        self._page(pa, PRIVATE, WRITE)

    def charge(self, pa: int) -> None:
        """mem_cgroup_charge: from the per-cpu stock; its refill every MEMCG_CHARGE_BATCH."""
        mem, cpu, node = self.mem, self.percpu, self.node
        mem.load(cpu, 0, "stock_memcg")
        left = mem.load(cpu, 0, "stock_pages")
        if left <= 0:  # try_charge: the page counter, up the hierarchy
            for f in ("memcg_usage", "memcg_parent_usage"):
                usage = mem.load(node, 0, f)
                mem.store(node, 0, f, usage + MEMCG_CHARGE_BATCH)
            mem.load(node, 0, "memcg_max")
            left = MEMCG_CHARGE_BATCH
        mem.store(cpu, 0, "stock_pages", left - 1)
        self._page(pa, MEMCG, WRITE)

    def add_rmap(self, pa: int, index: int) -> None:
        """page_add_new_anon_rmap: mapcount, anon mapping, index, the NR_ANON_MAPPED counts."""
        mem, cpu = self.mem, self.percpu
        self._page(pa, MAPCOUNT, WRITE, 4)
        self._page(pa, MAPPING, WRITE)
        self._page(pa, INDEX, WRITE)
        for f in ("vmstat_anon", "memcg_anon") if self.memcg else ("vmstat_anon",):
            mem.store(cpu, 0, f, mem.load(cpu, 0, f) + 1)

    def lru_add(self, pa: int) -> None:
        """lru_cache_add: into the per-cpu pagevec; a full vector goes to the LRU list."""
        mem, cpu = self.mem, self.percpu
        self._page(pa, REFCOUNT, READ, 4)  # get_page
        self._page(pa, REFCOUNT, WRITE, 4)
        nr = mem.load(cpu, 0, "pvec_nr")
        mem.store(cpu, 0, "pvec_pages", pa, nr)
        nr += 1
        if nr == PAGEVEC_SIZE:
            self._drain()
            nr = 0
        mem.store(cpu, 0, "pvec_nr", nr)

    def _drain(self) -> None:
        """__pagevec_lru_add: each page on the inactive anonymous list, under the lock."""
        mem, cpu, node = self.mem, self.percpu, self.node
        mem.load(node, 0, "lru_lock")
        mem.store(node, 0, "lru_lock", 1)
        for k in range(PAGEVEC_SIZE):
            pa = mem.load(cpu, 0, "pvec_pages", k)
            self._page(pa, FLAGS, READ)
            self._page(pa, FLAGS, WRITE)  # PG_lru
            first = mem.load(node, 0, "lru_head_next")
            self._page(pa, LRU_NEXT, WRITE)
            self._page(pa, LRU_PREV, WRITE)
            if first:
                log_phys(mem, first + LRU_PREV, WRITE, 8)
            mem.store(node, 0, "lru_head_next", self.page(pa))
            self._page(pa, REFCOUNT, WRITE, 4)  # the pagevec's reference dropped
        mem.store(node, 0, "lru_size", mem.load(node, 0, "lru_size") + PAGEVEC_SIZE)
        mem.store(node, 0, "lru_lock", 0)

    def table(self, pa: int) -> None:
        """pte_alloc's page: allocated, charged, and constructed as a page table."""
        self.allocate(pa)
        if self.memcg:
            self.charge(pa)
        self._page(pa, PRIVATE, WRITE)  # the split page-table lock
        mem, cpu = self.mem, self.percpu
        mem.store(cpu, 0, "vmstat_pagetable", mem.load(cpu, 0, "vmstat_pagetable") + 1)

    def new_anon_page(self, pa: int, va: int) -> None:
        """A fresh anonymous page: allocated, charged, reverse-mapped, on the LRU."""
        self.allocate(pa)
        self.charge(pa)
        self.add_rmap(pa, va // PAGE_SIZE)
        self.lru_add(pa)

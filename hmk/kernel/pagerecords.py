"""The memory manager's page records, which HM's kernel paging writes on every new page.

Policy-free kernel paging leaves policy to the memory manager: which anonymous pages to
reclaim or swap, and in what order. For that it must know every page a fault gave a process
(whose it is, where it is mapped) and keep the pages in aging order. The kernel resolves the
fault itself, so it records the new page there and then, in the memory manager's records, which
both co-manage through an address token (no call per page). This is the work Linux does on the
same fault with page_add_new_anon_rmap (the reverse map) and lru_cache_add (the LRU), so its
budget (`pf.record`, hmk.kernel.costs) is theirs, measured, less their memory-cgroup share: HM's
records are taken to cost what Linux's do (an assumption; HM's are not published).

A record is 32 bytes per frame of RAM (owner VSpace, virtual address, the LRU links), held in
frames the memory manager owns, one frame of records per 128 frames of RAM, taken when the
first page of its range is recorded. `record` logs what the fault touches: the new page's
record, the LRU's tail record and the list head.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.events import WRITE
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.objects import Pool
from hmk.kernel.vspace import log_phys

RECORD = 32  # bytes: owner VSpace (4), flags (4), virtual address (8), LRU next and prev (16)
PER_FRAME = PAGE_SIZE // RECORD
OWNER, VA, NEXT, PREV = 0, 8, 16, 24


class PageRecords:
    def __init__(self, mem, frames):
        self.mem, self.frames = mem, frames
        self.lists = mem.register(
            Pool("page_lru", 1, 64, {"tail": (np.int64, 1), "n": (np.int64, 1)})
        )
        self.lists.alloc()
        self.lists["tail"][0] = -1
        self.blocks: dict[int, int] = {}  # RAM frame // PER_FRAME -> the frame holding them
        self._fast = None

    def twin(self):
        """The compiled twin of `record` (hmk._fast.pagerecords), made on first use."""
        if self._fast is None:
            from hmk._fast.pagerecords import FastRecords  # noqa: PLC0415

            self._fast = FastRecords(self)
        return self._fast

    def at(self, pa: int) -> int:
        """The physical address of frame `pa`'s record (its block taken on first use)."""
        n = pa // PAGE_SIZE
        block = self.blocks.get(n // PER_FRAME)
        if block is None:
            block = self.blocks[n // PER_FRAME] = self.frames.alloc(zero=False, owner="memmgr")
        return block + (n % PER_FRAME) * RECORD

    def record(self, pa: int) -> None:
        """A new anonymous page `pa`: its record written, appended to the LRU."""
        mem, lists = self.mem, self.lists
        here = self.at(pa)
        log_phys(mem, here + OWNER, WRITE, 16)  # owner and address
        tail = mem.load(lists, 0, "tail")
        if tail >= 0:
            log_phys(mem, self.at(int(tail)) + NEXT, WRITE, 8)
        log_phys(mem, here + NEXT, WRITE, 16)  # next = none, prev = the old tail
        mem.store(lists, 0, "tail", pa)
        mem.store(lists, 0, "n", mem.load(lists, 0, "n") + 1)

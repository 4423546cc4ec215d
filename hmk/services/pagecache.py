"""fsmgr's page cache: file pages in frames of simulated RAM, shared with mappings of the file."""

from __future__ import annotations

import numpy as np

from hmk.kernel.vspace import log_phys
from hmk.services.vfs import File


class PageCache:
    """fsmgr's page cache: file pages held in frames of simulated RAM, filled on first use
    (a mapped file's page; reads and writes of the cached pages keep them current). Indexed
    by inode, so a write touches only its own file's pages in the range it wrote."""

    def __init__(self, kernel, work, fill_budget: int):
        self.core = kernel
        self.work = work  # charges fsmgr's work: work(budget)
        self.fill_budget = fill_budget  # a page copy's
        self.pages: dict[int, dict[int, int]] = {}  # inode -> {page index: frame}
        self.written_through: set[int] = set()  # inodes with a shared writable mapping

    def __len__(self) -> int:
        return sum(len(pages) for pages in self.pages.values())

    def frame_of(self, node: File, index: int) -> int:
        pages = self.pages.setdefault(node.ino, {})
        pa = pages.get(index)
        if pa is None:
            k = self.core
            pa = k.frames.alloc(zero=False, owner="fsmgr.pagecache")
            pages[index] = pa
            self._fill(node, index, pa)
            for off in range(0, 4096, 64):
                log_phys(k.mem, pa + off, 1, 64)  # the fill's line writes, timed
            self.work(self.fill_budget)
            k.counts["fsmgr.pagecache.fills"] += 1
        return pa

    def _fill(self, node: File, index: int, pa: int) -> None:
        data = bytes(node.data[index * 4096 : (index + 1) * 4096])
        self.core.ram[pa : pa + 4096] = 0
        self.core.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)

    def refresh(self, node: File, start: int = 0, end: int | None = None) -> None:
        """The file changed: bytes [start, end) written (end None: anything, a truncate);
        its cached pages there take the new bytes (pages past the old end were zero)."""
        pages = self.pages.get(node.ino)
        if not pages:
            return
        if end is None:
            chosen = list(pages.items())
        else:
            span = range(start // 4096, (end + 4095) // 4096)
            chosen = [(i, pages[i]) for i in span if i in pages]
        for index, pa in chosen:
            self._fill(node, index, pa)

    def writeback(self, node: File) -> None:
        """Before fsmgr reads or changes a file that a shared writable mapping may have
        stored to, the stores reach the file: each cached page is copied back (bytes past the
        end of the file are dropped, as Linux's are). No dirty bits are modelled: every cached
        page of the file is written back, charged as a page copy each."""
        if node.ino not in self.written_through:
            return
        data, ram = node.data, self.core.ram
        for index, pa in self.pages.get(node.ino, {}).items():
            if index * 4096 < len(data):
                n = min(4096, len(data) - index * 4096)
                data[index * 4096 : index * 4096 + n] = ram[pa : pa + n].tobytes()
                for off in range(0, n, 64):
                    log_phys(self.core.mem, pa + off, 0, 64)  # the copy's line reads, timed
                self.work(self.fill_budget)
                self.core.counts["fsmgr.pagecache.writebacks"] += 1

    def evict(self, node: File) -> list[int]:
        """Drop the file's pages from the cache (an unnamed shared object nobody maps any
        more): the frames, for the memory manager to release its references."""
        self.written_through.discard(node.ino)
        return list(self.pages.pop(node.ino, {}).values())

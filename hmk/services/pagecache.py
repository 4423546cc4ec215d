"""fsmgr's page cache: file pages in frames of simulated RAM, shared with mappings of the file."""

from __future__ import annotations

import numpy as np

from hmk.hw.pagetable import PAGE_SIZE
from hmk.services.copies import READ, WRITE, log_frame
from hmk.services.vfs import File


class PageCache:
    """fsmgr's page cache: the pages of regular files in frames of simulated RAM, as a tmpfs
    keeps them. A page enters when a read, a write or a mapping first touches it (an insertion:
    a frame allocated, zeroed with line writes, the file's bytes put in), stays current as the
    file changes (`refresh`), and leaves with its file (`evict`). Indexed by inode, so a write
    touches only its own file's pages in the range it wrote. `work` charges fsmgr's work
    (`work(cache_insert=1)`)."""

    def __init__(self, kernel, work):
        self.core = kernel
        self.work = work
        self.pages: dict[int, dict[int, int]] = {}  # inode -> {page index: frame}
        self.written_through: set[int] = set()  # inodes with a shared writable mapping

    def __len__(self) -> int:
        return sum(len(pages) for pages in self.pages.values())

    def cached(self, node: File, index: int) -> int | None:
        """The frame holding page `index` of the file, if cached."""
        return self.pages.get(node.ino, {}).get(index)

    def frame_of(self, node: File, index: int) -> int:
        """The frame of page `index` of the file, inserted if it is not cached yet (charged)."""
        pages = self.pages.setdefault(node.ino, {})
        pa = pages.get(index)
        if pa is None:
            k = self.core
            pa = k.frames.alloc(zero=False, owner="fsmgr.pagecache")
            pages[index] = pa
            self._fill(node, index, pa)
            log_frame(k.mem, pa, PAGE_SIZE, WRITE)  # the new page zeroed, line by line
            self.work(cache_insert=1)
            k.counts["fsmgr.pagecache.fills"] += 1
        return pa

    def _fill(self, node: File, index: int, pa: int) -> None:
        data = bytes(node.data[index * PAGE_SIZE : (index + 1) * PAGE_SIZE])
        self.core.ram[pa : pa + PAGE_SIZE] = 0
        self.core.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)

    def refresh(self, node: File, start: int = 0, end: int | None = None) -> None:
        """The file changed: bytes [start, end) written (end None: anything, a truncate);
        its cached pages there take the new bytes (pages past the old end were zero). The
        bytes' own copy is the writer's to log and charge."""
        pages = self.pages.get(node.ino)
        if not pages:
            return
        if end is None:
            chosen = list(pages.items())
        else:
            span = range(start // PAGE_SIZE, (end + PAGE_SIZE - 1) // PAGE_SIZE)
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
            if index * PAGE_SIZE < len(data):
                n = min(PAGE_SIZE, len(data) - index * PAGE_SIZE)
                data[index * PAGE_SIZE : index * PAGE_SIZE + n] = ram[pa : pa + n].tobytes()
                log_frame(self.core.mem, pa, n, READ)  # the copy's line reads, timed
                self.work(copy_page=1, copy_line=-(-n // 64))
                self.core.counts["fsmgr.pagecache.writebacks"] += 1

    def evict(self, node: File) -> list[int]:
        """Drop the file's pages from the cache (a file or unnamed shared object nobody names,
        opens or maps any more): the frames, for the memory manager to release its
        references."""
        self.written_through.discard(node.ino)
        return list(self.pages.pop(node.ino, {}).values())

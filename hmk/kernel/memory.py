"""Physical frames and a process's virtual memory: VMAs, demand paging, user copies.

The tables are real ARMv8 descriptors (hmk.hw.pagetable) in the simulated RAM the functional
CPU and the timing model both read. A page is mapped on first touch, by `fault`, from the VMA
that covers it: zero-filled, or filled from the program image for ELF segments.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from hmk.hw.pagetable import PAGE_SIZE, PageTables

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4


class OutOfMemory(MemoryError):
    """Simulated RAM is exhausted (the machine turns it into SIGKILL, as Linux's OOM killer)."""


class Frames:
    """A free list of 4 KiB frames over [first, end) of RAM (end: RAM's end by default); freed
    frames are reused first (lowest address first), so runs are deterministic. Each frame in use
    has an owner (who asked for it: "kernel" for page tables and kernel objects by default, a
    service's name for what it allocates), counted in `by_owner` with a peak per owner."""

    def __init__(self, ram: np.ndarray, first: int = 0, end: int | None = None):
        self.ram = ram
        self.first = first
        self.end = len(ram) if end is None else end
        self._next = first
        self._free: list[int] = []
        self.peak = 0  # the most frames in use at once
        # frames that held code: before one is reused, the CPU's translated code (keyed by
        # physical address) must go, or it would run the old program's instructions. Dropping
        # it is only safe between translated blocks, not inside a fault (unicorn then re-ran
        # the faulting block forever), so a freed code frame waits in `_held` until the kernel
        # reaches such a point and calls release_code()
        self.code: set[int] = set()
        self.on_code_reuse = lambda: None
        self._held: list[int] = []
        self.owner_of: dict[int, str] = {}
        self.by_owner: dict[str, int] = {}
        self.peak_by_owner: dict[str, int] = {}

    def alloc(self, zero: bool = True, owner: str = "kernel") -> int:
        if not self._free and self._next + PAGE_SIZE > self.end:
            self.release_code()  # the last resort: frames that wait for a safe point
        if self._free:
            pa = self._free.pop(0)
        elif self._next + PAGE_SIZE <= self.end:
            pa = self._next
            self._next += PAGE_SIZE
        else:
            raise OutOfMemory(f"simulated RAM ({len(self.ram) >> 20} MiB) is exhausted")
        if zero:
            self.ram[pa : pa + PAGE_SIZE] = 0
        self.peak = max(self.peak, self.in_use)
        self.owner_of[pa] = owner
        held = self.by_owner.get(owner, 0) + 1
        self.by_owner[owner] = held
        if held > self.peak_by_owner.get(owner, 0):
            self.peak_by_owner[owner] = held
        return pa

    def free(self, pa: int) -> None:
        owner = self.owner_of.pop(pa, None)
        if owner is not None:
            self.by_owner[owner] -= 1
        if pa in self.code:
            self._held.append(pa)
        else:
            bisect.insort(self._free, pa)

    def release_code(self) -> None:
        """A point between translated blocks (a syscall, a timer interrupt): drop the CPU's
        translated code once, and the frames that held code may be used again."""
        if self._held:
            self.on_code_reuse()
            for pa in self._held:
                self.code.discard(pa)
                bisect.insort(self._free, pa)
            self._held.clear()

    @property
    def in_use(self) -> int:
        return (self._next - self.first) // PAGE_SIZE - len(self._free) - len(self._held)


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    name: str  # "[heap]", "[stack]", "[anon]", or the program path
    image: bytes = b""  # file bytes that back [start, start + len(image))
    file: tuple | None = None  # (file node, offset of start) when fsmgr's page cache backs it
    shared: bool = False  # MAP_SHARED: writes go to the file's (or shared object's) pages

    @property
    def anonymous(self) -> bool:
        return not self.image and self.file is None

    def piece(self, lo: int, hi: int, prot: int | None = None) -> Vma:
        """The part [lo, hi) of this VMA (its image and file offset follow)."""
        off = lo - self.start
        image = self.image[off : off + hi - lo] if off < len(self.image) else b""
        file = (self.file[0], self.file[1] + off) if self.file else None
        prot = self.prot if prot is None else prot
        return Vma(lo, hi, prot, self.name, image, file, self.shared)

    def copy(self) -> Vma:
        return self.piece(self.start, self.end)

    def page_data(self, page: int) -> bytes:
        lo = page - self.start
        return self.image[max(lo, 0) : max(lo + PAGE_SIZE, 0)] if lo < len(self.image) else b""


class AddressSpace:
    """One process's memory: its page tables (root), ASID and VMAs."""

    def __init__(self, ram: np.ndarray, frames: Frames, asid: int):
        self.ram = ram
        self.frames = frames
        self.tables = PageTables(ram, frames.alloc)
        self.root = self.tables.new_root()
        self.asid = asid
        self.vmas: list[Vma] = []
        self.pages = 0  # resident pages

    # ---- VMAs
    def find(self, va: int) -> Vma | None:
        i = bisect.bisect_right([v.start for v in self.vmas], va) - 1
        if i >= 0 and va < self.vmas[i].end:
            return self.vmas[i]
        return None

    def add(self, vma: Vma) -> None:
        if any(v.start < vma.end and vma.start < v.end for v in self.vmas):
            raise ValueError(f"VMA {vma.start:#x}-{vma.end:#x} overlaps an existing one")
        bisect.insort(self.vmas, vma, key=lambda v: v.start)

    def changed(self) -> None:
        """A VMA was edited in place (brk moved the heap's end): nothing to do here; a
        subclass that mirrors the VMAs elsewhere republishes them."""

    def is_free(self, start: int, end: int) -> bool:
        return all(v.end <= start or end <= v.start for v in self.vmas)

    def remove(self, start: int, end: int) -> list[int]:
        """Unmap [start, end): split VMAs, free frames; returns the pages that were mapped."""
        dropped = []
        for v in self.vmas:  # only pages inside VMAs can be mapped: visit just those
            if v.start < end and start < v.end:
                dropped += self._unmap_pages(max(v.start, start), min(v.end, end))
        self.cut(start, end)
        return dropped

    def cut(self, start: int, end: int) -> None:
        """Take [start, end) out of the VMAs (splitting them), leaving its pages alone."""
        keep = []
        for v in self.vmas:
            if v.end <= start or end <= v.start:
                keep.append(v)
                continue
            if v.start < start:
                keep.append(v.piece(v.start, start))
            if end < v.end:
                keep.append(v.piece(end, v.end))
        self.vmas = keep

    def protect(self, start: int, end: int, prot: int) -> list[int]:
        """Change protection of [start, end) (which must be mapped); returns remapped pages."""
        pieces = []
        for v in self.vmas:
            if v.end <= start or end <= v.start:
                pieces.append(v)
                continue
            cut = sorted({v.start, max(v.start, start), min(v.end, end), v.end})
            for lo, hi in zip(cut, cut[1:], strict=False):
                inside = start <= lo and hi <= end
                pieces.append(v.piece(lo, hi, prot if inside else v.prot))
        self.vmas = sorted(pieces, key=lambda v: v.start)
        changed = []
        for v in self.vmas:
            if v.start < end and start < v.end:
                changed += self._reprotect_pages(max(v.start, start), min(v.end, end), prot)
        return changed

    # ---- page-table edits (a subclass may make them kernel calls)
    def _unmap_pages(self, start: int, end: int) -> list[int]:
        dropped = []
        for page in range(start, end, PAGE_SIZE):
            pa = self.tables.translate(self.root, page)
            if pa is not None:
                self.tables.unmap(self.root, page)
                self.frames.free(pa)
                self.pages -= 1
                dropped.append(page)
        return dropped

    def _reprotect_pages(self, start: int, end: int, prot: int) -> list[int]:
        changed = []
        for page in range(start, end, PAGE_SIZE):
            pa = self.tables.translate(self.root, page)
            if pa is not None:
                self.tables.map(self.root, page, pa, **_attrs(prot))
                changed.append(page)
        return changed

    # ---- demand paging
    def fault(self, va: int, access: str) -> bool:
        """Map the page holding `va` if a VMA allows `access` ("read"/"write"/"fetch")."""
        vma = self.find(va)
        if vma is None or not _allows(vma.prot, access):
            return False
        page = va & ~(PAGE_SIZE - 1)
        if self.tables.translate(self.root, page) is not None:
            return False  # present, so the access itself is what is not allowed
        pa = self.frames.alloc()
        data = vma.page_data(page)
        if data:
            self.ram[pa : pa + len(data)] = np.frombuffer(data, np.uint8)
        self.tables.map(self.root, page, pa, **_attrs(vma.prot))
        self.pages += 1
        return True

    # ---- the kernel touching user memory (copy_from_user / copy_to_user)
    def _phys(self, va: int, write: bool) -> int | None:
        if not 0 <= va < 1 << 48:
            return None
        pa = self.tables.translate(self.root, va)
        if pa is None:
            if not self.fault(va, "write" if write else "read"):
                return None
            pa = self.tables.translate(self.root, va)
        vma = self.find(va)
        if vma is None or (write and not vma.prot & PROT_WRITE):
            return None
        return pa

    def read(self, va: int, n: int) -> bytes | None:
        """n bytes of user memory at va, or None (EFAULT)."""
        out = bytearray()
        while n > 0:
            pa = self._phys(va, False)
            if pa is None:
                return None
            chunk = min(n, PAGE_SIZE - (va & (PAGE_SIZE - 1)))
            out += self.ram[pa : pa + chunk].tobytes()
            va, n = va + chunk, n - chunk
        return bytes(out)

    def read_cstring(self, va: int, limit: int = 4096) -> bytes | None:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(va, 1)
            if chunk is None:
                return None
            if chunk == b"\0":
                return bytes(out)
            out += chunk
            va += 1
        return None

    def write(self, va: int, data: bytes) -> bool:
        """Copy data to user memory at va; False (EFAULT) if any byte is not writable."""
        pos = 0
        while pos < len(data):
            pa = self._phys(va + pos, True)
            if pa is None:
                return False
            chunk = min(len(data) - pos, PAGE_SIZE - ((va + pos) & (PAGE_SIZE - 1)))
            self.ram[pa : pa + chunk] = np.frombuffer(data[pos : pos + chunk], np.uint8)
            pos += chunk
        return True


def _allows(prot: int, access: str) -> bool:
    need = {"read": PROT_READ, "write": PROT_WRITE, "fetch": PROT_EXEC}[access]
    return bool(prot & need)


def _attrs(prot: int) -> dict:
    # PROT_NONE: keep the frame but make the page inaccessible at EL0 (AP[1] clear)
    return {
        "writable": bool(prot & PROT_WRITE),
        "executable": bool(prot & PROT_EXEC),
        "user": bool(prot),
    }

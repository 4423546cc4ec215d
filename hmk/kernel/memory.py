"""Physical frames: simulated RAM handed out a 4 KiB frame at a time, each with an owner."""

from __future__ import annotations

import bisect

import numpy as np

from hmk.errors import OutOfMemory  # noqa: F401  (raised here; defined low for hmk.cpu)
from hmk.hw.pagetable import PAGE_SIZE


class Frames:
    """A free list of 4 KiB frames over [first, end) of RAM (end: RAM's end by default); freed
    frames are reused first (lowest address first), so runs are deterministic. Each frame in use
    has an owner (who asked for it: "kernel" for page tables and kernel objects by default, a
    service's name for what it allocates), counted in `by_owner` with a peak per owner."""

    def __init__(self, ram: np.ndarray, first: int = 0, end: int | None = None, on_code_reuse=None):
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
        self.on_code_reuse = on_code_reuse or (lambda: None)
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

    def alloc_many(self, n: int, zero: bool = True, owner: str = "kernel") -> list[int]:
        """Up to `n` frames, the ones `n` calls of alloc would give, in bulk (a frame pool's
        refill); fewer when RAM runs out after the first (OutOfMemory before it)."""
        got: list[int] = []
        while len(got) < n:
            if not self._free and self._next + PAGE_SIZE > self.end:
                self.release_code()  # the last resort, as alloc's
                if not self._free:
                    break
            take = self._free[: n - len(got)]
            del self._free[: len(take)]
            got += take
            room = min(n - len(got), (self.end - self._next) // PAGE_SIZE)
            got += range(self._next, self._next + room * PAGE_SIZE, PAGE_SIZE)
            self._next += room * PAGE_SIZE
        if not got:
            raise OutOfMemory(f"simulated RAM ({len(self.ram) >> 20} MiB) is exhausted")
        if zero:
            for pa in got:
                self.ram[pa : pa + PAGE_SIZE] = 0
        self.peak = max(self.peak, self.in_use)
        self.owner_of.update(dict.fromkeys(got, owner))
        held = self.by_owner.get(owner, 0) + len(got)
        self.by_owner[owner] = held
        if held > self.peak_by_owner.get(owner, 0):
            self.peak_by_owner[owner] = held
        return got

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

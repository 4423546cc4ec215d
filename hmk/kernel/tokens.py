"""Address tokens (docs/kernel-design.md, "Address tokens"): the Python reference.

A token makes a kernel object directly accessible to a service: the kernel page(s) holding the
object's record (its modeled physical range `pool.base + i * record .. + record`, rounded out to
whole pages) are mapped into the service's VSpace at a user address it chose, read-only or
read/write, user-accessible, never executable and non-global (the mapping is the service's own,
tagged with its ASID). The service then reads and updates the object with plain loads and stores
(recorded as user events at `service_address(...)` and timed through the same hierarchy as any
user access) instead of one kernel call plus a capability lookup per operation (HM's
"address-token-based access control"; docs/sources.md). Revoking the token unmaps the pages
and returns the TLB maintenance the caller must perform.

Decisions (hmk's model, not HM's confirmed mechanism):

* Granularity is the page: a service granted an object whose record shares a page with other
  records of the same pool can reach those too (the kernel's choice of record size and pool
  layout decides how much is exposed; TCBs and activations are 1 KiB, four to a page).
* The token pool itself can never be granted (a service could forge tokens): EPERM.
* vspace.py refuses user mappings of the kernel heap (`data_frame`), so tokens write their own
  level-3 descriptors on the VSpace's tables, every descriptor access timed (`log_phys`). Table
  frames come from the VSpaces' `frames`, all allocated before anything is written, so ENOMEM
  changes nothing; revoke does not free intermediate tables (as `VSpaces.unmap`).
* Revoke clears a page only if its descriptor still maps the granted kernel page (the service
  may have unmapped it itself). Revoke a VSpace's tokens (`revoke_vspace`) before destroying it:
  `VSpaces.destroy` would hand the kernel pages back as data frames.
* `capabilities_only=True` is the composition without tokens: every grant is EPERM and services
  must use kernel calls.
* A service domain's VSpace is `confine`d at boot to the pools its services declared they
  co-manage (hmk.services.service.Needs): a grant of another pool's record to it is EPERM. Other
  VSpaces (a program's) are limited by the capability their grant is made with (hmk.kernel.
  hmcalls). Service domains live as long as the kernel, so a confinement is never lifted.

Calls return 0 / a token index or a negative code (hmk.kernel.errors); errors change nothing
but the log of the timed checks made before the error was found.
"""

from __future__ import annotations

import numpy as np

from hmk.hw.pagetable import ADDR_MASK, LEVELS, PAGE_SIZE, level_index, level_shift, page_descriptor
from hmk.kernel.cspace import READ, WRITE
from hmk.kernel.errors import EEXIST, EINVAL, ENOENT, ENOMEM, EPERM, OK
from hmk.kernel.memory import OutOfMemory
from hmk.kernel.objects import KERNEL_BASE, KernelMemory, Pool
from hmk.kernel.vspace import TABLE_DESC, VSpaces, read_desc, write_desc, zero_frame

TOKEN_FIELDS = {  # 23 of 32 bytes (docs/kernel-design.md: object type and index, grantee, rights)
    "va": (np.uint64, 1),
    "object": (np.int32, 1),
    "vspace": (np.int32, 1),
    "pages": (np.uint32, 1),
    "pool": (np.uint16, 1),
    "rights": (np.uint8, 1),
}


class Tokens:
    """The token pool (registered in `mem` as "token") and grant/revoke over `vspaces`."""

    def __init__(
        self, mem: KernelMemory, vspaces: VSpaces, capacity: int, capabilities_only: bool = False
    ):
        self.mem, self.vspaces = mem, vspaces
        self.words = vspaces.words
        self.capabilities_only = bool(capabilities_only)
        self.token = mem.register(Pool("token", capacity, 32, TOKEN_FIELDS))
        self.confined: dict[int, frozenset[str]] = {}  # VSpace -> the pools it may be granted

    def confine(self, vspace: int, pools) -> None:
        """VSpace `vspace` (a service domain's) may be granted tokens to records of `pools` only."""
        self.confined[int(vspace)] = frozenset(pools)

    # ---- helpers -------------------------------------------------------------------------

    def _pool_id(self, name) -> int:
        names = list(self.mem.pools)
        return names.index(name) if isinstance(name, str) and name in self.mem.pools else -1

    def _pool(self, pool_id: int) -> Pool:
        return list(self.mem.pools.values())[pool_id]

    @staticmethod
    def _span(pool: Pool, i: int) -> tuple[int, int]:
        """(first page PA, page count) of object `i`'s record."""
        start = pool.base + i * pool.record
        first = start - start % PAGE_SIZE
        last = (start + pool.record - 1) // PAGE_SIZE * PAGE_SIZE
        return first, (last - first) // PAGE_SIZE + 1

    def valid(self, t) -> bool:
        return (
            isinstance(t, int | np.integer)
            and 0 <= t < self.token.capacity
            and bool(self.token.used[t])
        )

    def _walk(self, root: int, va: int):
        """Timed walk towards `va`'s leaf: (table, level) where it stopped and the descriptor
        there (level 3: the leaf descriptor, maybe invalid)."""
        table = root
        for level in range(LEVELS):
            desc = read_desc(self.mem, self.words, table, level_index(va, level))
            if level == LEVELS - 1 or desc & TABLE_DESC != TABLE_DESC:
                return table, level, desc
            table = desc & ADDR_MASK
        raise AssertionError("unreachable")

    def _alloc_frame(self) -> int:
        try:
            pa = self.vspaces.frames.alloc()
        except (OutOfMemory, MemoryError):
            return -1
        return -1 if pa is None or pa < 0 else int(pa)

    def _tlbi(self, vs: int, va: int) -> list:
        vsp = self.vspaces.vspace
        gen = self.mem.load(vsp, vs, "generation")
        if gen == 0 or gen != self.vspaces.asids.generation:
            return []  # no ASID yet, or of an old generation: flushed at the roll-over
        return [(va, self.mem.load(vsp, vs, "asid"))]

    # ---- calls ---------------------------------------------------------------------------

    def grant(self, obj_pool_name, obj_index, service_vspace, va, writable) -> int:
        """Map object `obj_index` of pool `obj_pool_name` into `service_vspace` at `va`: the
        token's index, or EPERM | EINVAL | ENOENT | EEXIST | ENOMEM with nothing changed."""
        if self.capabilities_only:
            return EPERM
        pid = self._pool_id(obj_pool_name)
        if pid < 0:
            return EINVAL
        pool = self._pool(pid)
        if pool is self.token:
            return EPERM
        if not (isinstance(obj_index, int | np.integer) and 0 <= obj_index < pool.capacity):
            return EINVAL
        if not pool.used[obj_index]:
            return ENOENT
        vsx = self.vspaces
        if not (vsx.valid(service_vspace) and vsx.user_page(va)):
            return EINVAL
        if pool.name not in self.confined.get(int(service_vspace), (pool.name,)):
            return EPERM  # a service's domain: only the pools its services co-manage
        first, pages = self._span(pool, int(obj_index))
        if va + pages * PAGE_SIZE > KERNEL_BASE:
            return EINVAL
        mem = self.mem
        root = mem.load(vsx.vspace, service_vspace, "root")
        missing = set()  # tables to create, keyed by (level, the VA bits above what they map)
        for p in range(pages):
            v = va + p * PAGE_SIZE
            _, level, desc = self._walk(root, v)
            if level == LEVELS - 1 and desc & TABLE_DESC == TABLE_DESC:
                return EEXIST
            for lvl in range(level + 1, LEVELS):
                missing.add((lvl, v >> (level_shift(lvl) + 9)))
        t = self.token.alloc()
        if t < 0:
            return ENOMEM
        spare = []
        for _ in missing:  # every frame before any write: ENOMEM changes nothing
            pa_t = self._alloc_frame()
            if pa_t < 0:
                for f in spare:
                    vsx.frames.free(f)
                self.token.free(t)
                return ENOMEM
            spare.append(pa_t)
        for p in range(pages):
            v = va + p * PAGE_SIZE
            table, level, _ = self._walk(root, v)
            while level < LEVELS - 1:
                pa_t = spare.pop()
                zero_frame(mem, self.words, pa_t)
                write_desc(mem, self.words, table, level_index(v, level), pa_t | TABLE_DESC)
                table, level = pa_t, level + 1
            desc = page_descriptor(
                first + p * PAGE_SIZE,
                writable=bool(writable),
                user=True,
                executable=False,
                global_=False,
            )
            write_desc(mem, self.words, table, level_index(v, LEVELS - 1), desc)
        assert not spare
        tok = self.token
        for f, value in (
            ("va", va),
            ("object", obj_index),
            ("vspace", service_vspace),
            ("pages", pages),
            ("pool", pid),
            ("rights", READ | (WRITE if writable else 0)),
        ):
            mem.store(tok, t, f, int(value))
        return t

    def revoke(self, t):
        """Unmap token `t`'s pages and free it: (OK, tlbi [(va, asid)]) or (EINVAL, [])."""
        if not self.valid(t):
            return EINVAL, []
        mem, tok = self.mem, self.token
        vs = mem.load(tok, t, "vspace")
        va = mem.load(tok, t, "va")
        pages = mem.load(tok, t, "pages")
        pool = self._pool(mem.load(tok, t, "pool"))
        first, _ = self._span(pool, mem.load(tok, t, "object"))
        tlbi = []
        if self.vspaces.valid(vs):
            root = mem.load(self.vspaces.vspace, vs, "root")
            for p in range(pages):
                v = va + p * PAGE_SIZE
                table, level, desc = self._walk(root, v)
                if (
                    level == LEVELS - 1
                    and desc & TABLE_DESC == TABLE_DESC
                    and desc & ADDR_MASK == first + p * PAGE_SIZE
                ):
                    write_desc(mem, self.words, table, level_index(v, level), 0)
                    tlbi += self._tlbi(vs, v)
        for f in ("va", "object", "vspace", "pages", "pool", "rights"):
            mem.store(tok, t, f, 0)
        tok.free(t)
        return OK, tlbi

    def revoke_vspace(self, vs: int):
        """Revoke every token granted to VSpace `vs` (before destroying it): (OK, tlbi)."""
        tlbi = []
        for t in np.flatnonzero(self.token.used & (self.token["vspace"] == vs)):
            tlbi += self.revoke(int(t))[1]
        return OK, tlbi

    def service_address(self, t, field, k: int = 0) -> int:
        """The user VA at which token `t`'s service sees element `k` of `field` of the granted
        object (untimed: the service computes it itself), or EINVAL."""
        if not self.valid(t):
            return EINVAL
        tok = self.token
        pool = self._pool(int(tok["pool"][t]))
        if field not in pool.offset:
            return EINVAL
        arr = pool.arrays[field]
        count = arr.shape[1] if arr.ndim == 2 else 1
        if not (isinstance(k, int | np.integer) and 0 <= k < count):
            return EINVAL
        obj = int(tok["object"][t])
        first, _ = self._span(pool, obj)
        return int(tok["va"][t]) + pool.addr(obj, field, k) - first

    def pages(self, t) -> list[tuple[int, int]]:
        """(service va, kernel page PA) of every page token `t` maps (untimed; tests)."""
        if not self.valid(t):
            return []
        tok = self.token
        pool = self._pool(int(tok["pool"][t]))
        first, n = self._span(pool, int(tok["object"][t]))
        va = int(tok["va"][t])
        return [(va + p * PAGE_SIZE, first + p * PAGE_SIZE) for p in range(n)]


__all__ = ["TOKEN_FIELDS", "Tokens"]

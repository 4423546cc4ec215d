"""Capability spaces (docs/kernel-design.md, "Capabilities"): the readable Python reference.

A CSpace is a contiguous range of slots [first, first + size) of the slot pool, reserved at
creation; its (first, size) lives in a small CSpace pool, as a CNode capability holds its CNode's
address and size. A slot holds a typed object reference, rights, a badge and its links in the
capability derivation tree (CDT, as in seL4): parent, first child, next sibling, all global slot
indices (-1: none), so derivation crosses CSpaces. Every slot access is a timed KernelMemory
load or store.

Reference counts: one 32-bit count per (type, object) in a `capref` pool in kernel memory (so
it is timed too), at index type * objects_per_type + object. `delete` reports when it dropped a
count to zero: the caller then frees the object.

Errors are results, never exceptions: 0 is success, an error a negative code of
hmk.kernel.errors. Kernel bugs (a bad CSpace handle in `destroy`, a double free) still raise.
"""

from __future__ import annotations

import numpy as np

from hmk.kernel.errors import EBADTYPE, EEXIST, EINVAL, ENOENT, ENOMEM, EPERM, OK
from hmk.kernel.objects import KernelMemory, Pool

# object types (0 = empty slot)
NULL, TCB, VSPACE, CSPACE, ENDPOINT, NOTIFICATION, FRAME, TOKEN, IRQ = range(9)
N_TYPES = 9

READ, WRITE, GRANT, CALL = 1, 2, 4, 8
ALL_RIGHTS = READ | WRITE | GRANT | CALL

SLOT_FIELDS = {  # 26 bytes of a 32-byte record; the widest first so nothing needs padding
    "badge": (np.uint64, 1),
    "object": (np.int32, 1),
    "parent": (np.int32, 1),
    "first_child": (np.int32, 1),
    "next_sibling": (np.int32, 1),
    "type": (np.uint8, 1),
    "rights": (np.uint8, 1),
}


class CSpaces:
    """The slot pool, the CSpace pool and the reference counts, registered in `mem`."""

    def __init__(self, mem: KernelMemory, slots: int, cspaces: int, objects_per_type: int):
        self.mem = mem
        self.objects_per_type = objects_per_type
        self.cspace = mem.register(
            Pool("cspace", cspaces, 16, {"first": (np.int32, 1), "size": (np.int32, 1)})
        )
        self.slot = mem.register(Pool("cslot", slots, 32, SLOT_FIELDS))
        self.refs = mem.register(
            Pool("capref", N_TYPES * objects_per_type, 4, {"count": (np.uint32, 1)})
        )
        for f in ("parent", "first_child", "next_sibling"):
            self.slot[f][:] = -1
        self._fast = None  # the compiled lookup's context, made on first use

    # ---- CSpaces -------------------------------------------------------------------------

    def create(self, size: int) -> int:
        """A new, empty CSpace of `size` slots: its handle, or ENOMEM (nothing allocated)."""
        if size < 1:
            return EINVAL
        cs = self.cspace.alloc()
        if cs < 0:
            return ENOMEM
        first = self.slot.alloc_range(size)
        if first < 0:
            self.cspace.free(cs)
            return ENOMEM
        self.mem.store(self.cspace, cs, "first", first)
        self.mem.store(self.cspace, cs, "size", size)
        return cs

    def destroy(self, cs: int) -> list[tuple[int, int]]:
        """Delete every capability of `cs` (slot order) and free it; returns the (type, object)
        pairs whose last capability went, for the caller to free."""
        if not self._valid_cs(cs):
            raise ValueError(f"destroy of a CSpace that does not exist: {cs}")
        size = self.mem.load(self.cspace, cs, "size")
        first = self.mem.load(self.cspace, cs, "first")
        freed = []
        for i in range(size):
            obj_type = self.mem.load(self.slot, first + i, "type")
            if obj_type != NULL:
                obj = self.mem.load(self.slot, first + i, "object")
                if self._remove(first + i):
                    freed.append((obj_type, obj))
        self.slot.free(first, size)
        self.cspace.free(cs)
        return freed

    # ---- the operations ------------------------------------------------------------------

    def lookup(self, cs: int, index: int, obj_type: int, rights: int, impl: str = "python"):
        """(OK, object index) if slot `index` of `cs` holds a `obj_type` capability with at
        least `rights`; else (error, -1). Bounds, type, rights: each a timed load."""
        if impl == "cython":
            if self._fast is None:
                from hmk._fast.caplookup import LookupContext

                self._fast = LookupContext(self)
            return self._fast.lookup(cs, index, obj_type, rights)
        if impl != "python":
            raise ValueError(f"unknown lookup implementation {impl!r}")
        slot = self._slot(cs, index)
        if slot < 0:
            return slot, -1
        t = self.mem.load(self.slot, slot, "type")
        if t == NULL:
            return ENOENT, -1
        if t != obj_type:
            return EBADTYPE, -1
        if self.mem.load(self.slot, slot, "rights") & rights != rights:
            return EPERM, -1
        return OK, self.mem.load(self.slot, slot, "object")

    def install(self, cs: int, index: int, obj_type: int, obj: int, rights: int, badge=0) -> int:
        """Put an original capability (a CDT root) to a newly made object into an empty slot."""
        if not (NULL < obj_type < N_TYPES and 0 <= obj < self.objects_per_type):
            return EINVAL
        if not 0 <= rights <= ALL_RIGHTS or not 0 <= badge < 1 << 64:
            return EINVAL
        dst = self._empty_slot(cs, index)
        if dst < 0:
            return dst
        self._write(dst, obj_type, obj, rights, badge, parent=-1)
        return OK

    def copy(self, src_cs: int, src: int, dst_cs: int, dst: int) -> int:
        """Copy a capability with the same rights and badge, as a child of the source."""
        s = self._full_slot(src_cs, src)
        if s < 0:
            return s
        d = self._empty_slot(dst_cs, dst)
        if d < 0:
            return d
        load = self.mem.load
        rights, badge = load(self.slot, s, "rights"), load(self.slot, s, "badge")
        self._write(d, load(self.slot, s, "type"), load(self.slot, s, "object"), rights, badge, s)
        return OK

    def derive(self, src_cs: int, src: int, dst_cs: int, dst: int, rights: int, badge: int) -> int:
        """Copy with `rights` (a subset of the source's) and `badge` (0 keeps the source's; a
        badged capability cannot be re-badged, as with seL4's mint), as a child of the source."""
        s = self._full_slot(src_cs, src)
        if s < 0:
            return s
        d = self._empty_slot(dst_cs, dst)
        if d < 0:
            return d
        load = self.mem.load
        src_rights, src_badge = load(self.slot, s, "rights"), load(self.slot, s, "badge")
        if rights & ~src_rights or rights < 0:
            return EPERM
        if not 0 <= badge < 1 << 64 or (src_badge and badge not in (0, src_badge)):
            return EPERM
        obj_type, obj = load(self.slot, s, "type"), load(self.slot, s, "object")
        self._write(d, obj_type, obj, rights, badge or src_badge, s)
        return OK

    def delete(self, cs: int, index: int) -> tuple[int, bool]:
        """Empty a slot: (error, whether it held the last capability to its object). Its
        children move up to its parent (they keep their authority, as in seL4)."""
        s = self._full_slot(cs, index)
        if s < 0:
            return s, False
        return OK, self._remove(s)

    def revoke(self, cs: int, index: int) -> tuple[int, int]:
        """Delete every descendant of a capability, depth first (the deepest first child each
        time): (error, number deleted). The capability itself stays, so no object is freed."""
        s = self._full_slot(cs, index)
        if s < 0:
            return s, 0
        deleted = 0
        load = self.mem.load
        while (leaf := load(self.slot, s, "first_child")) >= 0:
            while (child := load(self.slot, leaf, "first_child")) >= 0:
                leaf = child
            self._remove(leaf)
            deleted += 1
        return OK, deleted

    # ---- helpers -------------------------------------------------------------------------

    def _valid_cs(self, cs) -> bool:
        return (
            isinstance(cs, int | np.integer)
            and 0 <= cs < self.cspace.capacity
            and bool(self.cspace.used[cs])
        )

    def _slot(self, cs: int, index: int) -> int:
        """The global slot of `index` in `cs` (bounds checked, timed), or EINVAL."""
        if not self._valid_cs(cs):
            return EINVAL
        size = self.mem.load(self.cspace, cs, "size")
        if not 0 <= index < size:
            return EINVAL
        return self.mem.load(self.cspace, cs, "first") + index

    def _full_slot(self, cs: int, index: int) -> int:
        s = self._slot(cs, index)
        if s >= 0 and self.mem.load(self.slot, s, "type") == NULL:
            return ENOENT
        return s

    def _empty_slot(self, cs: int, index: int) -> int:
        s = self._slot(cs, index)
        if s >= 0 and self.mem.load(self.slot, s, "type") != NULL:
            return EEXIST
        return s

    def _ref(self, obj_type: int, obj: int) -> int:
        return obj_type * self.objects_per_type + obj

    def _write(self, d, obj_type, obj, rights, badge, parent) -> None:
        """Fill empty slot `d` and link it into the CDT as the first child of `parent`."""
        st = self.mem.store
        st(self.slot, d, "type", obj_type)
        st(self.slot, d, "object", obj)
        st(self.slot, d, "rights", rights)
        st(self.slot, d, "badge", badge)
        st(self.slot, d, "parent", parent)
        st(self.slot, d, "first_child", -1)
        sibling = -1 if parent < 0 else self.mem.load(self.slot, parent, "first_child")
        st(self.slot, d, "next_sibling", sibling)
        if parent >= 0:
            st(self.slot, parent, "first_child", d)
        r = self._ref(obj_type, obj)
        st(self.refs, r, "count", self.mem.load(self.refs, r, "count") + 1)

    def _remove(self, s: int) -> bool:
        """Unlink full slot `s` from the CDT (its children take its place), empty it, drop the
        reference; True if that was the last one."""
        load, st, pool = self.mem.load, self.mem.store, self.slot
        parent, nxt = load(pool, s, "parent"), load(pool, s, "next_sibling")
        # the children get s's parent; the last of them is followed by s's next sibling
        child, last = load(pool, s, "first_child"), -1
        while child >= 0:
            st(pool, child, "parent", parent)
            if parent < 0:  # CDT roots are not on a sibling list
                following = load(pool, child, "next_sibling")
                st(pool, child, "next_sibling", -1)
                child = following
            else:
                last, child = child, load(pool, child, "next_sibling")
        replacement = nxt
        if last >= 0:
            st(pool, last, "next_sibling", nxt)
            replacement = load(pool, s, "first_child")
        if parent >= 0:  # put the replacement where s was on the parent's child list
            prev, cur = -1, load(pool, parent, "first_child")
            while cur != s:
                prev, cur = cur, load(pool, cur, "next_sibling")
            if prev < 0:
                st(pool, parent, "first_child", replacement)
            else:
                st(pool, prev, "next_sibling", replacement)
        r = self._ref(load(pool, s, "type"), load(pool, s, "object"))
        count = load(self.refs, r, "count") - 1
        st(self.refs, r, "count", count)
        st(pool, s, "type", NULL)
        for f in ("parent", "first_child", "next_sibling"):
            st(pool, s, f, -1)
        return count == 0

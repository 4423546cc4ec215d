"""Frame objects: a physical page a capability names, mappable into a VSpace (seL4's frames).

A frame object is a 32-byte record in kernel memory (docs/kernel-design.md, "Objects"): the
frame's physical address, and where it is mapped (VSpace and virtual address; one mapping at a
time, as an seL4 frame capability). `create` takes a zeroed frame from the frame allocator,
`map` / `unmap` / `protect` edit the VSpace's tables through hmk.kernel.vspace (timed) and
return the TLB maintenance to do, `destroy` unmaps and gives the frame back. Errors are
negative codes (hmk.kernel.errors) and change nothing.
"""

from __future__ import annotations

import numpy as np

from hmk.kernel.errors import EEXIST, EINVAL, ENOENT, ENOMEM, OK
from hmk.kernel.memory import OutOfMemory
from hmk.kernel.objects import Pool
from hmk.kernel.vspace import VSpaces, zero_frame

FRAME_FIELDS = {  # 21 of 32 bytes
    "pa": (np.uint64, 1),
    "va": (np.uint64, 1),
    "vspace": (np.int32, 1),
    "writable": (np.uint8, 1),
}


class FrameObjects:
    def __init__(self, vspaces: VSpaces, capacity: int):
        self.vs, self.mem = vspaces, vspaces.mem
        self.pool = self.mem.register(Pool("frame", capacity, 32, FRAME_FIELDS))
        self.pool["vspace"][:] = -1

    def valid(self, f) -> bool:
        return isinstance(f, int | np.integer) and 0 <= f < self.pool.capacity and self.pool.used[f]

    def create(self) -> int:
        """A frame object over a fresh zeroed frame: its index, or ENOMEM."""
        f = self.pool.alloc()
        if f < 0:
            return ENOMEM
        try:
            pa = self.vs.frames.alloc(zero=False, owner="user")
        except OutOfMemory:
            self.pool.free(f)
            return ENOMEM
        zero_frame(self.mem, self.vs.words, pa)
        st = self.mem.store
        st(self.pool, f, "pa", pa)
        st(self.pool, f, "va", 0)
        st(self.pool, f, "vspace", -1)
        return f

    def map(self, f, vspace: int, va: int, writable: bool, executable: bool):
        """Map frame `f` at `va` of `vspace`: (OK | EINVAL | EEXIST | ENOMEM, tlbi)."""
        if not self.valid(f):
            return EINVAL, []
        load, st = self.mem.load, self.mem.store
        if load(self.pool, f, "vspace") >= 0:
            return EEXIST, []  # one mapping per frame object
        err, tlbi = self.vs.map(vspace, va, load(self.pool, f, "pa"), writable, executable)
        if err == OK:
            st(self.pool, f, "vspace", vspace)
            st(self.pool, f, "va", va)
            st(self.pool, f, "writable", int(bool(writable)))
        return err, tlbi

    def unmap(self, f):
        """Remove frame `f`'s mapping: (OK | EINVAL | ENOENT, tlbi)."""
        err, vspace, va = self._mapping(f)
        if err != OK:
            return err, []
        err, tlbi = self.vs.unmap(vspace, va)
        self.mem.store(self.pool, f, "vspace", -1)
        return err, tlbi

    def protect(self, f, writable: bool, executable: bool):
        """New rights for frame `f`'s mapping: (OK | EINVAL | ENOENT, tlbi)."""
        err, vspace, va = self._mapping(f)
        if err != OK:
            return err, []
        err, tlbi = self.vs.protect(vspace, va, writable, executable)
        if err == OK:
            self.mem.store(self.pool, f, "writable", int(bool(writable)))
        return err, tlbi

    def _mapping(self, f):
        """(OK, vspace, va) of frame `f`'s mapping, or (EINVAL | ENOENT, -1, 0)."""
        if not self.valid(f):
            return EINVAL, -1, 0
        vspace = self.mem.load(self.pool, f, "vspace")
        if vspace < 0:
            return ENOENT, -1, 0
        return OK, vspace, self.mem.load(self.pool, f, "va")

    def destroy(self, f):
        """Unmap (if mapped) and free frame `f` and its page: (OK | EINVAL, tlbi)."""
        if not self.valid(f):
            return EINVAL, []
        tlbi = self.unmap(f)[1] if self.pool["vspace"][f] >= 0 else []
        self.vs.frames.free(self.mem.load(self.pool, f, "pa"))
        for field in ("pa", "va", "writable"):
            self.pool[field][f] = 0
        self.pool["vspace"][f] = -1
        self.pool.free(f)
        return OK, tlbi


__all__ = ["FRAME_FIELDS", "FrameObjects", "ENOENT"]

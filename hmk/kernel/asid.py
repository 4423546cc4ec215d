"""ASID allocation with generations, as Linux arm64 does it (arch/arm64/mm/context.c).

An address space keeps a context (generation, asid). Activating it on a core is free while its
generation is current. Otherwise it gets an ASID again: its old one if still unused in this
generation, else the next free one. When none is left the generation rolls over: the bitmap is
cleared except for the ASIDs active on some core (they stay reserved, so running address spaces
keep theirs), and every TLB must be flushed before an ASID of the old generation is reused; the
caller performs (and is charged for) that flush. ASID 0 is the kernel's own and never handed out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    generation: int = 0  # 0: never had an ASID
    asid: int = 0


class AsidAllocator:
    def __init__(self, bits: int = 16, cores: int = 1):
        if bits not in (8, 16):
            raise ValueError(f"ASIDs are 8 or 16 bits on ARMv8, got {bits}")
        self.count = 1 << bits
        self.generation = 1
        self.used = bytearray(self.count)
        self.used[0] = 1  # the kernel's
        self.next = 1
        self.active = [Context()] * cores  # what each core runs now
        self.rollovers = 0

    def activate(self, ctx: Context, core: int = 0) -> tuple[Context, bool]:
        """The context to run `ctx`'s address space with on `core`, and whether every TLB must
        be flushed first (a generation roll-over happened)."""
        flush = False
        if ctx.generation != self.generation:
            asid = ctx.asid if ctx.asid and not self.used[ctx.asid] else self._next_free()
            if asid is None:
                self._roll_over()
                flush = True
                asid = ctx.asid if ctx.asid and not self.used[ctx.asid] else self._next_free()
            self.used[asid] = 1
            ctx = Context(self.generation, asid)
        self.active[core] = ctx
        return ctx, flush

    def _next_free(self) -> int | None:
        for i in range(self.count - 1):
            asid = 1 + (self.next - 1 + i) % (self.count - 1)
            if not self.used[asid]:
                self.next = asid + 1 if asid + 1 < self.count else 1
                return asid
        return None

    def _roll_over(self) -> None:
        self.generation += 1
        self.rollovers += 1
        self.used = bytearray(self.count)
        self.used[0] = 1
        for i, running in enumerate(self.active):
            if running.asid:  # running address spaces keep their ASIDs, in the new generation
                self.used[running.asid] = 1
                self.active[i] = Context(self.generation, running.asid)
        self.next = 1

"""The functional CPU's control path through unicorn's Python binding: the reference of
hmk._fast.ucapi (the same calls, compiled against unicorn's C API), and what hmk.cpu.machine
uses when that module is not built or `impl="python"` asks for the references."""

from __future__ import annotations

from unicorn import UC_HOOK_INTR


class Registers:
    """A fixed batch of unicorn register ids, with each one's width: 128 bits (FP/SIMD Q
    registers, `wide`) or 64 (the rest)."""

    def __init__(self, ids, wide=()):
        self.ids = tuple(ids)
        self.count = len(self.ids)
        self.wide = frozenset(wide)


class UcPython:
    """The engine of `uc` (a unicorn.Uc), driven through unicorn's Python binding."""

    def __init__(self, uc):
        self.uc = uc
        self._hooked = False

    def on_interrupt(self, callback) -> None:
        """Call `callback(intno)` at every CPU exception; what it raises stops the CPU and
        emu_start raises it (unicorn's binding does both)."""
        if self._hooked:
            raise RuntimeError("UcPython.on_interrupt: a callback is set already")
        self.uc.hook_add(UC_HOOK_INTR, lambda uc, intno, data: callback(intno))
        self._hooked = True

    def emu_start(self, begin: int, until: int) -> None:
        self.uc.emu_start(begin, until)

    def emu_stop(self) -> None:
        self.uc.emu_stop()

    def reg(self, reg: int) -> int:
        return self.uc.reg_read(reg)

    def set_reg(self, reg: int, value: int) -> None:
        self.uc.reg_write(reg, value)

    def read(self, regs: Registers) -> tuple[int, ...]:
        return self.uc.reg_read_batch(regs.ids)

    def write(self, regs: Registers, values) -> None:
        self.uc.reg_write_batch(list(zip(regs.ids, values, strict=True)))

"""The exact address of a refused access: what the core's FAR_EL1 would hold.

unicorn reports a translation fault by its page (the TLB fill asks for a page), but Linux
gives a signal handler the faulting byte's address (si_addr, from FAR_EL1). For a data access
it is the address the instruction computes: its base register, plus the index register
(extended and shifted as the instruction says) and the immediate offset, or the base alone for
a post-indexed access (Arm Architecture Reference Manual, "Load/Store addressing modes"). An
access that starts below the refused page (it straddles into it) faults at the page's first
byte. For an instruction fetch it is the fetched instruction's own address.
"""

from __future__ import annotations

import capstone
from capstone import arm64 as A
from unicorn import arm64_const as U

_CS = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_CS.detail = True
MASK = (1 << 64) - 1
PAGE = 4096
_REGS = {f"x{n}": getattr(U, f"UC_ARM64_REG_X{n}") for n in range(29)}
_REGS |= {"x29": U.UC_ARM64_REG_X29, "x30": U.UC_ARM64_REG_X30, "sp": U.UC_ARM64_REG_SP}
_SIGNED = {A.ARM64_EXT_SXTB: 8, A.ARM64_EXT_SXTH: 16, A.ARM64_EXT_SXTW: 32, A.ARM64_EXT_SXTX: 64}
_UNSIGNED = {A.ARM64_EXT_UXTB: 8, A.ARM64_EXT_UXTH: 16, A.ARM64_EXT_UXTW: 32, A.ARM64_EXT_UXTX: 64}


def _value(read, name: str) -> int:
    if name in ("xzr", "wzr"):
        return 0
    if name.startswith("w"):
        return read(_REGS[f"x{name[1:]}"]) & 0xFFFFFFFF
    return read(_REGS[name]) & MASK


def data_address(code: bytes, pc: int, read) -> int | None:
    """The address the instruction `code` at `pc` accesses (its first byte), with `read(uc
    register id)` giving register values; None when it is not a load or store."""
    insn = next(_CS.disasm(code, pc, 1), None)
    if insn is None:
        return None
    mem = next((op for op in insn.operands if op.type == A.ARM64_OP_MEM), None)
    if mem is None:
        return None
    address = _value(read, insn.reg_name(mem.mem.base)) + mem.mem.disp
    if mem.mem.index:
        index = _value(read, insn.reg_name(mem.mem.index))
        if mem.ext in _UNSIGNED:
            index &= (1 << _UNSIGNED[mem.ext]) - 1
        elif mem.ext in _SIGNED:
            bits = _SIGNED[mem.ext]
            index &= (1 << bits) - 1
            index -= (index >> (bits - 1)) << bits
        if mem.shift.type == A.ARM64_SFT_LSL:
            index <<= mem.shift.value
        address += index
    return address & MASK


def fault_address(uc, page_address: int, fetch: bool, instruction_at) -> int:
    """The exact address of the access refused on the page at `page_address` (unicorn stopped
    on it: its PC is the faulting instruction's, whose bytes `instruction_at(pc)` gives, None
    when it cannot)."""
    page = page_address & ~(PAGE - 1)
    pc = uc.reg_read(U.UC_ARM64_REG_PC)
    if fetch:
        return pc if page <= pc < page + PAGE else page
    code = instruction_at(pc)
    if code is None or len(code) != 4:
        return page
    address = data_address(code, pc, uc.reg_read)
    if address is None or not page <= address < page + PAGE:
        return page  # not decoded, or an access that straddles into the page
    return address

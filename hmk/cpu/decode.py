"""Decode one AArch64 instruction with capstone into its class and register use (an `Insn`):
hmk.cpu.classify makes a block's records (hmk.cpu.records) of these. Imported only when a
block has to be decoded (a block whose classification hmk.cpu.blockcache holds needs no
capstone)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import capstone
from capstone import arm64

from hmk.cpu.records import (
    ALL_EVENTS,
    BRANCH,
    BRANCH_COND,
    BRANCH_INDIRECT,
    CALL,
    CALL_INDIRECT,
    DIV,
    DRAIN,
    FP,
    FP_DIV,
    INT,
    LOAD,
    LOAD_PAIR,
    MUL,
    NOREG,
    NZCV,
    READS,
    RETURN,
    SERIAL,
    SP,
    STORE,
    STORE_PAIR,
    SYSTEM,
    UNIQUE,
    UNKNOWN,
    V0,
    WRITES,
)

_BRANCHES = {
    "b": BRANCH,
    "bl": CALL,
    "br": BRANCH_INDIRECT,
    "blr": CALL_INDIRECT,
    "ret": RETURN,
    **dict.fromkeys(("cbz", "cbnz", "tbz", "tbnz"), BRANCH_COND),
    **dict.fromkeys(("braa", "brab", "braaz", "brabz"), BRANCH_INDIRECT),
    **dict.fromkeys(("blraa", "blrab", "blraaz", "blrabz"), CALL_INDIRECT),
    **dict.fromkeys(("retaa", "retab"), RETURN),
}
_SERIAL = {"isb", "dsb", "sb", "svc", "hvc", "smc", "brk", "hlt", "eret", "eretaa", "eretab"}
_SERIAL |= {"wfi", "wfe"}
_SYSTEM = _SERIAL | {"mrs", "msr", "sys", "sysl", "dc", "ic", "tlbi", "at", "dmb", "clrex"}
_SYSTEM |= {"sev", "sevl", "ssbb", "pssbb", "dcps1", "dcps2", "dcps3", "drps"}
_MUL = {"mul", "madd", "msub", "mneg", "smull", "umull", "smaddl", "umaddl", "smsubl"}
_MUL |= {"umsubl", "smnegl", "umnegl", "smulh", "umulh"}
_DIV = {"sdiv", "udiv"}
_PAIRS = {"ldp", "ldnp", "ldpsw", "ldxp", "ldaxp", "stp", "stnp", "stxp", "stlxp", "stgp"}
_COMPARES = {"cmp", "cmn", "tst", "ccmp", "ccmn", "fcmp", "fcmpe", "fccmp", "fccmpe"}
_READ_FLAGS = {"adc", "adcs", "sbc", "sbcs", "ngc", "ngcs"}
_ACCUMULATE = {"movk", "bfi", "bfxil", "bfm", "bfc", "mla", "mls", "fmla", "fmls", "ins"}
_ACCUMULATE |= {"sli", "sri", "tbx", "bsl", "bit", "bif", "sqrdmlah", "sqrdmlsh"}
_ATOMIC_OPS = r"(add|clr|eor|set|smax|smin|umax|umin)"
_ATOMIC_LOAD = re.compile(rf"^(ld{_ATOMIC_OPS}|swp|cas)")
_ATOMIC_STORE = re.compile(rf"^st{_ATOMIC_OPS}")
# an atomic's ordering: A (acquire), L (release), then B or H (size): ldaddal, casl, staddlb
_ATOMIC_RELEASE = re.compile(rf"^(ld{_ATOMIC_OPS}|swp|casp?|st{_ATOMIC_OPS})a?l[bh]?$")
_STRUCTURE = re.compile(r"^(ld|st)[234]$")  # multi- or single-structure, element by element
_REPLICATE = re.compile(r"^ld[1-4]r$")  # load one element and replicate it to every lane
_LANE_BYTES = {"B": 1, "H": 2, "S": 4, "D": 8, "Q": 16}
_VAS = {  # capstone vector arrangement -> (lanes, bytes per lane)
    getattr(arm64, name): (int(m[1]), _LANE_BYTES[m[2]])
    for name in dir(arm64)
    if (m := re.fullmatch(r"ARM64_VAS_(\d+)([BHSDQ])", name))
}

_CS = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
_CS.detail = True
_REG_CODES: dict[int, int] = {}


def reg_code(cs_reg: int) -> int:
    """hmk's register number (hmk.cpu.records) of a capstone register, or NOREG."""
    code = _REG_CODES.get(cs_reg)
    if code is None:
        name = _CS.reg_name(cs_reg) or ""
        m = re.fullmatch(r"([xwbhsdqv])(\d+)", name)
        if m:
            code = int(m[2]) + (0 if m[1] in "xw" else V0)
        else:
            code = {"sp": SP, "wsp": SP, "fp": 29, "lr": 30, "nzcv": NZCV}.get(name, NOREG)
        _REG_CODES[cs_reg] = code
    return code


@dataclass(frozen=True)
class Insn:
    """One decoded instruction (a row of INSN_DTYPE, as Python values)."""

    cls: int
    flags: int = 0
    nev: int = 0
    src: tuple[int, ...] = ()
    dst: tuple[int, ...] = ()
    wb: int = NOREG


UNKNOWN_INSN = Insn(UNKNOWN)


def _events_of(mnemonic: str, data_ops) -> int:
    """How many memory events unicorn (qemu) records for a load or store: one per scalar or
    64-bit register, two per 128-bit register, one per element for LD2-LD4/ST2-ST4."""
    n = 0
    for op in data_ops:
        lanes, lane_bytes = _VAS.get(op.vas, (1, 0))
        if op.vector_index >= 0 or _REPLICATE.match(mnemonic):  # one lane
            n += 1
        elif _STRUCTURE.match(mnemonic) and lane_bytes:
            n += lanes
        elif lanes * lane_bytes == 16 or _CS.reg_name(op.reg).startswith("q"):
            n += 2
        else:
            n += 1
    return min(n, ALL_EVENTS - 1)


def _memory(insn, m: str, mem) -> Insn:
    """A load, a store or an atomic (it has a memory operand)."""
    base = reg_code(mem.mem.base)
    index = reg_code(mem.mem.index) if mem.mem.index else NOREG
    addr = [r for r in (base, index) if r != NOREG]
    at = list(insn.operands).index(mem)
    data = [op for op in insn.operands[:at] if op.type == arm64.ARM64_OP_REG]
    after = [reg_code(op.reg) for op in insn.operands[at + 1 :] if op.type == arm64.ARM64_OP_REG]
    codes = [reg_code(op.reg) for op in data]
    wb = base if insn.writeback else NOREG
    pair = m in _PAIRS
    if _ATOMIC_LOAD.match(m):  # ldadd/swp xs, xt: xs in, xt out; cas xs, xt: xs in and out
        half = len(codes) // 2
        if m.startswith("cas"):
            src, dst = codes, codes[:half]
        else:
            src, dst = codes[:half], codes[half:]
        nev = 4 if m.startswith("casp") else 2
        order = DRAIN if _ATOMIC_RELEASE.match(m) else 0
        return Insn(LOAD, READS | WRITES | order, nev, tuple(src + addr), tuple(dst), wb)
    if _ATOMIC_STORE.match(m):  # a read-modify-write at the cache: it needs the line unique
        order = DRAIN if _ATOMIC_RELEASE.match(m) else 0
        return Insn(STORE, READS | WRITES | UNIQUE | order, 2, tuple(codes + addr), (), wb)
    nev = _events_of(m, data)
    if m.startswith("ld"):
        return Insn(LOAD_PAIR if pair else LOAD, READS, nev, tuple(addr + after), tuple(codes), wb)
    flags, status = WRITES, ()
    if re.match(r"^st(l?x)", m):  # store-exclusive: the first register is the status result,
        status, codes = tuple(codes[:1]), codes[1:]  # known once the line is unique
        flags |= UNIQUE
    if m.startswith("stl"):  # store-release (STLR, STLUR, STLXR, STLXP, STLLR)
        flags |= DRAIN
    cls = STORE_PAIR if pair else STORE
    return Insn(cls, flags, nev, tuple(codes + addr + after), status, wb)


def _branch(insn, m: str, cls: int, regs) -> Insn:
    src = [reg_code(op.reg) for op in regs]
    if cls == BRANCH_COND and m.startswith("b"):
        src.append(NZCV)
    if cls == RETURN and not src:
        src = [30]
    dst = (30,) if cls in (CALL, CALL_INDIRECT) else ()
    return Insn(cls, 0, 0, tuple(src), dst)


def _orders_stores(word: int) -> bool:
    """Whether a DMB or DSB waits for this core's earlier stores to be seen by other cores. The
    Arm ARM's (DDI 0596) DMB and DSB: CRm<1:0> are the access types ordered (01 reads only: the
    LD forms; 10 writes; 11 all; 00 all, full system) and CRm<3:2> the shareability domain (01
    non-shareable, NSH: this core alone)."""
    crm = (word >> 8) & 0xF
    types, domain = crm & 3, crm >> 2
    return types == 0 or (types != 1 and domain != 1)


def _system(insn, m: str, regs) -> Insn:
    codes = [reg_code(op.reg) for op in regs]
    flags = SERIAL if m in _SERIAL else 0
    if m in ("dmb", "dsb") and _orders_stores(int.from_bytes(insn.bytes, "little")):
        flags |= DRAIN
    if m == "mrs":
        return Insn(SYSTEM, flags, 0, (), tuple(codes[:1]))
    if m == "dc" and "zva" in insn.op_str:  # zeroes a line: unicorn records byte writes
        return Insn(SYSTEM, flags | WRITES, ALL_EVENTS, tuple(codes))
    return Insn(SYSTEM, flags, 0, tuple(codes))


def _data(insn, m: str, regs) -> Insn:
    """Integer, multiply/divide and FP/SIMD data processing."""
    codes = [reg_code(op.reg) for op in regs]
    vector = any(V0 <= c < NZCV for c in codes) or m[0] == "f" or m.endswith("cvtf")
    if vector:
        cls = FP_DIV if m.startswith(("fdiv", "fsqrt")) else FP
    else:
        cls = MUL if m in _MUL else DIV if m in _DIV else INT
    if m in _COMPARES or not codes:
        src, dst = codes, []
    else:
        src, dst = codes[1:], codes[:1]
        if m in _ACCUMULATE or (regs and regs[0].vector_index >= 0):
            src = codes  # the destination is also read (partial write or accumulator)
    if insn.cc not in (arm64.ARM64_CC_INVALID, arm64.ARM64_CC_AL) or m in _READ_FLAGS:
        src = [*src, NZCV]
    if insn.update_flags:
        dst = [*dst, NZCV]
    return Insn(cls, 0, 0, tuple(src), tuple(dst))


def decode(word: int | bytes, addr: int = 0) -> Insn:
    """The class and register use of one instruction (4 bytes, or a little-endian u32)."""
    code = word.to_bytes(4, "little") if isinstance(word, int) else bytes(word)
    try:
        insn = next(_CS.disasm(code, addr, 1), None)
        if insn is None:
            return UNKNOWN_INSN
        m = insn.mnemonic
        if m == "udf":  # permanently undefined
            return UNKNOWN_INSN
        regs = [op for op in insn.operands if op.type == arm64.ARM64_OP_REG]
        mems = [op for op in insn.operands if op.type == arm64.ARM64_OP_MEM]
        if m in _BRANCHES or m.startswith(("b.", "bc.")):
            return _branch(insn, m, _BRANCHES.get(m, BRANCH_COND), regs)
        if m in _SYSTEM:
            return _system(insn, m, regs)
        if mems and not m.startswith("prf"):
            return _memory(insn, m, mems[0])
        if mems:  # a prefetch: reads its address registers, makes no event in unicorn
            base = [reg_code(mems[0].mem.base)]
            return Insn(INT, 0, 0, tuple(r for r in base if r != NOREG))
        return _data(insn, m, regs)
    except Exception:  # a capstone corner we do not understand: time it like an integer op
        return UNKNOWN_INSN

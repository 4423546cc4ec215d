"""Instruction classes of executed AArch64 blocks, for the timing model (docs/timing-model.md).

A block's bytes are decoded once (capstone) into one 16-byte record per instruction
(`INSN_DTYPE`): its class, which registers it reads and writes, how many memory events of
which kind it makes, and flags. `BlockTable` keeps the records of every block seen, keyed by
address and bytes, in numpy arrays that both timing-model implementations read.

Registers are numbered 0-30 (x0-x30, w0-w30), 31 (sp), 32-63 (v0-v31 in any of their b/h/s/d/q
views) and 64 (the NZCV flags); xzr/wzr are no register. Bytes capstone cannot decode are one
"unknown" instruction per word, timed like an integer operation; classification never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import capstone
import numpy as np
from capstone import arm64

CLASSES = (
    "int",  # integer ALU, moves, address generation, prefetch hints, nop
    "mul",  # integer multiply (and multiply-accumulate, multiply-high)
    "div",  # integer divide
    "load",  # loads, load-exclusive, atomics that return a value, SIMD structure loads
    "store",  # stores, store-exclusive, atomics that return nothing
    "load_pair",  # LDP, LDNP, LDPSW, LDXP, LDAXP
    "store_pair",  # STP, STNP, STXP, STLXP
    "fp",  # FP and Advanced SIMD data processing
    "fp_div",  # FP divide and square root (scalar and vector)
    "branch_cond",  # B.cond, CBZ/CBNZ, TBZ/TBNZ
    "branch",  # B (direct, unconditional)
    "branch_indirect",  # BR (and its pointer-authenticating forms)
    "call",  # BL
    "call_indirect",  # BLR
    "return",  # RET
    "system",  # SVC, MRS/MSR, barriers, cache and TLB maintenance, ERET, WFI, ...
    "unknown",  # bytes capstone does not decode; cost like "int"
)
(
    INT,
    MUL,
    DIV,
    LOAD,
    STORE,
    LOAD_PAIR,
    STORE_PAIR,
    FP,
    FP_DIV,
    BRANCH_COND,
    BRANCH,
    BRANCH_INDIRECT,
    CALL,
    CALL_INDIRECT,
    RETURN,
    SYSTEM,
    UNKNOWN,
) = range(len(CLASSES))
NCLASSES = len(CLASSES)

# The kind of a block's terminating branch (what the branch predictor sees).
TERMS = ("none", "cond", "uncond", "indirect", "call", "call_indirect", "return")
T_NONE, T_COND, T_UNCOND, T_INDIRECT, T_CALL, T_CALL_INDIRECT, T_RETURN = range(len(TERMS))
TERM_OF_CLASS = {
    BRANCH_COND: T_COND,
    BRANCH: T_UNCOND,
    BRANCH_INDIRECT: T_INDIRECT,
    CALL: T_CALL,
    CALL_INDIRECT: T_CALL_INDIRECT,
    RETURN: T_RETURN,
}

# flags
READS = 1  # takes read events (a load, or an atomic)
WRITES = 2  # takes write events (a store, an atomic, DC ZVA)
LOAD_USE = 4  # a load whose result the next instruction reads
SERIAL = 8  # serializing: ISB, DSB, SVC, ERET, ...
ALL_EVENTS = 255  # `nev` of an instruction that takes every event of its kind that follows

SP, V0, NZCV, NREGS, NOREG = 31, 32, 64, 65, 255
MAX_SRC, MAX_DST = 6, 4

INSN_DTYPE = np.dtype(
    [
        ("cls", "u1"),
        ("flags", "u1"),
        ("nev", "u1"),  # memory events it makes (an estimate; see docs/timing-model.md)
        ("nsrc", "u1"),
        ("ndst", "u1"),
        ("wb", "u1"),  # base register written back by a pre/post-indexed access, or NOREG
        ("src", "u1", (MAX_SRC,)),
        ("dst", "u1", (MAX_DST,)),
    ]
)
BLOCKINFO_DTYPE = np.dtype(
    [
        ("insn_start", "<u4"),  # index of its first record in BlockTable.insns
        ("ninsn", "<u4"),
        ("last_mem", "<i4"),  # index in the block of its last memory instruction, or -1
        ("term", "u1"),
        ("pad", "u1", (3,)),
    ]
)
assert INSN_DTYPE.itemsize == 16 and BLOCKINFO_DTYPE.itemsize == 16

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
    """hmk's register number (see the module docstring) of a capstone register, or NOREG."""
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
        return Insn(LOAD, READS | WRITES, nev, tuple(src + addr), tuple(dst), wb)
    if _ATOMIC_STORE.match(m):
        return Insn(STORE, READS | WRITES, 2, tuple(codes + addr), (), wb)
    nev = _events_of(m, data)
    if m.startswith("ld"):
        return Insn(LOAD_PAIR if pair else LOAD, READS, nev, tuple(addr + after), tuple(codes), wb)
    status = ()
    if re.match(r"^st(l?x)", m):  # store-exclusive: the first register is the status result
        status, codes = tuple(codes[:1]), codes[1:]
    cls = STORE_PAIR if pair else STORE
    return Insn(cls, WRITES, nev, tuple(codes + addr + after), status, wb)


def _branch(insn, m: str, cls: int, regs) -> Insn:
    src = [reg_code(op.reg) for op in regs]
    if cls == BRANCH_COND and m.startswith("b"):
        src.append(NZCV)
    if cls == RETURN and not src:
        src = [30]
    dst = (30,) if cls in (CALL, CALL_INDIRECT) else ()
    return Insn(cls, 0, 0, tuple(src), dst)


def _system(insn, m: str, regs) -> Insn:
    codes = [reg_code(op.reg) for op in regs]
    flags = SERIAL if m in _SERIAL else 0
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


def _clean(regs) -> tuple[int, ...]:
    out = []
    for r in regs:
        if r != NOREG and r not in out:
            out.append(r)
    return tuple(out)


@dataclass(frozen=True)
class BlockInfo:
    """The summary of one block: per-class counts, the terminating branch, and the records."""

    addr: int
    size: int
    insns: np.ndarray  # INSN_DTYPE, one per instruction
    term: str  # one of TERMS

    @property
    def ninsn(self) -> int:
        return len(self.insns)

    @property
    def counts(self) -> dict[str, int]:
        n = np.bincount(self.insns["cls"], minlength=NCLASSES)
        return {name: int(n[i]) for i, name in enumerate(CLASSES) if n[i]}

    @property
    def load_use(self) -> int:
        """Loads whose result the very next instruction reads."""
        return int(np.count_nonzero(self.insns["flags"] & LOAD_USE))

    @property
    def last_mem(self) -> int:
        mem = np.flatnonzero(self.insns["flags"] & (READS | WRITES))
        return int(mem[-1]) if len(mem) else -1


def classify_block(code: bytes, addr: int = 0) -> BlockInfo:
    """Decode a block's bytes into INSN_DTYPE records (one per 4 bytes; a trailing partial word is
    one unknown instruction) and its summary. Never raises on bad bytes."""
    code = bytes(code)
    decoded = [decode(code[i : i + 4], addr + i) for i in range(0, len(code), 4)]
    recs = np.zeros(len(decoded), INSN_DTYPE)
    for j, ins in enumerate(decoded):
        src, dst = _clean(ins.src)[:MAX_SRC], _clean(ins.dst)[:MAX_DST]
        flags = ins.flags
        is_load = ins.cls in (LOAD, LOAD_PAIR)
        if is_load and j + 1 < len(decoded) and set(dst) & set(decoded[j + 1].src):
            flags |= LOAD_USE
        recs[j] = (
            ins.cls,
            flags,
            ins.nev,
            len(src),
            len(dst),
            ins.wb,
            src + (0,) * (MAX_SRC - len(src)),
            dst + (0,) * (MAX_DST - len(dst)),
        )
    term = TERM_OF_CLASS.get(decoded[-1].cls, T_NONE) if decoded else T_NONE
    return BlockInfo(addr, len(code), recs, TERMS[term])


class BlockTable:
    """Every block classified so far, keyed by (address, bytes), in arrays the timing models
    read: `rows` (BLOCKINFO_DTYPE, one per block id) and `insns` (INSN_DTYPE, all records)."""

    def __init__(self):
        self._rows = np.zeros(256, BLOCKINFO_DTYPE)
        self._insns = np.zeros(4096, INSN_DTYPE)
        self._n = self._ni = 0
        self._ids: dict[tuple[int, bytes], int] = {}
        self._last: dict[tuple[int, int], int] = {}  # (addr, size) -> the id seen last
        self._known: dict[tuple[int, int], int] = {}  # (addr, size) -> id, read since `forget`
        self._known_by: dict[object, dict] = {None: self._known}  # one per program image
        self._info: list[BlockInfo] = []

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def insns(self) -> np.ndarray:
        return self._insns[: self._ni]

    def info(self, block_id: int) -> BlockInfo:
        return self._info[block_id]

    def add(self, addr: int, code: bytes | None, size: int | None = None) -> int:
        """The id of the block at `addr` with these bytes; classified the first time. `code`
        None stands for `size` bytes that could not be read: unknown instructions."""
        size = len(code) if code is not None else int(size)
        key = (int(addr), bytes(code) if code is not None else size)
        block_id = self._ids.get(key)
        if block_id is None:
            if code is None:
                recs = np.zeros((size + 3) // 4, INSN_DTYPE)
                recs["cls"], recs["wb"] = UNKNOWN, NOREG
                info = BlockInfo(key[0], size, recs, "none")
            else:
                info = classify_block(key[1], key[0])
            block_id = self._ids[key] = self._append(info)
        self._last[(key[0], size)] = block_id
        return block_id

    def _append(self, info: BlockInfo) -> int:
        n = info.ninsn
        while self._ni + n > len(self._insns):
            self._insns = np.concatenate([self._insns, np.zeros_like(self._insns)])
        if self._n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        self._insns[self._ni : self._ni + n] = info.insns
        self._rows[self._n] = (self._ni, n, info.last_mem, TERMS.index(info.term), 0)
        self._ni += n
        self._info.append(info)
        self._n += 1
        return self._n - 1

    def ids(self, blocks: np.ndarray, read_code) -> np.ndarray:
        """Block ids (uint32) for a BLOCK_DTYPE array. An (address, size) not read since the
        last `forget` is read with `read_code(addr, size) -> bytes | None` (once per call) and
        classified by its bytes; unreadable code takes the id last seen at that address and
        size, or is classified as unknown instructions (and is read again next time)."""
        first, where = _distinct(blocks)
        found = np.empty(len(first), np.uint32)
        addrs, sizes = blocks["addr"][first].tolist(), blocks["size"][first].tolist()
        for i, key in enumerate(zip(addrs, sizes, strict=True)):
            block_id = self._known.get(key)
            if block_id is None:
                code = read_code(*key)
                if code is None or len(code) != key[1]:
                    block_id = self._last.get(key)
                    if block_id is None:
                        block_id = self.add(key[0], None, key[1])
                else:
                    block_id = self._known[key] = self.add(key[0], code)
            found[i] = block_id
        return found[where]

    def use(self, image) -> None:
        """The blocks that follow are program image `image`'s (any hashable key): what was
        read at an address in one program says nothing of another's code there."""
        self._known = self._known_by.setdefault(image, {})

    def forget(self, pages=None) -> None:
        """Code may have changed (pages unmapped, remapped or written; a new program): read
        the blocks that touch these pages (page addresses; None: all) again before trusting
        their classification (in every program image: a conservative choice)."""
        for known in self._known_by.values():
            if pages is None:
                known.clear()
                continue
            numbers = {int(p) >> 12 for p in pages}
            for addr, size in list(known):
                if addr >> 12 in numbers or (addr + max(size, 1) - 1) >> 12 in numbers:
                    del known[(addr, size)]


def _distinct_numpy(blocks) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse): the index of the first block with each distinct (addr, size), in order
    of first appearance, and for each block the position of its pair in `first`."""
    keys = np.stack([blocks["addr"], blocks["size"].astype(np.uint64)], axis=1)
    _, index, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(index, kind="stable")  # sorted keys -> order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return index[order], rank[inverse.reshape(-1)].astype(np.uint32)


def _distinct(blocks) -> tuple[np.ndarray, np.ndarray]:
    global _distinct_fast
    if _distinct_fast is None:
        try:  # the compiled helper is O(n); the numpy one sorts
            from hmk._fast.timing import distinct_blocks as _distinct_fast  # noqa: PLC0415
        except ImportError:
            _distinct_fast = _distinct_numpy
    return _distinct_fast(blocks)


_distinct_fast = None

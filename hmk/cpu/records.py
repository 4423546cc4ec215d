"""What a block's records are made of: the instruction classes, the kinds of branch that end a
block, the flags, hmk's register numbers and the two record layouts the timing models read
(`INSN_DTYPE`, one per instruction; `BLOCKINFO_DTYPE`, one per block). hmk.cpu.classify makes
the records (with hmk.cpu.decode) and keeps them; the names are also reachable there.

Registers are numbered 0-30 (x0-x30, w0-w30), 31 (sp), 32-63 (v0-v31 in any of their b/h/s/d/q
views) and 64 (the NZCV flags); xzr/wzr are no register.
"""

from __future__ import annotations

import numpy as np

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
DRAIN = 16  # waits until this core's earlier stores are visible to the other cores: DMB and DSB
# (but their load-only and non-shareable forms), release stores and atomics with release
UNIQUE = 32  # a store that needs its line unique before it completes: store-exclusive, STADD...
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

"""Generate what compiled and guest code share with hmk's Python: each fact is defined once, in
Python, and written out from there.

    hmk/_fast/shared.pxd      the record layouts (Event, Block, Row, Insn) and every constant
                              the compiled twins (hmk/_fast/*.pyx) use, from the Python modules
                              that define them
    hmk/_fast/constants.pyx   those values and layouts as the compiled code sees them, for the
                              tests to compare with Python's
    workloads/hm/hmcalls.h    the core-kernel call numbers, result codes, rights and map flags
                              HM-native guest programs use (its generated block)
    workloads/script/scripthost.c   the scripting channel's protocol (its generated block)

    python tools/genshared.py           rewrite both
    python tools/genshared.py --check   exit 1 if either is out of date (tests/test_shared.py)

After rewriting shared.pxd, rebuild the extensions (pip install -e .).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PXD = ROOT / "hmk" / "_fast" / "shared.pxd"
PYX = ROOT / "hmk" / "_fast" / "constants.pyx"
HEADER = ROOT / "workloads" / "hm" / "hmcalls.h"
SCRIPTHOST = ROOT / "workloads" / "script" / "scripthost.c"

# (Python module, [(expression in that module, name in C)]): small values become a cdef enum,
# 64-bit ones (descriptor bits, masks) constants of a C block
CONSTANTS = (
    ("hmk.hw.events", [("READ", "READ"), ("WRITE", "WRITE"), ("FETCH", "FETCH")]),
    ("hmk.hw.layout", [
        ("WALK", "WALK"), ("NINE", "NINE"), ("INCLUSIVE", "INCLUSIVE"),
        ("EXCLUSIVE", "EXCLUSIVE"), ("ITLB_HIT", "ITLB_HIT"), ("ITLB_MISS", "ITLB_MISS"),
        ("DTLB_HIT", "DTLB_HIT"), ("DTLB_MISS", "DTLB_MISS"), ("L2TLB_HIT", "L2TLB_HIT"),
        ("L2TLB_MISS", "L2TLB_MISS"), ("WALKS", "WALKS"), ("WC_HIT", "WC_HIT"),
        ("WC_MISS", "WC_MISS"), ("WALK_FAULT", "WALK_FAULT"), ("TLB_FILTER", "TLB_FILTER"),
        ("MESI", "MESI"), ("MOESI", "MOESI"), ("UPGRADES", "UPGRADES"),
        ("TRANSFERS_IN", "TRANSFERS_IN"), ("TRANSFERS_OUT", "TRANSFERS_OUT"),
        ("DOWNGRADES", "DOWNGRADES"), ("EXCLUSIVE_HINTS", "EXCLUSIVE_HINTS"),
    ]),
    ("hmk.hw.pagetable", [
        ("PAGE_SHIFT", "PAGE_SHIFT"), ("PAGE_SIZE", "PAGE_SIZE"), ("LEVELS", "LEVELS"),
        ("ADDR_MASK", "ADDR_MASK"), ("VALID | TABLE_OR_PAGE", "TABLE_DESC"),
        ("VALID | TABLE_OR_PAGE | AF | SH_INNER | NG", "PAGE_BITS"), ("AP_EL0", "AP_EL0"),
        ("AP_RO", "AP_RO"),
        ("NG", "NG"), ("PXN", "PXN"), ("UXN", "UXN"),
    ]),
    ("hmk.cpu.classify", [
        ("MUL", "MUL"), ("DIV", "DIV"), ("LOAD", "LOAD"), ("STORE", "STORE"),
        ("LOAD_PAIR", "LOAD_PAIR"), ("STORE_PAIR", "STORE_PAIR"), ("FP_DIV", "FP_DIV"),
        ("BRANCH_COND", "BRANCH_COND"), ("RETURN", "RETURN"), ("SYSTEM", "SYSTEM"),
        ("NCLASSES", "NCLASSES"), ("T_NONE", "T_NONE"), ("T_COND", "T_COND"),
        ("T_INDIRECT", "T_INDIRECT"), ("T_CALL", "T_CALL"), ("T_CALL_INDIRECT", "T_CALL_INDIRECT"),
        ("T_RETURN", "T_RETURN"), ("READS", "F_READS"), ("WRITES", "F_WRITES"),
        ("SERIAL", "F_SERIAL"), ("DRAIN", "F_DRAIN"), ("UNIQUE", "F_UNIQUE"),
        ("ALL_EVENTS", "ALL_EVENTS"), ("NOREG", "NOREG"),
        ("NREGS", "NREGS"),
    ]),
    ("hmk.cpu.timing", [
        ("N_INSNS", "N_INSNS"), ("N_BLOCKS", "N_BLOCKS"), ("N_COND", "N_COND"),
        ("N_COND_MISS", "N_COND_MISS"), ("N_IND", "N_IND"), ("N_IND_MISS", "N_IND_MISS"),
        ("N_RET", "N_RET"), ("N_RET_MISS", "N_RET_MISS"), ("N_EXTERNAL", "N_EXTERNAL"),
        ("N_COHERENCE", "N_COHERENCE"),
        ("len(COUNTERS)", "NCOUNTERS"), ("BASE", "BASE"), ("DEP", "DEP"), ("MEM", "MEM"),
        ("FRONT_FETCH", "FRONT_FETCH"), ("FRONT_MISPREDICT", "FRONT_MISPREDICT"),
        ("STALL_OF[DEP] - DEP", "STALL0"), ("R_LD", "R_LD"), ("R_ST", "R_ST"),
        ("R_MAC", "R_MAC"), ("R_BR", "R_BR"), ("R_FDIV", "R_FDIV"),
        ("STORE_TABLE", "STORE_TABLE"),
    ]),
    ("hmk.kernel.objects", [("KERNEL_BASE", "KERNEL_BASE")]),
    ("hmk.kernel.errors", [
        ("OK", "OK"), ("EPERM", "EPERM"), ("ENOENT", "ENOENT"), ("EINVAL", "EINVAL"),
        ("EBADTYPE", "EBADTYPE"), ("ENOMEM", "ENOMEM"), ("EEXIST", "EEXIST"),
    ]),
    ("hmk.kernel.cspace", [("NULL", "NULL_TYPE"), ("ENDPOINT", "ENDPOINT"), ("CALL", "CALL")]),
    ("hmk.kernel.ipc", [
        ("FREE", "FREE"), ("BUSY", "BUSY"), ("MAX_ARGS", "MAX_ARGS"), ("MAX_REPLY", "MAX_REPLY"),
        ("BUF_BYTES // WORD", "BUF_WORDS"),
    ]),
    ("hmk.kernel.vspace", [
        ("R_WRITE", "R_WRITE"), ("R_EXEC", "R_EXEC"), ("R_ANON", "R_ANON"), ("LINE", "LINE"),
    ]),
    ("hmk.kernel.paging", [
        ("RESOLVED", "RESOLVED"), ("NEED_MEMMGR", "NEED_MEMMGR"), ("NEED_PAGER", "NEED_PAGER"),
        ("SEGV", "SEGV"), ("ZERO_MAPPED", "ZERO_MAPPED"), ("ZERO_REPLACED", "ZERO_REPLACED"),
    ]),
    ("unicorn.unicorn_const", [
        ("UC_MEM_READ", "UC_MEM_READ"), ("UC_MEM_WRITE", "UC_MEM_WRITE"),
        ("UC_MEM_FETCH", "UC_MEM_FETCH"), ("UC_PROT_READ", "UC_PROT_READ"),
        ("UC_PROT_WRITE", "UC_PROT_WRITE"), ("UC_PROT_EXEC", "UC_PROT_EXEC"),
    ]),
)  # fmt: skip
RECORDS = (
    ("Event", "hmk.hw.events", "EVENT_DTYPE"),
    ("Block", "hmk.hw.events", "BLOCK_DTYPE"),
    ("Row", "hmk.cpu.classify", "BLOCKINFO_DTYPE"),
    ("Insn", "hmk.cpu.classify", "INSN_DTYPE"),
)
C_TYPES = {
    "u1": "uint8_t", "u2": "uint16_t", "u4": "uint32_t", "u8": "uint64_t",
    "i1": "int8_t", "i2": "int16_t", "i4": "int32_t", "i8": "int64_t",
}  # fmt: skip


def values() -> dict[str, tuple[str, str, int]]:
    """C name -> (module, expression, value)."""
    out = {}
    for module, names in CONSTANTS:
        space = vars(importlib.import_module(module))
        for expr, cname in names:
            if cname in out:
                raise SystemExit(f"genshared: {cname} is defined twice")
            out[cname] = (module, expr, int(eval(expr, {}, space)))  # noqa: S307  (our own table)
    return out


def _struct(name: str, dtype: np.dtype) -> list[str]:
    """A C struct with the dtype's fields at its offsets (explicit padding where it has gaps)."""
    lines, offset = [f"cdef struct {name}:"], 0
    for field in dtype.names:
        ftype, at = dtype.fields[field][:2]
        base, shape = ftype.subdtype if ftype.subdtype else (ftype, ())
        if at != offset:
            lines.append(f"    uint8_t _pad{offset}[{at - offset}]")
        count = "".join(f"[{n}]" for n in shape)
        lines.append(f"    {C_TYPES[base.str[1:]]} {field}{count}")
        offset = at + ftype.itemsize
    if dtype.itemsize != offset:
        lines.append(f"    uint8_t _pad{offset}[{dtype.itemsize - offset}]")
    return lines


def render_pxd() -> str:
    lines = [
        "# The record layouts and constants hmk's compiled twins share with its Python modules.",
        "# Generated by `python tools/genshared.py` from the modules named; do not edit.",
        "",
        "from libc.stdint cimport int8_t, int16_t, int32_t, int64_t",
        "from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t",
        "",
    ]
    for name, module, dtype in RECORDS:
        lines += [
            f"# {module}.{dtype}",
            *_struct(name, getattr(importlib.import_module(module), dtype)),
            "",
        ]
    small, wide, last = [], [], None
    for cname, (module, expr, value) in values().items():
        if -(1 << 31) <= value < 1 << 31:
            if module != last:
                small.append(f"    # {module}")
                last = module
            small.append(f"    {cname} = {value}" + (f"  # {expr}" if expr != cname else ""))
        else:
            wide.append((cname, module, expr, value))
    lines += ["cdef enum:", *small, ""]
    lines += ["cdef extern from *:", '    """']
    lines += [f"    #define HMK_{c} {v:#x}ULL  /* {m}: {e} */" for c, m, e, v in wide]
    lines += ['    """']
    lines += [f'    const uint64_t {c} "HMK_{c}"' for c, *_ in wide]
    return "\n".join(lines) + "\n"


def render_pyx() -> str:
    """A compiled module exposing shared.pxd's values (VALUES) and record layouts (LAYOUTS:
    name -> (size, {field: offset})), read by tests/test_shared.py."""
    names = list(values())
    lines = [
        "# cython: language_level=3",
        '"""shared.pxd as the compiled twins see it: generated by `python tools/genshared.py`."""',
        "",
        "from hmk._fast.shared cimport (",
    ]
    lines += [f"    {n}," for n in [*names, *(r[0] for r in RECORDS)]]
    lines += [")", "", "VALUES = {"]
    lines += [f'    "{n}": {n},' for n in names]
    lines += ["}", ""]
    for name, _, _ in RECORDS:
        lines += [f"cdef {name} _{name.lower()}"]
    lines += ["", "LAYOUTS = {"]
    for name, module, dtype in RECORDS:
        var = f"_{name.lower()}"
        fields = getattr(importlib.import_module(module), dtype).names
        lines += [f'    "{name}": (sizeof({name}), {{']
        lines += [f'        "{f}": <size_t>&{var}.{f} - <size_t>&{var},' for f in fields]
        lines += ["    }),"]
    lines += ["}"]
    return "\n".join(lines) + "\n"


BEGIN = "/* ---- generated by `python tools/genshared.py` from hmk: do not edit ---- */"
END = "/* ---- end of the generated block ---- */"


def render_header_block() -> str:
    """The call numbers, result codes, rights and flags of hmcalls.h, from hmk.kernel."""
    hm = importlib.import_module("hmk.kernel.hmcalls")
    errors = importlib.import_module("hmk.kernel.errors")
    cspace = importlib.import_module("hmk.kernel.cspace")
    lines = [BEGIN, f"#define HM_CALL_BASE {hm.HM_CALL_BASE:#x}", "enum {"]
    lines += [
        f"    HM_{name.upper()} = HM_CALL_BASE + {n:#04x}, /* {doc} */"
        for n, (name, doc) in sorted(hm.CALLS.items())
    ]
    lines += ["};", ""]
    lines += [
        f"#define HM_MAP_WINDOW {hm.MAP_WINDOW[0]:#x}UL",
        f"#define HM_MAP_WINDOW_END {hm.MAP_WINDOW[1]:#x}UL",
    ]
    lines += [
        f"#define HM_MAP_WRITABLE {hm.MAP_WRITABLE}",
        f"#define HM_MAP_EXECUTABLE {hm.MAP_EXECUTABLE}",
    ]
    lines += [f"#define HM_{r} {getattr(cspace, r)}" for r in ("READ", "WRITE", "GRANT", "CALL")]
    lines += ["/* a capability of another type than the call needs (the core kernel's EBADTYPE) */"]
    lines += [f"#define HM_EBADTYPE {-errors.EBADTYPE}"]
    lines += [f"#define HM_ACTIVATION_STACK {hm.ACTIVATION_STACK}", END]
    return "\n".join(lines)


def render_script_block() -> str:
    """The scripting channel's numbers (hmk.api, hmk.system.simulation) for the guest stub."""
    api = importlib.import_module("hmk.api")
    simulation = importlib.import_module("hmk.system.simulation")
    abi = importlib.import_module("hmk.linux.abi")
    lines = [BEGIN, f'#define SCRIPT_CHANNEL {simulation.SCRIPT_CHANNEL:#x}L /* "HMK\\0" */']
    lines += [f"#define TAG_HELLO {api.TAG_HELLO}", f"#define TAG_RESULT {api.TAG_RESULT}"]
    lines += [f"#define REQ_{kind.upper()} {n}" for kind, n in api.KINDS.items()]
    lines += [f"#define ENOSYS {abi.ENOSYS}", f"#define NR_EXIT_GROUP {api.NR_EXIT_GROUP}", END]
    return "\n".join(lines)


def _with_block(path: Path, block: str) -> str:
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"genshared: {path} has no generated block ({BEGIN!r})")
    head, rest = text.split(BEGIN, 1)
    return head + block + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    wanted = {
        PXD: render_pxd(),
        PYX: render_pyx(),
        HEADER: _with_block(HEADER, render_header_block()),
        SCRIPTHOST: _with_block(SCRIPTHOST, render_script_block()),
    }
    stale = [
        p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    if "--check" in argv:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python tools/genshared.py")
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

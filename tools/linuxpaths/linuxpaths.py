#!/usr/bin/env python3
"""Count the instructions an arm64 Linux kernel executes on common paths.

Two steps around a QEMU run (run.sh drives all of it):

  linuxpaths.py prepare --kernel DIR --build DIR
      writes DIR/kcount.cfg (function starts, return sites, vector entries, the
      cpu_switch_to load, ret_from_fork and the interrupt handler, for the kcount
      plugin) from the kernel's System.map and vmlinux, and DIR/initrd.cpio from
      the test programs built in DIR.

  linuxpaths.py parse --kernel DIR --run DIR --json FILE [--md FILE]
      reads the plugin's counts (DIR/kcount.out) and the guest console
      (DIR/console.txt), names every instruction address after the kernel's
      symbols (System.map, and DWARF inline chains through addr2line), and
      writes the per-path results.

  linuxpaths.py merge --run-json FILE --name NAME --into FILE
      adds the paths of a run of some tests (run.sh's ONLY) to a JSON that
      lacks them, leaving its own paths as they were.

Only the standard library and numpy are used.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import re
import struct
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KERNEL_BASE = 0xFFFF000000000000
TEXT_TYPES = set("tTwW")
ALIAS_PREFIXES = ("__efistub_", "__kvm_nvhe_", "__pi_")

# ---------------------------------------------------------------------------
# kernel symbols and image


def find_kernel_files(kdir: Path) -> tuple[Path, Path]:
    maps = sorted(kdir.rglob("System.map-*"))
    vmls = sorted(kdir.rglob("vmlinux-*"))
    maps = [m for m in maps if m.stat().st_size > 1000]  # the image package has a stub
    if not maps or not vmls:
        sys.exit(f"no System.map / vmlinux under {kdir}")
    return maps[0], vmls[0]


class Symbols:
    """Text symbols from System.map: address -> name, and the range they cover."""

    def __init__(self, path: Path):
        by_addr: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.named: dict[str, int] = {}
        self.all_named: dict[str, list[int]] = defaultdict(list)
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            addr, typ, name = int(parts[0], 16), parts[1], parts[2]
            self.named.setdefault(name, addr)
            self.all_named[name].append(addr)
            if typ in TEXT_TYPES and addr >= KERNEL_BASE:
                by_addr[addr].append((typ, name))
        self.etext = self.named["_etext"]
        self.text = self.named["_text"]
        self.addrs = sorted(by_addr)
        self.names = [self._pick(by_addr[a]) for a in self.addrs]

    @staticmethod
    def _pick(cands: list[tuple[str, str]]) -> str:
        def rank(c: tuple[str, str]) -> tuple[bool, bool, bool, str]:
            typ, name = c
            marker = name.endswith(("_start", "_end")) or name.startswith("__entry_")
            return (name.startswith(ALIAS_PREFIXES), marker, typ not in "TW", name)

        return sorted(cands, key=rank)[0][1]

    def lookup(self, pc: int) -> str | None:
        i = bisect.bisect_right(self.addrs, pc) - 1
        if i < 0:
            return None
        return self.names[i]

    def start_of(self, pc: int) -> int:
        return self.addrs[bisect.bisect_right(self.addrs, pc) - 1]


@dataclass
class Section:
    name: str
    addr: int
    offset: int
    size: int
    flags: int
    type: int


def elf_sections(path: Path) -> list[Section]:
    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:
            sys.exit(f"{path}: not a 64-bit ELF file")
        shoff = struct.unpack_from("<Q", ident, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ident, 0x3A)
        f.seek(shoff)
        raw = f.read(shentsize * shnum)
        secs = []
        for i in range(shnum):
            name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", raw, i * shentsize)
            secs.append([name, typ, flags, addr, off, size])
        strtab = secs[shstrndx]
        f.seek(strtab[4])
        names = f.read(strtab[5])
    out = []
    for name, typ, flags, addr, off, size in secs:
        n = names[name : names.index(b"\0", name)].decode()
        out.append(Section(n, addr, off, size, flags, typ))
    return out


class Image:
    """Read the kernel's text as linked (vmlinux)."""

    SHF_EXECINSTR = 4
    SHT_PROGBITS = 1

    def __init__(self, path: Path):
        self.path = path
        self.sections = [
            s
            for s in elf_sections(path)
            if s.type == self.SHT_PROGBITS and s.flags & self.SHF_EXECINSTR and s.addr
        ]

    def words(self, sec: Section) -> np.ndarray:
        with open(self.path, "rb") as f:
            f.seek(sec.offset)
            data = f.read(sec.size - sec.size % 4)
        return np.frombuffer(data, dtype="<u4")

    def read(self, addr: int, size: int) -> bytes:
        for s in self.sections:
            if s.addr <= addr and addr + size <= s.addr + s.size:
                with open(self.path, "rb") as f:
                    f.seek(s.offset + addr - s.addr)
                    return f.read(size)
        raise KeyError(hex(addr))

    def word(self, addr: int) -> int:
        return struct.unpack("<I", self.read(addr, 4))[0]


# ---------------------------------------------------------------------------
# prepare


def write_cfg(kdir: Path, out: Path) -> None:
    smap, vml = find_kernel_files(kdir)
    syms = Symbols(smap)
    img = Image(vml)
    lines = [f"F {a:x}" for a in syms.addrs]
    nret = 0
    for sec in img.sections:
        w = img.words(sec)
        calls = np.nonzero(((w & 0xFC000000) == 0x94000000) | ((w & 0xFFFFFC1F) == 0xD63F0000))[0]
        for i in calls.tolist():
            lines.append(f"R {sec.addr + 4 * i + 4:x}")
        nret += len(calls)
    # exception vectors for exceptions taken from EL1 (current EL, SP_ELx): the
    # kernel's table and the branch-history-hardened copies
    tables = [syms.named["vectors"]]
    hard = syms.named.get("__bp_harden_el1_vectors")
    if hard:
        end = syms.named["__entry_text_end"]
        tables += list(range(hard, end - 0x800 + 1, 0x800))  # whole 2 KiB tables only
    for t in tables:
        for off in (0x200, 0x280, 0x300, 0x380):
            lines.append(f"V {t + off:x}")
    sw = syms.named["cpu_switch_to"]
    for k in range(64):
        if (img.word(sw + 4 * k) & 0xFFC00000) == 0xA8C00000:  # ldp xN, xM, [x8], #16
            lines.append(f"S {sw + 4 * k:x}")
            break
    else:
        sys.exit("cpu_switch_to: no post-index pair load found")
    lines.append(f"N {syms.named['ret_from_fork']:x}")
    for a in syms.all_named.get("gic_handle_irq", []):
        lines.append(f"Q {a:x}")
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(syms.addrs)} functions, {nret} return sites, {len(tables)} vector tables")


_INODES = itertools.count(1)


def cpio_entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> bytes:
    n = name.encode() + b"\0"
    fields = (next(_INODES), mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(n), 0)
    b = ("070701" + "".join(f"{v:08x}" for v in fields)).encode() + n
    b += b"\0" * (-len(b) % 4)
    b += data + b"\0" * (-len(data) % 4)
    return b


def write_initrd(build: Path, out: Path) -> None:
    """A newc cpio archive: /init, the exec targets and /dev/console."""
    blob = b""
    for d in ("dev", "proc", "sys"):
        blob += cpio_entry(d, 0o040755)
    blob += cpio_entry("dev/console", 0o020600, rdev=(5, 1))
    for name in ("init", "tiny", "tiny_m", "hello_m"):
        blob += cpio_entry(name, 0o100755, (build / name).read_bytes())
    blob += cpio_entry("TRAILER!!!", 0)
    out.write_bytes(blob)
    print(f"{out}: {len(blob)} bytes")


# ---------------------------------------------------------------------------
# the plugin's output


@dataclass
class Block:
    windows: int = 0
    kernel: int = 0
    user: int = 0
    pcs: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    fns: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Dump:
    clean: Block
    dirty: Block
    windows: list[tuple[int, int, int]]  # kernel, user, irqs of each window


def read_kcount(path: Path, keep: set[int]) -> tuple[dict[int, Dump], dict[int, int], dict]:
    dumps: dict[int, Dump] = {}
    words: dict[int, int] = {}
    extra: dict[str, int] = {}
    pending: list[tuple[int, int, int]] = []
    blocks: list[Block] = []
    cur: Block | None = None
    with open(path) as f:
        for line in f:
            tag = line[0]
            if tag == "P":
                if cur is not None:
                    _, pc, n, mem, sub = line.split()
                    cur.pcs[int(pc, 16)] = (int(n), int(mem), int(sub))
            elif tag == "F":
                if cur is not None:
                    _, fn, incl, calls = line.split()
                    cur.fns[int(fn)] = (int(incl), int(calls))
            elif tag == "W":
                _, _, k, u, irq = line.split()
                pending.append((int(k), int(u), int(irq)))
            elif tag == "D":
                _, idx, _, nwin, k, u = line.split()
                b = Block(int(nwin), int(k), int(u))
                blocks.append(b)
                cur = b if int(idx) in keep else None
            elif tag == "E":
                idx = int(line.split()[1])
                if idx in keep:
                    dumps[idx] = Dump(blocks[0], blocks[1], pending)
                blocks, pending, cur = [], [], None
            elif tag == "I":
                _, pc, w = line.split()
                words[int(pc, 16)] = int(w, 16)
            elif tag == "X":
                _, name, v = line.split()
                extra[name] = int(v)
    return dumps, words, extra


def read_console(path: Path) -> tuple[dict[int, tuple[int, str, int]], dict]:
    dumps = {}
    info: dict = {"vulnerabilities": {}, "cpu_features": "", "maps": [], "warnings": []}
    text = path.read_text(errors="replace").replace("\r", "")
    in_info = False
    info_lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("@DUMP "):
            _, seq, rnd, test, n = line.split()
            dumps[int(seq)] = (int(rnd), test, int(n))
        elif line.startswith("@INFO begin"):
            in_info = True
        elif line.startswith("@INFO end"):
            in_info = False
        elif line.startswith(("@WARN", "@FAIL")):
            info["warnings"].append(line)
        elif in_info:
            info_lines.append(line)
    for line in info_lines:
        if line.startswith("Linux version"):
            info["version"] = line.strip()
        elif line.startswith("vulnerability "):
            k, _, v = line[len("vulnerability ") :].partition(": ")
            info["vulnerabilities"][k] = v.strip()
        elif line.startswith("Features"):
            info["cpu_features"] = line.split(":", 1)[1].strip()
        elif line.startswith("CPU part"):
            info["cpu_part"] = line.split(":", 1)[1].strip()
        elif re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            info["maps"].append(line.strip())
        elif "rdinit=" in line and "console=" in line:
            info["cmdline"] = line.strip()
        elif re.search(r"\[(always|madvise|never)\]", line):
            info["thp"] = line.strip()
    boot = [ln for ln in text.splitlines() if "page table isolation" in ln.lower()]
    info["kpti_boot_lines"] = [re.sub(r"^\[[^]]*\]\s*", "", b) for b in boot]
    return dumps, info


# ---------------------------------------------------------------------------
# instruction classes


def insn_class(w: int) -> str:
    """'load', 'store', 'atomic' (both), 'prefetch', 'dczva' or '' for an A64 word."""
    if (w & 0xFFFFFFE0) == 0xD50B7420:
        return "dczva"
    if (w & 0x0A000000) != 0x08000000:
        return ""
    if (w & 0x3B000000) == 0x18000000:  # load literal
        return "prefetch" if (w >> 30) == 3 else "load"
    if (w & 0x3F000000) == 0x08000000:  # exclusive, acquire/release, compare-and-swap
        if (w >> 21) & 1 and (w >> 23) & 1:
            return "atomic"
        return "load" if (w >> 22) & 1 else "store"
    if (w & 0xBF800000) in (0x0C000000, 0x0C800000, 0x0D000000, 0x0D800000):  # SIMD structs
        return "load" if (w >> 22) & 1 else "store"
    if (w & 0x38000000) == 0x28000000:  # pairs
        return "load" if (w >> 22) & 1 else "store"
    if (w & 0x38000000) == 0x38000000:  # single register
        v = (w >> 26) & 1
        opc = (w >> 22) & 3
        size = w >> 30
        if not (w >> 24) & 1 and (w >> 21) & 1 and ((w >> 10) & 3) == 0 and not v:
            return "atomic"  # LDADD, SWP, ... (ST* aliases too)
        if v:
            return "load" if opc & 1 else "store"
        if size == 3 and opc == 2:
            return "prefetch"
        return "store" if opc == 0 else "load"
    return ""


# ---------------------------------------------------------------------------
# naming addresses


class Namer:
    def __init__(self, kdir: Path, cache: Path):
        smap, self.vmlinux = find_kernel_files(kdir)
        self.syms = Symbols(smap)
        self.img = Image(self.vmlinux)
        self.cache = cache
        self.chains: dict[int, list[str]] = {}
        self.alias: dict[int, int] = {}  # page of an alias -> page in the image

    def resolve_aliases(self, words: dict[int, int]) -> None:
        """Kernel addresses outside the image (the kpti trampoline's fixmap alias) are
        matched to the image's trampoline pages by their instruction words."""
        start = self.syms.named.get("__entry_tramp_text_start")
        end = self.syms.named.get("__entry_tramp_text_end")
        if not start or not end:
            return
        outside = [pc for pc in words if not self.syms.text <= pc < self.syms.etext]
        for page in sorted({pc & ~0xFFF for pc in outside}):
            votes: dict[int, int] = defaultdict(int)
            for pc in (p for p in outside if p & ~0xFFF == page):
                for ipage in range(start, end, 0x1000):
                    if self.img.word(ipage + (pc & 0xFFF)) == words[pc]:
                        votes[ipage] += 1
            if votes:
                self.alias[page] = max(votes, key=votes.get)

    def image_pc(self, pc: int) -> int | None:
        if self.syms.text <= pc < self.syms.etext:
            return pc
        ipage = self.alias.get(pc & ~0xFFF)
        return None if ipage is None else ipage + (pc & 0xFFF)

    def function(self, pc: int) -> str:
        ipc = self.image_pc(pc)
        if ipc is None:
            return f"[kernel {pc & ~0xFFF:#x}]"
        name = self.syms.lookup(ipc) or "?"
        return name if ipc == pc else f"{name} (trampoline alias)"

    def load_chains(self, pcs: set[int]) -> None:
        """Inline chains (innermost first) of each address, from addr2line."""
        known: dict[int, list[str]] = {}
        if self.cache.exists():
            for line in self.cache.read_text().splitlines():
                a, _, rest = line.partition(" ")
                known[int(a, 16)] = rest.split(" ") if rest else []
        want = sorted({self.image_pc(p) for p in pcs} - {None} - set(known))
        if want:
            res = subprocess.run(
                ["aarch64-linux-gnu-addr2line", "-e", str(self.vmlinux), "-f", "-i", "-a"],
                input="\n".join(f"{a:#x}" for a in want),
                capture_output=True,
                text=True,
                check=True,
            )
            cur = None
            for line in res.stdout.splitlines():
                if line.startswith("0x"):
                    cur = int(line, 16)
                    known[cur] = []
                elif cur is not None and ":" not in line and line != "??":
                    known[cur].append(line.strip())
            with open(self.cache, "w") as f:
                for a in sorted(known):
                    f.write(f"{a:x} {' '.join(known[a])}\n")
        for p in pcs:
            ipc = self.image_pc(p)
            chain = known.get(ipc, []) if ipc is not None else []
            self.chains[p] = chain or [self.function(p)]


# ---------------------------------------------------------------------------
# results


@dataclass
class Test:
    name: str
    n1: int
    n2: int
    rounds: dict[int, tuple[Dump, Dump]] = field(default_factory=dict)


def per_op(test: Test, namer: Namer, words: dict[int, int], fnames: list[str]) -> dict:
    """Counts per operation: difference between the N2 and N1 runs over windows
    without an interrupt, averaged over rounds."""
    rounds = []
    for d1, d2 in test.rounds.values():
        dw = d2.clean.windows - d1.clean.windows
        if dw <= 0:
            continue
        r: dict = {"dw": dw}
        r["total"] = (d2.clean.kernel - d1.clean.kernel) / dw
        r["user"] = (d2.clean.user - d1.clean.user) / dw
        # interrupts: what the interrupted windows cost on average over all windows
        allw = d1.windows + d2.windows
        cleanw = [w[0] for w in allw if not w[2]]
        extra = sum(w[0] for w in allw) / len(allw) - sum(cleanw) / max(len(cleanw), 1)
        r["with_interrupts"] = r["total"] + extra
        irq_windows = sum(1 for w in d2.windows if w[2]) + sum(1 for w in d1.windows if w[2])
        r["interrupted_windows"] = irq_windows / (test.n1 + test.n2)
        clean2 = sorted(w[0] for w in d2.windows if not w[2])
        r["window_min"], r["window_median"], r["window_max"] = (
            clean2[0],
            clean2[len(clean2) // 2],
            clean2[-1],
        )
        pcs: dict[int, list[float]] = {}
        for pc in set(d1.clean.pcs) | set(d2.clean.pcs):
            a = d1.clean.pcs.get(pc, (0, 0, 0))
            b = d2.clean.pcs.get(pc, (0, 0, 0))
            pcs[pc] = [(b[i] - a[i]) / dw for i in range(3)]
        r["pcs"] = pcs
        fns: dict[int, list[float]] = {}
        for fn in set(d1.clean.fns) | set(d2.clean.fns):
            a = d1.clean.fns.get(fn, (0, 0))
            b = d2.clean.fns.get(fn, (0, 0))
            fns[fn] = [(b[i] - a[i]) / dw for i in range(2)]
        r["fns"] = fns
        rounds.append(r)
    if not rounds:
        return {"error": "no round had more clean windows at N2 than at N1"}
    k = len(rounds)

    def mean(key: str) -> float:
        return sum(r[key] for r in rounds) / k

    pcs: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in rounds:
        for pc, v in r["pcs"].items():
            for i in range(3):
                pcs[pc][i] += v[i] / k
    fns: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rounds:
        for fn, v in r["fns"].items():
            for i in range(2):
                fns[fn][i] += v[i] / k
    total = mean("total")
    namer.load_chains(set(pcs))

    classes = defaultdict(float)
    accesses = 0.0
    self_by_fn: dict[str, float] = defaultdict(float)
    self_by_src: dict[str, float] = defaultdict(float)
    src_incl: dict[str, float] = defaultdict(float)
    for pc, (n, mem, sub) in pcs.items():
        c = insn_class(words.get(pc, 0))
        if c == "atomic":
            classes["load"] += n
            classes["store"] += n
            classes["atomic"] += n
        elif c:
            classes[c] += n
        accesses += mem
        self_by_fn[namer.function(pc)] += n
        chain = namer.chains[pc]
        self_by_src[chain[0]] += n
        for f in dict.fromkeys(chain):
            src_incl[f] += n + sub

    def top(d: dict[str, float], share: float) -> list[dict]:
        items = sorted(d.items(), key=lambda kv: -kv[1])
        return [
            {"name": name, "instructions": round(v, 1), "share": round(v / total, 4)}
            for name, v in items
            if total and v / total >= share
        ]

    incl = {}
    for fn, (ins, calls) in fns.items():
        name = fnames[fn] if fn < len(fnames) else f"#{fn}"
        if name in incl:  # same name at two addresses
            incl[name][0] += ins
            incl[name][1] += calls
        else:
            incl[name] = [ins, calls]
    inclusive = [
        {
            "name": name,
            "instructions": round(v[0], 1),
            "calls": round(v[1], 3),
            "share": round(v[0] / total, 4),
        }
        for name, v in sorted(incl.items(), key=lambda kv: -kv[1][0])
        if total and v[0] / total >= 0.02 and v[1] > 0
    ]
    totals = [r["total"] for r in rounds]
    return {
        "instructions": round(total, 1),
        "instructions_rounds": [round(t, 1) for t in totals],
        "instructions_with_interrupts": round(mean("with_interrupts"), 1),
        "interrupted_window_fraction": round(mean("interrupted_windows"), 4),
        "window_min_median_max": [
            rounds[0]["window_min"],
            rounds[0]["window_median"],
            rounds[0]["window_max"],
        ],
        "user_instructions": round(mean("user"), 1),
        "load_instructions": round(classes["load"], 1),
        "store_instructions": round(classes["store"], 1),
        "atomic_instructions": round(classes["atomic"], 1),
        "memory_accesses": round(accesses, 1),
        "dc_zva": round(classes["dczva"], 2) or 0.0,  # no -0.0 from the difference
        "clean_windows_used": [r["dw"] for r in rounds],
        "top_functions_self": top(self_by_fn, 0.02),
        "top_source_functions_self": top(self_by_src, 0.02),
        "inclusive": inclusive,
        "_src_incl": src_incl,
        "_pcs": pcs,
        "_incl": {k: v[0] for k, v in incl.items()},
        "_calls": {k: v[1] for k, v in incl.items()},
    }


def collect_tests(console_dumps: dict[int, tuple[int, str, int]]) -> dict[str, Test]:
    tests: dict[str, Test] = {}
    runs: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for seq, (rnd, name, n) in sorted(console_dumps.items()):
        if name != "warmup":
            runs[(name, rnd)].append((n, seq))
    for (name, rnd), lst in runs.items():
        if len(lst) != 2:
            continue
        (n1, s1), (n2, s2) = sorted(lst)
        tests.setdefault(name, Test(name, n1, n2)).rounds[rnd] = (s1, s2)
    return tests


def tick_cost(test: Test, namer: Namer) -> dict:
    """The user-mode spin: every kernel instruction in its windows is interrupt work."""
    kern = irqs = user = 0
    by_fn: dict[str, float] = defaultdict(float)
    for d1, d2 in test.rounds.values():
        for d in (d1, d2):
            kern += sum(w[0] for w in d.windows)
            user += sum(w[1] for w in d.windows)
            irqs += sum(w[2] for w in d.windows)
            for pc, (n, _, _) in d.dirty.pcs.items():
                by_fn[namer.function(pc)] += n
    if not irqs:
        return {"error": "no interrupt during the spin"}
    per = kern / irqs
    top = sorted(by_fn.items(), key=lambda kv: -kv[1])
    return {
        "kernel_instructions_per_interrupt": round(per, 1),
        "interrupts": irqs,
        "user_instructions_per_interrupt": round(user / irqs),
        "top_functions_self": [
            {"name": n, "instructions": round(v / irqs, 1), "share": round(v / kern, 4)}
            for n, v in top
            if v / kern >= 0.02
        ],
    }


# The paths of the report: key, test, what one operation is.
PATHS = [
    ("null_syscall", "null", "getppid() through svc: entry, the call, exit"),
    ("anon_read_fault", "rdfault", "read of an untouched page of a private anonymous mapping"),
    ("anon_write_fault", "wrfault", "first write to a page of a private anonymous mapping"),
    (
        "anon_write_fault_first_in_vma",
        "wrfault_vma",
        "first write to a fresh anonymous VMA (also prepares its anon_vma and a PTE table)",
    ),
    (
        "context_switch_roundtrip",
        "ctx",
        "two processes pass a byte over two pipes: 2 writes, 2 reads, 2 switches",
    ),
    ("pipe_roundtrip", "pipe", "write(1 byte) + read(1 byte) on one pipe in one process"),
    ("fork_exit_wait", "fork", "clone(SIGCHLD), child exit_group(0) at once, parent wait4"),
    ("fork_exit_wait_256_untouched_vmas", "fork_vmas256_untouched", "fork with 256 extra VMAs"),
    (
        "fork_exit_wait_256_touched_vmas",
        "fork_vmas256_touched",
        "fork with 256 extra VMAs of one written page each",
    ),
    ("fork_exit_wait_1024_pages", "fork_pages1024", "fork with 1024 extra written pages"),
    ("fork_exit_wait_4096_pages", "fork_pages4096", "fork with 4096 extra written pages"),
    (
        "fork_exit_wait_64_sparse_pages",
        "fork_sparse64",
        "fork with 64 extra written pages, one per PTE table",
    ),
    ("thread_create_exit_join", "thread", "clone(CLONE_VM|CLONE_THREAD|...), exit, futex join"),
    ("pthread_create_join", "pthread", "glibc pthread_create + pthread_join"),
    ("execve_tiny_static", "exec_tiny", "execve of a 1.4 KB static binary, to its first insn"),
    ("execve_glibc_static", "exec_glibc", "execve of a 700 KB static glibc binary, to its entry"),
    ("fork_execve_exit_wait", "spawn_tiny", "fork + execve(tiny) + exit + wait, all of it"),
    ("mmap_munmap", "mmap", "mmap(64 KiB anonymous) + munmap, untouched"),
    ("mmap_touch_munmap", "mmap_touch", "mmap(64 KiB anonymous) + write one byte + munmap"),
    ("open_close_2_components", "open2", "openat(O_RDONLY) of /t/f1 (2 components, tmpfs) + close"),
    ("open_close_8_components", "open8", "openat(O_RDONLY) of /t/a/b/c/d/e/f/f8 + close"),
    ("stat_2_components", "stat2", "newfstatat of /t/f1 (2 components, tmpfs)"),
    ("stat_8_components", "stat8", "newfstatat of /t/a/b/c/d/e/f/f8"),
    ("fstat", "fstat", "fstat of an open tmpfs file"),
    ("pread_1_byte", "pread1", "pread64 of 1 byte at offset 0 of a 16-page tmpfs file"),
    ("pread_4_kib", "pread4k", "pread64 of 4 KiB at offset 0 of the same file"),
    ("pread_64_kib", "pread64k", "pread64 of 64 KiB (all 16 pages) of the same file"),
    ("pwrite_1_byte", "pwrite1", "pwrite64 of 1 byte at offset 0 (the page exists)"),
    ("pwrite_4_kib", "pwrite4k", "pwrite64 of 4 KiB at offset 0 (the page exists)"),
    ("pwrite_64_kib", "pwrite64k", "pwrite64 of 64 KiB over the file's 16 pages"),
    (
        "pwrite_1_byte_new_page",
        "pwrite_newpage",
        "pwrite64 of 1 byte at the start of a page the tmpfs file does not have yet",
    ),
    ("pipe_roundtrip_4_kib", "pipe4k", "write(4 KiB) + read(4 KiB) on one pipe in one process"),
    ("pipe_create_close", "pipe_make", "pipe2 + close of both ends"),
    ("dup_close", "dup_close", "dup + close of the new descriptor (the file stays open)"),
    ("create_close_unlink", "creat_unlink", "openat(O_CREAT|O_EXCL) + close + unlinkat, tmpfs"),
    ("getdents_empty_dir", "getdents0", "lseek(0) + getdents64 of a directory of no files"),
    ("getdents_64_files", "getdents64", "lseek(0) + getdents64 of a directory of 64 files"),
    ("mprotect_whole_vma", "mprotect", "mprotect of an untouched 16-page VMA, read-only and back"),
    (
        "mprotect_split_merge",
        "mprotect_split",
        "mprotect of one page inside an untouched 16-page VMA to read-only and back",
    ),
    ("brk_grow_shrink", "brk", "brk up by a page and back, untouched"),
    ("mremap_grow_shrink", "mremap", "mremap of an untouched 16-page VMA to 32 pages and back"),
    ("mmap_touch16_munmap", "mmap_touch16", "mmap(64 KiB anonymous) + write all 16 pages + munmap"),
    ("futex_wake_nobody", "futex_wake", "FUTEX_WAKE_PRIVATE with no waiter"),
    (
        "signal_self_handled",
        "signal",
        "kill(self, SIGUSR1) with a handler: send, the frame, the handler, rt_sigreturn",
    ),
    ("rt_sigaction", "sigaction", "rt_sigaction setting an action and returning the old one"),
    ("rt_sigprocmask", "sigprocmask", "rt_sigprocmask(SIG_SETMASK) returning the old mask"),
    ("setresuid_unchanged", "setresuid", "setresuid(-1, -1, -1): new credentials committed"),
    ("console_write_1_byte", "console", "write of one newline to /dev/console (ttyAMA0, PL011)"),
    # the sockets' paths (the loopback up; measured in a run of their own: run.sh's ONLY)
    (
        "unix_stream_roundtrip",
        "sk_unix_rt",
        "sendto + recvfrom of 1 byte on an AF_UNIX stream pair",
    ),
    (
        "unix_stream_roundtrip_4_kib",
        "sk_unix4k_rt",
        "sendto + recvfrom of 4 KiB on an AF_UNIX stream pair",
    ),
    ("unix_dgram_roundtrip", "sk_unix_dgram_rt", "sendto + recvfrom of 1 byte, AF_UNIX dgram pair"),
    ("tcp_roundtrip", "sk_tcp_rt", "sendto + recvfrom of 1 byte over a loopback TCP connection"),
    (
        "udp_roundtrip",
        "sk_udp_rt",
        "send (connected) + recvfrom of a 1-byte UDP datagram, loopback",
    ),
    ("unix_socket_close", "sk_unix_make", "socket(AF_UNIX, SOCK_STREAM) + close"),
    ("tcp_socket_close", "sk_tcp_make", "socket(AF_INET, SOCK_STREAM) + close"),
    ("udp_socket_close", "sk_udp_make", "socket(AF_INET, SOCK_DGRAM) + close"),
    (
        "unix_connect_accept_close",
        "sk_unix_conn",
        "socket + connect to an abstract AF_UNIX listener + accept + close of both ends",
    ),
    (
        "tcp_connect_accept_close",
        "sk_tcp_conn",
        "socket + connect to a loopback TCP listener + accept + close of both ends",
    ),
    ("tcp_bind_listen_close", "sk_bind_listen", "socket + bind(127.0.0.1:0) + listen + close"),
    ("socket_options", "sk_opt", "setsockopt + getsockopt (SO_RCVBUF) + getsockname, TCP"),
    (
        "unix_scm_rights_roundtrip",
        "sk_scm",
        "sendmsg of 1 byte and a descriptor + recvmsg + close of the one received",
    ),
]

# Parts of a path, from inclusive counts: I(f) is f's inclusive count (the shadow
# stack's for a function that has its own code, else the sum over the addresses
# whose inline chain holds f, callees included), T the path's total.
COMPONENTS = {
    "null": [
        ("getppid itself", "I(__arm64_sys_getppid)"),
        (
            "dispatch (el0_sync_handler .. invoke_syscall)",
            "I(el0_sync_handler) - I(__arm64_sys_getppid)",
        ),
        ("exit (ret_to_user, trampoline exit)", "I(ret_to_user) + I(tramp_exit_native)"),
        (
            "entry (vectors, trampoline, kernel_entry)",
            "T - I(el0_sync_handler) - I(ret_to_user) - I(tramp_exit_native)",
        ),
    ],
    "rdfault": [
        ("exception entry/exit", "T - I(do_mem_abort)"),
        (
            "do_mem_abort .. do_page_fault (own)",
            "I(do_mem_abort) - I(find_vma) - I(handle_mm_fault)",
        ),
        ("find_vma", "I(find_vma)"),
        ("handle_mm_fault", "I(handle_mm_fault)"),
        ("  of which do_anonymous_page (inlined)", "I(do_anonymous_page)"),
        ("  of which memcg event count", "I(count_memcg_event_mm.part.0)"),
    ],
    "wrfault": [
        ("exception entry/exit", "T - I(do_mem_abort)"),
        (
            "do_mem_abort .. do_page_fault (own)",
            "I(do_mem_abort) - I(find_vma) - I(handle_mm_fault)",
        ),
        ("find_vma", "I(find_vma)"),
        ("handle_mm_fault", "I(handle_mm_fault)"),
        (
            "  page allocation without clearing (alloc_pages_vma)",
            "I(alloc_pages_vma) - I(clear_page)",
        ),
        ("  clear_page", "I(clear_page)"),
        (
            "  __alloc_pages_nodemask (the buddy allocator, with the clearing)",
            "I(__alloc_pages_nodemask)",
        ),
        (
            "  kernel_init_free_pages (the clearing, with its clear_page)",
            "I(kernel_init_free_pages)",
        ),
        ("  memcg charge (mem_cgroup_charge)", "I(mem_cgroup_charge)"),
        (
            "  LRU add (lru_cache_add_inactive_or_unevictable)",
            "I(lru_cache_add_inactive_or_unevictable)",
        ),
        ("  rmap (page_add_new_anon_rmap)", "I(page_add_new_anon_rmap)"),
        ("  PTE set (set_pte_at, inlined)", "I(set_pte_at)"),
        ("  PTE table allocation (__pte_alloc, 1 per 512 faults)", "I(__pte_alloc)"),
        ("  memcg event count", "I(count_memcg_event_mm.part.0)"),
        (
            "  rest of do_anonymous_page and handle_mm_fault",
            "I(handle_mm_fault) - I(alloc_pages_vma) - I(mem_cgroup_charge)"
            " - I(lru_cache_add_inactive_or_unevictable) - I(page_add_new_anon_rmap)"
            " - I(set_pte_at) - I(__pte_alloc) - I(count_memcg_event_mm.part.0)",
        ),
    ],
    "wrfault_vma": [
        ("anon_vma_prepare (__anon_vma_prepare)", "I(__anon_vma_prepare)"),
        ("PTE table allocation (__pte_alloc)", "I(__pte_alloc)"),
        ("page allocation without clearing", "I(alloc_pages_vma) - I(clear_page)"),
        ("clear_page", "I(clear_page)"),
    ],
    "ctx": [
        ("schedule (both halves of 2 switches)", "I(schedule)"),
        ("  pick_next_task_fair", "I(pick_next_task_fair)"),
        ("  dequeue_task_fair", "I(dequeue_task_fair)"),
        ("  put_prev / set_next (set_next_entity)", "I(set_next_entity)"),
        ("  switch_mm: check_and_switch_context (ASID)", "I(check_and_switch_context)"),
        ("  __switch_to (fpsimd, tls, ...)", "I(__switch_to)"),
        ("    fpsimd_thread_switch", "I(fpsimd_thread_switch)"),
        ("  cpu_switch_to", "I(cpu_switch_to)"),
        ("  finish_task_switch", "I(finish_task_switch)"),
        ("  psi_task_switch", "I(psi_task_switch)"),
        ("wake-up: try_to_wake_up", "I(try_to_wake_up)"),
        ("  enqueue_task_fair", "I(enqueue_task_fair)"),
        ("  check_preempt_wakeup", "I(check_preempt_wakeup)"),
        ("update_curr (all callers)", "I(update_curr)"),
        ("rseq update on return to user", "I(__rseq_handle_notify_resume)"),
        ("pipe_read without schedule", "I(pipe_read) - E(pipe_read,schedule)"),
        ("pipe_write without wake-up", "I(pipe_write) - E(pipe_write,__wake_up_sync_key)"),
        (
            "vfs layers above pipe_read/pipe_write",
            "I(ksys_read) + I(ksys_write) - I(pipe_read) - I(pipe_write)",
        ),
    ],
    "pipe": [
        ("pipe_read", "I(pipe_read)"),
        ("  copy_page_to_iter", "I(copy_page_to_iter)"),
        ("pipe_write", "I(pipe_write)"),
        ("  copy_page_from_iter", "I(copy_page_from_iter)"),
        ("  __wake_up_sync_key (the reader woken)", "I(__wake_up_sync_key)"),
        ("read", "I(__arm64_sys_read)"),
        ("  ksys_read", "I(ksys_read)"),
        ("vfs layers above them", "I(ksys_read) + I(ksys_write) - I(pipe_read) - I(pipe_write)"),
        ("entry/exit and dispatch", "T - I(ksys_read) - I(ksys_write)"),
    ],
    "fork": [
        ("clone: copy_process", "I(copy_process)"),
        ("  dup_mm", "I(dup_mm)"),
        ("    copy_page_range", "I(copy_page_range)"),
        ("    anon_vma_fork", "I(anon_vma_fork)"),
        ("  dup_task_struct", "I(dup_task_struct)"),
        ("clone: wake_up_new_task", "I(wake_up_new_task)"),
        ("child exit: do_exit", "I(do_exit)"),
        ("  exit_mmap", "I(exit_mmap)"),
        ("    unmap_vmas", "I(unmap_vmas)"),
        ("    free_pgtables", "I(free_pgtables)"),
        ("wait4", "I(__arm64_sys_wait4)"),
        ("page faults (child text fault-around, rseq COW)", "I(do_mem_abort)"),
        ("schedule", "I(schedule)"),
        ("  copy_process: dup_fd (the descriptor table)", "I(dup_fd)"),
        ("  copy_process: alloc_pid", "I(alloc_pid)"),
        ("  copy_process: copy_creds", "I(copy_creds)"),
        ("  copy_process: copy_signal", "I(copy_signal)"),
        ("  copy_process: sched_fork", "I(sched_fork)"),
        ("  copy_process: copy_thread", "I(copy_thread)"),
        ("  do_exit: exit_files", "I(exit_files)"),
        ("  do_exit: exit_notify", "I(exit_notify)"),
        ("  do_exit: exit_signals", "I(exit_signals)"),
        ("  do_exit: exit_mm", "I(exit_mm)"),
        ("  do_exit: do_task_dead (the last switch away)", "I(do_task_dead)"),
        ("  wait4: do_wait", "I(do_wait)"),
        ("  wait4: do_wait's schedule", "E(do_wait,schedule)"),
        ("  wait4: wait_consider_task", "I(wait_consider_task)"),
        ("  wait4: release_task", "I(release_task)"),
    ],
    "thread": [
        ("copy_process", "I(copy_process)"),
        ("do_exit", "I(do_exit)"),
        ("futex", "I(__arm64_sys_futex)"),
        ("schedule", "I(schedule)"),
        ("  copy_process: alloc_pid", "I(alloc_pid)"),
        ("  copy_process: dup_task_struct", "I(dup_task_struct)"),
        ("  copy_process: sched_fork", "I(sched_fork)"),
        ("  copy_process: copy_thread", "I(copy_thread)"),
        ("  copy_process: copy_creds", "I(copy_creds)"),
        ("  do_exit: exit_mm_release", "I(exit_mm_release)"),
        ("  do_exit: exit_notify", "I(exit_notify)"),
        ("  do_exit: do_task_dead (the last switch away)", "I(do_task_dead)"),
        ("  futex_wait_setup (key, hash, the word read)", "I(futex_wait_setup)"),
        ("  futex_wait_queue_me", "I(futex_wait_queue_me)"),
        ("    its schedule", "E(futex_wait_queue_me,schedule)"),
        ("  futex_wake (the exiting thread's CLEARTID)", "I(futex_wake)"),
        ("    wake_up_q", "I(wake_up_q)"),
        ("  do_exit: release_task", "I(release_task)"),
        ("    free_pid", "I(free_pid)"),
    ],
    "exec_tiny": [
        ("do_execveat_common", "I(do_execveat_common)"),
        ("  bprm_execve", "I(bprm_execve)"),
        ("    load_elf_binary", "I(load_elf_binary)"),
        ("      begin_new_exec (old mm dropped: exit_mmap)", "I(begin_new_exec)"),
        ("      exit_mmap", "I(exit_mmap)"),
        ("  copy_strings", "I(copy_strings.isra.0)"),
        ("page faults", "I(do_mem_abort)"),
        ("  getname (the path)", "I(getname)"),
        ("  alloc_bprm", "I(alloc_bprm)"),
        ("  do_open_execat", "I(do_open_execat)"),
        ("  security_bprm_check (TOMOYO)", "I(security_bprm_check)"),
        ("  kernel_read (the headers)", "I(kernel_read)"),
        ("  setup_arg_pages", "I(setup_arg_pages)"),
        ("  elf_map (the segments mapped)", "I(elf_map)"),
        ("  vm_brk_flags (bss, heap)", "I(vm_brk_flags)"),
        ("  setup_new_exec", "I(setup_new_exec)"),
        ("  flush_signal_handlers", "I(flush_signal_handlers)"),
        ("  do_close_on_exec", "I(do_close_on_exec)"),
        ("  create_elf_tables", "I(create_elf_tables)"),
        ("  mmput (the old image dropped)", "I(mmput)"),
        ("  arch_setup_additional_pages (the vDSO mapped)", "I(arch_setup_additional_pages)"),
        (
            "  copy_string_kernel (the path onto the new stack, its page faulted in)",
            "I(copy_string_kernel)",
        ),
        ("  get_random_bytes (AT_RANDOM)", "I(get_random_bytes)"),
    ],
    "mmap": [
        ("mmap: ksys_mmap_pgoff", "I(ksys_mmap_pgoff)"),
        ("  __arm64_sys_mmap", "I(__arm64_sys_mmap)"),
        ("  get_unmapped_area", "I(get_unmapped_area)"),
        ("  mmap_region", "I(mmap_region)"),
        ("munmap: __vm_munmap", "I(__vm_munmap)"),
        ("  unmap_region", "I(unmap_region)"),
        ("  remove_vma", "I(remove_vma)"),
        ("  __vma_rb_erase", "I(__vma_rb_erase)"),
        ("find_vma (both calls)", "I(find_vma)"),
    ],
    "mmap_touch": [
        ("mmap: ksys_mmap_pgoff", "I(ksys_mmap_pgoff)"),
        ("write fault: do_mem_abort", "I(do_mem_abort)"),
        ("munmap: __vm_munmap", "I(__vm_munmap)"),
        ("  release_pages", "I(release_pages)"),
    ],
}
_OPEN = [
    ("openat", "I(__arm64_sys_openat)"),
    ("  getname (the path copied from user memory)", "I(getname)"),
    ("  putname", "I(putname)"),
    ("  get_unused_fd_flags", "I(get_unused_fd_flags)"),
    ("  do_filp_open", "I(do_filp_open)"),
    ("    link_path_walk", "I(link_path_walk.part.0)"),
    ("    lookup_fast (dentry hash lookups)", "I(lookup_fast)"),
    ("    __d_lookup_rcu", "I(__d_lookup_rcu)"),
    ("    inode_permission", "I(inode_permission)"),
    ("    alloc_empty_file", "I(alloc_empty_file)"),
    ("      security_file_alloc (AppArmor)", "I(security_file_alloc)"),
    ("    do_dentry_open", "I(do_dentry_open)"),
    ("      security_file_open (AppArmor, TOMOYO)", "I(security_file_open)"),
    ("  fd_install", "I(fd_install)"),
    ("close", "I(__arm64_sys_close)"),
    ("final fput (task work on the way out)", "I(task_work_run)"),
    ("  security_file_free (AppArmor)", "I(security_file_free)"),
]
_STAT = [
    ("newfstatat", "I(__arm64_sys_newfstatat)"),
    ("  getname (the path copied from user memory)", "I(getname_flags.part.0)"),
    ("  filename_lookup", "I(filename_lookup)"),
    ("    link_path_walk", "I(link_path_walk.part.0)"),
    ("    lookup_fast (dentry hash lookups)", "I(lookup_fast)"),
    ("    inode_permission", "I(inode_permission)"),
    ("  vfs_getattr", "I(vfs_getattr)"),
    ("  cp_new_stat", "I(cp_new_stat)"),
]
_PREAD = [
    ("pread64", "I(__arm64_sys_pread64)"),
    ("  ksys_pread64", "I(ksys_pread64)"),
    ("  __fdget", "I(__fdget)"),
    ("  rw_verify_area", "I(rw_verify_area)"),
    ("    security_file_permission", "I(security_file_permission)"),
    ("      apparmor_file_permission", "I(apparmor_file_permission)"),
    ("  shmem_file_read_iter", "I(shmem_file_read_iter)"),
    ("    shmem_getpage_gfp (page-cache lookups)", "I(shmem_getpage_gfp)"),
    ("      find_get_entry", "I(find_get_entry)"),
    ("    copy_page_to_iter", "I(copy_page_to_iter)"),
    ("      __arch_copy_to_user", "I(__arch_copy_to_user)"),
    ("    touch_atime", "I(touch_atime)"),
]
_PWRITE = [
    ("pwrite64", "I(__arm64_sys_pwrite64)"),
    ("  __fdget", "I(__fdget)"),
    ("  rw_verify_area", "I(rw_verify_area)"),
    ("    security_file_permission", "I(security_file_permission)"),
    ("      apparmor_file_permission", "I(apparmor_file_permission)"),
    ("  generic_file_write_iter", "I(generic_file_write_iter)"),
    ("  generic_perform_write", "I(generic_perform_write)"),
    ("    shmem_write_begin (page-cache lookup or insertion)", "I(shmem_write_begin)"),
    ("    iov_iter_copy_from_user_atomic", "I(iov_iter_copy_from_user_atomic)"),
    ("      __arch_copy_from_user", "I(__arch_copy_from_user)"),
    ("    shmem_write_end", "I(shmem_write_end)"),
    ("  file_update_time", "I(file_update_time)"),
]
COMPONENTS.update(
    {
        "open2": _OPEN,
        "open8": _OPEN,
        "stat2": _STAT,
        "stat8": _STAT,
        "fstat": [
            ("fstat", "I(__arm64_sys_newfstat)"),
            ("  __do_sys_newfstat", "I(__do_sys_newfstat)"),
            ("  __fdget_raw", "I(__fdget_raw)"),
            ("  vfs_fstat", "I(vfs_fstat)"),
            ("    tomoyo_inode_getattr", "I(tomoyo_inode_getattr)"),
            ("    apparmor_inode_getattr", "I(apparmor_inode_getattr)"),
            ("  vfs_getattr", "I(vfs_getattr)"),
            ("  cp_new_stat", "I(cp_new_stat)"),
        ],
        "pread1": _PREAD,
        "pread4k": _PREAD,
        "pread64k": _PREAD,
        "pwrite1": _PWRITE,
        "pwrite4k": _PWRITE,
        "pwrite64k": _PWRITE,
        "pwrite_newpage": _PWRITE
        + [
            ("    shmem_alloc_and_acct_page", "I(shmem_alloc_and_acct_page)"),
            ("      kernel_init_free_pages (init_on_alloc)", "I(kernel_init_free_pages)"),
            ("    shmem_add_to_page_cache", "I(shmem_add_to_page_cache)"),
            ("      mem_cgroup_charge", "I(mem_cgroup_charge)"),
            ("    lru_cache_add", "I(lru_cache_add)"),
        ],
        "pipe4k": COMPONENTS["pipe"]
        + [
            ("  copy_page_to_iter", "I(copy_page_to_iter)"),
            ("  copy_page_from_iter", "I(copy_page_from_iter)"),
            ("  __arch_copy_to_user", "I(__arch_copy_to_user)"),
            ("  __arch_copy_from_user", "I(__arch_copy_from_user)"),
        ],
        "pipe_make": [
            ("pipe2", "I(__arm64_sys_pipe2)"),
            ("  get_unused_fd_flags", "I(get_unused_fd_flags)"),
            ("  fd_install", "I(fd_install)"),
            ("  create_pipe_files", "I(create_pipe_files)"),
            ("    alloc_pipe_info", "I(alloc_pipe_info)"),
            ("    security_file_alloc (AppArmor)", "I(security_file_alloc)"),
            ("close (both)", "I(__arm64_sys_close)"),
            ("final fputs (task work: pipe_release)", "I(task_work_run)"),
            ("  free_pipe_info", "I(free_pipe_info)"),
            ("  security_file_free (AppArmor)", "I(security_file_free)"),
        ],
        "dup_close": [
            ("dup", "I(__arm64_sys_dup)"),
            ("  get_unused_fd_flags", "I(get_unused_fd_flags)"),
            ("  fd_install", "I(fd_install)"),
            ("close", "I(__arm64_sys_close)"),
        ],
        "creat_unlink": [
            ("openat(O_CREAT)", "I(__arm64_sys_openat)"),
            ("  shmem_mknod (the inode made)", "I(shmem_mknod)"),
            ("  d_alloc_parallel (the dentry made)", "I(d_alloc_parallel)"),
            ("close", "I(__arm64_sys_close)"),
            ("final fput (task work)", "I(task_work_run)"),
            ("unlinkat", "I(__arm64_sys_unlinkat)"),
            ("  filename_parentat", "I(filename_parentat)"),
            ("  vfs_unlink", "I(vfs_unlink)"),
            ("  iput (the inode freed)", "I(iput)"),
        ],
        "getdents0": [
            ("lseek", "I(__arm64_sys_lseek)"),
            ("getdents64", "I(__arm64_sys_getdents64)"),
            ("  __fdget_pos (both calls)", "I(__fdget_pos)"),
            ("  apparmor_file_permission", "I(apparmor_file_permission)"),
            ("  dcache_readdir", "I(dcache_readdir)"),
            ("    filldir64", "I(filldir64)"),
        ],
        "mprotect": [
            ("mprotect", "I(__arm64_sys_mprotect)"),
            ("  security_file_mprotect", "I(security_file_mprotect)"),
            ("  mprotect_fixup", "I(mprotect_fixup)"),
            ("    vma_merge", "I(vma_merge)"),
            ("    __split_vma", "I(__split_vma)"),
            ("    change_protection", "I(change_protection)"),
        ],
        "brk": [
            ("brk", "I(__arm64_sys_brk)"),
            ("  do_brk_flags", "I(do_brk_flags)"),
            ("  __do_munmap", "I(__do_munmap)"),
        ],
        "mremap": [
            ("mremap", "I(__arm64_sys_mremap)"),
            ("  vma_to_resize", "I(vma_to_resize)"),
            ("  vma_adjust", "I(__vma_adjust)"),
            ("  __do_munmap", "I(__do_munmap)"),
        ],
        "futex_wake": [
            ("futex", "I(__arm64_sys_futex)"),
            ("  futex_wake", "I(futex_wake)"),
            ("    get_futex_key", "I(get_futex_key)"),
        ],
        "signal": [
            ("kill", "I(__arm64_sys_kill)"),
            ("  security_task_kill (AppArmor)", "I(security_task_kill)"),
            ("  send_signal", "I(__send_signal)"),
            ("delivery on the way out: do_notify_resume", "I(do_notify_resume)"),
            ("  get_signal", "I(get_signal)"),
            ("  setup_rt_frame (the frame built)", "I(setup_rt_frame)"),
            ("  signal_setup_done", "I(signal_setup_done)"),
            ("    fpsimd context saved", "I(fpsimd_signal_preserve_current_state)"),
            ("rt_sigreturn", "I(__arm64_sys_rt_sigreturn)"),
            ("  restore_sigframe", "I(restore_sigframe)"),
        ],
        "sigaction": [
            ("rt_sigaction", "I(__arm64_sys_rt_sigaction)"),
            ("  do_sigaction", "I(do_sigaction)"),
        ],
        "sigprocmask": [
            ("rt_sigprocmask", "I(__arm64_sys_rt_sigprocmask)"),
            ("  __set_current_blocked", "I(__set_current_blocked)"),
            ("  _copy_from_user (the new mask)", "I(_copy_from_user)"),
            ("  __arch_copy_to_user (the old mask)", "I(__arch_copy_to_user)"),
        ],
        "setresuid": [
            ("setresuid", "I(__arm64_sys_setresuid)"),
            ("  prepare_creds", "I(prepare_creds)"),
            ("  commit_creds", "I(commit_creds)"),
        ],
        "console": [
            ("write", "I(__arm64_sys_write)"),
            ("  tty_write", "I(tty_write)"),
            ("    _copy_from_iter (the byte copied in)", "I(_copy_from_iter)"),
            ("    n_tty_write", "I(n_tty_write)"),
            ("    uart_write", "I(uart_write)"),
            ("    pl011 transmit", "I(pl011_tx_chars)"),
        ],
    }
)
COMPONENTS["getdents64"] = COMPONENTS["getdents0"]
COMPONENTS["mprotect_split"] = COMPONENTS["mprotect"]


# The sockets' paths. A round trip: sendto on one socket, recvfrom on the other.
def _send_recv(send: str, recv: str, copy_in: str, extra: list) -> list:
    return [
        ("sendto", "I(__arm64_sys_sendto)"),
        (f"  {send}", f"I({send})"),
        (f"  {copy_in} (the bytes copied in)", f"I({copy_in})"),
        ("  sock_def_readable (the reader woken)", "I(sock_def_readable)"),
        ("  security_socket_sendmsg (AppArmor, TOMOYO)", "I(security_socket_sendmsg)"),
        ("recvfrom", "I(__arm64_sys_recvfrom)"),
        (f"  {recv}", f"I({recv})"),
        ("  _copy_to_iter (the bytes copied out)", "I(_copy_to_iter)"),
        ("  security_socket_recvmsg (AppArmor)", "I(security_socket_recvmsg)"),
        ("sockfd_lookup_light (a call's descriptor)", "I(sockfd_lookup_light) / 2"),
        *extra,
    ]


# a segment's or datagram's own security hooks on the loopback (the receiving socket's filter,
# AppArmor's postrouting hook)
_PACKET_HOOKS = "I(security_sock_rcv_skb) + I(apparmor_ipv4_postroute)"
# a socket made and closed: its security hooks
_MADE_HOOKS = (
    "I(security_socket_create) + I(security_socket_post_create) + I(security_sk_alloc) / {n}"
    " + I(security_file_alloc) / {n}"
)
_MAKE = [
    ("socket", "I(__arm64_sys_socket)"),
    ("  get_unused_fd_flags", "I(get_unused_fd_flags)"),
    ("  fd_install", "I(fd_install)"),
    ("  sock_alloc_file (the socket's file)", "I(sock_alloc_file)"),
    (
        "  security hooks (socket_create, socket_post_create, sk_alloc, file_alloc)",
        _MADE_HOOKS.format(n=1),
    ),
    ("close", "I(__arm64_sys_close)"),
    ("final fput (task work: sock_close)", "I(task_work_run)"),
    ("  sock_close", "I(sock_close)"),
    ("  security hooks (file_free, sk_free)", "I(security_file_free) + I(security_sk_free)"),
]


def _connect_accept(connect_hooks: str, close_hooks: str) -> list:
    return [
        ("socket", "I(__arm64_sys_socket)"),
        (
            "  security hooks (socket_create, socket_post_create, sk_alloc, file_alloc)",
            _MADE_HOOKS.format(n=2),
        ),
        ("connect", "I(__arm64_sys_connect)"),
        ("  connect's security hooks", connect_hooks),
        ("accept", "I(__arm64_sys_accept)"),
        (
            "  accept's security hooks (socket_accept, file_alloc, sock_graft)",
            "I(security_socket_accept) + I(security_file_alloc) / 2 + I(security_sock_graft)",
        ),
        ("__fdget (connect's and accept's descriptor)", "I(__fdget) / 2"),
        ("close (both)", "I(__arm64_sys_close)"),
        ("final fputs (task work: sock_close, both)", "I(task_work_run)"),
        ("  the closes' security hooks", close_hooks),
    ]


COMPONENTS.update(
    {
        "sk_unix_rt": _send_recv(
            "unix_stream_sendmsg", "unix_stream_recvmsg", "_copy_from_iter", []
        ),
        "sk_unix_dgram_rt": _send_recv(
            "unix_dgram_sendmsg",
            "unix_dgram_recvmsg",
            "_copy_from_iter",
            [
                (
                    "security_unix_may_send, security_socket_getpeersec_dgram",
                    "I(security_unix_may_send) + I(security_socket_getpeersec_dgram)",
                )
            ],
        ),
        "sk_tcp_rt": _send_recv(
            "tcp_sendmsg",
            "tcp_recvmsg",
            "_copy_from_iter_full",
            [
                ("  tcp_cleanup_rbuf (the receiver's ACK)", "I(tcp_cleanup_rbuf)"),
                ("net_rx_action (the loopback's receive side)", "I(net_rx_action)"),
                ("a segment's security hooks (two segments: data, ACK)", f"({_PACKET_HOOKS}) / 2"),
            ],
        ),
        "sk_udp_rt": _send_recv(
            "udp_sendmsg",
            "udp_recvmsg",
            "_copy_from_iter_full",
            [
                ("net_rx_action (the loopback's receive side)", "I(net_rx_action)"),
                ("the datagram's security hooks", _PACKET_HOOKS),
            ],
        ),
        "sk_unix_make": _MAKE,
        "sk_tcp_make": _MAKE,
        "sk_udp_make": _MAKE,
        "sk_unix_conn": _connect_accept(
            "I(security_socket_connect) + I(security_sk_alloc) / 2"
            " + I(security_unix_stream_connect)",
            "I(security_file_free) + I(security_sk_free)",
        ),
        # the handshake's segments are half the path's six (SYN, SYN-ACK, ACK; then FIN, ACK
        # and the other FIN), the other half the closes'
        "sk_tcp_conn": _connect_accept(
            "I(security_socket_connect) + I(security_sk_alloc) / 2 + I(security_sk_clone)"
            " + I(security_inet_conn_request) + I(security_inet_csk_clone)"
            " + I(security_inet_conn_established) + I(security_sk_classify_flow)"
            f" + I(security_req_classify_flow) + ({_PACKET_HOOKS}) / 2",
            f"I(security_file_free) + I(security_sk_free) + ({_PACKET_HOOKS}) / 2",
        ),
        "sk_bind_listen": [
            ("bind", "I(__arm64_sys_bind)"),
            ("  inet_csk_get_port (the port's table)", "I(inet_csk_get_port)"),
            ("  security_socket_bind (AppArmor, TOMOYO)", "I(security_socket_bind)"),
            ("listen", "I(__arm64_sys_listen)"),
            ("  security_socket_listen (AppArmor, TOMOYO)", "I(security_socket_listen)"),
            ("sockfd_lookup_light (a call's descriptor)", "I(sockfd_lookup_light) / 2"),
            ("final fput (task work: sock_close of a listener)", "I(task_work_run)"),
        ],
        "sk_opt": [
            ("setsockopt", "I(__arm64_sys_setsockopt)"),
            ("  security_socket_setsockopt", "I(security_socket_setsockopt)"),
            ("getsockopt", "I(__arm64_sys_getsockopt)"),
            ("  security_socket_getsockopt", "I(security_socket_getsockopt)"),
            ("getsockname", "I(__arm64_sys_getsockname)"),
            ("  security_socket_getsockname", "I(security_socket_getsockname)"),
            ("sockfd_lookup_light (a call's descriptor)", "I(sockfd_lookup_light) / 3"),
        ],
        "sk_scm": [
            ("sendmsg", "I(__arm64_sys_sendmsg)"),
            (
                "  sendmsg_copy_msghdr (the msghdr and its iovec copied in)",
                "I(sendmsg_copy_msghdr)",
            ),
            ("  __scm_send (the control message, the descriptor's file)", "I(__scm_send)"),
            ("  unix_attach_fds", "I(unix_attach_fds)"),
            ("recvmsg", "I(__arm64_sys_recvmsg)"),
            ("  scm_recv (the descriptor installed)", "I(scm_recv.constprop.0)"),
            ("    security_file_receive (AppArmor)", "I(security_file_receive)"),
            (
                "per descriptor: fget_raw, unix_inflight, unix_notinflight",
                "I(fget_raw) + I(unix_inflight) + I(unix_notinflight)",
            ),
            ("close (of the descriptor received)", "I(__arm64_sys_close)"),
        ],
    }
)
COMPONENTS["sk_unix4k_rt"] = _send_recv(
    "unix_stream_sendmsg", "unix_stream_recvmsg", "copy_page_from_iter", []
)

COMPONENTS["mmap_touch16"] = COMPONENTS["mmap_touch"]
COMPONENTS["exec_glibc"] = COMPONENTS["exec_tiny"]
COMPONENTS["pthread"] = COMPONENTS["thread"]
for _name in (
    "fork_vmas256_untouched",
    "fork_vmas256_touched",
    "fork_pages1024",
    "fork_pages4096",
    "fork_sparse64",
):
    COMPONENTS[_name] = COMPONENTS["fork"]


def components(test: str, r: dict) -> list[dict]:
    incl, src, edges = r["_incl"], r["_src_incl"], r["_edges"]
    out = []
    for label, expr in COMPONENTS.get(test, []):
        missing: list[str] = []

        def inc(m: re.Match, missing: list[str] = missing) -> str:
            f = m.group(1)
            if f in incl:
                return repr(incl[f])
            if f in src:
                return repr(src[f])
            missing.append(f)
            return "0.0"

        def edge(m: re.Match) -> str:
            return repr(edges.get((m.group(1), m.group(2)), 0.0))

        e = re.sub(r"E\(([\w.]+),([\w.]+)\)", edge, expr)
        e = re.sub(r"I\(([\w.]+)\)", inc, e)
        e = e.replace("T", repr(r["instructions"]))
        value = eval(e, {"__builtins__": {}}, {})  # our own arithmetic over numbers
        item = {"part": label, "instructions": round(value, 1), "how": expr}
        if missing:
            item["not_on_path"] = missing
        out.append(item)
    return out


def call_edges(pcs: dict[int, list[float]], namer: Namer, words: dict[int, int]) -> dict:
    """Instructions spent in callees per (caller, callee) for direct calls (BL)."""
    edges: dict[tuple[str, str], float] = defaultdict(float)
    for pc, (_, _, sub) in pcs.items():
        w = words.get(pc, 0)
        if sub and (w & 0xFC000000) == 0x94000000:
            off = ((w & 0x3FFFFFF) ^ 0x2000000) - 0x2000000
            callee = namer.function(pc + 4 * off)
            for caller in dict.fromkeys(namer.chains[pc]):
                edges[(caller, callee)] += sub
    return edges


def fit(results: dict, a: str, b: str, n: float) -> float | None:
    if "instructions" not in results.get(a, {}) or "instructions" not in results.get(b, {}):
        return None
    return round((results[b]["instructions"] - results[a]["instructions"]) / n, 1)


def fit_parts(results: dict, a: str, b: str, n: float) -> dict[str, float]:
    """The same slope for each part of the fork path."""
    if "components" not in results.get(a, {}) or "components" not in results.get(b, {}):
        return {}
    pa = {c["part"].strip(): c["instructions"] for c in results[a]["components"]}
    pb = {c["part"].strip(): c["instructions"] for c in results[b]["components"]}
    return {k: round((pb[k] - pa[k]) / n, 1) for k in pa if k in pb}


def parse_run(run: Path, kdir: Path, build: Path) -> tuple[dict, dict]:
    console_dumps, info = read_console(run / "console.txt")
    tests = collect_tests(console_dumps)
    keep = {s for t in tests.values() for pair in t.rounds.values() for s in pair}
    dumps, words, extra = read_kcount(run / "kcount.out", keep)
    for t in tests.values():
        t.rounds = {r: (dumps[a], dumps[b]) for r, (a, b) in t.rounds.items()}
    namer = Namer(kdir, run / "addr2line.cache")
    namer.resolve_aliases(words)
    fnames = []
    for line in (build / "kcount.cfg").read_text().splitlines():
        if line.startswith("F "):
            fnames.append(namer.syms.lookup(int(line[2:], 16)) or "?")
    results = {}
    for name, t in tests.items():
        if name == "spin":
            results[name] = tick_cost(t, namer)
            continue
        r = per_op(t, namer, words, fnames)
        r["_n"] = (t.n1, t.n2)
        if "error" not in r:
            r["_edges"] = call_edges(r.pop("_pcs"), namer, words)
            r["components"] = components(name, r)
        results[name] = r
    info["plugin"] = extra
    return results, info


def summary(results: dict) -> dict:
    """Per-VMA and per-page fits of fork, and the switch alone."""
    s = {}
    s["fork_per_untouched_vma"] = fit(results, "fork", "fork_vmas256_untouched", 256)
    s["fork_per_touched_vma_one_page"] = fit(results, "fork", "fork_vmas256_touched", 256)
    s["fork_per_written_page"] = fit(results, "fork_pages1024", "fork_pages4096", 3072)
    s["fork_per_untouched_vma_parts"] = fit_parts(results, "fork", "fork_vmas256_untouched", 256)
    s["fork_per_touched_vma_one_page_parts"] = fit_parts(
        results, "fork", "fork_vmas256_touched", 256
    )
    s["fork_per_written_page_parts"] = fit_parts(results, "fork_pages1024", "fork_pages4096", 3072)
    per_sparse = fit(results, "fork", "fork_sparse64", 64)
    if per_sparse is not None and s["fork_per_written_page"] is not None:
        s["fork_per_pte_table_page"] = round(per_sparse - s["fork_per_written_page"], 1)
    # the file system and memory paths: per component walked, per byte and page copied,
    # per directory entry, per page unmapped
    s["path_walk_per_component_open"] = fit(results, "open2", "open8", 6)
    s["path_walk_per_component_open_parts"] = fit_parts(results, "open2", "open8", 6)
    s["path_walk_per_component_stat"] = fit(results, "stat2", "stat8", 6)
    s["pread_per_byte_within_a_page"] = fit(results, "pread1", "pread4k", 4095)
    s["pread_per_page"] = fit(results, "pread4k", "pread64k", 15)
    s["pread_per_page_parts"] = fit_parts(results, "pread4k", "pread64k", 15)
    s["pwrite_per_byte_within_a_page"] = fit(results, "pwrite1", "pwrite4k", 4095)
    s["pwrite_per_page"] = fit(results, "pwrite4k", "pwrite64k", 15)
    s["pwrite_per_page_parts"] = fit_parts(results, "pwrite4k", "pwrite64k", 15)
    s["pwrite_new_page_extra"] = fit(results, "pwrite1", "pwrite_newpage", 1)
    s["pipe_per_byte_written_and_read"] = fit(results, "pipe", "pipe4k", 4095)
    s["getdents_per_entry"] = fit(results, "getdents0", "getdents64", 64)
    s["mmap_touch_per_extra_page"] = fit(results, "mmap_touch", "mmap_touch16", 15)
    s["mmap_touch_per_extra_page_parts"] = fit_parts(results, "mmap_touch", "mmap_touch16", 15)
    ctx, pipe = results.get("ctx", {}), results.get("pipe", {})
    if "instructions" in ctx and "instructions" in pipe:
        s["context_switch_lmbench_style"] = round(
            (ctx["instructions"] - 2 * pipe["instructions"]) / 2, 1
        )
        s["context_switch_schedule_inclusive"] = round(ctx["_incl"].get("schedule", 0) / 2, 1)
    return s


def public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


def describe_env(info: dict) -> dict:
    return {
        "uname": info.get("version", ""),
        "cmdline": info.get("cmdline", ""),
        "vulnerabilities": info.get("vulnerabilities", {}),
        "kpti": info.get("kpti_boot_lines", []),
        "cpu_features": info.get("cpu_features", ""),
        "cpu_part": info.get("cpu_part", ""),
        "transparent_hugepage": info.get("thp", ""),
        "test_process_maps": info.get("maps", []),
        "warnings": info.get("warnings", []),
        "plugin": info.get("plugin", {}),
    }


def parse(args: argparse.Namespace) -> None:
    kdir, build = Path(args.kernel), Path(args.build)
    meta = json.loads(Path(args.meta).read_text()) if args.meta else {}
    results, info = parse_run(Path(args.run), kdir, build)
    out: dict = {
        "schema": "hmk-linux-paths/1",
        "what": "instructions the arm64 Linux kernel executes per operation, counted under "
        "QEMU TCG by the kcount plugin (tools/linuxpaths); see docs/linux-paths.md",
        **meta,
        "environment": describe_env(info),
        "units": "instructions per operation (kernel only, EL1); loads/stores are executed "
        "load/store instructions (an atomic read-modify-write counts in both); "
        "memory_accesses are QEMU's memory operations (a pair load is two)",
        "paths": {},
    }
    for key, test, what in PATHS:
        if test in results:
            r = public(results[test])
            n = {"n1": results[test]["_n"][0], "n2": results[test]["_n"][1]}
            out["paths"][key] = {"test": test, "operation": what, **n, **r}
    out["fits"] = summary(results)
    if "spin" in results:
        out["timer_interrupt"] = results["spin"]
    for v in args.variant or []:
        label, _, vdir = v.partition("=")
        vres, vinfo = parse_run(Path(vdir), kdir, build)
        out.setdefault("variants", {})[label] = {
            "cmdline": vinfo.get("cmdline", ""),
            "kpti": vinfo.get("kpti_boot_lines", []),
            "instructions": {
                key: vres[test].get("instructions") for key, test, _ in PATHS if test in vres
            },
            "fits": {k: v for k, v in summary(vres).items() if not isinstance(v, dict)},
        }
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    if args.md:
        Path(args.md).write_text(markdown(out))
        print(f"wrote {args.md}")


def merge(args: argparse.Namespace) -> None:
    """The paths of a run of some tests (`run.sh` with ONLY) added to a JSON that lacks them;
    the run's facts kept under `separate_runs`. The JSON's own paths stay as they were."""
    run = json.loads(Path(args.run_json).read_text())
    out = json.loads(Path(args.into).read_text())
    added = {k: p for k, p in run["paths"].items() if k not in out["paths"]}
    out["paths"].update(added)
    out.setdefault("separate_runs", {})[args.name] = {
        "command_line": run.get("command_line", ""),
        "rounds": run.get("rounds"),
        "paths": sorted(added),
    }
    Path(args.into).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{args.into}: {len(added)} paths added ({', '.join(added)})")


def markdown(out: dict) -> str:
    lines = [
        "| path | instructions/op | loads | stores | median window | with interrupts |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, p in out["paths"].items():
        if "instructions" not in p:
            continue
        lines.append(
            f"| {key} | {p['instructions']:,.0f} | {p['load_instructions']:,.0f} | "
            f"{p['store_instructions']:,.0f} | {p['window_min_median_max'][1]:,} | "
            f"{p['instructions_with_interrupts']:,.0f} |"
        )
    lines.append("")
    for key, p in out["paths"].items():
        lines.append(f"### {key}: {p.get('instructions', 0):,.0f}\n")
        if p.get("components"):
            lines.append("| part | instructions |\n| --- | ---: |")
            for c in p["components"]:
                lines.append(f"| {c['part']} | {c['instructions']:,.0f} |")
            lines.append("")
        lines.append("| function (self) | instructions | share |\n| --- | ---: | ---: |")
        for f in p.get("top_functions_self", []):
            lines.append(f"| {f['name']} | {f['instructions']:,.0f} | {100 * f['share']:.1f}% |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--kernel", required=True, help="directory with the extracted kernel files")
    p.add_argument("--build", required=True, help="directory with the built programs")
    p = sub.add_parser("parse")
    p.add_argument("--kernel", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--run", required=True, help="directory with console.txt and kcount.out")
    p.add_argument("--meta", help="JSON file with facts about the run (versions, command line)")
    p.add_argument("--variant", action="append", help="LABEL=DIR: another run, totals only")
    p.add_argument("--json", required=True)
    p.add_argument("--md")
    p = sub.add_parser("merge")
    p.add_argument("--run-json", required=True, help="a parse of a run of some tests (ONLY)")
    p.add_argument("--name", required=True, help="what that run measured, e.g. sockets")
    p.add_argument("--into", required=True, help="the JSON the paths join (paths it lacks)")
    args = ap.parse_args()
    if args.cmd == "prepare":
        write_cfg(Path(args.kernel), Path(args.build) / "kcount.cfg")
        write_initrd(Path(args.build), Path(args.build) / "initrd.cpio")
    elif args.cmd == "merge":
        merge(args)
    else:
        parse(args)


if __name__ == "__main__":
    main()

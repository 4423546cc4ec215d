"""Load an AArch64 Linux executable the way Linux's ``load_elf_binary`` reads it.

``load_elf(path)`` reads the file, checks it and returns an :class:`ElfImage`: the PT_LOAD
segments with their permissions and file bytes (the rest of each segment up to ``memsz`` is
.bss, zero-filled by whoever maps it), the entry point, where the program headers sit in memory
(for AT_PHDR), the initial program break, the interpreter a dynamically linked program names
(PT_INTERP) and the FUNC symbols (their tables read with the file, decoded only when names
are asked for: a flame graph's). Nothing is mapped here: placing the segments in simulated
memory, and finding the interpreter in the guest's file system, is the kernel side's job.

Accepted: ELF64, little-endian, EM_AARCH64, ET_EXEC (a ``-static`` program, or a dynamically
linked one at fixed addresses) and ET_DYN (a ``-static-pie`` program, a PIE, or an interpreter
such as ld-linux-aarch64.so.1), loaded at a fixed bias (:func:`dyn_load_bias`; an interpreter is
moved to where the kernel side places it, :meth:`ElfImage.rebased`). Anything else raises
:class:`ElfError`, whose ``str`` is one line, ``<file>: <reason>``, and whose ``errno`` names
what execve answers for it. The headers are read with ``struct`` (pyelftools only names an
unknown machine or type in an error).

The order of the checks follows Linux where Linux has one: the ELF magic, then the machine
(``elf_check_arch``), then the type, then the program headers, then PT_INTERP, then the PT_LOADs,
and last the section headers, which Linux does not read. So an x86-64 dynamic executable such as
/bin/ls is reported as "not an AArch64 ELF (machine EM_X86_64)": Linux refuses it with ENOEXEC
for the architecture before it ever looks at its interpreter. :func:`parse_interpreter` checks
an interpreter as Linux does, in two steps with different outcomes (ELIBBAD before execve's
point of no return, SIGSEGV after it).

Like Linux, hmk reads only what it needs of a file (its headers, the interpreter's path, the
segments' bytes) and, for function names, its symbol table, so a file whose size claims much
more than it holds (a sparse file) costs the host no more than its parts: ``parse_elf`` reads
bytes, an open file, or a host file by path. Unlike Linux, which maps segments lazily, hmk keeps
a program's segment bytes in host memory, so it refuses more than ``MAX_LOAD_BYTES`` of them
(ENOMEM); section and symbol tables beyond any program's size are ignored.

Stricter than Linux in one place, on purpose: a file whose section headers or sections run past
its end is reported as truncated, although Linux, which ignores sections, would run it. A
file cut short is a damaged copy, and saying so beats running it with a missing symbol table.
"""

from __future__ import annotations

import bisect
import os
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from io import BytesIO
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

import numpy as np

from hmk.hw.pagetable import PAGE_SIZE, VA_LIMIT

__all__ = [
    "ELF_ET_DYN_BASE",
    "ElfError",
    "ElfImage",
    "Segment",
    "Symbol",
    "dyn_load_bias",
    "load_elf",
    "parse_elf",
    "parse_interpreter",
]

ELF_ET_DYN_BASE = 2 * VA_LIMIT // 3
"""arm64's ``ELF_ET_DYN_BASE``: ``2 * DEFAULT_MAP_WINDOW_64 / 3``, 48-bit VAs: 0xAAAAAAAAAAAA."""

EHDR_SIZE = 64  # sizeof(Elf64_Ehdr)
PHDR_SIZE = 56  # sizeof(Elf64_Phdr); Linux requires e_phentsize to be exactly this
SHDR_SIZE = 64  # sizeof(Elf64_Shdr)
MAX_PHDR_BYTES = 65536  # Linux: e_phnum * sizeof(Elf64_Phdr) may not exceed 64 KiB

PATH_MAX = 4096  # Linux: a PT_INTERP path longer than this is refused (ENOEXEC)
EM_AARCH64 = 183
PF_X, PF_W, PF_R = 1, 2, 4
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
SHT_NULL, SHT_SYMTAB, SHT_NOBITS = 0, 2, 8
STT_FUNC = 2
SYM_SIZE = 24  # sizeof(Elf64_Sym)
# Elf64_Ehdr after e_ident: type, machine, version, entry, phoff, shoff, flags, ehsize,
# phentsize, phnum, shentsize, shnum, shstrndx
_EHDR = struct.Struct("<HHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
_PHDR_FIELDS = ("p_type", "p_flags", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz")
_PHDR_FIELDS += ("p_align",)
# Elf64_Shdr: name, type, flags, addr, offset, size, link, info, addralign, entsize
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = np.dtype(
    [("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2")]
    + [("value", "<u8"), ("size", "<u8")]
)
# What hmk reads of a file is bounded, whatever its headers claim (a sparse file can be any
# size without holding anything): the PT_LOAD bytes are kept in host memory for the run, so at
# most as much as the default simulated RAM (a real program's are at most tens of MiB); the
# section headers, the symbol table and its strings only name functions, and a table larger
# than any program's is ignored as Linux ignores sections.
MAX_LOAD_BYTES = 512 << 20
MAX_SECTIONS = 1 << 16  # section headers (real programs have tens)
MAX_SYMBOLS = 1 << 20  # .symtab entries (a large static program has some tens of thousands)
MAX_STRINGS = 64 << 20  # bytes of the symbol table's string table

ElfSource = bytes | bytearray | memoryview | os.PathLike | BinaryIO
"""What parse_elf reads: a file's bytes, the path of a host file, or an open binary file."""


class ElfError(Exception):
    """A file hmk cannot load. ``str(err)`` is one line: ``<file>: <reason>``. ``errno`` is the
    name of the error execve returns for it (ENOEXEC unless Linux says otherwise: EIO for a
    file cut short where the kernel reads it, ELIBBAD for an interpreter that is not an AArch64
    ELF). ``fatal``: Linux finds this only past execve's point of no return, where the old
    image is gone, and kills the process with SIGSEGV instead of returning an error."""

    def __init__(self, path: str, reason: str, errno: str = "ENOEXEC", fatal: bool = False):
        super().__init__(path, reason)
        self.path = path if path.isprintable() else repr(path)
        self.reason = " ".join(reason.split())
        self.errno, self.fatal = errno, fatal

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment, at its load address (an ET_DYN's bias already added)."""

    vaddr: int
    memsz: int
    filesz: int
    offset: int  # p_offset: where ``data`` comes from in the file
    flags: str  # p_flags as "rwx" with "-" for a missing permission: "r-x", "rw-"
    align: int  # p_align
    data: bytes = field(repr=False)  # the file bytes, exactly ``filesz`` of them

    @property
    def end(self) -> int:
        """First address after the segment (``vaddr + memsz``)."""
        return self.vaddr + self.memsz

    @property
    def readable(self) -> bool:
        return self.flags[0] == "r"

    @property
    def writable(self) -> bool:
        return self.flags[1] == "w"

    @property
    def executable(self) -> bool:
        return self.flags[2] == "x"


@dataclass(frozen=True, order=True)
class Symbol:
    """A FUNC symbol from .symtab, at its load address."""

    address: int
    size: int
    name: str


@dataclass(frozen=True, eq=False)
class ElfImage:
    """What a loaded executable needs from its file. Each load is its own image (compared and
    hashed by identity): the CPU's translated code and the timing model's classified blocks
    belong to one loaded program."""

    path: str
    elf_type: str  # "ET_EXEC" (-static, or dynamic at fixed addresses) or "ET_DYN"
    bias: int  # added to every p_vaddr: 0 for ET_EXEC, dyn_load_bias() for ET_DYN
    entry: int  # e_entry + bias
    segments: tuple[Segment, ...]  # the PT_LOADs, in program-header order
    phdr_vaddr: int  # where the program headers are in memory (AT_PHDR)
    phnum: int  # e_phnum (AT_PHNUM)
    phentsize: int  # e_phentsize (AT_PHENT); always 56
    brk: int  # initial program break: the end of the highest PT_LOAD, page-aligned up
    interp: bytes | None = None  # PT_INTERP: the interpreter's path (None: a static program)
    # the file's symbol tables as read, each (.symtab's bytes, its string table's bytes)
    symbol_tables: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)

    @cached_property
    def symbols(self) -> tuple[Symbol, ...]:
        """The FUNC symbols, sorted by address (then size and name); decoded on first use."""
        return _func_symbols(self.symbol_tables, self.bias)

    @cached_property
    def _addresses(self) -> tuple[int, ...]:
        return tuple(s.address for s in self.symbols)

    def rebased(self, bias: int) -> ElfImage:
        """This image loaded at `bias` instead (an ET_DYN interpreter placed in the mmap
        area, as Linux's ``load_elf_interp`` places it): every address moves with it."""
        if self.elf_type != "ET_DYN":
            raise ValueError(f"{self.path}: only an ET_DYN image can be moved")
        delta = bias - self.bias
        return replace(
            self,
            bias=bias,
            entry=self.entry + delta,
            segments=tuple(replace(s, vaddr=s.vaddr + delta) for s in self.segments),
            phdr_vaddr=self.phdr_vaddr + delta,
            brk=self.brk + delta,
        )

    @property
    def span(self) -> tuple[int, int]:
        """[first page, end) of the PT_LOADs, first to last in program-header order, as
        Linux's ``total_mapping_size`` measures an image it maps in one piece."""
        first, last = self.segments[0], self.segments[-1]
        return first.vaddr & ~(PAGE_SIZE - 1), last.vaddr + last.memsz

    def symbol_at(self, address: int) -> Symbol | None:
        """The FUNC symbol whose [address, address + size) holds ``address``, if any.

        Among aliases (several names at one address) the largest, then the last by name wins.
        """
        i = bisect.bisect_right(self._addresses, address) - 1
        if i < 0:
            return None
        start = self._addresses[i]
        while i >= 0 and self._addresses[i] == start:
            sym = self.symbols[i]
            if address < sym.address + max(sym.size, 1):
                return sym
            i -= 1
        return None


def load_elf(path: str | os.PathLike[str]) -> ElfImage:
    """Read and check the executable at ``path``; raise :class:`ElfError` if hmk cannot run it."""
    name = os.fspath(path)
    if "\0" in name:
        raise ElfError(name, "cannot open: a path cannot hold a NUL byte")
    try:
        st = os.stat(name)
    except OSError as e:
        raise ElfError(name, f"cannot open: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ElfError(name, "is a directory, not an executable")
    if not stat.S_ISREG(st.st_mode):
        raise ElfError(name, "not a regular file")
    return parse_elf(Path(name), name)


def dyn_load_bias(load_segments: list[tuple[int, int]]) -> int:
    """The load bias of an ET_DYN program (a PIE, or a static-pie): fixed, so runs are
    reproducible.

    ``load_segments`` is ``[(p_vaddr, p_align), ...]`` of the PT_LOADs in program-header order.
    This is what arm64 Linux computes for an ET_DYN with an interpreter (a PIE) when
    randomization is off: ``ELF_ET_DYN_BASE`` rounded down to the largest power-of-two
    ``p_align`` (at least a page), then ``ELF_PAGESTART(bias - first p_vaddr)``. For the usual
    64 KiB-aligned AArch64 output linked at 0 this is 0xAAAA_AAAA_0000, the address a PIE gets
    on arm64 under ``setarch -R``. (Linux itself loads a static-pie with a bias of 0 into the
    mmap area, whose place depends on the stack rlimit; a fixed base keeps hmk deterministic.)
    """
    alignment = 0
    for _, align in load_segments:
        if align > 0 and align & (align - 1) == 0:
            alignment = max(alignment, align)
    alignment = max(_page_up(alignment), PAGE_SIZE)
    bias = ELF_ET_DYN_BASE & ~(alignment - 1)
    return (bias - load_segments[0][0]) & ~(PAGE_SIZE - 1)


def parse_elf(source: ElfSource, name: str = "<bytes>") -> ElfImage:
    """Check ``source`` as an AArch64 executable: its bytes, an open binary file, or the
    path of a host file; ``name`` is used in errors. Of a file only what Linux reads is read
    (the headers, the interpreter's path, the segments' bytes), and the symbol table."""
    with _opened(source, name) as file:
        return _parse(file, name)


def _parse(file: _File, name: str) -> ElfImage:
    def fail(reason: str) -> ElfError:
        return ElfError(name, reason)

    size, need, read = file.size, file.need, file.read
    data = read(0, min(size, EHDR_SIZE))

    # --- e_ident: magic, class, byte order ------------------------------------------------
    if size == 0:
        raise fail("empty file, not an ELF executable")
    if data[:4] != b"\x7fELF":
        if data[:2] == b"#!":
            raise fail("a script (starts with #!), not an ELF executable; hmk runs ELF ones")
        raise fail("not an ELF file (no \\x7fELF magic number)")
    if size < 16:
        raise fail(f"truncated: the ELF header is cut short ({size} of {EHDR_SIZE} bytes)")
    if data[4] == 1:
        raise fail("a 32-bit ELF (ELFCLASS32); hmk runs 64-bit AArch64 executables")
    if data[4] != 2:
        raise fail(f"bad ELF class {data[4]} in e_ident")
    if data[5] == 2:
        raise fail("a big-endian ELF (ELFDATA2MSB); hmk runs little-endian AArch64 executables")
    if data[5] != 1:
        raise fail(f"bad ELF data encoding {data[5]} in e_ident")
    if size < EHDR_SIZE:
        raise fail(f"truncated: the ELF header is cut short ({size} of {EHDR_SIZE} bytes)")

    etype, machine, _, entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = (
        _EHDR.unpack_from(data, 16)
    )

    # --- machine, then type (elf_check_arch comes first in Linux) -------------------------
    if machine != EM_AARCH64:
        raise fail(f"not an AArch64 ELF (machine {_enum_name('E_MACHINE', machine, '#x')})")
    if etype == ET_REL:
        raise fail("a relocatable object file (ET_REL), not an executable; link it first")
    if etype == ET_CORE:
        raise fail("a core dump (ET_CORE), not an executable")
    if etype not in (ET_EXEC, ET_DYN):
        raise fail(f"not an executable (e_type {_enum_name('E_TYPE', etype, 'd')})")

    # --- program header table -------------------------------------------------------------
    if phnum == 0:
        raise fail("no program headers (e_phnum is 0), nothing to load")
    if phentsize != PHDR_SIZE:
        raise fail(f"e_phentsize is {phentsize}, not the {PHDR_SIZE} bytes of an ELF64 phdr")
    if phnum * PHDR_SIZE > MAX_PHDR_BYTES:
        raise fail(f"too many program headers ({phnum}; Linux takes at most 1170)")
    table = read(phoff, phnum * PHDR_SIZE, "the program header table")
    phdrs = [dict(zip(_PHDR_FIELDS, ph, strict=True)) for ph in _PHDR.iter_unpack(table)]

    interp = None
    for i, ph in enumerate(phdrs):
        if ph["p_type"] == PT_INTERP:  # Linux reads the first one only
            interp = _interp_path(file, i, ph, name)
            break

    loads = [(i, ph) for i, ph in enumerate(phdrs) if ph["p_type"] == PT_LOAD]
    if not loads:
        raise fail("no PT_LOAD segment, nothing to load")

    bias = 0
    if etype == ET_DYN:
        bias = dyn_load_bias([(ph["p_vaddr"], ph["p_align"]) for _, ph in loads])

    segments = []
    for i, ph in loads:
        what = f"program header {i} (PT_LOAD)"
        vaddr, memsz, filesz, offset = ph["p_vaddr"], ph["p_memsz"], ph["p_filesz"], ph["p_offset"]
        if filesz > memsz:
            raise fail(f"{what} has p_filesz {filesz:#x} > p_memsz {memsz:#x}")
        need(what, offset, filesz)
        if (vaddr - offset) % PAGE_SIZE:
            raise fail(
                f"{what}: p_vaddr {vaddr:#x} and p_offset {offset:#x} differ modulo "
                f"the page size, so it cannot be mapped"
            )
        start = vaddr + bias
        if start < 0 or start + memsz > VA_LIMIT:
            raise fail(
                f"{what} at {start:#x}-{start + memsz:#x} lies outside the 48-bit "
                f"user address space"
            )
        flags = ph["p_flags"]
        segments.append(
            Segment(
                vaddr=start,
                memsz=memsz,
                filesz=filesz,
                offset=offset,
                flags=(
                    ("r" if flags & PF_R else "-")
                    + ("w" if flags & PF_W else "-")
                    + ("x" if flags & PF_X else "-")
                ),
                align=ph["p_align"],
                data=b"",  # read once every segment is checked
            )
        )

    spans = sorted((s.vaddr, s.end) for s in segments if s.memsz)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        if b0 < a1:
            raise fail(f"PT_LOAD segments overlap: {a0:#x}-{a1:#x} and {b0:#x}-{b1:#x}")
    total = sum(s.filesz for s in segments)
    if total > MAX_LOAD_BYTES:
        raise ElfError(
            name,
            f"its PT_LOAD segments hold {total:,} bytes of the file; hmk keeps a program's "
            f"bytes in host memory and loads at most {MAX_LOAD_BYTES:,}",
            errno="ENOMEM",
        )
    segments = [replace(s, data=read(s.offset, s.filesz)) for s in segments]

    # --- section headers: only for the symbol table, and to notice a cut-off file ---------
    sections = []
    if shoff != 0 and shentsize == SHDR_SIZE:
        need("the section header table", shoff, SHDR_SIZE)
        count = shnum or _SHDR.unpack(read(shoff, SHDR_SIZE))[5]  # 0: the count is in sh_size
        if count <= MAX_SECTIONS:  # more: a table no program has, ignored as Linux ignores it
            table = read(shoff, count * SHDR_SIZE, "the section header table")
            sections = list(_SHDR.iter_unpack(table))
        for i, sh in enumerate(sections):
            sh_type, sh_offset, sh_size = itemgetter(1, 4, 5)(sh)
            if sh_type not in (SHT_NULL, SHT_NOBITS) and sh_size:
                need(f"section {i}", sh_offset, sh_size)

    # --- AT_PHDR: PT_PHDR if present, else the first PT_LOAD whose file bytes hold e_phoff --
    phdr_vaddr = None
    for ph in phdrs:
        if ph["p_type"] == PT_PHDR:
            phdr_vaddr = ph["p_vaddr"] + bias
            break
    if phdr_vaddr is None:
        for _, ph in loads:
            if ph["p_offset"] <= phoff < ph["p_offset"] + ph["p_filesz"]:
                phdr_vaddr = phoff - ph["p_offset"] + ph["p_vaddr"] + bias
                break
    if phdr_vaddr is None:
        phdr_vaddr = bias  # Linux: phdr_addr stays 0, plus load_bias; nothing maps the headers

    return ElfImage(
        path=name,
        elf_type="ET_DYN" if etype == ET_DYN else "ET_EXEC",
        bias=bias,
        entry=entry + bias,
        segments=tuple(segments),
        phdr_vaddr=phdr_vaddr,
        phnum=phnum,
        phentsize=phentsize,
        brk=_page_up(max(s.end for s in segments)),
        symbol_tables=_symbol_tables(file, sections),
        interp=interp,
    )


def _interp_path(file: _File, i: int, ph, name: str) -> bytes:
    """The interpreter's path from PT_INTERP, checked as Linux checks it: 2 to PATH_MAX bytes
    (ENOEXEC), in the file (a short read: EIO), ending in its NUL (ENOEXEC)."""
    what = f"program header {i} (PT_INTERP)"
    offset, size = ph["p_offset"], ph["p_filesz"]
    if not 2 <= size <= PATH_MAX:
        raise ElfError(name, f"{what}: an interpreter path of {size} bytes (2 to {PATH_MAX})")
    if offset + size > file.size:
        raise ElfError(
            name,
            f"truncated: {what} needs file bytes {offset:#x}-{offset + size:#x} but the file "
            f"has only {file.size:#x} bytes",
            errno="EIO",
        )
    raw = file.read(offset, size)
    if raw[-1] != 0:
        raise ElfError(name, f"{what}: the interpreter path does not end in a NUL byte")
    return raw.split(b"\0")[0]


def parse_interpreter(source: ElfSource, name: str) -> ElfImage:
    """Check ``source`` as a program's interpreter (ld-linux-aarch64.so.1), as Linux's
    ``load_elf_binary`` and ``load_elf_interp`` do. Before execve's point of no return Linux
    reads the ELF header (a shorter file: EIO) and checks the magic, the machine and the
    program header table (ELIBBAD); what it finds wrong only while mapping the interpreter
    (its type, its segments) comes after that point, and kills the process (``fatal``). A
    PT_INTERP of the interpreter's own is ignored, as Linux ignores it."""
    with _opened(source, name) as file:
        return _parse_interpreter(file, name)


def _parse_interpreter(file: _File, name: str) -> ElfImage:
    size = file.size
    if size < EHDR_SIZE:
        raise ElfError(name, f"truncated: an ELF header needs {EHDR_SIZE} bytes", errno="EIO")
    data = file.read(0, EHDR_SIZE)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    phoff = struct.unpack_from("<Q", data, 32)[0]
    machine = struct.unpack_from("<H", data, 18)[0]
    if data[:4] != b"\x7fELF":
        raise ElfError(name, "not an ELF file (no \\x7fELF magic number)", errno="ELIBBAD")
    if machine != EM_AARCH64 or data[4] != 2 or data[5] != 1:
        raise ElfError(name, "not a 64-bit little-endian AArch64 ELF", errno="ELIBBAD")
    if (
        phentsize != PHDR_SIZE
        or not 1 <= phnum <= MAX_PHDR_BYTES // PHDR_SIZE
        or phoff + phnum * PHDR_SIZE > size
    ):
        raise ElfError(name, "its program header table cannot be read", errno="ELIBBAD")
    try:
        return _parse(file, name)
    except ElfError as e:
        raise ElfError(e.path, e.reason, e.errno, fatal=True) from None


def _symbol_tables(file: _File, sections: list) -> tuple[tuple[bytes, bytes], ...]:
    """The bytes of each .symtab and of its string table; none if there is none or it cannot
    be read.

    A broken symbol table is not an error: Linux ignores sections, so hmk runs such a file too,
    only without names for its functions. So is one larger than any program's (MAX_SYMBOLS).
    """
    out = []
    for sh in sections:
        sh_type, offset, size, link = itemgetter(1, 4, 5, 6)(sh)
        if sh_type != SHT_SYMTAB or link >= len(sections):
            continue
        count = size // SYM_SIZE
        _, strings_type, _, _, at, length, *_ = sections[link]
        if count > MAX_SYMBOLS or length > MAX_STRINGS or strings_type == SHT_NOBITS:
            continue
        if at + length > file.size:  # a string table's section of type NULL is not checked
            continue
        out.append((file.read(offset, count * SYM_SIZE), file.read(at, length)))
    return tuple(out)


def _func_symbols(tables: tuple[tuple[bytes, bytes], ...], bias: int) -> tuple[Symbol, ...]:
    """The named, defined FUNC symbols of `tables` (see _symbol_tables) at their load address
    (`bias` added), sorted."""
    rows = []
    for entries, strings in tables:
        table = np.frombuffer(entries, _SYM)
        funcs = table[((table["info"] & 0xF) == STT_FUNC) & (table["shndx"] != 0)]
        starts = funcs["name"].astype(np.int64)
        # a name ends at the first NUL at or after its start, else at the table's end (a start
        # past the end: an empty name, left out as one)
        nuls = np.append(np.flatnonzero(np.frombuffer(strings, np.uint8) == 0), len(strings))
        ends = nuls[np.minimum(np.searchsorted(nuls, starts), len(nuls) - 1)]
        names = zip(starts.tolist(), ends.tolist(), strict=True)
        places = zip(funcs["value"].tolist(), funcs["size"].tolist(), strict=True)
        for (start, end), (value, size) in zip(names, places, strict=True):
            if end > start:
                rows.append((value + bias, size, strings[start:end].decode("latin-1")))
    return tuple(Symbol(*row) for row in sorted(rows))


class _File:
    """The file being checked: its size, and its bytes read where they are needed."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name
        self.size = stream.seek(0, os.SEEK_END)

    def need(self, what: str, start: int, length: int) -> None:
        if start + length > self.size:
            raise ElfError(
                self.name,
                f"truncated: {what} needs file bytes {start:#x}-{start + length:#x} "
                f"but the file has only {self.size:#x} bytes",
            )

    def read(self, start: int, length: int, what: str = "a read") -> bytes:
        self.need(what, start, length)
        try:
            self.stream.seek(start)
            data = self.stream.read(length)
        except OSError as e:
            raise ElfError(self.name, f"cannot read: {e.strerror or e}", errno="EIO") from None
        if len(data) != length:
            raise ElfError(self.name, "the file changed while it was read", errno="EIO")
        return data


@contextmanager
def _opened(source: ElfSource, name: str) -> Iterator[_File]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield _File(BytesIO(source), name)
    elif isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115  (closed below)
        except OSError as e:
            raise ElfError(name, f"cannot open: {e.strerror or e}") from None
        with stream:
            yield _File(stream, name)
    else:
        yield _File(source, name)


def _enum_name(which: str, value: int, number_format: str) -> str:
    """pyelftools' name for an e_machine or e_type value (``which``: "E_MACHINE", "E_TYPE"), or
    the number in ``number_format`` when it has none (only for an error: imported then)."""
    from elftools.elf import enums  # noqa: PLC0415

    names = {v: k for k, v in getattr(enums, f"ENUM_{which}").items() if not k.startswith("_")}
    return names.get(value, format(value, number_format))


def _page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)

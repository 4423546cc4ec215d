"""hmk.cpu.elf: real AArch64 executables (static, static-pie, dynamically linked, and the
dynamic loader itself) load as readelf sees them; bad files give a one-line ElfError naming the
file, and the errno execve answers, never a traceback."""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmk.cpu.elf import (
    ELF_ET_DYN_BASE,
    PAGE_SIZE,
    ElfError,
    ElfImage,
    Symbol,
    dyn_load_bias,
    load_elf,
    parse_elf,
    parse_interpreter,
)
from hmk.workloads import bin_dir

GCC = shutil.which("aarch64-linux-gnu-gcc")
READELF = shutil.which("aarch64-linux-gnu-readelf") or shutil.which("readelf")
needs_gcc = pytest.mark.skipif(GCC is None, reason="aarch64-linux-gnu-gcc is not installed")

HELLO_C = r"""
#include <stdio.h>
int counter = 7;            /* .data */
static char buffer[65536];  /* .bss */
int square(int x) { return x * x; }
int main(int argc, char **argv) {
    buffer[argc] = 1;
    printf("hello %d\n", square(counter) + buffer[1]);
    return 0;
}
"""


def compile_c(out: Path, *flags: str) -> Path:
    src = out.with_suffix(".c")
    src.write_text(HELLO_C)
    subprocess.run([GCC, "-O1", *flags, "-o", str(out), str(src)], check=True)
    return out


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return tmp_path_factory.mktemp("elf")


@pytest.fixture(scope="module")
def static_exe(build):
    if GCC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    return compile_c(build / "hello_static", "-static")


@pytest.fixture(scope="module")
def static_pie(build):
    if GCC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    try:
        return compile_c(build / "hello_spie", "-static-pie")
    except subprocess.CalledProcessError:
        pytest.skip("the cross toolchain cannot link -static-pie (no rcrt1.o)")


@pytest.fixture(scope="module")
def dynamic_exe(build):
    if GCC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    return compile_c(build / "hello_dyn")


# --- what readelf (or, without binutils, pyelftools) says about a file -----------------------

LOAD_RE = re.compile(
    r"^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)"
    r"\s+([RWE ]+?)\s+(0x[0-9a-f]+)\s*$"
)


def reference_layout(path: Path) -> dict:
    """Entry, phoff, phnum and PT_LOADs (offset, vaddr, filesz, memsz, flags, align) of ``path``."""
    if READELF:
        out = subprocess.run(
            [READELF, "-hlW", str(path)], check=True, capture_output=True, text=True
        ).stdout
        loads = []
        for line in out.splitlines():
            m = LOAD_RE.match(line)
            if m:
                off, vaddr, filesz, memsz, flg, align = m.groups()
                flags = ("r" if "R" in flg else "-") + ("w" if "W" in flg else "-")
                flags += "x" if "E" in flg else "-"
                loads.append(
                    (int(off, 16), int(vaddr, 16), int(filesz, 16), int(memsz, 16), flags,
                     int(align, 16))
                )  # fmt: skip
        entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", out).group(1), 16)
        phoff = int(re.search(r"Start of program headers:\s+(\d+)", out).group(1))
        phnum = int(re.search(r"Number of program headers:\s+(\d+)", out).group(1))
        types = re.findall(r"^\s+([A-Z_]+)\s+0x", out.split("Program Headers:")[1], re.M)
        return dict(entry=entry, phoff=phoff, phnum=phnum, loads=loads, types=types)
    with open(path, "rb") as f:
        elf = ELFFile(f)
        loads = []
        for seg in elf.iter_segments("PT_LOAD"):
            h = seg.header
            fl = h.p_flags
            flags = ("r" if fl & 4 else "-") + ("w" if fl & 2 else "-") + ("x" if fl & 1 else "-")
            loads.append((h.p_offset, h.p_vaddr, h.p_filesz, h.p_memsz, flags, h.p_align))
        types = [s.header.p_type[3:] for s in elf.iter_segments()]
        return dict(entry=elf["e_entry"], phoff=elf["e_phoff"], phnum=elf["e_phnum"],
                    loads=loads, types=types)  # fmt: skip


def reference_func_symbols(path: Path) -> set[tuple[int, int, str]]:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        return {
            (s["st_value"], s["st_size"], s.name)
            for s in symtab.iter_symbols()
            if s["st_info"]["type"] == "STT_FUNC" and s["st_shndx"] != "SHN_UNDEF" and s.name
        }


# --- real executables ------------------------------------------------------------------------


def test_static_executable_matches_readelf(static_exe):
    ref = reference_layout(static_exe)
    image = load_elf(static_exe)
    data = static_exe.read_bytes()
    assert image.path == str(static_exe)
    assert image.elf_type == "ET_EXEC" and image.bias == 0
    assert image.entry == ref["entry"]
    assert image.phnum == ref["phnum"] and image.phentsize == 56
    got = [(s.offset, s.vaddr, s.filesz, s.memsz, s.flags, s.align) for s in image.segments]
    assert got == ref["loads"]
    assert len(got) >= 2  # text (r-x) and data+bss (rw-)
    assert [s.flags for s in image.segments][:2] == ["r-x", "rw-"]
    for seg in image.segments:
        assert seg.data == data[seg.offset : seg.offset + seg.filesz]
        assert len(seg.data) == seg.filesz <= seg.memsz
    data_seg = image.segments[1]
    assert data_seg.memsz - data_seg.filesz >= 65536  # the static buffer is .bss
    # No PT_PHDR in a -static link: AT_PHDR comes from the PT_LOAD that holds e_phoff.
    assert "PHDR" not in ref["types"]
    first = image.segments[0]
    assert first.offset <= ref["phoff"] < first.offset + first.filesz
    assert image.phdr_vaddr == first.vaddr + ref["phoff"] - first.offset
    # mm->brk: the end of the highest PT_LOAD, rounded up to a page.
    end = max(s.vaddr + s.memsz for s in image.segments)
    assert image.brk == (end + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE >= end
    assert image.brk % PAGE_SIZE == 0


def test_static_executable_symbols(static_exe):
    image = load_elf(static_exe)
    assert {(s.address, s.size, s.name) for s in image.symbols} == reference_func_symbols(
        static_exe
    )
    assert list(image.symbols) == sorted(image.symbols)
    by_name = {s.name: s for s in image.symbols}
    for name in ("main", "square", "_start", "printf"):
        assert name in by_name
    main = by_name["main"]
    assert image.symbol_at(main.address).address == main.address
    assert image.symbol_at(main.address + main.size - 1).address == main.address
    assert image.symbol_at(image.entry).name == "_start"
    assert image.symbol_at(0) is None
    assert (
        image.symbol_at(image.segments[1].vaddr) is None
        or image.symbol_at(image.segments[1].vaddr).address <= image.segments[1].vaddr
    )


def test_static_pie_gets_the_fixed_bias(static_pie):
    ref = reference_layout(static_pie)
    image = load_elf(static_pie)
    assert image.elf_type == "ET_DYN"
    assert "INTERP" not in ref["types"]
    aligns = [a for *_, a in ref["loads"]]
    first_vaddr = ref["loads"][0][1]
    align = max(max(aligns), PAGE_SIZE)
    assert image.bias == ((ELF_ET_DYN_BASE & ~(align - 1)) - first_vaddr) & ~(PAGE_SIZE - 1)
    if first_vaddr == 0 and align == 0x10000:
        assert image.bias == 0xAAAA_AAAA_0000  # where arm64 puts a PIE under setarch -R
    assert image.entry == ref["entry"] + image.bias
    got = [
        (s.offset, s.vaddr - image.bias, s.filesz, s.memsz, s.flags, s.align)
        for s in image.segments
    ]
    assert got == ref["loads"]
    first = image.segments[0]
    assert image.phdr_vaddr == first.vaddr + ref["phoff"] - first.offset
    by_name = {s.name: s for s in image.symbols}
    assert (
        by_name["main"].address
        == next(a for a, _, n in reference_func_symbols(static_pie) if n == "main") + image.bias
    )
    again = load_elf(static_pie)
    assert again.symbols == image.symbols and vars(again) == vars(image)  # deterministic


def test_dyn_load_bias_rules():
    # Largest power-of-two p_align wins, at least a page; non-powers of two are skipped.
    assert dyn_load_bias([(0, 0x10000), (0x1F000, 0x10000)]) == 0xAAAA_AAAA_0000
    assert dyn_load_bias([(0, 0x1000)]) == 0xAAAA_AAAA_A000
    assert dyn_load_bias([(0, 0x3000)]) == 0xAAAA_AAAA_A000
    assert dyn_load_bias([(0x10000, 0x10000)]) == 0xAAAA_AAA9_0000


# --- files hmk must refuse -------------------------------------------------------------------


def refused(path) -> str:
    with pytest.raises(ElfError) as info:
        load_elf(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path}: "), message
    assert info.value.path == str(path)
    return message[len(f"{path}: ") :]


def test_random_bytes(tmp_path):
    path = tmp_path / "noise"
    data = random.Random(3).randbytes(4096)
    assert data[:4] != b"\x7fELF"
    path.write_bytes(data)
    assert refused(path) == "not an ELF file (no \\x7fELF magic number)"


def test_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert refused(path) == "empty file, not an ELF executable"


def test_directory(tmp_path):
    assert refused(tmp_path) == "is a directory, not an executable"


def test_missing_file(tmp_path):
    assert refused(tmp_path / "nope") == "cannot open: No such file or directory"


def test_script(tmp_path):
    path = tmp_path / "script.sh"
    path.write_text("#!/bin/sh\necho hi\n")
    assert refused(path).startswith("a script (starts with #!), not an ELF executable")


@pytest.mark.parametrize(
    "offset, value, reason",
    [
        (18, 3, "not an AArch64 ELF (machine EM_386)"),
        (18, 168, "not an AArch64 ELF (machine EM_ECOG1X)"),  # two names: the last, as pyelftools
        (16, 0, "not an executable (e_type ET_NONE)"),
        (16, 0xFF00, "not an executable (e_type ET_LOPROC)"),
        (16, 5, "not an executable (e_type 5)"),
    ],
)
def test_machines_and_types_are_named_as_pyelftools_names_them(offset, value, reason):
    data = bytearray(Path(bin_dir() / "hello").read_bytes())
    data[offset : offset + 2] = struct.pack("<H", value)
    with pytest.raises(ElfError) as info:
        parse_elf(bytes(data), "p")
    assert info.value.reason == reason
    if offset == 18:  # what pyelftools calls it
        assert reason.endswith(f"(machine {ELFFile(io.BytesIO(data)).header['e_machine']})")


def test_host_binary_bin_ls():
    """/bin/ls is both dynamic and (on an x86-64 host) the wrong architecture. Linux checks the
    machine first (elf_check_arch, ENOEXEC) and never looks at the interpreter; so do we."""
    ls = Path("/bin/ls")
    if not ls.is_file() or ls.read_bytes()[:4] != b"\x7fELF":
        pytest.skip("no ELF /bin/ls on this host")
    head = ls.read_bytes()[:64]
    machine = struct.unpack_from("<H", head, 18)[0]
    if machine == 183:
        pytest.skip("an arm64 host: its /bin/ls is an AArch64 program")
    reason = refused(ls)
    if machine == 62:
        assert reason == "not an AArch64 ELF (machine EM_X86_64)"
    else:
        assert reason.startswith("not an AArch64 ELF (machine ")


def test_dynamic_aarch64_executable(dynamic_exe):
    """A PIE that names its dynamic loader: loaded at arm64's ELF_ET_DYN_BASE bias, as Linux
    loads a PIE with an interpreter, its PT_INTERP path kept for the kernel side to find."""
    image = load_elf(dynamic_exe)
    ref = reference_layout(dynamic_exe)
    assert "INTERP" in ref["types"] and image.elf_type == "ET_DYN"
    assert image.interp == b"/lib/ld-linux-aarch64.so.1"
    assert image.bias == dyn_load_bias([(v, a) for _, v, _, _, _, a in ref["loads"]])
    assert image.entry == ref["entry"] + image.bias
    got = [(s.offset, s.vaddr - image.bias, s.filesz, s.memsz, s.flags, s.align)
           for s in image.segments]  # fmt: skip
    assert got == ref["loads"]
    assert image.phdr_vaddr == ref["phoff"] + image.bias  # its PT_PHDR


def test_static_executables_name_no_interpreter(static_exe):
    assert load_elf(static_exe).interp is None


LOADER = Path("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")


@pytest.fixture(scope="module")
def loader() -> Path:
    if not LOADER.exists():
        pytest.skip(f"no AArch64 dynamic loader at {LOADER} (the cross toolchain's libc)")
    return LOADER


def test_the_dynamic_loader_loads_and_moves(loader):
    """ld-linux-aarch64.so.1 is an ET_DYN with no interpreter of its own; rebased() moves it
    (segments, entry, symbols) to where the kernel side places it."""
    image = parse_interpreter(loader.read_bytes(), str(loader))
    ref = reference_layout(loader.resolve())
    assert image.elf_type == "ET_DYN" and image.interp is None
    base = 0xDFFF_F7FC_0000
    moved = image.rebased(base)
    assert moved.bias == base and moved.entry == ref["entry"] + base
    got = [(s.offset, s.vaddr - base, s.filesz, s.memsz, s.flags, s.align) for s in moved.segments]
    assert got == ref["loads"]
    assert [s.address - base for s in moved.symbols] == [
        s.address - image.bias for s in image.symbols
    ]
    first, end = moved.span
    assert first == base + (ref["loads"][0][1] & ~(PAGE_SIZE - 1))
    assert end == base + ref["loads"][-1][1] + ref["loads"][-1][3]


def interpreter_error(data: bytes) -> ElfError:
    with pytest.raises(ElfError) as info:
        parse_interpreter(data, "ld.so")
    assert "\n" not in str(info.value) and str(info.value).startswith("ld.so: ")
    return info.value


def test_bad_interpreters_get_linuxs_errors(loader, static_exe):
    """Before execve's point of no return Linux reads the interpreter's ELF header (EIO when
    the file is shorter) and checks its magic, machine and program headers (ELIBBAD); what it
    finds only while mapping it (a bad type or segment) kills the process instead (fatal)."""
    good = loader.read_bytes()
    cases = {
        "short": (good[:40], "EIO", False),
        "script": (b"#!/bin/sh\n" + b"\0" * 64, "ELIBBAD", False),
        "x86-64": (patched(good, {18: struct.pack("<H", 62)}), "ELIBBAD", False),
        "elfclass32": (patched(good, {4: b"\x01"}), "ELIBBAD", False),
        "phentsize": (patched(good, {54: struct.pack("<H", 32)}), "ELIBBAD", False),
        "phdrs-cut": (good[:100], "ELIBBAD", False),
        "relocatable": (patched(good, {16: struct.pack("<H", 1)}), "ENOEXEC", True),
    }
    for case, (data, errno_name, fatal) in cases.items():
        err = interpreter_error(data)
        assert (case, err.errno, err.fatal) == (case, errno_name, fatal)
    # a static program may serve as an interpreter: Linux maps it and jumps to its entry
    assert parse_interpreter(static_exe.read_bytes(), "static").interp is None


@pytest.mark.parametrize("where", ["ident", "header", "phdrs", "text", "data", "last-byte"])
def test_truncated_copies(static_exe, tmp_path, where):
    data = static_exe.read_bytes()
    image = load_elf(static_exe)
    text, dat = image.segments[0], image.segments[1]
    cut = {
        "ident": 10,  # inside e_ident
        "header": 40,  # inside the ELF header
        "phdrs": 64 + 56 + 20,  # inside the second program header
        "text": text.offset + text.filesz // 2,
        "data": dat.offset + dat.filesz // 2,
        "last-byte": len(data) - 1,  # only the end of the section header table is missing
    }[where]
    path = tmp_path / f"cut_{where}"
    path.write_bytes(data[:cut])
    reason = refused(path)
    assert reason.startswith("truncated: "), reason
    if where in ("ident", "header"):
        assert reason == f"truncated: the ELF header is cut short ({cut} of 64 bytes)"
    if where == "phdrs":
        assert "the program header table" in reason
    if where in ("text", "data"):
        assert "(PT_LOAD)" in reason and f"{cut:#x} bytes" in reason


def patched(data: bytes, edits: dict[int, bytes]) -> bytes:
    out = bytearray(data)
    for off, blob in edits.items():
        out[off : off + len(blob)] = blob
    return bytes(out)


def phdr_field(data: bytes, index: int, name: str) -> tuple[int, str]:
    """(file offset, struct format) of a field of program header ``index``."""
    phoff = struct.unpack_from("<Q", data, 32)[0]
    fields = {"type": (0, "<I"), "offset": (8, "<Q"), "vaddr": (16, "<Q"), "filesz": (32, "<Q"),
              "memsz": (40, "<Q")}  # fmt: skip
    rel, fmt = fields[name]
    return phoff + 56 * index + rel, fmt


def set_phdr(data: bytes, index: int, name: str, value: int) -> bytes:
    off, fmt = phdr_field(data, index, name)
    return patched(data, {off: struct.pack(fmt, value)})


def get_phdr(data: bytes, index: int, name: str) -> int:
    off, fmt = phdr_field(data, index, name)
    return struct.unpack_from(fmt, data, off)[0]


def load_indices(data: bytes) -> list[int]:
    phnum = struct.unpack_from("<H", data, 56)[0]
    return [i for i in range(phnum) if get_phdr(data, i, "type") == 1]


@pytest.mark.parametrize(
    "case",
    ["elfclass32", "big-endian", "x86-64", "unknown-machine", "relocatable", "core",
     "phentsize", "no-phdrs", "no-pt-load", "overlap", "filesz>memsz", "incongruent",
     "outside", "interp-unterminated", "interp-short"],
)  # fmt: skip
def test_patched_headers(static_exe, tmp_path, case):
    data = static_exe.read_bytes()
    loads = load_indices(data)
    expect = {
        "elfclass32": "a 32-bit ELF (ELFCLASS32); hmk runs 64-bit AArch64 executables",
        "big-endian": "a big-endian ELF (ELFDATA2MSB); hmk runs little-endian AArch64 executables",
        "x86-64": "not an AArch64 ELF (machine EM_X86_64)",
        "unknown-machine": "not an AArch64 ELF (machine 0xfee1)",
        "relocatable": "a relocatable object file (ET_REL), not an executable; link it first",
        "core": "a core dump (ET_CORE), not an executable",
        "phentsize": "e_phentsize is 32, not the 56 bytes of an ELF64 phdr",
        "no-phdrs": "no program headers (e_phnum is 0), nothing to load",
        "no-pt-load": "no PT_LOAD segment, nothing to load",
    }
    if case == "elfclass32":
        data = patched(data, {4: b"\x01"})
    elif case == "big-endian":
        data = patched(data, {5: b"\x02"})
    elif case == "x86-64":
        data = patched(data, {18: struct.pack("<H", 62)})
    elif case == "unknown-machine":
        data = patched(data, {18: struct.pack("<H", 0xFEE1)})
    elif case == "relocatable":
        data = patched(data, {16: struct.pack("<H", 1)})
    elif case == "core":
        data = patched(data, {16: struct.pack("<H", 4)})
    elif case == "phentsize":
        data = patched(data, {54: struct.pack("<H", 32)})
    elif case == "no-phdrs":
        data = patched(data, {56: struct.pack("<H", 0)})
    elif case == "no-pt-load":
        for i in loads:
            data = set_phdr(data, i, "type", 0)  # PT_NULL
    elif case == "overlap":
        # Move the data segment into the text segment, keeping vaddr = offset (mod page).
        text_vaddr = get_phdr(data, loads[0], "vaddr")
        data_vaddr = get_phdr(data, loads[1], "vaddr")
        data = set_phdr(data, loads[1], "vaddr", text_vaddr + PAGE_SIZE + data_vaddr % PAGE_SIZE)
        expect[case] = "PT_LOAD segments overlap: "
    elif case == "filesz>memsz":
        memsz = get_phdr(data, loads[1], "memsz")
        data = set_phdr(data, loads[1], "filesz", memsz + 1)
        expect[case] = f"program header {loads[1]} (PT_LOAD) has p_filesz {memsz + 1:#x} > p_memsz"
    elif case == "incongruent":
        vaddr = get_phdr(data, loads[1], "vaddr")
        data = set_phdr(data, loads[1], "vaddr", vaddr + 8)
        expect[case] = f"program header {loads[1]} (PT_LOAD): p_vaddr {vaddr + 8:#x} and p_offset"
    elif case == "outside":
        data = set_phdr(data, loads[1], "vaddr", (1 << 48) - 0x1000 + 0x800)
        data = set_phdr(data, loads[1], "offset", 0x800)
        data = set_phdr(data, loads[1], "filesz", 0x100)
        expect[case] = f"program header {loads[1]} (PT_LOAD) at 0xfffffffff800-"
    elif case in ("interp-unterminated", "interp-short"):
        # Turn the PT_NOTE into a PT_INTERP pointing at a string we plant in the padding.
        phnum = struct.unpack_from("<H", data, 56)[0]
        note = next(i for i in range(phnum) if get_phdr(data, i, "type") == 4)  # PT_NOTE
        name = b"/lib/ld-fake.so.1" if case == "interp-unterminated" else b"/"
        spot = data.index(b"\0" * 64, 0x100)  # zero padding inside the text segment
        data = patched(data, {spot: name + b"x"})
        data = set_phdr(data, note, "type", 3)
        data = set_phdr(data, note, "offset", spot)
        data = set_phdr(data, note, "filesz", len(name))
        expect[case] = {
            "interp-unterminated": f"program header {note} (PT_INTERP): the interpreter path "
            "does not end in a NUL byte",
            "interp-short": f"program header {note} (PT_INTERP): an interpreter path of 1 bytes",
        }[case]
    path = tmp_path / case
    path.write_bytes(data)
    reason = refused(path)
    assert reason.startswith(expect[case]), reason


@needs_gcc
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(st.tuples(st.integers(0, 1023), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 4096)),
)
def test_corrupt_files_never_escape_as_other_exceptions(static_exe, edits, cut):
    """Flip header bytes, cut the file short: an ElfImage or an ElfError, nothing else."""
    data = bytearray(static_exe.read_bytes())
    for off, val in edits:
        data[off] = val
    if cut is not None:
        data = data[:cut]
    try:
        parse_elf(bytes(data), "fuzz").symbols  # noqa: B018  (decoded on first use)
    except ElfError as e:
        assert str(e).startswith("fuzz: ") and "\n" not in str(e)


# --- symbols: decoded on first use, as pyelftools reads them ----------------------------------


def elf_files(*paths: Path) -> list[Path]:
    return [
        p for p in paths if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF"
    ]


WITH_SYMBOLS = elf_files(*sorted(bin_dir().rglob("*")), *sorted(LOADER.parent.glob("*.so*")))


@pytest.mark.parametrize("path", WITH_SYMBOLS, ids=lambda p: p.name)
def test_symbols_as_pyelftools_reads_them(path):
    """Every named, defined FUNC symbol of every symbol table, with duplicates, sorted: the
    bundled programs (static, gcc's output) and the cross toolchain's libraries."""
    image = load_elf(path)
    with open(path, "rb") as f:
        elf = ELFFile(f)
        expected = sorted(
            (s["st_value"], s["st_size"], s.name)
            for table in elf.iter_sections("SHT_SYMTAB")
            for s in table.iter_symbols()
            if s["st_info"]["type"] == "STT_FUNC" and s["st_shndx"] != "SHN_UNDEF" and s.name
        )
    assert [(s.address - image.bias, s.size, s.name) for s in image.symbols] == expected


def reader_before(tables, bias: int) -> tuple[Symbol, ...]:
    """How hmk.cpu.elf decoded symbol tables before it did so with numpy: symbol by symbol."""
    out = []
    for entries, names in tables:
        table = np.frombuffer(entries, SYM)
        funcs = table[((table["info"] & 0xF) == 2) & (table["shndx"] != 0)]
        for start, value, extent in zip(funcs["name"], funcs["value"], funcs["size"], strict=True):
            end = names.find(b"\0", start)
            name = names[start : end if end >= 0 else len(names)].decode("latin-1")
            if name:
                out.append(Symbol(int(value) + bias, int(extent), name))
    return tuple(sorted(out))


SYM = np.dtype(
    [("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2")]
    + [("value", "<u8"), ("size", "<u8")]
)
SYMBOL_ROWS = st.lists(
    st.tuples(
        st.integers(0, 80),  # st_name: inside the strings, at their end, past it
        st.sampled_from([0x02, 0x12, 0x22, 0x01, 0x11, 0x1A]),  # FUNC or not, any binding
        st.sampled_from([0, 1, 0xFFF1]),  # undefined, a section, SHN_ABS
        st.integers(0, (1 << 64) - 1),
        st.integers(0, (1 << 64) - 1),
    ),
    max_size=24,
)


@settings(max_examples=300, deadline=None)
@given(
    tables=st.lists(st.tuples(SYMBOL_ROWS, st.binary(max_size=64)), max_size=3),
    bias=st.sampled_from([0, 0xAAAA_AAAA_0000]),
)
def test_symbols_decode_as_before(tables, bias):
    """Names without a NUL, past the strings, empty; aliases, undefined and non-FUNC symbols;
    several tables: the same symbols as the reader before."""
    raw = tuple(
        (np.array([(n, i, 0, x, v, z) for n, i, x, v, z in rows], SYM).tobytes(), strings)
        for rows, strings in tables
    )
    image = ElfImage(
        path="prog", elf_type="ET_DYN", bias=bias, entry=0, segments=(), phdr_vaddr=0,
        phnum=1, phentsize=56, brk=0, symbol_tables=raw,
    )  # fmt: skip
    assert image.symbols == reader_before(raw, bias)
    moved = image.rebased(bias + 0x10000)
    assert moved.symbols == reader_before(raw, bias + 0x10000)

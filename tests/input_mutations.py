"""Mutated user inputs for hmk: ELF files, hardware profiles, system files, command lines and
hmk.System options, each made from a `random.Random`: hypothesis draws one (st.randoms()) for
tests/test_input_fuzz.py, tools/fuzz_inputs.py seeds one, and both get the same kinds of input.

A mutation starts from a real input (the bundled static `hello`, the bundled rpi4 and kirin9000
profiles, the system presets) and changes a few things that matter to a loader: header fields
set to boundary values (0, all ones, 2^40, the file's size), values of the wrong type or out of
range, keys dropped, duplicated or misspelt, garbage and non-UTF-8 bytes, files cut short.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from hmk.hw.profile import profile_dir
from hmk.system import systems_dir
from hmk.workloads import path as workload

HELLO = workload("hello")
BOUNDARY = (0, 1, 2, 3, 7, 8, 16, 56, 63, 64, 255, 256, 4095, 4096, 65535, 65536)
BOUNDARY += (2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**40, 2**48, 2**62, 2**63 - 1, 2**63, 2**64 - 1)

# ---- ELF ----------------------------------------------------------------------------------
EHDR_FIELDS = [(4, 1), (5, 1), (6, 1), (7, 1), (16, 2), (18, 2), (20, 4), (24, 8), (32, 8)]
EHDR_FIELDS += [(40, 8), (48, 4), (52, 2), (54, 2), (56, 2), (58, 2), (60, 2), (62, 2)]
PHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]
SHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8)]
SHDR_FIELDS += [(56, 8)]


def elf_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every header field of an ELF64 file: its ELF header, program headers
    and section headers."""
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phnum, shnum = struct.unpack_from("<H", data, 56)[0], struct.unpack_from("<H", data, 60)[0]
    fields = list(EHDR_FIELDS)
    fields += [(phoff + 56 * i + at, n) for i in range(phnum) for at, n in PHDR_FIELDS]
    fields += [(shoff + 64 * i + at, n) for i in range(shnum) for at, n in SHDR_FIELDS]
    return fields


def mutate_elf(data: bytes, rng) -> bytes:
    """One to four edits of an ELF file: a header field set to a boundary value, a value near
    the file's size or a random one; random bytes in its headers; the file cut short; zeros
    added at its end."""
    fields = elf_fields(data)
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("field", "field", "field", "bytes", "cut", "pad"))
        if kind == "field":
            at, size = rng.choice(fields)
            if at + size > len(out):
                continue
            value = rng.choice(
                (rng.choice(BOUNDARY), len(out) + rng.randint(-64, 64), rng.getrandbits(64))
            )
            out[at : at + size] = (value % (1 << 8 * size)).to_bytes(size, "little")
        elif kind == "bytes":
            at, size = rng.choice(fields)
            at = min(at + rng.randint(-8, 8), len(out) - 1)
            if at >= 0:
                out[at : at + 1] = bytes([rng.getrandbits(8)])
        elif kind == "cut":
            out = out[
                : rng.choice((rng.randrange(80), rng.randrange(8192), rng.randrange(len(out) or 1)))
            ]
        else:
            out += bytes(rng.randrange(1, 8192))
    return bytes(out)


# ---- TOML files ---------------------------------------------------------------------------
VALUES = ("0", "-1", "1", "2", "3", "5", "64", "1.5", "0.001", "1e300", "-1e300", "nan", "inf")
VALUES += ("-inf", "-0.0", "9223372036854775807", "-9223372036854775808", "1099511627776")
VALUES += ("4294967296", "65537", "1_000", "0x10", "true", "false", '"x"', '""', '"in-order"')
VALUES += ('"plru"', '"nine"', '"IC1"', '"linux"', '"fsmgr"', '"a\\nb"', "[]", "[1, 2]")
VALUES += ('["fsmgr", "fsmgr"]', "{}", "{a = 1}", "1979-05-27", "[[[[[[[[1]]]]]]]]")
GARBAGE = ("=", "[", "]]", "[[cluster]]", "[l2]", "[[domain]]", '"', "\x00", "# x", "a.b = 1")
GARBAGE += ("\ufffd", "name = 1", "x = ", "[" * 2000 + "]" * 2000)
ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$")


def mutate_toml(text: str, rng) -> bytes:
    """One to three edits of a TOML file's lines: a value replaced (out of range, the wrong
    type, another key's value), a line dropped, duplicated or moved, a key misspelt, garbage or
    non-UTF-8 bytes added; the file's bytes."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        assigned = [i for i, line in enumerate(lines) if ASSIGNMENT.match(line)]
        kind = rng.choice(("value", "value", "value", "drop", "copy", "rename", "garbage"))
        if kind in ("value", "rename", "drop", "copy") and not assigned:
            kind = "garbage"
        if kind == "value":
            i = rng.choice(assigned)
            indent, key, eq, _ = ASSIGNMENT.match(lines[i]).groups()
            value = rng.choice((rng.choice(VALUES), str(rng.choice(BOUNDARY)), str(rng.random())))
            lines[i] = f"{indent}{key}{eq}{value}"
        elif kind == "drop":
            del lines[rng.choice(assigned)]
        elif kind == "copy":
            lines.insert(rng.randrange(len(lines) + 1), lines[rng.choice(assigned)])
        elif kind == "rename":
            i = rng.choice(assigned)
            indent, key, eq, value = ASSIGNMENT.match(lines[i]).groups()
            cut = rng.randrange(len(key))
            lines[i] = f"{indent}{key[:cut] + key[cut + 1 :] or 'k'}{eq}{value}"
        else:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(GARBAGE))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if rng.random() < 0.05:  # a byte that is no UTF-8
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bytes([rng.randrange(0x80, 0x100)]) + data[at:]
    return data


def profile_files(rng) -> dict[str, bytes]:
    """A SoC profile and its core types (relative path -> bytes), one file mutated."""
    soc = rng.choice(("rpi4", "kirin9000"))
    text = (profile_dir() / f"{soc}.toml").read_text()
    cores = sorted(set(re.findall(r'^core = "([^"]+)"', text, re.M)))
    files = {"soc.toml": text.encode()}
    files |= {
        f"cores/{c}.toml": (profile_dir() / "cores" / f"{c}.toml").read_bytes() for c in cores
    }
    which = rng.choice(sorted(files))
    files[which] = mutate_toml(files[which].decode(), rng)
    return files


def system_file(rng) -> bytes:
    presets = sorted(systems_dir().glob("*.toml"))
    return mutate_toml(rng.choice(presets).read_text(), rng)


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


# ---- the command line and hmk.System --------------------------------------------------------
def paths(root: Path) -> list[str]:
    """Places a user might name as a file: good ones, and ones that cannot be what is asked."""
    return [
        str(root / "out.txt"), str(root / "out.json"), str(root / "out.svg"), str(root / "o.png"),
        str(root), "/dev/null", "/dev/full", "/dev/zero", "/proc/x", "/no/such/dir/f", "",
        "-", str(root / "fifo"), str(root / "line\nbreak"), "/etc/hostname/x", "x" * 300,
    ]  # fmt: skip


NUMBERS = ("1e999", "nan", "-5", "0", "1.5", "10", "0x10", "1e9", "9" * 50, "inf", "ten", "")
PROFILES = ("kirin9000", "rpi4", "kirin990", "cortex-a76", "nope", "/dev/zero", "/no/such.toml")
SYSTEMS = ("hm-phone", "linux", "sel4", "fiasco", "nope", "/dev/zero", "/tmp", "x.toml")
CLUSTERS = ("0", "1", "9", "big", "little", "\u00b2", "-1", "9" * 30)
ENVS = ("A=1", "A", "=x", "PATH=/", "A=\x00")


def command_line(rng, root: Path, programs: list[str]) -> list[str]:
    """argv for hmk: a command with flags drawn from good and bad values, and one of
    `programs` (the first a good one)."""
    command = rng.choice(("run", "run", "run", "compare", "profiles", "systems", "syscalls"))
    if command == "profiles":
        return ["profiles", *rng.choice(([], ["show", rng.choice(PROFILES)], ["ladder", "x"]))]
    if command == "systems":
        return ["systems", *rng.choice(([], ["show", rng.choice(SYSTEMS)]))]
    if command == "syscalls":
        return ["syscalls", *rng.choice(([], ["--json"], ["--bogus"]))]
    argv = [command]
    flags = ["--profile", "--core", "-E", "-U", "--max-instructions", "--max-cycles", "--paging"]
    flags += ["--mount", "--rootfs", "--capabilities-only", "--ram", "--check-invariants"]
    if command == "run":
        flags += ["--system", "--stats", "--flamegraph", "--folded", "--speedscope", "--strace"]
    else:
        flags += ["--systems", "--plot", "--json", "--diff-flamegraph"]
    for flag in rng.sample(flags, rng.randint(0, 4)):
        if flag in ("--strace", "--capabilities-only", "--check-invariants"):
            argv.append(flag)
            continue
        value = {
            "--profile": PROFILES,
            "--core": CLUSTERS,
            "-E": ENVS,
            "-U": ("PATH", "", "X"),
            "--max-instructions": NUMBERS,
            "--max-cycles": NUMBERS,
            "--paging": ("kernel", "user", "none"),
            "--mount": (f"{root}:/m", "nocolon", "/no/such:/m", f"{root}:rel", f"{root}:/m:ro"),
            "--rootfs": (str(root), "/no/such", "/dev/null"),
            "--ram": ("512M", "64M", "2G", "1e999", "0", "64X", "\u00b2M", "17G", "4097"),
            "--system": SYSTEMS,
            "--systems": ("linux,sel4", "linux", "linux,nope", ",", "linux,hm-phone"),
        }.get(flag) or paths(root)
        argv += [flag, rng.choice(value)]
    if command == "run" or rng.random() < 0.9:  # the first program (a good one) half the time
        argv += ["--", programs[0] if rng.random() < 0.5 else rng.choice(programs)]
    return argv


OPTION_VALUES = {
    "profile": ("rpi4", "kirin9000", 3, None, "nope"),
    "system": ("linux", "hm-phone", "sel4", None, "x.toml"),
    "cluster": (None, 0, 1, "big", 9, True, -1, 1.5),
    "stdin": (b"", b"input\n", "text", 3, None),
    "ram": (64 << 20, "512M", "2G", 3, 5 << 20 | 1, 2**40, -1, "64X", 64.0, "\u00b2M"),
    "seed": (0, 1, 2**64 - 1, -1, 2**64, "1"),
    "paging": (None, "kernel", "user", "sometimes", 1),
    "impl": ("cython", "python", "c", None),
    "tick_us": (1000, 4000.0, -5, 0, 1e-9, float("nan"), float("inf"), "5", None),
    "capabilities_only": (None, True, False, "no"),
    "max_instructions": (None, 10**6, 0, -1, "x", 1.5, 2**70),
    "max_cycles": (None, 10**7, 0, 2**70, float("inf")),
    "stacks": (False, True, 1, None),
    "kernel_ipc": (None, 1.0, 0, -1, float("nan"), 100),
    "env": (None, ["A=1"], "PATH=/", [b"A=\x00"], [3], ["X"]),
    "libc_instructions": (0, 10, -1, 10**9, "3"),
    "mounts": ((), "a:/b", ["nocolon"], ["/no/such:/m"]),
    "rootfs": (None, "/no/such/root", 3),
    "strace": (None, "stderr", b"x"),
    "progress": (None, 5),
}


def system_options(rng) -> dict:
    """Keyword arguments for hmk.System: a few options, each a good or a bad value."""
    names = rng.sample(sorted(OPTION_VALUES), rng.randint(0, 4))
    return {name: rng.choice(OPTION_VALUES[name]) for name in names}

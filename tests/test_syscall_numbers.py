"""hmk.linux.numbers: every AArch64 Linux system call number, checked for its shape, for the rows
--strace already showed (which must not change), and against the Linux headers on this machine
(the asm-generic table run through the C preprocessor with arm64's defines, and the AArch64 cross
compiler's asm/unistd.h, which sets those defines itself)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hmk.linux.numbers import NUMBERS

# arm64's arch/arm64/include/uapi/asm/unistd.h, before it includes <asm-generic/unistd.h>
ARM64_WANTS = (
    "__ARCH_WANT_RENAMEAT",
    "__ARCH_WANT_NEW_STAT",
    "__ARCH_WANT_SET_GET_RLIMIT",
    "__ARCH_WANT_TIME32_SYSCALLS",
    "__ARCH_WANT_SYS_CLONE3",
    "__ARCH_WANT_MEMFD_SECRET",
)
# __NR3264_<x> -> the name the call has where __BITS_PER_LONG is 64
NAMES_64 = {
    "fcntl": "fcntl",
    "statfs": "statfs",
    "fstatfs": "fstatfs",
    "truncate": "truncate",
    "ftruncate": "ftruncate",
    "lseek": "lseek",
    "sendfile": "sendfile",
    "fstatat": "newfstatat",
    "fstat": "fstat",
    "mmap": "mmap",
    "fadvise64": "fadvise64",
}
# not calls: the table's size and the first of the architecture-specific slots
NOT_CALLS = {"__NR_syscalls", "__NR_arch_specific_syscall"}

GENERIC_HEADER = Path("/usr/include/asm-generic/unistd.h")
CROSS_HEADER = Path("/usr/aarch64-linux-gnu/include/asm/unistd.h")

# the rows --strace showed before this table: they must stay exactly as they are
KEPT = {
    17: ("getcwd", "pd"),
    23: ("dup", "d"),
    24: ("dup3", "ddx"),
    25: ("fcntl", "ddx"),
    29: ("ioctl", "dxp"),
    34: ("mkdirat", "dsx"),
    35: ("unlinkat", "dsx"),
    38: ("renameat", "dsds"),
    46: ("ftruncate", "dd"),
    48: ("faccessat", "dsx"),
    49: ("chdir", "s"),
    50: ("fchdir", "d"),
    56: ("openat", "dsxx"),
    57: ("close", "d"),
    59: ("pipe2", "px"),
    61: ("getdents64", "dpd"),
    62: ("lseek", "ddd"),
    63: ("read", "dpd"),
    64: ("write", "dpd"),
    65: ("readv", "dpd"),
    66: ("writev", "dpd"),
    67: ("pread64", "dpdd"),
    68: ("pwrite64", "dpdd"),
    73: ("ppoll", "pdppd"),  # (its sigsetsize was missing before)
    78: ("readlinkat", "dspd"),
    79: ("newfstatat", "dspx"),
    80: ("fstat", "dp"),
    82: ("fsync", "d"),
    83: ("fdatasync", "d"),
    93: ("exit", "d"),
    94: ("exit_group", "d"),
    95: ("waitid", "ddpxp"),
    96: ("set_tid_address", "p"),
    98: ("futex", "pxdppd"),
    99: ("set_robust_list", "pd"),
    101: ("nanosleep", "pp"),
    113: ("clock_gettime", "dp"),
    114: ("clock_getres", "dp"),
    115: ("clock_nanosleep", "dxpp"),
    124: ("sched_yield", ""),
    129: ("kill", "dd"),
    130: ("tkill", "dd"),
    131: ("tgkill", "ddd"),
    134: ("rt_sigaction", "dppd"),
    135: ("rt_sigprocmask", "dppd"),
    139: ("rt_sigreturn", ""),
    143: ("setregid", "dd"),
    144: ("setgid", "d"),
    145: ("setreuid", "dd"),
    146: ("setuid", "d"),
    147: ("setresuid", "ddd"),
    148: ("getresuid", "ppp"),
    149: ("setresgid", "ddd"),
    150: ("getresgid", "ppp"),
    153: ("times", "p"),
    154: ("setpgid", "dd"),
    155: ("getpgid", "d"),
    156: ("getsid", "d"),
    157: ("setsid", ""),
    158: ("getgroups", "dp"),
    159: ("setgroups", "dp"),
    160: ("uname", "p"),
    163: ("getrlimit", "dp"),
    164: ("setrlimit", "dp"),
    165: ("getrusage", "dp"),
    166: ("umask", "x"),
    167: ("prctl", "dxxxx"),
    169: ("gettimeofday", "pp"),
    172: ("getpid", ""),
    173: ("getppid", ""),
    174: ("getuid", ""),
    175: ("geteuid", ""),
    176: ("getgid", ""),
    177: ("getegid", ""),
    178: ("gettid", ""),
    179: ("sysinfo", "p"),
    214: ("brk", "p"),
    215: ("munmap", "px"),
    216: ("mremap", "pxxxp"),
    220: ("clone", "xppxp"),
    221: ("execve", "spp"),
    222: ("mmap", "pxxxdx"),
    226: ("mprotect", "pxx"),
    227: ("msync", "pxx"),
    233: ("madvise", "pxd"),
    260: ("wait4", "dpxp"),
    261: ("prlimit64", "ddpp"),
    276: ("renameat2", "dsdsx"),
    278: ("getrandom", "pdx"),
    279: ("memfd_create", "sx"),
    291: ("statx", "dsxxp"),
    293: ("rseq", "pdxx"),
    435: ("clone3", "pd"),
    439: ("faccessat2", "dsxx"),
}

BY_NUMBER = {nr: (name, kinds) for nr, name, kinds in NUMBERS}


def test_rows_are_number_name_kinds():
    for row in NUMBERS:
        assert len(row) == 3, row
        nr, name, kinds = row
        assert type(nr) is int and isinstance(name, str) and isinstance(kinds, str), row


def test_numbers_strictly_increase():
    numbers = [nr for nr, _, _ in NUMBERS]
    assert numbers[0] == 0
    bad = [(a, b) for a, b in zip(numbers, numbers[1:], strict=False) if b <= a]
    assert not bad, f"not strictly increasing: {bad}"
    assert len(set(numbers)) == len(numbers)


def test_numbers_cover_the_arm64_ranges_without_gaps():
    """0-243 and 260-294 whole, nothing in 244-259 (arch-specific, none on arm64) or 295-423
    (32-bit time64 calls), and 424 up to the newest call whole."""
    numbers = [nr for nr, _, _ in NUMBERS]
    newest = numbers[-1]
    assert newest >= 471  # rseq_slice_yield, Linux 7.0
    assert numbers == [*range(244), *range(260, 295), *range(424, newest + 1)]


def test_names_are_unique_identifiers_without_sys_prefix():
    names = [name for _, name, _ in NUMBERS]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"names used twice: {duplicates}"
    for name in names:
        assert name.isidentifier() and name == name.lower(), name
        assert not name.startswith(("sys_", "__NR")), name


def test_kinds_are_at_most_six_of_dxsp():
    for nr, name, kinds in NUMBERS:
        assert len(kinds) <= 6, (nr, name, kinds)
        assert set(kinds) <= set("dxsp"), (nr, name, kinds)


def test_rows_strace_showed_before_are_unchanged():
    changed = {nr: BY_NUMBER.get(nr) for nr, row in KEPT.items() if BY_NUMBER.get(nr) != row}
    assert not changed, f"rows that changed (now): {changed}, were: {[KEPT[n] for n in changed]}"


def test_3264_entries_have_their_64_bit_names():
    numbers = {"fcntl": 25, "statfs": 43, "fstatfs": 44, "truncate": 45, "ftruncate": 46}
    numbers |= {"lseek": 62, "sendfile": 71, "fstatat": 79, "fstat": 80, "mmap": 222}
    numbers |= {"fadvise64": 223}
    for base, name in NAMES_64.items():
        assert BY_NUMBER[numbers[base]][0] == name, (base, BY_NUMBER[numbers[base]], name)


def _compiler() -> str:
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no C compiler (cc, gcc or clang) to preprocess the Linux headers with")


def _header_calls(argv: list[str]) -> tuple[dict[int, str], int]:
    """Run the preprocessor (argv, with -dM) and read back {number: name} for every call
    number below __NR_syscalls, and __NR_syscalls."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stderr}"
    macros = dict(re.findall(r"^#define (__NR\w*) (.*)$", done.stdout, re.MULTILINE))

    def value(macro: str) -> int:
        text = macros[macro].strip()
        seen = {macro}
        while text in macros and text not in seen:  # an alias: __NR_fcntl -> __NR3264_fcntl
            seen.add(text)
            text = macros[text].strip()
        assert re.fullmatch(r"\d+", text), f"{macro} is {macros[macro]!r}, not a number"
        return int(text)

    assert "__NR_syscalls" in macros, "the header defines no __NR_syscalls"
    size = value("__NR_syscalls")
    names: dict[int, set[str]] = {}
    for macro in macros:
        if macro in NOT_CALLS:
            continue
        if macro.startswith("__NR3264_"):
            base = macro.removeprefix("__NR3264_")
            assert base in NAMES_64, f"{macro}: no 64-bit name known for it"
            name = NAMES_64[base]
        elif macro.startswith("__NR_"):
            name = macro.removeprefix("__NR_")
        else:
            continue
        nr = value(macro)
        if nr < size:
            names.setdefault(nr, set()).add(name)
    # the header's own 64-bit aliases (__NR_fcntl -> __NR3264_fcntl) and NAMES_64 must agree
    clashes = {nr: sorted(found) for nr, found in names.items() if len(found) > 1}
    assert not clashes, f"numbers with more than one name: {clashes}"
    return {nr: found.pop() for nr, found in names.items()}, size


def _check_against(header: dict[int, str], size: int, where: str) -> None:
    assert len(header) > 250, f"{where}: only {len(header)} calls read, the parse went wrong"
    differ = {nr: (name, BY_NUMBER.get(nr, (None,))[0]) for nr, name in header.items()}
    differ = {nr: pair for nr, pair in differ.items() if pair[0] != pair[1]}
    assert not differ, f"{where}: number: (header's name, NUMBERS' name): {differ}"
    extra = [(nr, name) for nr, name, _ in NUMBERS if nr < size and nr not in header]
    assert not extra, f"{where}: rows below its __NR_syscalls ({size}) it does not have: {extra}"


def test_agrees_with_the_generic_header_as_arm64_configures_it(tmp_path):
    if not GENERIC_HEADER.is_file():
        pytest.skip(f"{GENERIC_HEADER} is missing (Debian's linux-libc-dev installs it)")
    cc = _compiler()
    # the header's one include, <asm/bitsperlong.h>, as arm64's: 64-bit longs whatever the host
    (tmp_path / "asm").mkdir()
    (tmp_path / "asm" / "bitsperlong.h").write_text("#define __BITS_PER_LONG 64\n")
    argv = [cc, "-E", "-dM", "-nostdinc", "-I", str(tmp_path)]
    argv += [f"-D{want}" for want in ARM64_WANTS]
    argv += ["-include", str(GENERIC_HEADER), "-x", "c", "/dev/null"]
    header, size = _header_calls(argv)
    _check_against(header, size, str(GENERIC_HEADER))


def test_agrees_with_the_aarch64_cross_compilers_header():
    if not CROSS_HEADER.is_file():
        pytest.skip(f"{CROSS_HEADER} is missing (the AArch64 cross compiler's kernel headers)")
    cc = _compiler()
    include = CROSS_HEADER.parent.parent  # .../aarch64-linux-gnu/include
    argv = [cc, "-E", "-dM", "-nostdinc", "-I", str(include)]
    argv += ["-include", str(CROSS_HEADER), "-x", "c", "/dev/null"]
    header, size = _header_calls(argv)
    _check_against(header, size, str(CROSS_HEADER))

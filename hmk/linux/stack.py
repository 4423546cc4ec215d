"""The initial process stack, laid out byte for byte as arm64 Linux lays it out at execve.

Linux builds it in three places (fs/exec.c and fs/binfmt_elf.c):

* ``bprm_mm_init`` starts the stack one pointer below the top of the stack VMA
  (``bprm->p = vma->vm_end - sizeof(void *)``): the top 8 bytes stay zero.
* ``do_execveat_common`` copies, going down, the file name handed to execve (later pointed to
  by AT_EXECFN), then the environment strings, then the argument strings. ``copy_strings``
  copies the last string first, so in memory they read upwards in order: argv[0], argv[1], ...,
  envp[0], ..., execfn, 8 zero bytes, top.
* ``setup_arg_pages`` moves that block to the final stack top (relative layout unchanged),
  then ``create_elf_tables`` puts below it: the platform string, 16 random bytes, and the
  pointer block: argc, argv[] + NULL, envp[] + NULL, auxv pairs ending in AT_NULL, with argc
  at a 16-byte aligned sp.

Picture, higher addresses at the top (``stack_top`` is the end of the stack VMA)::

    stack_top     ->  8 zero bytes
                      execfn string                       <- AT_EXECFN
                      envp strings (envp[0] lowest)
                      argv strings (argv[0] lowest)       <- mm->arg_start
                      0-15 bytes: p & ~15 (arch_align_stack)
                      "aarch64\\0"                         <- AT_PLATFORM
                      16 random bytes                     <- AT_RANDOM
                      0-15 bytes of padding (STACK_ROUND)
                      auxv: (key, value) pairs, then AT_NULL, 0
                      NULL
                      envp[envc - 1] ... envp[0]
                      NULL
                      argv[argc - 1] ... argv[0]
    sp (16-aligned) -> argc

hmk lays it out with randomization off (``randomize_va_space=0`` or ``setarch -R``): arm64's
``arch_align_stack`` then only rounds down to 16 bytes, and the random bytes come from the
caller, so two runs build the same image. The tests compare this byte for byte with what the
host's real Linux kernel builds (on an x86-64 host, whose generic code is the same; only the
platform string and the auxv keys differ) and with qemu-aarch64, whose layout differs in
three documented ways.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hmk.cpu.elf import ElfImage
from hmk.hw.pagetable import PAGE_SIZE

# Auxiliary vector keys (include/uapi/linux/auxvec.h, arch/arm64/include/uapi/asm/auxvec.h).
AT_NULL = 0
AT_IGNORE = 1
AT_EXECFD = 2
AT_PHDR = 3
AT_PHENT = 4
AT_PHNUM = 5
AT_PAGESZ = 6
AT_BASE = 7
AT_FLAGS = 8
AT_ENTRY = 9
AT_UID = 11
AT_EUID = 12
AT_GID = 13
AT_EGID = 14
AT_PLATFORM = 15
AT_HWCAP = 16
AT_CLKTCK = 17
AT_SECURE = 23
AT_BASE_PLATFORM = 24
AT_RANDOM = 25
AT_HWCAP2 = 26
AT_RSEQ_FEATURE_SIZE = 27
AT_RSEQ_ALIGN = 28
AT_HWCAP3 = 29
AT_HWCAP4 = 30
AT_EXECFN = 31
AT_SYSINFO_EHDR = 33
AT_MINSIGSTKSZ = 51

AT_NAMES = {value: name for name, value in globals().items() if name.startswith("AT_")}
"""Key -> name, e.g. ``AT_NAMES[25] == "AT_RANDOM"``."""

AUXV_ORDER = (
    # ARCH_DLINFO comes first (arch/arm64/include/asm/elf.h): the vDSO, then the signal stack size.
    AT_SYSINFO_EHDR,
    AT_MINSIGSTKSZ,
    # Then create_elf_tables' own NEW_AUX_ENT calls, in source order.
    AT_HWCAP,
    AT_PAGESZ,
    AT_CLKTCK,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_BASE,
    AT_FLAGS,
    AT_ENTRY,
    AT_UID,
    AT_EUID,
    AT_GID,
    AT_EGID,
    AT_SECURE,
    AT_RANDOM,
    AT_HWCAP2,
    AT_HWCAP3,
    AT_HWCAP4,
    AT_EXECFN,
    AT_PLATFORM,
    AT_BASE_PLATFORM,
    AT_EXECFD,
    AT_RSEQ_FEATURE_SIZE,
    AT_RSEQ_ALIGN,
)
"""The order Linux's ``create_elf_tables`` writes auxv entries in on arm64; AT_NULL follows."""

# Entries create_elf_tables always writes (AT_HWCAP .. AT_SECURE, a run of AUXV_ORDER);
# build_stack wants them from the caller.
_REQUIRED = AUXV_ORDER[AUXV_ORDER.index(AT_HWCAP) : AUXV_ORDER.index(AT_SECURE) + 1]
# Pointers into the stack image: build_stack writes these itself.
_FILLED_IN = (AT_RANDOM, AT_EXECFN, AT_PLATFORM)

ELF_PLATFORM = b"aarch64"
"""arm64's ELF_PLATFORM (little-endian), copied to the stack and pointed to by AT_PLATFORM."""

MAX_ARG_STRLEN = 32 * PAGE_SIZE
"""Longest argument or environment string Linux accepts, NUL included (else E2BIG)."""

# AT_HWCAP bits (arch/arm64/include/uapi/asm/hwcap.h).
HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_EVTSTRM = 1 << 2
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_CPUID = 1 << 11

HWCAP_QEMU_CORTEX_A57 = 0x8FB
"""AT_HWCAP that qemu-aarch64 7.2 gives with ``-cpu cortex-a57`` (measured; a test checks it):
FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32 and CPUID."""

HWCAP_DEFAULT = HWCAP_QEMU_CORTEX_A57 & ~HWCAP_CPUID
"""hmk's AT_HWCAP: a plain ARMv8.0 core with FP/ASIMD, the crypto extension and CRC32 (0xfb).

It is qemu's cortex-a57 value without HWCAP_CPUID, because that bit promises that the kernel
traps and emulates EL0 reads of the ID registers (``mrs x0, midr_el1``), which hmk's kernel
does not do. Without it glibc takes MIDR as 0 and uses its generic string routines. No
HWCAP_EVTSTRM either (qemu does not set it; it says the generic timer's event stream is on).
AT_HWCAP2 is 0: none of its features exist in ARMv8.0.
"""

DEFAULT_UID = 1000
DEFAULT_GID = 1000
"""The guest runs as an ordinary user, not root, whatever user runs hmk (reproducible runs)."""


def auxv_for(
    image: ElfImage,
    interp: ElfImage | None = None,
    *,
    uid: int = DEFAULT_UID,
    euid: int | None = None,
    gid: int = DEFAULT_GID,
    egid: int | None = None,
    secure: int = 0,
    hwcap: int = HWCAP_DEFAULT,
    hwcap2: int = 0,
    pagesz: int = PAGE_SIZE,
    clktck: int = 100,
    minsigstksz: int | None = None,
) -> dict[int, int]:
    """The auxv values for running ``image``, for :func:`build_stack`: directly, or through
    its dynamic loader ``interp`` (an ElfImage at its load address).

    AT_PHDR, AT_PHNUM and AT_ENTRY are the program's (the loader finds the program through
    them), AT_BASE the interpreter's load bias (0 without one). AT_PAGESZ is 4096 (arm64 with
    4 KiB pages), AT_CLKTCK 100 (``CLOCKS_PER_SEC``, USER_HZ), AT_FLAGS 0, AT_PHENT 56,
    AT_HWCAP :data:`HWCAP_DEFAULT`, AT_HWCAP2 0 (arm64 always sends AT_HWCAP2).

    Left out unless asked for: AT_MINSIGSTKSZ (arm64 computes it from the signal frame of the
    CPU's features; pass ``minsigstksz`` once hmk delivers signals), AT_SYSINFO_EHDR (hmk maps
    no vDSO, so glibc makes real syscalls for the time), AT_RSEQ_FEATURE_SIZE/AT_RSEQ_ALIGN
    (hmk's rseq returns ENOSYS). glibc copes with each of them missing.
    """
    auxv = {
        AT_HWCAP: hwcap,
        AT_PAGESZ: pagesz,
        AT_CLKTCK: clktck,
        AT_PHDR: image.phdr_vaddr,
        AT_PHENT: image.phentsize,
        AT_PHNUM: image.phnum,
        AT_BASE: interp.bias if interp is not None else 0,
        AT_FLAGS: 0,
        AT_ENTRY: image.entry,
        AT_UID: uid,
        AT_EUID: uid if euid is None else euid,
        AT_GID: gid,
        AT_EGID: gid if egid is None else egid,
        AT_SECURE: secure,
        AT_HWCAP2: hwcap2,
    }
    if minsigstksz is not None:
        auxv[AT_MINSIGSTKSZ] = minsigstksz
    return auxv


def build_stack(
    stack_top: int,
    argv: Sequence[bytes],
    envp: Sequence[bytes],
    auxv: Mapping[int, int],
    execfn: bytes,
    random16: bytes,
    *,
    platform: bytes = ELF_PLATFORM,
) -> tuple[int, bytes]:
    """Lay out the initial stack below ``stack_top``; return ``(sp, image)``.

    ``image`` is the bytes of ``[sp, stack_top)``: write it at ``sp`` and start the program with
    that sp (argc is at sp). ``stack_top`` is the end of the stack VMA (page-aligned in Linux;
    16-byte aligned at least here). Strings are given without their NUL. ``auxv`` holds the
    values the caller computed (see :func:`auxv_for`): every entry Linux always writes must be
    there, optional ones (AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP2-4, AT_EXECFD, AT_RSEQ_*)
    are written when present. AT_RANDOM, AT_EXECFN and AT_PLATFORM point into the image and are
    filled in here. Entries come out in Linux's order (:data:`AUXV_ORDER`), AT_NULL last.
    ``platform`` exists so the tests can compare with an x86-64 host kernel ("x86_64").
    """
    if stack_top % 16:
        raise ValueError(f"stack_top {stack_top:#x} is not 16-byte aligned")
    if len(random16) != 16:
        raise ValueError(f"random16 must be 16 bytes, not {len(random16)}")
    for what, strings in (("argv", argv), ("envp", envp), ("execfn", [execfn])):
        for s in strings:
            if b"\0" in s:
                raise ValueError(f"{what} string {s!r} contains a NUL byte")
            if len(s) + 1 > MAX_ARG_STRLEN:
                raise ValueError(f"{what} string of {len(s)} bytes exceeds MAX_ARG_STRLEN (E2BIG)")
    unknown = set(auxv) - set(AUXV_ORDER)
    if unknown:
        raise ValueError(f"auxv keys Linux does not write on arm64: {_names(unknown)}")
    given = set(auxv) & {*_FILLED_IN, AT_BASE_PLATFORM}
    if given:
        raise ValueError(f"auxv keys build_stack fills in itself: {_names(given)}")
    missing = set(_REQUIRED) - set(auxv)
    if missing:
        raise ValueError(f"auxv lacks entries Linux always writes: {_names(missing)}")

    # bprm_mm_init: bprm->p = vma->vm_end - sizeof(void *). The top 8 bytes stay zero.
    p = stack_top - 8
    strings: list[tuple[int, bytes]] = []  # (address, bytes with NUL) to place in the image

    # do_execveat_common: copy_string_kernel(bprm->filename) first; bprm->exec = bprm->p is
    # the address AT_EXECFN will carry.
    p -= len(execfn) + 1
    u_execfn = p
    strings.append((p, execfn + b"\0"))

    # Then copy_strings(envc, envp), then copy_strings(argc, argv). Each copies its last string
    # first, going down, so each array ends up in ascending order in memory: argv[0] lowest.
    env_block = b"".join(s + b"\0" for s in envp)
    p -= len(env_block)
    env_start = p
    strings.append((p, env_block))
    arg_block = b"".join(s + b"\0" for s in argv)
    p -= len(arg_block)
    arg_start = p  # setup_arg_pages: mm->arg_start = bprm->p
    strings.append((p, arg_block))

    # create_elf_tables: p = arch_align_stack(p). On arm64 that subtracts a random amount below
    # PAGE_SIZE when randomization is on (off here), then rounds down to 16 bytes.
    p &= ~15

    # The platform string (ELF_PLATFORM, "aarch64"), STACK_ALLOC'd with no rounding.
    p -= len(platform) + 1
    u_platform = p
    strings.append((p, platform + b"\0"))
    # (arm64 has no ELF_BASE_PLATFORM, so no second string here.)

    # 16 random bytes for the user-space PRNG (glibc's stack protector and pointer guard).
    p -= 16
    u_rand_bytes = p
    strings.append((p, bytes(random16)))

    # The auxv, in create_elf_tables' order; ARCH_DLINFO's entries come first.
    values = dict(auxv)
    values[AT_RANDOM] = u_rand_bytes
    values[AT_EXECFN] = u_execfn
    values[AT_PLATFORM] = u_platform
    pairs = [(key, values[key]) for key in AUXV_ORDER if key in values]
    pairs.append((AT_NULL, 0))
    ei_index = 2 * len(pairs)  # words of auxv, AT_NULL included

    # sp = STACK_ADD(p, ei_index); items = (argc + 1) + (envc + 1) + 1;
    # bprm->p = STACK_ROUND(sp, items): ((sp - items) & ~15), pointers of 8 bytes.
    argc, envc = len(argv), len(envp)
    items = (argc + 1) + (envc + 1) + 1
    sp = (p - 8 * ei_index - 8 * items) & ~15

    # Fill [sp, stack_top): argc, argv[] + NULL, envp[] + NULL, auxv right after envp's NULL.
    # Everything not written (alignment gaps, the top 8 bytes) is zero, as on fresh pages.
    image = bytearray(stack_top - sp)
    words = [argc]
    q = arg_start
    for s in argv:
        words.append(q)
        q += len(s) + 1
    words.append(0)
    q = env_start
    for s in envp:
        words.append(q)
        q += len(s) + 1
    words.append(0)
    for key, value in pairs:
        words += (key, value)
    struct.pack_into(f"<{len(words)}Q", image, 0, *(w & 0xFFFF_FFFF_FFFF_FFFF for w in words))
    assert sp + 8 * len(words) <= u_rand_bytes
    for addr, blob in strings:
        image[addr - sp : addr - sp + len(blob)] = blob
    return sp, bytes(image)


@dataclass(frozen=True)
class InitialStack:
    """A decoded initial stack: what a program finds at its entry sp."""

    sp: int
    argc: int
    argv: tuple[int, ...]  # the argv pointers
    envp: tuple[int, ...]  # the envp pointers
    auxv: tuple[tuple[int, int], ...]  # (key, value) pairs in stack order, AT_NULL excluded
    auxv_address: int  # where the first auxv pair is
    strings: dict[int, bytes]  # every argv/envp pointer -> the NUL-terminated string there

    def auxv_dict(self) -> dict[int, int]:
        return dict(self.auxv)

    def argv_strings(self) -> list[bytes]:
        return [self.strings[a] for a in self.argv]

    def envp_strings(self) -> list[bytes]:
        return [self.strings[a] for a in self.envp]


def read_stack(sp: int, image: bytes) -> InitialStack:
    """Decode an initial stack image that starts at ``sp`` (ours, or one dumped from a process).

    Raises ValueError if it is not well formed: a pointer outside the image, no NULL after
    argv or envp, or no AT_NULL.
    """

    def word(addr: int) -> int:
        off = addr - sp
        if off < 0 or off + 8 > len(image):
            raise ValueError(f"stack word at {addr:#x} is outside [{sp:#x}, {sp + len(image):#x})")
        return struct.unpack_from("<Q", image, off)[0]

    def string(addr: int) -> bytes:
        off = addr - sp
        end = image.find(b"\0", off) if 0 <= off < len(image) else -1
        if end < 0:
            raise ValueError(f"no NUL-terminated string at {addr:#x} inside the image")
        return bytes(image[off:end])

    argc = word(sp)
    argv = tuple(word(sp + 8 * (1 + i)) for i in range(argc))
    if word(sp + 8 * (1 + argc)):
        raise ValueError("argv[argc] is not NULL")
    q = sp + 8 * (2 + argc)
    envp = []
    while (v := word(q)) != 0:
        envp.append(v)
        q += 8
    q += 8
    auxv_address = q
    auxv = []
    while (key := word(q)) != AT_NULL:
        auxv.append((key, word(q + 8)))
        q += 16
    strings = {a: string(a) for a in (*argv, *envp)}
    return InitialStack(sp, argc, argv, tuple(envp), tuple(auxv), auxv_address, strings)


def _names(keys: set[int]) -> str:
    return ", ".join(AT_NAMES.get(k, str(k)) for k in sorted(keys))

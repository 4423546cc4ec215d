"""hmk.linux.stack: the initial stack as Linux lays it out.

Three kinds of check:

* structure: alignment, argc, every pointer at its string, auxv order and AT_NULL, and one
  layout worked out by hand from fs/binfmt_elf.c;
* the real Linux kernel of this machine: a static probe (native, so it runs without binfmt_misc)
  dumps its whole initial stack under ``setarch -R`` (no randomization), and build_stack, given
  the same strings, auxv values, random bytes and stack top, must produce the same bytes. The
  generic code (fs/exec.c, create_elf_tables) is shared by all architectures; on x86-64 only
  the platform string ("x86_64") and arch_align_stack's random range differ, and the latter is
  off under setarch -R;
* qemu-aarch64 running the same probe built for AArch64. qemu-user's loader is a port of
  Linux's and agrees on the strings, the pointer arrays and the auxv values, but provably
  differs in three places (linux-user/elfload.c ``create_elf_tables``, util/envlist.c), where
  hmk follows Linux and the test checks qemu against qemu's own rule:
  1. auxv order: qemu writes AT_PHDR first and AT_HWCAP after AT_EGID; Linux writes
     ARCH_DLINFO, then AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, ...;
  2. platform and random bytes: Linux rounds p down to 16 (arch_align_stack) and then puts
     the platform string and the 16 random bytes right below it; qemu puts the platform string
     (length rounded up to 8) right below the strings and aligns to 16 before the random bytes;
  3. the environment: qemu collects its own environment into an envlist with
     QLIST_INSERT_HEAD, so the guest sees it in reverse order. The comparison uses the
     environment as the guest saw it.
"""

from __future__ import annotations

import platform
import shutil
import struct
import subprocess
import sys

import pytest

from hmk.cpu.elf import ElfImage, load_elf
from hmk.linux.stack import (
    AT_BASE,
    AT_CLKTCK,
    AT_EGID,
    AT_ENTRY,
    AT_EUID,
    AT_EXECFN,
    AT_FLAGS,
    AT_GID,
    AT_HWCAP,
    AT_HWCAP2,
    AT_MINSIGSTKSZ,
    AT_NULL,
    AT_PAGESZ,
    AT_PHDR,
    AT_PHENT,
    AT_PHNUM,
    AT_PLATFORM,
    AT_RANDOM,
    AT_SECURE,
    AT_SYSINFO_EHDR,
    AT_UID,
    AUXV_ORDER,
    HWCAP_CPUID,
    HWCAP_DEFAULT,
    HWCAP_QEMU_CORTEX_A57,
    auxv_for,
    build_stack,
    read_stack,
)

CROSS_GCC = shutil.which("aarch64-linux-gnu-gcc")
QEMU = shutil.which("qemu-aarch64")
HOST_GCC = shutil.which("gcc")
SETARCH = shutil.which("setarch")

TOP = 0xFFFF_FFFF_F000  # an arm64 stack top below 1 << 48
RANDOM16 = bytes(range(0xA0, 0xB0))


def fake_image(**kw) -> ElfImage:
    values = dict(
        path="prog", elf_type="ET_EXEC", bias=0, entry=0x400580, segments=(),
        phdr_vaddr=0x400040, phnum=6, phentsize=56, brk=0x4A8000,
    )  # fmt: skip
    values.update(kw)
    return ElfImage(**values)


def words_at(image: bytes, sp: int, addr: int, n: int = 1) -> tuple[int, ...]:
    return struct.unpack_from(f"<{n}Q", image, addr - sp)


def cstring(image: bytes, sp: int, addr: int) -> bytes:
    off = addr - sp
    return image[off : image.index(b"\0", off)]


# --- structure -------------------------------------------------------------------------------


def test_layout_structure():
    argv = [b"/bin/prog", b"-x", b"", b"last arg"]
    envp = [b"A=1", b"LONG=" + b"x" * 100, b"Z="]
    execfn = b"/bin/prog"
    auxv = auxv_for(fake_image())
    sp, image = build_stack(TOP, argv, envp, auxv, execfn, RANDOM16)

    assert sp % 16 == 0 and len(image) == TOP - sp
    assert image[-8:] == bytes(8)  # bprm_mm_init: the top pointer-sized slot stays zero
    (argc,) = words_at(image, sp, sp)
    assert argc == len(argv)
    argp = words_at(image, sp, sp + 8, argc + 1)
    envpp = words_at(image, sp, sp + 8 * (argc + 2), len(envp) + 1)
    assert argp[-1] == 0 and envpp[-1] == 0
    assert [cstring(image, sp, a) for a in argp[:-1]] == argv
    assert [cstring(image, sp, a) for a in envpp[:-1]] == envp
    # Strings are contiguous and ascending: argv[0] lowest, then envp, then execfn, 8 zeros, top.
    addrs = [*argp[:-1], *envpp[:-1]]
    blobs = [*argv, *envp]
    for a, b, s in zip(addrs, addrs[1:], blobs, strict=False):
        assert b == a + len(s) + 1
    aux_at = sp + 8 * (argc + 1 + len(envp) + 1 + 1)  # right after envp's NULL
    pairs = []
    q = aux_at
    while True:
        key, value = words_at(image, sp, q, 2)
        q += 16
        if key == AT_NULL:
            assert value == 0
            break
        pairs.append((key, value))
    aux = dict(pairs)
    assert len(aux) == len(pairs)  # no key twice
    execfn_at = envpp[-2] + len(envp[-1]) + 1
    assert aux[AT_EXECFN] == execfn_at and cstring(image, sp, execfn_at) == execfn
    assert execfn_at + len(execfn) + 1 == TOP - 8
    # Linux's auxv order; everything the caller gave comes back unchanged.
    assert [k for k, _ in pairs] == [k for k in AUXV_ORDER if k in aux]
    assert [k for k, _ in pairs][:3] == [AT_HWCAP, AT_PAGESZ, AT_CLKTCK]
    assert [k for k, _ in pairs][-3:] == [AT_HWCAP2, AT_EXECFN, AT_PLATFORM]
    for key, value in auxv.items():
        assert aux[key] == value
    # Platform string at (argv[0] & ~15) - 8, random bytes right below it.
    assert aux[AT_PLATFORM] == (argp[0] & ~15) - len(b"aarch64\0")
    assert image[aux[AT_PLATFORM] - sp :][:8] == b"aarch64\0"
    assert aux[AT_RANDOM] == aux[AT_PLATFORM] - 16
    assert image[aux[AT_RANDOM] - sp :][:16] == RANDOM16
    # Between the auxv's end and the random bytes: less than 16 bytes, all zero.
    assert 0 <= aux[AT_RANDOM] - q < 16 and image[q - sp : aux[AT_RANDOM] - sp] == bytes(
        aux[AT_RANDOM] - q
    )
    # read_stack agrees with this hand decoding.
    st = read_stack(sp, image)
    assert st.argc == argc and st.argv_strings() == argv and st.envp_strings() == envp
    assert st.auxv == tuple(pairs) and st.auxv_address == aux_at


def test_worked_example():
    """One layout computed by hand, step by step, from fs/exec.c and create_elf_tables."""
    top = 0x1000_0000
    auxv = auxv_for(fake_image())
    del auxv[AT_HWCAP2]  # only the 14 entries Linux always writes
    sp, image = build_stack(top, [b"a"], [], auxv, b"a", RANDOM16)
    # p = top - 8 = 0xffffff8; execfn "a\0" -> 0xffffff6 (AT_EXECFN); no environment;
    # argv[0] "a\0" -> 0xffffff4; p & ~15 = 0xffffff0; "aarch64\0" -> 0xfffffe8 (AT_PLATFORM);
    # random -> 0xfffffd8 (AT_RANDOM); auxv: 14 + 3 entries + AT_NULL = 36 words = 0x120;
    # items: argc, argv[0], NULL, NULL = 4 words = 0x20; sp = (0xfffffd8 - 0x140) & ~15.
    assert sp == 0xFFFFE90 and len(image) == 0x170
    st = read_stack(sp, image)
    assert st.argv == (0xFFFFFF4,) and st.envp == ()
    aux = st.auxv_dict()
    assert aux[AT_EXECFN] == 0xFFFFFF6
    assert aux[AT_PLATFORM] == 0xFFFFFE8 and aux[AT_RANDOM] == 0xFFFFFD8
    assert len(st.auxv) == 17
    assert st.auxv_address == sp + 8 * 4 and st.auxv_address + 16 * 18 == 0xFFFFFD0


def test_auxv_for_standard_values():
    image = fake_image(entry=0x401234, phdr_vaddr=0x400040, phnum=9)
    aux = auxv_for(image)
    assert aux == {
        AT_HWCAP: 0xFB, AT_PAGESZ: 4096, AT_CLKTCK: 100, AT_PHDR: 0x400040, AT_PHENT: 56,
        AT_PHNUM: 9, AT_BASE: 0, AT_FLAGS: 0, AT_ENTRY: 0x401234, AT_UID: 1000,
        AT_EUID: 1000, AT_GID: 1000, AT_EGID: 1000, AT_SECURE: 0, AT_HWCAP2: 0,
    }  # fmt: skip
    assert HWCAP_DEFAULT == HWCAP_QEMU_CORTEX_A57 & ~HWCAP_CPUID == 0xFB
    aux = auxv_for(image, uid=0, euid=5, gid=7, hwcap=3, minsigstksz=5120)
    assert (aux[AT_UID], aux[AT_EUID], aux[AT_GID], aux[AT_EGID]) == (0, 5, 7, 7)
    assert aux[AT_HWCAP] == 3 and aux[AT_MINSIGSTKSZ] == 5120
    # ARCH_DLINFO's entries come first.
    sp, img = build_stack(TOP, [b"p"], [], {**aux, AT_SYSINFO_EHDR: 0x7000}, b"p", RANDOM16)
    keys = [k for k, _ in read_stack(sp, img).auxv]
    assert keys[:3] == [AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_HWCAP]


def test_auxv_for_a_program_with_an_interpreter():
    """AT_PHDR, AT_PHNUM and AT_ENTRY stay the program's; AT_BASE is the interpreter's bias,
    which puts it at the top of the mmap area (load_elf_interp's mmap of its whole span)."""
    from hmk.cpu.elf import Segment  # noqa: PLC0415
    from hmk.linux.layout import MMAP_BASE, interpreter_bias  # noqa: PLC0415

    seg = Segment(vaddr=0, memsz=0x2A000, filesz=0x2A000, offset=0, flags="r-x", align=0x10000,
                  data=b"")  # fmt: skip
    data = Segment(vaddr=0x3B000, memsz=0x2345, filesz=0x1000, offset=0x2B000, flags="rw-",
                   align=0x10000, data=b"")  # fmt: skip
    loader = fake_image(elf_type="ET_DYN", entry=0x1C40, segments=(seg, data))
    bias = interpreter_bias(loader)
    assert bias == MMAP_BASE - 0x3E000  # 0x3B000 + 0x2345, page aligned up
    moved = loader.rebased(bias)
    program = fake_image(entry=0x401234, interp=b"/lib/ld-linux-aarch64.so.1")
    aux = auxv_for(program, moved)
    assert (aux[AT_BASE], aux[AT_ENTRY], aux[AT_PHDR]) == (bias, 0x401234, 0x400040)
    assert moved.entry == bias + 0x1C40 and moved.span == (bias, bias + 0x3D345)
    assert interpreter_bias(fake_image(segments=(seg,))) == 0  # an ET_EXEC one stays put


def test_deterministic_and_random_bytes_only_where_they_belong():
    aux = auxv_for(fake_image())
    a = build_stack(TOP, [b"p", b"q"], [b"E=1"], aux, b"p", RANDOM16)
    assert a == build_stack(TOP, [b"p", b"q"], [b"E=1"], aux, b"p", RANDOM16)
    b = build_stack(TOP, [b"p", b"q"], [b"E=1"], aux, b"p", bytes(16))
    assert a[0] == b[0]
    diff = [i for i, (x, y) in enumerate(zip(a[1], b[1], strict=True)) if x != y]
    rand_off = read_stack(*a).auxv_dict()[AT_RANDOM] - a[0]
    assert diff and all(rand_off <= i < rand_off + 16 for i in diff)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(stack_top=TOP + 8), "not 16-byte aligned"),
        (dict(random16=b"short"), "random16 must be 16 bytes"),
        (dict(argv=[b"a\0b"]), "contains a NUL byte"),
        (dict(envp=[b"X" * 131072]), "MAX_ARG_STRLEN"),
        (dict(auxv_extra={AT_RANDOM: 1}), "fills in itself: AT_RANDOM"),
        (dict(auxv_extra={99: 1}), "does not write on arm64: 99"),
        (dict(auxv_drop=AT_PHDR), "lacks entries Linux always writes: AT_PHDR"),
    ],
)
def test_bad_arguments(change, message):
    aux = auxv_for(fake_image())
    aux.update(change.pop("auxv_extra", {}))
    aux.pop(change.pop("auxv_drop", None), None)
    args = dict(stack_top=TOP, argv=[b"p"], envp=[], auxv=aux, execfn=b"p", random16=RANDOM16)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        build_stack(**args)


def test_read_stack_rejects_garbage():
    with pytest.raises(ValueError):
        read_stack(0x1000, bytes(8))  # argc 0, then argv's NULL is outside
    with pytest.raises(ValueError):
        read_stack(0x1000, struct.pack("<3Q", 1, 0x5000, 0))  # argv[0] outside the image


# --- comparison with real Linux and with qemu-aarch64 ------------------------------------------

PROBE_C = r"""
#include <stdio.h>
/* Print the initial stack as the kernel left it: sp, the stack VMA's end, the program's own
   view of argv/envp/auxv, and every byte of [sp, top). Nothing before main writes there. */
int main(int argc, char **argv, char **envp) {
    unsigned long sp = (unsigned long)(argv - 1), top = 0, lo, hi, *a;
    unsigned char *c;
    char line[512];
    int i;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= sp && sp < hi)
            top = hi;
    printf("sp %lx\ntop %lx\nargc %d\n", sp, top, argc);
    for (i = 0; i < argc; i++)
        printf("argv %lx %s\n", (unsigned long)argv[i], argv[i]);
    for (i = 0; envp[i]; i++)
        printf("envp %lx %s\n", (unsigned long)envp[i], envp[i]);
    for (a = (unsigned long *)(envp + i + 1); a[0]; a += 2)
        printf("auxv %lu %lx\n", a[0], a[1]);
    printf("image ");
    for (c = (unsigned char *)sp; c < (unsigned char *)top; c++)
        printf("%02x", *c);
    printf("\n");
    return 0;
}
"""

# Arguments chosen so argv[0] falls at different offsets modulo 16.
ARGV_TAILS = [[], ["x", "yy"], ["a" * 13, "", "bc"]]
ENV = {"A": "1", "B": "22"}


def parse_probe(out: str) -> dict:
    d: dict = {"argv": [], "envp": [], "auxv": []}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        if key in ("sp", "top"):
            d[key] = int(rest, 16)
        elif key == "argc":
            d[key] = int(rest)
        elif key in ("argv", "envp"):
            addr, _, text = rest.partition(" ")
            d[key].append((int(addr, 16), text.encode()))
        elif key == "auxv":
            k, v = rest.split()
            d[key].append((int(k), int(v, 16)))
        elif key == "image":
            d[key] = bytes.fromhex(rest)
    assert d["top"] > d["sp"] and len(d["image"]) == d["top"] - d["sp"], "stack VMA not found"
    return d


def rebuild(d: dict, platform_string: bytes) -> tuple[int, bytes]:
    """build_stack with what the kernel used: strings, auxv values, random bytes, stack top."""
    aux = dict(d["auxv"])
    image, sp = d["image"], d["sp"]
    given = {k: v for k, v in aux.items() if k not in (AT_RANDOM, AT_EXECFN, AT_PLATFORM)}
    return build_stack(
        d["top"],
        [s for _, s in d["argv"]],
        [s for _, s in d["envp"]],
        given,
        cstring(image, sp, aux[AT_EXECFN]),
        image[aux[AT_RANDOM] - sp :][:16],
        platform=platform_string,
    )


def check_program_view(d: dict) -> None:
    """read_stack on the raw dump sees what the program itself saw."""
    st = read_stack(d["sp"], d["image"])
    assert st.argc == d["argc"] == len(d["argv"])
    assert list(zip(st.argv, st.argv_strings(), strict=True)) == d["argv"]
    assert list(zip(st.envp, st.envp_strings(), strict=True)) == d["envp"]
    assert list(st.auxv) == d["auxv"]


@pytest.fixture(scope="module")
def host_probe(tmp_path_factory):
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the real-kernel comparison runs on an x86-64 Linux host")
    if HOST_GCC is None or SETARCH is None:
        pytest.skip("needs gcc and setarch on the host")
    d = tmp_path_factory.mktemp("hostprobe")
    (d / "probe.c").write_text(PROBE_C)
    exe = d / "probe"
    r = subprocess.run([HOST_GCC, "-static", "-O1", "-o", str(exe), str(d / "probe.c")],
                       capture_output=True)  # fmt: skip
    if r.returncode:
        pytest.skip("the host gcc cannot link -static (no static libc)")
    r = subprocess.run([SETARCH, "-R", str(exe)], capture_output=True, env=ENV)
    if r.returncode:
        pytest.skip(f"setarch -R does not work here: {r.stderr.decode().strip()}")
    return exe


@pytest.mark.parametrize("tail", ARGV_TAILS)
def test_same_bytes_as_the_linux_kernel(host_probe, tail):
    """Byte for byte what this machine's Linux kernel builds (x86-64; see the module doc)."""
    r = subprocess.run(
        [SETARCH, "-R", str(host_probe), *tail], check=True, capture_output=True, env=ENV
    )
    d = parse_probe(r.stdout.decode())
    check_program_view(d)
    assert [s for _, s in d["argv"]] == [str(host_probe).encode(), *(t.encode() for t in tail)]
    assert [s for _, s in d["envp"]] == [b"A=1", b"B=22"]  # Linux keeps the order
    sp, image = rebuild(d, b"x86_64")
    assert sp == d["sp"]
    assert image == d["image"]


# qemu-user's auxv order (linux-user/elfload.c create_elf_tables): its ARCH_DLINFO (none for
# aarch64 in qemu 7.2) first, then these; AT_SYSINFO_EHDR last when it maps a vDSO (qemu 8.1+).
QEMU_AUXV_ORDER = (
    AT_MINSIGSTKSZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY,
    AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_CLKTCK, AT_RANDOM, AT_SECURE, AT_EXECFN,
    AT_HWCAP2, AT_PLATFORM, AT_SYSINFO_EHDR,
)  # fmt: skip


@pytest.fixture(scope="module")
def aarch64_probe(tmp_path_factory):
    if CROSS_GCC is None or QEMU is None:
        pytest.skip("needs aarch64-linux-gnu-gcc and qemu-aarch64")
    d = tmp_path_factory.mktemp("a64probe")
    (d / "probe.c").write_text(PROBE_C)
    exe = d / "probe"
    subprocess.run([CROSS_GCC, "-static", "-O1", "-o", str(exe), str(d / "probe.c")], check=True)
    return exe


def run_qemu(exe, *args, cpu: str | None = None) -> dict:
    cmd = [QEMU, *(["-cpu", cpu] if cpu else []), str(exe), *args]
    r = subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return parse_probe(r.stdout.decode())


@pytest.mark.parametrize("tail", ARGV_TAILS)
def test_against_qemu_user(aarch64_probe, tail):
    q = run_qemu(aarch64_probe, *tail)
    check_program_view(q)
    qst = read_stack(q["sp"], q["image"])
    # (3) qemu reverses the environment; we build with the environment as the guest saw it.
    assert [s for _, s in q["envp"]] == [b"B=22", b"A=1"]
    sp, image = rebuild(q, b"aarch64")
    ours = read_stack(sp, image)
    argv0 = ours.argv[0]

    # The same: the string area from argv[0] to the top (argv, envp, execfn, 8 zero bytes) ...
    assert argv0 == qst.argv[0]
    assert image[argv0 - sp :] == q["image"][argv0 - q["sp"] :]
    # ... argc and every argv/envp pointer ...
    assert (ours.argc, ours.argv, ours.envp) == (qst.argc, qst.argv, qst.envp)
    # ... the auxv keys, and every value that is not a pointer to the platform or random bytes.
    ours_aux, q_aux = ours.auxv_dict(), qst.auxv_dict()
    assert set(ours_aux) == set(q_aux)
    for key in set(q_aux) - {AT_PLATFORM, AT_RANDOM}:
        assert ours_aux[key] == q_aux[key], key
    assert image[ours_aux[AT_RANDOM] - sp :][:16] == q["image"][q_aux[AT_RANDOM] - q["sp"] :][:16]
    # ... and the pointer block's shape: auxv right after envp's NULL.
    for st in (ours, qst):
        assert st.auxv_address == st.sp + 8 * (st.argc + len(st.envp) + 3)

    # (1) auxv order: each follows its own source.
    keys_ours, keys_q = [k for k, _ in ours.auxv], [k for k, _ in qst.auxv]
    assert keys_ours == [k for k in AUXV_ORDER if k in ours_aux]
    assert keys_q == [k for k in QEMU_AUXV_ORDER if k in q_aux]
    assert keys_ours != keys_q

    # (2) platform string and random bytes: Linux aligns first, qemu after the platform string.
    assert ours_aux[AT_PLATFORM] == (argv0 & ~15) - 8
    assert ours_aux[AT_RANDOM] == ours_aux[AT_PLATFORM] - 16
    assert q_aux[AT_PLATFORM] == argv0 - 8
    assert q_aux[AT_RANDOM] == (q_aux[AT_PLATFORM] & ~15) - 16
    for st, img, base in ((ours, image, sp), (qst, q["image"], q["sp"])):
        aux = st.auxv_dict()
        assert cstring(img, base, aux[AT_PLATFORM]) == b"aarch64"
        # Both then round (random - pointer block) down to 16: the same STACK_ROUND.
        words = 1 + (st.argc + 1) + (len(st.envp) + 1) + 2 * (len(st.auxv) + 1)
        assert st.sp == (aux[AT_RANDOM] - 8 * words) & ~15


def test_auxv_for_agrees_with_qemu(aarch64_probe):
    """AT_PHDR/PHENT/PHNUM/ENTRY from load_elf + auxv_for are what qemu computes for the file."""
    q = dict(run_qemu(aarch64_probe)["auxv"])
    ours = auxv_for(load_elf(aarch64_probe))
    for key in (AT_PHDR, AT_PHENT, AT_PHNUM, AT_ENTRY, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_CLKTCK):
        assert ours[key] == q[key], key


def test_hwcap_default_is_qemus_cortex_a57_without_cpuid(aarch64_probe):
    q = dict(run_qemu(aarch64_probe, cpu="cortex-a57")["auxv"])
    assert q[AT_HWCAP] == HWCAP_QEMU_CORTEX_A57
    assert q.get(AT_HWCAP2, 0) == 0
    assert q[AT_HWCAP] & ~HWCAP_CPUID == HWCAP_DEFAULT

"""Dynamically linked programs: the kernel side loads the program and its dynamic loader
(PT_INTERP, read from the guest's tree), the loader maps the libraries through openat, mmap,
mprotect and munmap, and the program runs as on Linux. A program built with the cross
toolchain (no -static) runs with the toolchain's sysroot as the guest's root, against
qemu-aarch64 -L on the same root; execve of programs with a bad interpreter answers as Linux's
binfmt_elf does (tests/guest/dynlink.c, tests/guest/execinterp.c)."""

import io
import shutil
import struct
from pathlib import Path

import pytest
from guest_programs import build, linux_output, run

from hmk.cli import main
from hmk.cpu.elf import ElfError
from hmk.system.simulation import run_program

SYSROOT = Path("/usr/aarch64-linux-gnu")  # the cross toolchain's libc: lib/ld-linux-*, libc.so.6
LOADER = "/lib/ld-linux-aarch64.so.1"
ENV = [b"PATH=/usr/bin:/bin", b"HOME=/", b"TERM=dumb", b"LANG=C"]  # hmk's default


@pytest.fixture(scope="module")
def sysroot() -> Path:
    if not (SYSROOT / LOADER.lstrip("/")).exists():
        pytest.skip(f"no AArch64 libc at {SYSROOT} (the cross toolchain's)")
    return SYSROOT


@pytest.fixture(scope="module")
def dynlink(tmp_path_factory, sysroot) -> Path:
    return Path(build(tmp_path_factory, "dynlink", "-lpthread", "-ldl", static=False))


@pytest.fixture(scope="module")
def expected(dynlink, sysroot) -> bytes:
    env = {k.decode(): v.decode() for k, v in (e.split(b"=", 1) for e in ENV)}
    return linux_output(str(dynlink), "x", root=sysroot, env=env)


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_a_dynamically_linked_program_runs_as_on_linux(dynlink, sysroot, expected, system):
    """The sysroot as the guest's root, the program's directory mounted read-only at /test:
    auxv as the loader expects it, the libraries mapped, dlopen, TLS in two threads, a file
    mapped at an offset, all as qemu-aarch64 -L shows them."""
    out, result = run(
        "/test/dynlink",
        "x",
        system=system,
        rootfs=str(sysroot),
        mounts=[(str(dynlink.parent), "/test", True)],
        env=ENV,
    )
    assert (out, result.exit_status) == (expected, 0)
    assert b"object libc.so.6" in out and b"AT_BASE is the loader's bias: 1" in out
    assert result.stats["shim.syscalls.mmap"] >= 4 and result.stats["shim.syscalls.mprotect"]


def with_interpreter(program: bytes, interp: bytes) -> bytes:
    """`program` with its PT_INTERP path replaced by `interp` (padded with NULs: it must be no
    longer than the original)."""
    (phoff,) = struct.unpack_from("<Q", program, 32)
    (phnum,) = struct.unpack_from("<H", program, 56)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", program, phoff + 56 * i)
        if p_type == 3:  # PT_INTERP
            assert len(interp) < p_filesz
            out = bytearray(program)
            out[p_offset : p_offset + p_filesz] = interp.ljust(p_filesz, b"\0")
            return bytes(out)
    raise AssertionError("no PT_INTERP")


# What Linux's execve answers for each (fs/binfmt_elf.c, load_elf_binary): the interpreter is
# opened as execve opens a program (ENOENT, EACCES for one without execute permission or a
# directory), its ELF header read (a shorter file: EIO from elf_read) and checked before the
# point of no return (no ELF magic, another machine: ELIBBAD); load_elf_interp's own checks
# (e_type ET_EXEC or ET_DYN) come after it, so the process is killed with SIGSEGV. qemu-aarch64
# cannot show these: its execve hands the AArch64 program to the host's kernel, which refuses
# it for the architecture first (ENOEXEC).
INTERPRETERS = {
    "missing": (b"/nope/ld.so", "execve -> ENOENT"),
    "notelf": (b"/interp/notelf", "execve -> ELIBBAD"),
    "x86": (b"/interp/x86", "execve -> ELIBBAD"),
    "short": (b"/interp/short", "execve -> EIO"),
    "noexec": (b"/interp/noexec", "execve -> EACCES"),
    "dir": (b"/interp", "execve -> EACCES"),
    "rel": (b"/interp/rel", "killed by signal 11"),
    "good": (LOADER.encode(), "exited 0"),
}


@pytest.fixture(scope="module")
def bad_root(tmp_path_factory, dynlink, sysroot) -> Path:
    root = tmp_path_factory.mktemp("interp-root")
    (root / "bin").mkdir()
    shutil.copy(build(tmp_path_factory, "execinterp"), root / "bin" / "execinterp")
    loader = (sysroot / LOADER.lstrip("/")).read_bytes()
    interp = root / "interp"
    interp.mkdir()
    (interp / "notelf").write_text("#!/bin/sh\n" + "#" * 80)
    (interp / "x86").write_bytes(loader[:18] + struct.pack("<H", 62) + loader[20:])
    (interp / "short").write_bytes(loader[:40])
    (interp / "noexec").write_bytes(loader)
    (interp / "rel").write_bytes(loader[:16] + struct.pack("<H", 1) + loader[18:])
    for name in ("notelf", "x86", "short", "rel"):
        (interp / name).chmod(0o755)
    (interp / "noexec").chmod(0o644)
    program = dynlink.read_bytes()
    for case, (path, _) in INTERPRETERS.items():
        (root / case).write_bytes(with_interpreter(program, path))
        (root / case).chmod(0o755)
    return root


@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_execve_of_a_program_with_a_bad_interpreter_answers_as_linux(bad_root, sysroot, system):
    cases = list(INTERPRETERS)
    out, result = run(
        "/bin/execinterp",
        *(f"/{case}" for case in cases),
        system=system,
        rootfs=str(bad_root),
        mounts=[(str(sysroot / "lib"), "/lib", True)],
    )
    assert result.exit_status == 0
    lines = out.decode().splitlines()
    ran = [line for line in lines if line.startswith(tuple(f"/{case}:" for case in cases))]
    assert ran == [f"/{case}: {INTERPRETERS[case][1]}" for case in cases]
    # the good one runs dynlink, execve'd by a static program
    assert "AT_BASE is the loader's bias: 1" in lines and "argc 2" in lines


def test_the_first_programs_interpreter_is_a_clear_error(bad_root, dynlink, capsys):
    with pytest.raises(ElfError, match="--rootfs DIR gives the guest a root"):
        run_program(str(dynlink), out=io.BytesIO(), err=io.BytesIO(), warnings=None)
    assert main(["run", "--quiet", "--rootfs", str(bad_root), "/missing"]) == 2
    err = capsys.readouterr().err
    assert err == "hmk: error: /missing: its interpreter /nope/ld.so: No such file or directory\n"
    assert main(["run", "--quiet", "--rootfs", str(bad_root), "/x86"]) == 2
    assert "/interp/x86: not a 64-bit little-endian AArch64 ELF" in capsys.readouterr().err
    # (an execve would kill the process past its point of no return; the first program is
    # hmk's to start, and it says why it cannot)
    assert main(["run", "--quiet", "--rootfs", str(bad_root), "/rel"]) == 2
    assert "a relocatable object file" in capsys.readouterr().err

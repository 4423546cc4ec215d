"""The bundled workloads against Linux itself (qemu-aarch64), and against their sources.

Every bundled program runs under qemu-aarch64 with each argument set in
workload_expectations.CASES, in a small fixed environment; its stdout and exit status must equal
what workload_expectations.expected computes in Python from the same algorithm. That checks the
programs and qemu against an independent derivation; the simulator's tests compare against the
same expectations. The committed binaries must also be what workloads/Makefile builds from
workloads/src today (a byte comparison, when the toolchain is the one that built them).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from workload_expectations import (
    AS_ROOT,
    CASES,
    NAMES,
    NO_ARGUMENTS,
    QEMU_CANNOT,
    USAGE_STATUS,
    expected,
)

from hmk import workloads

QEMU = shutil.which("qemu-aarch64")
CROSS_CC = shutil.which("aarch64-linux-gnu-gcc")
MAKE = shutil.which("make")
SOURCES = Path(__file__).resolve().parents[1] / "workloads"

# The guest's whole environment, as `hmk run` gives it by default: nothing from the host.
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/", "TERM": "dumb", "LANG": "C"}

needs_qemu = pytest.mark.skipif(
    QEMU is None, reason="qemu-aarch64 is not installed (apt-get install qemu-user)"
)


def case_id(case: tuple[str, tuple[str, ...]]) -> str:
    name, args = case
    return " ".join((name, *args)) if args else f"{name} (defaults)"


def test_api_lists_the_bundled_programs():
    assert workloads.list_workloads() == list(NAMES)
    assert workloads.bin_dir().is_dir()
    for name in NAMES:
        assert workloads.path(name) == workloads.bin_dir() / name
        assert workloads.path(name).is_file()
    assert "toolchain.txt" not in workloads.list_workloads()


@pytest.mark.parametrize("bad", ["nosuch", "toolchain.txt", "../bin/hello", ""])
def test_api_unknown_name_lists_the_choices(bad):
    with pytest.raises(
        ValueError,
        match="bundled workloads: coldstart, compute, eintr, exitcode, filemap, fsx, hello,",
    ):
        workloads.path(bad)


def test_every_program_has_cases():
    """Every bundled program has its defaults and at least one other argument set in CASES."""
    for name in workloads.list_workloads():
        arg_sets = [args for n, args in CASES if n == name]
        assert () in arg_sets, name
        if name in NO_ARGUMENTS:
            assert any(expected(name, args)[1] == USAGE_STATUS for args in arg_sets), name
            continue
        assert any(args and expected(name, args)[1] != USAGE_STATUS for args in arg_sets), name


@pytest.mark.parametrize("name", NAMES)
def test_binaries_are_static_aarch64_executables(name):
    with open(workloads.path(name), "rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_AARCH64"
        assert elf.elfclass == 64 and elf.little_endian
        assert elf["e_type"] == "ET_EXEC"
        types = [seg["p_type"] for seg in elf.iter_segments()]
        assert "PT_INTERP" not in types and "PT_DYNAMIC" not in types
        assert types.count("PT_LOAD") >= 1
        symtab = elf.get_section_by_name(".symtab")  # kept: flame graphs name functions
        assert symtab is not None and symtab.get_symbol_by_name("main")


@needs_qemu
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_under_qemu(case):
    name, args = case
    if case in QEMU_CANNOT:
        pytest.skip("qemu-aarch64 cannot give this output (tests/workload_expectations.py: why)")
    if name in AS_ROOT and os.geteuid() != 0:
        pytest.skip("its output assumes it starts as root, and qemu runs it as this user")
    run = subprocess.run(
        [QEMU, str(workloads.path(name)), *args],
        env=ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    want_stdout, want_status = expected(name, args)
    status = 128 - run.returncode if run.returncode < 0 else run.returncode  # as a shell says
    assert (run.stdout, status) == (want_stdout, want_status), run.stderr
    # qemu reports the signals that killed the program (or its children) on stderr
    stderr = b"".join(
        line
        for line in run.stderr.splitlines(keepends=True)
        if b"uncaught target signal" not in line
    )
    if not want_stdout and want_status == USAGE_STATUS:  # a usage error: says so on stderr
        assert stderr.count(b"\n") == 1, run.stderr
    else:
        assert stderr == b""


@pytest.mark.skipif(
    CROSS_CC is None or MAKE is None,
    reason="needs aarch64-linux-gnu-gcc and make (apt-get install gcc-aarch64-linux-gnu make)",
)
def test_committed_binaries_match_the_sources(tmp_path):
    """Rebuild into a temporary directory; the bytes must equal the committed binaries."""
    build = subprocess.run(
        [MAKE, "-s", "-C", str(SOURCES), f"BINDIR={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    committed = workloads.bin_dir()
    ours = (committed / "toolchain.txt").read_text()
    theirs = (tmp_path / "toolchain.txt").read_text()
    if ours != theirs:
        pytest.skip(
            "this toolchain differs from the one that built the committed binaries, so the bytes "
            f"would differ anyway:\ncommitted:\n{ours}\nhere:\n{theirs}"
        )

    def files(d):  # the Linux programs and, in hm/, the HM-native ones
        return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())

    built = files(tmp_path)
    assert built == files(committed), "programs added or removed"
    assert "hm/hmipc" in built
    stale = [n for n in built if (tmp_path / n).read_bytes() != (committed / n).read_bytes()]
    assert not stale, f"committed binaries out of date: {stale}; run `make -C workloads`"

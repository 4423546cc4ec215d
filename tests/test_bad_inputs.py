"""What a user hands hmk, refused in one line: output paths, profiles, system files, command-line
numbers, hmk.System's options and ELF files. Each refusal is `hmk: error: <one line>` with exit
status 2 on the command line (an exception whose message is one line from Python), never a
traceback, a hang or host memory out of proportion to the input."""

from __future__ import annotations

import json
import os
import stat
import struct
from pathlib import Path

import pytest

from hmk.cli import main
from hmk.outputs import OutputError, check, check_dir, written
from hmk.workloads import path as workload

HELLO = str(workload("hello"))


def refused(capsys, *argv) -> str:
    """Run `hmk argv...`, expect a one-line refusal, return it."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hmk: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- output paths --------------------------------------------------------------------------
# checked before anything runs: a directory, a missing directory, a place no file can be made,
# an empty name, two outputs into one file


@pytest.mark.parametrize(
    ("flag", "path", "says"),
    [
        ("--stats", "/tmp", "is a directory"),
        ("--stats", "/proc/x", "cannot write"),
        ("--stats", "/no/such/dir/s.json", "no such directory: /no/such/dir"),
        ("--stats", "/etc/hostname/x", "cannot write: Not a directory"),
        ("--stats", "", "--stats: an empty file name"),
        ("--flamegraph", "/tmp/", "is a directory"),
        ("--folded", "/proc/x", "cannot write"),
        ("--speedscope", "/sys/x.json", "cannot write"),
        ("--flamegraph", "-", "only --stats takes -"),
    ],
)
def test_run_refuses_an_output_before_it_runs(capsys, flag, path, says):
    line = refused(capsys, "run", flag, path, "--", "/no/such/program")
    assert says in line and flag in line  # the program is never looked at


@pytest.mark.parametrize(
    ("flag", "path", "says"),
    [
        ("--plot", "/tmp", "is a directory"),
        ("--plot", "/tmp/chart.txt", "matplotlib cannot write .txt images"),
        ("--json", "/proc/x.json", "cannot write"),
        ("--diff-flamegraph", "/no/such/d.svg", "no such directory"),
    ],
)
def test_compare_refuses_an_output_before_it_runs(capsys, flag, path, says):
    line = refused(capsys, "compare", "--systems", "linux,sel4", flag, path, "--", "/no/such/p")
    assert says in line and flag in line


def test_two_outputs_into_one_file_are_refused(capsys, tmp_path):
    out = str(tmp_path / "same")
    line = refused(capsys, "run", "--stats", out, "--folded", out, "--", HELLO)
    assert "--stats writes the same file" in line
    assert not os.path.exists(out)  # the check made it and removed it again


def test_the_check_neither_truncates_nor_leaves_files(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("keep me")
    check(str(old), "--stats")
    check(str(tmp_path / "new.txt"), "--stats")
    assert old.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.txt"]


def test_a_write_that_fails_after_the_run_is_one_line(capfd):
    """/dev/full opens and only fails when written: the run's output, then one error line."""
    assert main(["run", "--quiet", "--stats", "/dev/full", "--", HELLO]) == 2
    out, err = capfd.readouterr()
    assert out == "hello, world\n"
    assert err == "hmk: error: --stats /dev/full: cannot write: No space left on device\n"


def test_compare_reports_a_plot_it_could_not_write(capfd):
    argv = ["compare", "--systems", "linux,hm-phone", "--plot", "/dev/full", "--", HELLO]
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert err.endswith("hmk: error: --plot /dev/full: cannot write: No space left on device\n")
    assert "Traceback" not in err


def test_a_plot_is_written_where_asked(tmp_path, capfd):
    """An extension-less name gets a PNG under exactly that name (matplotlib alone would add
    .png to it: a plot asked for at DIR went to DIR.png)."""
    pytest.importorskip("matplotlib")
    chart = tmp_path / "chart"
    assert main(["compare", "--systems", "linux,sel4", "--plot", str(chart), "--", HELLO]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart"]


def test_written_replaces_a_file_whole_or_not_at_all(tmp_path):
    target = tmp_path / "stats.txt"
    target.write_text("old")
    target.chmod(0o640)
    with (
        pytest.raises(
            OutputError, match=r"^x .*/stats.txt: cannot write: No space left on device$"
        ),
        written(str(target), "x") as name,
    ):
        Path(name).write_text("partial")
        raise OSError(28, os.strerror(28))
    assert target.read_text() == "old"
    with written(str(target)) as name:
        Path(name).write_text("new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # its permissions kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.txt"]  # no temporary left


def test_written_through_a_symbolic_link_writes_its_target(tmp_path):
    target, link = tmp_path / "real.json", tmp_path / "link.json"
    target.write_text("{}")
    link.symlink_to(target.name)
    with written(str(link)) as name:
        Path(name).write_text("[1]")
    assert link.is_symlink() and json.loads(target.read_text()) == [1]


def test_a_name_with_a_newline_stays_one_line():
    with pytest.raises(OutputError) as e:
        check("/no/such\ndir/x", "--stats")
    assert "\n" not in str(e.value) and "no such directory" in str(e.value)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["bench", "--ops", "null", "--json", "/tmp"], "--json /tmp: is a directory"),
        (["paper", "--only", "faults", "--write", "/proc/p.md"], "--write /proc/p.md"),
        (["paper", "--only", "faults", "--json", "/no/dir/p.json"], "no such directory"),
        (["paper", "--only", "faults", "--out", "/dev/null/figs"], "is not a directory"),
        (["paper", "--only", "faults", "--jobs", "\u00b2"], "--jobs must be a positive integer"),
        (["paper", "--only", "faults", "--jobs", "9" * 5000], "--jobs must be"),
        (["fidelity", "--write", "/tmp"], "--write /tmp: is a directory"),
        (["rootfs", "debian", "/dev/full", "bash"], "/dev/full: is not a directory"),
        (["rootfs", "debian", "/tmp/r", "bash", "--cache", "/dev/null/c"], "--cache /dev/null/c"),
    ],
)
def test_other_commands_check_their_outputs_first(capsys, argv, says):
    assert says in refused(capsys, *argv)


def test_calibrate_checks_its_files_before_the_runs(capsys, monkeypatch):
    from hmk.calibration import page  # noqa: PLC0415

    monkeypatch.setattr(page, "PAGE", Path("/proc/calibration.md"))
    monkeypatch.setattr(page, "run", lambda **_: pytest.fail("ran before checking its outputs"))
    assert "--write /proc/calibration.md" in refused(capsys, "calibrate", "--write")


def test_the_syscall_page_tool_checks_its_output(capsys):
    from hmk.report import syscalls  # noqa: PLC0415

    assert syscalls.main(["--write", "/tmp"]) == 2
    assert capsys.readouterr().err == "hmk: error: --write /tmp: is a directory; give a file name\n"
    with pytest.raises(SystemExit):  # argparse: --write needs a file name
        syscalls.main(["--write"])


def test_check_dir(tmp_path):
    check_dir(str(tmp_path / "new" / "deeper"))  # can be made
    assert not (tmp_path / "new").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match=r"/f is not a directory$"):
        check_dir(str(tmp_path / "f" / "x"))


# ---- profiles and system files ----------------------------------------------------------------
PROFILES = Path(__file__).resolve().parent.parent / "hardware_profiles"


def _profile(tmp_path, soc_edit=None, core_edit=None) -> str:
    """A copy of rpi4 and its core type, each with one line changed (old, new)."""
    (tmp_path / "cores").mkdir()
    for name, edit in (("rpi4.toml", soc_edit), ("cores/cortex-a72.toml", core_edit)):
        text = (PROFILES / name).read_text()
        if edit is not None:
            assert edit[0] in text
            text = text.replace(edit[0], edit[1], 1)
        (tmp_path / name).write_text(text)
    return str(tmp_path / "rpi4.toml")


@pytest.mark.parametrize(
    ("core_edit", "says"),
    [
        (("exception_entry = 48", "exception_entry = 9223372036854775807"), "exception_entry"),
        (("size_kib = 48", "size_kib = 1099511627776"), "l1i.size_kib: must be at most 131,072"),
        (("l2_entries = ", "l2_entries = 1099511627776 #"), "tlb.l2_entries: must be at most"),
        (("mlp = ", "mlp = nan #"), "timing.mlp: must be an integer, got a float nan"),
        (("issue_width = 3", "issue_width = 0"), "issue_width: must be positive"),
        (("line = 64", "line = 4"), "l1i.line: must be at least 16 (allowed: 16 to 1,024)"),
        (("rob_entries = ", "rob_entries = 1e9 #"), "must be an integer, got a float"),
    ],
)
def test_absurd_core_values_are_refused(capsys, tmp_path, core_edit, says):
    path = _profile(tmp_path, core_edit=core_edit)
    line = refused(capsys, "profiles", "show", path)
    assert "cores/cortex-a72.toml: " in line and says in line


@pytest.mark.parametrize(
    ("soc_edit", "says"),
    [
        (("dram_latency_ns = 110", "dram_latency_ns = 1e300"), "must be at most 1,000"),
        (("dram_latency_ns = 110", "dram_latency_ns = -inf"), "must be a finite number"),
        (("count = 4", "count = 1099511627776"), "cluster[0].count: must be at most 255"),
        (("\nghz = 1.5", "\nghz = 0.001"), "cluster[0].ghz: must be at least 0.05"),
        (("counter_mhz = 54", "counter_mhz = 0"), "counter_mhz: must be positive"),
    ],
)
def test_absurd_soc_values_are_refused(capsys, tmp_path, soc_edit, says):
    line = refused(capsys, "run", "--profile", _profile(tmp_path, soc_edit=soc_edit))
    assert "rpi4.toml: " in line and says in line


def test_the_bounds_table_in_the_docs_is_limits():
    """docs/hardware-profiles.md ("Bounds") gives every key of LIMITS with its range."""
    import re  # noqa: PLC0415

    from hmk.hw.profile import LIMITS, MAX_CLUSTERS  # noqa: PLC0415

    text = (PROFILES.parent / "docs" / "hardware-profiles.md").read_text()
    table = text[text.index("## Bounds") : text.index("## Modelling decisions")]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        for key in re.findall(r"`([a-z0-9_]+)`", cells[0]):
            rows[key] = cells[1]
    assert set(rows) == set(LIMITS)
    for key, (lo, hi) in LIMITS.items():
        shown = f"{lo:,} to {hi:,}" if isinstance(lo, int) else f"{lo:,g} to {hi:,g}"
        assert rows[key].startswith(shown), (key, rows[key], shown)
    assert f"at most {MAX_CLUSTERS} of them" in table


def test_every_numeric_profile_key_has_bounds():
    """Every number a profile holds is read through LIMITS (an unbounded key would raise
    KeyError while loading): the bundled profiles load, and each bound is a range."""
    from hmk.hw.profile import LIMITS, load_soc  # noqa: PLC0415

    for name in ("kirin9000", "kirin990", "rpi4"):
        load_soc(name)
    assert all(lo <= hi for lo, hi in LIMITS.values())


@pytest.mark.parametrize("flag", ["--system", "--profile"])
@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "not utf-8", "huge", "nested"])
def test_files_that_are_not_small_text_are_refused_unopened(capsys, tmp_path, flag, kind):
    target = tmp_path / "x.toml"
    if kind == "fifo":
        os.mkfifo(target)  # opening it for reading would wait for a writer forever
    elif kind == "directory":
        target.mkdir()
    elif kind == "device":
        target = Path("/dev/zero")  # reading it would never end
    elif kind == "not utf-8":
        target.write_bytes(b'name = "\xff"\n')
    elif kind == "huge":
        with open(target, "wb") as f:
            f.truncate(1 << 40)  # a sparse terabyte
    else:
        target.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    says = {
        "fifo": "is a FIFO, not a regular file",
        "directory": "is a directory, not a file",
        "device": "is a device, not a regular file",
        "not utf-8": "not UTF-8 text (byte 8 cannot be decoded)",
        "huge": "larger than 1,048,576 bytes",
        "nested": "nested too deeply",
    }[kind]
    assert says in refused(capsys, "run", flag, str(target), "--", HELLO)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('name = "a\\nb"\n[[domain]]\nname = "d"\nclass = "IC0"\nservices = ["fsmgr"]\n', "name"),
        ('[[domain]]\nname = ""\nclass = "IC0"\nservices = ["fsmgr"]\n', "domain[0].name"),
        ('description = "two\\nlines"\n[[domain]]\nname="d"\nclass="IC0"\nservices=["fsmgr"]\n',
         "description"),
        ('[[domain]]\nname = "d"\nclass = "IC9"\nservices = ["fsmgr"]\n', "domain[0].class"),
        ("domain = 5\n", "domain"),
        ('[[domain]]\nname = "d"\nclass = "IC0"\nservices = [[1]]\n', "domain[0].services"),
    ],
)  # fmt: skip
def test_bad_system_values_are_refused(capsys, tmp_path, text, says):
    path = tmp_path / "s.toml"
    path.write_text(text)
    assert f"s.toml: {says}: " in refused(capsys, "run", "--system", str(path), "--", HELLO)


# ---- numbers on the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1e999", "must be at most 1e18"),
        ("inf", "must be at most 1e18"),
        ("nan", "not a number"),
        ("-5", "must be positive"),
        ("0", "must be positive"),
        ("1.5", "not a whole number"),
        ("99999999999999999999", "must be at most 1e18"),
        ("9" * 5000, "must be at most 1e18"),
        ("ten", "not a number"),
    ],
)
@pytest.mark.parametrize("flag", ["--max-instructions", "--max-cycles"])
def test_run_limits_are_refused_by_argparse(capsys, flag, value, says):
    assert main(["run", flag, value, "--", HELLO]) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: {says}" in err.splitlines()[-1] and "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "want"), [("1e9", 10**9), ("0x10", 16), ("1_000", 1000), ("1e18", 10**18)]
)
def test_run_limits_that_are_whole_numbers(value, want):
    from hmk.cli import _positive  # noqa: PLC0415

    assert _positive(value) == want


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "-E", "FOO", "--", HELLO], "argument -E: needs VAR=VALUE"),
        (["run", "--core", "\u00b2", "--", HELLO], "no cluster '\u00b2'"),
        (["run", "--core", "9" * 30, "--", HELLO], "no cluster"),
        (["profiles", "ladder", "rpi4", "--cluster", "\u0663"], "no cluster"),
    ],
)
def test_other_flags(capsys, argv, says):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err.splitlines()[-1] and "Traceback" not in err


def test_a_full_standard_output_is_one_line(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    with open("/dev/full", "w") as full:
        got = subprocess.run(
            [sys.executable, "-m", "hmk", "syscalls"], stdout=full, capture_output=False,
            stderr=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
    assert got.returncode == 2
    assert got.stderr == "hmk: error: standard output: cannot write: No space left on device\n"


# ---- hmk.System's options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"tick_us": -5}, ValueError, "tick_us must be 10 to 1e+06, not -5"),
        ({"tick_us": float("nan")}, ValueError, "tick_us must be 10 to 1e+06, not nan"),
        ({"tick_us": "5"}, TypeError, "tick_us must be a number, not str '5'"),
        ({"max_instructions": "x"}, TypeError, "max_instructions must be an integer, not str"),
        ({"max_cycles": 0}, ValueError, "max_cycles must be 1 to"),
        ({"max_cycles": 2**70}, ValueError, "max_cycles must be 1 to"),
        ({"ram": 2**40}, ValueError, "hmk.System: ram: 1,099,511,627,776 bytes; give whole"),
        ({"ram": "64X"}, ValueError, "hmk.System: ram: not a size: '64X'"),
        ({"ram": 64.0}, TypeError, "hmk.System: ram: a size in bytes"),
        ({"ram_mib": 64}, TypeError, "unknown option(s) ram_mib"),
        ({"check_invariants": "yes"}, TypeError, "check_invariants must be True or False"),
        ({"seed": -1}, ValueError, "seed must be 0 to"),
        ({"seed": 1.0}, TypeError, "seed must be an integer, not float"),
        ({"stdin": "text"}, TypeError, "stdin must be bytes or a binary stream"),
        ({"out": __import__("io").StringIO()}, TypeError, "out must be None or a binary stream"),
        ({"strace": __import__("io").BytesIO()}, TypeError, "strace must be None or a text"),
        ({"warnings": 5}, TypeError, "warnings must be None or a text stream"),
        ({"cluster": True}, TypeError, "cluster must be a name or an index"),
        ({"cluster": 7}, Exception, "no cluster 7"),
        ({"paging": "sometimes"}, ValueError, "paging must be one of None, 'kernel', 'user'"),
        ({"paging": "user", "system": "linux"}, ValueError, "linux has no user-level pager"),
        ({"impl": "c"}, ValueError, "impl must be one of"),
        ({"stacks": 1}, TypeError, "stacks must be True or False"),
        ({"capabilities_only": "no"}, TypeError, "capabilities_only must be True or False"),
        ({"kernel_ipc": 0}, ValueError, "kernel_ipc must be 0.01 to 16"),
        ({"rootfs": "/no/such/root"}, ValueError, "rootfs '/no/such/root' is not a directory"),
        ({"rootfs": 3}, TypeError, "rootfs must be a directory's path"),
        ({"mounts": "a:/b"}, TypeError, "mounts must be a list"),
        ({"mounts": ["nocolon"]}, ValueError, "expected HOST:GUEST"),
        ({"env": "PATH=/bin"}, TypeError, "env must be a list"),
        ({"env": [b"A=\0"]}, ValueError, "holds a NUL byte"),
        ({"env": [3]}, TypeError, "env holds int 3"),
        ({"libc_instructions": 10**9}, ValueError, "libc_instructions must be 0 to 1,000,000"),
        ({"profile": 3}, TypeError, "profile must be a name or a path"),
        ({"progress": object()}, TypeError, "progress must be None or a text stream"),
        ({"system": None}, TypeError, "system must be a name or a path"),
    ],
)
def test_system_options_are_checked_when_made(options, error, says):
    """Each fails in hmk.System(...), naming the option (tick_us=-5 used to hang the first
    run(), max_instructions="x" to raise a bare TypeError there)."""
    import hmk  # noqa: PLC0415

    with pytest.raises(error) as caught:
        hmk.System(**options)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_good_options_are_accepted():
    import io  # noqa: PLC0415

    import hmk  # noqa: PLC0415

    out = io.BytesIO()
    system = hmk.System(
        "rpi4", "linux", out=out, err=io.BytesIO(), strace=None, warnings=None, ram="64M",
        seed=2**64 - 1, tick_us=1000, max_instructions=10**7, cluster=0, env=["A=1", b"B=2"],
        stdin=b"", stacks=False, capabilities_only=None, kernel_ipc=1.5, libc_instructions=10,
    )  # fmt: skip
    assert system.run(HELLO).exit_status == 0 and out.getvalue() == b"hello, world\n"
    mounted = hmk.System(mounts=iter([f"{Path(HELLO).parent}:/m"]), warnings=None)
    assert mounted.options["mounts"] == (f"{Path(HELLO).parent}:/m",)  # an iterator read once


# ---- ELF files: only the headers, the segments and the symbol table are read --------------------
ELF_PHOFF, ELF_SHOFF, ELF_SHNUM = 32, 40, 60  # offsets in Elf64_Ehdr
PHDR = "<IIQQQQQQ"  # type, flags, offset, vaddr, paddr, filesz, memsz, align


def _headers(data: bytes):
    """(offset of each PT_LOAD's program header, its fields), and the section headers' offset."""
    phoff = int.from_bytes(data[ELF_PHOFF : ELF_PHOFF + 8], "little")
    phnum = int.from_bytes(data[56:58], "little")
    loads = []
    for i in range(phnum):
        at = phoff + 56 * i
        fields = struct.unpack_from(PHDR, data, at)
        if fields[0] == 1:  # PT_LOAD
            loads.append((at, fields))
    return loads, int.from_bytes(data[ELF_SHOFF : ELF_SHOFF + 8], "little")


def _child_rss(code: str) -> tuple[str, int]:
    """Run `code` in a fresh interpreter limited to 2 GiB of address space; (its stdout, its
    peak RSS in KiB). A loader that read a sparse file whole would fail on the limit."""
    import resource  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    limit = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({2 << 30}, {2 << 30}))\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    got = subprocess.run(
        [sys.executable, "-c", limit + code], capture_output=True, text=True, timeout=120
    )
    assert got.returncode == 0, got.stderr
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return got.stdout, peak if peak > before else 0


def test_a_sparse_3_gib_program_is_not_read_whole(tmp_path):
    """A valid static program padded to 3 GiB (a sparse file): Linux reads its headers and
    segments; so does hmk, in a few MiB, where reading the file whole took 3.2 GB."""
    big = tmp_path / "big"
    big.write_bytes(Path(HELLO).read_bytes())
    with open(big, "r+b") as f:
        f.truncate(3 << 30)
    code = (
        "from hmk.cpu.elf import load_elf\n"
        f"image = load_elf({str(big)!r})\n"
        "print(len(image.segments), len(image.symbols) > 1000)\n"
    )
    out, rss_kib = _child_rss(code)
    assert out == "2 True\n" and rss_kib < 400 << 10


def test_a_sparse_program_in_a_guest_root_is_not_read_whole(tmp_path):
    """The same inside --rootfs: execve's file comes from the file manager, which hands the
    loader the host file rather than its bytes."""
    (tmp_path / "bin").mkdir()
    big = tmp_path / "bin" / "big"
    big.write_bytes(Path(HELLO).read_bytes())
    big.chmod(0o755)
    with open(big, "r+b") as f:
        f.truncate(3 << 30)
    code = (
        "import io\nfrom hmk.system import run_program\n"
        f"r = run_program('/bin/big', rootfs={str(tmp_path)!r}, out=io.BytesIO(), "
        "err=io.BytesIO(), warnings=None)\nprint(r.exit_status)\n"
    )
    out, rss_kib = _child_rss(code)
    assert out == "0\n" and rss_kib < 600 << 10


def test_segments_larger_than_hmk_loads_are_refused_unread(tmp_path):
    from hmk.cpu.elf import MAX_LOAD_BYTES, ElfError, load_elf  # noqa: PLC0415

    data = bytearray(Path(HELLO).read_bytes())
    loads, _ = _headers(data)
    at, (ptype, flags, offset, vaddr, paddr, _, _, align) = loads[1]
    claim = MAX_LOAD_BYTES + (1 << 20)
    struct.pack_into(PHDR, data, at, ptype, flags, offset, vaddr, paddr, claim, claim, align)
    path = tmp_path / "claims"
    path.write_bytes(data)
    with open(path, "r+b") as f:
        f.truncate(offset + claim)  # the bytes are "there" (a sparse file)
    with pytest.raises(ElfError) as caught:
        load_elf(path)
    assert "loads at most 536,870,912" in str(caught.value) and caught.value.errno == "ENOMEM"


def test_segments_beyond_the_file_are_refused(tmp_path):
    from hmk.cpu.elf import ElfError, load_elf  # noqa: PLC0415

    data = bytearray(Path(HELLO).read_bytes())
    loads, _ = _headers(data)
    at, (ptype, flags, offset, vaddr, paddr, _, memsz, align) = loads[0]
    struct.pack_into(PHDR, data, at, ptype, flags, 1 << 62, vaddr, paddr, 1 << 40, 1 << 40, align)
    (tmp_path / "far").write_bytes(data)
    with pytest.raises(ElfError, match="truncated: program header 0 .PT_LOAD. needs file bytes"):
        load_elf(tmp_path / "far")


@pytest.mark.parametrize("claim", ["sections", "symbols", "strings"])
def test_absurd_section_tables_are_ignored_as_linux_ignores_them(tmp_path, claim):
    """e_shnum 0 with 2^40 in section 0's sh_size (the count of an extended table), a .symtab
    claiming 16 GiB (of a sparse file that has them), or its strings in a section of type NULL
    beyond the file: the program loads, without names for its functions."""
    from hmk.cpu.elf import load_elf  # noqa: PLC0415

    data = bytearray(Path(HELLO).read_bytes())
    _, shoff = _headers(data)
    if claim == "sections":
        data[ELF_SHNUM : ELF_SHNUM + 2] = b"\0\0"
        struct.pack_into("<Q", data, shoff + 32, 1 << 40)  # section 0's sh_size
    elif claim == "symbols":
        nsections = int.from_bytes(data[ELF_SHNUM : ELF_SHNUM + 2], "little")
        for i in range(nsections):
            if struct.unpack_from("<I", data, shoff + 64 * i + 4)[0] == 2:  # SHT_SYMTAB
                struct.pack_into("<QQ", data, shoff + 64 * i + 24, 1 << 30, 1 << 34)
    else:
        nsections = int.from_bytes(data[ELF_SHNUM : ELF_SHNUM + 2], "little")
        for i in range(nsections):
            if struct.unpack_from("<I", data, shoff + 64 * i + 4)[0] == 2:  # SHT_SYMTAB
                struct.pack_into("<I", data, shoff + 64 * i + 40, 0)  # sh_link: section 0
        struct.pack_into("<QQ", data, shoff + 24, 1 << 40, 100)  # section 0 (NULL) far away
    path = tmp_path / claim
    path.write_bytes(data)
    if claim == "symbols":
        with open(path, "r+b") as f:
            f.truncate((1 << 30) + (1 << 34))
    image = load_elf(path)
    assert image.symbols == () and len(image.segments) == 2


def test_a_path_with_a_nul_byte_is_one_error(capsys):
    from hmk.cpu.elf import ElfError, load_elf  # noqa: PLC0415

    with pytest.raises(ElfError, match="a path cannot hold a NUL byte"):
        load_elf("/bin/\0x")
    assert "NUL byte" in refused(capsys, "run", "--", "/bin/\0x")

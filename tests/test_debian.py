"""Debian's own dynamically linked arm64 programs (coreutils, bash, python3) from a root built
by `hmk rootfs debian` (tests/debian_root.py), each run on hmk with --rootfs and compared with
qemu-aarch64 -L on the same root, which runs a dynamically linked program the same way.

qemu-aarch64 cannot follow an execve into another AArch64 program (it hands the path to the
host's kernel, which runs the host's program of that name, or refuses an AArch64 one), so for a
bash script that runs other programs the expected output is written here from what Linux does,
worked out from the root's own files."""

import os
import shutil
import stat

import pytest
from debian_root import debian_root
from guest_programs import linux_output, run

from hmk.cli import main
from hmk.debian import DebianError, build_root, merge_usr
from hmk.system.simulation import DEFAULT_ENV

SYSTEMS = ["hm-phone", "linux"]
HOST_ENV = {k.decode(): v.decode() for k, v in (e.split(b"=", 1) for e in DEFAULT_ENV)}


@pytest.fixture(scope="module")
def root():
    return debian_root()


def both(root, program: str, *args: str, system: str, stdin: bytes = b""):
    """(hmk's output and status, qemu's output) of the root's `program` with `args`."""
    want = linux_output(str(root / program.lstrip("/")), *args, root=root, env=HOST_ENV,
                        stdin=stdin)  # fmt: skip
    out, result = run(program, *args, system=system, rootfs=str(root), stdin=stdin)
    return out, result, want


COREUTILS = {
    "ls": ("/bin/ls", "-a", "/usr/share/doc"),
    "sort": ("/usr/bin/sort", "-r", "/etc/bash.bashrc"),
    "cat": ("/bin/cat", "-n", "/etc/bash.bashrc", "/usr/lib/os-release"),
    "wc": ("/usr/bin/wc", "/etc/bash.bashrc", "/usr/lib/os-release"),
}


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("name", list(COREUTILS))
def test_coreutils(root, name, system):
    out, result, want = both(root, *COREUTILS[name], system=system)
    assert (out, result.exit_status) == (want, 0)
    assert out.count(b"\n") >= 3


def test_ls_long_lists_the_roots_modes_and_names(root):
    """`ls -l` (lgetxattr for each file's security context: ENODATA, no context) lists each
    entry with the mode and link count Linux's stat gives for the root's file. (qemu-aarch64
    -L cannot be the reference here: it does not redirect ls's statx, and shows the host's
    /usr/share/doc.)"""
    doc = root / "usr" / "share" / "doc"
    out, result = run("/bin/ls", "-l", "/usr/share/doc", rootfs=str(root))
    assert result.exit_status == 0
    rows = [line.split(maxsplit=8) for line in out.decode().splitlines()[1:]]
    want = []
    for name in sorted(os.listdir(doc)):
        st = os.lstat(doc / name)
        if stat.S_ISDIR(st.st_mode):
            links = 2 + sum(e.is_dir(follow_symlinks=False) for e in os.scandir(doc / name))
        else:
            links, name = 1, f"{name} -> {os.readlink(doc / name)}"
        want.append([stat.filemode(st.st_mode), str(links), "root", "root", name])
    assert [r[:4] + r[-1:] for r in rows] == want


@pytest.mark.parametrize("system", SYSTEMS)
def test_sort_reads_stdin(root, system):
    words = b"pear\napple\nfig\n"
    out, result, want = both(root, "/usr/bin/sort", system=system, stdin=words)
    assert (out, result.exit_status) == (want, 0) == (b"apple\nfig\npear\n", 0)


BASH_BUILTINS = r"""
square() { echo "square $1 = $(( $1 * $1 ))"; }
square 7
x=$(echo captured)
echo "x=$x"
(echo "in a subshell"; exit 3)
echo "the subshell's status $?"
for i in 1 2 3; do printf '%s,' "$i"; done; echo
echo "${BASH_VERSINFO[0]} ${#x}"
"""


@pytest.mark.parametrize("system", SYSTEMS)
def test_bash_forks_subshells_and_pipes_builtins(root, system):
    """Functions, arithmetic, command substitution and a subshell (forks, no execve): the
    same as qemu's bash."""
    out, result, want = both(root, "/bin/bash", "-c", BASH_BUILTINS, system=system)
    assert (out, result.exit_status) == (want, 0)
    assert b"the subshell's status 3" in out


BASH_PROGRAMS = r"""
printf 'b\na\nc\n' | /usr/bin/sort | /bin/cat -n
echo "$(/usr/bin/wc -l < /etc/bash.bashrc) lines"
/bin/ls /usr/share/doc | /usr/bin/head -n 2
( /bin/false ); echo "false: $?"
"""


@pytest.mark.parametrize("system", SYSTEMS)
def test_bash_runs_programs_through_pipes(root, system):
    """bash forks and execs other dynamically linked programs (sort, cat, wc, ls, head,
    false) joined by pipes. Linux's output, from the root's files: qemu cannot run this."""
    lines = (root / "etc" / "bash.bashrc").read_bytes().count(b"\n")
    docs = sorted(os.listdir(root / "usr" / "share" / "doc"))[:2]
    want = (
        "     1\ta\n     2\tb\n     3\tc\n"
        f"{lines} lines\n" + "".join(f"{d}\n" for d in docs) + "false: 1\n"
    ).encode()
    out, result = run("/bin/bash", "-c", BASH_PROGRAMS, system=system, rootfs=str(root))
    assert (out, result.exit_status) == (want, 0)
    assert result.stats["shim.syscalls.execve"] == 6  # the six programs


@pytest.mark.parametrize("system", SYSTEMS)
def test_python3(root, system):
    code = "import sys; print(sum(range(10)), sys.version_info[0], len(sys.argv))"
    out, result, want = both(root, "/usr/bin/python3", "-c", code, system=system)
    assert (out, result.exit_status) == (want, 0)
    assert out.startswith(b"45 3 1")


# ---- hmk rootfs debian itself -----------------------------------------------------------


def test_the_root_is_merged_usr_with_the_packages_dependencies(root):
    for name in ("bin", "sbin", "lib"):
        assert os.readlink(root / name) == f"usr/{name}"
    unpacked = (root / ".hmk-root-complete").read_text().split()
    assert {"coreutils", "bash", "python3-minimal", "libc6", "libpython3.11-minimal"} <= set(
        unpacked
    )
    assert (root / "lib" / "ld-linux-aarch64.so.1").exists()


def test_merge_usr_moves_what_packages_put_in_bin_and_lib(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sh").write_text("top")
    (tmp_path / "lib" / "deep").mkdir(parents=True)
    (tmp_path / "lib" / "deep" / "x.so").write_text("x")
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "bin" / "sh").write_text("usr")  # in both: /usr's stays
    merge_usr(tmp_path)
    assert os.readlink(tmp_path / "bin") == "usr/bin" and os.readlink(tmp_path / "sbin")
    assert (tmp_path / "bin" / "sh").read_text() == "usr"
    assert (tmp_path / "usr" / "lib" / "deep" / "x.so").read_text() == "x"
    merge_usr(tmp_path)  # again: nothing to do
    assert os.readlink(tmp_path / "lib") == "usr/lib"


def test_clear_errors_without_apt_or_for_an_unknown_package(root, tmp_path, monkeypatch, capsys):
    with pytest.raises(DebianError, match="at least one"):
        build_root(tmp_path / "r", [])
    assert main(["rootfs", "debian", str(tmp_path / "r"), "no-such-package-hmk"]) == 2
    assert "Unable to locate package no-such-package-hmk" in capsys.readouterr().err
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DebianError, match="apt-get not found"):
        build_root(tmp_path / "r", ["bash"])

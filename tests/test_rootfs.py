"""`hmk run --rootfs DIR`: a host directory as the guest's read-only root, PROGRAM a path in it,
programs it execs found there too, /tmp, /dev and /proc mounted over it."""

import errno
import io
import os
import shutil

import pytest
from workload_expectations import expected

from hmk.cli import main
from hmk.linux.abi import AT_FDCWD, O_CREAT, O_WRONLY
from hmk.system.simulation import run_program
from hmk.workloads import path


@pytest.fixture
def rootfs(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "tmp").mkdir()  # the guest gets a fresh tmpfs here instead
    (tmp_path / "tmp" / "host-file").write_text("hidden")
    for name in ("hello", "minish", "fsx"):
        shutil.copy(path(name), tmp_path / "bin" / name)
    os.symlink("minish", tmp_path / "bin" / "sh")
    (tmp_path / "etc" / "motd").write_text("hi\n")
    return tmp_path


def _run(rootfs, program, *args):
    out = io.BytesIO()
    result = run_program(program, list(args), rootfs=str(rootfs), out=out, err=io.BytesIO())
    return result, out.getvalue()


def test_a_program_in_the_root_execs_another_there(rootfs):
    result, out = _run(rootfs, "/bin/minish")
    assert (out, result.exit_status) == expected("minish")


def test_a_symbolic_link_in_the_root_is_followed(rootfs):
    result, out = _run(rootfs, "/bin/sh", "/bin/hello", "link")
    assert (out, result.exit_status) == expected("minish", ["/bin/hello", "link"])


def test_tmp_is_a_fresh_writable_tmpfs(rootfs):
    result, out = _run(rootfs, "/bin/fsx")
    assert (out, result.exit_status) == expected("fsx")
    assert (rootfs / "tmp" / "host-file").read_text() == "hidden"  # the host is untouched


def test_the_imported_root_is_read_only():
    from test_fsmgr import make_fs  # noqa: PLC0415
    from test_fsmgr import path as put

    f, space, m, _ = make_fs("", rootfs="/")
    assert f.sys_openat(m, AT_FDCWD, put(space, b"/etc/hmk-test"), O_CREAT | O_WRONLY, 0) == (
        -errno.EROFS
    )
    assert f.sys_openat(m, AT_FDCWD, put(space, b"/tmp/ok"), O_CREAT | O_WRONLY, 0o644) >= 0


def test_bad_roots_and_programs_are_clear_errors(rootfs, tmp_path, capsys):
    with pytest.raises(OSError, match="No such file"):
        _run(rootfs, "/bin/nope")
    assert main(["run", "--rootfs", str(rootfs / "etc" / "motd"), "--", "/bin/hello"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["run", "--rootfs", str(rootfs), "--", "/etc/motd"]) == 2
    assert "Permission denied" in capsys.readouterr().err  # not executable
    (rootfs / "etc" / "motd").chmod(0o755)
    assert main(["run", "--rootfs", str(rootfs), "--", "/etc/motd"]) == 2
    assert "not an ELF" in capsys.readouterr().err


@pytest.mark.parametrize("own", [True, False])
def test_the_roots_own_etc_passwd_wins_over_the_built_in_one(rootfs, own):
    from test_fsmgr import make_fs  # noqa: PLC0415

    if own:
        (rootfs / "etc" / "passwd").write_text("guest:x:1000:1000::/home/guest:/bin/sh\n")
    f, _, _, _ = make_fs("", rootfs=str(rootfs))
    node = f.vfs.walk(f.vfs.root, b"/etc/passwd")[0]
    first = bytes(node.data).split(b":")[0]
    assert first == (b"guest" if own else b"root")

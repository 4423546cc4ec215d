"""`hmk run --rootfs DIR`: a host directory as the guest's root, PROGRAM a path in it, programs
it execs found there too, /tmp, /dev and /proc mounted over it; the guest's changes kept in
memory (the host's files never written); `--mount HOST:GUEST[:ro]` places more host
directories and files in the tree."""

import errno
import io
import os
import shutil
from pathlib import Path

import pytest
from guest_programs import build, linux_output, run
from workload_expectations import expected

from hmk.cli import main
from hmk.linux.abi import AT_FDCWD, O_CREAT, O_WRONLY
from hmk.system.simulation import parse_mount, run_program
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


def test_the_imported_roots_changes_stay_in_memory(tmp_path):
    from test_fsmgr import make_fs  # noqa: PLC0415
    from test_fsmgr import path as put

    (tmp_path / "etc").mkdir()
    f, space, m, _ = make_fs("", rootfs=str(tmp_path))
    fd = f.sys_openat(m, AT_FDCWD, put(space, b"/etc/hmk-test"), O_CREAT | O_WRONLY, 0o644)
    assert fd >= 0
    assert f.vfs.walk(f.vfs.root, b"/etc/hmk-test")[0] is not None
    assert not (tmp_path / "etc" / "hmk-test").exists()
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
@pytest.mark.parametrize("name", ["passwd", "group", "hosts"])
def test_the_roots_own_etc_files_win_over_the_built_in_ones(rootfs, own, name):
    from test_fsmgr import make_fs  # noqa: PLC0415

    if own:
        (rootfs / "etc" / name).write_text("guest:x:1000:1000::/home/guest:/bin/sh\n")
    f, _, _, _ = make_fs("", rootfs=str(rootfs))
    node = f.vfs.walk(f.vfs.root, f"/etc/{name}".encode())[0]
    first = bytes(node.data).split(b":")[0].split(b"\t")[0]
    assert first == (b"guest" if own else b"127.0.0.1" if name == "hosts" else b"root")


# ---- the upper layer and --mount, seen by a guest program (tests/guest/overlay.c) --------


def _tree(base):
    """Every name under `base` with its kind, mode, mtime and bytes: what must not change."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            data = Path(p).read_bytes() if os.path.isfile(p) else None
            found[os.path.relpath(p, base)] = (st.st_mode, st.st_mtime_ns, data)
    return found


@pytest.fixture(scope="module")
def overlay(tmp_path_factory):
    return build(tmp_path_factory, "overlay")


def _data_root(base, program):
    (base / "bin").mkdir(parents=True)
    shutil.copy(program, base / "bin" / "overlay")
    data = base / "data"
    (data / "sub").mkdir(parents=True)
    for name, text in (("a.txt", "alpha"), ("b.txt", "bravo"), ("gone.txt", "gone")):
        (data / name).write_text(text)
    (data / "sub" / "inner.txt").write_text("in")
    return data


@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_writes_creates_and_removals_go_to_memory_as_linux_makes_them(overlay, tmp_path, system):
    """The guest's changes under the imported root (append, create, unlink, rename, mkdir,
    rmdir, chmod, truncate) are what Linux gives on a real copy of the tree (qemu-aarch64
    changing a copy), and the host's tree is the same afterwards."""
    host = tmp_path / "root"
    _data_root(host, overlay)
    copy = tmp_path / "copy"
    shutil.copytree(host, copy, symlinks=True)
    want = linux_output(overlay, str(copy / "data"))
    assert _tree(copy) != _tree(host)  # Linux changed the copy
    before = _tree(host)
    out, result = run("/bin/overlay", "/data", system=system, rootfs=str(host))
    assert (out, result.exit_status) == (want, 0)
    assert b"listing: a.txt c.txt dir new.txt" in out  # the removed names stay gone
    assert _tree(host) == before


def test_a_mount_is_writable_in_memory_and_read_only_with_ro(overlay, tmp_path):
    """--mount HOST:GUEST: the host directory at GUEST, its changes in memory (as Linux makes
    them on a copy); HOST:GUEST:ro: every change refused with EROFS, as a read-only bind mount
    refuses it on Linux (qemu-aarch64 cannot make one, so Linux's answer is written here),
    the files still readable."""
    data = _data_root(tmp_path / "host", overlay)
    before = _tree(data)
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    want = linux_output(overlay, str(copy))
    out, _ = run(overlay, "/mnt/data", mounts=[(str(data), "/mnt/data")])  # hmk's own root
    assert out == want
    empty = tmp_path / "empty-root"
    empty.mkdir()
    bin_dir = tmp_path / "host" / "bin"
    mounts = [f"{bin_dir}:/opt/bin:ro", f"{data}:/ro:ro"]
    out, result = run("/opt/bin/overlay", "/ro", "ro", rootfs=str(empty), mounts=mounts)
    rofs = -errno.EROFS
    assert out.decode() == (
        f"open for writing {rofs}\ncreate {rofs}\nunlink {rofs}\nrename {rofs}\n"
        f"mkdir {rofs}\nchmod {rofs}\ntruncate {rofs}\na.txt: 5 [alpha]\n"
        "listing: a.txt b.txt gone.txt sub\n"
    )
    assert result.exit_status == 0
    assert _tree(data) == before


def test_a_file_mount_and_bad_mounts(tmp_path, capsys):
    (tmp_path / "motd").write_text("mounted\n")
    assert parse_mount(f"{tmp_path}/motd:/etc/motd:ro") == (f"{tmp_path}/motd", "/etc/motd", True)
    assert parse_mount((str(tmp_path), "/x")) == (str(tmp_path), "/x", False)
    for bad in ("nocolon", f"{tmp_path}:relative", f"{tmp_path}:/x:rx", ":/x"):
        with pytest.raises(ValueError, match="--mount"):
            parse_mount(bad)
    with pytest.raises(OSError, match="no such file"):
        parse_mount(f"{tmp_path}/nope:/x")
    assert main(["run", "--mount", f"{tmp_path}/nope:/x", "--", path("hello")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    from test_fsmgr import make_fs  # noqa: PLC0415

    f, _, _, _ = make_fs("", rootfs=str(tmp_path))
    from hmk.services.rootfs import place_mount  # noqa: PLC0415

    node = place_mount(f.vfs, str(tmp_path / "motd"), "/etc/deep/motd", True)
    assert f.vfs.walk(f.vfs.root, b"/etc/deep/motd")[0] is node
    assert bytes(node.data) == b"mounted\n" and node.readonly


def test_rename_and_link_across_file_systems_are_exdev(tmp_path):
    """The root, /tmp's tmpfs and each mount are file systems of their own: rename and link
    within one work (in memory), across two they are EXDEV, as Linux checks the mounts."""
    from test_fsmgr import make_fs  # noqa: PLC0415
    from test_fsmgr import path as put

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "motd").write_text("hi\n")
    (tmp_path / "data").mkdir()
    f, space, m, _ = make_fs("", rootfs=str(tmp_path))
    from hmk.services.rootfs import place_mount  # noqa: PLC0415

    place_mount(f.vfs, str(tmp_path / "data"), "/mnt", False)

    def two(a: bytes, b: bytes) -> tuple[int, int]:
        first = put(space, a)
        return first, put(space, b, at=first + 256)

    def rename(a, b):
        old, new = two(a, b)
        return f.sys_renameat(m, AT_FDCWD, old, AT_FDCWD, new)

    def link(a, b):
        old, new = two(a, b)
        return f.sys_linkat(m, AT_FDCWD, old, AT_FDCWD, new, 0)

    assert f.sys_openat(m, AT_FDCWD, put(space, b"/tmp/t"), O_CREAT | O_WRONLY, 0o644) >= 0
    exdev = -errno.EXDEV
    assert rename(b"/tmp/t", b"/etc/t") == exdev
    assert rename(b"/etc/motd", b"/tmp/motd") == exdev
    assert rename(b"/etc/motd", b"/mnt/motd") == exdev
    assert rename(b"/etc/none", b"/tmp/none") == exdev  # before the name is looked up
    assert link(b"/etc/motd", b"/tmp/l") == exdev
    assert link(b"/tmp/t", b"/mnt/l") == exdev
    assert link(b"/etc/motd", b"/etc/l") == 0
    assert rename(b"/etc/motd", b"/etc/motd2") == 0 and rename(b"/tmp/t", b"/tmp/u") == 0
    assert (tmp_path / "etc" / "motd").read_text() == "hi\n"
    assert sorted(os.listdir(tmp_path / "etc")) == ["motd"]


def test_mounts_from_the_command_line_and_the_api(overlay, tmp_path, capfd):
    import hmk  # noqa: PLC0415

    data = _data_root(tmp_path / "host", overlay)
    assert main(["run", "--quiet", "--mount", f"{data}:/d:ro", overlay, "/d", "ro"]) == 0
    assert f"create {-errno.EROFS}\n" in capfd.readouterr().out
    out = io.BytesIO()
    result = hmk.System(mounts=[f"{data}:/d"], out=out, warnings=None).run(overlay, "/d")
    assert result.exit_status == 0 and b"new.txt: 5 [fresh]" in out.getvalue()
    assert not (data / "new.txt").exists()

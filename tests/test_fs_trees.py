"""The file systems of hmk's own tree, which a program run under Linux cannot show: what statfs
reports for each (a read-only tmpfs at the root, the writable tmpfs on /tmp, devfs, procfs, an
imported root as an overlay), a tmpfs's sizes from the simulated RAM, and the read-only tree's
answers to the calls that change attributes (EROFS), copies between file systems (EXDEV) and
openat2's RESOLVE_NO_XDEV. The calls run on the file manager alone (tests/test_fsmgr.py's
fakes); the guest programs (tests/test_fsattrs.py, ...) check the rest against Linux."""

import errno
import struct

from test_fsmgr import BASE, make_fs, path

from hmk.linux.abi import (
    AT_FDCWD,
    AT_SYMLINK_NOFOLLOW,
    O_CREAT,
    O_RDONLY,
    O_RDWR,
    OVERLAYFS_SUPER_MAGIC,
    PROC_SUPER_MAGIC,
    RESOLVE_NO_XDEV,
    ST_RDONLY,
    TMPFS_MAGIC,
)
from hmk.services.fsattrs import STATFS

OUT = BASE + 0x1000  # where the calls write their answers


def statfs(f, space, m, where: bytes) -> tuple:
    assert f.sys_statfs(m, path(space, where), OUT) == 0
    return STATFS.unpack(space.read(OUT, STATFS.size))


def test_each_part_of_the_tree_is_its_own_file_system():
    f, space, m, k = make_fs()
    kind = {}
    for where in (b"/", b"/bin", b"/tmp", b"/dev", b"/proc"):
        st = statfs(f, space, m, where)
        kind[where] = (st[0], st[11] & ST_RDONLY, st[7])  # type, read-only, fsid
    assert kind[b"/"][:2] == (TMPFS_MAGIC, ST_RDONLY) and kind[b"/bin"] == kind[b"/"]
    assert kind[b"/tmp"][:2] == (TMPFS_MAGIC, 0)
    assert kind[b"/dev"][:2] == (TMPFS_MAGIC, ST_RDONLY)
    assert kind[b"/proc"][:2] == (PROC_SUPER_MAGIC, ST_RDONLY)
    assert len({fsid for _, _, fsid in kind.values()}) == 4  # /bin is the root's


def test_a_tmpfs_is_sized_from_the_simulated_ram():
    f, space, m, k = make_fs()
    pages = len(k.ram) // 4096 // 2  # half the RAM, as Linux sizes a tmpfs by default
    _, bsize, blocks, free, avail, files, ffree, *_ = statfs(f, space, m, b"/tmp")
    assert (bsize, blocks, files) == (4096, pages, pages) and free == avail
    fd = f.sys_openat(m, AT_FDCWD, path(space, b"/tmp/x"), O_CREAT | O_RDWR, 0o600)
    assert f.sys_fallocate(m, fd, 0, 0, 3 * 4096) == 0
    after = statfs(f, space, m, b"/tmp")
    assert (free - after[3], ffree - after[6]) == (3, 1)  # three pages, one inode
    assert f.sys_fallocate(m, fd, 0, 0, (pages + 1) * 4096) == -errno.ENOSPC


def test_the_read_only_tree_refuses_changes_of_attributes():
    f, space, m, _ = make_fs()
    passwd = path(space, b"/etc/passwd")
    name = path(space, b"user.x", BASE + 0x100)
    assert f.sys_setxattr(m, passwd, name, BASE, 1, 0) == -errno.EROFS
    assert f.sys_removexattr(m, passwd, name) == -errno.EROFS
    assert f.sys_getxattr(m, passwd, name, OUT, 16) == -errno.ENODATA
    assert f.sys_listxattr(m, passwd, OUT, 16) == 0
    assert f.sys_fchownat(m, AT_FDCWD, passwd, 1, 1, 0) == -errno.EROFS
    exe = path(space, b"/proc/self/exe")
    assert f.sys_fchmodat2(m, AT_FDCWD, exe, 0o600, AT_SYMLINK_NOFOLLOW) == -errno.EROFS
    meminfo = path(space, b"/proc/meminfo")
    assert f.sys_getxattr(m, meminfo, name, OUT, 16) == -errno.EOPNOTSUPP  # procfs keeps none


def test_copies_between_file_systems_and_resolve_no_xdev():
    f, space, m, _ = make_fs()
    src = f.sys_openat(m, AT_FDCWD, path(space, b"/etc/passwd"), O_RDONLY, 0)
    dst = f.sys_openat(m, AT_FDCWD, path(space, b"/tmp/copy"), O_CREAT | O_RDWR, 0o600)
    assert f.sys_copy_file_range(m, src, 0, dst, 0, 10, 0) == -errno.EXDEV
    assert f.sys_sendfile(m, dst, src, 0, 10) == 10  # sendfile copies across them
    how = BASE + 0x200
    space.write(how, struct.pack("<QQQ", O_RDONLY, 0, RESOLVE_NO_XDEV))
    root = f.sys_openat(m, AT_FDCWD, path(space, b"/"), O_RDONLY, 0)
    assert f.sys_openat2(m, root, path(space, b"tmp/copy"), how, 24) == -errno.EXDEV
    assert f.sys_openat2(m, root, path(space, b"etc/passwd"), how, 24) >= 0


def test_an_imported_root_is_an_overlay(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("guest\n")
    f, space, m, _ = make_fs(program="", rootfs=str(tmp_path))
    st = statfs(f, space, m, b"/etc/hostname")
    assert st[0] == OVERLAYFS_SUPER_MAGIC and st[2] > 0  # the host's sizes
    assert statfs(f, space, m, b"/tmp")[0] == TMPFS_MAGIC

"""POSIX ACLs (system.posix_acl_access, system.posix_acl_default) as Linux keeps them on a tmpfs,
under three compositions (tests/guest/posixacl.c says what each line checks): parsing and
validity, an ACL no more than the mode (the mode set, nothing kept), a masked one (kept, the
group's bits from the mask), chmod rewriting it, removal, listing, a default ACL and what new
files and directories inherit from it, a symlink and a pipe (EOPNOTSUPP)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.18's (this machine's natively, and qemu-aarch64's on it, on its
# tmpfs; tests/linux_native.py)
LINUX = b"""refused: short -22 version -95 size -22 order -22 no mask -22 tag -22 perm -22 id -22
minimal: 0
minimal: mode 751, access -61
masked: 0
masked: mode 650, access 1:6:-1 2:7:1000 4:4:-1 10:5:-1 20:0:-1
list 24: system.posix_acl_access
size only 44, too small -34
chmod 751: mode 751, access 1:7:-1 2:7:1000 4:4:-1 10:5:-1 20:1:-1
removed 0, again 0
removed: mode 751, access -61
empty value: 0
default on a file: -13, removing 0 0
default: 0
dir: mode 755, default 1:6:-1 2:7:1000 4:4:-1 10:5:-1 20:0:-1
new file: mode 640, access 1:6:-1 2:7:1000 4:4:-1 10:4:-1 20:0:-1
new file: mode 640, default -61
new dir: mode 650, access 1:6:-1 2:7:1000 4:4:-1 10:5:-1 20:0:-1
new dir: mode 650, default 1:6:-1 2:7:1000 4:4:-1 10:5:-1 20:0:-1
minimal default, new file: mode 640, access -61
symlink: set -95 get -95; pipe: set -95 get -95
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "posixacl")


def test_linux_answers_so(tmp_path_factory):
    assert native_output(tmp_path_factory, "posixacl", since=(6, 18)) == LINUX


def test_qemu_answers_so(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_hmk_answers_as_linux(program, system):
    out, result = run(program, "/tmp", system=system)
    assert (out, result.exit_status) == (LINUX, 0)

"""inotify (inotify_init1, inotify_add_watch, inotify_rm_watch, the events the file calls raise,
reads, poll, epoll) as Linux answers it on a tmpfs, under three compositions
(tests/guest/inotify.c says what each line checks)."""

import pytest
from guest_programs import build, linux_output, run
from linux_native import native_output, tmpfs_dir

# Linux's answers: Linux 6.6 (this machine's, natively, on its tmpfs; tests/linux_native.py)
LINUX = b"""init 1 empty read -11 cloexec 1
watch the directory 1
a created, written twice, closed, read:
  dir CREATE a (16)
  dir OPEN a (16)
  dir MODIFY a (16)
  dir CLOSE_WRITE a (16)
  dir OPEN a (16)
  dir ACCESS a (16)
  dir CLOSE_NOWRITE a (16)
a watched: chmod, truncate, setxattr, chown, utimensat:
  dir ATTRIB a (16)
  a ATTRIB
  dir MODIFY a (16)
  a MODIFY
  dir ATTRIB a (16)
  a ATTRIB
  dir ATTRIB a (16)
  a ATTRIB
  dir ATTRIB a (16)
  a ATTRIB
mkdir, rename, link, symlink, mkfifo:
  dir CREATE|ISDIR sub (16)
  dir MOVED_FROM a (16) cookie shared
  dir MOVED_TO b (16) cookie shared
  a MOVE_SELF
  a ATTRIB
  dir CREATE c (16)
  dir CREATE s (16)
  dir CREATE p (16)
the directory listed; c opened with O_TRUNC, fallocate:
  dir OPEN|ISDIR
  dir ACCESS|ISDIR
  dir CLOSE_NOWRITE|ISDIR
  dir OPEN c (16)
  dir MODIFY c (16)
  a MODIFY
  dir MODIFY c (16)
  a MODIFY
  dir CLOSE_WRITE c (16)
unlinks and rmdir:
  a ATTRIB
  dir DELETE c (16)
  a ATTRIB
  a DELETE_SELF
  a IGNORED
  dir DELETE b (16)
  dir DELETE|ISDIR sub (16)
  dir DELETE s (16)
  dir DELETE p (16)
watch again 1 mask add 1 mask create -17
oneshot replaces the mask 1
create e (IN_CREATE | IN_DELETE), then oneshot: f and g:
  dir CREATE e (16)
  dir DELETE e (16)
  dir CREATE f (16)
  dir IGNORED
a new watch's number 1 rm_watch 0 again -22
rm_watch:
  dir2 IGNORED
errors: bad fd -9 not inotify -22 missing -2 no events 4 add and create -22
only a dir -20 init flags -22 rm_watch not inotify -22 rm_watch bad fd -9 write -9 lseek 0
read smaller than an event -22 poll 1 revents 1 read 16 then poll 0
epoll: nothing 0 an event 1 events 1 read 16 then 0
waits, then reads 16 from f mask 4
f unlinked:
  f ATTRIB
  f IGNORED
cleaned 0
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "inotify")


def test_linux_agrees_with_the_expected_output(tmp_path_factory):
    assert native_output(tmp_path_factory, "inotify", since=(6, 6)) == LINUX


def test_qemu_agrees_with_the_expected_output(program):
    assert linux_output(program, tmpfs_dir()) == LINUX


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_inotify_answers_as_linux(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)
    for call in ("inotify_init1", "inotify_add_watch", "inotify_rm_watch"):
        assert result.stats[f"shim.syscalls.{call}"] >= 1

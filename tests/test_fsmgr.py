"""The file manager (hmk.services.fsmgr) on bad input: every call answers with the errno Linux
gives and nothing raises; plus the tree's read-only parts and pipes. fsx (a bundled program,
compared with qemu-aarch64 in test_workloads_qemu.py) covers the ordinary paths."""

import errno
import io
import struct
from collections import Counter

import numpy as np
import pytest

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.objects import KernelMemory
from hmk.linux.abi import AT_FDCWD, O_CREAT, O_RDONLY, O_WRONLY, RLIM_INFINITY, SIGPIPE
from hmk.linux.signals import SignalState, bit
from hmk.linux.syscalls import Call
from hmk.services.devhost import DevHost
from hmk.services.fsmgr import FsMgr
from hmk.services.service import Boot

BASE = 0x10000  # a user buffer the fake address space maps; anything else is unmapped


class FakeTables:
    """No page tables: the fake space's accesses are not logged."""

    def translate(self, root, va):
        return None


class FakeSpace:
    tables, root = FakeTables(), 0

    def __init__(self):
        self.mem = bytearray(0x4000)

    def _ok(self, va, n):
        return va >= BASE and va + n <= BASE + len(self.mem)

    def read(self, va, n):
        return bytes(self.mem[va - BASE : va - BASE + n]) if self._ok(va, n) else None

    def write(self, va, data):
        if not self._ok(va, len(data)):
            return False
        self.mem[va - BASE : va - BASE + len(data)] = data
        return True

    def read_cstring(self, va, limit=4096):
        out = bytearray()
        while len(out) < limit:
            c = self.read(va + len(out), 1)
            if c is None:
                return None
            if c == b"\0":
                return bytes(out)
            out += c
        return None


class FakeFrames:
    """Frames handed out at increasing addresses (none is ever reused)."""

    def __init__(self):
        self.next, self.freed = 0x100000, []

    def alloc(self, zero=True, owner="kernel"):
        self.next += PAGE_SIZE
        return self.next - PAGE_SIZE

    def free(self, pa):
        self.freed.append(pa)


class FakeKernel:
    """What fsmgr asks of the core kernel: blocking and waking threads, the clock, frames, the
    log of its accesses and the counters its work is counted in."""

    running = 7
    ncores = 1  # (the CPUs /sys lists)

    def __init__(self):
        self.blocked, self.woken = [], []
        self.counts = Counter()
        self.frames = FakeFrames()
        self.ram = np.zeros(4 << 20, np.uint8)  # the frames' bytes (the page cache's)
        self.mem = KernelMemory(self.ram, 0, PAGE_SIZE)

    def block_current(self, queue):
        queue.append("me")
        self.blocked.append(queue)

    def wake_all(self, queue):
        self.woken += queue
        queue.clear()

    def now_ns(self):
        return 0

    def threads_of(self, proc):
        return [self.running] if proc is not None else []

    def process_of(self, tcb):
        return "proc"


class FakePlacement:
    """Every service in the caller's domain: a call is the service's work, done at once."""

    def call(self, proc, service, serve, msg=0, data_path=False):
        return serve()

    def work(self, service, budget):
        pass


class FakeTask:
    pid, proc, exe = 1, "proc", b"/opt/prog"
    uids, gids, groups = [0, 0, 0], [0, 0, 0], ()

    def __init__(self):
        self.signals = SignalState()


class FakeProcMgr:
    def __init__(self, task):
        self.task = task

    def task_of(self, proc):
        return self.task

    def limit(self, task, resource):
        return (RLIM_INFINITY, RLIM_INFINITY)  # no limits (RLIMIT_FSIZE)


def make_fs(program="/opt/prog", rootfs=None):
    """A file manager on fakes: (fsmgr, the caller's memory, the call, the kernel)."""
    boot = Boot(FakeKernel(), FakePlacement(), stdin=b"typed", out=io.BytesIO(), program=program)
    boot.rootfs = rootfs
    task = FakeTask()
    boot.peers.update(devhost=DevHost(boot), procmgr=FakeProcMgr(task))
    f = boot.peers["fsmgr"] = FsMgr(boot)
    f.process_started(task)
    space = FakeSpace()
    return f, space, Call(None, task, FakeKernel.running, space), boot.kernel


@pytest.fixture
def fs():
    f, space, call, _ = make_fs()
    return f, space, call


def path(space, text: bytes, at=BASE) -> int:
    space.write(at, text + b"\0")
    return at


def test_bad_descriptors_pointers_and_lengths(fs):
    f, space, m = fs
    assert f.sys_read(m, 99, BASE, 4) == -errno.EBADF
    assert f.sys_write(m, (1 << 64) - 1, BASE, 4) == -errno.EBADF  # fd -1
    assert f.sys_write(m, 1, 0xDEAD0000, 4) == -errno.EFAULT
    assert f.sys_read(m, 0, 0xDEAD0000, 4) == -errno.EFAULT
    assert f.sys_openat(m, AT_FDCWD, 0xDEAD0000, O_RDONLY, 0) == -errno.EFAULT
    assert f.sys_close(m, (1 << 40) | 77) == -errno.EBADF  # an int argument: its low 32 bits
    assert f.sys_dup3(m, 1, 1, 0) == -errno.EINVAL
    assert f.sys_dup3(m, 1, 5000, 0) == -errno.EBADF
    assert f.sys_fcntl(m, 1, 999, 0) == -errno.EINVAL
    assert f.sys_lseek(m, 1, 0, 0) == -errno.ESPIPE  # the console
    assert f.sys_writev(m, 1, BASE, 5000) == -errno.EINVAL
    assert f.sys_pipe2(m, BASE, 0xFFFF) == -errno.EINVAL
    assert f.sys_getcwd(m, BASE, 1) == -errno.ERANGE
    assert f.sys_pread64(m, 99, BASE, 4, (1 << 64) - 1) == -errno.EINVAL  # before EBADF
    assert f.sys_pwrite64(m, 99, BASE, 4, 0) == -errno.EBADF


def test_a_path_without_terminator_is_efault(fs):
    """Linux's getname: a fault before the NUL is EFAULT; PATH_MAX bytes without one (all
    readable) are ENAMETOOLONG."""
    f, space, m = fs
    space.mem[:] = b"a" * len(space.mem)  # no NUL before the end of the mapping
    end = BASE + len(space.mem)
    assert f.sys_openat(m, AT_FDCWD, end - 100, O_RDONLY, 0) == -errno.EFAULT
    assert f.sys_mkdirat(m, AT_FDCWD, end - 4095, 0o755) == -errno.EFAULT
    assert f.sys_openat(m, AT_FDCWD, BASE, O_RDONLY, 0) == -errno.ENAMETOOLONG
    assert f.sys_mkdirat(m, AT_FDCWD, end - 4096, 0o755) == -errno.ENAMETOOLONG


def test_long_names_and_read_only_parts(fs):
    f, space, m = fs
    assert (
        f.sys_openat(m, AT_FDCWD, path(space, b"/tmp/" + b"n" * 300), O_CREAT, 0)
        == -errno.ENAMETOOLONG
    )
    assert f.sys_openat(m, AT_FDCWD, path(space, b"/etc/passwd"), O_WRONLY, 0) == -errno.EROFS
    assert f.sys_mkdirat(m, AT_FDCWD, path(space, b"/newdir"), 0o755) == -errno.EROFS
    assert f.sys_unlinkat(m, AT_FDCWD, path(space, b"/opt/prog"), 0) == -errno.EROFS
    assert f.sys_openat(m, AT_FDCWD, path(space, b"/tmp/ok"), O_CREAT | O_WRONLY, 0o644) == 3
    assert f.sys_unlinkat(m, AT_FDCWD, path(space, b"/tmp/ok"), 0xFF) == -errno.EINVAL


def test_proc_self_exe_names_the_program(fs):
    f, space, m = fs
    n = f.sys_readlinkat(m, AT_FDCWD, path(space, b"/proc/self/exe"), BASE + 256, 64)
    assert space.read(BASE + 256, n) == b"/opt/prog"
    assert f.sys_readlinkat(m, AT_FDCWD, path(space, b"/etc/passwd"), BASE + 256, 64) == (
        -errno.EINVAL
    )


def test_pipes_block_and_restart_and_a_lone_writer_gets_sigpipe(fs):
    f, space, m = fs
    core = f.k
    assert f.sys_pipe2(m, BASE, 0) == 0
    r, w = struct.unpack("<ii", space.read(BASE, 8))
    assert f.sys_read(m, r, BASE + 64, 4) == -512  # ERESTARTSYS: the thread blocked
    assert core.blocked and core.blocked[-1] is f.tables[1].fds[r][0].node.read_waiters
    assert f.sys_write(m, w, BASE, 4) == 4 and core.woken == ["me"]  # the write woke it
    assert f.sys_read(m, r, BASE + 64, 4) == 4  # the restarted call finds the data
    f.sys_close(m, w)
    assert f.sys_read(m, r, BASE + 64, 4) == 0  # no writer left: end of file
    assert f.sys_pipe2(m, BASE, 0) == 0
    r, w = struct.unpack("<ii", space.read(BASE, 8))
    f.sys_close(m, r)
    assert f.sys_write(m, w, BASE, 4) == -errno.EPIPE
    assert m.task.signals.pending == bit(SIGPIPE)  # delivered on the way out


def test_stdin_reads_the_runs_input(fs):
    f, space, m = fs
    assert f.sys_read(m, 0, BASE, 100) == 5 and space.read(BASE, 5) == b"typed"
    assert f.sys_read(m, 0, BASE, 100) == 0


def test_a_program_under_tmp_leaves_tmp_writable():
    f, space, m, _ = make_fs("/tmp/ci/bin/prog")
    assert f.sys_mkdirat(m, AT_FDCWD, path(space, b"/tmp/mine"), 0o755) == 0
    assert f.sys_mkdirat(m, AT_FDCWD, path(space, b"/tmp/ci/x"), 0o755) == -errno.EROFS


def test_a_write_reaches_the_mapped_pages_it_covers_and_only_needs_those():
    """The page cache refreshes the pages a write covers (both, across a page boundary);
    a page it does not cover keeps its bytes."""
    import hmk  # noqa: PLC0415
    from hmk.script import MAP_SHARED, O_CREAT, O_RDWR, PROT_READ  # noqa: PLC0415

    seen = {}

    def main(libc):
        fd = libc.open("/tmp/f", O_CREAT | O_RDWR)
        libc.write(fd, b"a" * 3 * 4096)
        addr = libc.mmap(3 * 4096, PROT_READ, MAP_SHARED, fd, 0)
        libc.touch(addr, 3 * 4096, stride=4096)  # all three pages cached
        libc.syscall("pwrite64", fd, addr, 0, 0)  # (nothing written)
        scratch = libc.mmap(4096)
        libc.memwrite(scratch, b"XY")
        assert libc.syscall("pwrite64", fd, scratch, 2, 4095) == 2  # across pages 0 and 1
        seen["boundary"] = libc.memread(addr + 4094, 4)
        seen["untouched"] = libc.memread(addr + 2 * 4096, 2)
        return 0

    result = hmk.System(warnings=None).run(main)
    assert result.exit_status == 0
    assert seen == {"boundary": b"aXYa", "untouched": b"aa"}


def test_extended_attributes_none_set(fs):
    """A file nobody gave extended attributes: getxattr is ENODATA (after the path's errors and
    the name's: ERANGE for an empty or too long one), listxattr an empty list; procfs keeps
    none (EOPNOTSUPP). tests/test_xattrs.py sets and reads them against Linux."""
    f, space, m = fs
    name = BASE + 512
    space.write(name, b"security.selinux\0")
    p = path(space, b"/etc/passwd")
    assert f.sys_getxattr(m, p, name, 0, 0) == -errno.ENODATA
    exe = path(space, b"/proc/self/exe")
    assert f.sys_lgetxattr(m, exe, name, 0, 0) == -errno.EOPNOTSUPP
    assert f.sys_listxattr(m, p, 0, 0) == 0 and f.sys_llistxattr(m, p, BASE + 1024, 64) == 0
    assert f.sys_fgetxattr(m, 1, name, 0, 0) == -errno.ENODATA
    assert f.sys_flistxattr(m, 1, 0, 0) == 0
    assert f.sys_fgetxattr(m, 99, name, 0, 0) == f.sys_flistxattr(m, 99, 0, 0) == -errno.EBADF
    assert f.sys_getxattr(m, path(space, b"/nope"), name, 0, 0) == -errno.ENOENT
    assert f.sys_listxattr(m, path(space, b"/nope/x"), 0, 0) == -errno.ENOENT
    p = path(space, b"/etc/passwd")
    space.write(name, b"\0")
    assert f.sys_getxattr(m, p, name, 0, 0) == -errno.ERANGE
    space.write(name, b"u" * 300 + b"\0")
    assert f.sys_getxattr(m, p, name, 0, 0) == -errno.ERANGE
    assert f.sys_getxattr(m, p, 0xDEAD0000, 0, 0) == -errno.EFAULT

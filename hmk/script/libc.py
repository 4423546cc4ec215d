"""The libc-like object a script gets: each call is a request to its process's guest stub.

A call becomes a real SVC (or a real load/store loop, for `touch`) made by the scripted
process's guest thread, so it is timed, scheduled and blocked like any program's. Strings and
data go through a 1 MiB scratch buffer in the stub's memory: the stub first stores to the range
(a timed `touch`, which faults its pages in, as a libc's memcpy would), then the bytes are copied
host-side; results are read back host-side. Failures raise OSError(errno, strerror), as Python's
os module does; `syscall()` returns the raw value (negative errno) instead.
"""

from __future__ import annotations

import os
import struct
from typing import NamedTuple

# AArch64 Linux's values (not the host's: O_DIRECTORY and O_NOFOLLOW differ on x86-64)
from hmk.linux.abi import (  # noqa: F401  (a script's constants: hmk.script re-exports them)
    AT_FDCWD,
    AT_REMOVEDIR,
    EFAULT,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    SEEK_CUR,
    SEEK_END,
    SEEK_SET,
    SIGCHLD,
    SIGKILL,
    SIGTERM,
    WNOHANG,
)
from hmk.linux.syscalls import NUMBER_OF as NUMBERS

CACHE_LINE = 64  # the default touch stride: one access per cache line on every profile
COPY_STRIDE = 16  # memwrite/memread: one access per 16 bytes, as a memcpy with q registers

__all__ = ["Libc", "Stat", "NUMBERS"]


class Stat(NamedTuple):
    """What stat/fstat give (the fields of AArch64's struct stat a script is likely to want)."""

    st_mode: int
    st_ino: int
    st_nlink: int
    st_size: int
    st_blocks: int
    st_mtime_ns: int


class Libc:
    """A scripted process's system interface. `pid` is its process id; `scratch` and
    `scratch_bytes` are where its strings and data go in guest memory; `script` is the
    ScriptThread whose requests it makes."""

    def __init__(self, session, pid: int, scratch: int, scratch_bytes: int, script):
        self._session, self.pid = session, pid
        self.scratch, self.scratch_bytes = scratch, scratch_bytes
        self._script = script  # the ScriptThread it asks through (hmk.script.handoff)

    def __repr__(self) -> str:
        return f"<hmk libc of pid {self.pid}>"

    # ---- raw requests
    def syscall(self, nr: int | str, *args: int) -> int:
        """Make syscall `nr` (a number or a name, e.g. "getppid") with up to six integer
        arguments; the raw result (a negative errno on failure)."""
        number = NUMBERS.get(nr) if isinstance(nr, str) else nr
        if number is None or len(args) > 6:
            raise ValueError(f"libc.syscall: unknown syscall {nr!r} or more than six arguments")
        regs = tuple(int(a) for a in args) + (0,) * (6 - len(args))
        return self._script.ask(("syscall", number, regs))

    def _check(self, result: int, what: str = "", path=None) -> int:
        if result < 0:
            code = -result
            raise OSError(code, f"{what}: {os.strerror(code)}" if what else os.strerror(code), path)
        return result

    def _call(self, name: str, *args: int, path=None) -> int:
        return self._check(self.syscall(name, *args), name, path)

    def touch(self, addr: int, length: int, write: bool = False, stride: int = CACHE_LINE) -> None:
        """One access every `stride` bytes of [addr, addr + length): a byte load, or (`write`)
        a load and a store of the same byte, so contents are kept; timed through the caches and
        TLBs, faulting pages in (copy-on-write included) like any program's. A bad address kills
        the process with SIGSEGV, as it would a program."""
        if length < 0 or stride <= 0:
            raise ValueError(f"libc.touch: length {length} and stride {stride} must be positive")
        self._script.ask(("touch", int(addr), int(length), int(stride), int(bool(write))))

    def compute(self, instructions: int) -> None:
        """Run about `instructions` user instructions (a two-instruction loop): the script's own
        work between calls."""
        if instructions >= 2:
            self._script.ask(("compute", int(instructions) // 2))

    # ---- guest memory
    def memwrite(self, addr: int, data: bytes) -> None:
        """Store `data` at `addr` in this process's memory: a timed store every 16 bytes of the
        range (faulting its pages in, breaking copy-on-write), then the bytes, host-side."""
        data = bytes(data)
        self.touch(addr, len(data), write=True, stride=COPY_STRIDE)
        if not self._session.space(self.pid).write(addr, data):
            raise OSError(EFAULT, f"libc.memwrite: {addr:#x} is not writable")

    def memread(self, addr: int, length: int) -> bytes:
        """`length` bytes of this process's memory at `addr` (after a timed load every 16
        bytes of the range)."""
        self.touch(addr, length, stride=COPY_STRIDE)
        data = self._session.space(self.pid).read(addr, length)
        if data is None:
            raise OSError(EFAULT, f"libc.memread: {addr:#x} is not readable")
        return data

    def _layout(self, chunks) -> list[int]:
        """Where `chunks` go, one after another (16-byte aligned), in the scratch buffer."""
        addrs, offset = [], 0
        for chunk in chunks:
            addrs.append(self.scratch + offset)
            offset += (len(chunk) + 15) & ~15
        if offset > self.scratch_bytes:
            raise ValueError(
                f"libc: {offset:,} bytes do not fit the {self.scratch_bytes:,}-byte scratch buffer "
                "(use mmap and write_from/read_into for big buffers)"
            )
        return addrs

    def _place(self, *chunks: bytes) -> list[int]:
        """Put `chunks` in the scratch buffer (one timed store pass); their addresses."""
        addrs = self._layout(chunks)
        blob = b"".join(c.ljust((len(c) + 15) & ~15, b"\0") for c in chunks)
        if blob:
            self.memwrite(self.scratch, blob)
        return addrs

    # ---- processes
    def getpid(self) -> int:
        return self._call("getpid")

    def getppid(self) -> int:
        return self._call("getppid")

    def fork(self, child_main, *args) -> int:
        """A child process (copy-on-write memory, shared open files) whose script is
        `child_main(libc, *args)`; returns its pid (the child never returns from here)."""
        if not callable(child_main):
            raise TypeError(f"libc.fork: child_main must be callable, not {child_main!r}")
        self._session.forking(self.pid, child_main, args)
        pid = self.syscall("clone", SIGCHLD, 0, 0, 0, 0)
        self._session.forked(self.pid, pid)
        return self._check(pid, "fork")

    def wait(self, pid: int = -1, options: int = 0) -> tuple[int, int]:
        """wait4: (pid, wait status) of a child that ended, as os.waitpid; (0, 0) with WNOHANG
        when none has. os.WEXITSTATUS and friends read the status."""
        (buf,) = self._place(b"\0" * 4)
        got = self._call("wait4", pid, buf, options, 0)
        status = struct.unpack("<i", self._session.space(self.pid).read(buf, 4))[0] if got else 0
        return got, status

    def execve(self, path: str, args=(), env=None) -> None:
        """Replace this process's program by the executable at `path` (argv[0] = path). On
        success it does not return: the script's work in this process is over."""
        argv = [os.fsencode(path)] + [os.fsencode(a) for a in args]
        envp = [os.fsencode(e) for e in (env if env is not None else self._session.env)]
        strings = [s + b"\0" for s in (*argv, *envp)]
        addrs = self._layout([*strings, b""])  # the pointer tables go after the strings
        table = struct.pack(
            f"<{len(argv) + len(envp) + 2}Q", *addrs[: len(argv)], 0, *addrs[len(argv) : -1], 0
        )
        *_, tables = self._place(*strings, table)
        envp_table = tables + 8 * (len(argv) + 1)
        self._call("execve", addrs[0], tables, envp_table, path=path)

    def spawn(self, path: str, args=(), env=None) -> int:
        """fork + execve of `path` in the child (exit status 127 if the exec fails): its pid."""

        def child(libc):
            try:
                libc.execve(path, args, env)
            except OSError:
                return 127

        return self.fork(child)

    def exit(self, status: int = 0) -> None:
        """exit_group(status): the process ends here (a script may also just return)."""
        self.syscall("exit_group", status)

    def monotonic_ns(self) -> int:
        """clock_gettime(CLOCK_MONOTONIC): the simulated time since boot, in nanoseconds."""
        (buf,) = self._place(b"\0" * 16)
        self._call("clock_gettime", 1, buf)
        sec, nsec = struct.unpack("<qq", self._session.space(self.pid).read(buf, 16))
        return sec * 10**9 + nsec

    def kill(self, pid: int, sig: int) -> None:
        self._call("kill", pid, sig)

    def sched_yield(self) -> None:
        self._call("sched_yield")

    # ---- files
    def open(self, path: str, flags: int = O_RDONLY, mode: int = 0o644) -> int:
        (p,) = self._place(os.fsencode(path) + b"\0")
        return self._call("openat", AT_FDCWD, p, flags, mode, path=path)

    def close(self, fd: int) -> None:
        self._call("close", fd)

    def read(self, fd: int, length: int) -> bytes:
        """Up to `length` bytes (through the scratch buffer; b"" at end of file)."""
        if length > self.scratch_bytes:
            raise ValueError(f"libc.read: at most {self.scratch_bytes:,} bytes (use read_into)")
        got = self._call("read", fd, self.scratch, length)
        return self._session.space(self.pid).read(self.scratch, got) if got else b""

    def write(self, fd: int, data: bytes) -> int:
        """Write `data` (copied into the scratch buffer first): the bytes written."""
        (buf,) = self._place(bytes(data))
        return self._call("write", fd, buf, len(data))

    def read_into(self, fd: int, addr: int, length: int) -> int:
        """read(2) into guest memory at `addr` (e.g. an mmap'd buffer): the bytes read."""
        return self._call("read", fd, addr, length)

    def write_from(self, fd: int, addr: int, length: int) -> int:
        """write(2) from guest memory at `addr`: the bytes written."""
        return self._call("write", fd, addr, length)

    def lseek(self, fd: int, offset: int, whence: int = SEEK_SET) -> int:
        return self._call("lseek", fd, offset, whence)

    def pipe(self) -> tuple[int, int]:
        """pipe2: (read end, write end)."""
        (buf,) = self._place(b"\0" * 8)
        self._call("pipe2", buf, 0)
        return struct.unpack("<ii", self._session.space(self.pid).read(buf, 8))

    def stat(self, path: str) -> Stat:
        p, buf = self._place(os.fsencode(path) + b"\0", b"\0" * 128)
        self._call("newfstatat", AT_FDCWD, p, buf, 0, path=path)
        return self._stat(buf)

    def fstat(self, fd: int) -> Stat:
        (buf,) = self._place(b"\0" * 128)
        self._call("fstat", fd, buf)
        return self._stat(buf)

    def _stat(self, buf: int) -> Stat:
        raw = self._session.space(self.pid).read(buf, 128)
        ino, mode, nlink = struct.unpack_from("<8xQII", raw)
        size, blocks = struct.unpack_from("<48xq8xq", raw)
        sec, nsec = struct.unpack_from("<88xqQ", raw)
        return Stat(mode, ino, nlink, size, blocks, sec * 10**9 + nsec)

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        (p,) = self._place(os.fsencode(path) + b"\0")
        self._call("mkdirat", AT_FDCWD, p, mode, path=path)

    def unlink(self, path: str) -> None:
        (p,) = self._place(os.fsencode(path) + b"\0")
        self._call("unlinkat", AT_FDCWD, p, 0, path=path)

    # ---- memory
    def mmap(
        self,
        length: int,
        prot: int = PROT_READ | PROT_WRITE,
        flags: int = MAP_PRIVATE | MAP_ANONYMOUS,
        fd: int = -1,
        offset: int = 0,
        addr: int = 0,
    ) -> int:
        """mmap(2) (anonymous private read/write by default): the mapping's address."""
        return self._call("mmap", addr, length, prot, flags, fd, offset)

    def munmap(self, addr: int, length: int) -> None:
        self._call("munmap", addr, length)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        self._call("mprotect", addr, length, prot)

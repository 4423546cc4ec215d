"""What each bundled workload (workloads/src/*.c) prints and exits with, computed in Python.

`expected(name, args)` reimplements each program's arithmetic (same PRNG, same order of
operations, same IEEE double rounding) and its command-line checks, so a test comparing a run
against it checks the program and whatever ran it: qemu-aarch64 (tests/test_workloads_qemu.py)
and the simulator. `CASES` lists the argument sets the tests run: each program's defaults and one
non-default set, plus a few usage errors. Keep this file in step with workloads/src.
"""

import struct
from collections.abc import Sequence
from functools import cache

MASK64 = (1 << 64) - 1
USAGE_STATUS = 2  # common.h: a bad command line
XORSHIFT_SEED = 88172645463325252
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

# lat's operations (workloads/src/lat.c), each run with N = 3; exec only once on hmk (a second
# fork + execve hangs the guest: tests/test_bench.py)
LAT_OPS = (
    "null",
    "getpid",
    "read",
    "write",
    "open",
    "stat",
    "pipe",
    "pipe-self",
    "fault-read",
    "fault-write",
    "mmap",
    "fork",
    "thread",
)

# (name, args) pairs the tests run; defaults first. Non-default sets are small, so a simulator
# running at a few MIPS finishes them quickly.
EINTR_CASES = ("read", "restart", "wait", "sleep")
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hello", ()),
    ("hello", ("hmk",)),
    ("exitcode", ()),
    ("exitcode", ("0",)),
    ("exitcode", ("42",)),
    ("exitcode", ("300",)),  # the kernel keeps the low 8 bits: 44
    ("seqsweep", ()),
    ("seqsweep", ("64", "3")),
    ("randsweep", ()),
    ("randsweep", ("1000", "5000")),
    ("pchase", ()),
    ("pchase", ("100", "20000")),
    ("syscalls", ()),
    ("syscalls", ("100",)),
    ("compute", ()),
    ("compute", ("13", "1000")),
    ("fsx", ()),
    ("fsx", ("7",)),
    ("minish", ()),
    ("minish", ("/bin/hello", "hmk")),
    ("minish", ("/nonexistent", "x")),
    ("sigtest", ()),
    ("sigtest", ("segv",)),
    ("threads", ()),
    ("threads", ("3000",)),
    ("filemap", ()),
    ("filemap", ("300",)),
    ("procgrp", ()),
    ("remap", ()),
    ("remap", ("32",)),
    ("shmem", ()),
    ("shmem", ("9",)),
    ("procinfo", ()),
    ("timers", ()),
    ("timers", ("rtc",)),
    ("spawn", ()),
    *(("eintr", (case,)) for case in EINTR_CASES),
    ("lat", ()),
    *(("lat", (op, "3")) for op in LAT_OPS),
    ("lat", ("fork", "0")),
    ("lat", ("exec", "1")),
    ("coldstart", ()),
    ("coldstart", ("2",)),
    # usage errors: nothing on stdout, a message on stderr, status 2
    ("exitcode", ("-1",)),
    ("seqsweep", ("0",)),
    ("pchase", ("12x",)),
    ("compute", ("1", "2", "3")),
    ("fsx", ("0",)),
    ("minish", ("a", "b", "c")),
    ("sigtest", ("other",)),
    ("threads", ("0",)),
    ("filemap", ("0",)),
    ("procgrp", ("x",)),
    ("remap", ("1",)),
    ("shmem", ("0",)),
    ("procinfo", ("x",)),
    ("timers", ("clock",)),
    ("spawn", ("x",)),
    ("eintr", ()),
    ("eintr", ("pause",)),
    ("lat", ("nope",)),
    ("lat", ("null", "x")),
    ("lat", ("null", "1", "2", "3")),
    ("lat", ("null", "0", "1")),  # timed mode needs N >= 1
    ("coldstart", ("x",)),
    ("coldstart", ("app",)),
    ("coldstart", ("65",)),
    ("coldstart", ("1", "2", "3")),
)


def xorshift64(x: int) -> int:
    x ^= (x << 13) & MASK64
    x ^= x >> 7
    x ^= (x << 17) & MASK64
    return x


def reduce(x: int, n: int) -> int:
    """common.h: an index in [0, n) from the high half of x (multiply-shift)."""
    return ((x >> 32) * n) >> 32


class UsageError(Exception):
    pass


def _arg(args: Sequence[str], i: int, default: int, lo: int, hi: int) -> int:
    """common.h's arg_u64, with i counted from 0 (argv[i + 1])."""
    if len(args) <= i:
        return default
    s = args[i]
    if not s or not all("0" <= ch <= "9" for ch in s):
        raise UsageError
    v = int(s)
    if not lo <= v <= hi:
        raise UsageError
    return v


def _check_count(args: Sequence[str], most: int) -> None:
    if len(args) > most:
        raise UsageError


def _hello(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 1)
    return f"hello, {args[0] if args else 'world'}\n", 0


def _exitcode(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 1)
    return "", _arg(args, 0, 3, 0, 0x7FFFFFFF) & 0xFF


def _seqsweep(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 2)
    kib = _arg(args, 0, 256, 1, 1 << 20)
    passes = _arg(args, 1, 8, 0, 1 << 20)
    n = kib * 1024 // 8
    a = [(i * 0x9E3779B97F4A7C15) & MASK64 for i in range(n)]
    s = 0
    for _ in range(passes):
        for i in range(n):
            s = (s + a[i]) & MASK64
            a[i] = s ^ (s >> 32)
    return f"seqsweep: kib={kib} passes={passes} checksum={s:016x}\n", 0


def _randsweep(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 2)
    kib = _arg(args, 0, 256, 1, 1 << 20)
    accesses = _arg(args, 1, 262144, 0, 1 << 40)
    n = kib * 1024 // 8
    a = list(range(n))
    x, s = XORSHIFT_SEED, 0
    for _ in range(accesses):
        x = xorshift64(x)
        i = reduce(x, n)
        a[i] = (a[i] + x) & MASK64
        s = (s + a[i]) & MASK64
    return f"randsweep: kib={kib} accesses={accesses} checksum={s:016x}\n", 0


def _pchase(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 2)
    kib = _arg(args, 0, 256, 1, 1 << 20)
    steps = _arg(args, 1, 1000000, 0, 1 << 40)
    n = kib * 1024 // 64  # 64-byte nodes
    nxt = list(range(n))
    x = XORSHIFT_SEED
    for i in range(n - 1, 0, -1):  # Sattolo's algorithm: one cycle through all n nodes
        x = xorshift64(x)
        j = reduce(x, i)
        nxt[i], nxt[j] = nxt[j], nxt[i]
    # the chase returns to node 0 every n steps, so only steps mod n of them matter
    idx = 0
    for _ in range(steps % n):
        idx = nxt[idx]
    return f"pchase: kib={kib} nodes={n} steps={steps} final={idx}\n", 0


def _syscalls(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 1)
    n = _arg(args, 0, 10000, 0, 1 << 40)
    return f"syscalls: n={n} zero_writes_ok={n}\n", 0


def _compute(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 2)
    n = _arg(args, 0, 64, 1, 2048)
    limit = _arg(args, 1, 200000, 2, 0xFFFFFFFF)
    # Python floats are IEEE doubles with round-to-nearest, as the program's arithmetic (built
    # with -ffp-contract=off: no fused multiply-add); sums run over k in ascending order from 0.0.
    a = [[((31 * i + 17 * j) % 101) / 7.0 for j in range(n)] for i in range(n)]
    b = [[((13 * i + 29 * j) % 97) / 3.0 - 16.0 for j in range(n)] for i in range(n)]
    bt = list(zip(*b, strict=True))
    c = []
    for i in range(n):
        row = []
        for j in range(n):
            s = 0.0
            for aik, bkj in zip(a[i], bt[j], strict=True):
                s += aik * bkj
            row.append(s)
        c.append(row)
    h = FNV_OFFSET
    for row in c:
        for v in row:
            (bits,) = struct.unpack("<Q", struct.pack("<d", v))
            h = ((h ^ bits) * FNV_PRIME) & MASK64
    trace_milli = sum(int(c[i][i] * 1000.0) for i in range(n))  # int() truncates, as the C cast

    composite = bytearray(limit + 1)
    primes = prime_sum = 0
    for p in range(2, limit + 1):
        if composite[p]:
            continue
        primes += 1
        prime_sum += p
        if p * p <= limit:
            composite[p * p :: p] = b"\x01" * len(range(p * p, limit + 1, p))
    return (
        f"compute: n={n} matmul_hash={h:016x} trace_milli={trace_milli}\n"
        f"compute: limit={limit} primes={primes} prime_sum={prime_sum & MASK64}\n"
    ), 0


_FSX_HEAD = """chdir: 0
getcwd matches: 1
open a: 3
"""
_FSX_TAIL = """close: 0
close again: -1 EBADF
stat a: 0
size {size} regular 1
open a rw: 3
lseek: 6
read: 3
read 'fsx'
pwrite: 5
pread: 10
pread 'HELLO fsx'
ftruncate: 0
fstat: 0
size 4
lseek end: 4
close: 0
open excl: -1 EEXIST
open missing: -1 ENOENT
rename a b: 0
stat a: -1 ENOENT
mkdir d: 0
mkdir d again: -1 EEXIST
open d/x: 3
write: 1
close: 0
rmdir d: -1 ENOTEMPTY
unlink d: -1 EISDIR
open d/x/y: -1 ENOTDIR
open d for writing: -1 EISDIR
rename d into itself: -1 EINVAL
list: b d
open b: 3
mmap b: HELL
munmap: 0
F_GETFD: 1
dup: 4
F_GETFD of dup: 0
dup2 to 9: 9
close 9: 0
close: 0
close: 0
pipe: 0
write pipe: 4
read pipe: 4
pipe 'ping'
lseek pipe: -1 ESPIPE
close write end: 0
read at eof: 0
close: 0
open /dev/null: 3
write null: 4
close: 0
open /dev/zero: 3
read zero: 8
zeros: 1
close: 0
access b: 0
access nope: -1 ENOENT
unlink d/x: 0
rmdir d: 0
unlink b: 0
chdir /: 0
rmdir dir: 0
done
"""


def _fsx(args: Sequence[str]) -> tuple[str, int]:
    """fsx's steps, each result as Linux gives it (checked against qemu-aarch64 on the host's
    /tmp by test_workloads_qemu.py); only the write count varies."""
    _check_count(args, 1)
    writes = _arg(args, 0, 3, 1, 100)
    return _FSX_HEAD + "write: 10\n" * writes + _FSX_TAIL.format(size=10 * writes), 0


def _minish(args: Sequence[str]) -> tuple[str, int]:
    """Linux semantics of minish: fork, the child's output through a pipe, wait4 statuses.
    The default run execs /bin/hello from hmk's file system, which qemu-aarch64 cannot follow
    (it is not in the host's /bin, and qemu-user does not follow an execve into another AArch64
    program), so that case is derived here and checked on hmk only (QEMU_CANNOT); a failing
    exec behaves the same on both and is checked against qemu."""
    _check_count(args, 2)
    prog = args[0] if args else "/bin/hello"
    arg = args[1] if len(args) > 1 else "pipe"
    if prog in ("/bin/hello", "hello"):
        said, status = f"hello, {arg}\n", 0
    else:
        said, status = "exec failed: No such file or directory\n", 127
    return (
        f"child said ({len(said)} bytes): {said}"
        f"waited for it: 1, exited: 1, status {status}\n"
        "second child: my parent is the shell: 1, I am not: 1, my value 99\n"
        "second: waited 1, status 7, the shell's value 1\n"
        "no more children: -1 ECHILD\n"
    ), 0


def _sigtest(args: Sequence[str]) -> tuple[str, int]:
    """Linux's signal semantics (and qemu-aarch64's output): a handler runs, a blocked signal
    waits, SIGCHLD's siginfo has the child's status, default actions kill with the signal's
    number as the wait status; "segv" then dies itself: 128 + 11 as a shell reports it."""
    if len(args) > 1 or (args and args[0] != "segv"):
        raise UsageError
    return (
        "handler ran: 1\nwhile blocked: 0\nafter unblocking: 1\n"
        "child exited with 5: 1; SIGCHLD said status 5, exited 1\n"
        "null store kills with 11\nSIGTERM kills with 15\nbroken pipe kills with 13\n"
        "ignored SIGTERM: exit 3\n"
    ), 139 if args else 0


def _threads(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 1)
    n = _arg(args, 0, 100000, 1, 100000000)
    return f"threads: n={n} total={2 * n} returned=42 own_tid=1 same_pid=1\n", 0


def _filemap(args: Sequence[str]) -> tuple[str, int]:
    _check_count(args, 1)
    pages = _arg(args, 0, 64, 1, 4096)
    total = sum(i % 251 for i in range(pages))
    return f"filemap: pages={pages} sum={total} file=0 mapping=200\n", 0


_PROCGRP = """shell: leads its group 1
child group: its own 1, not the shell's 1
setsid as a group leader: -1 EPERM
kill the child's group: 0
child killed by SIGTERM: 1
new session: leads it 1, leads its group 1
setrlimit: 0
child's limit: 100 200
soft above hard: -1 EINVAL
no such group: -1 ESRCH
"""


def _procgrp(args: Sequence[str]) -> tuple[str, int]:
    """Linux's process groups, sessions and limits (checked against qemu-aarch64)."""
    _check_count(args, 0)
    return _PROCGRP, 0


def _remap(args: Sequence[str]) -> tuple[str, int]:
    """mremap's semantics (checked against qemu-aarch64): the same lines for any page count."""
    _check_count(args, 1)
    _arg(args, 0, 8, 2, 1024)
    return (
        """shrink: same place 1, kept 1
grow in place: ok
grow: moved 1, kept 1
writable after moving: 1
old place unmapped: 1
realloc kept: 1
""",
        0,
    )


def _shmem(args: Sequence[str]) -> tuple[str, int]:
    """MAP_SHARED's semantics (checked against qemu-aarch64): a forked child's stores reach
    the parent through shared memory, not through private memory; a shared file mapping and
    read()/pwrite() see each other's bytes; the errors Linux gives."""
    _check_count(args, 1)
    pages = _arg(args, 0, 4, 1, 1024)
    return (
        f"anonymous: child 0, shared pages seen {pages}/{pages}, private kept {pages}\n"
        """file: read sees "through the mapping"
file: mapping sees "via pwrite"
file: child 0 wrote "child"
msync: ok, unaligned EINVAL, both flags EINVAL
file: after munmap "Z"
msync unmapped: ENOMEM
read-only fd, shared writable: EACCES
read-only fd, private writable: ok
no type: EINVAL
""",
        0,
    )


_PROCINFO = """waitid nowait: ok signo=17 code=CLD_EXITED pid-match=1 status=7
waitid all: ok pid-match=1 status=7
waitid reaped: ECHILD
waitid killed: ok code=CLD_KILLED status=15
waitid nohang: ok pid=0
waitid no flags: EINVAL
waitid bad type: EINVAL
wait4 by pid: ok exit=3
wait4 own group: ECHILD
wait4 group -pid: ok match=1 exit=5
wait4 none left: ECHILD
wait4 bad options: EINVAL
statx: ok basic=1 size=10 regular=1 nlink=1 blksize-set=1
statx dir: ok dir=1
statx missing: ENOENT
statx bad flags: EINVAL
statx bad buffer: EFAULT
ids: uid=0 euid=0 gid=0 egid=0 groups=0
setgroups: ok count=2 first=10
setresgid: ok
setresuid: ok
resuid: 1000 1000 0
seteuid 0 (saved): ok euid=0
seteuid 1000: ok
setuid 1000: ok
resuid: 1000 1000 0
setuid 0: ok
setgroups unprivileged: ok
setresuid 5: ok
"""


def _procinfo(args: Sequence[str]) -> tuple[str, int]:
    """waitid, wait4 by group, statx and credentials, by Linux's rules (checked against
    qemu-aarch64 run as root: hmk's first process is root, with no supplementary groups)."""
    _check_count(args, 0)
    return _PROCINFO, 0


_TIMERS = """nanosleep 10ms: ok, long enough 1
clock_nanosleep absolute: ok, reached 1
clock_nanosleep past: ok
nanosleep bad nsec: EINVAL
nanosleep bad pointer: EFAULT
futex wait: ETIMEDOUT, long enough 1
futex wait, value changed: EAGAIN
cond timedwait: ETIMEDOUT
ppoll timeout: 0, long enough 1
ppoll woken: 1 revents=1, after the child's sleep 1, before the timeout 1
wall clock after 2024: 1
clock_gettime bad clock: EINVAL
"""


def _timers(args: Sequence[str]) -> tuple[str, int]:
    """Sleeps and timeouts by Linux's rules (checked against qemu-aarch64); with `rtc`, the
    date of hmk's real-time clock: the run's boot time, 2024-07-10 (hmk.linux.clock.BOOT_TIME_NS), a
    line qemu-aarch64 cannot give (it would read the host's /dev/rtc0, if there is one)."""
    _check_count(args, 1)
    if args and args[0] != "rtc":
        raise UsageError
    return _TIMERS + ("rtc: ok 2024-07-10\n" if args else ""), 0


def _spawn(args: Sequence[str]) -> tuple[str, int]:
    """Linux's vfork and posix_spawn: the vfork child's store reaches its parent, posix_spawn
    reports a missing program as ENOENT (from the child, through the shared memory). Derived
    from Linux's semantics: qemu-aarch64 runs vfork as fork and cannot follow the execs."""
    _check_count(args, 0)
    return (
        "hello, world\n"
        "posix_spawn hello: ok, status 0\n"
        "posix_spawn missing: ENOENT\n"
        "vfork: status 3, the child's store seen 1\n"
        "vfork+execve: status 7\n",
        0,
    )


_EINTR = {
    "read": "read: -1 Interrupted system call, handled 1\nread again: 1 ok, handled 1\n",
    "restart": "read: 1 ok, handled 1\n",
    "wait": "waitpid: -1 Interrupted system call, handled 1\n",
    "sleep": "nanosleep: -1 Interrupted system call, handled 1\n"
    "time left between 1.5 and 2 s: yes\n",
}


def _eintr(args: Sequence[str]) -> tuple[str, int]:
    """signal(7)'s rules for a call a handler interrupts: EINTR without SA_RESTART, the call
    going on with it, a sleep always cut short with the time left (checked against
    qemu-aarch64, which passes Linux's own behaviour through)."""
    _check_count(args, 1)
    if len(args) != 1 or args[0] not in _EINTR:
        raise UsageError
    return _EINTR[args[0]] + "child: 7\n", 0


def _lat(args: Sequence[str]) -> tuple[str, int]:
    """Every iteration's result is right on Linux: ok equals N. exec runs /bin/exitcode, which
    only hmk's file system has: qemu-aarch64 cannot run that case (QEMU_CANNOT). The timed
    mode (a third argument) prints measured times: tests/test_paper.py checks it."""
    _check_count(args, 3)
    op = args[0] if args else "null"
    if op not in (*LAT_OPS, "exec"):
        raise UsageError
    n = _arg(args, 1, 1000, len(args) > 2, 1 << 32)
    if len(args) > 2:
        _arg(args, 2, 0, 0, 1 << 32)
        raise ValueError("lat's timed mode prints measured times: not an expectation")
    return f"lat: op={op} n={n} ok={n}\n", 0


def _coldstart(args: Sequence[str]) -> tuple[str, int]:
    """Every launch exits 0 on hmk, where /bin/coldstart is the program itself; qemu-aarch64
    cannot exec it (QEMU_CANNOT). The timed mode (a second argument) prints measured times:
    tests/test_paper.py checks it."""
    _check_count(args, 2)
    n = _arg(args, 0, 1, len(args) > 1, 64)
    if len(args) > 1:
        _arg(args, 1, 0, 0, 64)
        raise ValueError("coldstart's timed mode prints measured times: not an expectation")
    return f"coldstart: launches={n} ok={n}\n", 0


# programs that take no arguments (any is a usage error)
NO_ARGUMENTS = {"procgrp", "procinfo", "spawn"}

# programs whose output depends on starting as root (qemu-aarch64 runs them as the host user)
AS_ROOT = {"procinfo"}

# cases whose expected output qemu-aarch64 cannot give (see each program's derivation)
QEMU_CANNOT = {
    ("minish", ()),
    ("minish", ("/bin/hello", "hmk")),
    ("timers", ("rtc",)),
    ("spawn", ()),
    ("lat", ("exec", "1")),
    ("coldstart", ()),
    ("coldstart", ("2",)),
}

_PROGRAMS = {
    "hello": _hello,
    "exitcode": _exitcode,
    "seqsweep": _seqsweep,
    "randsweep": _randsweep,
    "pchase": _pchase,
    "syscalls": _syscalls,
    "compute": _compute,
    "fsx": _fsx,
    "minish": _minish,
    "sigtest": _sigtest,
    "threads": _threads,
    "filemap": _filemap,
    "procgrp": _procgrp,
    "remap": _remap,
    "shmem": _shmem,
    "procinfo": _procinfo,
    "timers": _timers,
    "spawn": _spawn,
    "eintr": _eintr,
    "lat": _lat,
    "coldstart": _coldstart,
}

NAMES = tuple(sorted(_PROGRAMS))


@cache
def _expected(name: str, args: tuple[str, ...]) -> tuple[bytes, int]:
    try:
        program = _PROGRAMS[name]
    except KeyError:
        raise ValueError(
            f"no expectation for workload {name!r}; known: {', '.join(NAMES)}"
        ) from None
    try:
        out, status = program(args)
    except UsageError:
        return b"", USAGE_STATUS
    return out.encode(), status


def expected(name: str, args: Sequence[str] = ()) -> tuple[bytes, int]:
    """(stdout, exit status) of bundled workload `name` run with arguments `args` (argv[1:])."""
    return _expected(name, tuple(args))

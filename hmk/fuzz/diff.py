"""Differential conformance: the fuzzer's safe subset on Linux and on hmk, result by result.

`sysfuzz SEED CALLS safe DIR` makes only calls that are harmless to the machine that runs them
and whose results do not depend on that machine (workloads/fuzz/sysfuzz.c says which), and
prints one line per call: `#I NR NAME(ARGS) = RESULT`, RESULT a value where two kernels must
agree on it, `ok` where only success is comparable, `-ERRNO` on an error. hmk's lines come from
run_program; Linux's from this machine's kernel itself: the same source built for it (x86-64:
sysfuzz.c turns the few arm64-specific argument encodings into x86-64's), run as root in a
fresh directory on a tmpfs, in a session of its own. `compare` matches them line by line.

Not qemu-aarch64, although it passes most calls to the same kernel: it translates flags itself
(unknown bits dropped: epoll_create1(0x10) succeeds), checks whole buffers before a call
(EFAULT where Linux copies part, or fails on something else first), sign-extends 32-bit ids
(getegid() of 4294967294 comes back as -2), lacks calls, and crashes on some lengths it
allocates by (an address length of 2 GiB). Its answers are errno conformance of qemu's.

A disagreement is either explained (hmk.fuzz.known: a documented difference of hmk's, a call
qemu-aarch64 7.2 does not pass to Linux, a call hmk does not implement) or a finding.

    python -m hmk.fuzz.diff SEED [CALLS [SYSTEM]]     the disagreements of one seed
"""

from __future__ import annotations

import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hmk.fuzz import fuzzer, known
from hmk.fuzz import table as fuzz_table

LINE = re.compile(r"^#(\d+) (\d+) (\w+)\((.*)\) = (\S+( u)?)$")
SOURCE = Path(__file__).resolve().parents[2] / "workloads" / "fuzz" / "sysfuzz.c"
TMPFS = "/dev/shm"  # Linux's scratch directory goes on a tmpfs, as hmk's /tmp is one
WALL = 300  # seconds: a native run that takes longer is ended


@dataclass(frozen=True)
class Call:
    index: int
    nr: int
    name: str
    args: str
    result: str


@dataclass(frozen=True)
class Disagreement:
    index: int
    name: str
    args: str
    hmk: str
    linux: str
    why: str | None  # the documented explanation, or None: a finding

    def __str__(self) -> str:
        head = f"#{self.index} {self.name}({self.args}): hmk {self.hmk}, Linux {self.linux}"
        return head + (f"  [{self.why}]" if self.why else "")


def parse(text: str) -> list[Call]:
    """The call lines of a safe-mode run (a call that never returned has no line)."""
    calls = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            calls.append(Call(int(m[1]), int(m[2]), m[3], m[4], m[5]))
    return calls


class NoLinux(RuntimeError):
    """This machine cannot answer natively (not x86-64 Linux, no C compiler, no source)."""


_built: dict[str, str] = {}


def native_fuzzer() -> str:
    """The fuzzer built for this machine (x86-64 Linux): cc -static, once per source."""
    cc = shutil.which("cc")
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64" or cc is None:
        raise NoLinux("needs x86-64 Linux and a C compiler (cc)")
    if not SOURCE.is_file():
        raise NoLinux(f"needs the fuzzer's source, {SOURCE} (a checkout of hmk)")
    key = f"{SOURCE.stat().st_mtime_ns}"
    if key not in _built:
        exe = Path(tempfile.mkdtemp(prefix="hmkfuzz-native.")) / "sysfuzz"
        flags = ["-O1", "-w", "-static", "-o", str(exe), str(SOURCE)]
        done = subprocess.run([cc, *flags], capture_output=True, text=True, check=False)
        if done.returncode:
            raise NoLinux(f"cannot build the fuzzer natively: {done.stderr.strip()[-500:]}")
        _built[key] = str(exe)
    return _built[key]


def linux_output(seed: int, calls: int, only: str | None = None, scratch: str | None = None) -> str:
    """What the fuzzer prints in safe mode on this machine's Linux, natively, as root, its
    scratch directory in `scratch` (made and removed here; default: a new one)."""
    if os.geteuid() != 0:
        raise NoLinux("needs root: the expected answers are root's, as hmk's first process is")
    program = native_fuzzer()
    scratch = scratch or linux_scratch()
    os.makedirs(scratch, exist_ok=True)
    try:
        argv = [program, str(seed), str(calls), "safe", scratch, *([only] if only else [])]
        env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C"}
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=scratch,
            process_group=0,  # a group leader in a session it does not lead, as hmk's first
        )  # process is (a program a shell started): kill(0) reaches only it and its children
        try:
            out, _ = proc.communicate(timeout=WALL)
        except subprocess.TimeoutExpired:
            proc.kill()  # (SIGKILL: the fuzzer catches every signal it can)
            out, _ = proc.communicate()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out.decode(errors="replace")


def linux_scratch() -> str:
    """A fresh directory's name for a native run, on a tmpfs if this machine has one."""
    base = TMPFS if os.path.isdir(TMPFS) else None
    return tempfile.mkdtemp(prefix="hmkfuzz.", dir=base)


def hmk_scratch(like: str) -> str:
    """hmk's directory for the fuzzer's scratch one: under its /tmp, as long as `like` (so
    that paths, and getcwd's answers, have the same lengths)."""
    return "/tmp/" + "h" * max(len(like) - 5, 1)


def hmk_output(
    seed: int, calls: int, system: str = "linux", only: str | None = None, scratch="/tmp"
) -> str:
    """What the fuzzer prints in safe mode on hmk (its scratch directory in `scratch`)."""
    from hmk.system import run_program  # noqa: PLC0415

    out = io.BytesIO()
    argv = [str(seed), str(calls), "safe", scratch, *([only] if only else [])]
    run_program(fuzzer(), argv, system=system, stdin=b"", out=out, err=io.BytesIO(), warnings=None)
    return out.getvalue().decode(errors="replace")


def _succeeded(result: str) -> bool:
    return not result.split()[0].startswith("-")


def compare(hmk: list[Call], linux: list[Call]) -> tuple[list[Disagreement], str | None]:
    """The calls whose results differ, each with its explanation if it has one, and why the
    comparison stopped early, if it did: the runs made different calls (a fuzzer bug), or a
    difference left them in different states (a call succeeded on one side only: from there
    on, their descriptors, files or limits differ, and so may what follows)."""
    found = []
    for h, li in zip(hmk, linux, strict=False):
        if (h.index, h.name) != (li.index, li.name):
            return found, f"the runs made different calls at #{h.index}: {h.name}, {li.name}"
        if h.result != li.result:
            why = known.explain(h.name, h.result, li.result, h.args)
            found.append(Disagreement(h.index, h.name, h.args, h.result, li.result, why))
            if _succeeded(h.result) != _succeeded(li.result):
                return found, f"#{h.index} left the runs in different states ({why or 'a finding'})"
    if len(hmk) != len(linux):
        shorter = "hmk" if len(hmk) < len(linux) else "Linux"
        return (
            found,
            f"{shorter}'s run ended early ({len(hmk)} calls on hmk, {len(linux)} on Linux)",
        )
    return found, None


def compared_calls() -> str:
    """The calls the comparison draws from: the fuzzer's safe subset that hmk implements
    (a call it does not answers ENOSYS, as `hmk syscalls` says)."""
    from hmk.report.syscalls import table as syscall_table  # noqa: PLC0415

    implemented = {row.name for row in syscall_table() if row.handler is not None}
    return ",".join(r.name for r in fuzz_table() if "S" in r.flags and r.name in implemented)


def differences(seed: int, calls: int, system: str = "linux", only: str | None = None):
    """compare() of one seed's runs (of `only`'s calls; default: compared_calls())."""
    only = only or compared_calls()
    scratch = linux_scratch()
    linux = linux_output(seed, calls, only, scratch)
    return compare(parse(hmk_output(seed, calls, system, only, hmk_scratch(scratch))), parse(linux))


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 4:
        print("usage: python -m hmk.fuzz.diff SEED [CALLS [SYSTEM [CALL,...]]]", file=sys.stderr)
        return 2
    seed = int(argv[0])
    calls = int(argv[1]) if len(argv) > 1 else 2000
    system = argv[2] if len(argv) > 2 else "linux"
    only = argv[3] if len(argv) > 3 else None
    found, stopped = differences(seed, calls, system, only)
    for d in found:
        print(d)
    if stopped:
        print(f"stopped: {stopped}")
    unexplained = [d for d in found if d.why is None]
    print(f"{len(found)} disagreements, {len(unexplained)} unexplained")
    return 1 if unexplained or stopped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

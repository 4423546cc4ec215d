"""The documented differences between hmk's answers and Linux's, as the differential fuzzing
(hmk.fuzz.diff) meets them; `hmk syscalls` and docs/syscalls.md list them.

Three kinds:

- a call hmk does not implement (ENOSYS, listed as missing or ENOSYS on purpose by
  `hmk syscalls`): every disagreement of it is explained by that;
- a call qemu-aarch64 7.2 does not pass to Linux (QEMU_LACKS: it answers ENOSYS itself), so
  the differential run has no Linux answer for it; where hmk implements it, tests compare it
  with this machine's Linux natively (tests/linux_native.py) or with Linux's semantics;
- a documented difference of hmk's own (DIFFERENCES): a result hmk gives on purpose, or cannot
  give the same, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

ENOSYS = "-38"


@dataclass(frozen=True)
class Difference:
    call: str
    hmk: str  # hmk's result: "-ERRNO", "ok", a value, or "*" for any
    linux: str  # Linux's
    why: str


# calls qemu-aarch64 7.2 answers ENOSYS itself (it has no translation for them), and where
# their Linux answers are checked instead
QEMU_LACKS: dict[str, str] = {}

DIFFERENCES: tuple[Difference, ...] = ()


@cache
def _unimplemented() -> frozenset[str]:
    from hmk.report.syscalls import table  # noqa: PLC0415

    return frozenset(row.name for row in table() if row.handler is None)


# the calls whose answers depend on file permissions
FILE_CALLS = frozenset(
    [
        "openat",
        "openat2",
        "mkdirat",
        "mknodat",
        "unlinkat",
        "symlinkat",
        "linkat",
        "renameat",
        "renameat2",
        "truncate",
        "fchmodat",
        "fchmodat2",
        "fchownat",
        "fchmod",
        "fchown",
        "faccessat",
        "faccessat2",
        "utimensat",
        "chdir",
        "fchdir",
        "newfstatat",
        "statx",
        "statfs",
        "readlinkat",
        "execve",
        "execveat",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "inotify_add_watch",
        "name_to_handle_at",
        "bind",
        "connect",
        "getcwd",
        "memfd_create",
    ]
)
UNPRIVILEGED = (
    "hmk's file manager checks no permission bits (every file is the caller's: "
    "docs/services.md); Linux refuses a caller whose ids are no longer root's"
)


def explain(call: str, hmk: str, linux: str, args: str = "") -> str | None:
    """Why hmk's result `hmk` of `call` differs from Linux's `linux`, if that is documented.
    A result ends with " u" when the call was made with ids that were not root's."""
    if hmk.endswith(" u") != linux.endswith(" u"):
        return None  # the runs' credentials differ
    if linux.endswith(" u"):
        hmk, linux = hmk[:-2], linux[:-2]
        if call in FILE_CALLS and linux in ("-13", "-1"):
            return UNPRIVILEGED
    if call in _unimplemented() or call.startswith("nosys_"):
        return "hmk does not implement it (ENOSYS)"
    if linux == ENOSYS and call in QEMU_LACKS:
        return f"qemu-aarch64 lacks it: {QEMU_LACKS[call]}"
    for d in DIFFERENCES:
        if d.call == call and d.hmk in ("*", hmk) and d.linux in ("*", linux):
            return d.why
    return None

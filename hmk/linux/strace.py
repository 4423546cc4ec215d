"""--strace: one line per syscall, `pid name(arg, ...) = result`, as qemu-aarch64 -strace prints.

Arguments are shown by their kinds (hmk.linux.numbers): d decimal, x hex, s a C string in the
caller's memory, p a pointer; AT_FDCWD by name. A call that blocked and goes on after a signal
handler shows ERESTARTSYS, as strace does; an error its errno and text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hmk.linux.abi import AT_FDCWD, ERESTARTSYS, ERRNO_NAMES, MAX_ERRNO
from hmk.linux.syscalls import KINDS_OF


def signed(value: int) -> int:
    """A 64-bit register as a signed value (an off_t, a length, a result)."""
    return value - (1 << 64) if value >> 63 else value


@dataclass
class SyscallRecord:
    number: int
    name: str
    args: tuple
    result: int | None  # None: execve replaced the image
    strings: dict | None = None  # string arguments as read at entry (execve replaces memory)


def format_call(record: SyscallRecord, read_cstring, pid: int = 1) -> str:
    """The record's line; read_cstring(va) -> bytes|None reads the caller's memory."""
    kinds = KINDS_OF.get(record.number, "xxxxxx")
    shown = []
    for i, (kind, value) in enumerate(zip(kinds, record.args, strict=False)):
        as_int = signed(value)
        if i == 0 and as_int == AT_FDCWD and record.name.endswith("at"):
            shown.append("AT_FDCWD")
        elif kind == "d":
            shown.append(str(as_int))
        elif kind in "ps" and value == 0:
            shown.append("NULL")
        elif kind == "s":
            entry = record.strings or {}
            text = entry[value] if value in entry else read_cstring(value)
            shown.append(f'"{text.decode(errors="replace")}"' if text is not None else hex(value))
        else:
            shown.append(hex(value))
    result = 0 if record.result is None else record.result
    if result == -ERESTARTSYS:  # a handler interrupted it; it goes on after (SA_RESTART)
        tail = "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
    elif -MAX_ERRNO <= result < 0:
        code = -result
        known = code in ERRNO_NAMES
        tail = f"-1 errno={code} ({os.strerror(code)})" if known else f"{result}"
    else:
        tail = hex(result) if kinds[:1] == "p" and record.name in ("brk", "mmap") else str(result)
    return f"{pid} {record.name}({','.join(shown)}) = {tail}"

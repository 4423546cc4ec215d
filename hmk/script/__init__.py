"""Python-scripted guest processes (hmk.api.System runs them; docs/scripting.md).

`handoff`: a script's thread and its strict hand-off with the simulator; `libc`: the object a
script calls (open/read/write/mmap/fork/...), and the AArch64 Linux constants scripts use.
"""

from hmk.script.libc import (
    MAP_ANONYMOUS,
    MAP_PRIVATE,
    MAP_SHARED,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
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
    WNOHANG,
    Libc,
    Stat,
)

__all__ = [
    "Libc",
    "Stat",
    "MAP_ANONYMOUS",
    "MAP_PRIVATE",
    "MAP_SHARED",
    "O_APPEND",
    "O_CLOEXEC",
    "O_CREAT",
    "O_DIRECTORY",
    "O_EXCL",
    "O_RDONLY",
    "O_RDWR",
    "O_TRUNC",
    "O_WRONLY",
    "PROT_EXEC",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "SEEK_CUR",
    "SEEK_END",
    "SEEK_SET",
    "WNOHANG",
]

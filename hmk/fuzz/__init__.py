"""Guest-syscall fuzzing: `hmk fuzz syscalls`.

The fuzzer is a bundled AArch64 program (workloads/fuzz/sysfuzz.c, built into
hmk/workloads/bin/fuzz/sysfuzz): seeded random system calls across the whole AArch64 table,
with descriptors, paths, pointers and lengths drawn to hit edges, and children to aim process
calls at. Two uses:

- robustness (hmk.fuzz.syscalls): it runs under every composition with run limits; a host
  exception inside hmk (an InternalError, or a run whose fault says a handler "raised"), a
  fuzzer that dies, or a run that stops making progress is a failure, reported with its seed,
  its composition and the last calls it made (`hmk fuzz syscalls`, docs/validation.md);
- conformance (hmk.fuzz.diff): its safe subset runs under qemu-aarch64 on this machine's Linux
  and under hmk, and every result must be the same, errno for errno, or a documented
  difference (hmk.fuzz.known, listed by `hmk syscalls`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

from hmk.workloads import bin_dir


def fuzzer() -> str:
    """The bundled fuzzer's path."""
    return str(bin_dir() / "fuzz" / "sysfuzz")


@dataclass(frozen=True)
class Row:
    """A row of the fuzzer's call table: the call's number, name, argument kinds and flags
    (S: in the safe subset, V: its value is compared, F: it makes a descriptor, D: denied,
    M: it makes a mapping)."""

    nr: int
    name: str
    kinds: str
    flags: str


@cache
def table() -> tuple[Row, ...]:
    """The bundled fuzzer's call table, as it prints it (`sysfuzz 0 0 table`, run on hmk)."""
    from hmk.system import run_program  # noqa: PLC0415

    out = io.BytesIO()
    run_program(fuzzer(), ["0", "0", "table"], system="linux", out=out, warnings=None)
    rows = []
    for line in out.getvalue().decode().splitlines():
        nr, name, kinds, *flags = line.split()
        rows.append(Row(int(nr), name, kinds.strip("-"), flags[0] if flags else ""))
    return tuple(rows)

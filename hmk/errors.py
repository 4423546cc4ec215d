"""hmk's own failures, kept apart from the guest's.

A guest program that misbehaves gets an errno or a signal, as on Linux. A host exception in
hmk's own code (a kernel path, a service handler, the timing model) is never the guest's: it
ends the run as an `InternalError`, which the command line reports as a bug of hmk (exit
status 70, EX_SOFTWARE in BSD's sysexits.h) with a report file ready to attach.
"""

from __future__ import annotations

import os
import sys
import traceback

EX_SOFTWARE = 70  # sysexits.h: "an internal software error has been detected"


class OutOfMemory(MemoryError):
    """The simulated RAM is exhausted: the guest's condition, not hmk's (the OOM killer
    answers it, docs/kernel-design.md)."""


class InternalError(Exception):
    """A host exception inside hmk while it simulated: a bug of hmk, not of the guest.
    `where` is the innermost frame that raised ("file.py:line in function"), `details` the
    full traceback (kept as text, so the error crosses process boundaries intact)."""

    def __init__(self, message: str, where: str = "?", details: str = ""):
        super().__init__(message, where, details)
        self.message, self.where, self.details = message, where, details

    def __str__(self) -> str:
        return self.message


def internal(error: BaseException, during: str = "the run") -> InternalError:
    """`error` (a host exception raised while hmk simulated) as an InternalError; itself
    when it already is one."""
    if isinstance(error, InternalError):
        return error
    frames = traceback.extract_tb(error.__traceback__)
    inner = frames[-1] if frames else None
    where = f"{os.path.basename(inner.filename)}:{inner.lineno} in {inner.name}" if inner else "?"
    message = f"{type(error).__name__}: {error} at {where}, during {during}"
    return InternalError(message, where, "".join(traceback.format_exception(error)))


def write_report(error: InternalError, parameters: dict, directory: str | None = None) -> str:
    """Write a bug report for `error` (what ran, with which parameters, the traceback, the
    host) and return its path."""
    import datetime  # noqa: PLC0415  (a report is rare: these load only for one)
    import platform  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from hmk import __version__  # noqa: PLC0415

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fd, path = tempfile.mkstemp(prefix=f"hmk-bug-{stamp}-", suffix=".txt", dir=directory)
    lines = [
        "hmk internal error report",
        f"hmk {__version__}, Python {platform.python_version()}, {platform.platform()}",
        f"command: {' '.join(sys.argv)}",
        f"error: {error}",
        "",
        "run parameters:",
        *(f"  {key}: {value!r}" for key, value in parameters.items()),
        "",
        error.details,
    ]
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path

"""Files hmk writes where a user asks: checked before anything runs, written whole or not at all.

A run, a comparison or a benchmark suite can take minutes, so every command checks each output
path (`check`) before it starts, and refuses one it could not write with an `OutputError`
(`hmk: error: --stats /tmp: is a directory; give a file name`, exit status 2):

- a new file: its directory must exist, and the file is created there (and removed again);
- an existing regular file: it must open for appending (so it is not truncated by the check);
- an existing device or pipe (/dev/null, /dev/stdout, a FIFO): it must be writable;
- a directory, an empty name, or a path through something that is not a directory is refused.

After the run, `written(path)` gives the name to write to. A regular file (new or existing) is
written to a temporary file beside it and renamed over it once complete, so a write that fails
(a full disk) leaves the file as it was and no partial output; an existing file keeps its
permissions (it becomes a new file: hard links to the old one keep the old contents). A device
or a pipe is written in place. What only fails when bytes are written (/dev/full, a disk that
fills during the run) is reported then, in one line with exit status 2, never as a traceback.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class OutputError(Exception):
    """An output file cannot be written where asked; str() is one line."""


def shown(path) -> str:
    """`path` as one printable line (a name with a newline or a control character quoted)."""
    text = os.fsdecode(path)
    return text if text.isprintable() else repr(text)


def check(path, flag: str | None = None) -> None:
    """Raise OutputError unless `path` can be written (module docstring); `flag` names the
    option the path came from, for the message."""
    where = " ".join(filter(None, (flag, shown(path))))

    def fail(problem: str) -> OutputError:
        return OutputError(f"{where}: {problem}")

    text = os.fsdecode(path)
    if not text:
        raise fail("an empty file name")
    if "\0" in text:
        raise fail("a file name cannot hold a NUL byte")
    if text.endswith(os.sep) or os.path.isdir(text):
        raise fail("is a directory; give a file name")
    try:
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:  # ENOTDIR, ENAMETOOLONG, ELOOP, EACCES
        raise fail(f"cannot write: {e.strerror}") from None
    if mode is None:
        _check_new(os.path.realpath(text), fail)
    elif stat.S_ISREG(mode):
        _probe(text, os.O_WRONLY | os.O_APPEND, fail)
    elif stat.S_ISFIFO(mode):  # opening a pipe with no reader would block: permission only
        if not os.access(text, os.W_OK):
            raise fail("cannot write: Permission denied")
    else:  # a device (or a socket, which refuses the open)
        _probe(text, os.O_WRONLY | os.O_NONBLOCK, fail)


def check_all(outputs: Iterable[tuple[str, object]]) -> None:
    """check() each (flag, path) whose path is given, and refuse two outputs into one file."""
    seen: dict[str, str] = {}
    for flag, path in outputs:
        if path is None:
            continue
        check(path, flag)
        real = os.path.realpath(os.fsdecode(path))
        if os.path.exists(real) and not os.path.isfile(real):
            continue  # a device or a pipe: several outputs may go there
        if real in seen:
            raise OutputError(f"{flag} {shown(path)}: {seen[real]} writes the same file")
        seen[real] = flag


def check_dir(path, flag: str | None = None) -> None:
    """Raise OutputError unless `path` is a directory files can be made in, or one that can be
    made (its nearest existing ancestor a directory files can be made in)."""
    where = " ".join(filter(None, (flag, shown(path))))
    text = os.fsdecode(path)
    if not text or "\0" in text:
        raise OutputError(f"{where}: not a directory name")
    existing = os.path.abspath(text)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        which = "" if existing == os.path.abspath(text) else f"{shown(existing)} "
        raise OutputError(f"{where}: {which}is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".hmk-probe-", dir=existing)
    except OSError as e:
        raise OutputError(f"{where}: cannot write in {shown(existing)}: {e.strerror}") from None
    os.close(fd)
    os.unlink(probe)


def _check_new(real: str, fail) -> None:
    """A file that does not exist yet: its directory exists, and the file can be made there."""
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        raise fail(f"no such directory: {shown(directory)}")
    _probe(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL, fail)
    os.unlink(real)


def _probe(path: str, flags: int, fail) -> None:
    try:
        os.close(os.open(path, flags, 0o666))
    except OSError as e:
        raise fail(f"cannot write: {e.strerror}") from None


@contextmanager
def written(path, flag: str | None = None) -> Iterator[str]:
    """The file name to write `path`'s contents to: a temporary file beside a regular file,
    renamed over it when the block ends without an error; `path` itself for a device or a pipe.
    An OSError while writing (a full disk, /dev/full) becomes one OutputError line."""
    where = " ".join(filter(None, (flag, shown(path))))
    text = os.fsdecode(path)
    real = os.path.realpath(text)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        mode = None
    temporary = None
    if mode is None or stat.S_ISREG(mode):
        directory, name = os.path.split(real)
        try:  # keep the extension: some writers (matplotlib) choose their format by it
            fd, temporary = tempfile.mkstemp(
                prefix=f".{name}-", suffix=os.path.splitext(name)[1], dir=directory
            )
        except OSError as e:
            if mode is None:
                raise OutputError(f"{where}: cannot write: {e.strerror}") from None
            # a file one may write in a directory one may not: written in place
        else:
            os.close(fd)
    if temporary is None:
        try:
            yield text
        except OSError as e:
            raise OutputError(f"{where}: cannot write: {e.strerror or e}") from None
        return
    try:
        yield temporary
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(temporary, real)
    except OSError as e:
        raise OutputError(f"{where}: cannot write: {e.strerror or e}") from None
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def write_text(path, text: str, flag: str | None = None) -> None:
    """Write `text` (UTF-8) to `path` through written()."""
    with written(path, flag) as name, open(name, "w", encoding="utf-8") as f:
        f.write(text)


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask

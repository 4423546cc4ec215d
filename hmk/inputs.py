"""Text files a user hands hmk by path (a hardware profile, a system file), read safely.

A FIFO, a device or a directory given where a file is expected is refused before it is opened
for reading (reading a FIFO with no writer, or /dev/zero, would never end), and so is a file
larger than any such file can sensibly be, or one that is not UTF-8 text. Each problem is one
line, which the caller wraps in its own error (ProfileError, SystemFileError) with the path.
"""

from __future__ import annotations

import os
import stat

MAX_TEXT_BYTES = 1 << 20  # a profile or a system file is a few KiB of TOML


class UnreadableFile(Exception):
    """The file cannot be read as text; str() is the problem, one line, without the path."""


def read_text(path, limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of the regular file at `path`, at most `limit` bytes."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise UnreadableFile(f"cannot read: {e.strerror or e}") from None
    _regular(mode)
    try:  # O_NONBLOCK: should the name become a FIFO after the stat, the open does not wait
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise UnreadableFile(f"cannot read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        _regular(os.fstat(fd).st_mode)
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise UnreadableFile(f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise UnreadableFile(f"larger than {limit:,} bytes: not a file of this kind")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFile(f"not UTF-8 text (byte {e.start:,} cannot be decoded)") from None


def _regular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise UnreadableFile("is a directory, not a file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if _device(mode) else "a socket"
        raise UnreadableFile(f"is {kind}, not a regular file")


def _device(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode)

"""Where a guest program's Linux run (qemu-aarch64 on this machine's kernel) finds a tmpfs, so
that Linux's answers and hmk's (its /tmp is a tmpfs) come from the same kind of file system:
file calls answer by file system (fallocate's modes, extended attributes, statfs)."""

from pathlib import Path

import pytest


def tmpfs_dir() -> str:
    """A directory on a tmpfs of this machine (/dev/shm), or skip the test."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        mounts = []
    for line in mounts:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "/dev/shm" and fields[2] == "tmpfs":
            return "/dev/shm"
    pytest.skip("no tmpfs at /dev/shm for Linux's answers")

"""Linux's own answers for the file-call guest programs (tests/guest/fs*.c): their runs under
qemu-aarch64 and natively, both on this machine's kernel.

qemu-aarch64 passes a program's calls to the kernel, but some it does not know (qemu 7.2 has no
fchmodat2, preadv2 or pwritev2: glibc then answers itself) and those lines differ. The programs
are plain C, so they also build for this machine and run natively on its Linux, which answers
every call; they print facts, not numbers that differ by architecture, and make their calls in
the order they are written. Both runs happen in a directory on a tmpfs (/dev/shm), since file
calls answer by file system (fallocate's modes, extended attributes, statfs) and hmk's /tmp is a
tmpfs."""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from guest_programs import GUEST

HOST_CC = shutil.which("cc")


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


def native_output(tmp_path_factory, name: str, since: tuple[int, int]) -> bytes:
    """What tests/guest/NAME.c prints built for this machine and run on its Linux, in a
    directory on its tmpfs; skip unless the kernel is Linux `since` or later (the answers
    expected are that version's) and a C compiler is installed."""
    if not sys.platform.startswith("linux") or HOST_CC is None:
        pytest.skip("needs Linux and a C compiler for this machine")
    release = tuple(int(x) for x in platform.release().split(".")[:2] if x.isdigit())
    if release < since:
        pytest.skip(f"the expected answers are Linux {since[0]}.{since[1]}'s or later's")
    where = tmpfs_dir()
    exe = tmp_path_factory.mktemp("native") / name
    subprocess.run([HOST_CC, "-O1", "-w", "-o", exe, GUEST / f"{name}.c"], check=True)
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run([exe, where], capture_output=True, check=True, env=env).stdout

"""A memory-heavy process: a large anonymous mapping filled, a child forked that shares it
copy-on-write and writes part of it (each page written is copied), reads the rest, exits; then
the parent checks its own data is untouched and unmaps it all.

    python examples/memory_cow.py [MIB]      # on two compositions: cycles and page faults
"""

import os
import sys

import hmk

MIB = 1 << 20


def child(libc, base, length):
    """Write the first quarter (copy-on-write faults), read the rest (shared frames)."""
    quarter = length // 4
    libc.touch(base, quarter, write=True)
    libc.memwrite(base, b"child")
    libc.touch(base + quarter, length - quarter)
    return 0 if libc.memread(base, 5) == b"child" else 1


def main(libc, mib=4):
    length = mib * MIB
    base = libc.mmap(length)
    libc.touch(base, length, write=True)  # fault every page in
    libc.memwrite(base, b"parent")
    pid = libc.fork(child, base, length)
    _, status = libc.wait(pid)
    intact = libc.memread(base, 6) == b"parent"  # the child's writes went to its own copies
    libc.touch(base, length)  # read it all again after the child is gone
    libc.munmap(base, length)
    return 0 if intact and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 1


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    for system in ("linux", "hm-phone"):
        result = hmk.System(system=system).run(main, n)
        print(
            f"{system:9s} exit {result.exit_status}: {result.cycles:,} cycles, "
            f"{result.instructions:,} instructions, {result.page_faults} page faults"
        )

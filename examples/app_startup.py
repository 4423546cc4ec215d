"""A file-heavy application start-up: the files an app needs are created first (in /tmp), then
the "start-up" stats, opens and reads each one's header, maps it and reads through the mapping,
as a dynamic loader and a resource loader do, and reads a configuration file.

    python examples/app_startup.py [FILES]      # on two compositions: start-up time and cycles
"""

import sys

import hmk
from hmk.script import MAP_PRIVATE, O_CREAT, O_RDONLY, O_WRONLY, PROT_READ

PAGE = 4096


def library_bytes(i: int) -> bytes:
    """File i's contents: a 64-byte header then 1 to 8 pages of body."""
    header = f"LIB{i:04d}".encode().ljust(64, b"\0")
    return header + bytes([i % 251]) * ((1 + i % 8) * PAGE - 64)


def install(libc, files: int) -> None:
    """Create /tmp/app/lib/lib*.so and /tmp/app/app.conf (not part of the start-up)."""
    for path in ("/tmp/app", "/tmp/app/lib"):
        libc.mkdir(path)
    for i in range(files):
        fd = libc.open(f"/tmp/app/lib/lib{i}.so", O_CREAT | O_WRONLY)
        data = library_bytes(i)
        for at in range(0, len(data), 64 * 1024):
            libc.write(fd, data[at : at + 64 * 1024])
        libc.close(fd)
    conf = "".join(f"lib{i}.enabled=1\n" for i in range(files)).encode()
    fd = libc.open("/tmp/app/app.conf", O_CREAT | O_WRONLY)
    libc.write(fd, conf)
    libc.close(fd)


def start_up(libc, files: int) -> int:
    """What the app does when it starts; returns how many files looked wrong."""
    bad = 0
    fd = libc.open("/tmp/app/app.conf")
    conf = libc.read(fd, libc.fstat(fd).st_size)
    libc.close(fd)
    bad += conf.count(b"enabled=1") != files
    for i in range(files):
        path = f"/tmp/app/lib/lib{i}.so"
        size = libc.stat(path).st_size
        fd = libc.open(path, O_RDONLY)
        bad += libc.read(fd, 64)[:7] != f"LIB{i:04d}".encode()
        base = libc.mmap(size, PROT_READ, MAP_PRIVATE, fd, 0)
        libc.close(fd)
        libc.touch(base, size)  # relocation and symbol lookup read through the mapping
        bad += libc.memread(base + size - 1, 1) != bytes([i % 251])
    return bad


def main(libc, files=24):
    install(libc, files)
    began = libc.monotonic_ns()
    bad = start_up(libc, files)
    took = libc.monotonic_ns() - began
    libc.write(1, f"start-up: {files} files in {took / 1000:.1f} us (simulated)\n".encode())
    return bad


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    for system in ("linux", "hm-phone"):
        result = hmk.System(system=system).run(main, n)
        print(
            f"{system:9s} exit {result.exit_status}: {result.cycles:,} cycles in all, "
            f"{result.syscalls} syscalls, {result.page_faults} page faults"
        )

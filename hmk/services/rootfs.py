"""fsmgr's tree at boot: the root file system, devfs on /dev and a minimal procfs on /proc.

The default root: the program at its host path (read-only, as qemu-user shows it), /bin with the
bundled programs and /etc/passwd (read-only), a writable tmpfs on /tmp, devfs on /dev (the
console's stdin, stdout and stderr and tty, null, zero, random and urandom, the RAM disk ram0 and
the real-time clock rtc0: devhost's devices), a minimal procfs on /proc (self/exe, self/maps,
meminfo, all of the process whose thread is running). With a root file system (`rootfs`), the
root is that host directory, read-only, with tmpfs, devfs and procfs mounted over /tmp, /dev and
/proc, and the program a path inside it; its own /etc/passwd is the guest's (the built-in one
only fills in for a root that has none).
"""

from __future__ import annotations

import stat
from pathlib import Path

from hmk.services import devhost
from hmk.services.vfs import Device, Dir, File, Generated, HostDir, Node, Symlink, Vfs


def build_root(fs, program: str, bundled: dict[str, str], rootfs: str | None = None) -> Vfs:
    """The tree for file manager `fs`. `bundled`: name -> host path for /bin."""
    vfs = Vfs()
    if rootfs is not None:
        vfs.root = HostDir(Path(rootfs))
        vfs.root.parent = vfs.root
        for mount in (b"tmp", b"dev", b"proc"):
            vfs.root.entries.pop(mount, None)
            vfs.root.add(mount, Dir())
        bundled, program = {}, ""
    root = vfs.root
    for name, host in sorted(bundled.items()):
        vfs.place(b"/bin/" + name.encode(), File(host=Path(host), readonly=True, perm=0o755))
    if not isinstance(vfs.walk(root, b"/etc/passwd")[0], Node):  # the guest root's own wins
        vfs.place(b"/etc/passwd", File(b"root:x:0:0:root:/root:/bin/sh\n", readonly=True))
    vfs.mkdirs(b"/tmp").mode = stat.S_IFDIR | 0o1777  # the writable tmpfs (before the program:
    exe = program.encode()  # a program under /tmp must not make /tmp read-only)
    if exe.startswith(b"/"):
        vfs.place(exe, File(host=Path(program), readonly=True, perm=0o755), readonly=True)
    _devices(fs, vfs.mkdirs(b"/dev", readonly=True))
    proc = vfs.mkdirs(b"/proc", readonly=True)
    proc.add(b"meminfo", Generated(lambda: _meminfo(fs.k)))
    self_dir = proc.add(b"self", Dir(readonly=True))
    self_dir.add(b"exe", Symlink(resolve=lambda: fs.running_task().exe))
    self_dir.add(b"maps", Generated(lambda: _maps(fs.space_of(fs.running_task()).vmas)))
    for ro in (b"/bin", b"/etc"):
        vfs.mkdirs(ro).readonly = True
    root.readonly = True
    return vfs


def _devices(fs, dev: Dir) -> None:
    """devfs: the devices devhost drives (looked up when used)."""

    def host():
        return fs.peers["devhost"]

    def console_write(fd):
        def write(data):
            host().console_write(fd, data)
            return len(data)

        return write

    def stdin_read(n):
        return host().console_read(n)

    def random(n):
        return host().random.bytes(n)

    nothing = lambda n: b""  # noqa: E731
    for fd, name in enumerate((b"stdin", b"stdout", b"stderr")):
        node = Device(0x8800 + fd, stdin_read, console_write(max(fd, 1)), console=True)
        node = dev.add(name, node)
        node.ino = fd + 3  # the numbers Linux's pts give do not matter; stable ones do
        node.mode = stat.S_IFCHR | 0o620
    dev.add(b"tty", Device(0x500, stdin_read, console_write(1), console=True))
    dev.add(b"null", Device(0x103, nothing, len))
    dev.add(b"zero", Device(0x105, lambda n: b"\0" * n, len))
    dev.add(b"urandom", Device(0x109, random, len))
    dev.add(b"random", Device(0x108, random, len))
    dev.add(b"ram0", devhost.BlockDevice())
    dev.add(b"rtc0", devhost.Rtc(lambda: host().wall_clock_ns()))


def _meminfo(kernel) -> bytes:
    total = len(kernel.ram) >> 10
    used = kernel.frames.in_use * 4
    return (
        f"MemTotal:       {total:8d} kB\nMemFree:        {total - used:8d} kB\n"
        f"MemAvailable:   {total - used:8d} kB\n"
    ).encode()


def _maps(vmas) -> bytes:
    lines = []
    for v in vmas:
        perms = "".join(c if v.prot & b else "-" for c, b in (("r", 1), ("w", 2), ("x", 4)))
        name = v.name if not v.name.startswith("[anon") else ""
        lines.append(f"{v.start:08x}-{v.end:08x} {perms}p 00000000 00:00 0 {name}".rstrip())
    return ("\n".join(lines) + "\n").encode()

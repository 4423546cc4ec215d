"""fsmgr's tree at boot: the root file system, devfs on /dev, a minimal procfs on /proc and
sysfs's CPU description on /sys (hmk.services.sysfs).

The default root: the program at its host path (read-only, as qemu-user shows it), /bin with the
bundled programs and /etc with passwd, group and hosts (read-only), a writable tmpfs on /tmp,
devfs on /dev (the console's stdin, stdout and stderr and tty, null, zero, random and urandom,
the RAM disk ram0 and the real-time clock rtc0: devhost's devices), a minimal procfs on /proc
(self/exe, self/maps, meminfo, all of the process whose thread is running), and on /sys the
CPU the run models (/sys/devices/system/cpu).

With a root file system (`rootfs`), the root is that host directory, writable through an
in-memory upper layer (hmk.services.vfs.HostDir: the host's files are read, never written; what
the guest changes lives in memory for the run), with tmpfs, devfs, procfs and sysfs mounted over
/tmp, /dev, /proc and /sys, and the program a path inside it. The root's own /etc files win:
the built-in passwd, group and hosts only fill in for a root that has none.

`mounts`: (host path, guest path, read-only) triples, each a host directory or file placed at
its guest path (`hmk run --mount HOST:GUEST[:ro]`), over whatever was there: read-only ones
refuse every change (EROFS), the others take changes in memory as the root does.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hmk.services import devhost
from hmk.services.sysfs import cpu_dir
from hmk.services.vfs import Device, Dir, File, Generated, HostDir, Node, Symlink, Vfs

BUILT_IN_ETC = {  # what a root without its own gets
    b"passwd": b"root:x:0:0:root:/root:/bin/sh\n",
    b"group": b"root:x:0:\n",
    b"hosts": b"127.0.0.1\tlocalhost\n::1\t\tlocalhost\n",
}


def build_root(
    fs, program: str, bundled: dict[str, str], rootfs: str | None = None, mounts=()
) -> Vfs:
    """The tree for file manager `fs`. `bundled`: name -> host path for /bin."""
    vfs = Vfs()
    builtin = rootfs is None  # hmk's own tree: read-only but for /tmp
    if not builtin:
        vfs.root = HostDir(Path(rootfs), readonly=False)
        vfs.root.parent = vfs.root
        vfs.root.mounted = True
        for name in (b"tmp", b"dev", b"proc", b"sys"):
            _mount(vfs.root, name, Dir())
        bundled, program = {}, ""
    root = vfs.root
    for name, host in sorted(bundled.items()):
        vfs.place(b"/bin/" + name.encode(), File(host=Path(host), readonly=True, perm=0o755))
    etc = vfs.walk(root, b"/etc")[0]
    if not isinstance(etc, Dir):
        etc = vfs.mkdirs(b"/etc")
    for name, text in BUILT_IN_ETC.items():
        if vfs.walk(etc, name)[0] is None:  # the guest root's own wins
            etc.add(name, File(text, readonly=builtin))
    tmp = vfs.mkdirs(b"/tmp")  # the writable tmpfs (before the program: a program under
    tmp.mode, tmp.mounted = stat.S_IFDIR | 0o1777, True  # /tmp must not make /tmp read-only)
    exe = program.encode()
    if exe.startswith(b"/"):
        vfs.place(exe, File(host=Path(program), readonly=True, perm=0o755), readonly=True)
    dev = vfs.mkdirs(b"/dev", readonly=True)
    _devices(fs, dev)
    proc = vfs.mkdirs(b"/proc", readonly=True)
    dev.mounted = proc.mounted = True
    sysfs = vfs.mkdirs(b"/sys")
    sysfs.mounted = sysfs.readonly = True
    cpus = cpu_dir(fs.boot.hierarchy, fs.k.ncores, getattr(fs.k, "core_capacity", None))
    vfs.mkdirs(b"/sys/devices/system", readonly=True).add(b"cpu", cpus)
    proc.add(b"meminfo", Generated(lambda: _meminfo(fs.k)))
    self_dir = proc.add(b"self", Dir(readonly=True))
    self_dir.add(b"exe", Symlink(resolve=lambda: fs.running_task().exe))
    self_dir.add(b"maps", Generated(lambda: _maps(fs.space_of(fs.running_task()).vmas)))
    if builtin:
        for ro in (b"/bin", b"/etc"):
            vfs.mkdirs(ro).readonly = True
        root.readonly = True
    for host, guest, readonly in mounts:
        place_mount(vfs, host, guest, readonly)
    return vfs


def place_mount(vfs: Vfs, host: str, guest: str, readonly: bool) -> Node:
    """The host directory or file `host` at the absolute guest path `guest` (its parent
    directories made as needed); OSError or ValueError when it cannot be."""
    target = os.fsencode(guest)
    if not target.startswith(b"/") or not target.strip(b"/"):
        raise ValueError(f"--mount {host}:{guest}: the guest path must be absolute, not /")
    if os.path.isdir(host):
        node = HostDir(Path(host), readonly=readonly)
    elif os.path.isfile(host):
        node = File(host=Path(host), readonly=readonly, perm=os.stat(host).st_mode & 0o777)
    else:
        raise OSError(f"--mount {host}:{guest}: {host}: no such directory or file")
    parent_path, _, name = target.rstrip(b"/").rpartition(b"/")
    parent = vfs.walk(vfs.root, parent_path or b"/")[0]
    if not isinstance(parent, Dir):
        parent = vfs.mkdirs(parent_path)
    return _mount(parent, name, node)


def _mount(parent: Dir, name: bytes, node: Node) -> Node:
    """`node` at `name` in `parent`, over what was there: a file system of its own."""
    if name in parent.entries:
        parent.remove(name)
    node.mounted = True
    return parent.add(name, node)


def _devices(fs, dev: Dir) -> None:
    """devfs: the devices devhost drives (looked up when used)."""

    def host():
        return fs.peers["devhost"]

    def console_write(fd):
        def write(data):
            err = host().console_write(fd, data)
            return err or len(data)

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

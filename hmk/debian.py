"""A guest root file system from Debian's arm64 packages (`hmk rootfs debian DIR PKG...`).

`build_root(root, packages)` asks apt, with a private state of its own (its package lists, an
empty dpkg status, arm64 as the only architecture), which packages `packages` need: apt's own
resolver, `apt-get --simulate install` with recommendations off, follows Depends and
Pre-Depends recursively, virtual packages and alternatives included. It downloads each package
once into a cache directory (`apt-get download`), unpacks it into `root` (`dpkg-deb -x`, what
`dpkg -x` does: no maintainer scripts run) and merges /bin, /sbin and /lib into /usr as a
merged-/usr Debian system has them (/lib -> usr/lib, ...), which is where the packages'
programs look (the dynamic loader /lib/ld-linux-aarch64.so.1, #!/usr/bin/python3, ...).

The package lists come from the machine's own apt sources (a Debian host's sources carry arm64
packages), fetched into the cache once; the host's apt and dpkg state is neither read nor
changed. Nothing of hmk is imported: this runs on the host only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

ARCH = "arm64"
MERGED = ("bin", "sbin", "lib")  # merged-/usr: each a symbolic link to usr/<name>
_INST = re.compile(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)", re.M)


class DebianError(Exception):
    """A root cannot be built: apt or dpkg missing, a package unknown, a download failed.
    ``str(err)`` says which, in one line or a few."""


def default_cache() -> Path:
    """Where downloaded packages and apt's lists are kept: $XDG_CACHE_HOME/hmk/debian, or
    ~/.cache/hmk/debian."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hmk" / "debian"


def build_root(
    root: str | os.PathLike[str],
    packages: Sequence[str],
    *,
    cache: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Unpack `packages` (Debian package names) and everything they depend on, for arm64,
    into the directory `root` (made if missing); returns the packages unpacked, sorted.
    `cache`: where apt's lists and the .deb files are kept (default: default_cache());
    `refresh`: fetch the package lists again even if the cache has them; `log` is told each
    step in a line."""
    if not packages:
        raise DebianError("no package named: give at least one (e.g. coreutils)")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DebianError(
                f"{tool} not found: building a Debian root needs Debian's apt and dpkg "
                f"(apt-get install apt dpkg)"
            )
    apt = _Apt(Path(cache) if cache is not None else default_cache())
    if refresh or not apt.has_lists():
        log("fetching the arm64 package lists")
        apt.update()
    chosen = apt.resolve(packages)
    debs = apt.download(chosen, log)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name, deb in sorted(debs.items()):
        log(f"unpacking {name}")
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"unpacking {deb.name}")
    merge_usr(root)
    return sorted(debs)


def merge_usr(root: Path) -> None:
    """Make /bin, /sbin and /lib symbolic links to usr/bin, usr/sbin and usr/lib, moving
    what packages put in them into /usr (a name in both places keeps the /usr one)."""
    for name in MERGED:
        top, usr = root / name, root / "usr" / name
        if top.is_symlink():
            continue
        usr.mkdir(parents=True, exist_ok=True)
        if top.is_dir():
            _merge_into(top, usr)
            top.rmdir()
        top.symlink_to(f"usr/{name}")


def _merge_into(src: Path, dst: Path) -> None:
    for entry in list(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and not entry.is_symlink() and target.is_dir():
            _merge_into(entry, target)
            entry.rmdir()
        elif target.exists() or target.is_symlink():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        else:
            entry.rename(target)


class _Apt:
    """apt-get with a private state under `cache`: arm64 only, an empty dpkg status (nothing
    counts as installed), the machine's sources."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.state, self.debs = cache / "state", cache / "debs"
        for d in (self.state / "lists" / "partial", cache / "apt" / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        self.debs.mkdir(parents=True, exist_ok=True)
        status = self.state / "status"
        if not status.exists():
            status.write_bytes(b"")
        self.options = [
            f"-oDir::State={self.state}",
            f"-oDir::State::status={status}",
            f"-oDir::Cache={cache / 'apt'}",
            "-oDir::Cache::pkgcache=",
            "-oDir::Cache::srcpkgcache=",
            f"-oAPT::Architecture={ARCH}",
            f"-oAPT::Architectures={ARCH}",
            "-oAPT::Install-Recommends=false",
            "-oAPT::Install-Suggests=false",
            "-oAcquire::Languages=none",
            "-oAPT::Sandbox::User=root",  # the cache may be where apt's own user cannot write
            "-oDebug::NoLocking=true",  # the host's dpkg is not touched: no need for its lock
        ]

    def has_lists(self) -> bool:
        return any(p.name.endswith("Packages") or "_Packages." in p.name for p in self._lists())

    def _lists(self):
        return (self.state / "lists").glob("*Packages*")

    def update(self) -> None:
        out = _run(["apt-get", *self.options, "-q", "update"], "fetching the package lists")
        if not self.has_lists():
            raise DebianError(
                f"apt-get update fetched no arm64 package list (do the machine's apt sources "
                f"carry arm64 packages?)\n{out.strip()}"
            )

    def resolve(self, packages: Sequence[str]) -> dict[str, tuple[str, str]]:
        """name -> (version, architecture) of everything `packages` need, apt's choice."""
        wanted = [p if ":" in p else f"{p}:{ARCH}" for p in packages]
        cmd = ["apt-get", *self.options, "--simulate", "-q", "install", *wanted]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            raise DebianError(_apt_failure(proc.stdout + proc.stderr, "resolving the packages"))
        chosen = {name.split(":")[0]: (ver, arch) for name, ver, arch in _INST.findall(proc.stdout)}
        if not chosen:
            raise DebianError(f"apt chose no package to install:\n{proc.stdout.strip()}")
        return chosen

    def download(self, chosen: dict, log) -> dict[str, Path]:
        """name -> its .deb in the cache, downloading the ones not there yet."""
        debs = {
            name: self.debs / f"{name}_{ver.replace(':', '%3a')}_{arch}.deb"
            for name, (ver, arch) in chosen.items()
        }
        missing = sorted(name for name, deb in debs.items() if not deb.exists())
        if missing:
            log(f"downloading {len(missing)} package(s)")
            specs = [f"{name}:{chosen[name][1]}={chosen[name][0]}" for name in missing]
            proc = subprocess.run(
                ["apt-get", *self.options, "-q", "download", *specs],
                cwd=self.debs,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode:
                raise DebianError(
                    _apt_failure(proc.stdout + proc.stderr, "downloading the packages")
                )
        for name, deb in debs.items():
            if not deb.exists():
                raise DebianError(f"{name}: apt-get download left no {deb.name} in {self.debs}")
        return debs


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise DebianError(_apt_failure(proc.stdout + proc.stderr, what))
    return proc.stdout


def _apt_failure(output: str, what: str) -> str:
    """apt's error lines (E: ...) for a failed step, or its last lines."""
    errors = [line for line in output.splitlines() if line.startswith(("E:", "dpkg-deb:"))]
    lines = errors or output.strip().splitlines()[-5:]
    return f"{what} failed: " + "\n".join(lines)

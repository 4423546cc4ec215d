"""Small C test programs of tests/guest/, built for AArch64 at test time (static glibc, or
dynamically linked), and run under qemu-aarch64 for Linux's own answers."""

import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

GUEST = Path(__file__).parent / "guest"
CC = shutil.which("aarch64-linux-gnu-gcc")
QEMU = shutil.which("qemu-aarch64")


def build(tmp_path_factory, name: str, *flags: str, static: bool = True) -> str:
    """tests/guest/NAME.c as an AArch64 executable, static unless `static` is False (skip
    without the cross compiler); `flags` go to the compiler."""
    if CC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path_factory.mktemp("guest") / name
    link = ["-static"] if static else []
    subprocess.run([CC, "-O1", *link, "-o", exe, GUEST / f"{name}.c", *flags], check=True)
    return str(exe)


def linux_output(program: str, *args: str, root=None, env=None, stdin: bytes = b"") -> bytes:
    """What the program prints on Linux (qemu-aarch64 on this machine's kernel); `root`: the
    directory its dynamic loader and libraries come from (qemu-aarch64 -L), `env` its whole
    environment."""
    if QEMU is None:
        pytest.skip("qemu-aarch64 is not installed")
    prefix = ["-L", str(root)] if root is not None else []
    return subprocess.run(
        [QEMU, *prefix, program, *args], capture_output=True, check=True, env=env, input=stdin
    ).stdout


def loopback_output(program: str, *args: str) -> bytes:
    """What the program prints on a Linux machine whose only network is the loopback:
    qemu-aarch64 in a network namespace of its own (unshare -n) with `lo` up (skip where no
    namespace can be made)."""
    if QEMU is None:
        pytest.skip("qemu-aarch64 is not installed")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip is not installed")
    up = 'ip link set lo up && exec "$@"'
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", up, "sh", QEMU, program, *args], capture_output=True
    )
    if done.returncode and not done.stdout:
        pytest.skip(f"no network namespace: {done.stderr.decode(errors='replace').strip()}")
    assert done.returncode == 0, done.stderr
    return done.stdout


# the syscalls each guest program made in this session (file name -> names), for the check
# that every implemented call is exercised (tests/test_syscall_coverage.py); with parallel
# workers (pytest-xdist) each also writes its own to a file the others read (made_anywhere)
MADE: dict[str, set[str]] = {}
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
_SHARED = Path(tempfile.gettempdir()) / f"hmk-made-{_RUN}" if _RUN else None


def _share_made() -> None:
    if _SHARED is None:
        return
    _SHARED.mkdir(exist_ok=True)
    mine = _SHARED / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
    temp = mine.with_suffix(".tmp")
    temp.write_text(json.dumps({name: sorted(calls) for name, calls in MADE.items()}))
    temp.replace(mine)


def made_anywhere() -> dict[str, set[str]]:
    """MADE, with what the other workers of this run have recorded so far."""
    made = {name: set(calls) for name, calls in MADE.items()}
    for shared in sorted(_SHARED.glob("*.json")) if _SHARED and _SHARED.is_dir() else ():
        for name, calls in json.loads(shared.read_text()).items():
            made.setdefault(name, set()).update(calls)
    return made


def run(program: str, *args: str, system: str = "hm-phone", **options):
    """(what the program printed, its RunResult) on hmk under `system`; `options` are
    run_program's (rootfs, mounts, stdin, ...)."""
    from hmk.system import run_program  # noqa: PLC0415

    out = io.BytesIO()
    result = run_program(
        program, list(args), system=system, out=out, err=io.BytesIO(), warnings=None, **options
    )
    MADE.setdefault(Path(program).name, set()).update(syscalls_made(result))
    _share_made()
    return out.getvalue(), result


def syscalls_made(result) -> set[str]:
    """The names of the syscalls a run's programs made (its shim.syscalls.* statistics)."""
    prefix = "shim.syscalls."
    return {k[len(prefix) :] for k, n in result.stats.items() if k.startswith(prefix) and n}

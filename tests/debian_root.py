"""A Debian arm64 root for the tests (`hmk rootfs debian`): coreutils, bash and python3-minimal
with their dependencies, built once and kept under ~/.cache/hmk (or $XDG_CACHE_HOME/hmk), so
later runs on the same machine reuse it. Tests that need it skip, saying why, when it cannot be
built (no apt-get, no network, no arm64 packages in the machine's apt sources)."""

from __future__ import annotations

import functools
import hashlib
import shutil
from pathlib import Path

import pytest

from hmk.debian import DebianError, build_root, default_cache

PACKAGES = ("coreutils", "bash", "python3-minimal")
DONE = ".hmk-root-complete"  # written last: a root without it was cut short


def root_dir(packages=PACKAGES) -> Path:
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    return default_cache().parent / "test-roots" / f"debian-{key}"


@functools.cache
def _built(packages: tuple[str, ...]) -> Path | str:
    root = root_dir(packages)
    if (root / DONE).exists():
        return root
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        unpacked = build_root(partial, packages)
    except DebianError as e:
        shutil.rmtree(partial, ignore_errors=True)
        return str(e)
    (partial / DONE).write_text("\n".join(unpacked) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return root


def debian_root(packages=PACKAGES) -> Path:
    """The root's directory, built if need be; skips the calling test when it cannot be."""
    built = _built(tuple(packages))
    if isinstance(built, str):
        pytest.skip(f"no Debian arm64 root: {built}")
    return built

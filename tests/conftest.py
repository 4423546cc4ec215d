"""The test session's block cache (hmk.cpu.blockcache) is its own: a temporary directory,
removed at the end, so that no test reads what an earlier session or another checkout wrote
and none writes to the user's cache. Within the session, runs share it (subprocesses too)."""

from __future__ import annotations

import os
import shutil
import tempfile

_SAVED = "_hmk_saved_cache_dir"


def pytest_configure(config):
    setattr(config, _SAVED, (os.environ.get("HMK_CACHE_DIR"), tempfile.mkdtemp(prefix="hmk-")))
    os.environ["HMK_CACHE_DIR"] = getattr(config, _SAVED)[1]


def pytest_unconfigure(config):
    before, directory = getattr(config, _SAVED)
    shutil.rmtree(directory, ignore_errors=True)
    if before is None:
        os.environ.pop("HMK_CACHE_DIR", None)
    else:
        os.environ["HMK_CACHE_DIR"] = before

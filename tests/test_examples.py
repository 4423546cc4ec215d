"""The scripts in examples/ (docs/scripting.md) run, do what they say, and check themselves
(each exits with status 0 only when its own checks passed)."""

import importlib.util
import io
import re
from pathlib import Path

import pytest

import hmk

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PAGE = 4096


def example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(main, *args, system="linux"):
    out = io.BytesIO()
    result = hmk.System(system=system, out=out, warnings=None).run(main, *args)
    assert result.exit_status == 0, (result.fault, out.getvalue())
    return result, out.getvalue()


@pytest.mark.parametrize("system", ["linux", "hm-phone"])
def test_ipc_microservice(system):
    main = example("ipc_microservice").main
    small, _ = run(main, 10, system=system)
    big, _ = run(main, 30, system=system)
    # each request: a write and a read on both sides (a read that blocked and goes on when
    # its thread wakes is still one call)
    assert big.syscalls - small.syscalls == 20 * 4
    assert big.cycles > small.cycles
    # the client and the server take turns: at least two switches a request
    switches = big.stats["kernel.context_switches"] - small.stats["kernel.context_switches"]
    assert switches >= 2 * 20


def test_app_startup():
    module = example("app_startup")
    files = 8
    result, out = run(module.main, files)
    assert re.fullmatch(rb"start-up: 8 files in \d+\.\d us \(simulated\)\n", out)
    mapped = sum(len(module.library_bytes(i)) // PAGE for i in range(files))
    assert result.page_faults >= mapped  # every mapped page read once


def test_memory_cow():
    result, _ = run(example("memory_cow").main, 1)
    pages = (1 << 20) // PAGE
    assert result.page_faults >= pages + pages // 4  # filled, then a quarter copied on write

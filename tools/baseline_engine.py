"""The batch memory-hierarchy engine of another git revision, built beside this checkout's, so a
speed change can be timed old against new in one process (this host is too noisy for runs apart
to compare).

    python tools/baseline_engine.py REV      build it (once) and print where

REV's hmk/_fast/hierarchy.pyx and hmk/hw/engine.py are built as modules of their own under
build/engine-<commit>/; the rest of hmk (config, layout, events) is this checkout's, so REV must
be recent enough to share them. benchmarks/test_hierarchy_bench.py takes `--engine-baseline REV`
and times that engine beside this one.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
ext = Extension({mod!r}, [{mod!r} + ".pyx"], include_dirs=[numpy.get_include()],
                extra_compile_args={flags!r})
setup(ext_modules=cythonize([ext], language_level=3, quiet=True, include_path=[{root!r}]),
      script_args=["build_ext", "--inplace"])
"""


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _compile_flags(commit: str) -> list[str]:
    """The extra_compile_args of COMMIT's setup.py: the engine as it was built then."""
    tree = ast.parse(_git("show", f"{commit}:setup.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extra_compile_args":
            return ast.literal_eval(node.value)
    return []


def build(rev: str) -> Path:
    """The directory holding REV's engine as `engine_<commit>` (built if not there yet)."""
    commit = _git("rev-parse", "--short=10", rev).strip()
    out = ROOT / "build" / f"engine-{commit}"
    mod = f"hierarchy_{commit}"
    if any(out.glob(f"{mod}*.so")):
        return out
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{mod}.pyx").write_text(_git("show", f"{commit}:hmk/_fast/hierarchy.pyx"))
    engine = _git("show", f"{commit}:hmk/hw/engine.py")
    old_import = "from hmk._fast.hierarchy import Engine"
    assert old_import in engine, f"{rev}: hmk/hw/engine.py does not import the engine as expected"
    engine = engine.replace(old_import, f"from {mod} import Engine")
    (out / f"engine_{commit}.py").write_text(engine)
    setup = SETUP.format(mod=mod, flags=_compile_flags(commit), root=str(ROOT))
    subprocess.run([sys.executable, "-c", setup], cwd=out, check=True, capture_output=True)
    return out


def batch_hierarchy(rev: str):
    """REV's BatchHierarchy class."""
    out = build(rev)
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return importlib.import_module(f"engine_{out.name.removeprefix('engine-')}").BatchHierarchy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="a git revision of this repository")
    print(build(parser.parse_args().rev))


if __name__ == "__main__":
    main()

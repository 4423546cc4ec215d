"""Builds hmk's Cython extensions (hmk/_fast/*.pyx); all other metadata is in pyproject.toml."""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

HERE = Path(__file__).parent
extensions = [
    Extension(
        f"hmk._fast.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3", "-fno-tree-loop-distribute-patterns"],
    )
    for pyx in sorted((HERE / "hmk" / "_fast").glob("*.pyx"))
]


class ParallelBuild(build_ext):
    """build_ext compiling the extensions on every core unless told otherwise (`-j N`)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = CORES


setup(
    ext_modules=cythonize(extensions, language_level=3, quiet=True, nthreads=CORES),
    cmdclass={"build_ext": ParallelBuild},
)

"""Builds hmk's Cython extensions (hmk/_fast/*.pyx); all other metadata is in pyproject.toml."""

from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

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

setup(ext_modules=cythonize(extensions, language_level=3, quiet=True))

"""The bundled workloads: small static AArch64 Linux programs that ship inside the package.

They are built from workloads/src/*.c by workloads/Makefile (see workloads/README.md for what
each one does, its arguments and its cost), so `hmk run` has real programs to run on a machine
without a cross compiler. `bin/toolchain.txt` records the toolchain that built them.
"""

from pathlib import Path

__all__ = ["bin_dir", "hm_path", "list_workloads", "path"]


def bin_dir() -> Path:
    """The directory holding the bundled executables."""
    return Path(__file__).resolve().parent / "bin"


def list_workloads() -> list[str]:
    """Names of the bundled programs, sorted (every file in bin_dir() without a dot in its name)."""
    d = bin_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_file() and "." not in p.name)


def path(name: str) -> Path:
    """The executable of bundled workload `name`; ValueError naming the choices if there is none."""
    names = list_workloads()
    if name not in names:
        if not names:
            raise ValueError(
                f"unknown workload {name!r}: no bundled workloads in {bin_dir()} "
                "(package data missing? rebuild with `make -C workloads`)"
            )
        raise ValueError(f"unknown workload {name!r}; bundled workloads: {', '.join(names)}")
    return bin_dir() / name


def hm_path(name: str) -> Path:
    """A bundled HM-native program (bin/hm/NAME, from workloads/hm/): it makes core-kernel
    calls (hmk.kernel.hmcalls), so it runs on hmk only, not on Linux or qemu-aarch64."""
    exe = bin_dir() / "hm" / name
    if "/" in name or not exe.is_file():
        names = sorted(p.name for p in (bin_dir() / "hm").glob("*"))
        raise ValueError(f"unknown HM-native workload {name!r}; bundled: {', '.join(names)}")
    return exe

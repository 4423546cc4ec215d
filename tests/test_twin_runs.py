"""Whole runs with the compiled twins (the kernel's fault path, page-table walks and edits, page
records and path costs; the memory manager's fork and teardown) and with their Python
references (impl="python") give the same output, statistics (cycles included) and flame-graph
stacks: programs that fork, exec, fault, map, remap, unmap and exit, under linux, hm-phone
and sel4."""

from __future__ import annotations

import io

import pytest

from hmk.system.simulation import run_program
from hmk.workloads import path

PROGRAMS = [
    ("lat", ["fork", "4"]),
    ("lat", ["exec", "2"]),
    ("lat", ["fault-write", "60"]),
    ("remap", []),
    ("shmem", []),
]


def _run(name, args, system, impl):
    out = io.BytesIO()
    result = run_program(
        str(path(name)), args, system=system, impl=impl, stacks=True, out=out, err=io.BytesIO()
    )
    return out.getvalue(), result


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
@pytest.mark.parametrize(("name", "args"), PROGRAMS)
def test_the_twins_run_programs_as_the_references(name, args, system):
    (out, twin), (out_ref, ref) = (_run(name, args, system, i) for i in ("cython", "python"))
    assert out == out_ref and twin.exit_status == ref.exit_status == 0
    assert twin.stats == ref.stats
    assert twin.stacks == ref.stacks

"""The debug mode that checks the kernel's and the services' bookkeeping after every reaped
process and at the end (hmk.system.invariants): it holds on programs that fork, share memory,
map files and run out of memory; it changes no cycle; and it catches a planted leak."""

import io

import pytest
from guest_programs import build

from hmk.errors import InternalError
from hmk.services.fsmgr import FileTable
from hmk.services.memmgr import MemoryManager
from hmk.system import run_program
from hmk.workloads import path

PROGRAMS = [("spawn", []), ("shmem", []), ("filemap", []), ("procgrp", [])]


def run(program, args, system, **options):
    return run_program(
        str(program),
        args,
        system=system,
        out=io.BytesIO(),
        err=io.BytesIO(),
        warnings=None,
        **options,
    )


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
@pytest.mark.parametrize(("name", "args"), PROGRAMS)
def test_the_invariants_hold_and_change_no_cycle(name, args, system):
    checked = run(path(name), args, system, check_invariants=True)
    plain = run(path(name), args, system)
    assert checked.exit_status == plain.exit_status == 0
    assert checked.stats == plain.stats


def test_they_hold_through_the_oom_killer(tmp_path_factory):
    program = build(tmp_path_factory, "oomkill")
    result = run(program, ["40", "30"], "hm-phone", ram=64 << 20, check_invariants=True)
    assert result.exit_status == 0 and result.stats["kernel.oom_kills"] == 1


def test_a_planted_leak_is_caught(monkeypatch):
    # a memory manager that never counts a shared frame's mapping down (nor frees a frame)
    monkeypatch.setattr(MemoryManager, "release", lambda mm, pa: False)
    with pytest.raises(InternalError, match="kernel invariants broken after pid 4 was reaped"):
        run(path("spawn"), [], "hm-phone", check_invariants=True)
    assert run(path("spawn"), [], "hm-phone").exit_status == 0  # unchecked, it goes unseen


def test_a_record_left_behind_is_caught(monkeypatch):
    detach = MemoryManager.detach

    def keeps_the_record(mm, proc):
        space = mm.spaces[proc]
        detach(mm, proc)
        mm.spaces[proc] = space

    monkeypatch.setattr(MemoryManager, "detach", keeps_the_record)
    with pytest.raises(InternalError, match="the memory manager still manages pid 4"):
        run(path("spawn"), [], "linux", check_invariants=True)


def test_a_descriptor_count_gone_wrong_is_caught(monkeypatch):
    def copy(table):  # fork's copy of the descriptors, forgetting the references
        child = FileTable(table.k, table.cwd, table.released, table.closing)
        child.fds = dict(table.fds)
        return child

    monkeypatch.setattr(FileTable, "copy", copy)
    with pytest.raises(InternalError, match="an open file has 0 references and 1 descriptors"):
        run(path("spawn"), [], "sel4", check_invariants=True)

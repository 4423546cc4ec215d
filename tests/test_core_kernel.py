"""The core kernel wired to the CPU (hmk.kernel.core) with the memory manager (hmk.services.memmgr):
programs run on it, every fault goes through kernel paging or an IPC, and the twins agree."""

import io

import numpy as np
import pytest

from hmk.hw.pagetable import PAGE_SIZE, PageTables
from hmk.kernel.core import CoreKernel, Process
from hmk.kernel.objects import KERNEL_BASE
from hmk.linux.abi import PROT_READ, PROT_WRITE
from hmk.services.addrspace import RegionTableFull, Vma
from hmk.services.memmgr import MemoryManager
from hmk.services.placement import Placement
from hmk.services.service import Boot
from hmk.system.composition import parse_system
from hmk.system.simulation import run_program
from hmk.workloads import path


def _run(program, args, **kw):
    out = io.BytesIO()
    result = run_program(str(path(program)), args, out=out, err=io.BytesIO(), **kw)
    return result, out.getvalue()


def test_compiled_and_python_kernel_paths_give_identical_runs():
    fast, out_fast = _run("randsweep", ["256", "20000"], impl="cython")
    ref, out_ref = _run("randsweep", ["256", "20000"], impl="python")
    assert out_fast == out_ref and fast.exit_status == ref.exit_status == 0
    assert fast.cycles == ref.cycles
    assert fast.stats == ref.stats


def test_kernel_paging_resolves_anonymous_faults_without_ipc():
    small, _ = _run("randsweep", ["256", "20000"])
    big, _ = _run("randsweep", ["1024", "20000"])
    s, b = small.stats, big.stats
    assert s["kernel.faults.resolved"] >= 64  # 256 KiB of anonymous memory: 64 pages at least
    more_faults = b["kernel.faults.resolved"] - s["kernel.faults.resolved"]
    assert more_faults >= 192  # 768 KiB more
    # the extra anonymous faults cost no IPC each: only the pool refills (one per 16 frames)
    more_ipcs = b["kernel.ipc.fastpath"] - s["kernel.ipc.fastpath"]
    assert more_ipcs <= more_faults // 16 + 2
    assert b["services.memmgr.refills"] - s["services.memmgr.refills"] == more_ipcs
    assert s["services.memmgr.pages_filled"] >= 1  # the program's file pages: the memory manager's


def test_user_level_paging_sends_every_fault_to_the_pager():
    kernel, out_k = _run("randsweep", ["256", "20000"], paging="kernel")
    user, out_u = _run("randsweep", ["256", "20000"], paging="user")
    assert out_k == out_u
    s = user.stats
    assert "kernel.faults.resolved" not in s and s["kernel.faults.need_pager"] >= 64
    # every fault is an IPC to the pager (the memory manager, IC1 in the default system)
    pager_calls = sum(
        v
        for k, v in s.items()
        if k.startswith("domains.sysmgr.calls.") and not k.endswith(".direct")
    )
    assert pager_calls >= s["kernel.faults.need_pager"]
    assert user.instructions == kernel.instructions  # same program, same work
    # (what a fault costs through an IC2 pager against kernel paging: tests/test_fidelity.py)


def test_runs_are_deterministic():
    a, _ = _run("pchase", ["64", "2000"])
    b, _ = _run("pchase", ["64", "2000"])
    assert a.cycles == b.cycles and a.stats == b.stats


def test_unknown_paging_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="paging must be"):
        _run("hello", [], paging="sometimes")


# ---- the memory manager and the kernel, without the CPU


# the memory manager alone in its own IC2 domain, every other service in the kernel
ALONE = {
    "name": "memmgr-alone",
    "domain": [
        {"name": "memmgr", "class": "IC2", "services": ["memmgr"]},
        {"name": "kernel", "class": "IC0", "services": ["procmgr", "fsmgr", "devhost"]},
    ],
}


class Pager:
    """A personality that only pages: what kernel paging cannot resolve goes to the memory
    manager (hmk.kernel.core.Personality's page_fault)."""

    def __init__(self, mm):
        self.mm = mm

    def page_fault(self, proc, page, access, pager):
        return self.mm.serve_fault(proc, page, access, pager)


@pytest.fixture
def system():
    ram = np.zeros(16 << 20, np.uint8)
    kernel = CoreKernel(ram, heap_bytes=2 << 20)
    boot = Boot(kernel, Placement(kernel, parse_system(ALONE)))
    mm = boot.peers["memmgr"] = MemoryManager(boot)
    proc = Process(kernel, "p", Pager(mm))
    space = mm.attach(proc)
    kernel.activate(proc)
    return kernel, mm, proc, space


def test_anonymous_fault_is_resolved_from_the_pool_after_one_refill(system):
    kernel, mm, proc, space = system
    space.add(Vma(0x10000, 0x10000 + 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, "[anon]"))
    for k in range(8):
        assert kernel.page_fault(None, 0x10000 + k * PAGE_SIZE + 8, "write")
    assert kernel.counts["memmgr.refills"] == 1  # the pool was empty once
    assert kernel.counts["kernel.faults.resolved"] == 8
    # one IPC for the mmap-like VMA change, one for the refill
    assert kernel.ipc.counters["kernel.ipc.fastpath"] == 2
    tables = PageTables(kernel.ram, lambda: -1)
    assert all(tables.translate(proc.root, 0x10000 + k * PAGE_SIZE, "write") for k in range(8))


def test_faults_outside_vmas_or_against_their_rights_are_refused(system):
    kernel, mm, proc, space = system
    space.add(Vma(0x10000, 0x11000, PROT_READ, "[ro]"))
    before = kernel.frames.in_use
    assert not kernel.page_fault(None, 0x20000, "read")  # no VMA
    assert not kernel.page_fault(None, 0x10000, "write")  # read-only VMA
    assert not kernel.page_fault(None, KERNEL_BASE + 0x1000, "read")  # the kernel's window
    assert kernel.counts["kernel.faults.segv"] == 3
    assert kernel.frames.in_use == before  # nothing allocated for a refused fault


def test_munmap_gives_every_frame_back(system):
    kernel, mm, proc, space = system
    space.add(Vma(0x40000, 0x40000 + 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, "[anon]"))
    for k in range(16):
        assert kernel.page_fault(None, 0x40000 + k * PAGE_SIZE, "write")
    mapped = kernel.frames.in_use
    dropped = space.remove(0x40000, 0x40000 + 16 * PAGE_SIZE)
    assert len(dropped) == 16 and kernel.frames.in_use == mapped - 16
    assert not kernel.page_fault(None, 0x40000, "read")  # its region is gone too


def test_prot_none_keeps_the_frame_but_denies_user_access(system):
    kernel, mm, proc, space = system
    space.add(Vma(0x50000, 0x51000, PROT_READ | PROT_WRITE, "[anon]"))
    assert space.write(0x50000, b"kept")
    space.protect(0x50000, 0x51000, 0)
    tables = PageTables(kernel.ram, lambda: -1)
    assert tables.translate(proc.root, 0x50000, "read") is None
    assert tables.translate(proc.root, 0x50000) is not None
    assert not kernel.page_fault(None, 0x50000, "read")  # no region for PROT_NONE
    space.protect(0x50000, 0x51000, PROT_READ)
    assert space.read(0x50000, 4) == b"kept"


def test_past_the_region_table_a_catch_all_sends_faults_to_the_memory_manager(system):
    kernel, mm, proc, space = system
    regions = kernel.vspaces.max_regions
    for k in range(regions + 3):  # alternate permissions so no two neighbours merge
        prot = PROT_READ | (PROT_WRITE if k % 2 else 0)
        space.add(Vma(0x100000 + 2 * k * PAGE_SIZE, 0x101000 + 2 * k * PAGE_SIZE, prot, "v"))
    assert len(space.vmas) == regions + 3
    assert int(kernel.vspaces.vspace["nregions"][proc.vspace]) == regions
    first = 0x100000 + 2 * (regions - 1) * PAGE_SIZE
    assert space.overflow == (first, 0x101000 + 2 * (regions + 2) * PAGE_SIZE)
    assert space.overflowed(first) and not space.overflowed(0x100000)


def test_past_vm_max_map_count_mmap_is_enomem_and_changes_nothing(system, monkeypatch):
    from hmk.services import addrspace  # noqa: PLC0415

    kernel, mm, proc, space = system
    monkeypatch.setattr(addrspace, "MAX_MAP_COUNT", 4)
    for k in range(4):
        space.add(Vma(0x100000 + 2 * k * PAGE_SIZE, 0x101000 + 2 * k * PAGE_SIZE, PROT_READ, "v"))
    vmas = list(space.vmas)
    with pytest.raises(RegionTableFull):
        space.add(Vma(0x900000, 0x901000, PROT_READ, "one too many"))
    assert space.vmas == vmas


def test_adjacent_vmas_with_equal_rights_share_one_region(system):
    kernel, mm, proc, space = system
    for k in range(10):
        space.add(Vma(0x200000 + k * PAGE_SIZE, 0x201000 + k * PAGE_SIZE, PROT_READ, "v"))
    assert int(kernel.vspaces.vspace["nregions"][proc.vspace]) == 1


def test_the_linear_map_equals_page_by_page_mapping():
    ram = np.zeros(8 << 20, np.uint8)
    nxt = [4 << 20]

    def frame():
        nxt[0] += PAGE_SIZE
        return nxt[0] - PAGE_SIZE

    tables = PageTables(ram, frame)
    a, b = tables.new_root(), tables.new_root()
    tables.map_linear(a, KERNEL_BASE, 0, 2 << 20, user=False, executable=False, global_=True)
    for pa in range(0, 2 << 20, PAGE_SIZE):
        tables.map(b, KERNEL_BASE + pa, pa, user=False, executable=False, global_=True)
    for va in (KERNEL_BASE, KERNEL_BASE + 0x1234, KERNEL_BASE + (2 << 20) - 8):
        assert tables.translate(a, va) == tables.translate(b, va) == va - KERNEL_BASE
    with pytest.raises(ValueError, match="2 MiB-aligned"):
        tables.map_linear(a, KERNEL_BASE + PAGE_SIZE, 0, 2 << 20)


def test_too_little_ram_for_the_kernel_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 4 MiB"):
        CoreKernel(np.zeros(2 << 20, np.uint8))


def test_address_tokens_save_the_memory_manager_kernel_calls():
    # the memory manager in its own user-space domain (IC2), where tokens matter
    args = ["256", "20000"]
    tokens, out_t = _run("randsweep", args, system="sel4", paging="kernel", capabilities_only=False)
    caps, out_c = _run("randsweep", args, system="sel4", paging="kernel", capabilities_only=True)
    assert out_t == out_c
    t, c = tokens.stats, caps.stats
    for what in ("regions", "refill"):  # the same updates, made two ways
        assert t[f"services.memmgr.updates.{what}"] == c[f"services.memmgr.updates.{what}"] >= 1
    assert t["kernel.pool.token.in_use"] >= 3  # the VSpace record, region table and frame ring
    assert c["kernel.pool.token.in_use"] == 0
    updates = t["services.memmgr.updates.regions"] + t["services.memmgr.updates.refill"]
    # each update by kernel call pays at least an exception entry and return and a lookup
    memmgr = "services.memmgr.cycles"
    assert c[memmgr] - t[memmgr] >= updates * 50
    assert caps.cycles > tokens.cycles


def test_mprotect_to_writable_after_fork_copies_instead_of_sharing(system):
    kernel, mm, proc, space = system
    space.add(Vma(0x60000, 0x61000, PROT_READ | PROT_WRITE, "[anon]"))
    assert space.write(0x60000, b"parent")
    space.protect(0x60000, 0x61000, PROT_READ)  # read-only when the child is made
    child_proc = Process(kernel, "child", proc.personality)
    child = mm.attach(child_proc)
    child.vmas = [v.copy() for v in space.vmas]
    child.changed()
    assert space.share_into(child) >= 1
    assert child.cow == set()  # a read-only page needs no copy-on-write...
    child.protect(0x60000, 0x61000, PROT_READ | PROT_WRITE)
    assert child.write(0x60000, b"child!")  # ...until it is made writable
    assert space.read(0x60000, 6) == b"parent" and child.read(0x60000, 6) == b"child!"
    assert kernel.counts["memmgr.cow.copies"] == 1

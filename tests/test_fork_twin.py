"""The memory manager's fork and teardown walks (hmk.services.addrspace: share_into,
_unmap_pages) and their compiled twin (hmk._fast.addrspacefast): under hypothesis, address
spaces of VMAs of every kind with pages touched every way are forked (or vforked), then
unmapped, re-protected, discarded and torn down on two booted systems, one with the Python
references (impl="python") and one with the twins; the page tables, share counts,
copy-on-write sets, frames, charged work and every statistic (cycles included) must be the
same."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmk.hw.pagetable import PAGE_SIZE, VA_LIMIT
from hmk.kernel.core import Process
from hmk.linux.abi import PROT_EXEC, PROT_READ, PROT_WRITE
from hmk.services.addrspace import Vma
from hmk.system.simulation import Simulation
from hmk.workloads import path

BASE = 0x1000_0000
SPAN = 2 << 20  # a last-level table's reach: VMAs that cross one use two
PROTS = [PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, 0, PROT_WRITE]

VMAS = st.lists(
    st.tuples(
        st.integers(0, 700),  # the gap before it, in pages (some cross a table's reach)
        st.integers(1, 600),  # its length, in pages
        st.sampled_from(PROTS),
        st.booleans(),  # shared
        st.booleans(),  # backed by the program's bytes (an image) rather than anonymous
    ),
    min_size=1,
    max_size=6,
)
TOUCHES = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 599), st.sampled_from(["read", "write"])),
    max_size=40,
)
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["munmap", "mprotect", "dontneed", "touch"]),
        st.integers(0, 5),  # which VMA of the parent
        st.integers(0, 599),  # the range's first page in it
        st.integers(1, 300),  # its pages
        st.sampled_from(PROTS),
    ),
    max_size=6,
)


def _layout(vmas):
    at, out = BASE, []
    for gap, length, prot, shared, image in vmas:
        start = at + gap * PAGE_SIZE
        at = start + length * PAGE_SIZE
        data = bytes(range(256)) * (length * PAGE_SIZE // 256) if image and not shared else b""
        out.append(Vma(start, at, prot, "[anon]" if not data else "/prog", data, None, shared))
    return out


def _change(space, changes) -> None:
    """munmap, mprotect, MADV_DONTNEED or a write on part of a VMA, for each change."""
    for what, which, first, n, prot in changes:
        if not space.vmas:
            return
        v = space.vmas[which % len(space.vmas)]
        start = v.start + first % ((v.end - v.start) // PAGE_SIZE) * PAGE_SIZE
        end = min(start + n * PAGE_SIZE, v.end)
        if what == "munmap":
            space.remove(start, end)
        elif what == "mprotect":
            space.protect(start, end, prot)
        elif what == "dontneed":
            space.discard(start, end)
        else:
            space.fault(start, "write")


def _scenario(impl, system, vmas, touches, before, vfork, later, child_exits):
    sim = Simulation(path("hello"), system=system, impl=impl, warnings=None, ram=64 << 20)
    mm, k = sim.memmgr, sim.kernel
    parent = sim.program_task.proc
    space = mm.space_of(parent)
    for vma in _layout(vmas):
        space.add(vma)
    for which, page, access in touches:
        v = space.vmas[which % len(space.vmas)]
        space.fault(v.start + page % ((v.end - v.start) // PAGE_SIZE) * PAGE_SIZE, access)
    _change(space, before)
    child = Process(k, "child", parent.personality)
    mm.attach(child)
    shared = mm.fork(parent, child, share=vfork)
    _change(space, later)
    if child_exits:
        mm.detach(child)
    mm.drop_image(parent)
    state = {
        "shared": shared,
        "stats": sim.stats(),
        "cycles": int(sim.timing.cycles),
        "kernel cycles": dict(k.cycles),
        "share counts": dict(mm.shared),
        "frames": (k.frames.in_use, list(k.frames._free), dict(k.frames.by_owner)),
        "ram": hashlib.sha256(sim.ram).hexdigest(),  # (a diff of 64 MiB would not do)
        "log": k.mem.take_log().tobytes(),
        "spaces": [
            (s.pages, sorted(s.cow), [(v.start, v.end, v.prot) for v in s.vmas])
            for s in mm.spaces.values()
        ],
    }
    if not child_exits:
        state["child pages"] = k.vspaces.mapped(child.vspace, 0, VA_LIMIT)
    return state


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(VMAS, TOUCHES, CHANGES, st.booleans(), CHANGES, st.booleans())
def test_the_twins_fork_and_tear_down_as_the_references(
    system, vmas, touches, before, vfork, later, child_exits
):
    args = (system, vmas, touches, before, vfork, later, child_exits)
    ref, twin = _scenario("python", *args), _scenario("cython", *args)
    for key in ref:
        assert ref[key] == twin[key], key

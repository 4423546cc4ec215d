"""The kernel's and the services' bookkeeping, checked (a debug mode: `check_invariants`).

After every process is reaped, these must hold; a violation is a bug of hmk, raised as
InvariantViolation (an AssertionError) and reported as an InternalError:

- frames: every frame in use has one owner, the owners' counts add up to the frames in use,
  and no free frame is also owned;
- mappings: a frame mapped by more than one address space (or twice in one) is one the memory
  manager counts as shared (copy-on-write after fork, shared memory, the page cache's pages
  of a shared file mapping), with as many mappings as it counts; the kernel's zero page may be
  mapped anywhere;
- the reaped process left nothing: its threads, VSpace and CSpace are gone, the memory and
  file managers hold no record of it;
- descriptors: an open file has at least as many references as descriptors name it;
- activations: every activation in use is lent to a live thread.

The checks read the model's state directly (untimed) and are meant for fuzzing and tests:
they walk every address space, so a run with them is slower.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hmk.kernel.vspace import ADDR_MASK, LEVELS, TABLE_DESC

PAGE_CACHE = "fsmgr.pagecache"  # the owner of the file manager's cached pages


class InvariantViolation(AssertionError):
    """The model's bookkeeping disagrees with itself."""


def check(sim, reaped=None) -> None:
    """Check every invariant of `sim` (a Simulation); `reaped`: the process just reaped."""
    problems = [*_frames(sim.kernel), *_mappings(sim), *_activations(sim.kernel)]
    problems += _descriptors(sim.services["fsmgr"])
    if reaped is not None:
        problems += _gone(sim, reaped)
    if problems:
        what = f"after pid {reaped.pid} was reaped" if reaped is not None else "now"
        raise InvariantViolation(f"kernel invariants broken {what}: " + "; ".join(problems))


def _frames(kernel) -> list[str]:
    frames, problems = kernel.frames, []
    owned = len(frames.owner_of)
    if sum(frames.by_owner.values()) != owned:
        problems.append(f"owners count {sum(frames.by_owner.values())} frames, {owned} are owned")
    free = set(frames._free) | set(frames._held)
    both = free & set(frames.owner_of)
    if both:
        problems.append(f"{len(both)} frames both free and owned (first {min(both):#x})")
    return problems


def leaves(kernel, vspace: int) -> list[int]:
    """The frames VSpace `vspace` maps, one entry per mapping."""
    v = kernel.vspaces
    found, tables = [], [(int(v.vspace["root"][vspace]), 0)]
    while tables:
        table, level = tables.pop()
        descs = v.words[table >> 3 : (table + 4096) >> 3]
        for idx in np.flatnonzero(descs & TABLE_DESC == TABLE_DESC):
            nxt = int(descs[idx]) & ADDR_MASK
            if level < LEVELS - 1:
                tables.append((nxt, level + 1))
            else:
                found.append(nxt)
    return found


def _mappings(sim) -> list[str]:
    kernel, mm = sim.kernel, sim.memmgr
    mapped: Counter = Counter()
    for proc in mm.spaces:
        if kernel.vspaces.valid(proc.vspace):
            mapped.update(leaves(kernel, proc.vspace))
    mapped.pop(kernel.zero_page, None)
    owner_of = kernel.frames.owner_of
    problems = []
    for pa in set(mapped) | set(mm.shared):
        cached = owner_of.get(pa) == PAGE_CACHE  # the cache holds a reference of its own
        counted, expected = mm.shared.get(pa, 1), mapped[pa] + cached
        if counted != max(expected, 1) or not expected:
            problems.append(
                f"frame {pa:#x} has {mapped[pa]} mappings{' and the cache' if cached else ''}, "
                f"the memory manager counts {counted}"
            )
            if len(problems) >= 3:
                break
    return problems


def _activations(kernel) -> list[str]:
    ipc, threads = kernel.ipc, kernel.threads
    problems = []
    for a in np.flatnonzero(ipc.act.used):
        caller = int(ipc.act["caller"][a])
        if caller >= 0 and not threads.valid(caller):
            problems.append(f"activation {a} is lent to thread {caller}, which is gone")
    return problems


def _gone(sim, task) -> list[str]:
    kernel, proc, problems = sim.kernel, task.proc, []
    if kernel.vspaces.valid(proc.vspace) and proc.vspace not in _live_vspaces(sim):
        problems.append(f"pid {task.pid}'s VSpace {proc.vspace} is still there")
    for tcb in task.threads:
        if kernel.threads.valid(tcb):
            problems.append(f"pid {task.pid}'s thread {tcb} is still there")
    if kernel.caps._valid_cs(proc.cspace) and proc.cspace not in _live_cspaces(sim):
        problems.append(f"pid {task.pid}'s CSpace {proc.cspace} is still there")
    if proc in sim.memmgr.spaces:
        problems.append(f"the memory manager still manages pid {task.pid}")
    if task.pid in sim.services["fsmgr"].tables:
        problems.append(f"the file manager still has pid {task.pid}'s descriptors")
    return problems


def _live_vspaces(sim) -> set[int]:
    return {p.vspace for p in sim.memmgr.spaces}


def _live_cspaces(sim) -> set[int]:
    return {t.proc.cspace for t in sim.procmgr.tasks.values() if t.proc is not None}


def _descriptors(fs) -> list[str]:
    """An open file is referenced at least once per descriptor naming it (more while one is
    in flight in a message): fewer, and its last close would release it under the others."""
    named: Counter = Counter()
    files = {}
    for table in fs.tables.values():
        for f, _ in table.fds.values():
            named[id(f)] += 1
            files[id(f)] = f
    return [
        f"an open file has {files[i].refs} references and {n} descriptors"
        for i, n in named.items()
        if files[i].refs < n
    ][:3]

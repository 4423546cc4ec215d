"""The memory manager's page records (hmk.kernel.pagerecords) and the compiled twin of `record`
(hmk._fast.pagerecords): each new page's record and the LRU's tail written, blocks of records
taken on first use; under hypothesis the twin leaves the same records, list, frames and
access log as the reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.events import READ, WRITE
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KERNEL_BASE, KernelMemory
from hmk.kernel.pagerecords import NEXT, OWNER, PER_FRAME, RECORD, PageRecords

RAM = 8 << 20
HEAP = 64 * 1024


def make():
    ram = np.zeros(RAM, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    records = PageRecords(mem, Frames(ram, HEAP, end=RAM // 2))
    mem.take_log()
    return records


def test_a_record_and_the_lru_tail_are_written():
    records = make()
    first, second = RAM // 2, RAM // 2 + PAGE_SIZE
    records.record(first)
    log = records.mem.take_log()
    here = records.at(first)
    assert list(log["addr"]) == [
        KERNEL_BASE + here + OWNER,
        KERNEL_BASE + records.lists.addr(0, "tail"),
        KERNEL_BASE + here + NEXT,
        KERNEL_BASE + records.lists.addr(0, "tail"),
        KERNEL_BASE + records.lists.addr(0, "n"),
        KERNEL_BASE + records.lists.addr(0, "n"),
    ]
    assert list(log["kind"]) == [WRITE, READ, WRITE, WRITE, READ, WRITE]
    records.twin().record(second)
    log = records.mem.take_log()
    assert log["addr"][2] == KERNEL_BASE + here + NEXT  # the old tail now points on
    assert records.at(second) == here + RECORD  # the same block, the next record
    assert int(records.lists["tail"][0]) == second and int(records.lists["n"][0]) == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(RAM // 2 // PAGE_SIZE, RAM // PAGE_SIZE - 1), max_size=60))
def test_the_twin_records_as_the_reference(frames):
    ref, twin = make(), make()
    for n in frames:
        pa = n * PAGE_SIZE
        ref.record(pa)
        twin.twin().record(pa)
        assert ref.mem.take_log().tobytes() == twin.mem.take_log().tobytes()
    assert ref.blocks == twin.blocks
    assert len(ref.blocks) == len({n // PER_FRAME for n in frames})
    assert ref.lists["tail"][0] == twin.lists["tail"][0]
    assert ref.lists["n"][0] == twin.lists["n"][0] == len(frames)
    assert ref.frames.in_use == twin.frames.in_use

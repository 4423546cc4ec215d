"""Linux's per-page bookkeeping (hmk.monolithic.pages.PageBook) and its compiled twin
(hmk._fast.pagebook): under hypothesis, any sequence of new anonymous pages and new page tables
leaves the same per-cpu and node records and the same access log in both, with the memory
cgroup controller on and off; and whole linux runs give the same statistics either way
(tests/test_twin_runs.py runs the compositions with impl="python" too)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk._fast.pagebook import FastPageBook
from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.memory import Frames
from hmk.kernel.objects import KernelMemory
from hmk.monolithic.pages import PAGEVEC_SIZE, PageBook

RAM = 16 << 20
HEAP = 64 * 1024


def make(memcg: bool) -> PageBook:
    ram = np.zeros(RAM, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    return PageBook(mem, Frames(ram, HEAP), RAM, memcg=memcg)


def records(book: PageBook) -> list[np.ndarray]:
    pools = (book.percpu, book.node)
    return [a.copy() for pool in pools for a in pool.arrays.values()]


STEPS = st.lists(
    st.tuples(st.sampled_from(["page", "table"]), st.integers(64, RAM // PAGE_SIZE - 1)),
    max_size=3 * PAGEVEC_SIZE,  # past two pagevec drains
)


@settings(max_examples=60, deadline=None)
@given(STEPS, st.booleans(), st.integers(-2, 40))
def test_the_twin_keeps_the_books_as_the_reference(steps, memcg, stock):
    ref, twin_book = make(memcg), make(memcg)
    for book in (ref, twin_book):  # any charge stock, the refill from the counter included
        book.percpu["stock_pages"][0] = stock
    twin = FastPageBook(twin_book)
    for what, frame in steps:
        pa = frame * PAGE_SIZE
        if what == "page":
            ref.new_anon_page(pa, 0x40_0000 + pa)
            twin.new_anon_page(pa, 0x40_0000 + pa)
        else:
            ref.table(pa)
            twin.table(pa)
        assert ref.mem.take_log().tobytes() == twin_book.mem.take_log().tobytes()
    for a, b in zip(records(ref), records(twin_book), strict=True):
        assert np.array_equal(a, b)


def test_a_drain_puts_the_pagevec_on_the_lru():
    book = make(True)
    twin = FastPageBook(book)
    for k in range(PAGEVEC_SIZE):
        twin.new_anon_page((100 + k) * PAGE_SIZE, 0)
    assert int(book.percpu["pvec_nr"][0]) == 0 and int(book.node["lru_size"][0]) == PAGEVEC_SIZE
    assert int(book.node["lru_head_next"][0]) == book.page((100 + PAGEVEC_SIZE - 1) * PAGE_SIZE)

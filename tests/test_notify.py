"""Notifications (hmk.kernel.notify): pending bits, one waiter, errors change nothing."""

import numpy as np
import pytest

from hmk.kernel.errors import BLOCKED, EBUSY, EINVAL, ENOMEM
from hmk.kernel.notify import Notifications
from hmk.kernel.objects import KernelMemory
from hmk.kernel.threads import BLOCKED as T_BLOCKED
from hmk.kernel.threads import RUNNABLE, Threads


@pytest.fixture
def kit():
    mem = KernelMemory(np.zeros(1 << 20, np.uint8), 0, 1 << 19)
    threads = Threads(mem, 4, cores=1, tick_cycles=100, slice_ticks=2)
    notes = Notifications(mem, threads, 2)
    a, b = threads.create(10, 0, 0, 0), threads.create(10, 0, 0, 0)
    threads.resume(a)
    threads.resume(b)
    return mem, threads, notes, a, b


def test_bits_wait_for_a_waiter_and_are_taken_once(kit):
    mem, threads, notes, a, b = kit
    n = notes.create()
    assert notes.signal(n, 0b101) == (-1, 0)
    assert notes.signal(n, 0b010) == (-1, 0)
    assert notes.wait(n, a) == 0b111
    assert notes.wait(n, a) == BLOCKED and threads.tcb["state"][a] == T_BLOCKED


def test_a_signal_wakes_the_waiter_with_the_word(kit):
    mem, threads, notes, a, b = kit
    n = notes.create()
    assert notes.wait(n, a) == BLOCKED
    assert notes.wait(n, b) == EBUSY  # one waiter at a time; b is not blocked
    assert threads.tcb["state"][b] == RUNNABLE
    assert notes.signal(n, 7) == (a, 7)
    assert threads.tcb["state"][a] == RUNNABLE
    assert notes.wait(n, b) == BLOCKED  # the word was delivered, nothing pending


def test_bad_arguments_and_exhaustion_change_nothing(kit):
    mem, threads, notes, a, b = kit
    n = notes.create()
    assert notes.create() >= 0 and notes.create() == ENOMEM
    before = [arr.copy() for arr in notes.pool.arrays.values()]
    assert notes.signal(99, 1) == (EINVAL, 0)
    assert notes.signal(n, 1 << 63) == (EINVAL, 0)  # would read as an error in x0
    assert notes.wait(n, 99) == EINVAL
    assert all((x == y).all() for x, y in zip(before, notes.pool.arrays.values(), strict=True))


def test_destroy_hands_back_the_waiter(kit):
    mem, threads, notes, a, b = kit
    n = notes.create()
    notes.wait(n, a)
    assert notes.destroy(n) == a and notes.pool.in_use == 0
    assert notes.destroy(n) == EINVAL

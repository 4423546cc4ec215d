"""Notifications: asynchronous signals between threads (seL4's notification objects).

A notification is a 64-bit word of pending bits and at most one waiting thread, a 32-byte record
in kernel memory (docs/kernel-design.md, "Objects"; every field access timed). `signal` ORs bits
in: with a waiter, the waiter gets the whole word (the word clears) and is made runnable;
without one, the bits stay pending. The word is also kept in the simulated RAM bytes at its
modeled address (a functional mirror of the logged stores), so a thread holding an address
token for the notification reads the pending bits with a plain load, without a kernel call.
`wait` takes the pending bits at once (clearing them) or, with none pending, blocks the thread
until a signal (one waiter at a time: a second is EBUSY).
Errors are results: EINVAL for a bad index or thread, EBUSY for a second waiter, ENOMEM when
the pool is exhausted.
"""

from __future__ import annotations

import numpy as np

from hmk.kernel.errors import BLOCKED, EBUSY, EINVAL, ENOMEM
from hmk.kernel.objects import KernelMemory, Pool

NOTIFICATION_FIELDS = {"word": (np.uint64, 1), "waiter": (np.int32, 1)}  # 12 of 32 bytes


class Notifications:
    def __init__(self, mem: KernelMemory, threads, capacity: int):
        self.mem, self.threads = mem, threads
        self.pool = mem.register(Pool("notification", capacity, 32, NOTIFICATION_FIELDS))
        self.pool["waiter"][:] = -1

    def valid(self, n) -> bool:
        return isinstance(n, int | np.integer) and 0 <= n < self.pool.capacity and self.pool.used[n]

    def create(self) -> int:
        n = self.pool.alloc()
        if n < 0:
            return ENOMEM
        self._set_word(n, 0)
        self.mem.store(self.pool, n, "waiter", -1)
        return n

    def _set_word(self, n: int, word: int) -> None:
        self.mem.store(self.pool, n, "word", word)
        self.mem.ram.view(np.uint64)[self.pool.addr(n, "word") >> 3] = word

    def destroy(self, n) -> int:
        """Free a notification; a thread waiting on it is returned (-1: none) for the caller to
        resume with an error."""
        if not self.valid(n):
            return EINVAL
        waiter = self.mem.load(self.pool, n, "waiter")
        self.pool["waiter"][n] = -1
        self.pool["word"][n] = 0
        self.mem.ram.view(np.uint64)[self.pool.addr(n, "word") >> 3] = 0
        self.pool.free(n)
        return waiter

    def signal(self, n, bits: int) -> tuple[int, int]:
        """OR `bits` in: (woken thread or -1, the word it receives) or (EINVAL, 0)."""
        if not self.valid(n) or not isinstance(bits, int | np.integer) or not 0 <= bits < 1 << 63:
            return EINVAL, 0  # bit 63 would read as an error in x0
        load, st = self.mem.load, self.mem.store
        word = load(self.pool, n, "word") | int(bits)
        waiter = load(self.pool, n, "waiter")
        if waiter >= 0:
            st(self.pool, n, "waiter", -1)
            self._set_word(n, 0)
            self.threads.wake(waiter)
            return waiter, word
        self._set_word(n, word)
        return -1, 0

    def wait(self, n, tcb: int) -> int:
        """The pending word (cleared), or BLOCKED with `tcb` blocked, or an error."""
        if not self.valid(n) or not self.threads.valid(tcb):
            return EINVAL
        load, st = self.mem.load, self.mem.store
        word = load(self.pool, n, "word")
        if word:
            self._set_word(n, 0)
            return word
        if load(self.pool, n, "waiter") >= 0:
            return EBUSY
        st(self.pool, n, "waiter", tcb)
        self.threads.block(tcb)
        return BLOCKED

    def cancel(self, tcb: int) -> None:
        """Take `tcb` off any notification it waits on (it is being destroyed or suspended)."""
        for n in np.flatnonzero(self.pool.used & (self.pool["waiter"] == tcb)):
            self.mem.store(self.pool, int(n), "waiter", -1)

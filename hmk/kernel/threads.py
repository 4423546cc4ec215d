"""Threads and the scheduler (docs/kernel-design.md): the readable Python reference.

Design notes.

TCBs. A `tcb` pool of 1024-byte records (seL4's AArch64 TCB size) in kernel memory, fields
widest first: the 34 saved registers (x0-x30, sp, pc, pstate; uint64, offset 0, 272 bytes),
then the int32 fields (time-slice ticks left, vspace index, cspace handle, the activation it
runs on, run-queue links `next` / `prev`, -1 = none), then the uint8 fields (state, priority,
core affinity). Priorities are 0-255, higher runs first. Every field access is a timed
KernelMemory load or store; whether an index names a live TCB is read from the pool's free map
(allocator bookkeeping, charged by a path's budget, as in cspace.py).

Run queues. One `runq` record per core (4096 bytes: one page each, so cores never share a
line): a 256-bit bitmap of non-empty priorities (4 uint64 words), `current` (the TCB whose
registers are on the core, -1 when idle), and per priority the `head` and `tail` TCB of a FIFO
doubly linked through the TCBs' `next` / `prev`. `pick` scans the bitmap words from the top (a
timed load each, then a count-leading-zeros) and loads the head of the highest non-empty
priority. Enqueueing appends at the tail; a queue that becomes empty (non-empty) clears (sets)
its bitmap bit, a timed load and store of the word.

The running thread stays in its queue (as Linux's SCHED_RR does), normally at the head of its
priority, so:
- round robin: `tick(core)` decrements the running thread's slice; at 0 the slice is refilled
  and the thread moves to the tail of its priority; `yield_` does the same at once;
- preemption: a thread that becomes runnable at a higher priority (resume, wake, set_priority)
  makes `pick(core)` differ from `current(core)`; the preempted thread stays at the head of
  its priority with its remaining slice (seL4's tcbSchedEnqueue of a preempted thread and
  SCHED_RR both put it back at the head);
- `set_priority` of a queued thread requeues it at the tail of the new priority.
Invariant: every RUNNABLE or RUNNING thread is in exactly one queue, that of its core at its
priority; the bitmap bit of a priority is set iff its queue is non-empty; a core has at most
one RUNNING thread and it is the core's `current`.

Switching is the caller's step, as at seL4's exception return: an operation changes states
and queues; at kernel exit the caller asks `pick(core)` and, when it differs from
`current(core)` (or the current thread is no longer RUNNING), calls
`context_switch(core, current, to, regs_out)` with the registers the core holds; `dispatch`
does both. The context switch stores the 34 outgoing registers into `from`'s TCB and loads
`to`'s 34 (timed), makes `from` RUNNABLE if it was RUNNING (a blocked or suspended `from`
keeps its state: its registers were still on the core) and `to` RUNNING. A thread blocked,
suspended or destroyed while running leaves the queue at once; `current` keeps naming it until
the switch (destroy sets `current` to -1: there is no TCB to save into any more).

`tick_cycles` is the timer period in core cycles (the profile's tick); the caller's timer
calls `tick(core)` once per period. Errors are results, never exceptions: ESRCH for an index
that is not a live TCB, EINVAL for a bad argument or an operation the thread's state does not
allow, ENOMEM for an exhausted pool; an error changes nothing (no state, no pool count).
Determinism: no hashing, no randomness, lowest free index first: the same operation sequence
gives the same schedule and the same access log.
"""

from __future__ import annotations

import numpy as np

from hmk.kernel.errors import EINVAL, ENOMEM, ESRCH, OK
from hmk.kernel.objects import KernelMemory, Pool

INACTIVE, RUNNABLE, RUNNING, BLOCKED = range(4)
STATE_NAMES = ("INACTIVE", "RUNNABLE", "RUNNING", "BLOCKED")
N_PRIORITIES = 256
N_REGS = 34  # x0-x30, sp, pc, pstate
SP, PC, PSTATE = 31, 32, 33
BITMAP_WORDS = N_PRIORITIES // 64

TCB_RECORD = 1024  # seL4's AArch64 TCB (docs/kernel-design.md, "Objects")
TCB_FIELDS = {  # 272 + 24 + 3 = 299 bytes of 1024, widest first
    "regs": (np.uint64, N_REGS),
    "slice": (np.int32, 1),
    "vspace": (np.int32, 1),
    "cspace": (np.int32, 1),
    "activation": (np.int32, 1),
    "next": (np.int32, 1),
    "prev": (np.int32, 1),
    "state": (np.uint8, 1),
    "priority": (np.uint8, 1),
    "core": (np.uint8, 1),
}
RUNQ_RECORD = 4096  # a page per core: no false sharing between cores
RUNQ_FIELDS = {  # 32 + 4 + 1024 + 1024 = 2084 bytes
    "bitmap": (np.uint64, BITMAP_WORDS),
    "current": (np.int32, 1),
    "head": (np.int32, N_PRIORITIES),
    "tail": (np.int32, N_PRIORITIES),
}


_INT32 = 1 << 31


def _is_int(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _good_regs(regs) -> bool:
    try:
        return len(regs) == N_REGS and all(_is_int(r) and 0 <= r < 1 << 64 for r in regs)
    except TypeError:
        return False


class Threads:
    """The TCB pool and per-core run queues, registered in `mem`."""

    def __init__(
        self, mem: KernelMemory, capacity: int, cores: int, tick_cycles: int, slice_ticks: int
    ):
        if not 1 <= cores <= 255 or tick_cycles < 1 or slice_ticks < 1:
            raise ValueError("threads: need 1-255 cores and positive tick and slice lengths")
        self.mem, self.cores = mem, cores
        self.tick_cycles, self.slice_ticks = tick_cycles, slice_ticks
        self.tcb = mem.register(Pool("tcb", capacity, TCB_RECORD, TCB_FIELDS))
        self.runq = mem.register(Pool("runq", cores, RUNQ_RECORD, RUNQ_FIELDS))
        for f in ("vspace", "cspace", "activation", "next", "prev"):
            self.tcb[f][:] = -1
        for f in ("current", "head", "tail"):
            self.runq[f][:] = -1
        self.runq.alloc_range(cores)  # the run queues exist from boot

    # ---- lifecycle -----------------------------------------------------------------------

    def create(self, priority: int, core: int, vspace: int, cspace: int) -> int:
        """A new INACTIVE thread with zeroed registers and a full slice: its index, or an
        error (EINVAL for a bad argument, ENOMEM when the pool is exhausted)."""
        if not (_is_int(priority) and 0 <= priority < N_PRIORITIES):
            return EINVAL
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        if not all(_is_int(x) and -1 <= x < _INT32 for x in (vspace, cspace)):
            return EINVAL
        i = self.tcb.alloc()
        if i < 0:
            return ENOMEM
        st, pool = self.mem.store, self.tcb
        for k in range(N_REGS):
            st(pool, i, "regs", 0, k)
        st(pool, i, "slice", self.slice_ticks)
        st(pool, i, "vspace", vspace)
        st(pool, i, "cspace", cspace)
        st(pool, i, "activation", -1)
        st(pool, i, "next", -1)
        st(pool, i, "prev", -1)
        st(pool, i, "state", INACTIVE)
        st(pool, i, "priority", priority)
        st(pool, i, "core", core)
        return i

    def destroy(self, i: int) -> int:
        """Take thread `i` off its queue (and off its core, if running there) and free it."""
        if not self.valid(i):
            return ESRCH
        state = self.mem.load(self.tcb, i, "state")
        core = self.mem.load(self.tcb, i, "core")
        if state in (RUNNABLE, RUNNING):
            self._dequeue(i)
        if self.current(core) == i:
            self.mem.store(self.runq, core, "current", -1)
        self.mem.store(self.tcb, i, "state", INACTIVE)
        self.tcb.free(i)
        return OK

    def valid(self, i) -> bool:
        """Whether `i` names a live TCB (the free map: not a timed access)."""
        return _is_int(i) and 0 <= i < self.tcb.capacity and bool(self.tcb.used[i])

    # ---- state changes -------------------------------------------------------------------

    def resume(self, i: int) -> int:
        """INACTIVE or BLOCKED -> RUNNABLE, at the tail of its priority on its core."""
        return self._make_runnable(i, (INACTIVE, BLOCKED))

    def wake(self, i: int) -> int:
        """BLOCKED -> RUNNABLE, at the tail of its priority on its core."""
        return self._make_runnable(i, (BLOCKED,))

    def suspend(self, i: int) -> int:
        """RUNNABLE, RUNNING or BLOCKED -> INACTIVE (off the run queue)."""
        return self._make_waiting(i, (RUNNABLE, RUNNING, BLOCKED), INACTIVE)

    def block(self, i: int) -> int:
        """RUNNABLE or RUNNING -> BLOCKED (off the run queue)."""
        return self._make_waiting(i, (RUNNABLE, RUNNING), BLOCKED)

    def set_priority(self, i: int, priority: int) -> int:
        """Change the priority; a queued thread moves to the tail of its new priority."""
        if not self.valid(i):
            return ESRCH
        if not (_is_int(priority) and 0 <= priority < N_PRIORITIES):
            return EINVAL
        queued = self.mem.load(self.tcb, i, "state") in (RUNNABLE, RUNNING)
        if queued:
            self._dequeue(i)
        self.mem.store(self.tcb, i, "priority", priority)
        if queued:
            self._enqueue(i)
        return OK

    # ---- scheduling ----------------------------------------------------------------------

    def current(self, core: int) -> int:
        """The thread whose registers are on `core`, or -1 (a timed load); EINVAL for a bad
        core."""
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        return self.mem.load(self.runq, core, "current")

    def has_work(self, core: int) -> bool:
        """Is a thread running on `core` or ready to? Untimed: the simulator's question of
        which core to run, not the kernel's."""
        if int(self.runq["current"][core]) >= 0:
            return True
        return bool(self.runq["bitmap"][core].any())

    def preempted(self, core: int) -> bool:
        """Would `core`'s scheduler switch away from its running thread now (a thread of a
        higher priority became runnable there)? Untimed, as has_work."""
        cur = int(self.runq["current"][core])
        words = self.runq["bitmap"][core]
        for w in range(BITMAP_WORDS - 1, -1, -1):
            word = int(words[w])
            if word:
                head = int(self.runq["head"][core][w * 64 + word.bit_length() - 1])
                return cur >= 0 and head != cur
        return False

    def pick(self, core: int) -> int:
        """The thread that should run on `core`: the head of its highest non-empty priority,
        or -1 when nothing is runnable. Changes nothing."""
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        for w in range(BITMAP_WORDS - 1, -1, -1):
            word = self.mem.load(self.runq, core, "bitmap", w)
            if word:
                return self.mem.load(self.runq, core, "head", w * 64 + word.bit_length() - 1)
        return -1

    def tick(self, core: int) -> int:
        """The timer interrupt on `core`: the running thread loses a tick of its slice; at 0
        it gets a full slice and goes to the tail of its priority. Returns `pick(core)`."""
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        cur = self.current(core)
        if cur >= 0 and self.mem.load(self.tcb, cur, "state") == RUNNING:
            left = self.mem.load(self.tcb, cur, "slice") - 1
            if left <= 0:
                self._rotate(cur)
            else:
                self.mem.store(self.tcb, cur, "slice", left)
        return self.pick(core)

    def yield_(self, core: int) -> int:
        """The running thread gives up the rest of its slice: a full slice, the tail of its
        priority. Returns `pick(core)` (itself if it is alone at the top priority)."""
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        cur = self.current(core)
        if cur >= 0 and self.mem.load(self.tcb, cur, "state") == RUNNING:
            self._rotate(cur)
        return self.pick(core)

    def context_switch(self, core: int, from_tcb: int, to_tcb: int, regs_out):
        """Save `regs_out` (34 ints: the core's x0-x30, sp, pc, pstate) into `from_tcb` and
        return `to_tcb`'s saved registers (34 timed stores, 34 timed loads). `from_tcb` must be
        `current(core)` (-1: the core was idle, nothing is saved); `to_tcb` a RUNNABLE thread
        of this core (-1: the core goes idle and [] is returned). `from_tcb == to_tcb` (a
        thread suspended and resumed before its switch) only makes it RUNNING again and
        returns `regs_out`. On error a negative code is returned and nothing changes."""
        if not (_is_int(core) and 0 <= core < self.cores):
            return EINVAL
        load, st, pool = self.mem.load, self.mem.store, self.tcb
        if any(t != -1 and not self.valid(t) for t in (from_tcb, to_tcb)):
            return ESRCH
        if from_tcb >= 0 and not _good_regs(regs_out):
            return EINVAL
        if self.current(core) != from_tcb or from_tcb == to_tcb == -1:
            return EINVAL
        if to_tcb >= 0 and (
            load(pool, to_tcb, "state") != RUNNABLE or load(pool, to_tcb, "core") != core
        ):
            return EINVAL
        if from_tcb == to_tcb:
            st(pool, to_tcb, "state", RUNNING)
            return list(regs_out)
        if from_tcb >= 0:
            for k in range(N_REGS):
                st(pool, from_tcb, "regs", int(regs_out[k]), k)
            if load(pool, from_tcb, "state") == RUNNING:
                st(pool, from_tcb, "state", RUNNABLE)
        st(self.runq, core, "current", to_tcb)
        if to_tcb < 0:
            return []
        st(pool, to_tcb, "state", RUNNING)
        return [load(pool, to_tcb, "regs", k) for k in range(N_REGS)]

    def dispatch(self, core: int, regs_out):
        """Kernel exit on `core`: switch to `pick(core)` if it is not already running there.
        Returns (thread now on the core or -1, registers to load: `regs_out` if unchanged)."""
        to = self.pick(core)
        if to < -1:
            return to, regs_out
        cur = self.current(core)
        if to == cur and (cur < 0 or self.mem.load(self.tcb, cur, "state") == RUNNING):
            return cur, regs_out
        regs = self.context_switch(core, cur, to, regs_out)
        if isinstance(regs, int):
            return regs, regs_out
        return to, regs

    # ---- helpers -------------------------------------------------------------------------

    def _make_runnable(self, i: int, allowed) -> int:
        if not self.valid(i):
            return ESRCH
        if self.mem.load(self.tcb, i, "state") not in allowed:
            return EINVAL
        self.mem.store(self.tcb, i, "state", RUNNABLE)
        self._enqueue(i)
        return OK

    def _make_waiting(self, i: int, allowed, state: int) -> int:
        if not self.valid(i):
            return ESRCH
        old = self.mem.load(self.tcb, i, "state")
        if old not in allowed:
            return EINVAL
        if old in (RUNNABLE, RUNNING):
            self._dequeue(i)
        self.mem.store(self.tcb, i, "state", state)
        return OK

    def _rotate(self, i: int) -> None:
        """A full slice and the tail of its priority."""
        self.mem.store(self.tcb, i, "slice", self.slice_ticks)
        self._dequeue(i)
        self._enqueue(i)

    def _set_bit(self, core: int, p: int, on: bool) -> None:
        w, bit = divmod(p, 64)
        word = self.mem.load(self.runq, core, "bitmap", w)
        word = word | 1 << bit if on else word & ~(1 << bit)
        self.mem.store(self.runq, core, "bitmap", word, w)

    def _enqueue(self, i: int) -> None:
        """Append `i` at the tail of its priority's queue on its core."""
        load, st, q = self.mem.load, self.mem.store, self.runq
        core, p = load(self.tcb, i, "core"), load(self.tcb, i, "priority")
        tail = load(q, core, "tail", p)
        st(self.tcb, i, "next", -1)
        st(self.tcb, i, "prev", tail)
        if tail < 0:
            st(q, core, "head", i, p)
            self._set_bit(core, p, True)
        else:
            st(self.tcb, tail, "next", i)
        st(q, core, "tail", i, p)

    def _dequeue(self, i: int) -> None:
        """Unlink `i` from its priority's queue on its core."""
        load, st, q = self.mem.load, self.mem.store, self.runq
        core, p = load(self.tcb, i, "core"), load(self.tcb, i, "priority")
        prev, nxt = load(self.tcb, i, "prev"), load(self.tcb, i, "next")
        if prev < 0:
            st(q, core, "head", nxt, p)
        else:
            st(self.tcb, prev, "next", nxt)
        if nxt < 0:
            st(q, core, "tail", prev, p)
        else:
            st(self.tcb, nxt, "prev", prev)
        if prev < 0 and nxt < 0:
            self._set_bit(core, p, False)
        st(self.tcb, i, "next", -1)
        st(self.tcb, i, "prev", -1)

"""Linux's Completely Fair Scheduler (CFS) on hmk's thread records: the readable model.

`Cfs` keeps the thread pool and per-core records of hmk.kernel.threads.Threads (TCBs, states,
`current`) and replaces the run queue with Linux's: each thread has a *sched_entity* record
(virtual runtime, runtime bookkeeping, red-black tree links) and each core a *cfs_rq* record
(the tree's root, its cached leftmost entity, min_vruntime, the running entity `curr`), all in
kernel memory, every field access a timed load or store. The mechanism follows Linux 5.10's
kernel/sched/fair.c (read for the rules, not copied):

- the runnable entities wait in a red-black tree ordered by vruntime (equal keys go right, so
  equal runtimes run first come, first served); the running one (`curr`) is out of the tree;
- update_curr: the running entity's runtime since it was last accounted is added to its
  sum_exec_runtime and, weighted (NICE_0_LOAD / weight: 1024 at nice 0, so one to one; a
  nice value set by setpriority gives Linux's sched_prio_to_weight), to its vruntime;
  min_vruntime follows the smallest vruntime, never going back;
- place_entity: a thread woken from sleep gets vruntime max(its own, min_vruntime - half the
  scheduling latency) (GENTLE_FAIR_SLEEPERS); a new one starts from the running thread's (its
  parent's, task_fork_fair) and at least min_vruntime + its slice (START_DEBIT), so forking
  cannot jump the queue;
- check_preempt_wakeup: a woken thread preempts the running one when its vruntime is more than
  the wakeup granularity (1 ms) behind; check_preempt_tick: at a tick the running thread is
  preempted when it ran longer than its slice (the 6 ms latency shared among the runnable
  threads, at least the 0.75 ms minimum granularity each);
- sched_yield: the running thread is skipped by the next pick (the skip buddy);
- pick_next_task_fair: the leftmost entity, or `curr` if it is still runnable and smaller;
  put_prev_entity puts the previous thread back in the tree, set_next_entity takes the next out.

Tunables are Linux's defaults for one CPU (sysctl_sched_latency 6 ms, min granularity 0.75 ms,
wakeup granularity 1 ms; kernel/sched/fair.c, Linux 5.10). Priorities of the HM thread API
are kept but do not order CFS threads (nice values do, through their weights). The work of
each operation, in core instructions (hmk.monolithic.costs), is accumulated in `work` for the
kernel to charge with the operations' logged accesses.
"""

from __future__ import annotations

import numpy as np

from hmk.kernel.objects import KernelMemory, Pool
from hmk.kernel.threads import RUNNABLE, RUNNING, Threads
from hmk.monolithic.costs import BUDGETS

LATENCY_NS = 6_000_000  # sysctl_sched_latency
MIN_GRANULARITY_NS = 750_000  # sysctl_sched_min_granularity
WAKEUP_GRANULARITY_NS = 1_000_000  # sysctl_sched_wakeup_granularity
NR_LATENCY = LATENCY_NS // MIN_GRANULARITY_NS  # 8: beyond this many, slices stop shrinking
NICE_0_WEIGHT = 1024
RED, BLACK = 0, 1
NIL = -1

SE_RECORD = 64  # the parts of Linux's sched_entity the model touches
SE_FIELDS = {
    "vruntime": (np.uint64, 1),
    "exec_start": (np.uint64, 1),
    "sum_exec": (np.uint64, 1),
    "prev_sum_exec": (np.uint64, 1),
    "weight": (np.uint32, 1),
    "left": (np.int32, 1),
    "right": (np.int32, 1),
    "parent": (np.int32, 1),
    "color": (np.uint8, 1),
    "on_rq": (np.uint8, 1),
    "started": (np.uint8, 1),
}
CFS_RQ_RECORD = 64  # one per core
CFS_RQ_FIELDS = {
    "min_vruntime": (np.uint64, 1),
    "root": (np.int32, 1),
    "leftmost": (np.int32, 1),
    "curr": (np.int32, 1),
    "skip": (np.int32, 1),
    "nr_running": (np.uint32, 1),
    "resched": (np.uint8, 1),
}


class Cfs(Threads):
    """Threads scheduled by CFS; `clock_ns()` is the core's clock in nanoseconds."""

    def __init__(  # noqa: PLR0913
        self,
        mem: KernelMemory,
        capacity: int,
        cores: int,
        tick_cycles: int,
        slice_ticks: int,
        clock_ns=lambda: 0,
    ):
        super().__init__(mem, capacity, cores, tick_cycles, slice_ticks)
        self.clock_ns = clock_ns
        self.se = mem.register(Pool("sched_entity", capacity, SE_RECORD, SE_FIELDS))
        self.rq = mem.register(Pool("cfs_rq", cores, CFS_RQ_RECORD, CFS_RQ_FIELDS))
        for f in ("left", "right", "parent"):
            self.se[f][:] = NIL
        for f in ("root", "leftmost", "curr", "skip"):
            self.rq[f][:] = NIL
        self.rq.alloc_range(cores)
        self.work = 0  # instructions of scheduler work not yet charged (take_work)

    def take_work(self) -> int:
        """The scheduler's instructions since the last call."""
        work, self.work = self.work, 0
        return work

    # ---- lifecycle -----------------------------------------------------------------------
    def create(
        self, priority: int, core: int, vspace: int, cspace: int, affinity: int | None = None
    ) -> int:
        i = super().create(priority, core, vspace, cspace, affinity)
        if i >= 0:
            st = self.mem.store
            for f, v in (("vruntime", 0), ("sum_exec", 0), ("prev_sum_exec", 0)):
                st(self.se, i, f, v)
            st(self.se, i, "weight", NICE_0_WEIGHT)
            st(self.se, i, "on_rq", 0)
            st(self.se, i, "started", 0)
        return i

    def set_weight(self, i: int, weight: int) -> None:
        """A nice value's weight (setpriority): the thread's vruntime grows by its runtime
        times NICE_0_LOAD / weight from now on (its place in the tree stays)."""
        if self.valid(i):
            self.mem.store(self.se, i, "weight", weight)

    def set_priority(self, i: int, priority: int) -> int:
        """Kept on the thread; CFS orders nice-0 threads by vruntime alone."""
        if not self.valid(i):
            return super().set_priority(i, priority)  # its error
        if not 0 <= priority < 256:
            return super().set_priority(i, priority)
        self.mem.store(self.tcb, i, "priority", priority)
        return 0

    # ---- the run queue (Threads' hooks) --------------------------------------------------
    def _enqueue(self, i: int) -> None:
        """enqueue_task_fair: account the running thread, place `i`, insert it, and decide
        whether it preempts (check_preempt_wakeup)."""
        load, st = self.mem.load, self.mem.store
        core = load(self.tcb, i, "core")
        self._update_curr(core)
        self.work += BUDGETS["cfs.enqueue"] + BUDGETS["sched.wakeup"]
        vr = load(self.se, i, "vruntime")
        floor = load(self.rq, core, "min_vruntime")
        nr = load(self.rq, core, "nr_running")
        if load(self.se, i, "started"):  # a wakeup: at most half a latency of sleeper credit
            vr = max(vr, max(floor - LATENCY_NS // 2, 0))
        else:  # a new thread: from its parent's vruntime (the running thread's, as
            cur = load(self.rq, core, "curr")  # task_fork_fair), a slice behind everyone
            if cur >= 0:
                vr = max(vr, load(self.se, cur, "vruntime"))
            vr = max(vr, floor + sched_slice(nr + 1))
            st(self.se, i, "started", 1)
        self._join(core, i, vr, nr)

    def _join(self, core: int, i: int, vr: int, nr: int) -> None:
        """`i` into `core`'s tree at virtual runtime `vr` (`nr`: the queue's threads before
        it), and whether it preempts the running thread (check_preempt_wakeup)."""
        load, st = self.mem.load, self.mem.store
        st(self.se, i, "vruntime", vr)
        self._insert(core, i)
        st(self.se, i, "on_rq", 1)
        st(self.rq, core, "nr_running", nr + 1)
        cur = load(self.rq, core, "curr")
        running = cur >= 0 and load(self.tcb, cur, "state") == RUNNING
        if running and load(self.se, cur, "vruntime") - vr > WAKEUP_GRANULARITY_NS:
            st(self.rq, core, "resched", 1)

    def _dequeue(self, i: int) -> None:
        """dequeue_task_fair: the running thread is accounted and stops being `curr`; a waiting
        one leaves the tree."""
        load, st = self.mem.load, self.mem.store
        core = load(self.tcb, i, "core")
        self.work += BUDGETS["cfs.dequeue"]
        if load(self.rq, core, "curr") == i:
            self._update_curr(core)
            st(self.rq, core, "curr", NIL)
        elif load(self.se, i, "on_rq"):
            self._erase(core, i)
        st(self.se, i, "on_rq", 0)
        st(self.rq, core, "nr_running", load(self.rq, core, "nr_running") - 1)
        if load(self.rq, core, "skip") == i:
            st(self.rq, core, "skip", NIL)

    def migrate(self, i: int, core: int) -> int:
        """move_queued_task: a queued thread leaves its core's tree and joins `core`'s with
        its virtual runtime carried over relative to each queue's min_vruntime (Linux makes
        it relative on the way out and adds the new queue's on the way in), not placed as a
        wake-up is; a waiting one only changes core."""
        load, st = self.mem.load, self.mem.store
        if not (self.valid(i) and isinstance(core, int | np.integer) and 0 <= core < self.cores):
            return super().migrate(i, core)  # its error
        if load(self.tcb, i, "state") not in (RUNNABLE, RUNNING):
            return super().migrate(i, core)
        src = load(self.tcb, i, "core")
        self._dequeue(i)
        lag = load(self.se, i, "vruntime") - load(self.rq, src, "min_vruntime")
        st(self.tcb, i, "core", core)
        self._update_curr(core)
        self.work += BUDGETS["cfs.migrate"] + BUDGETS["cfs.enqueue"]
        vr = max(lag + load(self.rq, core, "min_vruntime"), 0)
        self._join(core, i, vr, load(self.rq, core, "nr_running"))
        return 0

    def move_blocked(self, i: int, core: int) -> None:
        """A blocked thread placed on `core` for its wake-up (set_task_cpu from
        try_to_wake_up): its virtual runtime made relative to its old queue's min_vruntime
        and based on the new one's (migrate_task_rq_fair), `cfs.migrate`'s work."""
        load, st = self.mem.load, self.mem.store
        src = load(self.tcb, i, "core")
        lag = load(self.se, i, "vruntime") - load(self.rq, src, "min_vruntime")
        st(self.se, i, "vruntime", max(lag + load(self.rq, core, "min_vruntime"), 0))
        st(self.tcb, i, "core", core)
        self.work += BUDGETS["cfs.migrate"]

    def has_work(self, core: int) -> bool:
        return int(self.runq["current"][core]) >= 0 or int(self.rq["nr_running"][core]) > 0

    def waiting(self, core: int) -> list[int]:
        """The threads in `core`'s tree, leftmost (next to run) first (untimed)."""
        return self.in_order(core)

    def preempted(self, core: int) -> bool:
        """A wake-up there asked for a reschedule (check_preempt_wakeup's resched flag)."""
        return int(self.runq["current"][core]) >= 0 and bool(self.rq["resched"][core])

    def pick(self, core: int) -> int:
        """The thread that should run: the running one unless a reschedule is due; then the
        leftmost or the running one, whichever has run less (a yielding one is skipped)."""
        if not (isinstance(core, int | np.integer) and 0 <= core < self.cores):
            return super().pick(core)  # its error
        load = self.mem.load
        cur = load(self.rq, core, "curr")
        alive = cur >= 0 and load(self.tcb, cur, "state") == RUNNING
        if alive and not load(self.rq, core, "resched"):
            return cur
        left = load(self.rq, core, "leftmost")
        if left < 0 or not alive:
            return left if left >= 0 else (cur if alive else -1)
        if load(self.rq, core, "skip") == cur:
            return left
        return left if load(self.se, left, "vruntime") < load(self.se, cur, "vruntime") else cur

    def tick(self, core: int) -> int:
        """scheduler_tick -> task_tick_fair: account; preempt a thread that used its slice."""
        if not (isinstance(core, int | np.integer) and 0 <= core < self.cores):
            return super().tick(core)
        load = self.mem.load
        self._update_curr(core)  # (its work is in the tick's budget)
        cur = load(self.rq, core, "curr")
        if cur >= 0 and load(self.tcb, cur, "state") == RUNNING:
            nr = load(self.rq, core, "nr_running")
            ran = load(self.se, cur, "sum_exec") - load(self.se, cur, "prev_sum_exec")
            ideal = sched_slice(nr)
            left = load(self.rq, core, "leftmost")
            behind = left >= 0 and (
                load(self.se, cur, "vruntime") - load(self.se, left, "vruntime") > ideal
            )
            if ran > ideal or (ran >= MIN_GRANULARITY_NS and behind):
                self.mem.store(self.rq, core, "resched", 1)
        return self.pick(core)

    def yield_(self, core: int) -> int:
        """yield_task_fair: account, and let the next pick skip the running thread."""
        if not (isinstance(core, int | np.integer) and 0 <= core < self.cores):
            return super().yield_(core)
        cur = self.mem.load(self.rq, core, "curr")
        if cur >= 0 and self.mem.load(self.tcb, cur, "state") == RUNNING:
            self._update_curr(core)
            self.work += BUDGETS["cfs.yield"]
            self.mem.store(self.rq, core, "skip", cur)
            self.mem.store(self.rq, core, "resched", 1)
        return self.pick(core)

    def context_switch(self, core: int, from_tcb: int, to_tcb: int, regs_out):
        """Threads' switch, with put_prev_entity (the previous thread back in the tree if it
        is still runnable) and set_next_entity (the next one out of it, its slice begun)."""
        was_running = (
            from_tcb >= 0
            and self.valid(from_tcb)
            and self.mem.load(self.tcb, from_tcb, "state") == RUNNING
        )
        regs = super().context_switch(core, from_tcb, to_tcb, regs_out)
        load, st = self.mem.load, self.mem.store
        if isinstance(regs, int) or from_tcb == to_tcb:
            if not isinstance(regs, int):
                # kept running; a thread that blocked and was woken at once (its call
                # interrupted by a signal) went back into the tree meanwhile: it leaves it
                # again, as set_next_entity takes it out
                if to_tcb >= 0 and load(self.rq, core, "curr") != to_tcb:
                    if load(self.se, to_tcb, "on_rq"):
                        self._erase(core, to_tcb)
                    st(self.se, to_tcb, "exec_start", self.clock_ns())
                    st(self.rq, core, "curr", to_tcb)
                st(self.rq, core, "resched", 0)
            return regs
        self.work += BUDGETS["cfs.pick"]
        if (  # put back in this core's tree (not if it moved to another core's: migrate)
            was_running
            and load(self.tcb, from_tcb, "state") == RUNNABLE
            and (self.cores == 1 or load(self.tcb, from_tcb, "core") == core)
        ):
            self._update_curr(core)
            self._insert(core, from_tcb)
        st(self.rq, core, "curr", NIL)
        if to_tcb >= 0:
            if load(self.se, to_tcb, "on_rq"):
                self._erase(core, to_tcb)
            st(self.se, to_tcb, "exec_start", self.clock_ns())
            st(self.se, to_tcb, "prev_sum_exec", load(self.se, to_tcb, "sum_exec"))
            st(self.rq, core, "curr", to_tcb)
        st(self.rq, core, "resched", 0)
        st(self.rq, core, "skip", NIL)
        return regs

    def dispatch(self, core: int, regs_out):
        to, regs = super().dispatch(core, regs_out)
        if to >= 0 and to == self.mem.load(self.rq, core, "curr"):  # kept running: the
            self.mem.store(self.rq, core, "resched", 0)  # reschedule is done with
        return to, regs

    # ---- accounting ----------------------------------------------------------------------
    def _update_curr(self, core: int) -> None:
        load, st = self.mem.load, self.mem.store
        cur = load(self.rq, core, "curr")
        if cur < 0:  # (its work is in its callers' budgets)
            return
        now = int(self.clock_ns())
        delta = now - load(self.se, cur, "exec_start")
        if delta <= 0:
            return
        st(self.se, cur, "exec_start", now)
        st(self.se, cur, "sum_exec", load(self.se, cur, "sum_exec") + delta)
        weight = load(self.se, cur, "weight")
        vr = load(self.se, cur, "vruntime") + delta * NICE_0_WEIGHT // weight
        st(self.se, cur, "vruntime", vr)
        left = load(self.rq, core, "leftmost")
        lowest = min(vr, load(self.se, left, "vruntime")) if left >= 0 else vr
        floor = load(self.rq, core, "min_vruntime")
        if lowest > floor:
            st(self.rq, core, "min_vruntime", lowest)

    # ---- the red-black tree (by vruntime; timed loads and stores of the links) ------------
    def _key(self, i: int) -> int:
        return self.mem.load(self.se, i, "vruntime")

    def _get(self, i: int, f: str) -> int:
        return self.mem.load(self.se, i, f)

    def _set(self, i: int, f: str, v: int) -> None:
        self.mem.store(self.se, i, f, v)

    def _color(self, i: int) -> int:
        return BLACK if i == NIL else self._get(i, "color")

    def _insert(self, core: int, i: int) -> None:
        key = self._key(i)
        parent, node, leftmost = NIL, self.mem.load(self.rq, core, "root"), True
        side = "left"
        while node != NIL:
            parent = node
            if key < self._key(node):
                node, side = self._get(node, "left"), "left"
            else:
                node, side, leftmost = self._get(node, "right"), "right", False
        self._set(i, "parent", parent)
        self._set(i, "left", NIL)
        self._set(i, "right", NIL)
        self._set(i, "color", RED)
        if parent == NIL:
            self.mem.store(self.rq, core, "root", i)
        else:
            self._set(parent, side, i)
        if leftmost:
            self.mem.store(self.rq, core, "leftmost", i)
        self._insert_fixup(core, i)

    def _rotate_dir(self, core: int, x: int, d: str) -> None:
        """Rotate at x towards `d` ("left": x's right child takes its place)."""
        o = "right" if d == "left" else "left"
        y = self._get(x, o)
        inner = self._get(y, d)
        self._set(x, o, inner)
        if inner != NIL:
            self._set(inner, "parent", x)
        xp = self._get(x, "parent")
        self._set(y, "parent", xp)
        if xp == NIL:
            self.mem.store(self.rq, core, "root", y)
        elif self._get(xp, "left") == x:
            self._set(xp, "left", y)
        else:
            self._set(xp, "right", y)
        self._set(y, d, x)
        self._set(x, "parent", y)

    def _insert_fixup(self, core: int, z: int) -> None:
        while True:
            p = self._get(z, "parent")
            if p == NIL or self._color(p) == BLACK:
                break
            g = self._get(p, "parent")
            side = "left" if self._get(g, "left") == p else "right"
            other = "right" if side == "left" else "left"
            uncle = self._get(g, other)
            if self._color(uncle) == RED:
                self._set(p, "color", BLACK)
                self._set(uncle, "color", BLACK)
                self._set(g, "color", RED)
                z = g
                continue
            if self._get(p, other) == z:
                z = p
                self._rotate_dir(core, z, side)
                p = self._get(z, "parent")
            self._set(p, "color", BLACK)
            self._set(g, "color", RED)
            self._rotate_dir(core, g, other)
        root = self.mem.load(self.rq, core, "root")
        if self._color(root) != BLACK:
            self._set(root, "color", BLACK)

    def _erase(self, core: int, z: int) -> None:
        if self.mem.load(self.rq, core, "leftmost") == z:
            self.mem.store(self.rq, core, "leftmost", self._successor(z))
        left, right = self._get(z, "left"), self._get(z, "right")
        if left == NIL or right == NIL:
            y = z
        else:
            y = right
            while (nxt := self._get(y, "left")) != NIL:
                y = nxt
        y_color = self._color(y)
        x = self._get(y, "left") if self._get(y, "left") != NIL else self._get(y, "right")
        xp = self._get(y, "parent")
        self._replace(core, y, x, xp)
        if y != z:  # y takes z's place, links and color
            if xp == z:
                xp = y
            zl, zr, zp = self._get(z, "left"), self._get(z, "right"), self._get(z, "parent")
            self._set(y, "left", zl)
            if zl != NIL:
                self._set(zl, "parent", y)
            self._set(y, "right", zr)
            if zr != NIL:
                self._set(zr, "parent", y)
            self._replace(core, z, y, zp)
            self._set(y, "color", self._color(z))
        if y_color == BLACK:
            self._erase_fixup(core, x, xp)
        for f in ("left", "right", "parent"):
            self._set(z, f, NIL)

    def _replace(self, core: int, old: int, new: int, parent: int) -> None:
        """Put `new` (maybe NIL) where `old` hangs under `parent`."""
        if new != NIL:
            self._set(new, "parent", parent)
        if parent == NIL:
            self.mem.store(self.rq, core, "root", new)
        elif self._get(parent, "left") == old:
            self._set(parent, "left", new)
        else:
            self._set(parent, "right", new)

    def _erase_fixup(self, core: int, x: int, xp: int) -> None:
        while x != self.mem.load(self.rq, core, "root") and self._color(x) == BLACK:
            side = "left" if self._get(xp, "left") == x else "right"
            other = "right" if side == "left" else "left"
            w = self._get(xp, other)
            if self._color(w) == RED:
                self._set(w, "color", BLACK)
                self._set(xp, "color", RED)
                self._rotate_dir(core, xp, side)
                w = self._get(xp, other)
            if self._color(self._get(w, "left")) == BLACK and (
                self._color(self._get(w, "right")) == BLACK
            ):
                self._set(w, "color", RED)
                x, xp = xp, self._get(xp, "parent")
                continue
            if self._color(self._get(w, other)) == BLACK:
                self._set(self._get(w, side), "color", BLACK)
                self._set(w, "color", RED)
                self._rotate_dir(core, w, other)
                w = self._get(xp, other)
            self._set(w, "color", self._color(xp))
            self._set(xp, "color", BLACK)
            far = self._get(w, other)
            if far != NIL:
                self._set(far, "color", BLACK)
            self._rotate_dir(core, xp, side)
            x = self.mem.load(self.rq, core, "root")
            xp = NIL
        if x != NIL:
            self._set(x, "color", BLACK)

    def _successor(self, i: int) -> int:
        right = self._get(i, "right")
        if right != NIL:
            while (nxt := self._get(right, "left")) != NIL:
                right = nxt
            return right
        child, parent = i, self._get(i, "parent")
        while parent != NIL and self._get(parent, "right") == child:
            child, parent = parent, self._get(parent, "parent")
        return parent

    # ---- inspection (tests) --------------------------------------------------------------
    def in_order(self, core: int = 0) -> list[int]:
        """The waiting threads, leftmost first (untimed: reads the arrays)."""
        out, stack, node = [], [], int(self.rq["root"][core])
        while stack or node != NIL:
            while node != NIL:
                stack.append(node)
                node = int(self.se["left"][node])
            node = stack.pop()
            out.append(node)
            node = int(self.se["right"][node])
        return out


def sched_slice(nr_running: int) -> int:
    """sched_slice of a nice-0 thread among `nr_running`: the latency period shared equally
    (__sched_period: longer than the latency once there are more than NR_LATENCY)."""
    nr = max(nr_running, 1)
    period = LATENCY_NS if nr <= NR_LATENCY else nr * MIN_GRANULARITY_NS
    return period // nr

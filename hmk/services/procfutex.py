"""The process manager's futexes: futex (WAIT, WAKE and their bitset forms) and futex_waitv.

A futex is a wait list named by a key, as Linux's get_futex_key makes it: a private futex
(FUTEX_PRIVATE_FLAG), or any futex in private memory, is named by the address space and the
address, so only threads sharing the memory meet there; a futex in a shared mapping (a shared
file or MAP_SHARED | MAP_ANONYMOUS memory, which fork passes on) is named by the object mapped
and the offset in it, so processes that map it, at any address, wait and wake each other.
(Linux also names a futex in a private file mapping whose page is still the file's by the file;
here such a futex is private to its address space.)

A waiter blocks on its key's list and its call runs again when it wakes (-ERESTARTSYS): a
FUTEX_WAKE that took it off the list makes that run return 0 (futex_waitv: the index of the
futex that woke it) whatever the word holds now, as Linux's futex_wait returns once it has been
unqueued; otherwise its timeout or a signal ended the wait.
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    EAGAIN,
    EFAULT,
    EINVAL,
    ENOSYS,
    ERESTARTSYS,
    ETIMEDOUT,
    FUTEX_32,
    FUTEX_CLOCK_REALTIME,
    FUTEX_PRIVATE_FLAG,
    FUTEX_WAIT,
    FUTEX_WAIT_BITSET,
    FUTEX_WAITV_MAX,
    FUTEX_WAKE,
    FUTEX_WAKE_BITSET,
    PROT_WRITE,
)
from hmk.linux.clock import BOOT_TIME_NS, read_timespec

MASK32 = 0xFFFFFFFF
WAITV_BYTES = 24  # struct futex_waitv: u64 val, u64 uaddr, u32 flags, u32 __reserved


# futex's commands (include/uapi/linux/futex.h): those with a timeout, and every one Linux has
# (REQUEUE, CMP_REQUEUE, WAKE_OP and the PI ones: not modelled, ENOSYS here)
TIMED = (0, 6, 9, 11, 13)  # WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2
KNOWN = (0, 1, 9, 10)  # WAIT, WAKE, WAIT_BITSET, WAKE_BITSET


class FutexCalls:
    """Handlers mixed into the process manager (hmk.services.procmgr.ProcMgr); its __init__
    calls `_futex_init`."""

    def _futex_init(self) -> None:
        self._futexes: dict[tuple, list[int]] = {}  # key -> the threads waiting on it
        # tcb -> the keys it waits on and the list the kernel blocked it on (the first key's)
        self._futex_waits: dict[int, tuple[list, list]] = {}
        self._futex_woken: dict[int, tuple] = {}  # tcb -> the key a FUTEX_WAKE woke it from

    def sys_futex(self, call, uaddr, op, val, utime, _uaddr2, val3, *_):
        """Linux's order: the timeout of a call that has one, copied in and checked; the
        command (every bit but FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME is part of it: an
        unknown one is ENOSYS); an empty bitset (EINVAL)."""
        op &= MASK32
        cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
        if utime and cmd in TIMED and not call.resumed:
            ns = read_timespec(call.space, utime)
            if ns is None or ns < 0:
                return -EFAULT if ns is None else -EINVAL
        if cmd not in KNOWN:
            return -ENOSYS
        if cmd in (FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET) and not val3 & MASK32:
            return -EINVAL  # an empty bitset matches nobody
        return self.futex(call.task, uaddr, op, val, utime, call.resumed)

    def futex(
        self, task, uaddr: int, op: int, val: int, utime: int = 0, resumed: bool = False
    ) -> int:
        """FUTEX_WAIT (a relative timeout) and FUTEX_WAIT_BITSET (an absolute one, on the
        monotonic clock or with FUTEX_CLOCK_REALTIME the wall clock): 0 when woken,
        -ETIMEDOUT when the time passes; FUTEX_WAKE(_BITSET). Bitsets are accepted but every
        waiter matches."""
        cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
        if op & FUTEX_CLOCK_REALTIME and cmd != FUTEX_WAIT_BITSET:
            return -ENOSYS
        if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
            key = self._futex_key(task, uaddr, op & FUTEX_PRIVATE_FLAG)
            return key if isinstance(key, int) else self.futex_wake_key(key, val)
        if cmd not in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
            return -ENOSYS
        self.work(futex_wait=int(not resumed))  # its return after the wake-up included
        woken = self._futex_rejoin(resumed)
        if woken is not None:
            return 0
        key = self._futex_key(task, uaddr, op & FUTEX_PRIVATE_FLAG)
        if isinstance(key, int):
            return key
        space = self.space_of(task)
        raw = space.read(uaddr, 4)
        if raw is None:
            return -EFAULT
        if struct.unpack("<I", raw)[0] != val & MASK32:
            return -EAGAIN
        deadline = None
        if utime:
            ns = read_timespec(space, utime)
            if ns is None or ns < 0:
                return -EFAULT if ns is None else -EINVAL
            absolute = cmd == FUTEX_WAIT_BITSET
            if absolute and op & FUTEX_CLOCK_REALTIME:
                ns -= BOOT_TIME_NS  # a wall-clock time: as a time since boot
            deadline = self.k.wait_deadline(ns, absolute)
        return self._futex_block([key], deadline)

    def sys_futex_waitv(self, call, waiters, count, flags, timeout, clockid, *_):
        """Wait on up to 128 futexes at once (struct futex_waitv each: the value expected, the
        address, FUTEX_32 and perhaps FUTEX_PRIVATE_FLAG): -EAGAIN when a word differs, the
        index of the futex a wake came from, -ETIMEDOUT at `timeout` (an absolute time on
        CLOCK_MONOTONIC or CLOCK_REALTIME; 0: none)."""
        task, space = call.task, call.space
        self.work(futex_wait=int(not call.resumed))
        woken = self._futex_rejoin(call.resumed)
        if flags or not 0 < count <= FUTEX_WAITV_MAX or not waiters:
            return -EINVAL
        deadline = None
        if timeout:
            if clockid not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
                return -EINVAL
            ns = read_timespec(space, timeout)
            if ns is None or ns < 0:
                return -EFAULT if ns is None else -EINVAL
            if clockid == CLOCK_REALTIME:
                ns -= BOOT_TIME_NS
            deadline = self.k.wait_deadline(ns, absolute=True)
        raw = space.read(waiters, count * WAITV_BYTES)
        if raw is None:
            return -EFAULT
        entries = [struct.unpack_from("<QQII", raw, i * WAITV_BYTES) for i in range(count)]
        for _, _, f, reserved in entries:
            if f & ~(FUTEX_32 | FUTEX_PRIVATE_FLAG) or reserved or not f & FUTEX_32:
                return -EINVAL
        keys = []
        for _, uaddr, f, _ in entries:
            key = self._futex_key(task, uaddr, f & FUTEX_PRIVATE_FLAG)
            if isinstance(key, int):
                return key
            keys.append(key)
        if woken is not None:
            return keys.index(woken)
        self.work(futex=len(keys) - 1)  # each further key hashed and its bucket locked
        for val, uaddr, _, _ in entries:
            word = space.read(uaddr, 4)
            if word is None:
                return -EFAULT
            if struct.unpack("<I", word)[0] != val & MASK32:
                return -EAGAIN
        return self._futex_block(keys, deadline)

    def futex_wake(self, task, uaddr: int, count: int) -> int:
        """Wake up to `count` threads waiting on the futex at `uaddr` of `task`'s memory (a
        shared futex's key, as Linux's CLEARTID wake at a thread's exit)."""
        key = self._futex_key(task, uaddr, 0)
        return 0 if isinstance(key, int) else self.futex_wake_key(key, count)

    def futex_wake_key(self, key: tuple, count: int) -> int:
        """Wake up to `count` of the threads waiting on `key`, first come first woken: each
        leaves every list it waits on (futex_waitv's others too)."""
        queue = self._futexes.get(key, [])
        woken = []
        for tcb in list(queue):
            if len(woken) >= count:
                break
            keys, waits = self._futex_waits.get(tcb, ((), None))
            if waits is None or not self.k.waits_on(tcb, waits):
                queue.remove(tcb)  # its wait ended another way (a timeout, a signal, its exit)
                continue
            del self._futex_waits[tcb]
            for other in keys:
                waiting = self._futexes.get(other, ())
                if tcb in waiting:
                    waiting.remove(tcb)
            self._futex_woken[tcb] = key
            woken.append(tcb)
        if not queue:
            self._futexes.pop(key, None)
        self.work(futex=1, futex_woken=len(woken))
        for tcb in woken:
            self.k.wake(tcb)
        return len(woken)

    # ---- keys and waits --------------------------------------------------------------------
    def _futex_key(self, task, uaddr: int, private: int) -> tuple | int:
        """The futex at `uaddr` of `task`'s memory, named as get_futex_key names it; -EINVAL
        for a misaligned word, -EFAULT for a shared futex where nothing is mapped or in
        read-only anonymous memory ("a RO anonymous page will never change")."""
        if uaddr % 4:
            return -EINVAL
        if not private:
            vma = self.space_of(task).find(uaddr)
            if vma is None:
                return -EFAULT
            if vma.anonymous and not vma.shared and not vma.prot & PROT_WRITE:
                return -EFAULT
            if vma.shared and vma.file is not None:
                node, offset = vma.file
                return (node, offset + uaddr - vma.start)
        return (task.proc.vspace, uaddr)

    def _futex_rejoin(self, resumed: bool) -> tuple | None:
        """The running thread's futex call runs (again): it leaves the lists it waited on (a
        timeout or a signal ended that wait); the key a wake took it off, if one did."""
        tcb = self.k.running
        woken = self._futex_woken.pop(tcb, None)
        keys, _ = self._futex_waits.pop(tcb, ((), None))
        for key in keys:
            queue = self._futexes.get(key, ())
            if tcb in queue:
                queue.remove(tcb)
                if not queue:
                    del self._futexes[key]
        return woken if resumed else None

    def _futex_block(self, keys: list[tuple], deadline: int | None) -> int:
        """Wait on `keys` until a wake, a signal or `deadline` (None: no timeout)."""
        k = self.k
        tcb = k.running
        queue = self._futexes.setdefault(keys[0], [])
        if deadline is None:
            k.block_current(queue)
        elif not k.sleep_until(deadline, queue):
            return -ETIMEDOUT
        for key in keys[1:]:
            self._futexes.setdefault(key, []).append(tcb)
        self._futex_waits[tcb] = (keys, queue)
        return -ERESTARTSYS

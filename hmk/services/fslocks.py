"""fsmgr's file locks: flock(2)'s whole-file locks and fcntl(2)'s record locks, as Linux's
fs/locks.c keeps them, and the work each is charged (hmk.services.fsmgr's `costs`).

A node's locks are its `FileLocks`, made with its first lock:

- flock locks (LOCK_SH, LOCK_EX) belong to an open file description: descriptors dup'ed or
  inherited share them, they conflict with another description's (one exclusive, or any with
  an exclusive one), and they go when the description's last descriptor does. A lock changed
  from shared to exclusive or back is dropped first (Linux's flock never deadlocks: a
  conversion that must wait has already let go);
- record locks are byte ranges [start, end] (end OFFSET_MAX: to the end of any file), read or
  write, owned by a process (POSIX locks: its file table, which its threads share; released
  when the process closes any descriptor of the file, and so at exit and exec's close-on-exec)
  or by an open file description (OFD locks, F_OFD_*: released with the description). An
  owner's new lock replaces what it held in the range (split, or merged with its neighbours of
  the same kind); another owner's overlapping lock conflicts unless both are read locks. POSIX
  and OFD locks conflict with each other, flock locks with neither.

A lease (F_SETLEASE, F_GETLEASE) belongs to an open file description of a regular file: a
read lease while no one has the file open for writing, a write lease while the description is
its only opener. Leases are granted, reported and released as Linux's are, but never broken:
an open that would break one (Linux: the holder gets SIGIO, the opener waits up to
lease-break-time or, with O_NONBLOCK, fails with EWOULDBLOCK) goes on at once.

A request that conflicts fails with EAGAIN (LOCK_NB, F_SETLK) or waits (flock, F_SETLKW): the
thread waits on the node's `waiters` and its call runs again when any lock of the file goes,
as Linux's waiters are woken by the locks they wait on. A POSIX F_SETLKW that would wait for a
process waiting on the caller (directly or through others) is EDEADLK, as posix_locks_deadlock
finds it; OFD locks are not checked, as in Linux.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hmk.linux.abi import (
    EACCES,
    EAGAIN,
    EBADF,
    EDEADLK,
    EFAULT,
    EINVAL,
    EOVERFLOW,
    ERESTARTSYS,
    F_GETLK,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_RDLCK,
    F_SETLK,
    F_SETLKW,
    F_UNLCK,
    F_WRLCK,
    LOCK_EX,
    LOCK_MAND,
    LOCK_NB,
    LOCK_SH,
    LOCK_UN,
    O_ACCMODE,
    O_RDONLY,
)
from hmk.services.fsnames import _int
from hmk.services.vfs import File

OFFSET_MAX = (1 << 63) - 1
FLOCK = struct.Struct("<hh4xqqi4x")  # struct flock: l_type, l_whence, l_start, l_len, l_pid
LOCK_COMMANDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
MAX_DEADLOCK_HOPS = 10  # posix_locks_deadlock's MAX_DEADLK_ITERATIONS
F_SETLEASE, F_GETLEASE = 1024, 1025  # F_LINUX_SPECIFIC_BASE + 0, + 1
LEASE_COMMANDS = (F_SETLEASE, F_GETLEASE)


@dataclass
class Lock:
    owner: object  # an OpenFile (flock, OFD) or a FileTable (POSIX)
    kind: int  # F_RDLCK or F_WRLCK
    start: int = 0
    end: int = OFFSET_MAX
    pid: int = 0  # the locking process, as F_GETLK reports it (-1 for an OFD lock)

    def conflicts(self, other: Lock) -> bool:
        return (
            self.owner is not other.owner
            and F_WRLCK in (self.kind, other.kind)
            and self.start <= other.end
            and other.start <= self.end
        )


class FileLocks:
    """A node's locks (Linux's file_lock_context) and the threads waiting for one to go."""

    def __init__(self):
        self.flocks: list[Lock] = []
        self.records: list[Lock] = []
        self.waiters: list[int] = []


class Locks:
    """The lock calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    # ---- flock ---------------------------------------------------------------------------
    def sys_flock(self, call, fd, cmd, *_):
        cmd &= 0xFFFFFFFF
        if cmd & LOCK_MAND:  # ignored since Linux 5.15, with a warning: success
            return 0
        kind = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}.get(cmd & ~LOCK_NB)
        if kind is None:
            return -EINVAL
        with self.working(fdget=int(not call.resumed)) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            ops.update(lock=1)
            locks = _locks_of(f.node)
            mine = next((lk for lk in locks.flocks if lk.owner is f), None)
            if mine is not None and mine.kind == kind:
                return 0
            if mine is not None:  # a conversion drops the old lock first
                locks.flocks.remove(mine)
                self._locks_changed(locks, ops)
            if kind == F_UNLCK:
                return 0
            want = Lock(f, kind, pid=call.task.pid)
            if any(want.conflicts(lk) for lk in locks.flocks):
                if cmd & LOCK_NB:
                    return -EAGAIN
                return self._lock_wait(locks, ops)
            locks.flocks.append(want)
            return 0

    # ---- fcntl's record locks ------------------------------------------------------------
    def fcntl_lock(self, call, f, cmd: int, arg: int, ops) -> int:
        """F_GETLK, F_SETLK, F_SETLKW and their OFD forms on the open file `f` (the struct
        flock at `arg`), for sys_fcntl."""
        self.lock_call_over(self.k.running)  # a wait it was in, if it is going on, is over
        raw = call.space.read(arg, FLOCK.size)
        if raw is None:
            return -EFAULT
        kind, whence, start, length, pid = FLOCK.unpack(raw)
        ops.update(lock=1)
        getting = cmd in (F_GETLK, F_OFD_GETLK)
        if getting and kind not in (F_RDLCK, F_WRLCK):
            return -EINVAL
        lock = self._range(f, whence, start, length)
        if isinstance(lock, int):
            return lock
        if kind not in (F_RDLCK, F_WRLCK, F_UNLCK):
            return -EINVAL
        ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
        if not getting and (
            kind == F_RDLCK and not f.readable or kind == F_WRLCK and not f.writable
        ):
            return -EBADF
        if ofd and pid != 0:
            return -EINVAL
        owner = f if ofd else self.table(call)
        lock = Lock(owner, kind, *lock, pid=-1 if ofd else call.task.pid)
        locks = _locks_of(f.node)
        if getting:
            held = next((lk for lk in locks.records if lock.conflicts(lk)), None)
            if held is None:
                out = struct.pack("<h", F_UNLCK) + raw[2:]
            else:
                size = 0 if held.end == OFFSET_MAX else held.end - held.start + 1
                out = FLOCK.pack(held.kind, 0, held.start, size, held.pid)
            return -EFAULT if not call.space.write(arg, out) else 0
        if kind != F_UNLCK:
            held = next((lk for lk in locks.records if lock.conflicts(lk)), None)
            if held is not None:
                if cmd in (F_SETLK, F_OFD_SETLK):
                    return -EAGAIN
                if not ofd and self._deadlocks(owner, held):
                    return -EDEADLK
                self.lock_waits[self.k.running] = (owner, held)
                return self._lock_wait(locks, ops)
        self._place(locks, lock, ops)
        return 0

    def _range(self, f, whence: int, start: int, length: int):
        """(start, end) of a struct flock's range on the open file `f`, or -errno."""
        base = {0: 0, 1: f.pos, 2: f.node.size}.get(whence)
        if base is None:
            return -EINVAL
        if start > OFFSET_MAX - base:
            return -EOVERFLOW
        start += base
        if start < 0:
            return -EINVAL
        if length > 0:
            if length - 1 > OFFSET_MAX - start:
                return -EOVERFLOW
            return start, start + length - 1
        if length < 0:
            if start + length < 0:
                return -EINVAL
            return start + length, start - 1
        return start, OFFSET_MAX

    def _place(self, locks: FileLocks, new: Lock, ops) -> None:
        """The owner's locks in new's range become `new` (F_UNLCK: nothing): the ones it
        overlaps are cut around it, or, of the same kind, merged with it, as are its
        neighbours of the same kind (posix_lock_inode)."""
        kept, changed = [], False
        for lk in locks.records:
            if lk.owner is not new.owner:
                kept.append(lk)
            elif (
                lk.kind == new.kind
                and new.kind != F_UNLCK
                and (lk.start <= new.end + 1 and new.start <= lk.end + 1)
            ):
                new.start, new.end = min(new.start, lk.start), max(new.end, lk.end)
            elif lk.start <= new.end and new.start <= lk.end:
                changed = True
                if lk.start < new.start:
                    kept.append(Lock(lk.owner, lk.kind, lk.start, new.start - 1, lk.pid))
                if lk.end > new.end:
                    kept.append(Lock(lk.owner, lk.kind, new.end + 1, lk.end, lk.pid))
            else:
                kept.append(lk)
        if new.kind != F_UNLCK:
            kept.append(new)
        locks.records = kept
        if changed or new.kind == F_UNLCK:
            self._locks_changed(locks, ops)

    def _deadlocks(self, owner, held: Lock) -> bool:
        """Would `owner` waiting for `held` close a cycle: is `held`'s owner waiting (through
        other owners' waits) for a lock of `owner`? (posix_locks_deadlock)"""
        waiting = {who: lk for who, lk in self.lock_waits.values()}
        for _ in range(MAX_DEADLOCK_HOPS):
            if held.owner is owner:
                return True
            held = waiting.get(held.owner)
            if held is None:
                return False
        return False

    def _lock_wait(self, locks: FileLocks, ops) -> int:
        """The caller waits for a lock of the file to go (its call runs again then)."""
        self.k.block_current(locks.waiters)
        ops.update(lock_wait=1)
        return -ERESTARTSYS

    def _locks_changed(self, locks: FileLocks, ops) -> None:
        """A lock went or shrank: the threads waiting on the file look again."""
        if locks.waiters:
            self.k.wake_all(locks.waiters)
            ops.update(lock_wake=1)

    def lock_call_over(self, tcb: int) -> None:
        """The thread's F_SETLKW is no longer waiting (it runs again, or a signal ended it)."""
        self.lock_waits.pop(tcb, None)

    # ---- leases --------------------------------------------------------------------------
    def fcntl_lease(self, call, f, cmd: int, arg: int) -> int:
        """F_GETLEASE: this description's lease (F_UNLCK: none). F_SETLEASE in Linux's order
        (fcntl_setlease, vfs_setlease, generic_setlease): the type, the caller's right (the
        file's owner, or CAP_LEASE), a regular file, then F_UNLCK of no lease and a lease
        that others' opens conflict with are EAGAIN (check_conflicting_open)."""
        if cmd == F_GETLEASE:
            return f.lease
        kind, task, node = _int(arg), call.task, f.node
        if kind not in (F_RDLCK, F_WRLCK, F_UNLCK):
            return -EINVAL
        fsuid = task.fsids[0] if task.fsids[0] is not None else task.uids[1]
        if fsuid != node.uid and task.uids[1] != 0:
            return -EACCES
        if not isinstance(node, File):
            return -EINVAL
        if kind == F_UNLCK:
            if f.lease == F_UNLCK:
                return -EAGAIN
        else:
            opens = {id(o): o for t in self.tables.values() for o, _ in t.fds.values() if o}
            modes = [o.flags & O_ACCMODE for o in opens.values() if o.node is node]
            writers = sum(m != O_RDONLY for m in modes)
            mine_writes = f.flags & O_ACCMODE != O_RDONLY
            if kind == F_RDLCK and writers:
                return -EAGAIN
            readers = sum(m == O_RDONLY for m in modes)  # (i_readcount: read-only opens)
            if kind == F_WRLCK and (writers, readers) != (int(mine_writes), int(not mine_writes)):
                return -EAGAIN
        f.lease = kind
        return 0

    # ---- releases ------------------------------------------------------------------------
    def record_locks_closed(self, table, f) -> None:
        """The process owning `table` closed a descriptor of `f`'s file: its POSIX locks on
        the file go (locks_remove_posix), whichever descriptor set them."""
        locks = f.node.locks
        if locks is None or not any(lk.owner is table for lk in locks.records):
            return
        with self.working(lock=1) as ops:
            locks.records = [lk for lk in locks.records if lk.owner is not table]
            self._locks_changed(locks, ops)

    def locks_released(self, f) -> None:
        """The open file description `f` is released: its flock and OFD locks go
        (locks_remove_file)."""
        locks = f.node.locks
        if locks is None:
            return
        gone = [lk for lk in locks.flocks + locks.records if lk.owner is f]
        if not gone:
            return
        with self.working(lock=1) as ops:
            locks.flocks = [lk for lk in locks.flocks if lk.owner is not f]
            locks.records = [lk for lk in locks.records if lk.owner is not f]
            self._locks_changed(locks, ops)


def _locks_of(node) -> FileLocks:
    if node.locks is None:
        node.locks = FileLocks()
    return node.locks

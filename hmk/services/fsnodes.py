"""fsmgr's special files: mknodat's nodes (named pipes, device and socket nodes, empty regular
files), the opens of a named pipe (FIFO), and a pipe's size (fcntl's F_SETPIPE_SZ and
F_GETPIPE_SZ), with the work each is charged (hmk.services.fsmgr's `costs`).

A named pipe is a `vfs.Pipe` in a directory: its ends are opened by path and the bytes go
through the same pipe paths as pipe2's (hmk.services.fsio). As Linux's fifo_open: an open for
reading waits until a writer has opened (at any time since: the other end's open count moves)
and an open for writing until a reader has, unless O_NONBLOCK: then a read-only open succeeds
at once and a write-only one with no reader is ENXIO; an open for both never waits. A waiting
open counts as an end already (a writer's open sees the reader waiting in its own), so a
signal that ends the wait takes it back (`fifo_open_over`). When the last end closes, the
pipe's bytes, pages and size go with it, as Linux frees the pipe's buffer.

A device node (S_IFCHR, S_IFBLK) has no driver behind its number and a socket node no socket,
so opening one is ENXIO; hmk's own devices are devfs's (/dev).
"""

from __future__ import annotations

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    EBADF,
    EBUSY,
    EINVAL,
    ENXIO,
    EPERM,
    ERESTARTSYS,
    F_GETPIPE_SZ,
    F_SETPIPE_SZ,
    IN_OPEN,
    O_ACCMODE,
    O_CLOEXEC,
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    PIPE_MAX_SIZE,
    S_IFBLK,
    S_IFCHR,
    S_IFDIR,
    S_IFIFO,
    S_IFMT,
    S_IFREG,
    S_IFSOCK,
)
from hmk.services.copies import ring_spans
from hmk.services.vfs import File, Pipe, Special

ENDS = {O_RDONLY: "r", O_WRONLY: "w", O_RDWR: "rw"}


class SpecialFiles:
    """mknodat, FIFO opens and pipe sizes, mixed into the file manager
    (hmk.services.fsmgr.FsMgr)."""

    # ---- mknodat -------------------------------------------------------------------------
    def sys_mknodat(self, call, dirfd, path_ptr, mode, dev, *_):
        kind = mode & S_IFMT
        if kind == S_IFDIR:
            return -EPERM
        if kind not in (0, S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK):
            return -EINVAL
        new = self._new_name(call, dirfd, path_ptr)
        if isinstance(new, int):
            return new
        parent, name = new
        perm = mode & 0o7777
        if kind in (S_IFCHR, S_IFBLK) and call.task.uids[1] != 0:
            return -EPERM  # CAP_MKNOD
        if kind in (0, S_IFREG):
            node = File(perm=perm)
        elif kind == S_IFIFO:
            node = Pipe(perm)
        else:  # the device number as the kernel keeps it (new_decode_dev's encoding)
            node = Special(kind | perm, dev & 0xFFFFFFFF if kind != S_IFSOCK else 0)
        self.made(call, parent, name, node)
        self.work(create=1)
        return 0

    # ---- opening a special file ----------------------------------------------------------
    def open_special(self, call, node, flags: int, ops) -> int:
        """openat of a named pipe or a device or socket node (after the path's checks)."""
        ops.update(file_open=1)
        if isinstance(node, Special):
            return -ENXIO
        end = ENDS.get(flags & O_ACCMODE)
        if end is None:
            return -EINVAL
        pipe = node
        if end == "w" and flags & O_NONBLOCK and pipe.readers == 0:
            return -ENXIO
        pipe.readers += "r" in end
        pipe.writers += "w" in end
        for e in end:
            pipe.opened[e] += 1
        self._fifo_partners_woken(pipe, ops)
        if end != "rw" and not flags & O_NONBLOCK or end == "w":
            other = "w" if end == "r" else "r"
            if (pipe.writers if other == "w" else pipe.readers) == 0:
                return self._fifo_wait(pipe, end, pipe.opened[other], flags, ops)
        return self._fifo_install(call, pipe, end, flags, ops)

    def fifo_open_again(self, call, flags: int) -> int:
        """A FIFO's open that waited runs again: the other end opened since, or it waits on."""
        pipe, end, seen, flags = self.fifo_opens.pop(self.k.running)
        with self.working() as ops:
            other = "w" if end == "r" else "r"
            if pipe.opened[other] == seen:
                return self._fifo_wait(pipe, end, seen, flags, ops)
            return self._fifo_install(call, pipe, end, flags, ops)

    def _fifo_wait(self, pipe: Pipe, end: str, seen: int, flags: int, ops) -> int:
        self.fifo_opens[self.k.running] = (pipe, end, seen, flags)
        self.k.block_current(pipe.open_waiters)
        ops.update(pipe_wait=1)
        return -ERESTARTSYS

    def _fifo_install(self, call, pipe: Pipe, end: str, flags: int, ops) -> int:
        t = self.table(call)
        fd = t.lowest_fd()
        if fd < 0:
            self._fifo_end_dropped(pipe, end)
            return fd
        ops.update(fd_install=1)
        f = self.open_file(pipe, flags & ~O_CLOEXEC, end)
        t.install(fd, f, bool(flags & O_CLOEXEC))
        self.notify(pipe, IN_OPEN)
        return fd

    def _fifo_partners_woken(self, pipe: Pipe, ops) -> None:
        """An end opened: opens waiting for it go on, and readers, writers and pollers look
        again (wake_up_partner)."""
        k = self.k
        waiting = pipe.open_waiters or pipe.read_waiters or pipe.write_waiters
        for queue in (pipe.open_waiters, pipe.read_waiters, pipe.write_waiters):
            k.wake_all(queue)
        ops.update(pipe_wake=int(bool(waiting)))

    def _fifo_end_dropped(self, pipe: Pipe, end: str) -> None:
        """An end counted by an open that did not complete is taken back."""
        if "r" in end:
            pipe.readers -= 1
            if pipe.readers == 0:
                self.k.wake_all(pipe.write_waiters)
        if "w" in end:
            pipe.writers -= 1
            if pipe.writers == 0:
                self.k.wake_all(pipe.read_waiters)

    def fifo_open_over(self, tcb: int) -> None:
        """The thread's waiting FIFO open ended without completing (a signal's handler, the
        process's exit): the end it counted is taken back."""
        waiting = self.fifo_opens.pop(tcb, None)
        if waiting is not None:
            self._fifo_end_dropped(waiting[0], waiting[1])

    # ---- a pipe's size -------------------------------------------------------------------
    def fcntl_pipe(self, call, f, cmd: int, arg: int, ops) -> int:
        """F_GETPIPE_SZ and F_SETPIPE_SZ (pipe_fcntl): the capacity in bytes; a new one is
        rounded up to a power-of-two number of pages (at least one), at most 2 GiB, past
        pipe-max-size only for root, and never below the pages the bytes in it occupy."""
        pipe = f.node
        if not isinstance(pipe, Pipe):
            return -EBADF
        if cmd == F_GETPIPE_SZ:
            return pipe.capacity
        size = arg & 0xFFFFFFFF
        if size > 1 << 31:
            return -EINVAL
        size = max(PAGE_SIZE, 1 << (size - 1).bit_length())
        if size > pipe.capacity and size > PIPE_MAX_SIZE and call.task.uids[1] != 0:
            return -EPERM
        pieces = ring_spans(pipe.start, len(pipe.buffer), pipe.capacity)
        occupied = list(dict.fromkeys(off // PAGE_SIZE for off, _ in pieces))  # in ring order
        if len(occupied) > size // PAGE_SIZE:
            return -EBUSY
        ops.update(pipe_resize=1)
        self._pipe_ring_resized(pipe, occupied, size)
        return size

    def _pipe_ring_resized(self, pipe: Pipe, occupied: list[int], size: int) -> None:
        """The ring becomes `size` bytes: the pages holding bytes move to its start in order
        (Linux moves the buffers, not their bytes), the other pages fill the free places
        below the new end and the rest are freed."""
        frames = dict(pipe.frames)
        moved = {i: frames.pop(page) for i, page in enumerate(occupied) if page in frames}
        spare = [frames[page] for page in sorted(frames)]
        free_places = [i for i in range(size // PAGE_SIZE) if i not in moved]
        for place, pa in zip(free_places, spare, strict=False):
            moved[place] = pa
        for pa in spare[len(free_places) :]:
            self.k.frames.free(pa)
        pipe.frames = moved
        pipe.start = pipe.start % PAGE_SIZE if pipe.buffer else 0
        pipe.capacity = size


PIPE_COMMANDS = (F_SETPIPE_SZ, F_GETPIPE_SZ)

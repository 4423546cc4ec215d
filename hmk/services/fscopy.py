"""fsmgr's copies inside the kernel: sendfile, copy_file_range, splice, tee and vmsplice, and
the work each is charged (hmk.services.fsmgr's `costs`).

The bytes move between the page cache, pipes' pages and devices without passing through the
caller's memory: each call's own work (`splice`: Linux's do_splice and the internal pipe of
do_splice_direct) and, as a read's and a write's, the source's and the destination's (a file's
`file_read` and `cache_read` per page, a pipe's `pipe_read` or `pipe_write` and its pages), and
one copy between them (`copy_page` and `copy_line`, its lines logged on both sides). A pipe
the call must wait for (empty, or full) makes it wait, as a read or a write of that pipe would
(SPLICE_F_NONBLOCK or O_NONBLOCK: EAGAIN), and a pipe with no reader left is EPIPE and a
SIGPIPE. The checks are Linux's (fs/read_write.c, fs/splice.c), in its order; a copy between
two file systems (hmk.services.fstypes) is EXDEV, as Linux's copy_file_range answers for tmpfs,
which has no cross-file-system copy.
"""

from __future__ import annotations

import stat
import struct

from hmk.linux.abi import (
    EAGAIN,
    EBADF,
    EFAULT,
    EINVAL,
    EISDIR,
    EOVERFLOW,
    EPIPE,
    ERESTARTSYS,
    ESPIPE,
    EXDEV,
    IN_ACCESS,
    IN_MODIFY,
    MAX_RW_COUNT,
    O_APPEND,
    O_NONBLOCK,
    SIGPIPE,
    SPLICE_F_NONBLOCK,
)
from hmk.linux.strace import signed as _signed
from hmk.services.copies import READ, WRITE, lines, log_frame
from hmk.services.devhost import BlockDevice
from hmk.services.fsio import _driven, positional
from hmk.services.fsnames import _int
from hmk.services.vfs import Device, Dir, File, Pipe

SPLICE_FLAGS = 0xF  # SPLICE_F_MOVE, NONBLOCK, MORE, GIFT
U64 = 1 << 64


class Copies:
    """sendfile, copy_file_range, splice, tee and vmsplice, mixed into the file manager
    (hmk.services.fsmgr.FsMgr)."""

    # ---- sendfile ------------------------------------------------------------------------
    def sys_sendfile(self, call, out_fd, in_fd, offset_ptr, count, *_):
        """sendfile(2); with an offset, it is copied in first and out last, whatever the
        copy's result (Linux's sendfile64: a fault writing it back is the call's EFAULT)."""
        if not offset_ptr:
            return self._sendfile(call, out_fd, in_fd, None, count)
        raw = call.space.read(offset_ptr, 8)
        if raw is None:
            return -EFAULT
        done = self._sendfile(call, out_fd, in_fd, struct.unpack("<q", raw)[0], count)
        moved = max(done, 0) if isinstance(done, int) else 0
        offset = struct.unpack("<q", raw)[0] + moved
        if done != -ERESTARTSYS and not call.space.write(offset_ptr, struct.pack("<q", offset)):
            return -EFAULT
        return done

    def _sendfile(self, call, out_fd, in_fd, offset, count):
        fresh = int(not call.resumed)
        with self.working(fdget=2 * fresh, splice=fresh) as ops:
            t = self.table(call)
            # Linux's order (do_sendfile, do_splice_direct): the input, its offset, the count,
            # the output; then what each can do, the input read (nothing left: 0) before the
            # output is known to take bytes
            src = t.file(_int(in_fd))
            if src is None or not src.readable:
                return -EBADF
            if offset is not None and not positional(src.node):
                return -ESPIPE
            pos = src.pos if offset is None else offset
            if pos < 0 or _signed(count) < 0:
                return -EINVAL
            count = min(count, MAX_RW_COUNT)
            dst = t.file(_int(out_fd))
            if dst is None or not dst.writable:
                return -EBADF
            if not isinstance(dst.node, Pipe) and dst.flags & O_APPEND:
                return -EINVAL
            if not isinstance(src.node, File):
                return -EINVAL
            if not isinstance(dst.node, Pipe) and pos >= len(src.node.data):
                return 0  # (nothing read: the output is never asked to take anything)
            if isinstance(dst.node, Pipe):
                nonblock = (src.flags | dst.flags) & O_NONBLOCK
                room = self._pipe_room(call, dst.node, nonblock, ops)
                if room <= 0:
                    return room
                count = min(count, room)
            n = self._file_to(call, src, pos, dst, None, count, ops)
            if n > 0:
                if offset is None:
                    src.pos += n
                else:
                    offset += n
            return n

    # ---- copy_file_range -----------------------------------------------------------------
    def sys_copy_file_range(self, call, fd_in, off_in, fd_out, off_out, length, flags, *_):
        with self.working(fdget=2, splice=1) as ops:
            t = self.table(call)
            src, dst = t.file(_int(fd_in)), t.file(_int(fd_out))
            if src is None or dst is None:
                return -EBADF
            positions = []
            for f, ptr in ((src, off_in), (dst, off_out)):
                raw = call.space.read(ptr, 8) if ptr else struct.pack("<q", f.pos)
                if raw is None:
                    return -EFAULT
                positions.append(struct.unpack("<q", raw)[0])
            pos_in, pos_out = positions
            if flags & 0xFFFFFFFF:
                return -EINVAL
            count, err = self._copy_checks(src, pos_in, dst, pos_out, length)
            if err or count == 0:
                return err
            n = self._file_to(call, src, pos_in, dst, pos_out, min(count, MAX_RW_COUNT), ops)
            if n <= 0:
                return n
            for f, ptr, at in ((src, off_in, pos_in), (dst, off_out, pos_out)):
                if not ptr:
                    f.pos = at + n
                elif not call.space.write(ptr, struct.pack("<q", at + n)):
                    return -EFAULT
            return n

    def _copy_checks(self, src, pos_in: int, dst, pos_out: int, length: int):
        """generic_copy_file_checks and rw_verify_area: (the count, cut at the end of the
        source; 0) or (0, -errno)."""
        a, b = src.node, dst.node
        if isinstance(a, Dir) or isinstance(b, Dir):
            return 0, -EISDIR
        if not stat.S_ISREG(a.mode) or not stat.S_ISREG(b.mode):  # (a pidfd's is regular)
            return 0, -EINVAL
        if not src.readable or not dst.writable or dst.flags & O_APPEND:
            return 0, -EBADF
        if self.mounts.of(a) is not self.mounts.of(b):
            return 0, -EXDEV
        if not isinstance(a, File) or not isinstance(b, File):
            return 0, -EINVAL  # (pidfs has no splice: do_splice_direct refuses it)
        for at in (pos_in, pos_out):  # the offsets must not wrap (unsigned)
            if (at % U64 + length) >= U64:
                return 0, -EOVERFLOW
        size = a.size
        count = 0 if pos_in >= size else min(length, size - pos_in)
        if a is b and pos_out + count > pos_in and pos_out < pos_in + count:
            return 0, -EINVAL
        if pos_in < 0 or pos_out < 0 or _signed(count) < 0:
            return 0, -EINVAL
        return count, 0

    # ---- splice and tee ------------------------------------------------------------------
    def sys_splice(self, call, fd_in, off_in, fd_out, off_out, length, flags, *_):
        if length == 0:
            return 0
        if flags & 0xFFFFFFFF & ~SPLICE_FLAGS:
            return -EINVAL
        fresh = int(not call.resumed)
        with self.working(fdget=2 * fresh, splice=fresh) as ops:
            t = self.table(call)
            src, dst = t.file(_int(fd_in)), t.file(_int(fd_out))
            if src is None or dst is None:
                return -EBADF
            ipipe, opipe = isinstance(src.node, Pipe), isinstance(dst.node, Pipe)
            if ipipe and off_in or opipe and off_out:
                return -ESPIPE
            offsets = {}
            for ptr in (off_out, off_in):
                if ptr:
                    raw = call.space.read(ptr, 8)
                    if raw is None:
                        return -EFAULT
                    offsets[ptr] = struct.unpack("<q", raw)[0]
            if not src.readable or not dst.writable:
                return -EBADF
            nonblock = flags & SPLICE_F_NONBLOCK
            if ipipe and opipe:
                if src.node is dst.node:
                    return -EINVAL
                nonblock |= (src.flags | dst.flags) & O_NONBLOCK
                return self._pipe_to_pipe(call, src.node, dst.node, length, nonblock, ops, True)
            if ipipe:
                at = offsets.get(off_out)
                if at is not None and not isinstance(dst.node, File | BlockDevice):
                    return -EINVAL
                if dst.flags & O_APPEND:
                    return -EINVAL
                if (dst.pos if at is None else at) < 0:
                    return -EINVAL
                nonblock |= src.flags & O_NONBLOCK
                n = self._pipe_to(call, src.node, dst, at, length, nonblock, ops)
                return self._offset_out(call, off_out, at, n)
            if opipe:
                at = offsets.get(off_in)
                if at is not None and not isinstance(src.node, File | BlockDevice):
                    return -EINVAL
                if (src.pos if at is None else at) < 0:
                    return -EINVAL
                if not isinstance(src.node, File | Device) or _driven(src.node):
                    return -EINVAL
                nonblock |= dst.flags & O_NONBLOCK
                room = self._pipe_room(call, dst.node, nonblock, ops)
                if room <= 0:
                    return room
                count = min(length, room)
                n = self._file_to(call, src, src.pos if at is None else at, dst, None, count, ops)
                if n > 0 and at is None:
                    src.pos += n
                return self._offset_out(call, off_in, at, n)
            return -EINVAL

    def sys_tee(self, call, fd_in, fd_out, length, flags, *_):
        if flags & 0xFFFFFFFF & ~SPLICE_FLAGS:
            return -EINVAL
        if length == 0:
            return 0
        fresh = int(not call.resumed)
        with self.working(fdget=2 * fresh, splice=fresh) as ops:
            t = self.table(call)
            src = t.file(_int(fd_in))
            dst = t.file(_int(fd_out)) if src is not None else None
            if src is None or dst is None:
                return -EBADF
            if not src.readable or not dst.writable:
                return -EBADF
            ipipe, opipe = src.node, dst.node
            if not isinstance(ipipe, Pipe) or not isinstance(opipe, Pipe) or ipipe is opipe:
                return -EINVAL
            nonblock = flags & SPLICE_F_NONBLOCK or (src.flags | dst.flags) & O_NONBLOCK
            return self._pipe_to_pipe(call, ipipe, opipe, length, nonblock, ops, False)

    def sys_vmsplice(self, call, fd, iov, nr_segs, flags, *_):
        """The user's buffers into a pipe (a write end) or out of it (a read end), as writev
        and readv of the pipe, SPLICE_F_NONBLOCK not waiting."""
        if flags & 0xFFFFFFFF & ~SPLICE_FLAGS:
            return -EINVAL
        with self.working(fdget=int(not call.resumed)) as ops:
            f = self.table(call).file(_int(fd))
            if f is None or not (f.readable or f.writable):
                return -EBADF
            vec = self._iov(call, iov, nr_segs)
            if isinstance(vec, int):
                return vec
            if not any(n for _, n in vec):
                return 0
            pipe = f.node
            if not isinstance(pipe, Pipe):
                return -EBADF
            if f.writable:
                if flags & SPLICE_F_NONBLOCK and pipe.readers and not self._room(pipe):
                    return -EAGAIN
                return self._write_file(call, f, vec, None, ops)
            if flags & SPLICE_F_NONBLOCK and not pipe.buffer and pipe.writers:
                return -EAGAIN
            return self._read_file(call, f, vec, None, ops)

    # ---- moving the bytes ----------------------------------------------------------------
    @staticmethod
    def _room(pipe: Pipe) -> int:
        return max(pipe.capacity - len(pipe.buffer), 0)

    def _pipe_room(self, call, pipe: Pipe, nonblock, ops) -> int:
        """The room in a pipe about to be written (wait_for_space), or -errno: EPIPE and a
        SIGPIPE with no reader, EAGAIN or a wait when full."""
        if not pipe.readers:
            call.task.signals.post(SIGPIPE)
            return -EPIPE
        room = self._room(pipe)
        if room:
            return room
        if nonblock:
            return -EAGAIN
        self.k.block_current(pipe.write_waiters)
        ops.update(pipe_wait=1)
        return -ERESTARTSYS

    def _file_to(self, call, src, pos: int, dst, at, count: int, ops) -> int:
        """`count` bytes of the file (or device) `src` at `pos` into `dst` (at `at`; None:
        its position), copied in the kernel: the bytes written or -errno."""
        got = self._fetch(src, src.node, count, pos, ops)
        if isinstance(got, int):
            return got
        data, spans, _ = got
        return self._put(call, src, spans, dst, at, data, ops)

    def _pipe_to(self, call, pipe: Pipe, dst, at, length: int, nonblock, ops) -> int:
        """A pipe's bytes (up to `length`) into the file or device `dst`; waits for some
        (splice_from_pipe_next): none and no writer is 0."""
        if not pipe.buffer:
            return self._pipe_empty(pipe, nonblock, ops)
        n = min(length, len(pipe.buffer))
        data = bytes(pipe.buffer[:n])
        spans = self._pipe_spans(pipe, pipe.start, n, ops)
        ops.update(pipe_read=1)
        written = self._put(call, pipe, spans, dst, at, data, ops)
        if written > 0:
            self._pipe_drop(pipe, written, ops)
        return written

    def _pipe_to_pipe(self, call, ipipe: Pipe, opipe: Pipe, length, nonblock, ops, move) -> int:
        """splice (`move`) or tee between two pipes: the input waited for, then room in the
        output; as many bytes as both allow, taken from the input or (tee) copied."""
        if not ipipe.buffer:
            return self._pipe_empty(ipipe, nonblock, ops)
        room = self._pipe_room(call, opipe, nonblock, ops)
        if room <= 0:
            return room
        n = min(length, len(ipipe.buffer), room)
        data = bytes(ipipe.buffer[:n])
        spans = self._pipe_spans(ipipe, ipipe.start, n, ops)
        ops.update(pipe_read=1)
        written = self._put(call, ipipe, spans, _Writer(opipe), None, data, ops)
        if written > 0 and move:
            self._pipe_drop(ipipe, written, ops)
        return written

    def _pipe_empty(self, pipe: Pipe, nonblock, ops) -> int:
        if not pipe.writers:
            return 0
        if nonblock:
            return -EAGAIN
        self.k.block_current(pipe.read_waiters)
        ops.update(pipe_wait=1)
        return -ERESTARTSYS

    def _put(self, call, source, spans, dst, at, data: bytes, ops) -> int:
        """`data` (from `spans` of `source`, an open file or a pipe) written into the open
        file `dst`: the count, or -errno; the copy between them charged and logged, and the
        events raised."""
        node = dst.node
        if _driven(node):
            n = self.peers["devhost"].write(call.task.proc, node, call.space, [], at or 0, data)
            out = None
        else:
            got = self._store(call, dst, node, data, at, ops)
            if isinstance(got, int):
                return got
            n, out = got
        mem = self.k.mem
        for pa, length in spans:
            log_frame(mem, pa, length, READ)
        for pa, length in out or ():
            log_frame(mem, pa, length, WRITE)
        ops.update(copy_page=max(len(spans), len(out or ())), copy_line=lines(n))
        if n > 0:
            self.notify(node, IN_MODIFY, named=dst.named)
            named = getattr(source, "named", None)
            self.notify(getattr(source, "node", source), IN_ACCESS, named=named)
        return n

    @staticmethod
    def _offset_out(call, ptr, at, n: int) -> int:
        if ptr and n > 0 and not call.space.write(ptr, struct.pack("<q", at + n)):
            return -EFAULT
        return n


class _Writer:
    """A pipe's write end as _put's destination (tee and splice between pipes)."""

    flags = 0
    writable = True
    named = None

    def __init__(self, pipe: Pipe):
        self.node = pipe

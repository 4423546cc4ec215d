"""fsmgr's data path: read and write (and readv, writev, pread64, pwrite64) over regular files,
pipes, devices and the RAM disk, and the work each is charged (hmk.services.fsmgr's `costs`).

Every call finds its descriptor (`fdget`), checks the access (`rw_check`) and passes through the
VFS layers (`vfs_rw`); then, by what the descriptor names:

- a regular file: through the page cache (hmk.services.pagecache), a page at a time: the page
  looked up (`cache_read`, `cache_write`; inserted first if the file does not have it yet), its
  bytes copied;
- a pipe: its ring of pages, a frame each the first time the ring uses it (`pipe_page`); the
  buffer's own work (`pipe_read`, `pipe_write`); the other end woken when it may be waiting, as
  Linux decides (`pipe_wake`: a read of a full pipe, a write to an empty one); a read of an
  empty pipe or a write to a full one queued to wait (`pipe_wait`), made again when woken;
- an object that moves its own bytes (a socket, an eventfd, ...: hmk.services.vfs.Stream): its
  read or write, the copy between it and the user's buffer charged here;
- the console and the RAM disk: a request to devhost, which moves the bytes itself;
- other devices and procfs: the bytes made here (/dev/zero's written as zeros, /dev/urandom's
  generated a block at a time: `random_block`), copied from the file manager's own buffer.

A copy costs `copy_page` per page (or pipe page) it touches and `copy_line` per 64 bytes, and
its lines are logged (hmk.services.copies): the user buffer's and the cache's, the pipe's or the
buffer's, after the user copy that may have faulted the pages in. A read or write going on after
its wait (`call.resumed`) is not charged its descriptor, checks, VFS layers or the pipe's own
work again: only the copy and, if it must wait again, the wait.
"""

from __future__ import annotations

import stat

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    EAGAIN,
    EBADF,
    EFAULT,
    EINVAL,
    EISDIR,
    ENOSPC,
    EOPNOTSUPP,
    EPIPE,
    ERESTARTSYS,
    ESPIPE,
    IN_ACCESS,
    IN_MODIFY,
    MAX_RW_COUNT,
    O_APPEND,
    O_DIRECT,
    O_NONBLOCK,
    RWF_APPEND,
    RWF_ATOMIC,
    RWF_DONTCACHE,
    RWF_NOAPPEND,
    RWF_NOSIGNAL,
    RWF_NOWAIT,
    SIGPIPE,
    SYNC_FILE_RANGE_FLAGS,
)
from hmk.linux.strace import signed as _signed
from hmk.services.copies import (
    READ,
    WRITE,
    Copied,
    gather,
    lines,
    log_frame,
    log_vector,
    pages,
    past_user,
    ring_spans,
    scatter,
    writable,
)
from hmk.services.devhost import BlockDevice
from hmk.services.fsnames import _int
from hmk.services.vfs import Device, Dir, File, Generated, Pipe, Stream, Symlink

RANDOM = (0x108, 0x109)  # /dev/random and /dev/urandom
NULL_DEVICE = 0x103  # /dev/null: nothing to copy, so nothing to fault
RWF_SUPPORTED = 0x1FF  # RWF_HIPRI to RWF_NOSIGNAL (Linux 6.17)
RWF_UNSUPPORTED = RWF_ATOMIC | RWF_DONTCACHE  # what no file here supports


class FileIO:
    """The data path's calls, mixed into the file manager (hmk.services.fsmgr.FsMgr)."""

    # ---- the calls -----------------------------------------------------------------------
    def sys_read(self, call, fd, buf, count, *_):
        return self._read_call(call, fd, None, lambda: [(buf, count)])

    def sys_pread64(self, call, fd, buf, count, offset, *_):
        return self._read_call(call, fd, offset, lambda: [(buf, count)])

    def sys_readv(self, call, fd, iov, iovcnt, *_):
        return self._read_call(call, fd, None, lambda: self._iov(call, iov, iovcnt), True)

    def sys_write(self, call, fd, buf, count, *_):
        return self._write_call(call, fd, None, lambda: [(buf, count)])

    def sys_pwrite64(self, call, fd, buf, count, offset, *_):
        return self._write_call(call, fd, offset, lambda: [(buf, count)])

    def sys_writev(self, call, fd, iov, iovcnt, *_):
        return self._write_call(call, fd, None, lambda: self._iov(call, iov, iovcnt), True)

    def sys_preadv(self, call, fd, iov, iovcnt, pos, *_):
        return self._read_call(call, fd, pos, lambda: self._iov(call, iov, iovcnt), True)

    def sys_pwritev(self, call, fd, iov, iovcnt, pos, *_):
        return self._write_call(call, fd, pos, lambda: self._iov(call, iov, iovcnt), True)

    def sys_preadv2(self, call, fd, iov, iovcnt, pos, _pos_high, flags, *_):
        return self._vector2(call, fd, iov, iovcnt, pos, flags, write=False)

    def sys_pwritev2(self, call, fd, iov, iovcnt, pos, _pos_high, flags, *_):
        return self._vector2(call, fd, iov, iovcnt, pos, flags, write=True)

    def _vector2(self, call, fd, iov, iovcnt, pos, flags, write: bool):
        """preadv2 and pwritev2: offset -1 is the file position; nothing to move is 0 at once;
        the RWF_* flags are checked after the range (kiocb_set_rw_flags): unknown ones and the
        forms a tmpfs file has no support for (RWF_NOWAIT, RWF_ATOMIC, RWF_DONTCACHE) are
        EOPNOTSUPP, RWF_APPEND with RWF_NOAPPEND EINVAL; RWF_APPEND writes at the end,
        RWF_NOWAIT on a pipe is EAGAIN where it would wait, RWF_NOSIGNAL's EPIPE comes with no
        SIGPIPE; the others (RWF_HIPRI, RWF_DSYNC, RWF_SYNC) change nothing in memory."""
        pos = None if _signed(pos) == -1 else pos
        flags &= 0xFFFFFFFF
        with self.working(fdget=int(not call.resumed)) as ops:
            f = self._io_file(call, fd, pos)
            if isinstance(f, int):
                return f
            if not (f.writable if write else f.readable):
                return -EBADF
            if isinstance(f.node, Stream) and not f.node.has("write" if write else "read"):
                return -EINVAL
            vec = self._iov(call, iov, iovcnt)
            if isinstance(vec, int):
                return vec
            if not any(n for _, n in vec):
                return 0  # (vfs_readv, vfs_writev: before the range, the flags, the file)
            if _past_offsets(f, pos, _capped(vec)):
                return -EINVAL
            node, append = f.node, None
            if flags & RWF_APPEND:
                append = True
            elif flags & RWF_NOAPPEND:
                append = False  # (a positional write's own place, whatever O_APPEND says)
            if flags:
                nowait = isinstance(node, Pipe | Stream)
                if flags & ~RWF_SUPPORTED or flags & RWF_UNSUPPORTED:
                    return -EOPNOTSUPP
                if flags & RWF_APPEND and flags & RWF_NOAPPEND:
                    return -EINVAL
                if flags & RWF_NOWAIT and not nowait:
                    return -EOPNOTSUPP
                if isinstance(node, Pipe):
                    waits = (
                        not node.buffer and node.writers
                        if not write
                        else node.readers and (len(node.buffer) >= node.capacity)
                    )
                    if flags & RWF_NOWAIT and waits:
                        return -EAGAIN
                    if write and flags & RWF_NOSIGNAL and not node.readers:
                        return -EPIPE
            if write:
                return self._write_file(call, f, vec, pos, ops, append)
            return self._read_file(call, f, vec, pos, ops)

    def sys_sync_file_range(self, call, fd, offset, nbytes, flags, *_):
        """Nothing to write out in memory; the checks are Linux's, in its order."""
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None:
                return -EBADF
            offset, nbytes, end = _signed(offset), _signed(nbytes), _signed(offset + nbytes)
            if flags & 0xFFFFFFFF & ~SYNC_FILE_RANGE_FLAGS or offset < 0 or end < 0:
                return -EINVAL
            if nbytes < 0:
                return -EINVAL
            regular = stat.S_ISREG(f.node.mode)  # (a pidfd's inode is a regular file's)
            if not regular and not isinstance(f.node, BlockDevice | Dir | Symlink):
                return -ESPIPE
            ops.update(fcntl=1)
            return 0

    def sys_readahead(self, call, fd, offset, count, *_):
        """POSIX_FADV_WILLNEED on a readable regular file or block device: a tmpfs's pages
        are in memory already (Linux's generic_fadvise returns at once for it)."""
        with self.working(fdget=1) as ops:
            f = self.table(call).file(_int(fd))
            if f is None or not f.readable:
                return -EBADF
            if not isinstance(f.node, File | BlockDevice) or count >> 63:
                return -EINVAL  # (a count past LLONG_MAX is a negative length to fadvise)
            ops.update(fcntl=1)
            return 0

    def _read_call(self, call, fd, pos, vector, vectored: bool = False):
        """A read in vfs_read's and vfs_readv's order: the descriptor, its access (EBADF), an
        object with no read at all (EINVAL), the vector (a readv's: checked, and nothing to
        read is 0 at once), the buffers' range (access_ok), then the read."""
        with self.working(fdget=int(not call.resumed)) as ops:
            f = self._io_file(call, fd, pos)
            if isinstance(f, int):
                return f
            if not f.readable:
                return -EBADF
            if isinstance(f.node, Stream) and not f.node.has("read"):
                return -EINVAL
            vec = vector()
            if isinstance(vec, int):
                return vec
            if vectored and not any(n for _, n in vec):
                return 0
            if not vectored and f.readable and past_user(*vec[0]):
                return -EFAULT
            if _past_offsets(f, pos, _capped(vec) if vectored else vec):
                return -EINVAL
            return self._read_file(call, f, vec, pos, ops)

    def _write_call(self, call, fd, pos, vector, vectored: bool = False):
        """A write, in the order of a read (_read_call)."""
        with self.working(fdget=int(not call.resumed)) as ops:
            f = self._io_file(call, fd, pos)
            if isinstance(f, int):
                return f
            if not f.writable:
                return -EBADF
            if isinstance(f.node, Stream) and not f.node.has("write"):
                return -EINVAL
            vec = vector()
            if isinstance(vec, int):
                return vec
            if vectored and not any(n for _, n in vec):
                return 0
            if not vectored and f.writable and past_user(*vec[0]):
                return -EFAULT
            if _past_offsets(f, pos, _capped(vec) if vectored else vec):
                return -EINVAL
            return self._write_file(call, f, vec, pos, ops)

    # ---- reading -------------------------------------------------------------------------
    def _read_file(self, call, f, vec, pos, ops):
        node = f.node
        if isinstance(node, Dir):
            return -EISDIR
        if not f.readable:
            return -EBADF
        fresh = int(not call.resumed)  # a read going on after a wait is past its checks
        ops.update(rw_check=fresh, vfs_rw=fresh)
        vec = _capped(vec)
        count = sum(n for _, n in vec)
        if isinstance(node, Stream):  # the object moves its own bytes
            got = node.read(call, f, count)
            if isinstance(got, int):
                return got
            data, spans = got if isinstance(got, tuple) else (got, [])
            got = data, spans, len(pages(0, len(data)))
        elif _driven(node):  # the driver host moves the bytes
            start = f.pos if pos is None else pos
            n = self.peers["devhost"].read(call.task.proc, node, call.space, vec, start, count)
            if n > 0 and pos is None and isinstance(node, BlockDevice):
                f.pos += n
            return n
        else:
            if isinstance(node, File) and not isinstance(node, Generated):
                # the bytes up to a buffer's fault are read (filemap_read's short copy)
                start = f.pos if pos is None else pos
                room = writable(call.space, vec, min(count, max(node.size - start, 0)))
                if room < count and start < node.size:
                    if not room:
                        return -EFAULT
                    count, vec = room, _capped(vec, room)
            got = self._fetch(f, node, count, pos, ops, fresh, vec, call.space)
        if isinstance(got, int):
            return got
        data, spans, chunks = got
        if not scatter(call.space, vec, data):
            return -EFAULT
        mem = self.k.mem
        for pa, n in spans:
            log_frame(mem, pa, n, READ)
        log_vector(mem, call.space, vec, len(data), WRITE)
        ops.update(copy_page=chunks, copy_line=lines(len(data)) if chunks else 0)
        if data:
            self.notify(node, IN_ACCESS, named=f.named)
        return len(data)

    def _fetch(self, f, node, count: int, pos, ops, fresh: int = 1, vec=None, space=None):
        """(bytes, source spans (pa, n), page-sized pieces of the copy) or -errno; `fresh`: 0
        for a read going on after a wait (a pipe's own work was charged with its first look).
        A device's bytes are made only as far as `vec` can take them (Linux's read_zero and
        urandom_read stop at the first fault: a short count, or EFAULT)."""
        if isinstance(node, Device):
            room = writable(space, vec, count) if vec is not None else count
            room = min(room, self.dense_limit())  # (no more than any file could take)
            if count and not room and node.rdev != NULL_DEVICE:
                return -EFAULT
            data = node.read(room)
            if isinstance(data, int):
                return data
            if node.rdev in RANDOM:  # generated a block at a time in the buffer, copied out
                ops.update(random_block=lines(len(data)))
                spans = [(self.buffer, min(len(data), 64))] if data else []
                return data, spans, len(pages(0, len(data)))
            return data, [], len(pages(0, len(data)))  # /dev/zero's: no source
        if isinstance(node, Pipe):
            return self._pipe_read(f, node, count, ops, fresh)
        start = f.pos if pos is None else pos
        if isinstance(node, Generated):  # procfs: made in the file manager's buffer
            data = bytes(node.data[start : start + count])
            spans = [(self.buffer + off, n) for off, n in ring_spans(start, len(data), 4096)]
            ops.update(file_read=1)
        else:
            self._sync(node)
            data = bytes(node.data[start : start + count])
            spans = self._cache_spans(node, start, len(data))
            ops.update(file_read=1, cache_read=len(spans))
        if pos is None:
            f.pos += len(data)
        return data, spans, len(spans)

    def _pipe_read(self, f, pipe: Pipe, count: int, ops, fresh: int):
        ops.update(pipe_read=fresh)  # its loop's second look is pipe_wait's
        if not count:
            return b"", [], 0  # nothing asked for: nothing, at once (pipe_read)
        if not pipe.buffer:
            if pipe.writers == 0:
                return b"", [], 0
            if f.flags & O_NONBLOCK:
                return -EAGAIN
            self.k.block_current(pipe.read_waiters)  # until a write or close
            ops.update(pipe_wait=1)
            return -ERESTARTSYS
        n, gone = _pipe_take(pipe, count)
        data = bytes(pipe.buffer[:n])
        spans = self._pipe_spans(pipe, pipe.start, n, ops)
        self._pipe_drop(pipe, gone, ops)
        return data, spans, len(spans)

    def _pipe_drop(self, pipe: Pipe, n: int, ops) -> None:
        """The first `n` bytes of the pipe are read: gone, and its writers woken."""
        was_full = len(pipe.buffer) >= pipe.capacity
        del pipe.buffer[:n]
        pipe.start = (pipe.start + n) % pipe.capacity if pipe.buffer else 0
        head = pipe.written - len(pipe.buffer)
        while pipe.packets and pipe.packets[0][0] < head:  # packets read (a splice: in part)
            first = pipe.packets[0]
            left = first[0] + first[1] - head
            if left > 0:
                first[:] = [head, left]
                break
            pipe.packets.popleft()
        pipe.write_generation += int(was_full)
        self.k.wake_all(pipe.write_waiters)
        ops.update(pipe_wake=int(was_full))

    # ---- writing -------------------------------------------------------------------------
    def _write_file(self, call, f, vec, pos, ops, append=None):
        """A write of `vec` at `pos` (None: the file position); `append` (default: the file's
        O_APPEND, a positional write's too, as Linux's) writes at the end instead."""
        node = f.node
        if not f.writable:
            return -EBADF
        fresh = int(not call.resumed)
        ops.update(rw_check=fresh, vfs_rw=fresh)
        vec = _capped(vec)
        append = bool(f.flags & O_APPEND) if append is None else append
        if isinstance(node, File) and any(n for _, n in vec):  # generic_write_checks, before
            at = len(node.data) if append else f.pos if pos is None else pos  # the copy
            if at >= self.write_limit(call):
                return self.too_big(call)
            if err := self.sealed_write(node, at, at + sum(n for _, n in vec)):
                return err
        total = sum(length for _, length in vec)
        if isinstance(node, Device) and node.discards:
            return total  # the bytes are never read (write_null): any buffer will do
        where = f.pos if pos is None else pos
        if isinstance(node, File) and not self._fits(
            node, total + (node.size if append else where)
        ):
            return -ENOSPC  # refused before the bytes are read
        data = gather(call.space, vec)
        if data.faulted and not isinstance(node, Stream):
            # the bytes before the fault are written (a short count), or EFAULT; a pipe takes
            # whole pages of them only (pipe_write copies a page at a time)
            kept = len(data) // PAGE_SIZE * PAGE_SIZE if isinstance(node, Pipe) else len(data)
            if not kept:
                return -EFAULT
            data, vec = Copied(data[:kept], kept), _capped(vec, kept)
        if _driven(node):
            start = f.pos if pos is None else pos
            n = self.peers["devhost"].write(call.task.proc, node, call.space, vec, start, data)
            if n == -EPIPE:  # the host's end of the console is closed, as a pipe's reader
                call.task.signals.post(SIGPIPE)
            if n > 0 and pos is None and isinstance(node, BlockDevice):
                f.pos += n
            return n
        got = self._store(call, f, node, data, pos, ops, fresh, append)
        if isinstance(got, int):
            return got
        n, spans = got
        if spans is not None:  # the bytes were copied in
            log_vector(self.k.mem, call.space, vec, n, READ)
            for pa, length in spans:
                log_frame(self.k.mem, pa, length, WRITE)
            ops.update(copy_page=len(spans), copy_line=lines(n))
        if n > 0:
            self.notify(node, IN_MODIFY, named=f.named)
        return n

    def _store(self, call, f, node, data: bytes, pos, ops, fresh: int = 1, append=None):
        """(bytes written, destination spans or None: not copied) or -errno; `append` as
        _write_file's."""
        append = bool(f.flags & O_APPEND) if append is None else append
        if isinstance(node, Stream):  # the object takes the bytes itself
            got = node.write(call, f, data)
            if isinstance(got, int):
                return got if got < 0 else (got, [])
            return got
        if isinstance(node, Device):
            n = node.write(data)
            return n if isinstance(n, int) and n < 0 else (n, None)
        if isinstance(node, Pipe):
            return self._pipe_write(call, f, node, data, ops, fresh)
        start = len(node.data) if append else f.pos if pos is None else pos
        limit = self.write_limit(call)
        if data and start + len(data) > limit:  # RLIMIT_FSIZE: the bytes up to it, or none
            if start >= limit:
                return self.too_big(call)
            data = data[: limit - start]
        if not self._fits(node, start + len(data)):
            return -ENOSPC
        self._sync(node)
        buf = node.data
        if start > len(buf):
            buf.extend(b"\0" * (start - len(buf)))
        buf[start : start + len(data)] = data
        node.mtime = self.wall_ns()
        spans = self._cache_spans(node, start, len(data))
        self.cache.refresh(node, start, start + len(data))
        ops.update(file_write=1, cache_write=len(spans))
        if pos is None:
            f.pos = start + len(data)
        return len(data), spans

    def _pipe_write(self, call, f, pipe: Pipe, data: bytes, ops, fresh: int):
        ops.update(pipe_write=fresh)
        if pipe.readers == 0:
            call.task.signals.post(SIGPIPE)  # delivered on the way out of the call
            return -EPIPE
        packets = bool(f.flags & O_DIRECT)  # "packet mode" (pipe(7)): a packet a write
        room = packet_room(pipe) if packets else pipe.capacity - len(pipe.buffer)
        if room < len(data):
            if room == 0:
                if f.flags & O_NONBLOCK:
                    return -EAGAIN
                self.k.block_current(pipe.write_waiters)  # until a read
                ops.update(pipe_wait=1)
                return -ERESTARTSYS
            data = data[:room]  # a partial write, as Linux's for more than PIPE_BUF
        was_empty = not pipe.buffer
        spans = self._pipe_spans(pipe, pipe.start + len(pipe.buffer), len(data), ops)
        if packets:  # one a page at most: a longer write is split (PIPE_BUF is a page)
            pipe.packets += ([pipe.written + at, min(PAGE_SIZE, len(data) - at)]
                             for at in range(0, len(data), PAGE_SIZE))  # fmt: skip
        pipe.buffer += data
        pipe.written += len(data)
        pipe.read_generation += int(bool(data))
        self.k.wake_all(pipe.read_waiters)
        ops.update(pipe_wake=int(was_empty and bool(data)))
        return len(data), spans

    # ---- where the bytes are -------------------------------------------------------------
    def _cache_spans(self, node: File, start: int, n: int) -> list[tuple[int, int]]:
        """The page-cache frames holding bytes [start, start + n) of the file (pages inserted
        as needed), as (pa, length) pieces."""
        spans = []
        for index in pages(start, n):
            base = index * PAGE_SIZE
            lo, hi = max(start, base), min(start + n, base + PAGE_SIZE)
            spans.append((self.cache.frame_of(node, index) + lo - base, hi - lo))
        return spans

    def _pipe_spans(self, pipe: Pipe, at: int, n: int, ops) -> list[tuple[int, int]]:
        """The pipe's frames holding ring bytes [at, at + n), each page given a frame the
        first time the ring reaches it."""
        spans = []
        for off, length in ring_spans(at, n, pipe.capacity):
            page = off // PAGE_SIZE
            pa = pipe.frames.get(page)
            if pa is None:
                pa = pipe.frames[page] = self.k.frames.alloc(zero=False, owner="fsmgr.pipes")
                ops.update(pipe_page=1)
            spans.append((pa + off % PAGE_SIZE, length))
        return spans


def _pipe_take(pipe: Pipe, count: int) -> tuple[int, int]:
    """A read of up to `count` bytes from a pipe: (the bytes it returns, the bytes it takes
    away). Bytes written as packets (O_DIRECT) are read a packet at a time: a read stops after
    one, and what of it did not fit is discarded, as Linux's pipe_read does."""
    head, n = pipe.written - len(pipe.buffer), 0
    while n < min(count, len(pipe.buffer)):
        if pipe.packets and pipe.packets[0][0] == head + n:
            length = pipe.packets[0][1]
            return n + min(count - n, length), n + length
        end = pipe.packets[0][0] - head if pipe.packets else len(pipe.buffer)
        n += min(count - n, end - n)
    return n, n


def packet_room(pipe: Pipe) -> int:
    """Room for packets in the pipe, in bytes: a page for each of its buffers (a page of its
    capacity) no packet or plain bytes hold, as Linux gives each packet a buffer of its own."""
    packed = sum(length for _, length in pipe.packets)
    used = len(pipe.packets) + -(-(len(pipe.buffer) - packed) // PAGE_SIZE)
    return max(pipe.capacity // PAGE_SIZE - used, 0) * PAGE_SIZE


def _capped(vec, limit: int = MAX_RW_COUNT) -> list[tuple[int, int]]:
    """The user buffers of a read or write cut at `limit` bytes in all (MAX_RW_COUNT, as
    Linux's rw_verify_area cuts a call's count)."""
    out, left = [], limit
    for base, length in vec:
        out.append((base, min(length, left)))
        left -= out[-1][1]
    return out


def _past_offsets(f, pos, vec) -> bool:
    """rw_verify_area's EINVAL: would the bytes go past the largest offset (a C long's)?
    (Positional files only; a vector's count is its total cut at MAX_RW_COUNT, a plain
    read's or write's the count asked.)"""
    count = sum(n for _, n in vec)
    start = f.pos if pos is None else pos
    return bool(count) and positional(f.node) and start + count > 2**63 - 1


def positional(node) -> bool:
    """Can it be read or written at a position (Linux's FMODE_PREAD): a file, a directory, a
    block device, a memory device, a pidfd (pidfs: though it has no read); not a pipe, socket
    or anonymous object (ESPIPE)."""
    if isinstance(node, Stream):
        return node.pidfs
    return isinstance(node, File | Dir | BlockDevice) or isinstance(node, Device) and node.memory


def _driven(node) -> bool:
    """Is `node` a device whose bytes devhost moves (the console, the RAM disk)?"""
    return isinstance(node, BlockDevice) or isinstance(node, Device) and node.console

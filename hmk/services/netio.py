"""The network manager's data path: sendto, recvfrom, and read and write on a socket (which the
file manager hands on), and the sending and receiving the message calls (hmk.services.netmsg)
share, with the work each is charged (hmk.services.netmgr's `costs`).

A send puts its bytes in the receiving socket's queue (hmk.services.sockets: a `Chunk` each,
in the queue's ring of frames) and wakes it; a receive takes them, gives the senders their
room back and wakes them. By protocol, as Linux does:

- an AF_UNIX stream (and TCP): bytes; a send waits while its bytes in flight fill its buffer
  (SO_SNDBUF; TCP: and the receiver's SO_RCVBUF), sends what it can before a signal or, non
  blocking, returns the part sent; a receive takes what is there (a stream read stops after
  the bytes that came with descriptors, and does not join writers with different credentials
  when SO_PASSCRED is set), MSG_WAITALL waits for all; a TCP send to a peer that closed is
  answered by a reset (EPIPE, or ECONNRESET, from the next call);
- AF_UNIX datagrams and SOCK_SEQPACKET, and UDP: messages; a receive takes one, truncated to
  the buffer (MSG_TRUNC); an AF_UNIX datagram waits while its receiver holds more than
  net.unix.max_dgram_qlen (10) unread from others, UDP drops what does not fit the
  receiver's buffer, and a UDP datagram to a port nobody holds makes the connected sender's
  next call fail with ECONNREFUSED (the loopback's ICMP port unreachable).

A call that must wait blocks its thread on the socket (netmgr.wait) and runs again when the
socket changes; what it did before waiting is kept (`Socket.progress`, the messages of an
mmsg call) and not done again. A copy costs `copy_page` per ring page it touches and
`copy_line` per 64 bytes, its lines logged (hmk.services.copies), as the file manager's do.
"""

from __future__ import annotations

from hmk.linux.abi import (
    EAGAIN,
    ECONNREFUSED,
    EDESTADDRREQ,
    EFAULT,
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    EPROTOTYPE,
    ERESTARTSYS,
    MAX_RW_COUNT,
    MSG_DONTWAIT,
    MSG_NOSIGNAL,
    MSG_OOB,
    MSG_PEEK,
    MSG_TRUNC,
    MSG_WAITALL,
    SIGPIPE,
    SO_PASSCRED,
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    SOCK_STREAM,
    SOL_SOCKET,
)
from hmk.linux.layout import TASK_SIZE
from hmk.services.copies import READ, WRITE, lines, log_frame, log_vector, scatter
from hmk.services.fsnames import _int
from hmk.services.sockaddr import Inet, as_family, encode, inet_addr, source_for, unix_name
from hmk.services.sockets import (
    CLOSED,
    CONNECTED,
    CONNECTING,
    LISTENING,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    Chunk,
    Socket,
)

MAX_DGRAM_QLEN = 10  # net.unix.max_dgram_qlen
UDP_MAX4, UDP_MAX6 = 65507, 65527  # a UDP datagram's most bytes (IPv4: less its IP header)


class Got:
    """What a receive took: the bytes, the ring spans they were copied from, the sender's
    name, descriptors and credentials, and the message flags (MSG_TRUNC) with the length the
    call returns."""

    def __init__(self):
        self.data = bytearray()
        self.spans: list[tuple[int, int]] = []
        self.source = None
        self.fds: list = []
        self.creds = None
        self.flags = 0
        self.length = 0


class NetIO:
    """The data path's calls, mixed into the network manager (hmk.services.netmgr.NetMgr)."""

    # ---- read and write on a socket, from the file manager ---------------------------------
    def stream_read(self, call, sock: Socket, f, count: int):
        """read(2) on a socket: a receive with no flags; descriptors that came with the bytes
        are dropped (no one asked for them)."""

        def serve():
            with self.working() as ops:
                got = self._take(call, sock, f, count, 0, ops, None)
                if isinstance(got, int):
                    return got
                for held in got.fds:
                    self.peers["fsmgr"].drop(held)
                return bytes(got.data), got.spans

        return self._as_netmgr(call, serve)

    def stream_write(self, call, sock: Socket, f, data: bytes):
        """write(2) on a socket: a send with no flags and no address (of bytes whose copy
        faulted: EFAULT after the socket's own checks)."""
        length = getattr(data, "wanted", len(data))

        def serve():
            with self.working() as ops:
                fetch = lambda: None if getattr(data, "faulted", False) else data  # noqa: E731
                return self._give(call, sock, f, fetch, length, 0, None, None, ops)

        return self._as_netmgr(call, serve)

    def _as_netmgr(self, call, serve):
        """`serve()` as the network manager's side of the file manager's call (a call going on
        after its wait is held by it already)."""
        if call.resumed:
            return self.placement.inside("netmgr", serve)
        result = self.placement.call(call.task.proc, "netmgr", serve)
        return -EAGAIN if result is None else result

    # ---- the calls -----------------------------------------------------------------------
    def sys_sendto(self, call, fd, buf, length, flags, addr, addrlen, *_):
        if buf + min(length, MAX_RW_COUNT) > TASK_SIZE:
            return -EFAULT  # the buffer first (import_ubuf's access_ok), then the descriptor
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock, f = got
        with self.working() as ops:
            dest = None
            if addr:
                dest = self._address(call, addr, addrlen)
                if isinstance(dest, int):
                    return dest
            vec = [(buf, min(length, MAX_RW_COUNT))]
            return self._send_vector(call, sock, f, vec, _int(flags), dest or None, None, ops)

    def sys_recvfrom(self, call, fd, buf, length, flags, addr, addrlen, *_):
        if buf + min(length, MAX_RW_COUNT) > TASK_SIZE:
            return -EFAULT  # the buffer first (import_ubuf's access_ok), then the descriptor
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock, f = got
        with self.working() as ops:
            vec = [(buf, min(length, MAX_RW_COUNT))]
            r = self._recv_vector(call, sock, f, vec, _int(flags), ops)
            if isinstance(r, int):
                return r
            for held in r.fds:  # descriptors that came with the bytes: no one asked for them
                self.peers["fsmgr"].drop(held)
            if addr:
                err = self._give_address(call, self._source_address(sock, r), addr, addrlen)
                if err:
                    return err
            return r.length

    # ---- sending -------------------------------------------------------------------------
    def _send_vector(self, call, sock, f, vec, flags, dest, scm, ops) -> int:
        """The bytes of the user buffers `vec` sent; their copy logged and charged."""
        length = sum(n for _, n in vec)

        def fetch():
            data = b""
            for base, n in vec:
                chunk = call.space.read(base, n) if n else b""
                if chunk is None:
                    return None
                data += chunk
            return data

        got = self._give(call, sock, f, fetch, length, flags, dest, scm, ops)
        if isinstance(got, int):
            return got
        n, spans = got
        log_vector(self.k.mem, call.space, vec, n, READ)
        for pa, size in spans:
            log_frame(self.k.mem, pa, size, WRITE)
        ops.update(copy_page=len(spans), copy_line=lines(n))
        return n

    def _give(self, call, sock: Socket, f, fetch, length: int, flags: int, dest, scm, ops):
        """Send `length` bytes (`fetch()` gives them, None: EFAULT) from `sock` to its peer or
        to `dest` (an address's bytes): (bytes sent, the ring spans they were copied to), or
        -errno. `scm`: (open files, credentials) a message passes."""
        if flags & MSG_DONTWAIT:
            f = None
        if sock.state == LISTENING:
            return -ENOTCONN if sock.unix else self._pipe(call, flags)
        if sock.tcp:
            return self._tcp_give(call, sock, f, fetch, length, flags, ops)
        if sock.unix and sock.type == SOCK_STREAM:
            if flags & MSG_OOB and not length:
                return -EOPNOTSUPP  # (an urgent byte needs a byte)
            if dest is not None:
                return -EISCONN if sock.state == CONNECTED else -EOPNOTSUPP
            if sock.peer is None:
                return -ENOTCONN
            if sock.shut & SEND_SHUTDOWN:
                return self._pipe(call, flags)
            if length and (not sock.peer.open or sock.peer.shut & RCV_SHUTDOWN):
                return self._pipe(call, flags)
            if flags & MSG_OOB:
                return -EOPNOTSUPP  # an urgent byte (CONFIG_AF_UNIX_OOB): not modelled
            self._charge(call, ops, "unix_send")
            scm = scm or (None, self.credentials(call.task, effective=False))
            return self._fill(call, sock, f, fetch, length, scm, ops, sock.sndbuf)
        if sock.unix:
            if flags & MSG_OOB:
                return -EOPNOTSUPP  # (no urgent data in messages)
            return self._unix_dgram_give(call, sock, f, fetch, length, dest, scm, ops)
        return self._udp_give(call, sock, f, fetch, length, dest, ops)

    def _charge(self, call, ops, budget: str) -> None:
        """A send's or receive's own work, once a call (not again when it goes on)."""
        if not call.resumed:
            ops[budget] = 1

    def _pipe(self, call, flags: int) -> int:
        """EPIPE, and SIGPIPE unless MSG_NOSIGNAL (delivered on the way out of the call)."""
        if not flags & MSG_NOSIGNAL:
            call.task.signals.post(SIGPIPE)
        return -EPIPE

    def _fill(self, call, sock: Socket, f, fetch, length: int, scm, ops, limit: int):
        """A stream send: the bytes go to the peer's queue while `sock`'s bytes in flight stay
        under `limit`; it waits when they do not (after a part, a handler or a non-blocking
        file ends it with the part sent)."""
        done, spans = sock.progress.pop(call.tcb, (0, []))
        if not call.resumed:
            done, spans = 0, []
        data = fetch()
        if data is None:
            return -EFAULT
        fds, creds = scm or (None, None)
        while done < length:
            room = limit - sock.inflight
            if room <= 0:
                if done and call.task.signals.handler_pending():
                    break
                err = self.wait(call, sock, f, ops, SO_SNDTIMEO)
                if err == -EAGAIN and done:
                    break
                if err == -ERESTARTSYS:
                    sock.progress[call.tcb] = (done, spans)
                return err
            n = min(room, length - done)
            source = sock.name if sock.unix else None
            passed = fds if done == 0 else None  # descriptors go with the first bytes
            spans += self._deliver(sock.peer, data[done : done + n], sock, source, passed, creds)
            done += n
        return done, spans

    def _deliver(self, target: Socket, data: bytes, sender, source, fds, creds) -> list:
        """`data` into `target`'s queue (a TCP stream's bytes join the last chunk): the ring
        spans they were copied to, each ring page given a frame the first time."""
        ring = target.ring
        spans = []
        for page, off, n in ring.pieces(ring.used, len(data)):
            pa = ring.frames.get(page)
            if pa is None:
                pa = ring.frames[page] = self.k.frames.alloc(zero=False, owner="netmgr.buffers")
                self.work(buffer_page=1)
            spans.append((pa + off, n))
        ring.used += len(data)
        last = target.queue[-1] if target.queue else None
        if target.tcp and last is not None:
            last.data += data
        else:
            target.queue.append(Chunk(bytearray(data), sender, source, fds, creds))
        target.queued += len(data)
        target.received |= target.state == CONNECTED  # (SO_INCOMING_CPU records it then)
        if sender is not None:
            sender.inflight += len(data)
        self.k.counts["netmgr.bytes.sent"] += len(data)
        target.changed(self.k)
        return spans

    def _tcp_give(self, call, sock: Socket, f, fetch, length: int, flags: int, ops):
        if sock.state == CONNECTING:
            return self.wait(call, sock, f, ops, SO_SNDTIMEO)
        if sock.state != CONNECTED or sock.err or sock.shut & SEND_SHUTDOWN:
            if sock.err:  # the error pending, reported once (no SIGPIPE for it)
                err, sock.err = sock.err, 0
                return -err
            return self._pipe(call, flags)
        self._charge(call, ops, "tcp_send")
        peer = sock.peer
        if not peer.open:  # it closed: the bytes are answered by a reset
            data = fetch()
            if data is None:
                return -EFAULT
            if length:
                self.reset(sock)
                self.ports.release(peer)
            return length, []
        return self._fill(call, sock, f, fetch, length, None, ops, sock.sndbuf + peer.rcvbuf)

    def _unix_dgram_give(self, call, sock: Socket, f, fetch, length, dest, scm, ops):
        if sock.stream:  # SOCK_SEQPACKET: to its peer only, the address ignored
            if sock.err:
                err, sock.err = sock.err, 0
                return -err
            if sock.state != CONNECTED:
                return -ENOTCONN
            target = sock.peer
            if sock.shut & SEND_SHUTDOWN or not target.open or target.shut & RCV_SHUTDOWN:
                return -EPIPE
        else:
            if sock.shut & SEND_SHUTDOWN:
                return -EPIPE
            if length > sock.sndbuf - 32:
                return -EMSGSIZE
            if dest is not None:
                name = unix_name(dest)
                if isinstance(name, int):
                    return name
                target = self.find_unix(call, name)
                if isinstance(target, int):
                    return target
                if target.type != sock.type:
                    return -EPROTOTYPE
            elif sock.peer is None:
                return -ENOTCONN
            else:
                target = sock.peer
            if not target.open:
                if target is sock.peer:
                    self._disconnect(sock)
                return -ECONNREFUSED
            if target.peer not in (None, sock):
                return -EPERM
            if target.shut & RCV_SHUTDOWN:
                return -EPIPE
        passcred = sock.opt(SOL_SOCKET, SO_PASSCRED) or target.opt(SOL_SOCKET, SO_PASSCRED)
        if passcred and sock.name is None:
            self._autobind_unix(sock)
        full = target is not sock and target.peer is not sock
        full = full and len(target.queue) > MAX_DGRAM_QLEN  # unix_recvq_full
        if full or sock.inflight + length > sock.sndbuf:
            self._charge(call, ops, "unix_dgram_send")
            err = self.wait(call, sock, f, ops, SO_SNDTIMEO, on=target if full else None)
            if err == -ERESTARTSYS and full:
                sock.waiters.append(call.tcb)  # its own room may come first
            return err
        data = fetch()
        if data is None:
            return -EFAULT
        self._charge(call, ops, "unix_dgram_send")
        fds, creds = scm or (None, self.credentials(call.task, effective=False))
        spans = self._deliver(target, data, sock, sock.name, fds, creds)
        return length, spans

    def _udp_give(self, call, sock: Socket, f, fetch, length, dest, ops):
        if dest is not None:
            addr = inet_addr(sock.family, dest, unspec="all")
            if isinstance(addr, int):
                return addr
            if addr.port == 0:
                return -EINVAL
            to = self._destination(sock, dest, unspec="all")
            if isinstance(to, int):
                return to
        elif sock.state != CONNECTED:
            return -EDESTADDRREQ
        else:
            to = sock.peer_name
        if length > (UDP_MAX4 if to.v4 else UDP_MAX6):
            return -EMSGSIZE
        if sock.err:
            err, sock.err = sock.err, 0
            return -err
        err = self._source(sock, to, connecting=False)
        if err:
            return err
        data = fetch()
        if data is None:
            return -EFAULT
        self._charge(call, ops, "udp_send")
        ip = source_for(to.ip) if sock.name.wildcard else sock.name.ip
        src = Inet(ip, sock.name.port)
        target = self.ports.receiver(to, lambda peer: _same(peer, src))
        if target is None:  # port unreachable: a connected sender hears of it
            self.k.counts["netmgr.udp.unreachable"] += 1
            if sock.state == CONNECTED:
                ops.update(udp_send=1)  # the ICMP error's trip back (assumed as a datagram's)
                sock.err = ECONNREFUSED
                sock.changed(self.k)
            return length, []
        if target.queued + length > target.rcvbuf:
            self.k.counts["netmgr.udp.dropped"] += 1
            return length, []
        source = Inet(as_family(src.v4, target.family) if src.v4 else src.ip, src.port)
        return length, self._deliver(target, data, None, source, None, None)

    # ---- receiving -----------------------------------------------------------------------
    def _recv_vector(self, call, sock, f, vec, flags, ops):
        """A receive into the user buffers `vec`: a `Got`, or -errno; the copy logged and
        charged."""
        count = sum(n for _, n in vec)
        sink = lambda data: scatter(call.space, vec, data)  # noqa: E731
        got = self._take(call, sock, f, count, flags, ops, sink)
        if isinstance(got, int):
            return got
        for pa, size in got.spans:
            log_frame(self.k.mem, pa, size, READ)
        log_vector(self.k.mem, call.space, vec, len(got.data), WRITE)
        ops.update(copy_page=len(got.spans), copy_line=lines(len(got.data)))
        return got

    def _source_address(self, sock: Socket, got: Got) -> bytes:
        """The sender's address as recvfrom and recvmsg write it (empty: none, or TCP)."""
        if got.source is None or sock.tcp:
            return b""
        return encode(sock.family, got.source)

    def _take(self, call, sock: Socket, f, count: int, flags: int, ops, sink):
        """Receive up to `count` bytes: a `Got`, or -errno. `sink(data)` writes them out
        before they leave the queue (False: EFAULT, nothing taken)."""
        if flags & MSG_DONTWAIT:
            f = None
        if flags & MSG_OOB and sock.unix:  # an AF_UNIX stream's urgent byte is not modelled:
            return -EINVAL if sock.type == SOCK_STREAM else -EOPNOTSUPP  # there is never one
        if sock.tcp or sock.unix and sock.type == SOCK_STREAM:
            if sock.unix and sock.state != CONNECTED:
                return -EINVAL
            if sock.state == LISTENING:
                return -ENOTCONN
            self._charge(call, ops, "tcp_recv" if sock.tcp else "unix_recv")
            return self._stream_take(call, sock, f, count, flags, ops, sink)
        if sock.unix and sock.stream and sock.state != CONNECTED:
            return -ENOTCONN  # an unconnected SOCK_SEQPACKET
        self._charge(call, ops, "unix_dgram_recv" if sock.unix else "udp_recv")
        return self._dgram_take(call, sock, f, count, flags, ops, sink)

    def _empty(self, call, sock: Socket, f, ops) -> int:
        """Nothing queued: the pending error, 0 at the end (the reading side shut down),
        -ENOTCONN for a TCP socket not connected, or the wait (-EAGAIN, -ERESTARTSYS)."""
        if sock.err:
            err, sock.err = sock.err, 0
            return -err
        if sock.shut & RCV_SHUTDOWN:
            return 0
        if sock.tcp and sock.state == CLOSED:
            return -ENOTCONN
        return self.wait(call, sock, f, ops, SO_RCVTIMEO)

    def _stream_take(self, call, sock: Socket, f, count: int, flags: int, ops, sink):
        """A stream's bytes, from the head of its queue: what is there (MSG_WAITALL: all
        `count`, unless the end, an error or a handler comes first); after a wait the call
        goes on with what it had taken."""
        peek = bool(flags & MSG_PEEK)
        waitall = bool(flags & MSG_WAITALL) and not peek
        got = sock.progress.pop(call.tcb, None)
        if not (call.resumed and isinstance(got, Got)):
            got = Got()
        while True:
            if sock.queue and not count:
                return self._finish(got)  # nothing asked, something there
            stop = False
            if sock.queue:
                stop = self._take_bytes(sock, got, count, peek, sink)
                if stop is None:
                    return -EFAULT if not got.data else self._finish(got)
            if count and len(got.data) >= count or stop or got.data and not waitall:
                return self._finish(got)
            if got.data and call.task.signals.handler_pending():
                return self._finish(got)
            err = self._empty(call, sock, f, ops)
            if err == -ERESTARTSYS and got.data:
                sock.progress[call.tcb] = got
            if got.data and err != -ERESTARTSYS:
                return self._finish(got)
            return self._finish(got) if err == 0 else err

    def _take_bytes(self, sock: Socket, got: Got, count: int, peek: bool, sink):
        """Bytes from the head of a stream's queue into `got`: True when the read must stop
        there (they came with descriptors), False when it may go on, None for a fault."""
        passcred = sock.unix and sock.opt(SOL_SOCKET, SO_PASSCRED)
        want, taken, stop, fds = count - len(got.data), bytearray(), False, None
        for chunk in sock.queue:
            if passcred:
                if got.creds is None:
                    got.creds = chunk.creds
                elif chunk.creds != got.creds:
                    stop = True  # never glue messages from different writers
                    break
            if got.source is None:
                got.source = chunk.source
            n = min(len(chunk.data), want - len(taken))
            taken += chunk.data[:n]
            if chunk.fds:
                fds, stop = list(chunk.fds), True
            if n < len(chunk.data) or stop or len(taken) == want:
                break
        if sink is not None and not sink(bytes(got.data + taken)):
            return None
        got.spans += self._ring_spans(sock, 0, len(taken))
        got.data += taken
        if fds:
            got.fds += fds
            if peek:  # a peek passes them too: more references
                for held in fds:
                    self.peers["fsmgr"].hold(held)
        if not peek:
            self._consume_stream(sock, len(taken), bool(fds))
        return stop

    def _finish(self, got: Got) -> Got:
        got.length = len(got.data)
        return got

    def _ring_spans(self, sock: Socket, at: int, n: int) -> list[tuple[int, int]]:
        """The frames holding queue bytes [at, at + n), as (pa, length) pieces."""
        return [(sock.ring.frames[page] + off, size) for page, off, size in sock.ring.pieces(at, n)]

    def _consume_stream(self, sock: Socket, n: int, detach: bool) -> None:
        """`n` bytes leave the head of a stream's queue: the chunks they came in shrink or
        go (a chunk's descriptors are the receiver's now), their senders get the room."""
        left = n
        while sock.queue:
            chunk = sock.queue[0]
            k = min(left, len(chunk.data))
            del chunk.data[:k]
            left -= k
            if chunk.fds and detach:
                chunk.fds, detach = None, False
            if chunk.sender is not None and k:
                chunk.sender.inflight -= k
                chunk.sender.changed(self.k)
            if chunk.data:
                break
            sock.queue.popleft()
            if not left:
                break
        sock.queued -= n
        sock.ring.take(n)

    def _dgram_take(self, call, sock: Socket, f, count: int, flags: int, ops, sink):
        if not sock.queue:
            err = self._empty(call, sock, f, ops)
            if err == 0:
                return self._finish(Got())
            return err
        chunk = sock.queue[0]
        got = Got()
        size = len(chunk.data)
        got.data = bytearray(chunk.data[:count])
        if sink is not None and not sink(bytes(got.data)):
            return -EFAULT
        got.spans = self._ring_spans(sock, 0, len(got.data))
        got.source, got.creds = chunk.source, chunk.creds
        got.fds = list(chunk.fds or ())
        if size > count:
            got.flags |= MSG_TRUNC
        got.length = size if flags & MSG_TRUNC else len(got.data)
        if flags & MSG_PEEK:
            for held in got.fds:
                self.peers["fsmgr"].hold(held)
            return got
        sock.queue.popleft()
        sock.queued -= size
        sock.ring.take(size)
        if chunk.sender is not None:
            chunk.sender.inflight -= size
            chunk.sender.changed(self.k)
        for writer in list(sock.writers):
            writer.changed(self.k)
        return got

    def writable(self, sock: Socket) -> bool:
        """Room to send (Linux's unix_writable, sk_stream_is_writeable, sock_writeable)."""
        if sock.unix:
            if sock.inflight * 4 > sock.sndbuf:
                return False
            other = sock.peer
            if sock.type != SOCK_STREAM and other is not None and other.peer is not sock:
                return len(other.queue) <= MAX_DGRAM_QLEN
            return True
        if sock.tcp and sock.peer is not None:
            queued = max(sock.inflight - sock.peer.rcvbuf, 0)  # what waits in its send queue
            return queued * 3 <= sock.sndbuf * 2
        return True


def _same(a: Inet, b: Inet) -> bool:
    """The same address and port, an IPv4 one and its IPv4-mapped form alike."""
    return a.port == b.port and (a.v4 or a.ip) == (b.v4 or b.ip)

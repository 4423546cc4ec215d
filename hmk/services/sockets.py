"""The network manager's sockets: `vfs.Stream` objects in the callers' descriptor tables.

A `Socket` holds what Linux's struct sock holds for the calls hmk models: its family, type and
state, its name and its peer, its receive queue (the messages or bytes others sent it, each a
`Chunk`, whose bytes sit in a `Ring` of frames), its listen queue, the shutdown bits, a pending
error (sk_err) and its options. The protocols' rules live in the network manager
(hmk.services.netmgr, netio); what is here is the state and the readiness poll(2) reports, by
the rules of Linux's unix_poll, unix_dgram_poll, tcp_poll and datagram_poll.

The file manager hands a socket's read and write (and readv, writev), poll, select and close to
it (vfs.Stream); the read and write go on to the network manager as a call to it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from hmk.hw.pagetable import PAGE_SIZE
from hmk.linux.abi import (
    AF_INET6,
    AF_UNIX,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    POLLRDNORM,
    POLLWRBAND,
    POLLWRNORM,
    SOCK_DGRAM,
    SOCK_STREAM,
)
from hmk.services.copies import ring_spans
from hmk.services.vfs import Stream

# states (Linux's sk_state, as far as the calls tell them apart)
CLOSED, LISTENING, CONNECTING, CONNECTED = "closed", "listening", "connecting", "connected"
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2  # sk_shutdown's bits
SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN
READABLE = POLLIN | POLLRDNORM
WRITABLE = POLLOUT | POLLWRNORM | POLLWRBAND


class Ring:
    """Where a socket's queued bytes sit: a ring of CAPACITY bytes of pages, each given a frame
    the first time the ring reaches it (the network manager allocates them), `start` the ring
    position of the first queued byte, `used` the bytes queued. A queue that drains starts
    again at 0. CAPACITY is more than any queue grows (twice the largest buffer size Linux
    grants by default, rmem_max's 212,992 doubled)."""

    CAPACITY = 512 * 1024

    def __init__(self):
        self.start = self.used = 0
        self.frames: dict[int, int] = {}  # ring page -> frame

    def pieces(self, at: int, n: int):
        """(ring page, offset in it, length) of the n ring bytes from queue position `at`."""
        for off, length in ring_spans(self.start + at, n, self.CAPACITY):
            yield off // PAGE_SIZE, off % PAGE_SIZE, length

    def take(self, n: int) -> None:
        self.used -= n
        self.start = (self.start + n) % self.CAPACITY if self.used else 0


@dataclass
class Chunk:
    """What one send put in a receive queue: the bytes (what is left of them), the sending
    socket, the sender's name (a datagram's source), descriptors passed with it (SCM_RIGHTS:
    open files held while in flight) and the sender's credentials (pid, uid, gid)."""

    data: bytearray
    sender: object = None
    source: object = None
    fds: list | None = None
    creds: tuple | None = None


class Socket(Stream):
    """A socket (see the module docstring). `net` is the network manager that made it."""

    def __init__(self, net, family: int, type_: int, protocol: int):
        super().__init__()
        self.net, self.family, self.type, self.protocol = net, family, type_, protocol
        self.state = CLOSED
        self.name = None  # bytes (AF_UNIX) or sockaddr.Inet; None: unnamed
        self.peer: Socket | None = None  # the other end (a datagram socket's default target)
        self.peer_name = None  # an internet socket's peer address
        self.queue: deque[Chunk] = deque()
        self.queued = 0  # bytes in the queue
        self.ring = Ring()
        self.inflight = 0  # bytes it sent that sit in another socket's queue
        self.pending: deque[Socket] = deque()  # connections waiting for accept
        self.parked: deque[Socket] = deque()  # connects waiting for room in the backlog
        self.backlog = 0
        self.shut = 0  # RCV_SHUTDOWN | SEND_SHUTDOWN
        self.err = 0  # a pending error (an errno), reported once
        self.opts: dict[tuple[int, int], object] = {}  # (level, option) -> value set
        self.sndbuf, self.rcvbuf = net.default_buffers(family, type_)
        self.peercred: tuple | None = None  # (pid, uid, gid) of the peer when it connected
        self.listener: Socket | None = None  # the listener a connection waits in
        self.connect_reported = True  # False: a non-blocking connect said EINPROGRESS
        self.orphan = False  # closed by its program (a TCP end its peer may still write to)
        self.open = True  # False once released
        self.progress: dict[int, int] = {}  # thread -> what its call going on has done
        self.writers: set[Socket] = set()  # datagram sockets connected to this one
        self.received = False  # a message came while it was connected (SO_INCOMING_CPU)

    @property
    def stream(self) -> bool:
        """Connection-oriented: a byte stream (SOCK_STREAM) or SOCK_SEQPACKET."""
        return self.type != SOCK_DGRAM

    @property
    def unix(self) -> bool:
        return self.family == AF_UNIX

    @property
    def tcp(self) -> bool:
        return not self.unix and self.type == SOCK_STREAM

    @property
    def protocol_name(self) -> bytes:
        """Its protocol's name as Linux's struct proto has it (sockfs's read-only extended
        attribute system.sockprotoname)."""
        if self.unix:
            return b"UNIX-STREAM" if self.type == SOCK_STREAM else b"UNIX"
        return (b"TCP" if self.tcp else b"UDP") + (b"v6" if self.family == AF_INET6 else b"")

    def opt(self, level: int, name: int, default=0):
        return self.opts.get((level, name), default)

    # ---- vfs.Stream ------------------------------------------------------------------------
    def read(self, call, f, count: int):
        if not count:
            return b""  # a read of nothing is nothing at once (sock_read_iter)
        return self.net.stream_read(call, self, f, count)

    def write(self, call, f, data: bytes):
        return self.net.stream_write(call, self, f, data)

    def released(self, f) -> None:
        self.net.released(self)

    def ioctl(self, call, f, request: int, arg: int) -> int:
        return self.net.socket_ioctl(call, self, f, request, arg)

    def poll(self, f) -> int:
        """What the socket is ready for, as Linux's poll methods say: listening, readable with
        a connection to accept; otherwise in error with an error pending, readable with bytes
        or messages queued or its reading side shut down (with POLLRDHUP), hung up when both
        sides are shut down (a stream socket also when not connected), and writable with room
        to send (a TCP socket also once it may not send: the next send says why)."""
        if self.state == LISTENING:
            return READABLE if self.pending else 0
        mask = POLLERR if self.err else 0
        if self.shut & RCV_SHUTDOWN:
            mask |= READABLE | POLLRDHUP
        if self.shut == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.queue:
            mask |= READABLE
        if self.stream and self.state == CLOSED:
            mask |= POLLHUP
        if self.state == CONNECTING:
            return mask
        if self.tcp:
            if self.shut & SEND_SHUTDOWN or self.net.writable(self):
                mask |= POLLOUT | POLLWRNORM
        elif self.net.writable(self):
            mask |= WRITABLE
        return mask

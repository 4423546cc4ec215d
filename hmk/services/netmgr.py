"""The network manager (netmgr): sockets over a loopback-only network.

HM's public SDK names a separate network service (`net`, docs/sources.md); this is hmk's. It
keeps the sockets (hmk.services.sockets) and their namespaces: AF_UNIX names in the file system
(an S_IFSOCK node the file manager makes: vfs.SocketName) and abstract ones, and the TCP and
UDP ports of the loopback (127.0.0.0/8, ::1, the unspecified addresses; anything else is
unreachable: hmk.services.sockaddr). A socket is an object in the caller's descriptor table,
which is the file manager's: making one, accepting one or receiving descriptors asks the file
manager for a descriptor, and each socket call asks it for the one it names, each a call to
the file manager as the composition places it. read, write, poll, select and close on a socket
reach it through the file manager (vfs.Stream).

The calls are in three parts: the sockets' making, naming, connecting and options here, the
bytes (send and receive) in hmk.services.netio, the message forms (sendmsg, recvmsg, mmsg, the
control messages) in hmk.services.netmsg; the port table is hmk.services.ports, a socket's
ioctls hmk.services.netctl. Each answers as Linux 5.10 does: the errnos, the blocking (a call
that must wait blocks its thread on the socket and runs again when the socket changes; a
handler interrupts it as signal(7) says, a timeout set on the socket ends it with EAGAIN), the
readiness (hmk.services.sockets), SIGPIPE.

Not modelled: raw and packet sockets and other families (EAFNOSUPPORT, ESOCKTNOSUPPORT for
SOCK_RAW), out-of-band data, TCP's windows and retransmissions (the loopback delivers at
once), the garbage collection of AF_UNIX sockets passed inside themselves, IPv6 scope ids,
and network interfaces other than the loopback.
"""

from __future__ import annotations

import struct

from hmk.hw.events import READ, WRITE
from hmk.linux.abi import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    AF_UNSPEC,
    EACCES,
    EADDRINUSE,
    EAFNOSUPPORT,
    EAGAIN,
    EALREADY,
    EBADF,
    ECONNREFUSED,
    ECONNRESET,
    EFAULT,
    EINPROGRESS,
    EINVAL,
    EISCONN,
    ENOTCONN,
    ENOTSOCK,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    EPROTONOSUPPORT,
    EPROTOTYPE,
    ERESTARTSYS,
    ESOCKTNOSUPPORT,
    IPPROTO_TCP,
    IPPROTO_UDP,
    O_NONBLOCK,
    O_RDWR,
    SO_PASSCRED,
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_MAX,
    SOCK_NONBLOCK,
    SOCK_RAW,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    SOCK_TYPE_MASK,
    SOL_SOCKET,
    SOMAXCONN,
)
from hmk.services.copies import COPY_LINE, COPY_PAGE, log_user
from hmk.services.fsmgr import FsMgr, OpenFile
from hmk.services.fsnames import _int
from hmk.services.netctl import NetControls
from hmk.services.netio import NetIO
from hmk.services.netmsg import NetMsg
from hmk.services.ports import Ports, v6only
from hmk.services.service import ENTRY, Needs, Service
from hmk.services.sockaddr import (
    ANY4,
    ANY6,
    MAPPED,
    SOCKADDR_STORAGE,
    Inet,
    as_family,
    bindable,
    encode,
    family_of,
    inet_addr,
    route,
    source_for,
    unix_name,
)
from hmk.services.sockets import (
    CLOSED,
    CONNECTED,
    CONNECTING,
    LISTENING,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SHUTDOWN_MASK,
    Socket,
)
from hmk.services.sockopts import NS_PER_TICK, get_option, set_option
from hmk.services.vfs import SocketName

NPROTO = 46  # AF_MAX: a family from this on is no family at all
IPPROTO_MAX = 263
# the default buffer sizes: net.core.wmem_default and rmem_default (AF_UNIX, UDP), and
# net.ipv4.tcp_wmem[1] and tcp_rmem[1]
DEFAULT_BUFFER, TCP_SNDBUF, TCP_RCVBUF = 212992, 16384, 131072


class NetMgr(NetMsg, NetIO, NetControls, Service):
    name = "netmgr"
    default_class = "IC2"
    # faults in its callers' buffers (memmgr), sockets' descriptors (fsmgr)
    needs = Needs(calls=("memmgr", "fsmgr"))
    # Instructions per operation (hmk.services.service: a budget's convention). Sources: the
    # socket paths of hmk/calibration/linux_paths.json (docs/linux-paths.md, "Sockets"),
    # named by key: a call's inclusive count less the entry (ENTRY), the descriptor's lookup
    # (sockfd_lookup_light or __fdget: the file manager's fdget), a descriptor's allocation
    # (the file manager's fd_install), the bytes' copy (_copy_from_iter, _copy_to_iter: the
    # copy budgets below) and the security modules' hooks (AppArmor's, TOMOYO's: hmk models
    # none).
    costs = {
        "call": ENTRY,
        # ---- sockets made and released
        # socket 4,109 less the entry, get_unused_fd_flags 217, fd_install 27 and its hooks
        # 786.5 (socket_create, socket_post_create, sk_alloc, file_alloc) (unix_socket_close)
        "unix_make": 3066,
        # socket 4,309 less the same (tcp_socket_close)
        "tcp_make": 3267,
        # socket 3,971 less the same (udp_socket_close)
        "udp_make": 2929,
        # an unconnected socket's last close: close 275 and its final fput's task work 3,164,
        # less the file manager's close (the entry, fd_close, file_release) and the hooks 496
        # (file_free, sk_free) (unix_socket_close)
        "unix_free": 2143,
        # the same: close 275, task work 3,906 (tcp_socket_close)
        "tcp_free": 2885,
        # the same: close 275, task work 3,161 (udp_socket_close)
        "udp_free": 2140,
        # ---- connections
        # connect 3,224 less the entry, __fdget 36 and its hooks 599 (socket_connect, the new
        # socket's sk_alloc, unix_stream_connect) (unix_connect_accept_close)
        "unix_connect": 2577,
        # accept 3,759 less the entry, __fdget, the descriptor (fd_install) and its hooks
        # 479 (socket_accept, file_alloc, sock_graft) (unix_connect_accept_close)
        "unix_accept": 2988,
        # a connected socket's release beyond an unconnected one's: the two closes and their
        # task work (549 + 6,563, less their hooks 992) halved, less unix_socket_close's close
        # and task work (275 + 3,164 less 496) (unix_connect_accept_close)
        "unix_hangup": 117,
        # connect 30,713 (the handshake through the loopback: SYN, SYN-ACK, ACK, the new
        # socket) less the entry, __fdget and its hooks 883 (tcp_connect_accept_close)
        "tcp_connect": 29782,
        # accept 3,516 less the entry, __fdget, the descriptor and its hooks 459
        # (tcp_connect_accept_close)
        "tcp_accept": 2765,
        # as unix_hangup: (549 + 32,872 less 1,118) / 2 less (275 + 3,906 less 496): the FIN
        # exchange, the timers, the TIME_WAIT socket (tcp_connect_accept_close)
        "tcp_hangup": 12466,
        # bind 1,742 less the entry, sockfd_lookup_light 63 and security_socket_bind 319
        # (tcp_bind_listen_close); an AF_UNIX bind assumed the same (its name looked up and
        # entered; a path's node is the file manager's work)
        "bind": 1348,
        # listen 1,399 less the entry, the lookup and security_socket_listen 350
        # (tcp_bind_listen_close)
        "listen": 974,
        # assumed: a datagram socket's connect (its peer found and kept, a route looked up):
        # as bind
        "dgram_connect": 1348,
        # ---- data
        # sendto 1,926 less the entry, sockfd_lookup_light 63, the copy (_copy_from_iter 109)
        # and security_socket_sendmsg 164 (unix_stream_roundtrip)
        "unix_send": 1578,
        # recvfrom 1,736 less the entry, the lookup, the copy (_copy_to_iter 122) and
        # security_socket_recvmsg 118 (unix_stream_roundtrip)
        "unix_recv": 1421,
        # sendto 2,061 less the same and the hooks 52 (unix_may_send, getpeersec_dgram)
        # (unix_dgram_roundtrip)
        "unix_dgram_send": 1661,
        # recvfrom 1,686 less the same (unix_dgram_roundtrip)
        "unix_dgram_recv": 1371,
        # sendto 7,671 (the segment through the loopback and into the receiver's queue) less
        # the same, the copy (_copy_from_iter_full 137) and a segment's hooks 42
        # (tcp_roundtrip)
        "tcp_send": 7253,
        # recvfrom 7,912 (the receiver's ACK sent back included) less the same and a
        # segment's hooks (tcp_roundtrip)
        "tcp_recv": 7555,
        # sendto 5,663 less the same (udp_roundtrip)
        "udp_send": 5245,
        # recvfrom 1,549 less the same (udp_roundtrip)
        "udp_recv": 1234,
        "copy_page": COPY_PAGE,
        "copy_line": COPY_LINE,
        # assumed: a page of a receive queue's ring given a frame: as a pipe's page
        "buffer_page": FsMgr.costs["pipe_page"],
        # assumed: a call that waits (prepare_to_wait, finish_wait, the second look): as a
        # pipe read's wait
        "wait": FsMgr.costs["pipe_wait"],
        # ---- messages
        # sendmsg_copy_msghdr 413: a msghdr and its iovec copied in (unix_scm_rights_roundtrip);
        # recvmsg's (inlined there) assumed the same
        "msg_header": 413,
        # a message's descriptors: sendmsg 3,882 less msg_header, sendto's 1,926
        # (unix_stream_roundtrip) and one descriptor's scm_fd (unix_scm_rights_roundtrip)
        "scm_send": 1385,
        # per descriptor passed: fget_raw 84, unix_inflight 37, unix_notinflight 37
        # (unix_scm_rights_roundtrip)
        "scm_fd": 158,
        # descriptors received: recvmsg 3,307 less msg_header, recvfrom's 1,736
        # (unix_stream_roundtrip), security_file_receive 126 and the descriptor
        # (fd_install) (unix_scm_rights_roundtrip)
        "scm_recv": 788,
        # ---- names, options, state
        # getsockname 438 less the entry, the lookup and security_socket_getsockname 106
        # (socket_options); getpeername assumed the same
        "getname": 257,
        # setsockopt 666 and getsockopt 667 less their hooks (112, 113), their mean, less the
        # entry and the lookup (socket_options)
        "sockopt": 479,
        # assumed: an ioctl's own work on a socket (the protocol's ioctl method: its lock, a
        # queue's length or a field read, the int copied out): as getsockname's own work
        "ioctl": 257,
        # assumed: a control message written out (put_cmsg: SCM_CREDENTIALS): as getname's
        # own work (a small record copied out)
        "cmsg": 257,
        # assumed: shutdown's own work (the state's bits set, the peer woken): as sockopt
        "shutdown": 479,
    }

    def __init__(self, boot):
        super().__init__(boot)
        self.abstract: dict[bytes, Socket] = {}  # AF_UNIX abstract name -> socket
        self.bound: dict[SocketName, Socket] = {}  # AF_UNIX path's node -> socket
        self.ports = Ports(self.k.now_ns, boot.seed)
        self.next_autobind = boot.seed % 0x100000
        self.mmsg_progress: dict[int, int] = {}  # thread -> messages its mmsg call has done

    # ---- the file manager: descriptors --------------------------------------------------
    def _fs(self, call, serve):
        """`serve()` as the file manager's side of a call from here; -EAGAIN when it cannot
        be reached."""
        self.work()  # what was logged so far, before the call takes the log
        result = self.placement.call(call.task.proc, "fsmgr", serve)
        return -EAGAIN if result is None else result

    def _socket(self, call, fd, first=None):
        """(socket, open file) named by `fd`, or -errno (EBADF, ENOTSOCK). A call going on
        after its wait holds its descriptor already: no call to the file manager then.
        `first()`: the call's own checks (0 or -errno) once the descriptor is known to be
        open and before it is known to be a socket (accept4's flags, connect's address)."""
        fs = self.peers["fsmgr"]
        if call.resumed:
            f = fs.tables[call.task.pid].file(_int(fd))
            f = -EBADF if f is None else f
        else:
            f = self._fs(call, lambda: fs.descriptor(call.task, fd))
        if isinstance(f, int):
            return f
        err = first() if first is not None and not call.resumed else 0
        if err:
            return err
        if not isinstance(f.node, Socket):
            return -ENOTSOCK
        return f.node, f

    def _install(self, call, sock: Socket, flags: int) -> int:
        """A descriptor for `sock` (SOCK_NONBLOCK, SOCK_CLOEXEC), or -errno."""
        fs = self.peers["fsmgr"]
        f = OpenFile(sock, O_RDWR | flags & SOCK_NONBLOCK)
        return self._fs(call, lambda: fs.install(call.task, f, bool(flags & SOCK_CLOEXEC)))

    # ---- user memory -----------------------------------------------------------------------
    def _read(self, call, ptr: int, n: int) -> bytes | None:
        data = call.space.read(ptr, n) if n else b""
        if data is not None and n:
            log_user(self.k.mem, call.space, ptr, n, READ)
        return data

    def _write(self, call, ptr: int, data: bytes) -> bool:
        if not call.space.write(ptr, data):
            return False
        log_user(self.k.mem, call.space, ptr, len(data), WRITE)
        return True

    def _address(self, call, ptr: int, length: int):
        """The sockaddr a call passes in (move_addr_to_kernel), or -errno."""
        length = _int(length)
        if not 0 <= length <= SOCKADDR_STORAGE:
            return -EINVAL
        data = self._read(call, ptr, length)
        return -EFAULT if data is None else data

    def _give_address(self, call, raw: bytes, ptr: int, len_ptr: int, optional=True) -> int:
        """`raw` written out as a call's address (move_addr_to_user): as much as the caller's
        length allows, the full length written back; 0 or -errno. A NULL address asks for
        none where it is `optional` (recvfrom's, accept's; not getsockname's)."""
        if not ptr and optional:
            return 0
        got = self._read(call, len_ptr, 4)
        if got is None:
            return -EFAULT
        room = struct.unpack("<i", got)[0]
        if room < 0:
            return -EINVAL
        if not self._write(call, ptr, raw[:room]) or not self._write(
            call, len_ptr, struct.pack("<i", len(raw))
        ):
            return -EFAULT
        return 0

    def credentials(self, task, effective: bool = True) -> tuple:
        """(pid, uid, gid) of `task`: its effective ids (SO_PEERCRED), or its real ones (the
        credentials SCM_CREDENTIALS carries)."""
        k = 1 if effective else 0
        return task.pid, task.uids[k], task.gids[k]

    def default_buffers(self, family: int, type_: int) -> tuple[int, int]:
        if family != AF_UNIX and type_ == SOCK_STREAM:
            return TCP_SNDBUF, TCP_RCVBUF
        return DEFAULT_BUFFER, DEFAULT_BUFFER

    # ---- making sockets ------------------------------------------------------------------
    def _kind(self, family: int, type_: int, protocol: int):
        """(type, protocol) of a new socket as Linux's __sock_create and the families'
        create methods decide it, or -errno."""
        flags = type_ & ~SOCK_TYPE_MASK
        type_ &= SOCK_TYPE_MASK
        if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
            return -EINVAL
        if not 0 <= family < NPROTO:
            return -EAFNOSUPPORT
        if type_ >= SOCK_MAX:
            return -EINVAL
        if family == AF_UNIX:
            if protocol and protocol != AF_UNIX:
                return -EPROTONOSUPPORT
            if type_ == SOCK_RAW:
                type_ = SOCK_DGRAM  # as BSD: an AF_UNIX SOCK_RAW is a datagram socket
            if type_ not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
                return -ESOCKTNOSUPPORT
            return type_, 0
        if family not in (AF_INET, AF_INET6):
            return -EAFNOSUPPORT
        if not 0 <= protocol < IPPROTO_MAX:
            return -EINVAL
        wanted = {SOCK_STREAM: IPPROTO_TCP, SOCK_DGRAM: IPPROTO_UDP}.get(type_)
        if wanted is None:
            return -ESOCKTNOSUPPORT  # raw sockets and the rest are not modelled
        if protocol not in (0, wanted):
            return -EPROTONOSUPPORT
        return type_, wanted

    def _made(self, family: int, type_: int, protocol: int) -> Socket:
        self.k.counts["netmgr.sockets.made"] += 1
        return Socket(self, family, type_, protocol)

    def _make_budget(self, sock: Socket) -> str:
        return "unix_make" if sock.unix else "tcp_make" if sock.tcp else "udp_make"

    def sys_socket(self, call, family, type_, protocol, *_):
        family, protocol = _int(family), _int(protocol)
        kind = self._kind(family, _int(type_), protocol)
        if isinstance(kind, int):
            return kind
        sock = self._made(family, *kind)
        self.work(**{self._make_budget(sock): 1})
        fd = self._install(call, sock, _int(type_))
        if fd < 0:
            self._release(sock)
        return fd

    def sys_socketpair(self, call, family, type_, protocol, sv, *_):
        """Linux's order (__sys_socketpair): the flags, the two descriptors' numbers written
        out (EFAULT before the kind of socket is known), the sockets made, the family's
        pairing (only AF_UNIX pairs: EOPNOTSUPP)."""
        family, protocol = _int(family), _int(protocol)
        if _int(type_) & ~SOCK_TYPE_MASK & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
            return -EINVAL
        table = self.peers["fsmgr"].tables[call.task.pid]
        numbers = table.lowest_fds(2)
        if isinstance(numbers, int):
            return numbers
        if not self._write(call, sv, struct.pack("<ii", *numbers)):
            return -EFAULT
        kind = self._kind(family, _int(type_), protocol)
        if isinstance(kind, int):
            return kind
        if family != AF_UNIX:
            return -EOPNOTSUPP
        a, b = self._made(family, *kind), self._made(family, *kind)
        self.work(unix_make=2)  # two sockets, paired (their pairing is two pointers set)
        a.peer, b.peer = b, a
        a.state = b.state = CONNECTED
        a.peercred = b.peercred = self.credentials(call.task)
        fds = []
        for sock in (a, b):
            fd = self._install(call, sock, _int(type_))
            if fd < 0:
                self._close_fds(call, fds)
                for never in (a, b)[len(fds) :]:
                    self._release(never)
                return fd
            fds.append(fd)
        if not self._write(call, sv, struct.pack("<ii", *fds)):
            self._close_fds(call, fds)
            return -EFAULT
        return 0

    def _close_fds(self, call, fds: list[int]) -> None:
        fs = self.peers["fsmgr"]
        for fd in fds:
            self._fs(call, lambda fd=fd: fs.tables[call.task.pid].close(fd))

    # ---- names --------------------------------------------------------------------------
    def sys_bind(self, call, fd, addr, addrlen, *_):
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock = got[0]
        with self.working(bind=1):
            raw = self._address(call, addr, addrlen)
            if isinstance(raw, int):
                return raw
            if sock.unix:
                return self._unix_bind(call, sock, raw)
            return self._inet_bind(call, sock, raw)

    def _unix_bind(self, call, sock: Socket, raw: bytes) -> int:
        if len(raw) == 2 and family_of(raw) == AF_UNIX:
            if sock.name is None:
                self._autobind_unix(sock)
            return 0
        name = unix_name(raw)
        if isinstance(name, int):
            return name
        fs = self.peers["fsmgr"]
        if sock.name is not None:  # bound already: a path that exists is still EADDRINUSE
            taken = name[0] != 0 and not isinstance(
                self._fs(call, lambda: fs.named(call.task, name, follow=False)), int
            )
            return -EADDRINUSE if taken else -EINVAL
        if name[0] == 0:
            if name in self.abstract:
                return -EADDRINUSE
            self.abstract[name] = sock
        else:
            node = self._fs(call, lambda: fs.bind_name(call.task, name, 0o777))
            if isinstance(node, int):
                return node
            self.bound[node] = sock
        sock.name = name
        return 0

    def _autobind_unix(self, sock: Socket) -> None:
        """An abstract name of five hex digits (Linux's unix_autobind)."""
        while True:
            self.next_autobind = (self.next_autobind + 1) % 0x100000
            name = b"\0" + b"%05x" % self.next_autobind
            if name not in self.abstract:
                break
        self.abstract[name] = sock
        sock.name = name

    def _inet_bind(self, call, sock: Socket, raw: bytes) -> int:
        addr = inet_addr(sock.family, raw, unspec="any")
        if isinstance(addr, int):
            return addr
        err = bindable(sock.family, addr.ip, v6only(sock))
        if err:
            return err
        if 0 < addr.port < 1024 and call.task.uids[1] != 0:
            return -EACCES  # a privileged port (CAP_NET_BIND_SERVICE)
        if sock.state != CLOSED or sock.name is not None and sock.name.port:
            return -EINVAL
        return self.ports.claim(sock, addr.ip, addr.port)

    def sys_getsockname(self, call, fd, addr, addrlen, *_):
        return self._getname(call, fd, addr, addrlen, peer=False)

    def sys_getpeername(self, call, fd, addr, addrlen, *_):
        return self._getname(call, fd, addr, addrlen, peer=True)

    def _getname(self, call, fd, addr, addrlen, peer: bool):
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock = got[0]
        with self.working(getname=1):
            name = self.peer_address(sock) if peer else self.own_address(sock)
            if isinstance(name, int):
                return name
            return self._give_address(call, name, addr, addrlen, optional=False) or 0

    def own_address(self, sock: Socket) -> bytes:
        if sock.unix or sock.name is not None:
            return encode(sock.family, sock.name)
        return encode(sock.family, Inet(ANY4 if sock.family == AF_INET else ANY6, 0))

    def peer_address(self, sock: Socket):
        """The peer's address, or -ENOTCONN."""
        if sock.unix:
            if sock.peer is None or sock.stream and sock.state != CONNECTED:
                return -ENOTCONN
            return encode(AF_UNIX, sock.peer.name)
        if sock.peer_name is None or sock.state != CONNECTED:
            return -ENOTCONN
        return encode(sock.family, sock.peer_name)

    # ---- listening and accepting ---------------------------------------------------------
    def sys_listen(self, call, fd, backlog, *_):
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock = got[0]
        with self.working(listen=1):
            if not sock.stream:
                return -EOPNOTSUPP
            if sock.state not in (CLOSED, LISTENING) or sock.peer is not None:
                return -EINVAL
            if not sock.unix and sock.peer_name is not None:
                return -EINVAL  # connected once (a reset TCP socket stays so)
            backlog = _int(backlog) & 0xFFFFFFFF
            if sock.unix:
                if sock.name is None:
                    return -EINVAL  # no listening on an unbound AF_UNIX socket
            elif sock.state == CLOSED:
                name = sock.name or Inet(ANY4 if sock.family == AF_INET else ANY6, 0)
                err = self.ports.claim(sock, name.ip, name.port)
                if err:
                    return err
            sock.backlog = min(backlog, SOMAXCONN)
            sock.state = LISTENING
            if sock.unix:  # what its connections' clients see as SO_PEERCRED
                sock.peercred = self.credentials(call.task)
            sock.changed(self.k)
            return 0

    def sys_accept(self, call, fd, addr, addrlen, *_):
        return self.sys_accept4(call, fd, addr, addrlen, 0)

    def sys_accept4(self, call, fd, addr, addrlen, flags, *_):
        bad = _int(flags) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)
        got = self._socket(call, fd, first=lambda: -EINVAL if bad else 0)
        if isinstance(got, int):
            return got
        sock, f = got
        with self.working() as ops:
            free = self.peers["fsmgr"].tables[call.task.pid].lowest_fd()
            if free < 0 and not call.resumed:
                return free  # a descriptor is found before the socket is asked (do_accept)
            if not sock.stream:
                return -EOPNOTSUPP
            if sock.state != LISTENING:
                return -EINVAL
            if not sock.pending:
                return self.wait(call, sock, f, ops, SO_RCVTIMEO)
            child = sock.pending.popleft()
            ops.update({"unix_accept" if sock.unix else "tcp_accept": 1})
            peer = child.peer.name if sock.unix else child.peer_name
            err = self._give_address(call, encode(child.family, peer), addr, addrlen)
            if err:
                self.released(child)
                return err
            new = self._install(call, child, _int(flags))
            if new < 0:
                sock.pending.appendleft(child)
                return new
            child.listener = None
            self._unpark(sock)
            sock.changed(self.k)  # room in the backlog: a connect that waits goes on
            return new

    def wait(self, call, sock: Socket, f, ops, timeout: int, on=None) -> int:
        """The calling thread waits for `sock` (or `on`) to change: -EAGAIN when it may not
        (a non-blocking file, a MSG_DONTWAIT, a timeout set to 0 or passed), else it blocks
        (until the timeout set by `timeout`, SO_RCVTIMEO or SO_SNDTIMEO) and the call runs
        again when it wakes (-ERESTARTSYS)."""
        if f is None or f.flags & O_NONBLOCK:
            return -EAGAIN
        limit = sock.opt(SOL_SOCKET, timeout, None)
        queue = (on or sock).waiters
        k = self.k
        if limit is None:
            k.block_current(queue)
        elif not k.sleep_until(k.wait_deadline(limit * NS_PER_TICK), queue):
            return -EAGAIN
        ops.update(wait=1)
        return -ERESTARTSYS

    # ---- connecting ---------------------------------------------------------------------
    def sys_connect(self, call, fd, addr, addrlen, *_):
        raw = b""

        def address() -> int:  # copied in before the descriptor is known to be a socket
            nonlocal raw
            raw = self._address(call, addr, addrlen)
            return raw if isinstance(raw, int) else 0

        got = self._socket(call, fd, first=address)
        if isinstance(got, int):
            return got
        sock, f = got
        with self.working() as ops:
            if call.resumed:
                raw = self._address(call, addr, addrlen)
            if isinstance(raw, int):
                return raw
            if sock.unix:
                if sock.stream:
                    return self._unix_connect(call, sock, f, raw, ops)
                return self._dgram_connect(call, sock, raw, ops)
            if sock.tcp:
                return self._tcp_connect(call, sock, f, raw, ops)
            return self._udp_connect(call, sock, raw, ops)

    def find_unix(self, call, name: bytes):
        """The socket an AF_UNIX name names, or -errno (a path the walk cannot find is its
        errno; a name no socket holds, or a node that is no socket's, ECONNREFUSED)."""
        if name[0] == 0:
            sock = self.abstract.get(name)
        else:
            fs = self.peers["fsmgr"]
            node = self._fs(call, lambda: fs.named(call.task, name))
            if isinstance(node, int):
                return node
            sock = self.bound.get(node)
        return -ECONNREFUSED if sock is None else sock

    def _unix_peer(self, call, sock: Socket, name: bytes):
        """The socket an AF_UNIX connect names, of the connecting socket's type, or -errno;
        a socket passing credentials gets a name first (unix_autobind)."""
        if sock.opt(SOL_SOCKET, SO_PASSCRED) and sock.name is None:
            self._autobind_unix(sock)
        target = self.find_unix(call, name)
        if not isinstance(target, int) and target.type != sock.type:
            return -EPROTOTYPE
        return target

    def _unix_connect(self, call, sock: Socket, f, raw: bytes, ops) -> int:
        """Linux's order (unix_stream_connect): the address, the listener it names (found,
        listening, with room in its backlog: else a wait), then the connecting socket's own
        state (connected: EISCONN; listening: EINVAL)."""
        name = unix_name(raw)
        if isinstance(name, int):
            return name
        target = self._unix_peer(call, sock, name)
        if isinstance(target, int):
            return target
        if target.state != LISTENING or target.shut & RCV_SHUTDOWN:
            return -ECONNREFUSED
        if len(target.pending) > target.backlog:  # unix_recvq_full: wait for an accept
            return self.wait(call, sock, f, ops, SO_SNDTIMEO, on=target)
        if sock.state == CONNECTED:
            return -EISCONN
        if sock.state == LISTENING:
            return -EINVAL
        ops.update(unix_connect=1)
        child = self._made(AF_UNIX, sock.type, 0)
        child.name, child.peer, child.state = target.name, sock, CONNECTED
        child.peercred = self.credentials(call.task)
        child.listener = target
        sock.peer, sock.state, sock.peercred = child, CONNECTED, target.peercred
        target.pending.append(child)
        target.changed(self.k)
        return 0

    def _dgram_connect(self, call, sock: Socket, raw: bytes, ops) -> int:
        """An AF_UNIX datagram socket's default target (AF_UNSPEC: none)."""
        ops.update(dgram_connect=1)
        if family_of(raw) == AF_UNSPEC and len(raw) >= 2:
            self._disconnect(sock)
            return 0
        name = unix_name(raw)
        if isinstance(name, int):
            return name
        target = self._unix_peer(call, sock, name)
        if isinstance(target, int):
            return target
        if target.peer not in (None, sock):
            return -EPERM  # it is connected to another socket
        self._disconnect(sock)
        sock.peer, sock.state = target, CONNECTED
        target.writers.add(sock)
        return 0

    def _disconnect(self, sock: Socket) -> None:
        if sock.peer is not None:
            sock.peer.writers.discard(sock)
        sock.peer, sock.peer_name, sock.state = None, None, CLOSED

    def _destination(self, sock: Socket, raw: bytes, unspec: str = ""):
        """Where an internet socket's connect or sendto goes: (the routed address, its port),
        or -errno."""
        addr = inet_addr(sock.family, raw, unspec)
        if isinstance(addr, int):
            return addr
        dest = route(sock.family, addr.ip, v6only(sock))
        return dest if isinstance(dest, int) else Inet(dest, addr.port)

    def _source(self, sock: Socket, dest: Inet, connecting: bool) -> int:
        """An internet socket about to send to `dest` gets a name if it has none (an
        ephemeral port); a connect also fixes its address to the loopback's own. 0 or
        -errno."""
        if sock.name is not None and sock.name.port:
            if connecting and sock.name.wildcard:
                sock.name = Inet(source_for(dest.ip), sock.name.port)
            return 0
        ip = source_for(dest.ip) if connecting else (ANY4 if sock.family == AF_INET else ANY6)
        return self.ports.claim(sock, ip, 0)

    def _tcp_connect(self, call, sock: Socket, f, raw: bytes, ops) -> int:
        if sock.state == CONNECTED:
            if not sock.connect_reported:  # a non-blocking connect's completion, reported
                sock.connect_reported = True
                return 0
            return -EISCONN
        if sock.state == LISTENING:
            return -EISCONN
        if sock.state == CONNECTING:
            if not call.resumed and f.flags & O_NONBLOCK:
                return -EALREADY
            return self.wait(call, sock, f, ops, SO_SNDTIMEO)
        if sock.peer_name is not None:  # connected once (a reset one stays so)
            if sock.err:
                err, sock.err = sock.err, 0
                return -err
            return -EISCONN
        if len(raw) < 2:
            return -EINVAL
        dest = self._destination(sock, raw)
        if isinstance(dest, int):
            return dest
        ops.update(tcp_connect=1)
        old = sock.name
        err = self._source(sock, dest, connecting=True)
        if err:
            return err
        listener = self.ports.listener(dest)
        if listener is None:  # an address connect chose is given back (tcp_done)
            if old is None or not old.port:
                self.ports.release(sock)
            sock.name = old
            return -ECONNREFUSED
        sock.peer_name = Inet(dest.ip, dest.port)
        if len(listener.pending) > listener.backlog:  # no room: the SYN waits (is retried)
            sock.state, sock.listener = CONNECTING, listener
            listener.parked.append(sock)
            if f.flags & O_NONBLOCK:
                sock.connect_reported = False
                return -EINPROGRESS
            return self.wait(call, sock, f, ops, SO_SNDTIMEO)
        self._establish(sock, listener)
        if f.flags & O_NONBLOCK:
            sock.connect_reported = False
            return -EINPROGRESS  # as Linux: the handshake completes after connect returns
        return 0

    def _establish(self, client: Socket, listener: Socket) -> None:
        """The handshake done: a new socket for the listener's end (its options the
        listener's) waits in the listener's backlog, connected to `client`."""
        child = self._made(listener.family, SOCK_STREAM, IPPROTO_TCP)
        child.opts = dict(listener.opts)
        child.sndbuf, child.rcvbuf = listener.sndbuf, listener.rcvbuf
        dest, src = client.peer_name, client.name
        child.name = Inet(_in_family(dest.ip, listener.family), listener.name.port)
        child.peer_name = Inet(_in_family(src.ip, listener.family), src.port)
        child.peer, child.state, child.listener = client, CONNECTED, listener
        client.peer, client.state, client.listener = child, CONNECTED, None
        self.ports.join(child)
        listener.pending.append(child)
        listener.changed(self.k)
        client.changed(self.k)

    def _unpark(self, listener: Socket) -> None:
        """A connect that waited for room in `listener`'s backlog is completed."""
        while listener.parked and len(listener.pending) <= listener.backlog:
            self._establish(listener.parked.popleft(), listener)

    def _udp_connect(self, call, sock: Socket, raw: bytes, ops) -> int:
        ops.update(dgram_connect=1)
        if len(raw) < 2:
            return -EINVAL
        if family_of(raw) == AF_UNSPEC:
            self._disconnect(sock)
            return 0
        dest = self._destination(sock, raw)
        if isinstance(dest, int):
            return dest
        err = self._source(sock, dest, connecting=True)
        if err:
            return err
        sock.peer_name, sock.state = dest, CONNECTED
        return 0

    # ---- shutting down ------------------------------------------------------------------
    def sys_shutdown(self, call, fd, how, *_):
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock = got[0]
        how = _int(how)
        with self.working(shutdown=1) as ops:
            if not 0 <= how <= 2:
                return -EINVAL
            bits = how + 1  # SHUT_RD, SHUT_WR, SHUT_RDWR as RCV_ and SEND_SHUTDOWN bits
            if sock.unix:
                sock.shut |= bits
                peer = sock.peer
                if peer is not None and sock.stream:
                    peer.shut |= (bits & RCV_SHUTDOWN) << 1 | (bits & SEND_SHUTDOWN) >> 1
                    peer.changed(self.k)
                sock.changed(self.k)
                return 0
            if sock.state == LISTENING:
                if bits & RCV_SHUTDOWN:  # it stops listening
                    self._stop_listening(sock)
                return 0
            err = 0 if sock.state == CONNECTED else -ENOTCONN
            fin = sock.tcp and sock.state == CONNECTED and bits & ~sock.shut & SEND_SHUTDOWN
            sock.shut |= bits  # even unconnected, as inet_shutdown does
            if fin and sock.peer is not None:
                ops.update(tcp_send=1)  # the FIN: a segment through the loopback (assumed)
                sock.peer.shut |= RCV_SHUTDOWN
                sock.peer.changed(self.k)
            sock.changed(self.k)
            return err

    # ---- options ------------------------------------------------------------------------
    def sys_setsockopt(self, call, fd, level, name, value, length, *_):
        got = self._socket(call, fd)  # the descriptor first (Linux 6.x's __sys_setsockopt)
        if isinstance(got, int):
            return got
        sock = got[0]
        with self.working(sockopt=1):
            length = _int(length)
            if length < 0:
                return -EINVAL
            read = lambda n: self._read(call, value, n)  # noqa: E731
            return set_option(sock, _int(level), _int(name), length, read)

    def sys_getsockopt(self, call, fd, level, name, value, len_ptr, *_):
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock = got[0]
        with self.working(sockopt=1):
            if sock.unix and _int(level) != SOL_SOCKET:
                return -EOPNOTSUPP  # (AF_UNIX has no options of its own: before the length)
            raw = self._read(call, len_ptr, 4)
            if raw is None:
                return -EFAULT
            room = struct.unpack("<i", raw)[0]
            if room < 0:
                return -EINVAL
            data = get_option(sock, _int(level), _int(name))
            if isinstance(data, int):
                return data
            data = data[:room]
            if not self._write(call, value, data) or not self._write(
                call, len_ptr, struct.pack("<i", len(data))
            ):
                return -EFAULT
            return 0

    # ---- releasing ----------------------------------------------------------------------
    def released(self, sock: Socket) -> None:
        """`sock`'s last descriptor went (or, never accepted, its listener did): a call to
        the network manager from the one closing it."""
        self.placement.call(self.k.current, "netmgr", lambda: self._release(sock) or True)

    def _release(self, sock: Socket) -> None:
        if not sock.open:
            return
        connected = sock.state == CONNECTED
        kind = "unix" if sock.unix else "tcp" if sock.tcp else "udp"
        self.work(**{f"{kind}_free": 1, f"{kind}_hangup": int(connected and sock.stream)})
        sock.open = False
        self.k.counts["netmgr.sockets.released"] += 1
        if sock.state == LISTENING:
            self._stop_listening(sock)
        if sock.unix:
            self._release_unix(sock)
        elif sock.tcp:
            self._release_tcp(sock)
        else:
            self.ports.release(sock)
        self._free(sock)

    def _release_unix(self, sock: Socket) -> None:
        if sock.name is not None:
            if self.abstract.get(sock.name) is sock:
                del self.abstract[sock.name]
            for node in [n for n, s in self.bound.items() if s is sock]:
                del self.bound[node]  # the node stays: connecting to it is refused
        peer = sock.peer
        if peer is not None and sock.stream:
            peer.shut = SHUTDOWN_MASK
            if sock.queue or sock.listener is not None:
                peer.err = ECONNRESET  # unread data, or never accepted
            peer.changed(self.k)
        self._disconnect(sock)
        for writer in list(sock.writers):
            writer.changed(self.k)  # its next send finds the socket gone

    def _release_tcp(self, sock: Socket) -> None:
        peer = sock.peer
        if sock.state == CONNECTING:
            sock.listener.parked.remove(sock)
        if sock.state != CONNECTED or peer is None:
            self.ports.release(sock)
            return
        if sock.queue or sock.listener is not None:  # unread data: a reset, no TIME_WAIT
            self.ports.release(sock)
            if peer.open:
                self.reset(peer)
            return
        if not sock.shut & SEND_SHUTDOWN:
            peer.shut |= RCV_SHUTDOWN  # the FIN
            peer.changed(self.k)
        if peer.open:  # it waits for the peer's close (FIN_WAIT2) holding its port
            sock.orphan = True
            return
        self.ports.release(sock)
        if peer.orphan:  # the peer closed first: its port is held in TIME_WAIT
            self.ports.time_wait(peer)

    def reset(self, sock: Socket) -> None:
        """A TCP reset reaches `sock`: its error (EPIPE after the peer's FIN, ECONNRESET
        before), both sides shut, the connection over."""
        sock.err = EPIPE if sock.shut & RCV_SHUTDOWN else ECONNRESET
        sock.shut, sock.state = SHUTDOWN_MASK, CLOSED
        if not sock.open or sock.orphan:
            self.ports.release(sock)
        sock.changed(self.k)

    def _stop_listening(self, sock: Socket) -> None:
        """A listener closes: the connections it did not accept are reset, the connects
        waiting for its backlog refused."""
        sock.state = CLOSED
        while sock.pending:
            child = sock.pending.popleft()
            self._release(child)
        while sock.parked:
            client = sock.parked.popleft()
            client.state, client.err, client.listener = CLOSED, ECONNREFUSED, None
            client.changed(self.k)
        sock.changed(self.k)

    def _free(self, sock: Socket) -> None:
        """A socket's queue goes: descriptors in flight dropped, its senders' room given
        back, its frames freed."""
        fs = self.peers["fsmgr"]
        while sock.queue:
            chunk = sock.queue.popleft()
            for f in chunk.fds or ():
                fs.drop(f)
            if chunk.sender is not None:
                chunk.sender.inflight -= len(chunk.data)
                chunk.sender.changed(self.k)
        sock.queued = 0
        for pa in sock.ring.frames.values():
            self.k.frames.free(pa)
        sock.ring.frames.clear()
        sock.changed(self.k)


def _in_family(ip: bytes, family: int) -> bytes:
    """An address as a socket of `family` sees it (IPv4 as IPv4-mapped for AF_INET6)."""
    if family == AF_INET6 and len(ip) == 4:
        return as_family(ip, AF_INET6)
    if family == AF_INET and len(ip) == 16 and ip.startswith(MAPPED):
        return ip[12:]
    return ip

"""The loopback's TCP and UDP ports: which sockets hold each (and which ports an active close
left in TIME_WAIT), Linux's rules for two bindings of one port, the ephemeral range, and the
socket a connection or a datagram reaches.

A binding is a socket's family, its bound address (an `Inet`: four or sixteen bytes, the
unspecified address meaning all of this machine's) and IPV6_V6ONLY: an IPv6 socket bound to ::
answers for IPv4 too unless it is IPv6-only, one bound to an IPv4-mapped address for that IPv4
address only.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.linux.abi import (
    AF_INET,
    AF_INET6,
    EADDRINUSE,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_V6ONLY,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SOL_SOCKET,
)
from hmk.services.sockaddr import ANY4, ANY6, MAPPED, Inet
from hmk.services.sockets import LISTENING

EPHEMERAL = (32768, 60999)  # net.ipv4.ip_local_port_range
TIME_WAIT_NS = 60 * 10**9  # TCP_TIMEWAIT_LEN: how long an active close holds its port


@dataclass
class TimeWait:
    """A TCP port an active close left held: it conflicts with a bind unless both the closed
    socket and the new one set SO_REUSEADDR."""

    family: int
    name: Inet
    v6only: bool
    reuse: bool
    until: int  # ns on the simulated clock


def v6only(sock) -> bool:
    return bool(sock.opt(IPPROTO_IPV6, IPV6_V6ONLY))


def _covers(family: int, ip: bytes, only6: bool) -> tuple:
    """The IPv4 and IPv6 addresses a binding answers for: each None (none), "any", or one."""
    if family == AF_INET:
        return ("any" if ip == ANY4 else ip), None
    if ip == ANY6:
        return (None if only6 else "any"), "any"
    if ip.startswith(MAPPED):
        return ip[12:], None
    return None, ip


def overlap(a: tuple, b: tuple) -> bool:
    """Do two bindings ((family, ip, v6only) each) answer for a common address?"""
    return any(
        x is not None and y is not None and (x == "any" or y == "any" or x == y)
        for x, y in zip(_covers(*a), _covers(*b), strict=True)
    )


def match(sock, ip: bytes, v4: bytes | None) -> int:
    """How well `sock`'s bound address answers for `ip` (`v4`: its IPv4 form, if it has one):
    the address itself 3, the unspecified address 2 (1 for an IPv6 socket's :: taking IPv4),
    -1 not at all."""
    name = sock.name
    if v4 is not None:
        if sock.family == AF_INET:
            return 3 if name.ip == v4 else 2 if name.ip == ANY4 else -1
        if name.ip == MAPPED + v4:
            return 3
        return 1 if name.ip == ANY6 and not v6only(sock) else -1
    if sock.family != AF_INET6:
        return -1
    return 3 if name.ip == ip else 2 if name.ip == ANY6 else -1


class Ports:
    """The holders of each TCP and UDP port; `now()` the simulated clock in ns (TIME_WAIT's)."""

    def __init__(self, now, seed: int = 0):
        self.now = now
        self.tables: dict[int, dict[int, list]] = {IPPROTO_TCP: {}, IPPROTO_UDP: {}}
        self.next = {p: EPHEMERAL[0] + seed % 1000 for p in self.tables}

    def holders(self, protocol: int, port: int) -> list:
        """The sockets and TIME_WAIT records holding `port` (expired records dropped)."""
        owners = self.tables[protocol].get(port, [])
        now = self.now()
        owners[:] = [o for o in owners if not isinstance(o, TimeWait) or o.until > now]
        return owners

    def claim(self, sock, ip: bytes, port: int) -> int:
        """`sock` takes (ip, port), an ephemeral port for 0, and that is its name: 0, or
        -EADDRINUSE."""
        if port == 0:
            port = self._ephemeral(sock.protocol)
            if port is None:
                return -EADDRINUSE
        elif self._conflict(sock, ip, port):
            return -EADDRINUSE
        self.release(sock)
        sock.name = Inet(ip, port)
        self.tables[sock.protocol].setdefault(port, []).append(sock)
        return 0

    def join(self, sock) -> None:
        """`sock` holds the port its name gives with the others (an accepted connection)."""
        self.tables[sock.protocol].setdefault(sock.name.port, []).append(sock)

    def release(self, sock) -> None:
        if sock.name is None or sock.unix:
            return
        owners = self.tables[sock.protocol].get(sock.name.port, [])
        if sock in owners:
            owners.remove(sock)

    def time_wait(self, sock) -> None:
        """`sock`, closed first, leaves its port in TIME_WAIT."""
        owners = self.tables[IPPROTO_TCP].get(sock.name.port, [])
        if sock in owners:
            reuse = bool(sock.opt(SOL_SOCKET, SO_REUSEADDR))
            until = self.now() + TIME_WAIT_NS
            owners[owners.index(sock)] = TimeWait(
                sock.family, sock.name, v6only(sock), reuse, until
            )

    def _conflict(self, sock, ip: bytes, port: int) -> bool:
        """Linux's bind conflict rules (inet_csk_bind_conflict, udp_lib_lport_inuse): two
        bindings of one port that answer for a common address conflict unless both set
        SO_REUSEADDR (and, for TCP, the other does not listen), or both SO_REUSEPORT. listen
        asks again, so that of two bound with SO_REUSEADDR only one listens."""
        mine = (sock.family, ip, v6only(sock))
        reuse = bool(sock.opt(SOL_SOCKET, SO_REUSEADDR))
        reuseport = bool(sock.opt(SOL_SOCKET, SO_REUSEPORT))
        for other in self.holders(sock.protocol, port):
            if other is sock:
                continue
            if isinstance(other, TimeWait):
                theirs = (other.family, other.name.ip, other.v6only)
                other_reuse, other_port, other_listens = other.reuse, False, False
            else:
                theirs = (other.family, other.name.ip, v6only(other))
                other_reuse = bool(other.opt(SOL_SOCKET, SO_REUSEADDR))
                other_port = bool(other.opt(SOL_SOCKET, SO_REUSEPORT))
                other_listens = other.state == LISTENING
            if not overlap(mine, theirs):
                continue
            tcp = sock.protocol == IPPROTO_TCP
            if reuse and other_reuse and not (tcp and other_listens):
                continue
            if reuseport and other_port:
                continue
            return True
        return False

    def _ephemeral(self, protocol: int) -> int | None:
        """A port of Linux's ephemeral range no socket holds."""
        lo, hi = EPHEMERAL
        for _ in range(hi - lo + 1):
            port = self.next[protocol]
            self.next[protocol] = lo + (port + 1 - lo) % (hi - lo + 1)
            if not self.holders(protocol, port):
                return port
        return None

    def listener(self, dest: Inet):
        """The TCP socket listening on `dest`: one bound to the address itself before one
        bound to the unspecified address, an AF_INET one before an AF_INET6 one."""
        return self._best(IPPROTO_TCP, dest, lambda sock: sock.state == LISTENING)

    def receiver(self, to: Inet, same_as_peer):
        """The UDP socket a datagram to `to` reaches (a connected one only if
        `same_as_peer(its peer)`), as `listener` chooses."""
        return self._best(
            IPPROTO_UDP, to, lambda s: s.peer_name is None or same_as_peer(s.peer_name)
        )

    def _best(self, protocol: int, to: Inet, eligible):
        best, score = None, -1
        for sock in self.holders(protocol, to.port):
            if isinstance(sock, TimeWait) or not eligible(sock):
                continue
            s = match(sock, to.ip, to.v4)
            if s > score:
                best, score = sock, s
        return best

"""Socket options as Linux's setsockopt and getsockopt answer them (sock_setsockopt,
sock_getsockopt, do_tcp_setsockopt, ip_setsockopt, ipv6_setsockopt, and their getters).

SOL_SOCKET: the flags (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_PASSCRED, SO_DEBUG,
SO_DONTROUTE, SO_BROADCAST, SO_OOBINLINE), SO_PRIORITY, SO_RCVLOWAT, SO_SNDBUF and SO_RCVBUF
(doubled, within Linux's bounds), SO_LINGER, SO_RCVTIMEO and SO_SNDTIMEO (kept in jiffies, so
read back rounded up to a tick), SO_INCOMING_CPU (the CPU that last received for a connected
internet socket: the one CPU, 0, once it has; else -1, or what was set), SO_RESERVE_MEM (EOPNOTSUPP:
no memory cgroup accounts a socket's memory here, as on a Linux without one), and the
read-only SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ERROR (which clears it), SO_ACCEPTCONN,
SO_PEERCRED, SO_SNDLOWAT. IPPROTO_TCP on TCP sockets: TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE,
TCP_KEEPINTVL, TCP_KEEPCNT, TCP_MAXSEG, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT (seconds
kept as SYN-ACK retransmissions, read back as their seconds), TCP_WINDOW_CLAMP (a connection's
default half its receive buffer, tcp_adv_win_scale 1's share), TCP_QUICKACK, TCP_USER_TIMEOUT.
IPPROTO_IP: IP_TOS, IP_TTL, IP_MTU (read only: the loopback's 65,535 once connected, else
ENOTCONN). IPPROTO_IPV6 on IPv6 sockets: IPV6_V6ONLY (before bind). An option the level
does not have is ENOPROTOOPT; a level the protocol does not have is EOPNOTSUPP or ENOPROTOOPT
as Linux's protocol handlers say (an AF_UNIX socket has SOL_SOCKET only).
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    AF_INET6,
    EDOM,
    EFAULT,
    EINVAL,
    ENOPROTOOPT,
    ENOTCONN,
    EOPNOTSUPP,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV6_V6ONLY,
    SO_ACCEPTCONN,
    SO_BROADCAST,
    SO_DEBUG,
    SO_DOMAIN,
    SO_DONTROUTE,
    SO_ERROR,
    SO_KEEPALIVE,
    SO_LINGER,
    SO_NO_CHECK,
    SO_OOBINLINE,
    SO_PASSCRED,
    SO_PEERCRED,
    SO_PRIORITY,
    SO_PROTOCOL,
    SO_RCVBUF,
    SO_RCVLOWAT,
    SO_RCVTIMEO,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_SNDBUF,
    SO_SNDLOWAT,
    SO_SNDTIMEO,
    SO_TYPE,
    SOL_SOCKET,
    TCP_CORK,
    TCP_KEEPCNT,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_MAXSEG,
    TCP_NODELAY,
)
from hmk.services.sockets import CLOSED, CONNECTED, LISTENING

HZ = 250  # the tick timeouts are counted in (Debian's arm64 kernel: CONFIG_HZ_250)
NS_PER_TICK = 10**9 // HZ
WMEM_MAX = RMEM_MAX = 212992  # net.core.wmem_max and rmem_max, their defaults
# the smallest buffers (Linux 5.10, 64 bits): 2 * (2048 + a 256-byte sk_buff), and one of them
SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF = 4608, 2304
INT_MAX = 2**31 - 1
IP_TOS, IP_TTL = 1, 2
DEFAULT_TTL = 64  # net.ipv4.ip_default_ttl
TCP_MSS_DEFAULT = 536  # an unconnected TCP socket's MSS
LOOPBACK_MSS = 65483  # the loopback's MTU (65,536) less the IPv4 and TCP headers and timestamps
TCP_MIN_MSS, MAX_TCP_WINDOW = 88, 32767
# the flags SOL_SOCKET keeps as booleans
FLAGS = (
    SO_DEBUG,
    SO_REUSEADDR,
    SO_REUSEPORT,
    SO_KEEPALIVE,
    SO_PASSCRED,
    SO_DONTROUTE,
    SO_BROADCAST,
    SO_OOBINLINE,
    SO_NO_CHECK,  # (UDP checksums off: nothing here computes one)
)
TCP_FLAGS = (TCP_NODELAY, TCP_CORK)
TCP_KEEP = {TCP_KEEPIDLE: (7200, 32767), TCP_KEEPINTVL: (75, 32767), TCP_KEEPCNT: (9, 127)}
TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP = 7, 8, 9, 10
TCP_QUICKACK, TCP_USER_TIMEOUT = 12, 18
TCP_MORE = (TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_QUICKACK,
            TCP_USER_TIMEOUT)  # fmt: skip
SYN_RETRIES, MAX_TCP_SYNCNT = 6, 127  # net.ipv4.tcp_syn_retries's default; TCP_SYNCNT's bound
FIN_TIMEOUT, FIN_TIMEOUT_MAX = 60, 120  # net.ipv4.tcp_fin_timeout's default; TCP_LINGER2's cap
RTO_INIT, RTO_MAX = 1, 120  # TCP_TIMEOUT_INIT and TCP_RTO_MAX, in seconds
IP_MTU, LOOPBACK_PATH_MTU = 14, 65535  # a route's MTU is capped at IP_MAX_MTU
SO_INCOMING_CPU, SO_RESERVE_MEM = 49, 73


def ticks(timeval: bytes):
    """SO_RCVTIMEO's struct timeval as Linux keeps it (sock_set_timeout): ticks, None for no
    timeout (0, 0), 0 for a negative one (the call does not wait at all); or -errno."""
    sec, usec = struct.unpack("<qq", timeval)
    if not 0 <= usec < 10**6:
        return -EDOM
    if sec < 0:
        return 0
    if sec == usec == 0:
        return None
    return sec * HZ + -(-usec // (10**6 // HZ))


def set_option(sock, level: int, name: int, length: int, read) -> int:
    """setsockopt's answer (0 or -errno); the value (`length` bytes, `read(n)` copies the
    first n of them in, None: a fault) takes effect on `sock`. Linux's order: a length too
    short for an int (EINVAL), the int copied (EFAULT), then the option's own checks."""
    if level != SOL_SOCKET:
        return _set_protocol(sock, level, name, length, read)
    raw = _copied(length, read, 4)
    if isinstance(raw, int):
        return raw
    if name in (SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO):
        raw = _copied(length, read, 8 if name == SO_LINGER else 16)
        return raw if isinstance(raw, int) else _set_struct(sock, name, raw)
    ints = (SO_PRIORITY, SO_RCVLOWAT, SO_SNDBUF, SO_RCVBUF, SO_INCOMING_CPU, SO_RESERVE_MEM)
    if name not in FLAGS + ints:
        return -ENOPROTOOPT
    val = struct.unpack_from("<i", raw)[0]
    if name == SO_RESERVE_MEM:
        return -EINVAL if val < 0 else -EOPNOTSUPP
    if name == SO_SNDBUF:  # at most wmem_max (as unsigned: a negative is huge), doubled
        sock.sndbuf = max(min(val & 0xFFFFFFFF, WMEM_MAX) * 2, SOCK_MIN_SNDBUF)
    elif name == SO_RCVBUF:
        sock.rcvbuf = max(min(val & 0xFFFFFFFF, RMEM_MAX) * 2, SOCK_MIN_RCVBUF)
    elif name == SO_RCVLOWAT:
        sock.opts[SOL_SOCKET, name] = (INT_MAX if val < 0 else val) or 1
    elif name in (SO_PRIORITY, SO_INCOMING_CPU):
        sock.opts[SOL_SOCKET, name] = val
    else:
        sock.opts[SOL_SOCKET, name] = int(val != 0)
    return 0


def _set_struct(sock, name: int, raw: bytes) -> int:
    if name == SO_LINGER:
        if len(raw) < 8:
            return -EINVAL
        onoff, seconds = struct.unpack_from("<ii", raw)
        old = sock.opt(SOL_SOCKET, SO_LINGER, (0, 0))
        sock.opts[SOL_SOCKET, name] = (int(onoff != 0), seconds if onoff else old[1])
        return 0
    if len(raw) < 16:
        return -EINVAL
    t = ticks(raw[:16])
    if isinstance(t, int) and t < 0:
        return t
    sock.opts[SOL_SOCKET, name] = t
    return 0


def _copied(length: int, read, n: int) -> bytes | int:
    """The first `n` bytes of an option's value: EINVAL if it is shorter, EFAULT unread."""
    if length < n:
        return -EINVAL
    raw = read(n)
    return -EFAULT if raw is None else raw


def _set_protocol(sock, level: int, name: int, length: int, read) -> int:
    if sock.unix:
        return -EOPNOTSUPP
    if level == IPPROTO_TCP and sock.tcp:
        raw = _copied(length, read, 4)
        if isinstance(raw, int):
            return raw
        known = name in TCP_FLAGS or name in TCP_KEEP or name in (TCP_MAXSEG, *TCP_MORE)
        if not known:
            return -ENOPROTOOPT
        val = struct.unpack_from("<i", raw)[0]
        if name in TCP_MORE:
            return _set_tcp(sock, name, val)
        if name in TCP_FLAGS:
            val = int(val != 0)
        elif name == TCP_MAXSEG:
            if val and not TCP_MIN_MSS <= val <= MAX_TCP_WINDOW:
                return -EINVAL
        elif not 1 <= val <= TCP_KEEP[name][1]:
            return -EINVAL
        sock.opts[level, name] = val
        return 0
    udp = level == IPPROTO_UDP and not sock.tcp  # (its options: unmodelled)
    ipv6 = level == IPPROTO_IPV6 and sock.family == AF_INET6
    if level != IPPROTO_IP and not ipv6 and not udp:
        return -ENOPROTOOPT  # a level no protocol of the socket's takes: nothing copied
    raw = read(min(length, 64))
    if raw is None:
        return -EFAULT
    if level == IPPROTO_IPV6:
        if name != IPV6_V6ONLY:
            return -ENOPROTOOPT
        if len(raw) < 4:
            return -EINVAL
        if sock.name is not None and sock.name.port:
            return -EINVAL  # fixed once bound
        sock.opts[level, name] = int(struct.unpack_from("<i", raw)[0] != 0)
        return 0
    if level == IPPROTO_IP and name in (IP_TOS, IP_TTL):
        if len(raw) < 4:
            return -EINVAL
        val = struct.unpack_from("<i", raw)[0]
        if name == IP_TTL and val != -1 and not 1 <= val <= 255:
            return -EINVAL
        sock.opts[level, name] = val & 0xFF if name == IP_TOS else val
        return 0
    return -ENOPROTOOPT


def _set_tcp(sock, name: int, val: int) -> int:
    """The TCP options do_tcp_setsockopt keeps as it is given them, or nearly."""
    if name == TCP_SYNCNT and not 1 <= val <= MAX_TCP_SYNCNT:
        return -EINVAL
    if name == TCP_USER_TIMEOUT and val < 0:
        return -EINVAL
    if name == TCP_LINGER2:  # seconds, capped; negative: no FIN_WAIT2 timeout (-1)
        val = -1 if val < 0 else min(val, FIN_TIMEOUT_MAX)
    elif name == TCP_DEFER_ACCEPT:
        val = _secs_to_retrans(val)
    elif name == TCP_WINDOW_CLAMP:
        if not val and sock.state != CLOSED:
            return -EINVAL
        val = val and max(val, SOCK_MIN_RCVBUF // 2)
    elif name == TCP_QUICKACK:
        val &= 1
    sock.opts[IPPROTO_TCP, name] = val
    return 0


def _get_tcp(sock, name: int) -> int:
    if name == TCP_SYNCNT:
        return sock.opt(IPPROTO_TCP, name, SYN_RETRIES)
    if name == TCP_LINGER2:
        val = sock.opt(IPPROTO_TCP, name)
        return val if val < 0 else val or FIN_TIMEOUT
    if name == TCP_DEFER_ACCEPT:
        return _retrans_to_secs(sock.opt(IPPROTO_TCP, name))
    if name == TCP_WINDOW_CLAMP:
        default = sock.rcvbuf // 2 if sock.state == CONNECTED else 0
        return sock.opt(IPPROTO_TCP, name, default)
    if name == TCP_QUICKACK:
        return sock.opt(IPPROTO_TCP, name, 1)
    return sock.opt(IPPROTO_TCP, name)  # TCP_USER_TIMEOUT


def _secs_to_retrans(seconds: int) -> int:
    """How many SYN-ACK retransmissions, the timeout doubling from 1 s up to 120 s, it takes
    for `seconds` to pass (Linux's secs_to_retrans, at most 255)."""
    if seconds <= 0:
        return 0
    res, timeout, period = 1, RTO_INIT, RTO_INIT
    while seconds > period and res < 255:
        res += 1
        timeout = min(timeout * 2, RTO_MAX)
        period += timeout
    return res


def _retrans_to_secs(retrans: int) -> int:
    """The seconds `retrans` retransmissions take (Linux's retrans_to_secs)."""
    period, timeout = (RTO_INIT, RTO_INIT) if retrans > 0 else (0, RTO_INIT)
    for _ in range(retrans - 1):
        timeout = min(timeout * 2, RTO_MAX)
        period += timeout
    return period


def get_option(sock, level: int, name: int):
    """getsockopt's value (its bytes, to be cut to the caller's length), or -errno."""
    if level != SOL_SOCKET:
        return _get_protocol(sock, level, name)
    ints = {
        SO_TYPE: sock.type,
        SO_PROTOCOL: sock.protocol,
        SO_DOMAIN: sock.family,
        SO_ACCEPTCONN: int(sock.state == LISTENING),
        SO_SNDBUF: sock.sndbuf,
        SO_RCVBUF: sock.rcvbuf,
        SO_RCVLOWAT: sock.opt(SOL_SOCKET, SO_RCVLOWAT, 1),
        SO_SNDLOWAT: 1,
        SO_PRIORITY: sock.opt(SOL_SOCKET, SO_PRIORITY),
        SO_INCOMING_CPU: sock.opt(SOL_SOCKET, SO_INCOMING_CPU, _incoming_cpu(sock)),
        SO_RESERVE_MEM: 0,
    }
    if name == SO_ERROR:
        err, sock.err = sock.err, 0
        return struct.pack("<i", err)
    if name in ints:
        return struct.pack("<i", ints[name])
    if name in FLAGS:
        return struct.pack("<i", sock.opt(SOL_SOCKET, name))
    if name == SO_LINGER:
        return struct.pack("<ii", *sock.opt(SOL_SOCKET, name, (0, 0)))
    if name in (SO_RCVTIMEO, SO_SNDTIMEO):
        t = sock.opt(SOL_SOCKET, name, None)
        t = 0 if t is None else t
        return struct.pack("<qq", t // HZ, t % HZ * (10**6 // HZ))
    if name == SO_PEERCRED:  # no peer: pid 0 and the ids -1, as cred_to_ucred leaves them
        return struct.pack("<iii", *(sock.peercred or (0, -1, -1)))
    return -ENOPROTOOPT


def _incoming_cpu(sock) -> int:
    """The CPU its last packet was received on: 0, the one CPU, once a connected internet
    socket has had one (a TCP connection's handshake; a connected UDP socket's datagram, as
    udp_queue_rcv_one_skb records it), else -1 (AF_UNIX never records it)."""
    if sock.unix or sock.state != CONNECTED:
        return -1
    return 0 if sock.tcp or sock.received else -1


def _get_protocol(sock, level: int, name: int):
    if sock.unix:
        return -EOPNOTSUPP
    if level == IPPROTO_TCP and sock.tcp:
        if name in TCP_FLAGS:
            return struct.pack("<i", sock.opt(level, name))
        if name in TCP_KEEP:
            return struct.pack("<i", sock.opt(level, name, TCP_KEEP[name][0]))
        if name in TCP_MORE:
            return struct.pack("<i", _get_tcp(sock, name))
        if name == TCP_MAXSEG:
            mss = LOOPBACK_MSS if sock.state == CONNECTED else TCP_MSS_DEFAULT
            user = sock.opt(level, name)
            return struct.pack("<i", min(mss, user) if user and sock.state == CONNECTED else mss)
        return -ENOPROTOOPT
    if level == IPPROTO_IPV6 and sock.family == AF_INET6:
        if name == IPV6_V6ONLY:
            return struct.pack("<i", sock.opt(level, name))
        return -ENOPROTOOPT
    if level == IPPROTO_IP:
        if name == IP_TOS:
            return struct.pack("<i", sock.opt(level, name))
        if name == IP_TTL:
            ttl = sock.opt(level, name, -1)
            return struct.pack("<i", DEFAULT_TTL if ttl == -1 else ttl)
        if name == IP_MTU:
            connected = sock.state == CONNECTED or sock.peer_name is not None
            return struct.pack("<i", LOOPBACK_PATH_MTU) if connected else -ENOTCONN
        return -ENOPROTOOPT
    # another level: IPv4's handler answers EOPNOTSUPP, IPv6's ENOPROTOOPT
    return -ENOPROTOOPT if sock.family == AF_INET6 else -EOPNOTSUPP

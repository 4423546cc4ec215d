"""Socket options as Linux's setsockopt and getsockopt answer them (sock_setsockopt,
sock_getsockopt, do_tcp_setsockopt, ip_setsockopt, ipv6_setsockopt, and their getters).

SOL_SOCKET: the flags (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_PASSCRED, SO_DEBUG,
SO_DONTROUTE, SO_BROADCAST, SO_OOBINLINE), SO_PRIORITY, SO_RCVLOWAT, SO_SNDBUF and SO_RCVBUF
(doubled, within Linux's bounds), SO_LINGER, SO_RCVTIMEO and SO_SNDTIMEO (kept in jiffies, so
read back rounded up to a tick), and the read-only SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ERROR
(which clears it), SO_ACCEPTCONN, SO_PEERCRED, SO_SNDLOWAT. IPPROTO_TCP on TCP sockets:
TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_MAXSEG. IPPROTO_IP:
IP_TOS, IP_TTL. IPPROTO_IPV6 on IPv6 sockets: IPV6_V6ONLY (before bind). An option the level
does not have is ENOPROTOOPT; a level the protocol does not have is EOPNOTSUPP or ENOPROTOOPT
as Linux's protocol handlers say (an AF_UNIX socket has SOL_SOCKET only).
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    AF_INET6,
    EDOM,
    EINVAL,
    ENOPROTOOPT,
    EOPNOTSUPP,
    IPPROTO_IP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPV6_V6ONLY,
    SO_ACCEPTCONN,
    SO_BROADCAST,
    SO_DEBUG,
    SO_DOMAIN,
    SO_DONTROUTE,
    SO_ERROR,
    SO_KEEPALIVE,
    SO_LINGER,
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
from hmk.services.sockets import CONNECTED, LISTENING

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
)
TCP_FLAGS = (TCP_NODELAY, TCP_CORK)
TCP_KEEP = {TCP_KEEPIDLE: (7200, 32767), TCP_KEEPINTVL: (75, 32767), TCP_KEEPCNT: (9, 127)}


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


def set_option(sock, level: int, name: int, raw: bytes) -> int:
    """setsockopt's answer (0 or -errno); the value takes effect on `sock`."""
    if level != SOL_SOCKET:
        return _set_protocol(sock, level, name, raw)
    if name in (SO_LINGER, SO_RCVTIMEO, SO_SNDTIMEO):
        return _set_struct(sock, name, raw)
    if name not in FLAGS + (SO_PRIORITY, SO_RCVLOWAT, SO_SNDBUF, SO_RCVBUF):
        return -ENOPROTOOPT
    if len(raw) < 4:
        return -EINVAL
    val = struct.unpack_from("<i", raw)[0]
    if name == SO_SNDBUF:  # at most wmem_max (as unsigned: a negative is huge), doubled
        sock.sndbuf = max(min(val & 0xFFFFFFFF, WMEM_MAX) * 2, SOCK_MIN_SNDBUF)
    elif name == SO_RCVBUF:
        sock.rcvbuf = max(min(val & 0xFFFFFFFF, RMEM_MAX) * 2, SOCK_MIN_RCVBUF)
    elif name == SO_RCVLOWAT:
        sock.opts[SOL_SOCKET, name] = (INT_MAX if val < 0 else val) or 1
    elif name == SO_PRIORITY:
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


def _set_protocol(sock, level: int, name: int, raw: bytes) -> int:
    if sock.unix:
        return -EOPNOTSUPP
    if level == IPPROTO_TCP and sock.tcp:
        known = name in TCP_FLAGS or name in TCP_KEEP or name == TCP_MAXSEG
        if not known:
            return -ENOPROTOOPT
        if len(raw) < 4:
            return -EINVAL
        val = struct.unpack_from("<i", raw)[0]
        if name in TCP_FLAGS:
            val = int(val != 0)
        elif name == TCP_MAXSEG:
            if val and not TCP_MIN_MSS <= val <= MAX_TCP_WINDOW:
                return -EINVAL
        elif not 1 <= val <= TCP_KEEP[name][1]:
            return -EINVAL
        sock.opts[level, name] = val
        return 0
    if level == IPPROTO_IPV6 and sock.family == AF_INET6:
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


def _get_protocol(sock, level: int, name: int):
    if sock.unix:
        return -EOPNOTSUPP
    if level == IPPROTO_TCP and sock.tcp:
        if name in TCP_FLAGS:
            return struct.pack("<i", sock.opt(level, name))
        if name in TCP_KEEP:
            return struct.pack("<i", sock.opt(level, name, TCP_KEEP[name][0]))
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
        return -ENOPROTOOPT
    # another level: IPv4's handler answers EOPNOTSUPP, IPv6's ENOPROTOOPT
    return -ENOPROTOOPT if sock.family == AF_INET6 else -EOPNOTSUPP

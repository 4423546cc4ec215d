"""Socket addresses as Linux reads and writes them, and the network they name: a machine whose
only interface is the loopback.

- AF_UNIX (struct sockaddr_un): a path in the file system, an abstract name (its first byte
  NUL, in a namespace of its own), or no name at all; a name is kept as bytes (b"/tmp/s",
  b"\\0name") or None.
- AF_INET and AF_INET6 (struct sockaddr_in, sockaddr_in6): an `Inet` address, its IP four or
  sixteen bytes as the socket's family has them (an IPv6 socket sees IPv4 peers as
  IPv4-mapped addresses, ::ffff:a.b.c.d).

The loopback answers for 127.0.0.0/8 and ::1, and for the unspecified addresses (0.0.0.0, ::),
which mean this machine; anything else cannot be reached (ENETUNREACH) nor bound
(EADDRNOTAVAIL), as on a Linux machine whose only network is `lo`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hmk.linux.abi import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    AF_UNSPEC,
    EADDRNOTAVAIL,
    EAFNOSUPPORT,
    EINVAL,
    ENETUNREACH,
    UNIX_PATH_MAX,
)

SUN_PATH = 2  # offsetof(struct sockaddr_un, sun_path): the family's two bytes come first
SOCKADDR_UN = SUN_PATH + UNIX_PATH_MAX  # 110
SOCKADDR_IN, SOCKADDR_IN6 = 16, 28
SIN6_LEN_RFC2133 = 24  # the shortest sockaddr_in6 Linux takes (one without sin6_scope_id)
SOCKADDR_STORAGE = 128  # the longest address any call copies in

ANY4, LOOPBACK4 = bytes(4), bytes([127, 0, 0, 1])
ANY6, LOOPBACK6 = bytes(16), bytes(15) + b"\x01"
MAPPED = bytes(10) + b"\xff\xff"  # the prefix of an IPv4-mapped IPv6 address


@dataclass(frozen=True)
class Inet:
    """An internet address: `ip` of 4 bytes (IPv4) or 16 (IPv6), and a port."""

    ip: bytes
    port: int = 0

    @property
    def v4(self) -> bytes | None:
        """The IPv4 address this is (an IPv4-mapped IPv6 one included), or None."""
        if len(self.ip) == 4:
            return self.ip
        return self.ip[12:] if self.ip.startswith(MAPPED) else None

    @property
    def wildcard(self) -> bool:
        return self.ip in (ANY4, ANY6)


def as_family(ip4: bytes, family: int) -> bytes:
    """An IPv4 address as a socket of `family` sees it (IPv4-mapped for AF_INET6)."""
    return ip4 if family == AF_INET else MAPPED + ip4


# ---- reading addresses ----------------------------------------------------------------------
def unix_name(raw: bytes):
    """A sockaddr_un of len(raw) bytes (unix_validate_addr and unix_mkname): the name (b"/path"
    up to its first NUL, or the abstract b"\\0name"), or -EINVAL."""
    if not SUN_PATH < len(raw) <= SOCKADDR_UN:
        return -EINVAL
    if struct.unpack_from("<H", raw)[0] != AF_UNIX:
        return -EINVAL
    name = raw[SUN_PATH:]
    return name if name[0] == 0 else name.split(b"\0", 1)[0]


def inet_addr(family: int, raw: bytes, unspec: str = ""):
    """A sockaddr_in or sockaddr_in6 for a socket of `family`: an `Inet`, or -errno (a short one
    EINVAL, another family EAFNOSUPPORT). An AF_INET socket takes AF_UNSPEC as AF_INET: for
    `unspec` "any" with INADDR_ANY only (bind's old rule), for "all" with any address (a UDP
    datagram's)."""
    if family == AF_INET:
        if len(raw) < SOCKADDR_IN:
            return -EINVAL
        fam, port, ip = family_of(raw), int.from_bytes(raw[2:4], "big"), raw[4:8]
        loose = unspec == "all" or unspec == "any" and ip == ANY4
        if fam != AF_INET and not (loose and fam == AF_UNSPEC):
            return -EAFNOSUPPORT
        return Inet(ip, port)
    if len(raw) < SIN6_LEN_RFC2133:
        return -EINVAL
    if family_of(raw) != AF_INET6:
        return -EAFNOSUPPORT
    return Inet(raw[8:24], int.from_bytes(raw[2:4], "big"))


def family_of(raw: bytes) -> int:
    """The sa_family of an address (AF_UNSPEC for one too short to say)."""
    return int.from_bytes(raw[:2], "little") if len(raw) >= 2 else AF_UNSPEC


# ---- writing addresses ----------------------------------------------------------------------
def encode(family: int, name) -> bytes:
    """The sockaddr Linux writes out for `name` (getsockname, getpeername, accept, recvfrom):
    AF_UNIX a path with its NUL, an abstract name as bound, or the family alone for none;
    sockaddr_in or sockaddr_in6 for an `Inet`."""
    if family == AF_UNIX:
        head = struct.pack("<H", AF_UNIX)
        if name is None:
            return head
        return head + name + (b"" if name[:1] == b"\0" else b"\0")
    if family == AF_INET:
        return struct.pack("<H", AF_INET) + struct.pack(">H", name.port) + name.ip + bytes(8)
    port = struct.pack(">H", name.port)
    return struct.pack("<H", AF_INET6) + port + bytes(4) + name.ip + bytes(4)


# ---- the loopback-only network --------------------------------------------------------------
def bindable(family: int, ip: bytes, v6only: bool) -> int:
    """0 when a socket may bind `ip` on this machine, else -errno (EADDRNOTAVAIL: not one of
    its addresses; EINVAL: an IPv4-mapped address on an IPV6_V6ONLY socket)."""
    if family == AF_INET6 and ip.startswith(MAPPED):
        if v6only:
            return -EINVAL
        ip = ip[12:]
    if len(ip) == 4:
        return 0 if ip == ANY4 or ip[0] == 127 else -EADDRNOTAVAIL
    return 0 if ip in (ANY6, LOOPBACK6) else -EADDRNOTAVAIL


def route(family: int, ip: bytes, v6only: bool):
    """Where a packet to `ip` goes from a socket of `family`: the destination's address as
    Linux routes it (the unspecified address is this machine: 127.0.0.1, ::1), or
    -ENETUNREACH."""
    if family == AF_INET6 and ip.startswith(MAPPED):
        if v6only:
            return -ENETUNREACH
        v4 = route(AF_INET, ip[12:], False)
        return v4 if isinstance(v4, int) else MAPPED + v4
    if len(ip) == 4:
        if ip == ANY4:
            return LOOPBACK4
        return ip if ip[0] == 127 else -ENETUNREACH
    if ip == ANY6:
        return LOOPBACK6
    return ip if ip == LOOPBACK6 else -ENETUNREACH


def source_for(dest: bytes) -> bytes:
    """The address a socket sends from to the routed `dest`: the loopback's own (127.0.0.1 to
    any of 127.0.0.0/8, ::1, or their IPv4-mapped form)."""
    if dest.startswith(MAPPED):
        return MAPPED + LOOPBACK4
    return LOOPBACK4 if len(dest) == 4 else LOOPBACK6

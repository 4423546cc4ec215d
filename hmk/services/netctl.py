"""The network manager's ioctls on sockets, as Linux's sock_ioctl and the protocols' ioctl
methods (inet_ioctl with tcp_ioctl and udp_ioctl, unix_ioctl, dev_ifconf) answer them:

- SIOCINQ (FIONREAD): the bytes to read, a stream's queued bytes (AF_UNIX SOCK_SEQPACKET's
  too), a datagram socket's first message's; EINVAL for a listener (but a TCP one that is
  connecting: 0);
- SIOCOUTQ (TIOCOUTQ): the bytes sent the peer has not taken: 0 for TCP and UDP on the
  loopback, which acknowledges and hands a datagram on at once (EINVAL for a TCP listener);
  for AF_UNIX the bytes sitting in the peer's queue (Linux counts each message's buffer, its
  truesize: more than its bytes); SIOCOUTQNSD (TCP only): 0, nothing waits to be sent;
- SIOCATMARK: 0, no urgent data (TCP, AF_UNIX streams; EOPNOTSUPP for other AF_UNIX types);
- SIOCGSTAMP and SIOCGSTAMPNS, old and new: ENOENT (internet sockets: no receive timestamps
  are kept, as for a socket that has received nothing since it asked; AF_UNIX has none:
  ENOTTY);
- SIOCGIFCONF: the interfaces with an IPv4 address, the loopback alone (`lo`, 127.0.0.1): its
  struct ifreq if the buffer has room, or the room it needs when the buffer is NULL;
- the owner ioctls (FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP) set and read the open file's
  owner (hmk.services.fsowner), the socket layer's part, before the protocol's;
- anything else: ENOTTY.
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    AF_INET,
    EFAULT,
    EINVAL,
    ENOENT,
    ENOTTY,
    EOPNOTSUPP,
    FIOGETOWN,
    FIONREAD,
    FIOSETOWN,
    SIOCATMARK,
    SIOCGIFCONF,
    SIOCGPGRP,
    SIOCGSTAMP_NEW,
    SIOCGSTAMP_OLD,
    SIOCGSTAMPNS_NEW,
    SIOCGSTAMPNS_OLD,
    SIOCOUTQNSD,
    SIOCSPGRP,
    SOCK_DGRAM,
    SOCK_STREAM,
    TIOCOUTQ,
)
from hmk.services.fsowner import get_owner, set_owner
from hmk.services.sockets import CONNECTING, LISTENING

STAMPS = (SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD, SIOCGSTAMP_NEW, SIOCGSTAMPNS_NEW)
IFREQ_BYTES = 40  # struct ifreq on a 64-bit machine: a 16-byte name, a 24-byte union
# the loopback's struct ifreq: its name and its address (a struct sockaddr_in)
LOOPBACK_IFREQ = struct.pack("<16sH2s4s16x", b"lo", AF_INET, b"", bytes((127, 0, 0, 1)))


class NetControls:
    """ioctl on a socket, mixed into the network manager (hmk.services.netmgr.NetMgr)."""

    def socket_ioctl(self, call, sock, f, request: int, arg: int) -> int:
        """The socket `sock` (open file `f`) asked `request` with `arg`."""
        if request in (FIOSETOWN, SIOCSPGRP):  # the file's owner: the socket layer's part
            raw = call.space.read(arg, 4)
            if raw is None:
                return -EFAULT
            return set_owner(self.peers["procmgr"], f, struct.unpack("<i", raw)[0])
        if request in (FIOGETOWN, SIOCGPGRP):
            return _put_int(call, arg, get_owner(self.peers["procmgr"], f))

        def serve():
            with self.working(ioctl=1):
                return self._protocol_ioctl(call, sock, request, arg)

        return self._as_netmgr(call, serve)

    def _protocol_ioctl(self, call, sock, request: int, arg: int) -> int:
        if request == FIONREAD:
            if sock.state == LISTENING:
                return -EINVAL
            if sock.type == SOCK_DGRAM:
                return _put_int(call, arg, len(sock.queue[0].data) if sock.queue else 0)
            return _put_int(call, arg, 0 if sock.state == CONNECTING else sock.queued)
        if request == TIOCOUTQ:
            if sock.tcp and sock.state == LISTENING:
                return -EINVAL
            return _put_int(call, arg, sock.inflight if sock.unix else 0)
        if request == SIOCOUTQNSD and sock.tcp:
            return -EINVAL if sock.state == LISTENING else _put_int(call, arg, 0)
        if request == SIOCATMARK and (sock.tcp or sock.unix):
            if sock.unix and sock.type != SOCK_STREAM:
                return -EOPNOTSUPP
            return _put_int(call, arg, 0)
        if request in STAMPS and not sock.unix:
            return -ENOENT
        if request == SIOCGIFCONF:
            return self._ifconf(call, arg)
        return -ENOTTY

    @staticmethod
    def _ifconf(call, arg: int) -> int:
        """SIOCGIFCONF: struct ifconf {int ifc_len; char *ifc_buf} at `arg`."""
        raw = call.space.read(arg, 16)
        if raw is None:
            return -EFAULT
        room, buf = struct.unpack("<i4xQ", raw)
        if buf:
            fits = room >= IFREQ_BYTES
            if fits and not call.space.write(buf, LOOPBACK_IFREQ):
                return -EFAULT
            length = IFREQ_BYTES if fits else 0
        else:
            length = IFREQ_BYTES  # what one interface address needs
        return 0 if call.space.write(arg, struct.pack("<i", length)) else -EFAULT


def _put_int(call, ptr: int, value: int) -> int:
    return 0 if call.space.write(ptr, struct.pack("<i", value)) else -EFAULT

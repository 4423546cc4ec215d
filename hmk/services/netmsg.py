"""The network manager's message calls: sendmsg and recvmsg (a struct msghdr: an address, an
iovec, control messages), sendmmsg and recvmmsg (a vector of them), and the control messages
AF_UNIX sockets pass: SCM_RIGHTS (open files held while in flight, installed in the receiver's
table as its lowest free descriptors, those the room does not hold closed: MSG_CTRUNC) and
SCM_CREDENTIALS (checked as Linux's scm_check_creds; received with SO_PASSCRED). The bytes go
through the data path (hmk.services.netio).
"""

from __future__ import annotations

import struct

from hmk.linux.abi import (
    EBADF,
    EFAULT,
    EINVAL,
    EMSGSIZE,
    ENOBUFS,
    EPERM,
    ERESTARTSYS,
    ESRCH,
    MAX_RW_COUNT,
    MSG_CMSG_CLOEXEC,
    MSG_CTRUNC,
    MSG_DONTWAIT,
    MSG_WAITFORONE,
    SCM_CREDENTIALS,
    SCM_RIGHTS,
    SO_PASSCRED,
    SOL_SOCKET,
)
from hmk.linux.clock import read_timespec
from hmk.services.copies import READ, iovec_from_user, log_user, vector_past_user
from hmk.services.fsnames import _int
from hmk.services.netio import Got
from hmk.services.sockets import Socket

UIO_MAXIOV = 1024  # the most iovecs (and mmsg messages) one call takes
SCM_MAX_FD = 253  # the most descriptors one message passes
MSGHDR, MMSGHDR = 56, 64  # struct msghdr and struct mmsghdr on 64-bit Linux
CMSGHDR = 16  # struct cmsghdr: cmsg_len (8), cmsg_level, cmsg_type
# control data a sendmsg copies in: up to 40 bytes on the stack (____sys_sendmsg's ctl[]),
# more from the socket's option memory, less than net.core.optmem_max (131072: the default of
# recent kernels, read from /proc/sys/net/core/optmem_max on Linux 6.18)
CONTROL_INLINE, OPTMEM_MAX = 40, 128 << 10
UCRED = 12  # struct ucred: pid, uid, gid
MSG_CMSG_COMPAT = 0x80000000  # a 32-bit caller's messages: never an arm64 one's


def _align(n: int) -> int:
    return (n + 7) & ~7


class NetMsg:
    """The message calls, mixed into the network manager (hmk.services.netmgr.NetMgr)."""

    def sys_sendmsg(self, call, fd, msg, flags, *_):
        if _int(flags) & MSG_CMSG_COMPAT:
            return -EINVAL  # a 32-bit caller's flag, refused before the descriptor
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        with self.working() as ops:
            return self._sendmsg(call, *got, msg, _int(flags), ops)

    def sys_recvmsg(self, call, fd, msg, flags, *_):
        if _int(flags) & MSG_CMSG_COMPAT:
            return -EINVAL
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        with self.working() as ops:
            return self._recvmsg(call, *got, msg, _int(flags), ops)

    def sys_sendmmsg(self, call, fd, vec, vlen, flags, *_):
        if _int(flags) & MSG_CMSG_COMPAT:
            return -EINVAL
        return self._mmsg(call, fd, vec, vlen, _int(flags), self._sendmsg)

    def sys_recvmmsg(self, call, fd, vec, vlen, flags, timeout, *_):
        """As sendmmsg; the timeout is copied in and checked first (it is not otherwise
        kept: the call waits as its flags say)."""
        if _int(flags) & MSG_CMSG_COMPAT:
            return -EINVAL
        if timeout and not call.resumed:
            ns = read_timespec(call.space, timeout)
            if ns is None or ns < 0:
                return -EFAULT if ns is None else -EINVAL
        return self._mmsg(call, fd, vec, vlen, _int(flags), self._recvmsg)

    def _mmsg(self, call, fd, vec, vlen, flags, one):
        """Each message in turn: the count done, or the first one's error. A message that
        must wait blocks the call, which goes on from that message when woken; a handler
        then ends it with the count done."""
        got = self._socket(call, fd)
        if isinstance(got, int):
            return got
        sock, f = got
        vlen = min(vlen & 0xFFFFFFFF, UIO_MAXIOV)
        done = self.mmsg_progress.pop(call.tcb, 0)
        done = done if call.resumed else 0
        with self.working() as ops:
            while done < vlen:
                if done and call.task.signals.handler_pending():
                    break
                if done and flags & MSG_WAITFORONE:  # recvmmsg waits for the first only
                    flags |= MSG_DONTWAIT
                msg = vec + MMSGHDR * done
                n = one(call, sock, f, msg, flags, ops)
                if n == -ERESTARTSYS and done:
                    self.mmsg_progress[call.tcb] = done
                if n < 0:
                    return n if not done or n == -ERESTARTSYS else done
                if not self._write(call, msg + MSGHDR, struct.pack("<I", n)):
                    return done or -EFAULT
                done += 1
            return done

    def _msghdr(self, call, msg: int):
        """(name, namelen, iov, iovlen, control, controllen) of a struct msghdr, or -EFAULT."""
        raw = self._read(call, msg, MSGHDR)
        if raw is None:
            return -EFAULT
        return struct.unpack("<QI4xQQQQ", raw[:48])

    def _iovec(self, call, iov: int, iovlen: int):
        if iovlen > UIO_MAXIOV:
            return -EMSGSIZE
        entries = iovec_from_user(call.space, iov, iovlen)
        if isinstance(entries, int):
            return entries  # (a negative length before any range is checked)
        if iovlen:
            log_user(self.k.mem, call.space, iov, 16 * iovlen, READ)
        if vector_past_user(entries):
            return -EFAULT  # past user space (access_ok)
        vec, total = [], 0
        for base, n in entries:
            n = min(n, MAX_RW_COUNT - total)
            vec.append((base, n))
            total += n
        return vec

    def _sendmsg(self, call, sock: Socket, f, msg: int, flags: int, ops) -> int:
        hdr = self._msghdr(call, msg)
        if isinstance(hdr, int):
            return hdr
        name, namelen, iov, iovlen, control, controllen = hdr
        ops.update(msg_header=int(not call.resumed))
        dest = None
        if name and namelen:
            dest = self._address(call, name, namelen)
            if isinstance(dest, int):
                return dest
        vec = self._iovec(call, iov, iovlen)
        if isinstance(vec, int):
            return vec
        scm = None
        if controllen:
            scm = self._control(call, sock, control, controllen, ops)
            if isinstance(scm, int):
                return scm
        n = self._send_vector(call, sock, f, vec, flags, dest, scm, ops)
        if n < 0 and scm and scm[0]:  # the descriptors go back (not in flight after all)
            for held in scm[0]:
                self.peers["fsmgr"].drop(held)
        return n

    def _control(self, call, sock: Socket, control: int, controllen: int, ops):
        """A sendmsg's control messages (__scm_send): (open files passed, credentials) for
        an AF_UNIX socket, or -errno. SCM_RIGHTS' descriptors are held while in flight;
        SCM_CREDENTIALS must name the caller's pid and ids (any, for root)."""
        if controllen > 2**31 - 1 or CONTROL_INLINE < controllen >= OPTMEM_MAX:
            return -ENOBUFS  # (beyond what sock_kmalloc gives a socket)
        raw = self._read(call, control, controllen)
        if raw is None:
            return -EFAULT
        fds, creds, at = [], None, 0
        fs = self.peers["fsmgr"]

        def fail(err):
            for held in fds:
                fs.drop(held)
            return err

        while at + CMSGHDR <= len(raw):
            length, level, kind = struct.unpack_from("<Qii", raw, at)
            if length < CMSGHDR or length > len(raw) - at:
                return fail(-EINVAL)
            body = raw[at + CMSGHDR : at + length]
            at += _align(length)
            if level != SOL_SOCKET:
                continue
            if not sock.unix:
                return fail(-EINVAL)
            if kind == SCM_RIGHTS:
                numbers = [struct.unpack_from("<i", body, 4 * i)[0] for i in range(len(body) // 4)]
                if not numbers or len(fds) + len(numbers) > SCM_MAX_FD:
                    return fail(-EINVAL)
                ops.update(scm_send=int(not fds), scm_fd=len(numbers))
                table = fs.tables[call.task.pid]
                for fd in numbers:
                    held = table.file(fd, raw=True)  # (scm_fp_copy's fget_raw)
                    if held is None:
                        return fail(-EBADF)
                    fs.hold(held)
                    fds.append(held)
            elif kind == SCM_CREDENTIALS:
                if length != CMSGHDR + UCRED:
                    return fail(-EINVAL)
                creds = struct.unpack_from("<iii", body)
                err = self._check_creds(call.task, creds)
                if err:
                    return fail(err)
            else:
                return fail(-EINVAL)
        own = self.credentials(call.task, effective=False)
        return fds or None, creds or own

    def _check_creds(self, task, creds: tuple) -> int:
        """Linux's scm_check_creds: the pid the caller's (or an existing one, for root), the
        ids among the caller's (any, for root)."""
        pid, uid, gid = creds
        root = task.uids[1] == 0
        if pid != task.pid and not root:
            return -EPERM
        if uid not in task.uids and not root or gid not in task.gids and not root:
            return -EPERM
        if self.peers["procmgr"].tasks.get(pid) is None:
            return -ESRCH
        return 0

    def _recvmsg(self, call, sock: Socket, f, msg: int, flags: int, ops) -> int:
        hdr = self._msghdr(call, msg)
        if isinstance(hdr, int):
            return hdr
        name, namelen, iov, iovlen, control, controllen = hdr
        ops.update(msg_header=int(not call.resumed))
        vec = self._iovec(call, iov, iovlen)
        if isinstance(vec, int):
            return vec
        got = self._recv_vector(call, sock, f, vec, flags, ops)
        if isinstance(got, int):
            return got
        used, flags_out = 0, got.flags
        if sock.unix:
            done = self._deliver_control(call, sock, got, control, controllen, flags, ops)
            if isinstance(done, int):
                return done
            used, flags_out = done
        if name:
            addr = self._source_address(sock, got)
            if not self._write(call, name, addr[:namelen]):
                return -EFAULT
            if not self._write(call, msg + 8, struct.pack("<I", len(addr))):
                return -EFAULT
        tail = struct.pack("<Qi", used, flags_out)
        if not self._write(call, msg + 40, tail):
            return -EFAULT
        return got.length

    def _deliver_control(self, call, sock: Socket, got: Got, control: int, room: int, flags, ops):
        """The control messages a receive writes at `control` (scm_recv): SCM_CREDENTIALS with
        SO_PASSCRED, then SCM_RIGHTS with the descriptors installed in the caller's table (as
        many as the room holds; the rest dropped, MSG_CTRUNC); each cut to the room left, as
        put_cmsg and scm_detach_fds do. (the bytes used, the message flags) or -EFAULT."""
        used, msg_flags = 0, got.flags
        if sock.opt(SOL_SOCKET, SO_PASSCRED):
            ops.update(cmsg=1)
            left = room - used
            if left < CMSGHDR:
                msg_flags |= MSG_CTRUNC
            else:
                size = min(CMSGHDR + UCRED, left)
                msg_flags |= MSG_CTRUNC if size < CMSGHDR + UCRED else 0
                creds = struct.pack("<iii", *(got.creds or (0, -1, -1)))
                cmsg = struct.pack("<Qii", size, SOL_SOCKET, SCM_CREDENTIALS) + creds
                if not self._write(call, control + used, cmsg[:size]):
                    return -EFAULT
                used += min(_align(CMSGHDR + UCRED), left)
        if got.fds:
            fs = self.peers["fsmgr"]
            left = room - used
            fit = (left - CMSGHDR) // 4 if left > CMSGHDR else 0
            cloexec = bool(flags & MSG_CMSG_CLOEXEC)
            numbers = []
            for held in got.fds[:fit]:
                fd = self._fs(call, lambda held=held: fs.install(call.task, held, cloexec))
                if fd < 0:
                    break
                numbers.append(fd)
            ops.update(scm_recv=1)
            for held in got.fds:
                fs.drop(held)  # the in-flight reference: the table holds its own now
            if numbers:
                size = CMSGHDR + 4 * len(numbers)
                cmsg = struct.pack(f"<Qii{len(numbers)}i", size, SOL_SOCKET, SCM_RIGHTS, *numbers)
                if not self._write(call, control + used, cmsg):
                    return -EFAULT
                used += min(_align(size), left)
            if len(numbers) < len(got.fds):
                msg_flags |= MSG_CTRUNC
        return used, msg_flags

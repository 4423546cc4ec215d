"""The network manager (hmk.services.netmgr) where the guest programs compared with Linux
(test_sockets.py) cannot look: the work each call is charged and the lines its copies log, the
frames of the sockets' queues, descriptors in flight and the last reference to a socket,
Linux's answers that qemu-user does not pass on (MSG_CTRUNC, a socketpair that faults), the
sockets across fork, execve and exit, and its calls to the file manager."""

import errno
import struct

import pytest
from test_fsmgr import BASE, FakeKernel, FakeTask, make_fs

from hmk.hw.pagetable import PAGE_SIZE
from hmk.kernel.vspace import KERNEL_BASE
from hmk.linux.abi import (
    AF_INET,
    AF_UNIX,
    MSG_CTRUNC,
    SCM_RIGHTS,
    SOCK_CLOEXEC,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
)
from hmk.linux.signals import restarts
from hmk.services.copies import COPY_LINE, COPY_PAGE
from hmk.services.netmgr import NetMgr
from hmk.services.sockets import Socket


class Kernel(FakeKernel):
    current = "proc"

    def sleep_until(self, deadline, queue=None):
        return False

    def wait_deadline(self, ns):
        return ns


@pytest.fixture
def net():
    """(netmgr, fsmgr, the caller's memory, the call, the kernel) on the file manager's fakes,
    the task with Linux's credentials."""
    fs, space, call, k = make_fs()
    k.__class__ = Kernel
    call.task.uids, call.task.gids = [0, 0, 0], [0, 0, 0]
    n = fs.boot.peers["netmgr"] = NetMgr(fs.boot)
    return n, fs, space, call, k


def charged(k, do):
    """(what `do()` returned, the network manager's operations it charged)"""
    before = dict(k.counts)
    result = do()
    ops = {
        key.removeprefix("netmgr.work."): v - before.get(key, 0)
        for key, v in k.counts.items()
        if key.startswith("netmgr.work.") and v != before.get(key, 0)
    }
    spent = k.counts["netmgr.instructions"] - before.get("netmgr.instructions", 0)
    assert spent == sum(NetMgr.costs[op] * times for op, times in ops.items())
    return result, ops


def pair(n, space, call, type_=SOCK_STREAM):
    assert n.sys_socketpair(call, AF_UNIX, type_, 0, BASE) == 0
    return struct.unpack("<ii", space.read(BASE, 8))


def test_a_round_trip_charges_its_operations_and_logs_its_copies(net):
    n, fs, space, call, k = net
    a, b = pair(n, space, call)
    space.write(BASE + 0x100, bytes(range(100)))
    k.mem.take_log()
    sent, ops = charged(k, lambda: n.sys_sendto(call, a, BASE + 0x100, 100, 0, 0, 0))
    assert sent == 100
    # the receive queue's first page got a frame; 100 bytes are one page, two lines
    assert ops == {"unix_send": 1, "buffer_page": 1, "copy_page": 1, "copy_line": 2}
    frame = next(iter(fs.peers["fsmgr"].tables[1].file(b).node.ring.frames.values()))
    written = {int(e["addr"]) for e in k.mem.take_log() if e["kind"] == 1}
    assert written == {KERNEL_BASE + frame, KERNEL_BASE + frame + 64}
    got, ops = charged(k, lambda: n.sys_recvfrom(call, b, BASE + 0x400, 200, 0, 0, 0))
    assert got == 100 and space.read(BASE + 0x400, 100) == bytes(range(100))
    assert ops == {"unix_recv": 1, "copy_page": 1, "copy_line": 2}
    assert {int(e["addr"]) for e in k.mem.take_log() if e["kind"] == 0} == written
    assert NetMgr.costs["copy_line"] == COPY_LINE and NetMgr.costs["copy_page"] == COPY_PAGE


def test_a_socket_descriptor_is_the_file_managers_and_its_last_close_frees_the_queue(net):
    n, fs, space, call, k = net
    a, b = pair(n, space, call)
    assert k.counts["fsmgr.work.fd_install"] == 2
    sock = fs.tables[1].file(a).node
    assert isinstance(sock, Socket) and fs.tables[1].file(a).refs == 1
    n.sys_sendto(call, b, BASE, 5000, 0, 0, 0)  # two pages of a's queue
    frames = set(sock.ring.frames.values())
    assert len(frames) == 2
    _, ops = charged(k, lambda: fs.sys_close(call, a))
    assert ops == {"unix_free": 1, "unix_hangup": 1}
    assert frames <= set(k.frames.freed) and not sock.open
    assert k.counts["netmgr.sockets.released"] == 1
    # the other end sees the peer gone
    assert n.sys_sendto(call, b, BASE, 1, 0x4000, 0, 0) == -errno.EPIPE


def send_fds(n, space, call, sock, fds, at=BASE + 0x800):
    """sendmsg of one byte and the descriptors `fds` (SCM_RIGHTS)."""
    body = struct.pack(f"<{len(fds)}i", *fds)
    cmsg = struct.pack("<Qii", 16 + len(body), SOL_SOCKET, SCM_RIGHTS) + body
    space.write(at + 0x100, b"x")
    space.write(at + 0x200, struct.pack("<QQ", at + 0x100, 1))  # the iovec
    space.write(at + 0x300, cmsg)
    space.write(at, struct.pack("<QI4xQQQQi4x", 0, 0, at + 0x200, 1, at + 0x300, len(cmsg), 0))
    return n.sys_sendmsg(call, sock, at, 0)


def recv_fds(n, space, call, sock, room, at=BASE + 0x1000):
    """recvmsg with `room` bytes of control: (result, msg_controllen, msg_flags, control)."""
    space.write(at + 0x200, struct.pack("<QQ", at + 0x100, 16))
    space.write(at, struct.pack("<QI4xQQQQi4x", 0, 0, at + 0x200, 1, at + 0x300, room, 0))
    got = n.sys_recvmsg(call, sock, at, 0)
    controllen, flags = struct.unpack_from("<Qi", space.read(at + 40, 12))
    return got, controllen, flags, space.read(at + 0x300, room)


def test_descriptors_that_do_not_fit_are_dropped_with_msg_ctrunc(net):
    """scm_detach_fds: as many descriptors as the control buffer holds are installed, the
    control message cut to the room; the rest are closed. (qemu-user does not pass MSG_CTRUNC
    on, so the guest programs cannot check this.)"""
    n, fs, space, call, k = net
    a, b = pair(n, space, call)
    assert fs.sys_pipe2(call, BASE + 0x40, 0) == 0
    r1, w1 = struct.unpack("<ii", space.read(BASE + 0x40, 8))
    assert fs.sys_pipe2(call, BASE + 0x40, 0) == 0
    r2, w2 = struct.unpack("<ii", space.read(BASE + 0x40, 8))
    _, ops = charged(k, lambda: send_fds(n, space, call, a, [w1, w2]))
    assert ops["scm_send"] == 1 and ops["scm_fd"] == 2 and ops["msg_header"] == 1
    fs.sys_close(call, w1), fs.sys_close(call, w2)
    pipe1, pipe2 = fs.tables[1].file(r1).node, fs.tables[1].file(r2).node
    assert pipe1.writers == pipe2.writers == 1  # held in flight
    got, controllen, flags, control = recv_fds(n, space, call, b, 20)  # CMSG_LEN(4): one fd
    assert got == 1 and flags & MSG_CTRUNC and controllen == 20
    length, level, kind, fd = struct.unpack("<Qiii", control)
    assert (length, level, kind) == (20, SOL_SOCKET, SCM_RIGHTS)
    assert fs.tables[1].file(fd).node is pipe1 and pipe2.writers == 0  # the second closed


def test_descriptors_in_flight_go_with_the_socket(net):
    n, fs, space, call, k = net
    a, b = pair(n, space, call, SOCK_DGRAM)
    fs.sys_pipe2(call, BASE + 0x40, 0)
    r, w = struct.unpack("<ii", space.read(BASE + 0x40, 8))
    assert send_fds(n, space, call, a, [w]) == 1
    fs.sys_close(call, w)
    pipe = fs.tables[1].file(r).node
    assert pipe.writers == 1
    fs.sys_close(call, b)  # never received
    assert pipe.writers == 0
    # received by recv, which has no room for them: closed
    a, b = pair(n, space, call, SOCK_DGRAM)
    fs.sys_pipe2(call, BASE + 0x40, 0)
    r, w = struct.unpack("<ii", space.read(BASE + 0x40, 8))
    send_fds(n, space, call, a, [w])
    fs.sys_close(call, w)
    pipe = fs.tables[1].file(r).node
    assert n.sys_recvfrom(call, b, BASE, 16, 0, 0, 0) == 1 and pipe.writers == 0


def test_a_socketpair_that_faults_leaves_no_descriptor(net):
    """Linux writes the two numbers before it makes the sockets or installs the descriptors
    (qemu-user leaves them open), so a bad pointer is EFAULT before the family's errors."""
    n, fs, space, call, k = net
    assert n.sys_socketpair(call, AF_UNIX, SOCK_STREAM, 0, 0xDEAD0000) == -errno.EFAULT
    assert sorted(fs.tables[1].fds) == [0, 1, 2]
    assert k.counts["netmgr.sockets.made"] == 0
    assert n.sys_socketpair(call, 12345, SOCK_STREAM, 0, 0xDEAD0000) == -errno.EFAULT
    assert n.sys_socketpair(call, AF_UNIX, SOCK_STREAM | 0x40, 0, 0xDEAD0000) == -errno.EINVAL


def test_sockets_across_fork_execve_and_exit(net):
    n, fs, space, call, k = net
    keep = n.sys_socket(call, AF_INET, SOCK_STREAM, 0)
    gone = n.sys_socket(call, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)
    assert fs.sys_fcntl(call, gone, 1, 0) == 1  # F_GETFD: FD_CLOEXEC
    parent, child = call.task, FakeTask()
    child.pid = 2
    fs.process_forked(parent, child)
    sock = fs.tables[1].file(keep).node
    assert fs.tables[2].file(keep).refs == 2  # one open file, two descriptors
    fs.process_exec(child)  # the close-on-exec one closes in the child only
    assert gone not in fs.tables[2].fds and k.counts["netmgr.sockets.released"] == 0
    fs.process_exited(parent)
    assert sock.open and k.counts["netmgr.sockets.released"] == 1  # the parent's `gone`
    fs.process_exited(child)
    assert not sock.open and k.counts["netmgr.sockets.released"] == 2


def test_a_wait_with_a_timeout_is_never_restarted():
    """signal(7): a socket call waiting with SO_RCVTIMEO or SO_SNDTIMEO set fails with EINTR
    even under SA_RESTART (the shim passes whether the wait had a deadline)."""
    sa_restart = 0x10000000
    assert restarts("recvfrom", (0,) * 6, sa_restart)
    assert not restarts("recvfrom", (0,) * 6, sa_restart, timed=True)
    assert not restarts("accept4", (0,) * 6, 0)


def test_ring_pages_are_frames_of_their_own(net):
    n, fs, space, call, k = net
    a, b = pair(n, space, call)
    n.sys_sendto(call, a, BASE, 3 * PAGE_SIZE, 0, 0, 0)
    queue = fs.tables[1].file(b).node
    assert len(queue.ring.frames) == 3 and queue.queued == 3 * PAGE_SIZE
    n.sys_recvfrom(call, b, BASE, 3 * PAGE_SIZE, 0, 0, 0)
    assert queue.ring.start == 0 and queue.queued == 0  # a drained queue starts again at 0

"""eventfd, timerfd, signalfd and epoll (hmk.services.fsevents) as Linux answers them: the guest
programs of tests/guest/ (eventfd.c, timerfd.c, signalfd.c, epoll.c say what each line checks)
under three compositions against qemu-aarch64, epoll_pwait2 against this machine's own Linux
(qemu-user does not translate it), and what the programs cannot see: a mask size qemu does not
check, another service's Stream in an epoll, the work each call is charged, the core kernel's
alarms, and a timer run's determinism."""

from __future__ import annotations

import errno
import shutil
import struct
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from guest_programs import GUEST, build, linux_output, run
from test_fsmgr import BASE, make_fs

from hmk.kernel.core import CoreKernel, CorePort
from hmk.linux.abi import EPOLL_CTL_ADD, EPOLLET, ERESTARTSYS, POLLIN
from hmk.linux.syscalls import Call
from hmk.services.fsmgr import FsMgr
from hmk.services.vfs import Stream

PROGRAMS = ("eventfd", "timerfd", "signalfd", "epoll")
SYSTEMS = ("hm-phone", "linux", "sel4", "hybrid")
# the calls each program must have made through hmk (not answered ENOSYS)
CALLS = {
    "eventfd": ("eventfd2",),
    "timerfd": ("timerfd_create", "timerfd_settime", "timerfd_gettime"),
    "signalfd": ("signalfd4",),
    "epoll": ("epoll_create1", "epoll_ctl", "epoll_pwait"),
    "epoll_pwait2": ("epoll_pwait2",),
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return {name: build(tmp_path_factory, name) for name in (*PROGRAMS, "epoll_pwait2")}


@pytest.fixture(scope="module")
def linux(programs):
    """Linux's answers: qemu-aarch64's, and for epoll_pwait2 the host's own kernel's."""
    return {name: linux_output(programs[name]) for name in PROGRAMS}


@pytest.fixture(scope="module")
def host_pwait2(tmp_path_factory):
    cc = shutil.which("cc")
    if cc is None or not sys.platform.startswith("linux"):
        pytest.skip("no host C compiler on Linux")
    exe = tmp_path_factory.mktemp("host") / "epoll_pwait2"
    subprocess.run([cc, "-O1", "-o", exe, GUEST / "epoll_pwait2.c"], check=True)
    return subprocess.run([exe], capture_output=True, check=True).stdout


def _answers(program: str, system: str, expected: bytes) -> None:
    out, result = run(program, system=system)
    assert out == expected
    assert result.exit_status == 0
    name = program.rsplit("/", 1)[-1]
    for call in CALLS[name]:
        assert result.stats[f"shim.syscalls.{call}"] > 0, call


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_event_files_answer_as_linux(programs, linux, name, system):
    _answers(programs[name], system, linux[name])


@pytest.mark.parametrize("system", SYSTEMS)
def test_epoll_pwait2_answers_as_the_hosts_linux(programs, host_pwait2, system):
    _answers(programs["epoll_pwait2"], system, host_pwait2)


def test_timer_runs_are_deterministic(programs):
    """A run of timers, waits and alarms twice: the same cycles, the alarms rung."""
    (_, a), (_, b) = (run(programs["timerfd"]) for _ in range(2))
    assert a.stats["sim.cycles"] == b.stats["sim.cycles"]
    assert a.stats == b.stats
    assert a.stats["kernel.alarms"] >= 6


# ---- what the programs cannot see -------------------------------------------------------
def _charged(k, do):
    """(what `do` returned, the file manager's operations it was charged)."""
    before = Counter(k.counts)
    result = do()
    ops = {
        key.removeprefix("fsmgr.work."): n - before[key]
        for key, n in k.counts.items()
        if key.startswith("fsmgr.work.") and n != before[key]
    }
    spent = k.counts["fsmgr.instructions"] - before["fsmgr.instructions"]
    assert spent == sum(FsMgr.costs[op] * n for op, n in ops.items())
    return result, ops


def test_a_signalfd_mask_of_another_size_is_einval():
    f, space, call, _ = make_fs()
    assert f.sys_signalfd4(call, (1 << 64) - 1, BASE, 4, 0) == -errno.EINVAL
    assert f.sys_signalfd4(call, (1 << 64) - 1, BASE, 16, 0) == -errno.EINVAL
    assert f.sys_signalfd4(call, (1 << 64) - 1, BASE, 8, 0) == 3


def test_an_eventfd_read_that_waits_is_charged_the_wait_then_only_what_follows_it():
    f, space, call, k = make_fs()
    fd, ops = _charged(k, lambda: f.sys_eventfd2(call, 0, 0))
    assert (fd, ops) == (3, {"event_file": 1, "fd_install": 1})
    got, ops = _charged(k, lambda: f.sys_read(call, fd, BASE, 8))
    assert got == -ERESTARTSYS
    assert ops == {"fdget": 1, "rw_check": 1, "vfs_rw": 1, "eventfd": 1, "event_wait": 1}
    space.write(BASE + 64, struct.pack("<Q", 5))
    got, ops = _charged(k, lambda: f.sys_write(call, fd, BASE + 64, 8))
    assert got == 8
    # the reader is woken: a wake-up of its waiters
    assert ops == {
        "fdget": 1,
        "rw_check": 1,
        "vfs_rw": 1,
        "eventfd": 1,
        "event_wake": 1,
        "copy_line": 1,
    }
    resumed = Call(None, call.task, call.tcb, space, resumed=True)
    got, ops = _charged(k, lambda: f.sys_read(resumed, fd, BASE, 8))
    assert got == 8 and space.read(BASE, 8) == struct.pack("<Q", 5)
    assert ops == {"eventfd": 1, "copy_page": 1, "copy_line": 1}


class Socket(Stream):
    """Another service's object, known to the file manager through the Stream protocol only:
    `poll`, `waiters`, `generation` (`changed`)."""

    def __init__(self):
        super().__init__()
        self.ready = 0

    def poll(self, f) -> int:
        return self.ready


def test_epoll_watches_any_stream_level_and_edge_triggered_and_wakes_with_it():
    f, space, call, k = make_fs()
    sock = Socket()
    fd = f.tables[1].open(sock, 0, False)
    ep = f.sys_epoll_create1(call, 0)
    events = BASE + 256

    def add(flags, data):
        space.write(BASE, struct.pack("<I4xQ", flags, data))
        return f.sys_epoll_ctl(call, ep, EPOLL_CTL_ADD, fd, BASE)

    def wait(timeout=0, resumed=False):
        c = Call(None, call.task, call.tcb, space, resumed=resumed)
        n = f.sys_epoll_pwait(c, ep, events, 4, timeout, 0, 0)
        got = [struct.unpack_from("<I4xQ", space.read(events, 16 * n), 16 * i) for i in range(n)]
        return n if n < 0 else got

    assert add(POLLIN | EPOLLET, 0xABC) == 0
    assert wait() == []
    sock.ready = POLLIN
    sock.changed(k)
    assert wait() == [(POLLIN, 0xABC)]
    assert wait() == []  # edge-triggered: nothing new
    sock.changed(k)
    assert wait() == [(POLLIN, 0xABC)]
    # a wait with nothing ready blocks on the epoll and the socket; the socket's change wakes it
    sock.ready = 0
    assert wait(timeout=(1 << 32) - 1) == -ERESTARTSYS
    assert k.running in sock.waiters
    sock.ready = POLLIN
    sock.changed(k)
    assert k.running in k.woken
    assert wait(resumed=True) == [(POLLIN, 0xABC)]
    assert k.running not in sock.waiters  # it left the wait lists it joined
    # ppoll and select see it as they see any Stream
    space.write(BASE + 512, struct.pack("<ihh", fd, POLLIN, 0))
    assert f.sys_ppoll(call, BASE + 512, 1, 0, 0) == 1


class Clock(CorePort):
    """A core whose clock moves only by what the kernel charges."""

    def __init__(self):
        self.cycles = 0

    def add_cycles(self, n: int) -> None:
        self.cycles += n

    def now(self) -> int:
        return self.cycles


def test_alarms_ring_in_deadline_order_when_the_core_idles_and_cancelled_ones_never():
    k = CoreKernel(np.zeros(16 << 20, np.uint8), port=Clock())
    rang = []
    k.set_alarm(1000, lambda: rang.append(("late", k.now())))
    k.set_alarm(500, lambda: rang.append(("early", k.now())))
    k.cancel_alarm(k.set_alarm(700, lambda: rang.append(("cancelled", k.now()))))
    assert k._idle()  # nothing to run: the core idles to the first alarm
    assert rang == [("early", 500)]
    assert k.cycles["idle"] == 500 and k.cycles["timer"] > 0  # the alarm's expiry charged
    assert k._idle()
    assert rang == [("early", 500), ("late", 1000)]
    assert not k._idle()  # nothing pending: the cancelled alarm does not move the clock
    assert k.counts["kernel.alarms"] == 2

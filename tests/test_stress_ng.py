"""Debian's stress-ng (arm64, dynamically linked, from a root built by `hmk rootfs debian`:
tests/debian_root.py) runs its stressors to completion on hmk under every preset, and each
stressor's work went through the modeled services (docs/validation.md, "stress-ng").

Every stressor runs under `linux` and `hm-phone`, all at once in one stress-ng run; the other
presets run a quicker set that still reaches every service (procmgr, memmgr, fsmgr, netmgr).
The reason is host time, not a failure: the futex stressor's parent calls FUTEX_WAKE in a loop
until its child has counted an operation, and on HM's scheduler a woken thread of the same
priority waits for the waker's time slice to end, so each operation costs a slice of spinning:
100,000 to 200,000 simulated syscalls, 20 to 30 s of host time, on the HM presets, sel4 and
fiasco (docs/validation.md, "stress-ng").
"""

import io
import re

import pytest
from debian_root import debian_root

from hmk.system import run_program

OPS = 2  # bogo operations per stressor: enough to go round each loop more than once
FUTEX_OPS = 1  # each costs a time slice of spinning on HM's scheduler (see above)
ALL = ("fork", "pipe", "sock", "udp", "epoll", "eventfd", "timerfd", "futex", "mmap", "signal",
       "switch")  # fmt: skip
QUICK = ("fork", "pipe", "udp", "eventfd", "mmap", "signal")
EVERYTHING = ("linux", "hm-phone")
QUICKLY = ("hm-router", "hm-vehicle", "hm-ic0", "linux-rpi", "sel4", "fiasco")
# a stressor's own options follow its name (stress-ng gives them to the stressor named last)
OPTIONS = {"mmap": ("--mmap-bytes", "64K")}  # (default: 256 MiB mapped and touched per op)
METRIC = re.compile(rb"^stress-ng: metrc: \[\d+\] (\w+) +(\d+) +\d+\.\d+ ", re.M)


@pytest.fixture(scope="module")
def root():
    return debian_root(("stress-ng",))


def stress(root, system: str, stressors) -> tuple[bytes, object]:
    """stress-ng's output (stdout and stderr) and the run's RunResult."""
    args = ["--metrics-brief", "--timeout", "0", "--temp-path", "/tmp"]
    for name in stressors:
        ops = FUTEX_OPS if name == "futex" else OPS
        args += [f"--{name}", "1", f"--{name}-ops", str(ops), *OPTIONS.get(name, ())]
    out = io.BytesIO()
    result = run_program(
        "/usr/bin/stress-ng", args, system=system, rootfs=str(root), out=out, err=out,
        warnings=None,
    )  # fmt: skip
    return out.getvalue(), result


_RUNS: dict = {}


def run_once(root, system: str, stressors) -> tuple[bytes, object]:
    key = (system, stressors)
    if key not in _RUNS:
        _RUNS[key] = stress(root, system, stressors)
    return _RUNS[key]


# what each stressor's work leaves in the statistics: (counter, at least)
THROUGH = {
    "fork": ("services.procmgr.forks", OPS + 1),
    "pipe": ("services.fsmgr.work.pipe_write", OPS),
    "switch": ("services.fsmgr.work.pipe_write", OPS),
    "sock": ("services.netmgr.work.tcp_accept", 1),
    "udp": ("services.netmgr.work.udp_recv", OPS),
    "epoll": ("services.fsmgr.work.epoll_wait", 1),
    "eventfd": ("services.fsmgr.work.eventfd", 2 * OPS),
    "timerfd": ("services.fsmgr.work.timer_read", OPS),
    "futex": ("services.procmgr.work.futex_woken", FUTEX_OPS),
    "mmap": ("services.memmgr.work.mmap", OPS),
    "signal": ("signals.delivered.17", OPS),  # SIGCHLD sent to itself, a handler's each time
}


def check(out: bytes, result, stressors) -> None:
    text = out.decode(errors="replace")
    assert result.exit_status == 0, text[-2000:]
    assert "successful run completed" in text, text[-2000:]
    assert result.warnings == []  # no call it made went unanswered (ENOSYS)
    ops = {name.decode(): int(n) for name, n in METRIC.findall(out)}
    assert set(ops) == set(stressors), text[-2000:]
    # (the timerfd stressor counts expirations read, of 1,024 timers at a time)
    assert all(n >= (FUTEX_OPS if name == "futex" else OPS) for name, n in ops.items()), ops
    s = result.stats
    for name in stressors:
        counter, least = THROUGH[name]
        assert s[counter] >= least, (name, counter, s[counter])
    assert s["services.procmgr.forks"] >= len(stressors)  # each stressor is a child of its own
    if "sock" in stressors or "udp" in stressors:
        assert s["services.netmgr.sockets.made"] == s["services.netmgr.sockets.released"] > 0


@pytest.mark.parametrize("system", EVERYTHING)
def test_every_stressor_completes(root, system):
    check(*run_once(root, system, ALL), ALL)


@pytest.mark.parametrize("system", QUICKLY)
def test_a_quick_set_completes(root, system):
    check(*run_once(root, system, QUICK), QUICK)


def test_the_same_run_gives_the_same_cycles(root):
    """stress-ng reads the clocks and random bytes; hmk's are the simulated clock and a seeded
    generator, so a second run is the same run."""
    out, result = run_once(root, "hm-ic0", QUICK)
    again, second = stress(root, "hm-ic0", QUICK)
    assert (second.cycles, again) == (result.cycles, out)

"""Sockets as Linux answers them, under several compositions, against qemu-aarch64 on a machine
whose only network is the loopback (a network namespace of its own): AF_UNIX sockets
(tests/guest/sockunix.c), TCP and UDP over IPv4 and IPv6 (sockinet.c), and the waits between
processes, signals and descriptors passed between them (sockwait.c); each program says what
its lines check. Linux's answers are tests/guest/NAME.expected (with Linux's default socket
sysctls: net.core.wmem_default and rmem_default, net.unix.max_dgram_qlen)."""

import pytest
from guest_programs import GUEST, build, loopback_output, run

from hmk.report import stats as S
from hmk.services.netmgr import NetMgr

PROGRAMS = ("sockunix", "sockinet", "sockwait")
SYSTEMS = ("hm-phone", "linux", "sel4", "fiasco", "hybrid")


def expected(name: str) -> bytes:
    return (GUEST / f"{name}.expected").read_bytes()


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    return {name: build(tmp_path_factory, name) for name in PROGRAMS}


@pytest.mark.parametrize("name", PROGRAMS)
def test_linux_gives_the_expected_output(programs, name):
    assert loopback_output(programs[name]) == expected(name)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_sockets_answer_as_linux(programs, name, system):
    out, result = run(programs[name], system=system)
    assert (out, result.exit_status) == (expected(name), 0)
    stats = result.stats
    assert stats["services.netmgr.work.call"] > 0
    # every socket released, every frame of their queues given back
    made = stats["services.netmgr.sockets.made"]
    assert made > 10 and stats["services.netmgr.sockets.released"] == made
    assert stats["frames.netmgr.buffers.peak"] > 0
    assert stats.get("frames.netmgr.buffers.in_use", 0) == 0


@pytest.mark.parametrize(
    "system, route",
    [("hm-phone", "domains.fsmgr.calls.net.fast"), ("sel4", "domains.fsmgr.calls.netmgr.fast")],
)
def test_the_network_manager_asks_the_file_manager_for_descriptors(programs, system, route):
    """Each socket call's descriptor, and each new one, is a call to the file manager as the
    composition places the two; a monolithic kernel makes them function calls."""
    _, result = run(programs["sockunix"], system=system)
    stats = result.stats
    assert stats[route] >= stats["shim.syscalls.socket"] + stats["shim.syscalls.sendto"]
    _, linux = run(programs["sockunix"], system="linux")
    assert not any(".calls." in k and k.endswith((".fast", ".slow")) for k in linux.stats)


def test_socket_runs_charge_their_operations_and_name_their_statistics(programs):
    _, result = run(programs["sockinet"])
    stats = result.stats
    head = "services.netmgr.work."
    ops = {k.removeprefix(head): v for k, v in stats.items() if k.startswith(head)}
    assert {"tcp_send", "tcp_recv", "udp_send", "udp_recv", "tcp_connect", "bind"} <= set(ops)
    assert stats["services.netmgr.instructions"] == sum(NetMgr.costs[k] * v for k, v in ops.items())
    assert [name for name in stats if S.describe(name) is None] == []

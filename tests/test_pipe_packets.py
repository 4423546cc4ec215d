"""Pipes in packet mode (pipe2's O_DIRECT; hmk.services.fsio): tests/guest/pipepackets.c under
three compositions against qemu-aarch64."""

import pytest
from guest_programs import build, linux_output, run


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    exe = build(tmp_path_factory, "pipepackets")
    return exe, linux_output(exe)


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_packets_answer_as_linux(program, system):
    exe, want = program
    out, result = run(exe, system=system)
    assert (out, result.exit_status) == (want, 0)
    assert b"read 2: 2 'de'" in out and b"fit: 16" in out

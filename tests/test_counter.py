"""The generic timer read from EL0 (CNTFRQ_EL0, CNTVCT_EL0) answers from the simulated clock at
the profile's counter frequency, deterministically, and counts the same time as clock_gettime
(tests/guest/counter.c, against qemu-aarch64 for the facts that hold on any Linux machine)."""

import re

import pytest
from guest_programs import build, linux_output, run

from hmk.hw.profile import load_soc


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "counter")


def _facts(out: bytes) -> bytes:
    return b"".join(line for line in out.splitlines(True) if not line.startswith(b"raw:"))


def _raw(out: bytes) -> tuple[int, int, int]:
    m = re.search(rb"raw: frequency (\d+) counted (\d+) clock (\d+)", out)
    return tuple(int(x) for x in m.groups())


def test_facts_match_linux(program):
    expected = _facts(linux_output(program))
    for system in ("hm-phone", "linux", "sel4"):
        out, result = run(program, system=system)
        assert (_facts(out), result.exit_status) == (expected, 0)


@pytest.mark.parametrize("profile", ["rpi4", "kirin9000"])
def test_counter_is_the_simulated_clock_at_the_profile_s_frequency(program, profile):
    import io  # noqa: PLC0415

    from hmk.system import run_program  # noqa: PLC0415

    def once():
        out = io.BytesIO()
        result = run_program(program, profile=profile, out=out, err=io.BytesIO(), warnings=None)
        return out.getvalue(), result.cycles

    (out, cycles), again = once(), once()
    assert (out, cycles) == again  # the same run reads the same counter values
    frequency, counted, clock = _raw(out)
    assert frequency == round(load_soc(profile).counter_mhz * 1e6)
    # the counter's interval lies inside the clock's (to one tick: it counts whole ticks); the
    # clock's also holds the return from the first clock_gettime and the entry to the second
    tick = 1e9 / frequency
    assert -tick <= clock - counted <= 2000

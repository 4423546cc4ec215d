"""Simulated time has an end: a run's cycle limit, or the range of the timing model's clock.
A core that would idle past it (a guest sleeping for ages, a timer set far away) idles to
it and the run stops there as at a run limit (exit status 124), deterministically and at
once, instead of the host spinning or the clock overflowing."""

import pytest
from guest_programs import build, run

from hmk.system.simulation import CLOCK_RANGE, LIMIT_STATUS


@pytest.fixture(scope="module")
def sleeper(tmp_path_factory):
    return build(tmp_path_factory, "sleeper")


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4"])
def test_a_cycle_limit_holds_while_the_core_idles(sleeper, system):
    out, result = run(sleeper, "10", system=system, max_cycles=10**9)
    assert (out, result.exit_status) == (b"", LIMIT_STATUS)
    assert result.cycles == 10**9 and "1,000,000,000 cycles" in result.fault


@pytest.mark.parametrize("system", ["linux", "hm-phone"])
def test_a_sleep_beyond_the_clock_ends_at_its_range(sleeper, system):
    out, result = run(sleeper, "1000000000", system=system)  # about 32 years
    assert (out, result.exit_status) == (b"", LIMIT_STATUS)
    assert "simulated clock's range" in result.fault
    assert 0 < result.cycles <= CLOCK_RANGE
    again = run(sleeper, "1000000000", system=system)[1]
    assert again.stats == result.stats


def test_a_sleep_within_the_limit_is_untouched(sleeper):
    out, result = run(sleeper, "1", system="hm-phone", max_cycles=10**10)
    assert (out, result.exit_status) == (b"nanosleep 0\n", 0)
    assert result.cycles > 10**9 * result.ghz / 1.001  # a whole simulated second went by

"""Simulated time has an end: a run's cycle limit, or the range of the timing model's clock.
A core that would idle past it (a guest sleeping for ages, a timer set far away) idles to
it and the run stops there as at a run limit (exit status 124), deterministically and at
once, instead of the host spinning or the clock overflowing. Periodic timers nobody reads
wake the idle core no more than Linux's would."""

import pytest
from guest_programs import build, linux_output, run

from hmk.system.simulation import CLOCK_RANGE, LIMIT_STATUS


@pytest.fixture(scope="module")
def sleeper(tmp_path_factory):
    return build(tmp_path_factory, "sleeper")


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
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


@pytest.fixture(scope="module")
def timerstorm(tmp_path_factory):
    return build(tmp_path_factory, "timerstorm")


def test_the_timer_storm_matches_linux(timerstorm):
    assert linux_output(timerstorm) == TIMERSTORM


@pytest.mark.parametrize("system", ["linux", "hm-phone", "sel4", "hybrid"])
def test_timers_nobody_reads_do_not_ring_on(timerstorm, system):
    """A 1 ns timerfd, a 1 us ITIMER_REAL with SIGALRM blocked and a 1 ns SIGEV_NONE timer
    through a 1 s sleep: they start again only when read or taken, as Linux's, so the
    idle core wakes for each of them once (it rang ~1e9 times before)."""
    out, result = run(timerstorm, system=system)
    assert (out, result.exit_status) == (TIMERSTORM, 0)
    assert result.stats["kernel.alarms"] < 10


TIMERSTORM = b"""timerfd_settime 0
setitimer 0
timer_create 0
timer_settime 0
nanosleep 0
read 8, expirations above 1e8: 1
quiet timer: next within its period 1, period 1 ns
SIGALRM pending 1, handled 0
after unblocking: handled 1
"""

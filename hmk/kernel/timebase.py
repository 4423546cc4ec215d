"""The run's one time base, and how a core's own cycles count on it.

Every core's clock counts cycles at its own frequency. With cores of different frequencies in
one run (big.LITTLE), the kernel keeps every time that crosses cores in one unit, the cycles of
the boot core's clock (core 0): deadlines and sleepers, alarms, the cores' ticks, the CPU-time
accounts, CFS's clock, the generic counter, the run's horizon and limits, and the turns the
cores take. `TimeBase` converts where a core's clock is read (`time`), where it must reach a
time (`cycles`), and where work is charged to it (`spent`: the charge on the time base, for the
kernel's totals and the CPU time of the thread on the core).

Frequencies are taken to the kHz, so the ratio is one of integers and every conversion is
exact and deterministic. A core at the time base's own frequency converts nothing: a run whose
cores share one frequency gives the figures it gave before there was a time base.
"""

from __future__ import annotations

from math import gcd


def khz(ghz: float) -> int:
    """A clock frequency in whole kHz (every bundled profile's is a whole number of MHz)."""
    value = round(ghz * 1e6)
    if value <= 0:
        raise ValueError(f"a core's clock must be positive, not {ghz!r} GHz")
    return value


class TimeBase:
    """Core cycles at `ghz` against a time base counting cycles at `base_ghz` (default: the
    core's own: nothing is converted). One per core: `spent` keeps the part of a time-base
    cycle its charges have not yet made whole."""

    __slots__ = ("_rest", "den", "num", "same")

    def __init__(self, ghz: float = 1.0, base_ghz: float | None = None):
        core, base = khz(ghz), khz(ghz if base_ghz is None else base_ghz)
        common = gcd(core, base)
        self.num, self.den = base // common, core // common  # time-base cycles a core cycle
        self.same = self.num == self.den
        self._rest = 0  # charges' num * cycles not yet a whole time-base cycle

    def time(self, cycles: int) -> int:
        """The core's clock reading `cycles` on the time base (rounded down)."""
        return cycles if self.same else cycles * self.num // self.den

    def cycles(self, time: int) -> int:
        """The first reading of the core's clock at or after time-base time `time`."""
        return time if self.same else -(-time * self.den // self.num)

    def cycles_by(self, time: int) -> int:
        """The last reading of the core's clock at or before time-base time `time`."""
        return time if self.same else time * self.den // self.num

    def duration(self, cycles: int) -> int:
        """`cycles` of the core's as a time-base duration (rounded up: a wait for them)."""
        return cycles if self.same else -(-cycles * self.num // self.den)

    def spent(self, cycles: int) -> int:
        """`cycles` charged to the core, on the time base: the share of the charges' running
        total, so that their sum is the total's conversion however many there are."""
        if self.same:
            return cycles
        total = self._rest + cycles * self.num
        whole = total // self.den
        self._rest = total - whole * self.den
        return whole


SAME = TimeBase()  # a core whose cycles are the time base's (an untimed or only core)

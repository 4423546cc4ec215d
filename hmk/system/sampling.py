"""Fast-forward and SMARTS sampling: user instructions run functionally, timed in detail only
where it is measured (docs/performance.md, "Fast-forward and sampling").

A run goes through phases, each until the user-instruction count (every process's, counted by
the CPU's block hook) reaches a mark; the CPU stops at the first block boundary at or after it:

* detail (exact, cold, detail, measure): the full model, as a run without these options:
  every access through the caches and TLBs, every block through the timing model. A measured
  window (measure) or a stretch counted exactly (exact: the run's first `start` instructions;
  cold: code run for the first time) keeps its user cycles (the clock less the kernel's
  cycles in it) and instructions.
* warm: functional warming: every access through the caches and TLBs (their state as a full
  run would leave it), the blocks not through the timing model.
* functional: unicorn alone (the memory hook removed: hmk.cpu.machine.record_memory), only
  the executed blocks recorded, to count instructions.

Outside detail the clock moves on by an estimate (TimingModel.skip): the last window's CPI, or
ASSUMED_CPI before the first; so timer ticks, timed waits and the clocks a program reads go on.
Kernel paths (syscalls, faults, IPC, services) are modelled and charged as in a full run in
every phase.

`FastForward(n, warming)`: functional, then warm for the last `warming` instructions before
`n` (None: all of them), then detail to the end. `Sampling(window, warmup, period, warming,
start)`: systematic sampling as SMARTS (Wunderlich et al., ISCA 2003): after the first `start`
instructions (in detail, counted exactly), every `period` instructions a detailed warm-up of
`warmup` then a measured window of `window`; between windows functional, with the last
`warming` before each warm-up warm (None: all, as SMARTS's continuous functional warming). A
block never run before stops any phase but the exact start: it runs in detail, counted
exactly, until a warm-up's length of instructions goes by without another. The estimate: the
exact stretches' cycles, plus the windows' CPIs, each weighted by the instructions it stands
for (its period less what in it was counted exactly), times the rest of the instructions, plus
the kernel's cycles; with a 95% confidence interval from the windows' weighted CPI variance
(Student's t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EXACT, COLD, DETAIL, MEASURE = "exact", "cold", "detail", "measure"
WARM, FUNCTIONAL = "warm", "functional"
PHASES = (EXACT, COLD, DETAIL, MEASURE, WARM, FUNCTIONAL)
# cycles per instruction given to fast-forwarded instructions, before anything is measured:
# assumed, as gem5's AtomicSimpleCPU takes one cycle an instruction
ASSUMED_CPI = 1
# Student's t, two-sided 95% (0.975 quantile), by degrees of freedom (any statistics table)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306}
T95 |= {9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131}
T95 |= {16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074}
T95 |= {23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045}
T95 |= {30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
Z95 = 1.960


def t95(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom (between the table's
    rows, the row below: a slightly wider interval)."""
    if df < 1:
        raise ValueError("a confidence interval needs two windows or more")
    return T95[max(d for d in T95 if d <= df)] if df <= 120 else Z95


def _count(value, what: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        kind = "a positive" if low else "a non-negative"
        raise ValueError(f"{what} must be {kind} whole number of instructions, not {value!r}")
    return value


def _warming(value) -> int | None:
    return None if value is None else _count(value, "warming", 0)


@dataclass(frozen=True)
class Sampling:
    """SMARTS's parameters, in user instructions: each measured `window` (U) follows a
    detailed `warmup` (W), one every `period` (P); `warming`: the functional warming before
    each warm-up (None: every instruction between windows). The first `start` instructions
    run in full detail and are counted exactly, a stratum of their own: a program's start-up
    (cold caches and TLBs, code run once) would otherwise weigh as much as any window."""

    window: int = 1_000
    warmup: int = 2_000
    period: int = 100_000
    warming: int | None = None
    start: int = 0

    def __post_init__(self):
        _count(self.window, "the sampling window")
        _count(self.warmup, "the sampling warm-up", 0)
        _count(self.period, "the sampling period")
        _warming(self.warming)
        _count(self.start, "the sampling start", 0)
        if self.warmup + self.window > self.period:
            raise ValueError(
                f"the sampling period ({self.period:,}) must be at least the warm-up and the "
                f"window ({self.warmup:,} + {self.window:,} instructions)"
            )

    def describe(self) -> dict:
        return {
            "window": self.window,
            "warmup": self.warmup,
            "period": self.period,
            "warming": "all" if self.warming is None else self.warming,
            "start": self.start,
        }


@dataclass(frozen=True)
class FastForward:
    """`instructions` run functionally before the full model starts; the last `warming` of them
    warm the caches and TLBs (None: all)."""

    instructions: int
    warming: int | None = None

    def __post_init__(self):
        _count(self.instructions, "fast_forward")
        _warming(self.warming)

    def describe(self) -> dict:
        return {
            "instructions": self.instructions,
            "warming": "all" if self.warming is None else self.warming,
        }


@dataclass(frozen=True)
class Window:
    """A measured window: its first instruction (the run's count), instructions, user cycles,
    and where its period (the stretch it stands for) starts."""

    start: int
    instructions: int
    cycles: float
    period: int

    @property
    def cpi(self) -> float:
        return self.cycles / self.instructions


class Sampler:
    """Drives a Simulation through a plan's phases (a FastForward or a Sampling): made before
    the run, `start()` as it begins, `boundary()` at every stop of the CPU between blocks."""

    def __init__(self, sim, plan: FastForward | Sampling):
        self.sim, self.plan = sim, plan
        self.machine, self.timing, self.hierarchy = sim.machine, sim.timing, sim.hierarchy
        self.recorder = sim.machine.recorder
        self.unit = self.timing.params.unit  # the clock's units per cycle
        self.phase, self.until, self.since = None, 0, 0
        self.period_start = 0
        self.spent = dict.fromkeys(PHASES, 0)
        # stretches counted exactly (the start, new code): (first instruction, instructions,
        # user time in units)
        self.exact: list[tuple[int, int, int]] = []
        self.windows: list[Window] = []
        self._mark = None  # where the window or the stretch of new code being run began
        self._cold = False
        # the clock's units per instruction outside detail, as a fraction: the last window's
        self._rate = (ASSUMED_CPI * self.unit, 1)
        self._carry = 0

    # ---- phases --------------------------------------------------------------------------
    def start(self) -> None:
        if isinstance(self.plan, Sampling):
            self.machine.watch_new_code(self.sim.program_task.proc.image)
        self._advance()

    def finish(self) -> None:
        """The run has ended: a window or stretch of new code cut short by the end is measured
        as far as it went."""
        n = self.recorder.instructions
        if self._cold:
            units, count = self._measure()
            self.exact.append((self.since, count, units))
            self.spent[COLD] += n - self.since
            self._cold = False
        elif self.phase is not None:
            self._leave(self.phase, n)
        self.phase = None

    def boundary(self) -> None:
        """The CPU stopped between blocks: run new code in detail, or move to the next phase
        if this one is done."""
        n = self.recorder.instructions
        if self.recorder.cold_stop():  # before a block run for the first time
            self._enter_cold(n)
        elif self._cold:
            quiet = self.recorder.last_new + self.plan.warmup
            if n < quiet:
                self.recorder.stop_at = quiet
                return
            self._leave_cold(n)
        if self._cold:
            return
        if self.until is not None and n >= self.until:
            self._advance()
        else:
            self.recorder.stop_at = self.until

    def _advance(self) -> None:
        n = self.recorder.instructions
        while self.until is not None and n >= self.until:
            if self.phase is not None:
                self._leave(self.phase, n)
            self.phase, self.until = self._next(self.phase, n)
            self.since = n
            self._enter(self.phase)
        self.recorder.stop_at = self.until

    def _next(self, phase, n: int) -> tuple[str, int | None]:
        """The phase after `phase` (None: the run's start) at instruction `n`, and where it
        ends (None: the run's end); a phase may be empty (it ends where it starts)."""
        plan = self.plan
        if isinstance(plan, FastForward):
            end, warming = plan.instructions, plan.warming
            if phase is None and warming is not None:
                return FUNCTIONAL, end - warming
            if phase in (None, FUNCTIONAL):
                return WARM, end
            return DETAIL, None
        if phase is None:
            return EXACT, plan.start
        if phase == EXACT:
            self.period_start = n
        start, end = self.period_start, self.period_start + plan.period
        if phase in (EXACT, WARM):
            if phase == WARM:
                self.period_start = start = end
            return DETAIL, start + plan.warmup
        if phase == DETAIL:
            return MEASURE, n + plan.window  # a window is never empty
        if phase == MEASURE and plan.warming is not None:
            return FUNCTIONAL, end - plan.warming
        return WARM, end

    def _enter(self, phase: str) -> None:
        sink = {FUNCTIONAL: self._functional, WARM: self._warm}.get(phase)
        self.sim.divert(sink)
        self.machine.record_memory(phase != FUNCTIONAL)
        self.recorder.stop_on_new = phase != EXACT
        if phase in (MEASURE, EXACT):
            self._mark = self._clocks()

    def _leave(self, phase: str, n: int) -> None:
        self.spent[phase] += n - self.since
        if phase not in (EXACT, MEASURE):
            return
        units, count = self._measure()
        if phase == EXACT:
            self.exact.append((self.since, count, units))
        elif count:
            window = Window(self.since, count, units / self.unit, self.period_start)
            self.windows.append(window)
            self._rate, self._carry = (units, count), 0

    def _enter_cold(self, n: int) -> None:
        """A block never seen before is about to run: code run for the first time (cold caches
        and TLBs for code, untrained predictors) runs in detail and is counted exactly until
        a warm-up's length of instructions has run without any."""
        if self.phase == MEASURE:  # a window cut short: measured as far as it went
            self._leave(MEASURE, n)
            self.phase, self.until = self._next(MEASURE, n)
        else:
            self.spent[self.phase] += n - self.since
        self.since, self._cold = n, True
        self._enter(EXACT)
        self.recorder.stop_at = self.recorder.last_new + self.plan.warmup

    def _leave_cold(self, n: int) -> None:
        units, count = self._measure()
        self.exact.append((self.since, count, units))
        self.spent[COLD] += n - self.since
        self.since, self._cold = n, False
        self._enter(self.phase)

    def _measure(self) -> tuple[int, int]:
        """The user time (units) and instructions since `_mark`."""
        clock, external, instructions = self._clocks()
        clock0, external0, instructions0 = self._mark
        return (clock - clock0) - (external - external0), instructions - instructions0

    def _clocks(self) -> tuple[int, int, int]:
        """The clock, the external (kernel) time in it (the model's units) and the modelled
        instructions, once every batch so far is timed."""
        self.machine.sync()
        timing = self.timing
        return timing.clock, timing.external_units, timing.instructions

    # ---- how batches are taken outside detail ---------------------------------------------
    def _functional(self, blocks, events) -> None:
        """A batch run functionally: its instructions counted, the clock moved on by the
        current estimate of their time."""
        n = int(blocks["ninsn"].sum())
        num, den = self._rate
        total = n * num + self._carry
        units, self._carry = divmod(total, den)
        self.timing.skip(n, units)

    def _warm(self, blocks, events) -> None:
        """A batch of functional warming: its accesses through the caches and TLBs."""
        self.hierarchy.run(events, check=False)
        self._functional(blocks, events)

    # ---- results -------------------------------------------------------------------------
    def stats(self) -> dict:
        """The estimate's statistics (`sample.*`, for a Sampling; docs/stats.md)."""
        if not isinstance(self.plan, Sampling):
            return {}
        timing = self.timing
        user = timing.instructions + timing.functional_instructions
        kernel = timing.stats()["timing.external_cycles"]
        out = {"sample.windows": len(self.windows), "sample.kernel_cycles": kernel}
        for phase in PHASES:
            out[f"sample.instructions.{phase}"] = self.spent[phase]
        if not timing.functional_instructions:  # nothing skipped: the clock is exact
            out["sample.user_cycles"] = timing.cycles - kernel
            out["sample.cycles"] = timing.cycles
            out["sample.cycles_ci95"] = 0
            return out
        exact_units = sum(units for _, _, units in self.exact)
        exact_instructions = sum(count for _, count, _ in self.exact)
        cpi, half = self.cpi(user)
        sampled = user - exact_instructions  # the stratum the windows stand for
        out["sample.cpi"] = cpi
        out["sample.user_cycles"] = round(exact_units / self.unit + cpi * sampled)
        out["sample.cycles"] = out["sample.user_cycles"] + kernel
        if half is not None:
            out["sample.cpi_ci95"] = half
            out["sample.cycles_ci95"] = round(half * sampled)
        return out

    def cpi(self, end: int) -> tuple[float, float | None]:
        """The user CPI of the sampled stratum and the half-width of its 95% confidence
        interval (None with fewer than two windows), for a run that ended at instruction `end`:
        each window stands for its period (the last, for the rest of the run) less what in it
        was counted exactly, so the estimate is the mean of the windows' CPIs weighted by
        those instructions, its variance the weighted mean's (for equal weights, the windows'
        variance over their number)."""
        windows = self.windows
        ends = [w.period for w in windows[1:]] + [end]
        weights = []
        for window, stop in zip(windows, ends, strict=True):
            exact = sum(n for first, n, _ in self.exact if window.period <= first < stop)
            weights.append(max(0, stop - window.period - exact))
        total, k = sum(weights), len(windows)
        if not total:  # (every period counted exactly: the windows stand for nothing)
            weights, total = [1] * k, k
        mean = sum(w * x.cpi for w, x in zip(weights, windows, strict=True)) / total
        if k < 2:
            return mean, None
        spread = sum(w * w * (x.cpi - mean) ** 2 for w, x in zip(weights, windows, strict=True))
        return mean, t95(k - 1) * math.sqrt(k / (k - 1) * spread) / total

    def describe(self) -> dict:
        key = "fast_forward" if isinstance(self.plan, FastForward) else "sampling"
        return {key: self.plan.describe()}

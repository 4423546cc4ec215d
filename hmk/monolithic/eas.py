"""Linux's placement on cores of different capacities: per-task utilisation (PELT), energy-aware
wake-ups and misfit tasks (Documentation/scheduler/sched-energy.rst, sched-capacity.rst; the
mechanism read in kernel/sched/fair.c and pelt.c, not copied).

- PELT (per-entity load tracking): a task's utilisation is a geometric average of its running
  time in periods of 1024 us whose weight halves every 32 periods (y^32 = 1/2), each period's
  running time counted at the capacity of the core it ran on (scale_cpu) and its clock's share
  of the top one (scale_freq, 1 here: every core runs at its cluster's top clock). A task
  always running on a core converges to that core's capacity. This is the contribution-scaled
  form of Linux 4.15 to 5.0 (___update_load_sum, accumulate_sum); Linux 5.1 and later scale
  PELT's clock instead (update_rq_clock_pelt), with the same steady state for a task that
  leaves its core idle now and then.
- A new task starts at half its core's spare capacity (post_init_entity_util_avg, the cap
  `(cpu_scale - cfs_rq util) / 2`; the branch that scales the queue's utilisation by the task's
  share of its load is left out: the model keeps no load average).
- A core's utilisation is the sum of its tasks' (the blocked ones' decaying as on Linux, whose
  cfs_rq keeps their utilisation until they move), at most its capacity (cpu_util). A task fits
  a core when its utilisation is below 80% of the core's capacity (fits_capacity: the 20%
  margin, `util * 1280 < capacity * 1024`); a core is overutilised when its own utilisation
  does not fit it (cpu_overutilized).
- A waking task (select_task_rq_fair -> find_energy_efficient_cpu), while no core is
  overutilised: in each performance domain (the cores of one capacity: one cluster of a
  bundled profile) the allowed core with the most spare capacity on which the task fits, and
  its previous core; the one whose placement adds the least estimated energy wins, the
  previous core on a tie (EAS keeps a task where it is unless another core saves energy).
  The energy model of a domain is its power at its clock (below); compute_energy's estimate
  for a domain is that power times its cores' summed utilisation over their capacity
  (em_cpu_energy), so with one operating point per cluster the cost of a task is its
  utilisation times the domain's power per unit of capacity. When a core is overutilised
  (or the task fits nowhere) EAS is off and the wake-up takes the fallback path
  (select_idle_sibling with select_idle_capacity): the previous core if it is idle and the
  task fits it, else the first idle allowed core after it on which it fits, else the idle one
  of the largest capacity, else the previous core. wake_affine, the waker's core as the
  target, is left out.
- Misfit (update_misfit_status at the tick, then the load balancer's misfit group and active
  balance): a running task that no longer fits its core moves to an idle allowed core of a
  larger capacity, the largest; at the busy core's tick (the nohz balancer's kick and the
  stopper that moves a running task are folded into it) or when a bigger core goes idle
  (newidle_balance pulling the misfit task).

Energy model: power = dynamic-power-coefficient x MHz x V^2 (Linux's DT binding cpus.yaml:
uW/MHz/V^2; the kernel's of_dev_pm_opp_get_cpu_power); the coefficients are in
hmk.system.cores (DYNAMIC_POWER), the voltages assumed there.
"""

from __future__ import annotations

PERIOD = 1024  # a PELT period, in the ns >> 10 units (~us) Linux counts in
HALF_LIFE = 32  # periods for the weight of the past to halve (y^32 = 1/2)
# y^k in 32-bit fixed point, k < 32 (Linux tabulates the same numbers: runnable_avg_yN_inv)
_Y = [min(round(2**32 * 0.5 ** (k / HALF_LIFE)), 2**32 - 1) for k in range(HALF_LIFE)]
FIT_MARGIN = (1280, 1024)  # fits_capacity: util * 1280 < capacity * 1024


def decay(value: int, periods: int) -> int:
    """`value` after `periods` periods: halved every 32, times y^k for the rest."""
    if periods >= HALF_LIFE * 64:
        return 0
    value >>= periods // HALF_LIFE
    return value * _Y[periods % HALF_LIFE] >> 32


def _series_max() -> int:
    """The largest sum a signal reaches: a full period's 1024 added and the past decayed, every
    period, until it stops growing in integers (Linux's LOAD_AVG_MAX, 47742)."""
    total = 0
    while (nxt := decay(total, 1) + PERIOD) != total:
        total = nxt
    return total


SERIES_MAX = _series_max()


def fits(util: int, capacity: int) -> bool:
    """fits_capacity: below 80% of the capacity."""
    return util * FIT_MARGIN[0] < capacity * FIT_MARGIN[1]


class Signal:
    """One task's utilisation signal: the decayed sum of its running time (scaled by the
    capacity it ran at), how far into the current period it is, when it was last brought up
    to date (ns >> 10), and the capacity of the core it runs on now (0: not running)."""

    __slots__ = ("last", "running", "total", "within")

    def __init__(self, util: int, now: int):
        self.within, self.last, self.running = 0, now, 0
        self.total = util * (SERIES_MAX - PERIOD)

    def advance(self, now: int) -> None:
        """Bring the signal up to `now`: the time since its last update is running time at
        `running`'s capacity, or time off the core."""
        delta = now - self.last
        if delta <= 0:
            return
        self.last = now
        span = delta + self.within
        periods = span // PERIOD
        ran = delta
        if periods:
            self.total = decay(self.total, periods)
            # the rest of the first period (decayed), the full ones between, the new one's start
            ran = decay(PERIOD - self.within, periods)
            ran += SERIES_MAX - decay(SERIES_MAX, periods) - PERIOD + span % PERIOD
        self.within = span % PERIOD
        if self.running:
            self.total += ran * self.running

    def util(self) -> int:
        """util_avg: the sum over what a task always running at capacity 1 would have."""
        return self.total // (SERIES_MAX - PERIOD + self.within)


def energy_cost(power: list[int], capacity: list[int], core: int, util: int) -> int:
    """The estimated energy a task of `util` adds on `core`: its domain's power per unit of
    capacity times the task's utilisation (compute_energy's difference with one operating
    point per domain)."""
    return power[core] * util // capacity[core]

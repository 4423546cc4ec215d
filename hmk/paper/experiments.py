"""The HM paper's experiments on the model: the runs each makes, the cells it measures, and the
table rows that set them (and values derived from them) beside the published ones.

Published values come from hmk/calibration/anchors.toml by id, never retyped here. A cell's
value is rounded as the page prints it, so everything derived from cells is the same whether
it is computed from a fresh run or from the committed page.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.bench import BY_NAME
from hmk.calibration.anchors import anchor, anchors
from hmk.paper.runs import Run, board


@dataclass(frozen=True)
class Cell:
    """One measured value: `quantity` under `system` on `profile`."""

    experiment: str
    profile: str
    quantity: str
    system: str
    value: float | None  # None: the run failed
    unit: str  # "ns", "MB/s" or "frames"
    failure: str | None = None


@dataclass(frozen=True)
class Published:
    """A published value: one anchor's, or derived from anchors as `how` says."""

    value: float
    unit: str
    anchors: tuple[str, ...]
    how: str = ""


def published(anchor_id: str) -> Published:
    a = anchor(anchor_id)
    return Published(a.value, a.unit, (anchor_id,))


def less_by(anchor_id: str) -> Published:
    """A claim "HM takes X% less time than Linux" as the time ratio HM / Linux."""
    a = anchor(anchor_id)
    return Published(1 - a.value / 100, "ratio", (anchor_id,), f"{a.value:g}% less")


def ratio_of(over: str, under: str) -> Published:
    a, b = anchor(over), anchor(under)
    return Published(
        a.value / b.value, "ratio", (over, under), f"{a.value:g} / {b.value:g} {a.unit}"
    )


@dataclass(frozen=True)
class Row:
    """A table row: a cell, or a value derived from cells, beside its published value."""

    profile: str
    quantity: str
    system: str
    value: float | None
    unit: str
    published: Published | None = None

    @property
    def error(self) -> float | None:
        """(model - published) / published, in percent."""
        if self.value is None or self.published is None:
            return None
        return 100 * (self.value - self.published.value) / abs(self.published.value)


def on_board(profile: str, make, *ids: str) -> Published | None:
    """make(*ids) when the anchors were measured on `profile`'s board (the first id's)."""
    return make(*ids) if anchor(ids[0]).board == board(profile) else None


class Experiment:
    name = ""  # what --only names
    title = ""
    systems: tuple[str, ...] = ()
    quantities: tuple[str, ...] = ()  # what it measures (the cells' quantities)
    unit = "ns"  # the cells'
    runs_for: dict[str, tuple[str, ...]] = {}  # quantity -> the program and its arguments

    def runs(self, profiles, quantities=None, systems=None) -> list[Run]:
        """The runs behind the cells (default: all of them) on `profiles`."""
        return [
            Run(args[0], args[1:], system, profile)
            for profile in profiles
            for q in quantities or self.quantities
            for args in self.programs(q)
            for system in systems or self.systems
        ]

    def programs(self, quantity: str) -> list[tuple[str, ...]]:
        return [self.runs_for[quantity]]

    def cells(self, outcomes, profiles) -> list[Cell]:
        """Every cell on `profiles`, from `outcomes` (Run -> Outcome) holding this one's runs."""
        return [
            self.cell(outcomes, profile, q, system)
            for profile in profiles
            for q in self.quantities
            for system in self.systems
        ]

    def cell(self, outcomes, profile: str, quantity: str, system: str) -> Cell:
        runs = [Run(a[0], a[1:], system, profile) for a in self.programs(quantity)]
        got = [outcomes[r] for r in runs]
        failed, value = next((o.failure for o in got if o.failure), None), None
        if failed is None:
            try:
                value = self.value(quantity, got)
            except (KeyError, ValueError) as e:
                line = " ".join(f"{k}={v}" for k, v in got[0].output.items())
                failed = f"{runs[0].program}: {e}: {line or 'no output'}"
        return Cell(self.name, profile, quantity, system, value, self.unit, failed)

    def value(self, quantity: str, outcomes) -> float:
        raise NotImplementedError

    def rows(self, cells: list[Cell]) -> list[Row]:
        """The cells, each with its published value, then the values derived from them."""
        mine = [c for c in cells if c.experiment == self.name]
        rows = [
            Row(c.profile, c.quantity, c.system, c.value, c.unit, self.published(c)) for c in mine
        ]
        return rows + self.derived(mine)

    def published(self, cell: Cell) -> Published | None:
        return None

    def derived(self, cells: list[Cell]) -> list[Row]:
        return []


def _per_op(outcome, count="n") -> float:
    """ns per operation of a timed run (lat, coldstart); ValueError when a result was wrong."""
    out = outcome.output
    done = int(out[count]) + int(out["warm"])
    if int(out["ok"]) != done:
        raise ValueError(f"{out['ok']} of {done} iterations right")
    return int(out["ns"]) / int(out[count])


def _by(cells, profile, quantity) -> dict[str, float | None]:
    return {c.system: c.value for c in cells if (c.profile, c.quantity) == (profile, quantity)}


def ratio_rows(cells, quantity, label, published_for, over="hm-phone", under="linux") -> list:
    """Rows of the ratio of `over`'s value to `under`'s for `quantity`, per profile."""
    rows = []
    for profile in dict.fromkeys(c.profile for c in cells):
        v = _by(cells, profile, quantity)
        ratio = None if not v.get(over) or not v.get(under) else v[over] / v[under]
        rows.append(
            Row(profile, label, f"{over} / {under}", ratio, "ratio", published_for(profile))
        )
    return rows


class Faults(Experiment):
    name = "faults"
    title = "Fig. 8: minor anonymous page faults"
    systems = ("hm-phone", "linux", "linux-rpi", "sel4", "fiasco")
    quantities = ("read fault", "write fault")
    runs_for = {
        "read fault": ("lat", "fault-read", "80", "16"),  # a multiple of 16: pool refills
        "write fault": ("lat", "fault-write", "80", "16"),
    }
    WHO = {"hm-phone": "hm", "linux": "linux", "linux-rpi": "linux", "fiasco": "fiasco"}
    # the Linux each board's published figures were measured on: the Raspberry Pi's own kernel
    # (memory cgroup off by default) and the phone's Android kernel (memory cgroup on)
    LINUX = {"rpi4": "linux-rpi", "kirin9000": "linux"}

    def value(self, quantity, outcomes):
        return round(_per_op(outcomes[0]), 1)

    def published(self, cell):
        here = board(cell.profile)
        if cell.system.startswith("linux") and self.LINUX.get(here) != cell.system:
            return None
        if cell.system not in self.WHO:
            return None
        access = cell.quantity.split()[0]
        key = f"hm.fig8.{here}.anon_fault.{access}.{self.WHO[cell.system]}"
        return published(key) if key in anchors() else None


LAT_CTX = "hm.table5.lmbench.lat_ctx.vs_linux"
CLONE = "hm.table5.lmbench.clone.vs_linux"
FORK = ("hm.fork.typical_app.hm_parallel", "hm.fork.typical_app.linux")  # a typical app's fork
LMBENCH_RUNS = {  # lat's operation: (N, WARM)
    "null": ("200", "20"),
    "pipe": ("50", "10"),
    "pipe-self": ("50", "10"),
    "fork": ("8", "2"),
    "thread": ("20", "4"),
    "exec": ("4", "1"),
    "mmap": ("100", "10"),
}


class Lmbench(Experiment):
    name = "lmbench"
    title = "lmbench-style operations (Table 5)"
    systems = ("linux", "hm-phone")
    OPS = ("null", "ctx", "pipe", "fork", "thread", "exec", "mmap")  # hmk bench's operations
    quantities = tuple(BY_NAME[op].what for op in OPS)
    CLAIMS = (  # (operation, label, the published HM / Linux time ratio)
        ("ctx", "context switch, HM / Linux time", lambda p: on_board(p, less_by, LAT_CTX)),
        (
            "thread",
            "thread create (clone), HM / Linux time",
            lambda p: on_board(p, published, CLONE),
        ),
        ("fork", "fork, HM / Linux time", lambda p: on_board(p, ratio_of, *FORK)),
    )

    def programs(self, quantity):
        op = next(BY_NAME[o] for o in self.OPS if BY_NAME[o].what == quantity)
        return [("lat", arg, *LMBENCH_RUNS[arg]) for _, arg, _ in op.terms]

    def value(self, quantity, outcomes):
        op = next(BY_NAME[o] for o in self.OPS if BY_NAME[o].what == quantity)
        return round(
            sum(w * _per_op(o) for (_, _, w), o in zip(op.terms, outcomes, strict=True)), 1
        )

    def derived(self, cells):
        rows = []
        for op, label, published_for in self.CLAIMS:
            rows += ratio_rows(cells, BY_NAME[op].what, label, published_for)
        return rows


BLOCK_KIB, STREAM_KIB = 4, 2048


class Block(Experiment):
    name = "block"
    title = "Twin driver: block I/O throughput"
    systems = ("hm-phone-dc", "hm-phone", "linux")
    unit = "MB/s"
    runs_for = {
        f"sequential {op}s, {BLOCK_KIB} KiB each": (
            "hm/ramstream",
            op,
            f"{BLOCK_KIB}",
            f"{STREAM_KIB}",
        )
        for op in ("read", "write")
    }
    quantities = tuple(runs_for)
    ANCHORS = {
        "hm-phone-dc": "hm.twin_driver.block.dc_solo",
        "hm-phone": "hm.twin_driver.block.dc_twin",
        "linux": "hm.twin_driver.block.linux",
    }

    def value(self, quantity, outcomes):
        out = outcomes[0].output
        if out["ok"] != "1":
            raise ValueError("a request moved less than a block")
        return round(int(out["kib"]) * 1024 * 1000 / int(out["ns"]))

    def published(self, cell):
        return on_board(cell.profile, published, self.ANCHORS[cell.system])

    def derived(self, cells):
        rows = []
        for q in self.quantities:
            label = f"twin driver speed-up, {q.split(',')[0]}"
            rows += ratio_rows(
                cells,
                q,
                label,
                lambda p: on_board(
                    p, ratio_of, self.ANCHORS["hm-phone"], self.ANCHORS["hm-phone-dc"]
                ),
                over="hm-phone",
                under="hm-phone-dc",
            )
        return rows


FILE_PAGES = 128


class Bookkeeping(Experiment):
    name = "bookkeeping"
    title = "Double bookkeeping of file pages (Observation 2)"
    systems = ("sel4", "hm-phone", "linux")
    unit = "frames"
    STATS = {
        "page-cache frames (fsmgr)": "frames.fsmgr.pagecache.peak",
        "copies of file pages (memmgr)": "frames.memmgr.filepages.peak",
    }
    quantities = tuple(STATS)
    runs_for = dict.fromkeys(STATS, ("filemap", str(FILE_PAGES)))

    def value(self, quantity, outcomes):
        if outcomes[0].output.get("pages") != str(FILE_PAGES):
            raise ValueError("filemap did not map its pages")
        return outcomes[0].frames.get(self.STATS[quantity], 0)

    def derived(self, cells):
        rows = []
        for profile in dict.fromkeys(c.profile for c in cells):
            cached, copies = (_by(cells, profile, q) for q in self.quantities)
            for system in self.systems:
                both = (cached.get(system), copies.get(system))
                value = None if None in both else sum(both) / FILE_PAGES
                rows.append(Row(profile, "frames per mapped file page", system, value, "ratio"))
        return rows


class ColdStart(Experiment):
    name = "coldstart"
    title = "App cold start (Fig. 11a)"
    systems = ("linux", "hm-phone")
    quantities = ("app launch (fork, exec, the app, exit)",)
    runs_for = {quantities[0]: ("coldstart", "4", "1")}

    def value(self, quantity, outcomes):
        return round(_per_op(outcomes[0], "launches"), 1)

    def derived(self, cells):
        claim = "hm.fig11a.cold_start.vs_linux"
        return ratio_rows(
            cells,
            self.quantities[0],
            "app launch, HM / Linux time",
            lambda p: on_board(p, less_by, claim),
        )


EXPERIMENTS = {e.name: e for e in (Faults(), Lmbench(), Block(), Bookkeeping(), ColdStart())}

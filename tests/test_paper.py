"""`hmk paper`: the error column follows from the model and the anchors, the guest times itself
as the host's cycles say, parallel and serial runs agree, the figures, the JSON, one-line errors,
and docs/paper.md is current."""

import json
import shutil
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hmk.bench import BY_NAME, per_operation
from hmk.calibration.anchors import anchor, anchors
from hmk.cli import main
from hmk.paper import command, page, why
from hmk.paper.experiments import EXPERIMENTS, Cell
from hmk.paper.figures import figure, write_figures
from hmk.paper.runs import Run, execute, execute_all, system_file
from hmk.system import load_system
from hmk.workloads import path

PROFILES = ("rpi4", "kirin9000")


def synthetic(value=100.0, profiles=PROFILES) -> list[Cell]:
    """A cell for every quantity, system and profile of every experiment, all `value`."""
    return [
        Cell(e.name, p, q, s, value if e.unit == "ns" else int(value), e.unit)
        for e in EXPERIMENTS.values()
        for p in profiles
        for q in e.quantities
        for s in e.systems
    ]


def _set(cells, *key, value):
    """`cells` with the cell of `key` (experiment, profile, quantity, system) set to `value`."""
    return [
        replace(c, value=value) if (c.experiment, c.profile, c.quantity, c.system) == key else c
        for c in cells
    ]


def _row(text: str, *columns: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {' | '.join(columns)} |"))


def test_the_error_column_is_the_model_against_the_anchor():
    read = anchor("hm.fig8.kirin9000.anon_fault.read.hm").value
    cells = _set(synthetic(), "faults", "kirin9000", "read fault", "hm-phone", value=1.5 * read)
    text = page.render(cells)
    line = _row(text, "kirin9000", "read fault", "hm-phone")
    assert f"| {1.5 * read:,.1f} ns | {read:g} ns [" in line and line.endswith("] | +50% |")
    # a system the paper did not measure there has no published value and no error
    assert _row(text, "kirin9000", "read fault", "sel4").endswith("| - | - |")
    # a claim relative to Linux is set against the time ratio it implies
    ctx = BY_NAME["ctx"].what
    cells = _set(cells, "lmbench", "kirin9000", ctx, "linux", value=200.0)
    cells = _set(cells, "lmbench", "kirin9000", ctx, "hm-phone", value=50.0)
    text = page.render(cells)
    faster = anchor("hm.table5.lmbench.lat_ctx.vs_linux").value
    want = 100 * (0.25 - (1 - faster / 100)) / (1 - faster / 100)
    line = _row(text, "kirin9000", "context switch, HM / Linux time", "hm-phone / linux")
    assert line.endswith(f"| 0.25 | {1 - faster / 100:.2f} ({faster:g}% less) [1] | {want:+.0f}% |")
    # the claim was measured on the Kirin 9000: rpi4's ratio stands alone
    line = _row(text, "rpi4", "context switch, HM / Linux time", "hm-phone / linux")
    assert line.endswith("| 1.00 | - | - |")
    assert "- Fig. 8, kirin9000, read fault (hm-phone): model" in text  # a gap, with its numbers


def test_every_published_value_comes_from_the_anchors():
    rows = [r for e in EXPERIMENTS.values() for r in e.rows(synthetic())]
    cited = {a for r in rows if r.published for a in r.published.anchors}
    assert cited <= set(anchors())
    fig8 = {a for a in anchors() if a.startswith("hm.fig8.")}
    assert fig8 <= cited  # every Fig. 8 value is in the table
    assert {"hm.fig11a.cold_start.vs_linux", "hm.twin_driver.block.dc_solo"} <= cited
    for r in rows:
        if r.published and r.published.anchors[0] not in fig8:
            assert r.profile == anchor(r.published.anchors[0]).board  # only on its board


def test_a_page_reads_back_as_the_cells_it_shows():
    cells = synthetic(1234.5)
    cells[3] = replace(cells[3], value=None, failure="lat fault-read 80 16: exit status 1")
    text = page.render(cells)
    assert page.parse(text) == cells
    assert page.render(page.parse(text)) == text


def test_the_guest_clock_measures_what_the_model_charges():
    """lat's timed mode against the difference of two untimed runs (host-side cycles)."""
    run = Run("lat", ("null", "100", "20"), "linux", "kirin9000")
    out = execute(run).output
    ns = int(out["ns"])
    assert out["ok"] == "120" and out["ns_per_op"] == f"{ns // 100}.{ns % 100:02d}"
    cycles, ghz = per_operation("null", "kirin9000", None, (20, 100), "linux", program="lat")
    assert ns / 100 == pytest.approx(cycles / ghz, rel=0.02)


def test_a_failed_run_is_a_cell_not_a_traceback():
    experiment = EXPERIMENTS["faults"]
    run = Run("lat", ("fault-nope", "80", "16"), "linux-rpi", "rpi4")
    outcome = execute(run)
    assert outcome.failure.startswith("lat fault-nope 80 16: exit status 2: usage: /bin/lat")
    (read,) = experiment.runs(["rpi4"], ["read fault"], ["linux-rpi"])
    cell = experiment.cell({read: outcome}, "rpi4", "read fault", "linux-rpi")
    assert cell.value is None and cell.failure == outcome.failure
    text = page.render([cell])
    published = f"{anchor('hm.fig8.rpi4.anon_fault.read.linux').value:g} ns"
    assert _row(text, "rpi4", "read fault", "linux-rpi").endswith(
        f"| failed | {published} [1] | - |"
    )
    assert f"- failed: rpi4 linux-rpi, read fault: {outcome.failure}\n" in text
    assert (
        f"- Fig. 8, rpi4, read fault (linux-rpi): the model failed; published {published}" in text
    )
    assert page.parse(text) == [cell]


def test_parallel_and_serial_runs_agree():
    runs = [
        Run("lat", ("null", "20", "4"), "hm-phone", "rpi4"),
        Run("hm/ramstream", ("read", "4", "64"), "hm-phone-dc", "kirin9000"),
        Run("filemap", ("8",), "sel4", "kirin9000"),
    ]
    serial, parallel = execute_all(runs, jobs=1), execute_all(runs[::-1], jobs=2)
    assert serial == parallel
    assert all(o.failure is None for o in serial.values()), serial
    assert serial[runs[1]].output["ok"] == "1"


def test_the_container_variant_is_hm_phone_without_its_twin(tmp_path):
    variant = load_system(system_file("hm-phone-dc", tmp_path))
    phone = load_system("hm-phone")
    assert variant.name == "hm-phone-dc" and not variant.twin_driver and phone.twin_driver
    assert (variant.domains, variant.kernel_paging, variant.address_tokens) == (
        phone.domains,
        phone.kernel_paging,
        phone.address_tokens,
    )


def test_figures_have_a_bar_per_cell_and_a_point_per_published_value(tmp_path):
    cells = synthetic()
    fig = figure("faults", cells)
    bars = sum(len(c) for ax in fig.axes for c in ax.containers)
    points = sum(
        len(line.get_xdata()) for ax in fig.axes for line in ax.lines if line.get_marker() == "o"
    )
    assert bars == 2 * 2 * len(EXPERIMENTS["faults"].systems)  # profiles x accesses x systems
    assert points == len([a for a in anchors() if a.startswith("hm.fig8.")])
    fig = figure("lmbench", cells)
    assert sum(len(c) for ax in fig.axes for c in ax.containers) == 2 * 3  # the claims' ratios
    written = write_figures(cells, str(tmp_path))
    assert [Path(p).stem for p in written] == list(EXPERIMENTS)
    for p in written:
        head = Path(p).read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
        width, height = struct.unpack(">II", head[16:24])
        assert width > 300 and height > 200


def test_the_json_has_every_cell(tmp_path, monkeypatch, capsys):
    cells = synthetic()
    monkeypatch.setattr(command, "measure", lambda *_: cells)
    out = tmp_path / "paper.json"
    assert main(["paper", "--json", str(out), "--jobs", "1"]) == 0
    assert capsys.readouterr().out == page.render(cells)
    saved = json.loads(out.read_text())
    assert [Cell(**c) for c in saved["cells"]] == cells
    rows = [r for r in saved["rows"] if r["published"]]
    assert rows and all(isinstance(r["error_pct"], float) for r in rows)


def test_the_command_writes_page_figures_and_json(tmp_path):
    """One cheap experiment end to end: the page, its figure beside it, the JSON."""
    md, js = tmp_path / "paper.md", tmp_path / "paper.json"
    argv = ["paper", "--only", "bookkeeping", "--profiles", "kirin9000", "--jobs", "2"]
    assert main([*argv, "--write", str(md), "--json", str(js)]) == 0
    text = md.read_text()
    assert "| kirin9000 | copies of file pages (memmgr) | linux | 0 frames | - | - |" in text
    assert "| kirin9000 | frames per mapped file page | sel4 | 2.00 | - | - |" in text
    assert (tmp_path / "img" / "paper" / "bookkeeping.png").is_file()
    assert len(json.loads(js.read_text())["cells"]) == 2 * 3


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--only", "faults,nope"], "unknown experiment nope; choose from: faults, lmbench"),
        (["--only", ","], "unknown experiment (none)"),
        (["--profiles", "rpi4,nope"], "no SoC profile named 'nope'"),
        (["--profiles", "kirin9000:nope"], "no cluster 'nope'; clusters: prime, big, little"),
        (["--jobs", "0"], "--jobs must be a positive integer"),
        (["--write", "/nonexistent/dir/paper.md"], "no such directory"),
    ],
)
def test_errors_are_one_line(argv, says, capsys):
    assert main(["paper", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hmk: error: ") and says in err and err.count("\n") == 1


def test_the_command_line_stays_light():
    code = "import sys, hmk.cli; hmk.cli.build_parser(); print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "'hmk.paper.command'" in loaded
    assert "'hmk.paper.experiments'" not in loaded and "'matplotlib'" not in loaded
    assert tuple(EXPERIMENTS) == command.EXPERIMENT_NAMES


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None, reason="qemu-aarch64 is not installed")
def test_timed_lat_on_linux_itself():
    """The timed mode under qemu-aarch64: Linux's own clock, the same line."""
    run = subprocess.run(
        ["qemu-aarch64", str(path("lat")), "getpid", "200", "10"],
        capture_output=True,
        text=True,
        check=True,
    )
    words = dict(w.split("=") for w in run.stdout.split()[1:])
    assert (words["op"], words["n"], words["warm"], words["ok"]) == ("getpid", "200", "10", "210")
    assert int(words["ns"]) > 0


PAGE = Path(__file__).resolve().parent.parent / "docs" / "paper.md"
REGENERATE = "run: python -m hmk paper --write docs/paper.md"
# a cheap subset of the committed cells, recomputed: one of each experiment but the slowest
RECOMPUTED = (
    ("faults", "kirin9000", "read fault", "hm-phone"),
    ("lmbench", "rpi4", BY_NAME["null"].what, "linux"),
    ("block", "kirin9000", EXPERIMENTS["block"].quantities[0], "hm-phone-dc"),
    ("bookkeeping", "rpi4", "copies of file pages (memmgr)", "sel4"),
)


def test_the_committed_page_is_current():
    """Everything but the cells' values (a subset is recomputed below) is rendered from the
    committed values; every cell is there."""
    text = PAGE.read_text(encoding="utf-8")
    cells = page.parse(text)
    assert len(cells) == len(synthetic(profiles=command.DEFAULT_PROFILES)), REGENERATE
    assert text == page.render(cells), REGENERATE


def test_the_committed_cells_are_current():
    committed = {
        (c.experiment, c.profile, c.quantity, c.system): c
        for c in page.parse(PAGE.read_text("utf-8"))
    }
    runs = []
    for name, profile, quantity, system in RECOMPUTED:
        runs += EXPERIMENTS[name].runs([profile], [quantity], [system])
    outcomes = execute_all(runs, jobs=2)
    for key in RECOMPUTED:
        now = EXPERIMENTS[key[0]].cell(outcomes, *key[1:])
        assert now == committed[key], REGENERATE


def test_every_gap_on_the_committed_page_has_its_reason():
    text = PAGE.read_text(encoding="utf-8")
    gaps = [line for line in text.split("## Gaps", 1)[1].splitlines() if line.startswith("- ")]
    assert all(f"({page.UNEXPLAINED})" not in line for line in gaps)
    for key in {line.rsplit("(why: ", 1)[1][:-1] for line in gaps if "(why: " in line}:
        assert f"- **{key}.** " in text


def test_a_gap_no_reason_covers_is_marked_unexplained():
    cell = Cell("lmbench", "rpi4", "null syscall (getppid)", "linux", 1.0, "ns")
    row = EXPERIMENTS["lmbench"].rows([cell])[0]
    assert why.reason_for("lmbench", row) is None
    fig8 = Cell("faults", "kirin9000", "read fault", "linux", 1.0, "ns")
    assert "(why: which Kirin core)" in "\n".join(page.gaps([fig8]))

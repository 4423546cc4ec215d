"""hmk compare: one program under several compositions, side by side (hmk.report.compare)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hmk.cli import main
from hmk.report.compare import PARTS, breakdown, compare, plot, table
from hmk.workloads import path

SYSTEMS = ["linux", "sel4", "hm-phone"]


OUTPUTS = []


@pytest.fixture(scope="module")
def results():
    return compare(str(path("minish")), [], SYSTEMS, outputs=OUTPUTS, stacks=True)


def test_the_same_program_runs_under_each_system(results):
    assert [r.run["system"] for r in results] == SYSTEMS
    assert len(OUTPUTS) == len(SYSTEMS) and len(set(OUTPUTS)) == 1 and OUTPUTS[0]
    # the same user code; a call that blocks runs its SVC again when it wakes, and whether a
    # wait blocks depends on which process the scheduler ran first (CFS and HM's differ)
    counts = [r.instructions for r in results]
    assert max(counts) - min(counts) <= 2
    linux, sel4, phone = results
    assert phone.cycles < sel4.cycles  # the mechanisms, not the numbers
    assert linux.stats.get("kernel.domain_switches", 0) == 0


def test_the_breakdown_is_the_busy_cycles(results):
    for r in results:
        parts = breakdown(r.stats)
        assert list(parts) == list(PARTS)
        assert sum(parts.values()) == r.stats["sim.busy_cycles"]
    assert breakdown(results[0].stats)["IPC"] == 0  # linux: function calls only


def test_the_table(results):
    text = table(results)
    lines = text.splitlines()
    assert lines[0].split() == SYSTEMS
    rows = {" ".join(line.split()[:-3]): line.split()[-3:] for line in lines[1:]}
    assert rows["cycles"] == [f"{r.cycles:,}" for r in results]
    assert rows["IPCs"][0] == "0" and int(rows["IPCs"][1].replace(",", "")) > 0
    assert rows["vs linux"][0] == "1.00x"
    assert "service memmgr" in text and "cycles by domain" in text
    # aligned columns: every row of figures (not the header, not a section's title) as wide
    figures = [line for line in lines if line.strip() and not line.rstrip()[-1].isalpha()]
    assert len(figures) > 10 and len({len(line) for line in figures}) == 1


def test_the_plot_is_a_png_with_one_bar_per_system(results, tmp_path):
    image = pytest.importorskip("matplotlib.image")
    out = tmp_path / "c.png"
    plot(results, str(out))
    pixels = image.imread(out)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    # the user part's colour (#E69F00) is drawn: three bars of it
    orange = (abs(pixels[..., 0] - 0xE6 / 255) < 0.02) & (abs(pixels[..., 1] - 0x9F / 255) < 0.02)
    columns = orange.any(axis=0)
    runs = (columns[1:] & ~columns[:-1]).sum() + columns[0]
    assert runs >= 3  # three bars (the legend's patch may add one)


def test_the_cli(tmp_path, capsys):
    png, svg, js = tmp_path / "c.png", tmp_path / "d.svg", tmp_path / "c.json"
    argv = ["compare", "--systems", "linux,hm-phone", "--plot", str(png)]
    argv += ["--diff-flamegraph", str(svg), "--json", str(js), "--", str(path("hello"))]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("hello on kirin9000") and "hm-phone" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(svg).getroot()
    assert "hm-phone against linux" in "".join(root.itertext())
    assert '"runs"' in js.read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--systems", "linux", "--", "x"], "needs two runs at least"),
        (["compare", "--systems", "linux,nosuch", "--", "x"], "nosuch"),
        (["compare", "--systems", "linux,sel4"], "needs a PROGRAM"),
        (["compare", "--plot", "/no/such/dir/c.png", "--", "x"], "no such directory"),
        (["compare", "--systems", "linux,sel4", "--", "/no/such/program"], "/no/such/program"),
    ],
)
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hmk: error: ") and message in err and err.count("\n") == 1


def test_profiles_are_compared_too(capsys):
    import io

    from hmk.system import run_program

    hello = str(path("hello"))
    assert main(["compare", "--profiles", "kirin9000,rpi4", "--jobs", "1", "--", hello]) == 0
    out = capsys.readouterr().out
    assert "hm-phone@kirin9000" in out and "hm-phone@rpi4" in out
    cycles = out.split("\ncycles")[1].split()[:2]
    for profile, shown in zip(["kirin9000", "rpi4"], cycles, strict=True):
        direct = run_program(hello, [], profile=profile, out=io.BytesIO(), warnings=None)
        assert int(shown.replace(",", "")) == direct.cycles


def test_the_exit_status_is_the_runs(capsys):
    """As hmk run's: the program's when the runs agree, 124 when a limit stopped one."""
    exitcode = str(path("exitcode"))
    assert main(["compare", "--systems", "linux,sel4", "--", exitcode, "7"]) == 7
    hello = str(path("hello"))
    argv = ["compare", "--systems", "linux,hm-phone", "--max-instructions", "1000", "--", hello]
    assert main(argv) == 124
    assert "linux: run limit: 1,000 instructions reached" in capsys.readouterr().err


def test_runs_that_disagree_exit_1(monkeypatch, capsys):
    import hmk.report.compare as cmp

    real = cmp._run_one

    def differ(run):
        result, out = real(run)
        if run[2] == "sel4":
            result.exit_status = 3
        return result, out

    monkeypatch.setattr(cmp, "_run_one", differ)  # in this process: --jobs 1
    argv = ["compare", "--systems", "linux,sel4", "--jobs", "1", "--", str(path("hello"))]
    assert main(argv) == 1
    assert "exit status differs between the runs" in capsys.readouterr().err

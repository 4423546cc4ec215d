"""`hmk bench`: the suite's numbers relate as their mechanisms say, the CLI's table and JSON,
one-line errors, failures reported in the table. (lat's output against qemu-aarch64 and hmk:
workload_expectations' lat cases.)"""

import json
import subprocess
import sys

import pytest

from hmk import bench
from hmk.bench import BY_NAME, Result, measure, parse_tables, render_tables
from hmk.cli import main
from hmk.hw.profile import load_soc


@pytest.fixture(scope="module")
def kirin():
    """A few operations on kirin9000 under linux and sel4 (one cache: pipe measured once)."""
    cache, out = {}, {}
    for op in ("null", "pipe", "ctx", "fork"):
        for system in ("linux", "sel4"):
            out[op, system] = measure(BY_NAME[op], system, "kirin9000", cache=cache)
    return out, cache


def test_costs_relate_as_their_paths_do(kirin):
    r, _ = kirin
    assert all(x.error is None for x in r.values()), [x.error for x in r.values()]
    for system in ("linux", "sel4"):
        assert r["fork", system].cycles > 10 * r["null", system].cycles
        # a round trip: two writes, two reads, two switches
        assert r["pipe", system].cycles > 4 * r["null", system].cycles
    # sel4's services are IC2 address spaces: every call is two address-space switches more
    assert r["pipe", "sel4"].cycles > r["pipe", "linux"].cycles
    assert r["null", "sel4"].cycles > 2 * r["null", "linux"].cycles
    # Linux switches with CFS and saves the FP/SIMD state; sel4 runs HM's core-kernel switch
    assert r["ctx", "linux"].cycles > 1.2 * r["ctx", "sel4"].cycles


def test_ctx_is_lat_ctx_arithmetic_and_ns_follow_the_clock(kirin):
    r, cache = kirin
    ghz = load_soc("kirin9000").clusters[0].ghz
    cost = {(c.program, c.op, c.system): v[0] for c, v in cache.items()}
    pipe, self_ = cost["lat", "pipe", "linux"], cost["lat", "pipe-self", "linux"]
    assert r["ctx", "linux"].cycles == pytest.approx(pipe / 2 - self_)
    for x in r.values():
        assert x.ghz == ghz and x.ns == round(x.cycles) / ghz


def test_fork_execve_costs_more_than_fork(kirin):
    r, _ = kirin
    execve = measure(BY_NAME["exec"], "linux", "kirin9000")
    assert execve.error is None, execve.error
    assert execve.cycles > r["fork", "linux"].cycles


def test_deterministic():
    op = BY_NAME["getpid"]
    assert measure(op, "hm-phone", "rpi4") == measure(op, "hm-phone", "rpi4")


def test_cli_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    status = main(["bench", "--ops", "null,ipc", "--systems", "hm-ic0", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert "### kirin9000 (cortex-a77 @ 3.13 GHz)" in text
    assert "| operation | hm-ic0 | published |" in text
    assert "(L4Re performance page)" in text  # published figures carry their source
    saved = json.loads(out.read_text())
    assert [(r["op"], r["system"], r["profile"]) for r in saved] == [
        ("null", "hm-ic0", "kirin9000"),
        ("ipc", "hm-ic0", "kirin9000"),
    ]
    for r in saved:
        assert f"{r['ns']:.0f} ns / {round(r['cycles'])} cyc" in text
    # what the page's test reads back is what was printed
    parsed = parse_tables(text)
    assert [(p.op, round(p.cycles)) for p in parsed] == [
        (r["op"], round(r["cycles"])) for r in saved
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--ops", "null,nope"], "unknown operation nope"),
        (["--systems", "linux,bogus"], "unknown system 'bogus'"),
        (["--profiles", "nope"], "no SoC profile named 'nope'"),
        (["--core", "9"], "no cluster 9"),
    ],
)
def test_errors_are_one_line(argv, says, capsys):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hmk: error: ") and says in err and err.count("\n") == 1


def test_a_failing_operation_is_a_cell_not_a_traceback(monkeypatch, capsys):
    def broken(*args, **kw):
        raise RuntimeError("lat null 20: exit status 139: SIGSEGV at 0x0\nmore")

    monkeypatch.setattr(bench, "per_operation", broken)  # in this process: --jobs 1
    assert main(["bench", "--ops", "null", "--systems", "linux,sel4", "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "| null syscall (getppid) | failed (below) | failed (below) |" in text
    assert "- failed: null on sel4: lat null 20: exit status 139: SIGSEGV at 0x0\n" in text


def test_tables_round_trip():
    results = [
        Result("null", "linux", "rpi4", 201.4, 1.5),
        Result("exec", "linux", "rpi4", None, 0.0, "hung"),
    ]
    text = render_tables(results)
    assert render_tables(parse_tables(text)) == text


def test_the_command_line_stays_light():
    """`hmk bench` is parsed by every hmk command: the model loads only when the suite runs."""
    code = "import sys, hmk.cli; hmk.cli.build_parser(); print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "'hmk.bench'" in loaded
    assert "'hmk.system.simulation'" not in loaded and "'hmk.fidelity'" not in loaded
    assert bench.DEFAULT_SYSTEMS == ("linux", "sel4", "hm-phone")

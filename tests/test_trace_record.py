"""`hmk run --trace`: every user memory event the hierarchy gets, in order, written once and read
back (hmk.hw.tracefile); recording changes nothing in the run."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import hmk
from hmk.cli import main
from hmk.hw import tracefile
from hmk.hw.events import EVENT_DTYPE, READ, make_events
from hmk.hw.tracefile import TraceFile, TraceFileError, TraceWriter
from hmk.system import run_program
from hmk.system.simulation import Simulation
from hmk.workloads import path

PROGRAM = (str(path("minish")), [])  # fork, execve of /bin/hello through a pipe, wait


def run(**options):
    out = io.BytesIO()
    options.setdefault("cores", 1)  # a trace is of one core: the runs it is held to too
    result = run_program(*PROGRAM, out=out, warnings=None, **options)
    return result, out.getvalue()


@pytest.mark.parametrize("system", ["hm-phone", "linux"])
def test_recording_changes_nothing(tmp_path, system):
    plain, out = run(system=system)
    traced, traced_out = run(system=system, trace=str(tmp_path / "t.trace"))
    assert traced.stats == plain.stats and traced_out == out


def test_the_trace_is_what_the_hierarchy_got(tmp_path, monkeypatch):
    """The Python sink (impl="python") sees every batch: the trace is those batches, in order;
    and the compiled crossing's run (the default), pipelined or not, records the same."""
    seen = []
    timed = Simulation._time

    def spy(self, blocks, events):
        seen.append(events.copy())
        timed(self, blocks, events)

    monkeypatch.setattr(Simulation, "_time", spy)
    run(impl="python", trace=str(tmp_path / "py.trace"), pipelined=False)
    monkeypatch.undo()
    got = TraceFile(tmp_path / "py.trace").events()
    assert len(got) > 10_000
    assert np.array_equal(got, np.concatenate(seen))
    for pipelined in (False, True):
        run(trace=str(tmp_path / "c.trace"), pipelined=pipelined)
        assert np.array_equal(TraceFile(tmp_path / "c.trace").events(), got)


def test_header_chunks_and_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(tracefile, "CHUNK_EVENTS", 5000)
    result, _ = run(trace=str(tmp_path / "t.trace"), system="sel4")
    trace = TraceFile(tmp_path / "t.trace")
    h = trace.header
    assert h["format"] == "hmk-trace" and h["version"] == 1
    assert h["program"] == PROGRAM[0] and h["argv"] == [PROGRAM[0]]
    assert (h["profile"], h["system"], h["line"]) == ("kirin9000", "sel4", 64)
    assert h["kernel_accesses"] is False and h["exit_status"] == result.exit_status == 0
    chunks = list(trace.chunks())
    assert len(chunks) == h["chunks"] > 2
    assert all(len(c) == 5000 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 5000
    events = trace.events()
    assert len(events) == len(trace) == h["events"] == sum(h["kinds"].values())
    assert np.array_equal(events, np.concatenate(chunks))
    kinds = np.bincount(events["kind"], minlength=3)
    assert [h["kinds"][k] for k in ("read", "write", "fetch")] == kinds.tolist()
    assert np.load(tmp_path / "t.trace")["events/000000"].dtype == EVENT_DTYPE  # an .npz


def test_a_stopped_run_keeps_its_trace(tmp_path):
    result, _ = run(trace=str(tmp_path / "t.trace"), max_instructions=20_000)
    assert result.exit_status == 124
    header = TraceFile(tmp_path / "t.trace").header
    assert header["exit_status"] == 124 and "run limit" in header["fault"]
    assert header["events"] > 1000


def test_command_line(tmp_path, capfd):
    trace = tmp_path / "t.trace"
    assert main(["run", "--quiet", "--trace", str(trace), str(path("hello"))]) == 0
    assert capfd.readouterr().out == "hello, world\n"
    assert TraceFile(trace).header["program"] == str(path("hello"))
    bad = tmp_path / "no" / "t.trace"
    assert main(["run", "--quiet", "--trace", str(bad), str(path("hello"))]) == 2
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err.startswith("hmk: error: --trace ")


def test_the_scripting_api(tmp_path):
    trace = tmp_path / "t.trace"
    hmk.System(trace=str(trace), out=io.BytesIO()).run(str(path("hello")))
    assert TraceFile(trace).header["events"] > 0
    with pytest.raises(TypeError, match="trace must be a file's path"):
        hmk.System(trace=3)
    with pytest.raises(ValueError, match="trace_kernel=True needs a trace and impl='python'"):
        hmk.System(trace=str(trace), trace_kernel=True)


def test_an_unfinished_trace_leaves_nothing(tmp_path):
    target = tmp_path / "t.trace"
    writer = TraceWriter(target)
    writer.add(make_events(np.arange(100), READ, 8))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), TraceWriter(target) as writer:
        writer.add(make_events([0], READ, 8))
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_bad_files(tmp_path):
    events = make_events(np.arange(10), READ, 8)
    good = tmp_path / "good.trace"
    with TraceWriter(good, chunk_events=4) as w:
        w.add(events)

    def rewritten(name, drop=(), header=None):
        out = tmp_path / name
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.namelist():
                if item in drop:
                    continue
                data = src.read(item)
                if item == "header.json" and header is not None:
                    data = json.dumps({**json.loads(data), **header}).encode()
                dst.writestr(item, data)
        return out

    (tmp_path / "text").write_text("events")
    cases = {
        tmp_path / "text": "not a zip archive",
        rewritten("noheader", drop=("header.json",)): "no header.json",
        rewritten("format", header={"format": "npz"}): "its header names no hmk-trace",
        rewritten("version", header={"version": 9}): "trace format version 9",
        rewritten("truncated", drop=("events/000001.npy",)): "events/000001.npy is missing",
    }
    for file, message in cases.items():
        with pytest.raises(TraceFileError, match=message):
            TraceFile(file)
    miscounted = TraceFile(rewritten("count", header={"events": 11}))
    with pytest.raises(TraceFileError, match="10 events in its chunks, 11 in its header"):
        miscounted.events()
    assert np.array_equal(TraceFile(good).events(), events)


def test_kernel_accesses_are_every_batch_the_hierarchy_times(tmp_path):
    """trace_kernel: the program's, the kernel's and the services' accesses, all the line
    accesses the L1s counted (impl="python": every batch reaches the hierarchy in Python)."""
    from hmk.hw.explore import line_accesses

    for system in ("hm-phone", "linux"):
        trace = tmp_path / f"{system}.trace"
        result, _ = run(system=system, impl="python", trace=str(trace), trace_kernel=True)
        file = TraceFile(trace)
        assert file.header["kernel_accesses"] is True
        events = file.events()
        stats, cpu = result.stats, "system.cpu0"
        data = sum(
            stats[f"{cpu}.l1d.{k}_{o}"] for k in ("read", "write") for o in ("hits", "misses")
        )
        fetch = stats[f"{cpu}.l1i.fetch_hits"] + stats[f"{cpu}.l1i.fetch_misses"]
        assert len(line_accesses(events, 64, "data")[0]) == data
        assert len(line_accesses(events, 64, "fetch")[0]) == fetch
        run(system=system, trace=str(tmp_path / "user.trace"))
        assert len(TraceFile(tmp_path / "user.trace")) < len(events)  # the program's alone
    with pytest.raises(ValueError, match="trace_kernel: needs a trace and impl='python'"):
        run(trace=str(tmp_path / "t.trace"), trace_kernel=True)


def test_command_line_kernel_accesses(tmp_path, capfd):
    trace = tmp_path / "t.trace"
    argv = ["run", "--quiet", "--trace", str(trace), "--trace-kernel", str(path("hello"))]
    assert main(argv) == 0
    assert TraceFile(trace).header["kernel_accesses"] is True
    assert main(["run", "--quiet", "--trace-kernel", str(path("hello"))]) == 2
    assert "--trace-kernel needs --trace FILE" in capfd.readouterr().err


def test_a_trace_is_refused_with_sampling(tmp_path):
    for option in ({"sample": True}, {"fast_forward": 1000}):
        with pytest.raises(ValueError, match="a trace records every access"):
            run(trace=str(tmp_path / "t.trace"), **option)
    assert list(tmp_path.iterdir()) == []

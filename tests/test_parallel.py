"""Simulations on a pool of processes (hmk.parallel): the same results in the same order on any
number of workers, a worker's errors raised in the caller (an hmk bug as an InternalError,
whole), `--jobs` checked."""

from __future__ import annotations

import io

import pytest

from hmk import bench
from hmk.cli import main
from hmk.errors import InternalError
from hmk.parallel import parse_jobs, pool_map
from hmk.report.compare import compare
from hmk.workloads import path


def fails(item: int) -> int:
    if item == 2:
        raise InternalError("a bug in the model", "x.py:1 in f", "traceback text")
    return item


def test_a_pool_keeps_the_order_of_its_items():
    progress = io.StringIO()
    assert pool_map(abs, [-3, 1, -2, 5], jobs=2, progress=progress, label="t") == [3, 1, 2, 5]
    lines = progress.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert lines[-1].startswith("t: 4/4 done in ")


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_internal_error_in_a_worker_comes_back_whole(jobs):
    with pytest.raises(InternalError) as caught:
        pool_map(fails, [1, 2, 3], jobs=jobs)
    assert (caught.value.message, caught.value.where) == ("a bug in the model", "x.py:1 in f")
    assert caught.value.details == "traceback text"


def test_the_suite_is_the_same_on_one_or_two_workers():
    ops = [bench.BY_NAME["null"], bench.BY_NAME["ipc"]]
    systems = ["linux", "hm-phone"]
    one = bench.run_suite(ops, systems, ["kirin9000"], jobs=1)
    two = bench.run_suite(ops, systems, ["kirin9000"], jobs=2)
    assert one == two
    assert [r.error for r in one] == [None, None, bench.NOT_HM, None]
    assert all(r.cycles > 0 for r in one if r.error is None)


def test_compare_is_the_same_on_one_or_two_workers():
    program = str(path("hello"))
    outs_one, outs_two = [], []
    one = compare(program, [], ["linux", "sel4"], outputs=outs_one, jobs=1)
    two = compare(program, [], ["linux", "sel4"], outputs=outs_two, jobs=2)
    assert [r.run["system"] for r in two] == ["linux", "sel4"]
    assert [(r.cycles, r.stats) for r in one] == [(r.cycles, r.stats) for r in two]
    assert outs_one == outs_two and b"ello" in outs_two[0]


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "99999999"])
def test_bad_jobs_are_refused(text):
    with pytest.raises(ValueError, match="--jobs must be a positive integer"):
        parse_jobs(text)


@pytest.mark.parametrize("command", [["bench", "--ops", "null"], ["fidelity"], ["compare"]])
def test_bad_jobs_on_the_command_line(command, capsys):
    extra = ["--", str(path("hello"))] if command == ["compare"] else []
    assert main([*command, "--jobs", "0", *extra]) == 2
    assert "--jobs must be a positive integer" in capsys.readouterr().err


def test_jobs_default_to_every_core():
    assert parse_jobs(None) >= 1 and parse_jobs("3") == 3

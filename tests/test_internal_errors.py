"""A host exception inside hmk (a service handler, the fault path, the timing model, the
generic-timer hook) ends the run as hmk's InternalError, never as a signal of the guest; the
command line says so in one line, exits 70 and writes a report file. Each test injects a
fault into one place and checks both."""

import io
import re
import tempfile

import pytest
from guest_programs import build

from hmk import cli
from hmk.cpu.timing import TimingModel
from hmk.errors import EX_SOFTWARE, InternalError
from hmk.kernel.core import CoreKernel
from hmk.services.fsio import FileIO
from hmk.system import run_program
from hmk.system.simulation import Simulation
from hmk.workloads import path as workload_path

HELLO = str(workload_path("hello"))
SYSTEMS = ["linux", "hm-phone", "sel4", "hybrid"]


def boom(*_args, **_kwargs):
    raise OverflowError("injected")


def run(system: str):
    out = io.BytesIO()
    return run_program(HELLO, [], system=system, out=out, err=io.BytesIO(), warnings=None)


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_service_handler_that_raises_is_an_internal_error(monkeypatch, system):
    monkeypatch.setattr(FileIO, "sys_write", boom)
    with pytest.raises(InternalError) as caught:
        run(system)
    assert re.search(
        r"OverflowError: injected at test_internal_errors.py:\d+ in boom", str(caught.value)
    )
    assert "Traceback" in caught.value.details and "sys_write" not in caught.value.where


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_fault_path_that_raises_is_an_internal_error(monkeypatch, system):
    loading = CoreKernel.page_fault

    def page_fault(kernel, machine, *args, **kwargs):  # the loader's faults go through
        if machine is None:
            return loading(kernel, machine, *args, **kwargs)
        boom()

    monkeypatch.setattr(CoreKernel, "page_fault", page_fault)
    with pytest.raises(InternalError, match="injected at .* during a kernel handler"):
        run(system)


def test_loading_that_raises_is_an_internal_error(monkeypatch):
    monkeypatch.setattr(CoreKernel, "page_fault", boom)
    with pytest.raises(InternalError, match="injected at .* during loading the program"):
        run("hm-phone")


def test_the_generic_timer_that_raises_is_an_internal_error(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(Simulation, "counter", boom)
    program = build(tmp_path_factory, "counter")
    with pytest.raises(InternalError, match="injected"):
        run_program(program, [], system="linux", out=io.BytesIO(), err=io.BytesIO(), warnings=None)


def test_the_timing_model_that_raises_is_an_internal_error(monkeypatch):
    monkeypatch.setattr(TimingModel, "account", boom)
    with pytest.raises(InternalError, match="injected"):
        run("hm-phone")


def test_the_command_line_says_it_is_hmks_bug(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(FileIO, "sys_write", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    status = cli.main(["run", "--system", "sel4", HELLO])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == EX_SOFTWARE == 70
    assert len(err) == 1, err  # one line, no guest signal, no traceback
    assert err[0].startswith("hmk: internal error (a bug in hmk, not in the program): ")
    report = err[0].rsplit("details in ", 1)[1]
    assert report.startswith(str(tmp_path))
    with open(report, encoding="utf-8") as f:
        text = f.read()
    assert "run parameters:" in text and "system: 'sel4'" in text
    assert "Traceback" in text and "OverflowError: injected" in text

"""The program's standard input: bytes given to the API, or the host's stdin passed through by
`hmk run` (a file, a pipe; a stdin that cannot be read is the end of the input), read as the
program reads, so the same input gives the same run whatever the pace of its writer."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hmk.cli import main
from hmk.services.devhost import Stdin
from hmk.system import run_program

CC = shutil.which("aarch64-linux-gnu-gcc")
GUEST = Path(__file__).parent / "guest"
TEXT = b"".join(b"line %d of the input\n" % i for i in range(40))


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    if CC is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path_factory.mktemp("guest") / "cat_asm"
    subprocess.run([CC, "-nostdlib", "-static", "-o", exe, GUEST / "cat_asm.S"], check=True)
    return str(exe)


def test_bytes_and_streams_read_the_same(cat):
    runs = []
    for stdin in (TEXT, io.BytesIO(TEXT)):
        out = io.BytesIO()
        runs.append(run_program(cat, stdin=stdin, out=out, err=io.BytesIO(), warnings=None))
        assert out.getvalue() == TEXT
    assert runs[0].cycles == runs[1].cycles and runs[0].exit_status == 0


def test_a_file_and_a_slow_pipe_give_the_same_run(cat, tmp_path):
    source = tmp_path / "input.txt"
    source.write_bytes(TEXT)
    hmk = [sys.executable, "-m", "hmk", "run", "--quiet", "--profile", "rpi4"]
    stats = {}
    with source.open("rb") as f:
        got = subprocess.run(
            [*hmk, "--stats", str(tmp_path / "a.json"), cat],
            stdin=f,
            capture_output=True,
            check=True,
        )
    assert got.stdout == TEXT
    stats["file"] = json.loads((tmp_path / "a.json").read_text())
    # a writer that stops half way for a while: the program still reads full chunks
    writer = (
        "import sys, time; d = sys.stdin.buffer.read(); o = sys.stdout.buffer; "
        "o.write(d[:100]); o.flush(); time.sleep(0.5); o.write(d[100:]); o.flush()"
    )
    with source.open("rb") as f:
        slow = subprocess.Popen([sys.executable, "-c", writer], stdin=f, stdout=subprocess.PIPE)
        got = subprocess.run(
            [*hmk, "--stats", str(tmp_path / "b.json"), cat],
            stdin=slow.stdout,
            capture_output=True,
            check=True,
        )
        slow.wait()
    assert got.stdout == TEXT
    stats["pipe"] = json.loads((tmp_path / "b.json").read_text())
    assert stats["file"]["stats"]["system.cpu0.cycles"] > 0
    assert stats["file"]["stats"] == stats["pipe"]["stats"]


def test_an_unreadable_stdin_is_the_end_of_the_input(cat, capfdbinary):
    assert main(["run", "--quiet", cat]) == 0  # pytest's stdin cannot be read
    assert capfdbinary.readouterr().out == b""


def test_reads_from_a_file_take_what_they_ask_for(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(TEXT)
    with f.open("rb") as stream:
        stdin = Stdin(stream)
        assert stdin.read(5) == TEXT[:5] and stdin.read(10**9) == TEXT[5:] and stdin.read(9) == b""
    closed = Stdin(io.BytesIO(b"x"))
    closed.stream.close()
    assert closed.read(4) == b""

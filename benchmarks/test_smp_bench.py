"""Host time of runs on several modeled cores (hmk.system.cores) beside the same runs on one:
what the cores' turns cost the simulator. tests/guest/psum.c on the Raspberry Pi 4B profile:

    sum     4 threads summing an array (no line passes between cores: turns a quantum apart)
    shared  3 threads reading one line a fourth writes (turns every 32 instructions)
    padded  the same with a line each

    python -m pytest benchmarks/test_smp_bench.py --benchmark-only -s
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from hmk.system.simulation import run_program

GUEST = Path(__file__).parent.parent / "tests" / "guest"
RUNS = {
    "sum": ("sum", "4", "32768", "40"),
    "shared": ("shared", "4", "300000"),
    "padded": ("padded", "4", "300000"),
}
TIMES: dict = {}


@pytest.fixture(scope="module")
def psum(tmp_path_factory):
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path_factory.mktemp("smp") / "psum"
    subprocess.run([cc, "-O1", "-static", "-pthread", "-o", exe, GUEST / "psum.c"], check=True)
    return str(exe)


@pytest.mark.parametrize("cores", [1, 4])
@pytest.mark.parametrize("name", list(RUNS))
def test_run(benchmark, psum, name, cores):
    def once():
        result = run_program(
            psum, list(RUNS[name]), profile="rpi4", cores=cores, out=io.BytesIO(), warnings=None
        )
        assert result.exit_status == 0
        return result

    result = benchmark.pedantic(once, rounds=3, iterations=1)
    TIMES[(name, cores)] = best = min(benchmark.stats.stats.data)
    benchmark.extra_info.update(
        best_s=best, cycles=result.cycles, turns=result.stats.get("kernel.core_turns", 0)
    )
    if cores == 4 and (name, 1) in TIMES:
        print(f"\n{name}: 4 cores {best:.2f} s, 1 core {TIMES[(name, 1)]:.2f} s")

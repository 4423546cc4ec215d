"""The throughput benchmark's code runs: each model's workload once on a 10k trace.

benchmarks/ is outside the default test run (its 10 M-access traces take a while); this keeps
its code from rotting. The module is loaded from its file because benchmarks/ is not a package.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from hmk.hw.engine import BatchHierarchy
from hmk.hw.synthetic import bench_hierarchy

BENCH_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "test_hierarchy_bench.py"
N = 10_000


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("hmk_bench_hierarchy", BENCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("pattern", ["random", "sequential"])
@pytest.mark.parametrize("model", ["hmk", "hmk+tlb", "pycachesim", "pycachesim-list"])
def test_workload_runs(bench, model, pattern):
    if model in bench.PYCACHESIM and bench.cachesim is None:
        pytest.skip("pycachesim is a benchmark-only dependency: pip install -e '.[bench]'")
    span = bench.SPANS["64MiB"]
    out = bench.workload(model, pattern, span, n=N)
    # with TLBs, page-table-walk descriptor loads (from the L1D) are counted as well
    assert 0 < out["l1_misses"] <= (N if model != "hmk+tlb" else 5 * N)
    assert out["l3_misses"] <= out["l2_misses"] <= out["l1_misses"]
    if model == "hmk+tlb":
        assert out["walks"] > 0 and out["dtlb_misses"] >= out["walks"]
    if model in bench.PYCACHESIM:
        assert tuple(out.values()) == bench.engine_misses(pattern, span, n=N)


@pytest.mark.parametrize("model", ["hmk@base", "hmk+tlb@base"])
def test_baseline_models_run(bench, model):
    """--engine-baseline's models (another revision's engine, built by tools/baseline_engine.py)
    run the same workload: given this checkout's engine as the baseline, they count the same."""
    span = bench.SPANS["1MiB"]
    twin = model.removesuffix("@base")
    base = bench.workload(model, "random", span, n=N, base=BatchHierarchy)
    assert base == bench.workload(twin, "random", span, n=N)


def test_baseline_engine_build_flags():
    """tools/baseline_engine.py builds the other revision with that revision's setup.py flags."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    spec = importlib.util.spec_from_file_location(
        "hmk_baseline_engine", root / "tools" / "baseline_engine.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "-O3" in module._compile_flags("HEAD")


def test_benchmark_parameters(bench):
    """The figures in docs/performance.md are for exactly this set-up."""
    assert bench.N == 10_000_000
    assert bench.SPANS == {"64MiB": 64 << 20, "1MiB": 1 << 20}
    cfg = bench_hierarchy()
    core = cfg.cores[0]
    assert [(c.size, c.ways, c.line) for c in (core.l1d, core.l2, cfg.l3)] == [
        (64 << 10, 4, 64),
        (512 << 10, 8, 64),
        (4 << 20, 16, 64),
    ]
    assert all(c.replacement == "lru" for c in (core.l1i, core.l1d, core.l2, cfg.l3))
    assert all(c.inclusion == "nine" for c in (core.l2, cfg.l3))


def test_asv_kernel_benchmarks_run():
    """asv_benchmarks' kernel hot-path benchmarks run (each once, fresh state)."""
    path = Path(__file__).resolve().parents[1] / "asv_benchmarks" / "benchmarks" / "bench_kernel.py"
    spec = importlib.util.spec_from_file_location("hmk_asv_bench_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("time_lookups", "time_faults", "time_ipc"):
        bench = module.KernelHotPaths()
        bench.setup()
        getattr(bench, name)()
    assert bench.mem.n_log < 64 * 64  # the logs were drained as the benchmarks go


def test_crossing_benchmarks_run():
    """The kernel crossing's benchmarks run: the pytest-benchmark module's measurement on a
    short run, and the asv class's whole-run benchmark once."""
    root = Path(__file__).resolve().parents[1]
    modules = {}
    for name, file in (
        ("bench", root / "benchmarks" / "test_crossing_bench.py"),
        ("asv", root / "asv_benchmarks" / "benchmarks" / "bench_crossing.py"),
    ):
        spec = importlib.util.spec_from_file_location(f"hmk_crossing_{name}", file)
        modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[name])
    bench = modules["bench"]
    small, large = bench.timed("hm-phone", 10), bench.timed("hm-phone", 60)
    assert large[2] - small[2] == 50  # one getppid more per iteration
    result = bench.per_syscall([(bench.SMALL, small), (bench.LARGE, large)])
    assert result["syscalls_per_s"] > 0
    crossing = modules["asv"].Crossing()
    assert crossing.track_cycles("hm-phone") > 0


def _run_once(files: list[str], keyword: str) -> str:
    """pytest-benchmark on `files` (tests matching `keyword`) with timing disabled: each
    benchmark function once, its checks included; pytest's output."""
    pytest.importorskip("pytest_benchmark")
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *files, "-k", keyword, "--benchmark-disable", "-q"]
        + ["-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_pytest_benchmarks_run_once():
    """Real pytest-benchmark benchmarks (the kernel's and the IPC's compiled paths) run once."""
    out = _run_once(["benchmarks/test_kernel_bench.py", "benchmarks/test_ipc_bench.py"], "cython")
    assert "6 passed" in out, out


def test_engine_benchmarks_run_once():
    """The engine's benchmarks (hmk, bare unicorn, unicorn with a no-op memory hook) run once."""
    out = _run_once(["benchmarks/test_engine_bench.py"], "hmk or unicorn")
    assert "3 passed" in out, out


def test_startup_benchmarks_run_once(tmp_path):
    """The start-up benchmarks' commands run: a round of the pytest-benchmark's (every command
    once, after its untimed warm-up) and asv's ratio's commands."""
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "hmk_bench_startup", root / "benchmarks" / "test_startup_bench.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    startup = module.Startup(tmp_path)
    startup.round()
    assert [len(t) for t in startup.times.values()] == [1] * len(module.COMMANDS)
    assert len(startup.table()) == 1 + len(module.COMMANDS)
    spec = importlib.util.spec_from_file_location(
        "hmk_asv_bench_startup", root / "asv_benchmarks" / "benchmarks" / "bench_startup.py"
    )
    asv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(asv)
    asv.SCRATCH = tmp_path / "asv"
    for name in ("dependencies", "hmk run hello"):
        assert asv._run(name) > 0


def test_fork_and_fault_benchmarks_run_once():
    """The fault and fork benchmarks (whole lat runs) run once, under one composition."""
    out = _run_once(["benchmarks/test_fork_fault_bench.py"], "hm-phone")
    assert "3 passed" in out, out


def _asv_module(name: str):
    path = Path(__file__).resolve().parents[1] / "asv_benchmarks" / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hmk_asv_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_asv_model_benchmarks_have_a_value_or_a_reason():
    """No asv parameter reads n/a without a word: the kernel model's parameter is a
    docs/fidelity.md row, each measured; the suite's ipc under linux is skipped in setup with
    the reason (asv's documented skip), and a failed operation raises (asv: failed)."""
    from hmk.bench import BY_NAME, Result, measure
    from hmk.fidelity import ROWS

    kernel = _asv_module("bench_kernel")
    rows = kernel.KernelModel.track_cycles.params
    assert len(set(rows)) == len(rows) == len(ROWS)  # one value per row, none without
    assert f"{ROWS[0].op} on {ROWS[0].profile}, {ROWS[0].paging} paging" in rows

    model = _asv_module("bench_suite").BenchSuiteModel()
    results = {
        ("ipc", "linux"): measure(BY_NAME["ipc"], "linux", "kirin9000"),
        ("ipc", "hm-phone"): Result("ipc", "hm-phone", "kirin9000", 445.0, 3.13),
        ("fork", "linux"): Result("fork", "linux", "kirin9000", None, 3.13, "a run failed"),
    }
    with pytest.raises(NotImplementedError, match="do not exist on a linux kernel"):
        model.setup(results, "ipc", "linux")
    model.setup(results, "ipc", "hm-phone")
    assert model.track_cycles_per_op(results, "ipc", "hm-phone") == 445.0
    model.setup(results, "fork", "linux")  # not skipped: it failed
    with pytest.raises(RuntimeError, match="fork under linux: a run failed"):
        model.track_cycles_per_op(results, "fork", "linux")


def test_asv_cores_benchmarks_run():
    """asv_benchmarks' many-core benchmarks: the model's figures for 1, 2 and 4 cores, turns
    only with more than one core, and the timed run once."""
    path = Path(__file__).resolve().parents[1] / "asv_benchmarks" / "benchmarks" / "bench_cores.py"
    spec = importlib.util.spec_from_file_location("hmk_asv_bench_cores", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CoresModel()
    results = model.setup_cache()
    assert model.track_turns(results, 1) == 0 < model.track_turns(results, 2)
    assert all(model.track_cycles(results, n) > 0 for n in module.CORES)
    module.CoresRun().time_cores(2)

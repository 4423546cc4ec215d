"""Real static AArch64 programs on the timed model: the same stdout and exit status as Linux
(workload_expectations computes them independently; test_workloads_qemu checks them against
qemu-aarch64), deterministic cycles, and cycles that move the right way with the hardware."""

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from workload_expectations import AS_ROOT, CASES, QEMU_CANNOT, expected

from hmk.system.simulation import DEFAULT_ENV, run_program
from hmk.workloads import path

# the default sweeps are the slow ones; a smaller argument set of each runs here
FAST = [(n, a) for n, a in CASES if a or n in ("hello", "exitcode")]


def run(name, args=(), **kw):
    out, err = io.BytesIO(), io.BytesIO()
    result = run_program(str(path(name)), list(args), out=out, err=err, **kw)
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("name", "args"), FAST, ids=[" ".join((n, *a)) for n, a in FAST])
def test_output_and_status_equal_linux(name, args):
    result, out, _ = run(name, args)
    want_out, want_status = expected(name, args)
    assert out == want_out
    assert result.exit_status == want_status
    assert (result.fault is None) == (want_status < 128)  # a signal's death says why
    # every access was translated through real page tables by the timing model too
    assert result.stats["system.cpu0.walker.faults"] == 0
    assert result.instructions > 5000 and result.cycles > 0


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None, reason="qemu-aarch64 is not installed")
@pytest.mark.parametrize(("name", "args"), FAST, ids=[" ".join((n, *a)) for n, a in FAST])
def test_output_and_status_equal_qemu(name, args):
    """Linux's own ABI as the reference: qemu-aarch64 with the same argv and environment."""
    if (name, args) in QEMU_CANNOT:
        pytest.skip("qemu-aarch64 cannot give this output (tests/workload_expectations.py: why)")
    if name in AS_ROOT and os.geteuid() != 0:
        pytest.skip("its output assumes it starts as root, and qemu runs it as this user")
    env = dict(e.decode().split("=", 1) for e in DEFAULT_ENV)
    exe = str(path(name))
    linux = subprocess.run(["qemu-aarch64", exe, *args], env=env, capture_output=True, check=False)
    result, out, _ = run(name, args)
    status = 128 - linux.returncode if linux.returncode < 0 else linux.returncode
    assert (out, result.exit_status) == (linux.stdout, status)


def test_deterministic():
    a, out_a, _ = run("randsweep", ("64", "20000"))
    b, out_b, _ = run("randsweep", ("64", "20000"))
    assert (a.cycles, a.instructions, a.stats) == (b.cycles, b.instructions, b.stats)
    assert out_a == out_b


def test_pipelined_and_serial_runs_agree():
    a, _, _ = run("pchase", ("300", "30000"))
    b, _, _ = run("pchase", ("300", "30000"), pipelined=False)
    assert (a.cycles, a.stats) == (b.cycles, b.stats)


def test_relative_program_path(monkeypatch):
    monkeypatch.chdir(path("hello").parent)
    result, out, _ = run_program_relative("hello")
    assert (out, result.exit_status) == expected("hello")


def run_program_relative(name):
    out, err = io.BytesIO(), io.BytesIO()
    return run_program(name, [], out=out, err=err), out.getvalue(), err.getvalue()


def test_a_bigger_l2_misses_less():
    """256 KiB swept 4 times: it fits the A77's 512 KiB L2, not the A55's 128 KiB one."""
    big, _, _ = run("seqsweep", ("256", "4"), cluster="big")
    little, _, _ = run("seqsweep", ("256", "4"), cluster="little")
    assert big.stats["system.cpu0.l2.misses"] < little.stats["system.cpu0.l2.misses"] / 2
    assert big.cycles < little.cycles


def test_memory_bound_program_has_low_ipc():
    chase, _, _ = run("pchase", ("4096", "300000"))  # 4 MiB of nodes: beyond L2, random order
    compute, _, _ = run("compute", ("32", "20000"))
    assert chase.ipc < compute.ipc / 2


def test_syscalls_cost_exception_entry_and_return():
    few, _, _ = run("syscalls", ("10",))
    many, _, _ = run("syscalls", ("1010",))
    from hmk.hw.profile import load_soc

    core = load_soc("kirin9000").clusters[0].core
    per_call = (many.cycles - few.cycles) / 2000  # two syscalls per iteration
    assert per_call >= core.exception_entry + core.exception_return
    assert many.syscalls - few.syscalls == 2000


def test_unsupported_syscall_warns_once(capsys):
    import hmk  # noqa: PLC0415

    def main(libc):
        for _ in range(3):
            assert libc.syscall(425) == -38  # io_uring_setup: ENOSYS
        return 0

    result = hmk.System().run(main)
    err = capsys.readouterr().err
    assert err.count("hmk: warning: unsupported syscall io_uring_setup (425): -ENOSYS\n") == 1
    assert result.warnings == ["unsupported syscall io_uring_setup (425): -ENOSYS"]


def test_glibcs_rseq_probe_is_not_warned_about(capsys):
    run("hello")
    assert "warning" not in capsys.readouterr().err


def test_segfault_is_status_139(tmp_path):
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    src = tmp_path / "crash.c"
    src.write_text("int main(void) { return *(volatile int *)16; }\n")
    exe = tmp_path / "crash"
    subprocess.run([cc, "-static", "-O1", "-o", exe, src], check=True)
    out = io.BytesIO()
    result = run_program(str(exe), out=out, err=io.BytesIO())
    assert result.exit_status == 139
    assert "0x0 not mapped" in result.fault


def test_bad_syscall_pointer_is_efault_like_linux(tmp_path):
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path / "efault"
    src = Path(__file__).parent / "guest" / "efault.S"
    subprocess.run([cc, "-nostdlib", "-static", "-o", exe, src], check=True)
    result = run_program(str(exe), out=io.BytesIO(), err=io.BytesIO())
    assert result.exit_status == 14  # EFAULT
    if shutil.which("qemu-aarch64"):
        assert subprocess.run(["qemu-aarch64", exe], check=False).returncode == 14


def test_strace_lines_like_qemu():
    trace = io.StringIO()
    run("hello", strace=trace)
    lines = trace.getvalue().splitlines()
    # the program is pid 3: the child of a shell (pid 2) that init (pid 1) started
    assert lines[0] == "3 brk(NULL) = 0x498000"
    assert '3 readlinkat(AT_FDCWD,"/proc/self/exe",' in "\n".join(lines)
    assert any(line.startswith("3 write(1,") and line.endswith(") = 13") for line in lines)
    assert lines[-1] == "3 exit_group(0) = 0"
    assert "rseq(" in trace.getvalue() and "errno=38 (Function not implemented)" in trace.getvalue()


def _build_asm(tmp_path, name):
    cc = shutil.which("aarch64-linux-gnu-gcc")
    if cc is None:
        pytest.skip("aarch64-linux-gnu-gcc is not installed")
    exe = tmp_path / name
    src = Path(__file__).parent / "guest" / f"{name}.S"
    subprocess.run([cc, "-nostdlib", "-static", "-o", exe, src], check=True)
    return exe


def test_undefined_instruction_is_sigill_like_linux(tmp_path):
    exe = _build_asm(tmp_path, "udf")
    result = run_program(str(exe), out=io.BytesIO(), err=io.BytesIO())
    assert result.exit_status == 132  # 128 + SIGILL
    if shutil.which("qemu-aarch64"):
        assert subprocess.run(["qemu-aarch64", exe], check=False).returncode == -4  # SIGILL


def test_exhausted_ram_is_sigkill_not_a_crash():
    # 16 MiB of nodes cannot fit in 8 MiB of simulated RAM (2 MiB of it the kernel heap)
    result = run_program(
        str(path("pchase")), ["16384", "10"], out=io.BytesIO(), err=io.BytesIO(), ram=8 << 20
    )
    assert result.exit_status == 137 and "out of memory" in result.fault


def test_strace_shows_execve_s_path_as_it_was_at_entry():
    trace = io.StringIO()
    result = run_program(str(path("lat")), ["exec", "1"], out=io.BytesIO(), strace=trace)
    assert result.exit_status == 0
    lines = [line for line in trace.getvalue().splitlines() if "execve(" in line]
    assert lines == ['4 execve("/bin/exitcode",' + lines[0].split(",", 1)[1]]
    assert lines[0].endswith(" = 0")


def test_a_segment_above_user_space_is_a_clear_error():
    """The ELF reader accepts any 48-bit address; the Linux layout's user space ends below the
    stack, and a program that does not fit is one line of error, not a traceback."""
    import dataclasses  # noqa: PLC0415

    from hmk.cpu.elf import ElfError, load_elf  # noqa: PLC0415
    from hmk.linux.layout import STACK_FLOOR  # noqa: PLC0415
    from hmk.system.simulation import Simulation  # noqa: PLC0415

    exe = str(path("hello"))
    image = load_elf(exe)
    high = dataclasses.replace(image.segments[-1], vaddr=STACK_FLOOR)
    image = dataclasses.replace(image, segments=(*image.segments[:-1], high))
    sim = Simulation(exe, warnings=None)
    with pytest.raises(ElfError, match="above user space") as e:
        sim.start(image, [b"hello"], [])
    assert "\n" not in str(e.value) and str(e.value).startswith(exe)

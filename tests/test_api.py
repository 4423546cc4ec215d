"""hmk.System and scripted processes (hmk.api, hmk.script; docs/scripting.md)."""

import errno
import io
import os
import shutil
import subprocess
import sys
import threading

import pytest

import hmk
from hmk.api import ScriptError, stub_path
from hmk.hw.profile import ProfileError
from hmk.script import MAP_PRIVATE, O_CREAT, O_RDONLY, O_WRONLY, PROT_READ
from hmk.system import SystemFileError
from hmk.system.simulation import run_program
from hmk.workloads import path as workload_path


def run(script, *args, system="linux", **options):
    out = io.BytesIO()
    result = hmk.System(system=system, out=out, warnings=None, **options).run(script, *args)
    return result, out.getvalue()


def test_files_output_and_exit_status():
    def main(libc):
        fd = libc.open("/tmp/note", O_CREAT | O_WRONLY)
        assert libc.write(fd, b"twelve bytes") == 12
        libc.close(fd)
        fd = libc.open("/tmp/note", O_RDONLY)
        data = libc.read(fd, 100)
        assert libc.read(fd, 100) == b""  # end of file
        size = libc.fstat(fd).st_size
        libc.close(fd)
        libc.write(1, b"%s %d %d\n" % (data, size, libc.stat("/tmp/note").st_size))
        return 300  # as exit(300): the low 8 bits

    result, out = run(main)
    assert out == b"twelve bytes 12 12\n"
    assert result.exit_status == 300 & 0xFF
    assert result.fault is None and result.cycles > 0 and result.instructions > 0
    assert result.seconds == pytest.approx(result.cycles / (result.ghz * 1e9))
    assert result.stats["sim.cycles"] == result.cycles  # docs/stats.md's names
    assert result.stats["kernel.syscalls"] == result.syscalls == 11  # exit_group the 11th


def test_the_channel_is_not_a_syscall():
    """Only the script's calls are syscalls: the stub's channel SVCs are not counted or timed
    as kernel work (K getppid calls + exit_group = K + 1 syscalls)."""

    def main(libc, k):
        for _ in range(k):
            libc.getppid()

    results = [run(main, k)[0] for k in (0, 10)]
    assert [r.syscalls for r in results] == [1, 11]


def test_failures_raise_oserror_and_syscall_returns_the_errno():
    def main(libc):
        with pytest.raises(FileNotFoundError) as caught:
            libc.open("/tmp/none")
        assert caught.value.errno == errno.ENOENT and caught.value.filename == "/tmp/none"
        assert libc.syscall("close", 99) == -errno.EBADF
        with pytest.raises(OSError, match="EBADF|Bad file descriptor"):
            libc.close(99)
        return 7

    assert run(main)[0].exit_status == 7


def test_fork_pipe_wait_and_copy_on_write():
    def child(libc, r, w, base):
        libc.close(w)
        libc.memwrite(base, b"kid")  # its own copy of the page
        return len(libc.read(r, 10))

    def main(libc):
        base = libc.mmap(4096)
        libc.memwrite(base, b"mom")
        r, w = libc.pipe()
        pid = libc.fork(child, r, w, base)
        libc.close(r)
        libc.write(w, b"hello")
        got, status = libc.wait(pid)
        assert got == pid > libc.getpid() and os.WEXITSTATUS(status) == 5
        assert libc.memread(base, 3) == b"mom"
        with pytest.raises(ChildProcessError):
            libc.wait()

    result, _ = run(main)
    assert result.exit_status == 0, result.fault


def test_each_child_runs_its_own_script():
    def main(libc):
        pids = [libc.fork(lambda child, k: child.getpid() + 10 * k, k) for k in range(5)]
        statuses = [os.WEXITSTATUS(libc.wait(pid)[1]) for pid in pids]
        assert statuses == [pid + 10 * k for k, pid in enumerate(pids)], statuses

    assert run(main)[0].exit_status == 0


def test_spawn_and_execve_run_bundled_programs():
    def main(libc):
        pid = libc.spawn("/bin/hello", ["script"])
        assert os.WEXITSTATUS(libc.wait(pid)[1]) == 0
        missing = libc.spawn("/bin/none")
        assert os.WEXITSTATUS(libc.wait(missing)[1]) == 127

    result, out = run(main)
    assert (result.exit_status, out) == (0, b"hello, script\n")


def test_elf_programs_run_as_with_run_program():
    out = io.BytesIO()
    result = hmk.System(out=out).run(str(workload_path("hello")), "api")
    assert (result.exit_status, out.getvalue()) == (0, b"hello, api\n")
    direct = run_program(str(workload_path("hello")), ["api"], out=io.BytesIO())
    assert (result.cycles, result.instructions) == (direct.cycles, direct.instructions)


def test_a_script_is_deterministic():
    def main(libc):
        base = libc.mmap(64 << 10)
        libc.touch(base, 64 << 10, write=True)
        pid = libc.fork(lambda c: c.touch(base, 32 << 10, write=True))
        libc.wait(pid)
        fd = libc.open("/tmp/f", O_CREAT | O_WRONLY)
        libc.write(fd, bytes(range(256)) * 8)
        libc.close(fd)

    first, second = run(main)[0], run(main)[0]
    assert first.cycles == second.cycles and first.stats == second.stats


def test_compute_touch_and_libc_cost_are_instructions():
    def work(libc, n):
        libc.compute(n)

    base, more = run(work, 0)[0], run(work, 20_000)[0]
    # the loop, plus one more request's turn through the stub (about 20 instructions)
    assert 20_000 < more.instructions - base.instructions <= 20_040

    def calls(libc):
        for _ in range(10):
            libc.getppid()

    plain, costly = run(calls)[0], run(calls, libc_instructions=100)[0]
    assert costly.instructions - plain.instructions == 11 * 100  # 10 getppid + exit_group


def test_touch_faults_pages_in_and_a_bad_address_kills():
    def touch(libc, pages):
        base = libc.mmap(pages * 4096)
        libc.touch(base, pages * 4096, write=True)

    few, many = run(touch, 1)[0], run(touch, 65)[0]
    # each page's load maps the zero page, its store then replaces it: two faults a page
    assert many.page_faults - few.page_faults == 2 * 64
    assert (
        many.stats["kernel.faults.zero_replaced"] - few.stats.get("kernel.faults.zero_replaced", 0)
        == 64
    )

    def wild(libc):
        libc.touch(0x10, 1)

    result = run(wild)[0]
    assert result.exit_status == 128 + 11  # SIGSEGV, as a shell reports it


def test_file_mapping_reads_the_file():
    def main(libc):
        fd = libc.open("/tmp/m", O_CREAT | O_WRONLY)
        libc.write(fd, b"x" * 5000 + b"end")
        libc.close(fd)
        fd = libc.open("/tmp/m")
        base = libc.mmap(5003, PROT_READ, MAP_PRIVATE, fd)
        assert libc.memread(base + 5000, 3) == b"end"
        libc.munmap(base, 5003)

    assert run(main)[0].exit_status == 0


def test_a_script_error_ends_the_run_with_its_traceback():
    def broken_child(libc):
        raise KeyError("no such request handler")

    def main(libc):
        libc.wait(libc.fork(broken_child))
        return 0

    with pytest.raises(ScriptError) as caught:
        run(main)
    text = str(caught.value)
    assert "script of pid 4 (" in text and "broken_child) raised" in text
    assert "KeyError: 'no such request handler'" in text and "in broken_child" in text
    assert caught.value.result.exit_status == 124


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: hmk.System(profile="nope"), ProfileError, "no SoC profile named 'nope'"),
        (lambda: hmk.System(system="nope"), SystemFileError, "unknown system 'nope'"),
        (lambda: hmk.System(colour="red"), TypeError, "unknown option.*colour"),
        (lambda: hmk.System(libc_instructions=-1), ValueError, "libc_instructions"),
        (lambda: hmk.System().run(42), TypeError, "script function or an executable's path"),
    ],
)
def test_bad_input_gets_a_one_line_error(make, error, match):
    with pytest.raises(error, match=match) as caught:
        make()
    assert "\n" not in str(caught.value)


def test_bad_requests_are_the_scripts_errors():
    def bad_fork(libc):
        libc.fork("not a function")

    def bad_return(libc):
        return "done"

    def too_big(libc):
        libc.write(1, b"x" * (2 << 20))

    for script, text in (
        (bad_fork, "child_main must be callable"),
        (bad_return, "returns None or an int"),
        (too_big, "do not fit the 1,048,576-byte scratch buffer"),
    ):
        with pytest.raises(ScriptError, match=text):
            run(script)


def test_a_libc_belongs_to_its_script():
    def main(libc):
        libc.wait(libc.fork(lambda child: libc.getpid()))  # the parent's libc in the child

    with pytest.raises(ScriptError, match="used only by the script it was given to"):
        run(main)


def test_no_script_thread_outlives_its_run():
    def reader(child, r, ready):
        child.write(1, b"waiting\n")
        child.write(ready, b"!")
        child.read(r, 1)  # nobody writes: blocked when the run ends

    def main(libc):
        r, _ = libc.pipe()
        ready, told = libc.pipe()
        libc.fork(reader, r, told)
        libc.read(ready, 1)  # the reader has run (whichever the scheduler picked first)
        libc.wait(libc.spawn("/bin/hello"))  # its script ends in execve

    result, out = run(main)
    assert result.exit_status == 0 and out == b"waiting\nhello, world\n"
    assert not [t for t in threading.enumerate() if t.name.startswith("hmk-script")]


def test_import_hmk_stays_light():
    heavy = "('hmk.api', 'hmk.system.simulation')"
    code = f"import sys, hmk; print(any(m in sys.modules for m in {heavy}))"
    lazy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert lazy.stdout.strip() == "False"
    assert hmk.System.__module__ == "hmk.api" and "System" in dir(hmk)
    with pytest.raises(AttributeError):
        hmk.Nothing  # noqa: B018


def test_the_stub_alone_says_it_needs_the_api():
    """Without hmk.api the channel is an unknown syscall (-ENOSYS): the stub exits with 2."""
    result = run_program(str(stub_path()), out=io.BytesIO(), warnings=None)
    assert result.exit_status == 2
    qemu = shutil.which("qemu-aarch64")
    if qemu is not None:
        assert subprocess.run([qemu, str(stub_path())], check=False).returncode == 2

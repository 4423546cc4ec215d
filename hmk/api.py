"""hmk's scripting API: `hmk.System` runs ELF programs and Python-scripted processes.

    system = hmk.System(profile="kirin9000", system="hm-phone")
    result = system.run(main, arg)          # main(libc, arg): a scripted first process
    result = system.run("/path/to/elf", "arg1")
    result.cycles, result.seconds, result.instructions, result.stats, result.exit_status

A scripted process is a real guest process running the bundled stub
(workloads/script/scripthost.c); its script, a Python function, runs in its own thread and asks
for one request at a time over the stub's private SVC (docs/scripting.md says why so).
"""

from __future__ import annotations

import gc
import inspect
import io
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from hmk.cpu.elf import load_elf
from hmk.hw.profile import load_soc
from hmk.linux.strace import signed
from hmk.linux.syscalls import NUMBER_OF
from hmk.outputs import check as check_output
from hmk.script.handoff import ScriptThread
from hmk.script.libc import Libc
from hmk.system import DEFAULT_SYSTEM, load_system
from hmk.system.budgets import changed as changed_budgets
from hmk.system.budgets import check as check_budgets
from hmk.system.cores import core_clusters
from hmk.system.ram import ram_bytes
from hmk.system.simulation import DEFAULT_ENV, RunResult, Simulation, parse_mount, run_program
from hmk.workloads import bin_dir

__all__ = ["ScriptError", "System", "stub_path"]

# the stub's channel protocol (workloads/script/scripthost.c has it, generated from here)
TAG_HELLO, TAG_RESULT = 0, 1  # x1 of a channel call: the first one, or a request's result
KINDS = {"syscall": 0, "touch": 1, "compute": 2}  # x9 of a request: REQ_SYSCALL, ...
NR_EXIT_GROUP = NUMBER_OF["exit_group"]
_OPTIONS = {"budgets"} | set(inspect.signature(Simulation.__init__).parameters) - {
    "self",
    "program",
    "script_channel",
}


class ScriptError(Exception):
    """A script raised: the run stopped there. str() carries the script's traceback;
    `result` is the run so far (exit status 124, as for a run limit)."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


def stub_path() -> Path:
    """The bundled guest stub every scripted process runs."""
    return bin_dir() / "script" / "scripthost"


class System:
    """A modeled machine's configuration: `profile` (a hardware profile), `system` (a
    composition: a preset name or a system file), and any other Simulation option
    (hmk.system.run_program lists them: cluster, paging, stdin, out, err, strace, ...).
    `libc_instructions`: extra user instructions each scripted syscall costs besides the stub's
    own (default 0: the stub's ~20 instructions per call already stand for a libc wrapper).
    `env`: the environment of programs started by run() or execve. Every run() boots afresh."""

    def __init__(
        self,
        profile: str = "kirin9000",
        system: str = DEFAULT_SYSTEM,
        *,
        libc_instructions: int = 0,
        env=None,
        **options,
    ):
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise TypeError(f"hmk.System: unknown option(s) {', '.join(unknown)}")
        _integer("libc_instructions", libc_instructions, 0, MAX_LIBC_INSTRUCTIONS)
        _check_options(profile, system, options)  # each fails here, with its one-line error
        self.profile, self.system = profile, system
        self.libc_instructions = libc_instructions
        self.env = _environment(env)
        self.options = options

    def __repr__(self) -> str:
        return f"hmk.System(profile={self.profile!r}, system={self.system!r})"

    def run(self, program, *args) -> RunResult:
        """Run `program` to the end: a script function (`program(libc, *args)` is the first
        process's script) or the path of a static AArch64 executable (`args` its arguments).
        Raises ScriptError when a script raised."""
        options = {"profile": self.profile, "system": self.system, **self.options}
        if not isinstance(program, str | os.PathLike) and not callable(program):
            raise TypeError(
                f"hmk.System.run: expected a script function or an executable's path, "
                f"not {type(program).__name__}"
            )
        try:
            if isinstance(program, str | os.PathLike):
                argv = [str(a) for a in args]
                return run_program(os.fspath(program), argv, env=self.env, **options)
            with changed_budgets(options.pop("budgets", None)):
                return _Session(self, program, args, options).run()
        finally:
            # the run's machine (its simulated RAM, CPU and caches: tens of MiB) is held in
            # reference cycles, which Python frees only at a full collection: free it now, so
            # that many runs in one process do not pile up
            gc.collect()


class _Session:
    """One run with scripted processes: the channel's server on the simulator's side."""

    def __init__(self, system: System, main, args: tuple, options: dict):
        stub = str(stub_path())
        image = load_elf(stub)
        self.sim = sim = Simulation(stub, script_channel=self.channel, **options)
        sim.start(image, [b"scripthost"], system.env)
        self.env = system.env
        self.extra = system.libc_instructions // 2  # the stub's loop: two instructions a turn
        self.main = (main, args)
        self.scripts: dict[int, ScriptThread] = {}
        self.children: dict[int, tuple] = {}  # child pid -> its (script, args) until it runs
        self.forks: dict[int, tuple] = {}  # parent pid -> (script, args) of a fork in progress
        self.scratch = None
        self.error = None

    def run(self) -> RunResult:
        try:
            result = self.sim.run()
        finally:
            for script in self.scripts.values():
                script.cancel()
        if self.error is not None:
            raise ScriptError(self.error, result)
        return result

    # ---- the libc objects' side (called from a script's thread while the simulator waits)
    def space(self, pid: int):
        sim = self.sim
        return sim.memmgr.space_of(sim.procmgr.tasks[pid].proc)

    def forking(self, pid: int, script, args) -> None:
        self.forks[pid] = (script, args)

    def forked(self, pid: int, child: int) -> None:
        pending = self.forks.pop(pid, None)
        if pending is not None and child > 0:  # the child has not asked yet
            self.children[child] = pending

    # ---- the simulator's side: an SVC on the channel
    def channel(self, machine) -> None:
        if self.error is not None:  # a script raised: the run is ending
            machine.abort(self.error.splitlines()[0])
            return
        k = self.sim.kernel
        task = self.sim.procmgr.task_of(k.process_of(k.running))
        value = signed(machine.reg(0))
        script = self.scripts.get(task.pid) or self._adopt(task, value, machine)
        request = script.resume(value)
        kind = request[0]
        if kind == "error":
            self.error = f"script of pid {task.pid} ({_name(script.fn)}) raised:\n{request[1]}"
            machine.abort(self.error.splitlines()[0])
            request = ("compute", 0)
        elif kind == "exit":
            request = ("syscall", NR_EXIT_GROUP, (request[1], 0, 0, 0, 0, 0))
        self._load(machine, request)

    def _adopt(self, task, value: int, machine) -> ScriptThread:
        """The first request from a process: the first one (its hello gives the scratch
        buffer) or a forked child (its script was given to fork)."""
        if task.pid in self.children:
            fn, args = self.children.pop(task.pid)
        elif task.ppid in self.forks:
            fn, args = self.forks.pop(task.ppid)
        elif self.scratch is None and machine.reg(1) == TAG_HELLO:
            fn, args = self.main
            self.scratch = (value, machine.reg(2))
        else:
            raise RuntimeError(f"hmk.api: pid {task.pid} asked for a request but has no script")
        script = ScriptThread(
            fn,
            lambda thread: Libc(self, task.pid, *self.scratch, thread),
            args,
            name=f"hmk-script-pid{task.pid}",
        )
        self.scripts[task.pid] = script
        return script

    def _load(self, machine, request) -> None:
        """Set the stub's registers to `request`."""
        kind, *rest = request
        regs, nr, extra = [0] * 6, 0, 0
        if kind == "syscall":
            nr, regs, extra = rest[0], list(rest[1]), self.extra
        else:
            regs[: len(rest)] = rest
        for i, v in enumerate(regs):
            machine.set_reg(i, v)
        machine.set_reg(8, nr)
        machine.set_reg(9, KINDS[kind])
        machine.set_reg(10, extra)


# ---- the options, checked when a System is made (a bad one never waits for run()) -----------
MAX_LIBC_INSTRUCTIONS = 10**6  # a libc wrapper's instructions per call: real ones are ~10-100
MAX_LIMIT = 10**18  # max_instructions, max_cycles: the simulator's counters are 64-bit
TICK_US = (10.0, 1e6)  # Linux's timer ticks are 1-10 ms (HZ 1000 to 100)
KERNEL_IPC = (0.01, 16.0)  # instructions a cycle: the widest cores decode 8-10


def _check_options(profile, system, options: dict) -> None:
    """TypeError or ValueError naming the option and what it takes; ProfileError or
    SystemFileError for a profile or system that cannot be loaded. `mounts` becomes a tuple."""
    for name, value in (("profile", profile), ("system", system)):
        if not isinstance(value, str | os.PathLike):
            raise TypeError(f"hmk.System: {name} must be a name or a path, not {_kind(value)}")
    soc, composition = load_soc(profile), load_system(system)
    get = options.get
    cluster = get("cluster")
    if cluster is not None:
        if isinstance(cluster, bool) or not isinstance(cluster, str | numbers.Integral):
            raise TypeError(f"hmk.System: cluster must be a name or an index, not {_kind(cluster)}")
        soc.cluster(cluster if isinstance(cluster, str) else int(cluster))
    if get("cores") is not None:  # a count, "CLUSTER:N,...", or a mapping (docs/smp.md)
        cores = options["cores"]
        if isinstance(cores, bool) or not isinstance(cores, numbers.Integral | str | Mapping):
            raise TypeError(
                f"hmk.System: cores must be a count, 'CLUSTER:N,...' or a mapping, "
                f"not {_kind(cores)}"
            )
        try:
            core_clusters(cores, soc, cluster)
        except ValueError as e:
            raise ValueError(f"hmk.System: {e}") from None
    stdin = get("stdin", b"")
    if not isinstance(stdin, bytes | bytearray | memoryview) and (
        isinstance(stdin, io.TextIOBase) or not callable(getattr(stdin, "read", None))
    ):
        raise TypeError(
            f"hmk.System: stdin must be bytes or a binary stream (sys.stdin.buffer, "
            f"open(path, 'rb')), not {_kind(stdin)}"
        )
    for name in ("out", "err"):
        _stream(name, get(name), binary=True)
    for name in ("strace", "warnings", "progress"):
        _stream(name, get(name), binary=False)
    if get("progress") is not None and not callable(getattr(options["progress"], "isatty", None)):
        raise TypeError("hmk.System: progress must be None or a text stream with isatty()")
    if "ram" in options:
        try:
            ram_bytes(options["ram"])
        except (TypeError, ValueError) as e:
            raise type(e)(f"hmk.System: {e}") from None
    if "seed" in options:
        _integer("seed", options["seed"], 0, (1 << 64) - 1)
    for name, or_none in (
        ("pipelined", True),
        ("stacks", False),
        ("check_invariants", False),
        ("capabilities_only", True),
        ("trace_kernel", False),
    ):
        value = get(name, False)
        if not isinstance(value, bool) and not (or_none and value is None):
            raise TypeError(f"hmk.System: {name} must be True or False, not {_kind(value)}")
    _choice("paging", get("paging"), (None, "kernel", "user"))
    if get("budgets") is not None:
        if not isinstance(options["budgets"], dict):
            raise TypeError("hmk.System: budgets must be a dict of budget name -> instructions")
        try:
            check_budgets(options["budgets"])
        except ValueError as e:
            raise ValueError(f"hmk.System: {e}") from None
    if get("paging") == "user" and composition.kernel == "linux":
        raise ValueError(f"hmk.System: paging='user': {composition.name} has no user-level pager")
    _choice("impl", get("impl", "cython"), ("cython", "python"))
    if "tick_us" in options:
        _real("tick_us", options["tick_us"], *TICK_US)
    if get("kernel_ipc") is not None:
        _real("kernel_ipc", options["kernel_ipc"], *KERNEL_IPC)
    for name in ("max_instructions", "max_cycles"):
        if get(name) is not None:
            _integer(name, options[name], 1, MAX_LIMIT)
    rootfs = get("rootfs")
    if rootfs is not None:
        if not isinstance(rootfs, str | os.PathLike):
            raise TypeError(f"hmk.System: rootfs must be a directory's path, not {_kind(rootfs)}")
        if not os.path.isdir(rootfs):
            raise ValueError(f"hmk.System: rootfs {os.fspath(rootfs)!r} is not a directory")
    trace = get("trace")
    if trace is not None:
        if not isinstance(trace, str | os.PathLike):
            raise TypeError(f"hmk.System: trace must be a file's path, not {_kind(trace)}")
        check_output(trace, "trace")
    if get("trace_kernel") and (trace is None or get("impl") != "python"):
        raise ValueError("hmk.System: trace_kernel=True needs a trace and impl='python'")
    mounts = get("mounts", ())
    if isinstance(mounts, str | bytes | os.PathLike) or not isinstance(mounts, Iterable):
        raise TypeError(f"hmk.System: mounts must be a list of mounts, not {_kind(mounts)}")
    options["mounts"] = mounts = tuple(mounts)  # an iterator is read once, here
    for mount in mounts:
        parse_mount(mount)


def _integer(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"hmk.System: {name} must be an integer, not {_kind(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"hmk.System: {name} must be {lo:,} to {hi:,}, not {value:,}")
    return int(value)


def _real(name: str, value, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"hmk.System: {name} must be a number, not {_kind(value)}")
    if not lo <= value <= hi:  # NaN fails this too
        raise ValueError(f"hmk.System: {name} must be {lo:g} to {hi:g}, not {value}")


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"hmk.System: {name} must be one of {shown}, not {value!r}")


def _stream(name: str, value, binary: bool) -> None:
    """None or a stream with write(): binary for the program's output, text for hmk's."""
    if value is None:
        return
    wrong = io.TextIOBase if binary else (io.BufferedIOBase, io.RawIOBase)
    if isinstance(value, wrong) or not callable(getattr(value, "write", None)):
        want = "a binary stream (sys.stdout.buffer, io.BytesIO())" if binary else "a text stream"
        raise TypeError(f"hmk.System: {name} must be None or {want}, not {_kind(value)}")


def _environment(env) -> list[bytes]:
    """The environment strings of programs started by run(): str or bytes, no NUL byte."""
    if env is None:
        return list(DEFAULT_ENV)
    if isinstance(env, str | bytes) or not isinstance(env, Iterable):
        raise TypeError(f"hmk.System: env must be a list of 'NAME=value' strings, not {_kind(env)}")
    out = []
    for item in env:
        if not isinstance(item, str | bytes):
            raise TypeError(f"hmk.System: env holds {_kind(item)}; each must be a str or bytes")
        item = os.fsencode(item)
        if b"\0" in item:
            raise ValueError(f"hmk.System: env string {item!r} holds a NUL byte")
        out.append(item)
    return out


def _kind(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _name(fn) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)

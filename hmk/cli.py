"""The `hmk` command line.

    hmk profiles                      the hardware profiles: name, kind, description
    hmk profiles show NAME [--json]   one profile, resolved, every value
    hmk profiles ladder NAME          the modeled memory-latency ladder of a SoC
    hmk run [options] [--] [PROGRAM [ARGS...]]   run a program on a modeled core
    hmk compare --systems A,B,... [options] -- PROGRAM [ARGS...]   side by side
    hmk systems [show NAME]           the compositions: where each OS service runs
    hmk syscalls [--json]             every AArch64 syscall: its service, status, who makes it
    hmk fidelity [--write FILE.md]    modeled kernel paths beside published numbers
    hmk calibrate [--write]           fit the kernels' speed on one board, predict the other
    hmk bench [options]               an lmbench-style suite per system
    hmk paper [options]               the HM paper's evaluation on the model (docs/paper.md)
    hmk rootfs debian DIR PKG...      a guest root from Debian's arm64 packages (for --rootfs)
    hmk explore TRACE [options]       cache geometries on a trace recorded by hmk run --trace

Each command is a `cmd_*` function taking the parsed arguments and returning the exit status.
A `ProfileError` becomes ``hmk: error: <message>`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import math
import os
import sys
from pathlib import Path

import hmk
from hmk.errors import EX_SOFTWARE, InternalError, write_report
from hmk.hw import profile
from hmk.outputs import OutputError, check, check_all, check_dir, write_text, written
from hmk.parallel import add_jobs_option, parse_jobs, terminal_progress
from hmk.system import DEFAULT_SYSTEM, SystemFileError, list_systems, load_system, system_file
from hmk.system.ram import DEFAULT_RAM, ram_bytes


def cmd_profiles(args: argparse.Namespace) -> int:
    if args.action == "show":
        return cmd_profiles_show(args)
    if args.action == "ladder":
        return cmd_ladder(args)
    rows = [
        (p.name, "SoC" if p.kind == "soc" else "core", p.description)
        for p in profile.list_profiles()
    ]
    if not rows:
        print(f"no profiles in {profile.profile_dir()}")
        return 0
    width = max(len("NAME"), *(len(r[0]) for r in rows))
    print(f"{'NAME':<{width}}  KIND  DESCRIPTION")
    for name, kind, description in rows:
        print(f"{name:<{width}}  {kind:<4}  {description}")
    print(f"\ndefault: {profile.DEFAULT_PROFILE}; details: hmk profiles show NAME")
    return 0


def cmd_profiles_show(args: argparse.Namespace) -> int:
    found = profile.load_profile(args.name)
    if args.json:
        print(json.dumps(found.as_dict(), indent=2))
    elif isinstance(found, profile.SoC):
        print("\n".join(profile.describe_soc(found)))
    else:
        print(f"{found.name} (core type): {found.description}")
        print(f"  source: {found.source}")
        print("\n".join(profile.describe_core(found, "  ")))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hmk.report.summary import summary  # noqa: PLC0415  (keep `hmk profiles` light)
    from hmk.system import run_program  # noqa: PLC0415
    from hmk.workloads import path as workload_path  # noqa: PLC0415

    stats_file = args.stats if args.stats != "-" else None
    outputs = {"--stats": stats_file, "--flamegraph": args.flamegraph, "--folded": args.folded}
    outputs.update({"--speedscope": args.speedscope, "--trace": args.trace})
    if args.trace_kernel and args.trace is None:
        print("hmk: error: --trace-kernel needs --trace FILE", file=sys.stderr)
        return 2
    options = _run_options(args, outputs)
    program, argv = args.program, list(args.args)
    if program is None:
        program, argv = str(workload_path(DEMO[0])), list(DEMO[1])
        if not args.quiet:
            print(
                f"hmk run: no program given; running the bundled demo: {DEMO[0]}", file=sys.stderr
            )
    stacks = any(p is not None for p in (args.flamegraph, args.folded, args.speedscope))
    try:
        options.update(_sampling(args))
    except ValueError as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2
    result = _guarded(
        run_program,
        program,
        argv,
        stdin=sys.stdin.buffer if sys.stdin is not None else b"",
        strace=sys.stderr if args.strace else None,
        stacks=stacks,
        warnings=None if args.quiet else sys.stderr,
        progress=None if args.quiet else sys.stderr,
        system=args.system,
        trace=args.trace,
        **({"trace_kernel": True, "impl": "python"} if args.trace_kernel else {}),
        **options,
    )
    if isinstance(result, int):
        return result
    sys.stdout.flush()
    if result.fault and not args.quiet:
        names = {124: "a run limit", 132: "SIGILL", 133: "SIGTRAP", 137: "SIGKILL", 139: "SIGSEGV"}
        name = names.get(result.exit_status, "a signal")
        print(f"hmk: program stopped by {name}: {result.fault}", file=sys.stderr)
    if args.stats is not None:
        _write_stats(args.stats, program, argv, result)
    if stacks:
        _write_stacks(args, program, result)
    if not args.quiet:
        summary(result)
    return result.exit_status


def cmd_compare(args: argparse.Namespace) -> int:
    from hmk.report import compare as cmp  # noqa: PLC0415

    profiles = [p for p in (args.profiles or "").split(",") if p] or None
    default = DEFAULT_SYSTEM if profiles else "linux,sel4,hm-phone"
    systems = [s for s in (args.systems or default).split(",") if s]
    if len(systems) * len(profiles or [None]) < 2:
        print(
            "hmk: error: compare needs two runs at least: --systems A,B (e.g. linux,hm-phone) "
            "or --profiles A,B",
            file=sys.stderr,
        )
        return 2
    for system in systems:
        load_system(system)
    for name in profiles or []:
        profile.load_soc(name)
    if args.program is None:
        print("hmk: error: compare needs a PROGRAM (after --)", file=sys.stderr)
        return 2
    diff = args.diff_flamegraph
    options = _run_options(
        args, {"--plot": args.plot, "--json": args.json, "--diff-flamegraph": diff}
    )
    if args.plot is not None:
        cmp.check_plot(args.plot)
    jobs = _jobs(args)
    results = _guarded(
        cmp.compare,
        args.program,
        list(args.args),
        systems,
        jobs=jobs,
        progress=terminal_progress(),
        profiles=profiles,
        stacks=diff is not None,
        **options,
    )
    if isinstance(results, int):
        return results
    name = os.path.basename(args.program)
    first = results[0]
    privileges = _privileges(args, systems, profiles, options) if args.privileges else None
    if profiles:
        print(f"{name} on " + ", ".join(f"{r.run['profile']} ({_cores_of(r)})"
                                         for r in results[:: len(systems)]))  # fmt: skip
    else:
        print(f"{name} on {first.run['profile']} ({_cores_of(first)})")
    print(cmp.table(results, privileges), end="")
    warnings = dict.fromkeys(w for r in results for w in r.warnings)
    statuses = {r.exit_status for r in results}
    stopped = [r for r in results if (r.fault or "").startswith("run limit")]
    if len(statuses) > 1:
        warnings["the program's exit status differs between the runs"] = None
    for r in stopped:
        warnings[f"{' '.join(cmp.labels([r]))}: {r.fault}"] = None
    for text in warnings:
        print(f"hmk: warning: {text}", file=sys.stderr)
    if args.plot is not None:
        with written(args.plot, "--plot") as path:
            cmp.plot(results, path, title=f"{name} on {first.run['profile']}")
    if args.json is not None:
        runs = [{"run": r.run, "exit_status": r.exit_status, "stats": r.stats} for r in results]
        if privileges is not None:
            from hmk.report.privileges import as_json  # noqa: PLC0415

            for run, p in zip(runs, privileges, strict=True):
                run["privileges"] = as_json(p)
        with written(args.json, "--json") as path, open(path, "w", encoding="utf-8") as f:
            json.dump({"program": args.program, "args": args.args, "runs": runs}, f, indent=1)
    if diff is not None:
        from hmk.report import flame  # noqa: PLC0415

        a, b = results[0], results[1]
        title = f"{name}: {b.run['system']} against {a.run['system']}"
        with written(diff, "--diff-flamegraph") as path:
            flame.write_diff_svg(a.stacks, b.stacks, path, title=title)
    # as `hmk run`: the program's exit status when every run gave the same one, 124 when a run
    # stopped at a limit, 1 when the runs disagree
    if stopped:
        return 124
    return statuses.pop() if len(statuses) == 1 else 1


def _privileges(args, systems, profiles, options) -> list:
    """Each run's composition booted (its Privileges: hmk.system.privileges), in the order of
    the runs (profile by profile, each with every system)."""
    from hmk.system.privileges import measure  # noqa: PLC0415

    keep = {k: options[k] for k in ("ram", "paging", "capabilities_only") if options.get(k)}
    return [
        measure(system, **keep, **({"profile": p} if p else {}), cluster=args.core)
        for p in profiles or [args.profile]
        for system in systems
    ]


def cmd_privileges(args: argparse.Namespace) -> int:
    from hmk.report import privileges as report  # noqa: PLC0415
    from hmk.system.privileges import measure  # noqa: PLC0415

    names = args.names or list_systems()
    for name in names:
        load_system(name)  # a bad name or file: its one-line error before anything boots
    ram = getattr(args, "ram", None)
    if ram is not None:
        try:
            ram_bytes(ram)
        except ValueError as e:
            raise UsageError(f"--ram: {e}") from None
    found = [measure(name, **({"ram": ram} if ram else {})) for name in names]
    if args.json:
        print(json.dumps([report.as_json(p) for p in found], indent=1))
    else:
        print("\n".join(report.text(p) for p in found), end="")
    return 0


def _numbers(cores: list[int]) -> str:
    """Core numbers as ranges: [1, 2, 3, 5] -> "1-3, 5"."""
    runs: list[list[int]] = []
    for n in cores:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def _cores_of(result) -> str:
    """What a run ran on: its core type and clock, or its clusters' cores and the clock its
    cycles count (the boot core's)."""
    clusters, cores = result.run.get("clusters"), result.stats.get("sim.cores", 1)
    if not clusters:
        return f"{cores}x " * (cores > 1) + f"{result.run['core']} @ {result.ghz:g} GHz"
    mix = ", ".join(f"{name}:{n}" for name, n in clusters.items())
    return f"{mix}; cycles of the boot core's {result.ghz:g} GHz"


class UsageError(Exception):
    """A command line hmk cannot take (one line for `hmk: error:`, status 2)."""


def _jobs(args) -> int:
    """--jobs (hmk.parallel.parse_jobs), a bad value a UsageError."""
    try:
        return parse_jobs(args.jobs)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _run_options(args, outputs: dict) -> dict:
    """run_program's options from the shared command-line flags; checks the profile, the
    system and where outputs go ({flag: path or None}) before anything runs (a run can take
    long)."""
    from hmk.system import DEFAULT_ENV  # noqa: PLC0415

    profile.load_soc(args.profile)  # a bad profile or system file: reported before anything runs
    if getattr(args, "system", None):
        load_system(args.system)
    for flag, path in outputs.items():
        if path == "-":
            raise OutputError(f"{flag} -: only --stats takes - (text to stderr); give a file name")
    check_all(outputs.items())
    from hmk.system import budgets  # noqa: PLC0415

    try:
        chosen = budgets.read_file(args.budgets) if args.budgets else {}
        chosen = budgets.check({**chosen, **budgets.parse_set(args.set_budgets)})
    except ValueError as e:
        raise UsageError(str(e)) from None
    return {
        "budgets": chosen or None,
        "profile": args.profile,
        "cluster": args.core,
        "env": _environment(DEFAULT_ENV, args.set_env, args.unset_env),
        "rootfs": args.rootfs,
        "mounts": args.mount,
        "paging": args.paging,
        "capabilities_only": args.capabilities_only or None,
        "max_instructions": args.max_instructions,
        "max_cycles": args.max_cycles,
        "ram": args.ram,
        "cores": args.cores,
        "check_invariants": args.check_invariants,
    }


def _sampling(args) -> dict:
    """run_program's fast_forward or sample option from `hmk run`'s flags; ValueError when
    they do not fit together."""
    from hmk.system.sampling import FastForward, Sampling  # noqa: PLC0415

    given = {
        flag: value
        for flag, value in (
            ("--sample-window", args.sample_window),
            ("--sample-warmup", args.sample_warmup),
            ("--sample-period", args.sample_period),
            ("--sample-start", args.sample_start),
        )
        if value is not None
    }
    if given and not args.sample:
        raise ValueError(f"{next(iter(given))} needs --sample")
    if args.warming is not None and not (args.sample or args.fast_forward):
        raise ValueError("--warming needs --sample or --fast-forward")
    if args.sample and args.fast_forward:
        raise ValueError("--fast-forward and --sample cannot be combined (sampling covers the run)")
    warming = None if args.warming in (None, "all") else args.warming
    if args.fast_forward:
        return {"fast_forward": FastForward(args.fast_forward, warming)}
    if not args.sample:
        return {}
    chosen = {flag.removeprefix("--sample-"): value for flag, value in given.items()}
    return {"sample": Sampling(**chosen, warming=warming)}


def _guarded(call, *args, **kwargs):
    """call(*args, **kwargs) (a run or a comparison); a bad program is `hmk: error:`, 2."""
    from hmk.cpu.elf import ElfError  # noqa: PLC0415

    try:
        return call(*args, **kwargs)
    except (ElfError, OSError, ValueError) as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2


def _write_stats(path, program, argv, result) -> None:
    from hmk.report import stats  # noqa: PLC0415

    if path == "-":
        print(stats.text(result.stats), end="", file=sys.stderr)
    elif path.endswith(".json"):
        run = {"program": program, "args": argv, "exit_status": result.exit_status, **result.run}
        if result.fault:
            run["fault"] = result.fault
        run["warnings"] = result.warnings
        with written(path, "--stats") as name:
            stats.write_json(name, run, result.stats)
    else:
        with written(path, "--stats") as name, open(name, "w", encoding="utf-8") as f:
            f.write(stats.text(result.stats))


def _write_stacks(args, program, result) -> None:
    from hmk.report import flame  # noqa: PLC0415
    from hmk.system.stacks import idle_cores  # noqa: PLC0415

    name = os.path.basename(program)
    on = _cores_of(result) if result.stats.get("sim.cores", 1) > 1 else result.run["core"]
    title = f"{name} on {result.run['system']}, {result.run['profile']} ({on})"
    if args.flamegraph is not None:
        # a core that only idled is a frame the width of the run: the picture leaves it out
        # and says so (the folded and speedscope files keep every core)
        idle = idle_cores(result.stacks)
        gone = {f"core:{n}" for n in idle}
        drawn = {s: c for s, c in result.stacks.items() if s[0] not in gone}
        which = f"core{'s' * (len(idle) > 1)} {_numbers(idle)}"
        shown = title + (f"; {which} idled throughout, not drawn" if idle else "")
        with written(args.flamegraph, "--flamegraph") as path:
            flame.write_svg(drawn, path, title=shown, ghz=result.ghz)
    if args.folded is not None:
        with written(args.folded, "--folded") as path:
            flame.write_folded(result.stacks, path)
    if args.speedscope is not None:
        with written(args.speedscope, "--speedscope") as path:
            flame.write_speedscope(result.stacks, path, name=title, ghz=result.ghz)


DEMO = ("compute", ())


def _environment(base, set_vars, unset_vars) -> list[bytes]:
    """qemu-user's -E VAR=VALUE / -U VAR over the default guest environment."""
    env = dict(item.split(b"=", 1) for item in base)
    for item in set_vars:
        name, _, value = item.partition("=")
        env[os.fsencode(name)] = os.fsencode(value)
    for name in unset_vars:
        env.pop(os.fsencode(name), None)
    return [k + b"=" + v for k, v in env.items()]


def cmd_rootfs(args: argparse.Namespace) -> int:
    from hmk import debian  # noqa: PLC0415

    def log(line: str) -> None:
        if not args.quiet:
            print(f"hmk rootfs: {line}", file=sys.stderr)

    check_dir(args.dir)  # before apt's lists and the downloads, which take long
    check_dir(args.cache if args.cache is not None else debian.default_cache(), "--cache")
    try:
        unpacked = debian.build_root(
            args.dir, args.packages, cache=args.cache, refresh=args.refresh, log=log
        )
    except (debian.DebianError, OSError) as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"hmk rootfs: {len(unpacked)} packages in {args.dir}", file=sys.stderr)
    return 0


def cmd_ladder(args: argparse.Namespace) -> int:
    from hmk.hw.probe import format_size, latency_ladder  # noqa: PLC0415  (the hierarchy model)

    soc = profile.load_soc(args.name)
    print("\n".join(profile.describe_soc(soc, full=False)))
    print("\nModeled memory latency (a dependent pointer chase over a random order of each")
    print("working set's lines, lmbench lat_mem_rd style; steady state, one core per cluster):\n")
    which = args.cluster
    clusters = soc.clusters if which is None else [soc.cluster(which)]
    ladders = [(c, latency_ladder(soc, c.name)) for c in clusters]
    header = "".join(f"  {c.name + ' ' + c.core.name:>26}" for c, _ in ladders)
    print(f"{'working set':>12}{header}")
    for i, step in enumerate(ladders[0][1]):
        row = f"{format_size(step.size):>12}"
        for _, ladder in ladders:
            s = ladder[i]
            row += f"  {s.cycles:8.1f} cyc {s.ns:7.1f} ns     "
        print(row.rstrip())
    return 0


TEMPLATE = """\
# A composition: where HM's OS services run (docs/systems.md documents every key).
# Use it with: hmk run --system FILE.toml -- PROGRAM
name = "my-system"           # default: the file's name
description = "what it stands for"
kernel = "hm"                 # whose kernel mechanisms run: "hm" or "linux"
kernel_paging = true          # false: every page fault is an IPC to a user-level pager
address_tokens = true         # false: capabilities only (kernel calls instead of tokens)
twin_driver = false           # true: devhost's block data path runs as a twin in IC1
kernel_messages = false       # true: calls between IC0 domains are kernel-internal messages

# every service in one domain; a domain holds one service or several coalesced ones
[[domain]]
name = "sysmgr"
class = "IC1"                 # IC0: in the core kernel; IC1: kernel space; IC2: user space
services = ["procmgr", "memmgr"]

[[domain]]
name = "fsmgr"
class = "IC1"
services = ["fsmgr"]

[[domain]]
name = "devhost"
class = "IC2"
services = ["devhost"]

[[domain]]
name = "net"
class = "IC2"
services = ["netmgr"]
"""


def cmd_systems(args: argparse.Namespace) -> int:
    if args.action == "template":
        print(TEMPLATE, end="")
        return 0
    if args.action == "show" and args.toml:
        system = load_system(args.name)  # a bad name or file: its one-line error
        print(Path(system_file(args.name)).read_text(encoding="utf-8"), end="")
        return 0
    if args.action == "show" and args.privileges:
        args.names, args.json = [args.name], False
        return cmd_privileges(args)
    names = [args.name] if args.action == "show" else list_systems()
    for name in names:
        system = load_system(name)
        default = " (default)" if system.name == DEFAULT_SYSTEM else ""
        print(f"{system.name}{default}: {system.description}")
        if args.action == "show":
            print(f"  kernel paging: {'on' if system.kernel_paging else 'off (user-level pager)'}")
            print(
                f"  address tokens: {'on' if system.address_tokens else 'off (capabilities only)'}"
            )
            if system.kernel_messages:
                print("  kernel messages: on (a service calls another IC0 domain by messages)")
            for d in system.domains:
                print(f"  domain {d.name} ({d.ic}): {', '.join(d.services)}")
            print(f"  (its file: hmk systems show {name} --toml; the keys: docs/systems.md;")
            print(f"  what each service holds: hmk systems show {name} --privileges)")
    return 0


def cmd_syscalls(args: argparse.Namespace) -> int:
    from hmk.report import syscalls  # noqa: PLC0415

    rows = syscalls.rows()
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(syscalls.render_text(rows), end="")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from hmk.fidelity import render  # noqa: PLC0415

    jobs = _jobs(args)
    if args.write is not None:
        check(args.write, "--write")
    text = render(jobs=jobs, progress=terminal_progress())
    if args.write is not None:
        write_text(args.write, text, "--write")
    else:
        print(text, end="")
    return 0


def _add_run_options(cmd) -> None:
    """The flags `run` and `compare` share: the hardware, the kernel's choices, the guest's
    environment and the run limits."""
    cmd.add_argument(
        "--profile",
        default=profile.DEFAULT_PROFILE,
        metavar="NAME|FILE.toml",
        help=f"SoC profile (default: {profile.DEFAULT_PROFILE})",
    )
    cmd.add_argument("--core", metavar="CLUSTER", help="cluster name or index (default: the first)")
    cmd.add_argument(
        "--rootfs",
        metavar="DIR",
        help="a host directory as the guest's root file system (the guest's changes kept in "
        "memory, the host's files never written; /tmp, /dev and /proc mounted over it); "
        "PROGRAM is then a path inside it",
    )
    cmd.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="HOST:GUEST[:ro]",
        help="a host directory or file at the guest path GUEST (repeatable): read-only with "
        ":ro, else the guest's changes kept in memory",
    )
    cmd.add_argument(
        "--paging",
        choices=("kernel", "user"),
        help="override the system's choice: kernel (HM's policy-free kernel paging, anonymous "
        "faults resolved in the kernel) or user (every fault an IPC to a user-level pager)",
    )
    cmd.add_argument(
        "--capabilities-only",
        action="store_true",
        help="override the system's choice: no address tokens, the memory manager changes "
        "kernel paging state by core-kernel calls",
    )
    cmd.add_argument(
        "-E",
        dest="set_env",
        action="append",
        type=_assignment,
        default=[],
        metavar="VAR=VALUE",
        help="set a guest environment variable (repeatable)",
    )
    cmd.add_argument(
        "-U",
        dest="unset_env",
        action="append",
        default=[],
        metavar="VAR",
        help="remove a guest environment variable (repeatable)",
    )
    cmd.add_argument(
        "--ram",
        type=_ram,
        default=DEFAULT_RAM,
        metavar="SIZE",
        help="the simulated RAM, e.g. 512M or 2G (default: 512M); the guest's memory beyond "
        "it goes to Linux's out-of-memory rules",
    )
    cmd.add_argument(
        "--cores",
        type=_cores,
        default=None,
        metavar="N|CLUSTER:N,...",
        help="model N cores of the cluster, or cores of several clusters by the profile's "
        "names (e.g. prime:1,little:2, numbered in that order): the program's threads and "
        "processes run on them side by side (default: the whole SoC, or all of --core's "
        "cluster; one core with --sample, --fast-forward or --trace; docs/smp.md)",
    )
    cmd.add_argument(
        "--check-invariants",
        action="store_true",
        help="debug: check the kernel's and services' bookkeeping after every reaped process "
        "and at the end (slower; a violation is an hmk internal error, status 70)",
    )
    cmd.add_argument(
        "--set",
        dest="set_budgets",
        action="append",
        default=[],
        metavar="BUDGET=N",
        help="a calibration budget for this run, e.g. kernel.ipc.fast_call=120 or "
        "fsmgr.walk=900 (repeatable; docs/budgets.md)",
    )
    cmd.add_argument(
        "--budgets",
        metavar="FILE.toml",
        help='calibration budgets from a file of "BUDGET" = N lines (--set wins over it)',
    )
    cmd.add_argument(
        "--max-instructions",
        type=_positive,
        metavar="N",
        help="stop the run at the end of the basic block that reaches N simulated user "
        "instructions (exit status 124)",
    )
    cmd.add_argument(
        "--max-cycles",
        type=_positive,
        metavar="N",
        help="stop the run after N simulated cycles (exit status 124)",
    )


def _add_sampling_options(cmd) -> None:
    """`run`'s fast-forward and sampling flags (docs/execution.md, hmk.system.sampling)."""
    from hmk.system.sampling import Sampling  # noqa: PLC0415  (its defaults)

    cmd.add_argument(
        "--fast-forward",
        type=_positive,
        metavar="N",
        help="run the first N user instructions functionally (no timing model, their cycles "
        "assumed at 1 an instruction), then in full detail; kernel paths always in detail",
    )
    cmd.add_argument(
        "--sample",
        action="store_true",
        help="SMARTS sampling: user time estimated from measured windows, with a 95%% "
        "confidence interval; kernel paths in detail",
    )
    for flag, what in (
        ("window", "instructions measured in each window (U)"),
        ("warmup", "instructions of detailed warm-up before each window (W)"),
        ("period", "instructions from one window's warm-up to the next (P)"),
        ("start", "instructions from the start run in detail and counted exactly"),
    ):
        cmd.add_argument(
            f"--sample-{flag}",
            type=_positive if flag in ("window", "period") else _count,
            metavar="N",
            help=f"with --sample: {what} (default: {getattr(Sampling, flag):,})",
        )
    cmd.add_argument(
        "--warming",
        type=_warming_count,
        metavar="N|all",
        help="with --sample or --fast-forward: the functional stretches warm the caches and "
        "TLBs all through (all, the default) or in the last N instructions before detail",
    )


def _ram(text: str) -> int:
    try:
        return ram_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("ram: ")) from None


MAX_LIMIT = 10**18  # --max-instructions, --max-cycles: the simulator's counters are 64-bit


def _warming_count(text: str) -> int | str:
    """--warming: `all` or a number of instructions."""
    if text == "all":
        return text
    try:
        return _count(text)
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e} (give a number of instructions, or all)") from None


def _assignment(text: str) -> str:
    """-E's VAR=VALUE (a guest's environment string: no NUL byte, a name before the =)."""
    name, sep, _ = text.partition("=")
    if not sep or not name or "\0" in text:
        raise argparse.ArgumentTypeError(f"needs VAR=VALUE, got {text!r}")
    return text


def _positive(text: str) -> int:
    """A run limit: a whole number from 1 to MAX_LIMIT, written as digits (0x... too) or with
    an exponent (1e9)."""
    value = _whole(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {_shown(text)}")
    return value


def _cores(text: str) -> int | str:
    """--cores: a count (as _positive), or CLUSTER:COUNT,... (checked against the profile
    before the run)."""
    return text if ":" in text else _positive(text)


def _count(text: str) -> int:
    """A number of instructions from 0 to MAX_LIMIT, written as _positive's."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {_shown(text)}")
    return value


def _whole(text: str) -> int:
    """A whole number at most MAX_LIMIT, as digits (0x... too) or with an exponent (1e9)."""
    try:
        value = int(text, 0)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {_shown(text)}") from None
        if math.isnan(number):
            raise argparse.ArgumentTypeError(f"not a number: {_shown(text)}") from None
        if not math.isinf(number) and not number.is_integer():
            raise argparse.ArgumentTypeError(f"not a whole number: {_shown(text)}") from None
        value = number if math.isinf(number) else int(number)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most 1e18: {_shown(text)}")
    return value


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."


EXTENSIONS = (
    "hmk.bench",
    "hmk.calibration.page",
    "hmk.paper.command",
    "hmk.fuzz.syscalls",
    "hmk.sweep.command",
    "hmk.hw.explore",
)
"""Modules that add a command of their own (`add_parser(commands)`): bench, calibrate, paper,
fuzz, sweep, explore."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; when `command` (the first word of the command line) is one
    of this module's own, the EXTENSIONS are not imported and their commands not added."""
    parser = argparse.ArgumentParser(
        prog="hmk",
        description="A cycle-level model of the HongMeng microkernel on ARMv8 hardware profiles.",
    )
    parser.add_argument("--version", action="version", version=f"hmk {hmk.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    profiles = commands.add_parser("profiles", help="list the hardware profiles")
    profiles.set_defaults(func=cmd_profiles, action=None)
    actions = profiles.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="show one profile, resolved, with every value")
    show.add_argument("name", metavar="NAME", help="a SoC or core-type name, or a .toml file")
    show.add_argument("--json", action="store_true", help="print JSON")

    ladder = actions.add_parser("ladder", help="the modeled memory-latency ladder of a SoC")
    ladder.add_argument("name", metavar="NAME", help="a SoC name or .toml file")
    ladder.add_argument("--cluster", metavar="NAME|INDEX", help="only this cluster")

    systems = commands.add_parser("systems", help="list the compositions (system presets)")
    systems.set_defaults(func=cmd_systems, action=None)
    sactions = systems.add_subparsers(dest="action", metavar="ACTION")
    sshow = sactions.add_parser("show", help="one composition: its domains and switches")
    sshow.add_argument("name", metavar="NAME|FILE.toml", help="a preset name or a system file")
    sshow.add_argument(
        "--toml", action="store_true", help="print the system file itself (to edit a copy)"
    )
    sshow.add_argument(
        "--privileges",
        action="store_true",
        help="what each service holds and reaches once booted (as `hmk privileges NAME`)",
    )
    privileges = commands.add_parser(
        "privileges",
        help="what each service of a composition holds and can reach: its privilege level, "
        "address space, capabilities, tokens and memory (docs/privileges.md)",
    )
    privileges.set_defaults(func=cmd_privileges)
    privileges.add_argument(
        "names", nargs="*", metavar="NAME|FILE.toml", help="compositions (default: every preset)"
    )
    privileges.add_argument("--json", action="store_true", help="print JSON, bytes as numbers")
    privileges.add_argument(
        "--ram", metavar="SIZE", help=f"the simulated RAM (default {DEFAULT_RAM})"
    )
    sactions.add_parser("template", help="print a system file to start from, every key explained")

    scalls = commands.add_parser(
        "syscalls",
        help="every AArch64 Linux syscall: the service that answers it, its status, the bundled "
        "programs that make it (docs/syscalls.md)",
    )
    scalls.set_defaults(func=cmd_syscalls)
    scalls.add_argument("--json", action="store_true", help="print JSON, one object per call")

    fidelity = commands.add_parser(
        "fidelity", help="modeled kernel paths beside published numbers (docs/fidelity.md)"
    )
    fidelity.set_defaults(func=cmd_fidelity)
    fidelity.add_argument("--write", metavar="FILE.md", help="write the page instead of printing")
    add_jobs_option(fidelity)
    if command not in OWN_COMMANDS:  # each loads its model only when its command runs
        for name in EXTENSIONS:
            importlib.import_module(name).add_parser(commands)

    rootfs = commands.add_parser(
        "rootfs",
        help="build a guest root file system for --rootfs",
        description="Build a guest root file system to run dynamically linked programs with "
        "--rootfs DIR.",
    )
    rootfs.set_defaults(func=cmd_rootfs)
    kinds = rootfs.add_subparsers(dest="kind", metavar="KIND", required=True)
    deb = kinds.add_parser(
        "debian",
        help="from Debian's arm64 packages and their dependencies (apt-get download, dpkg -x)",
        description="Unpack Debian's arm64 packages PKG and everything they depend on into DIR "
        "(apt's resolver, the machine's apt sources, a private apt state: the host's packages "
        "are not touched), with /bin, /sbin and /lib merged into /usr.",
    )
    deb.add_argument("dir", metavar="DIR", help="the root to fill (made if missing)")
    deb.add_argument("packages", nargs="+", metavar="PKG", help="Debian package names")
    deb.add_argument(
        "--cache",
        metavar="DIR",
        help="where apt's lists and the downloaded packages are kept "
        "(default: ~/.cache/hmk/debian)",
    )
    deb.add_argument("--refresh", action="store_true", help="fetch the package lists again first")
    deb.add_argument("--quiet", action="store_true", help="say nothing unless it fails")

    run = commands.add_parser(
        "run",
        help="run an AArch64 Linux program on a modeled core",
        description="Run PROGRAM (an AArch64 Linux executable, static, or dynamically linked "
        "with --rootfs; default: a bundled demo) "
        "on one core of a hardware profile; its output passes through, hmk exits with its "
        "status, and a summary of where the cycles went goes to stderr.",
    )
    run.set_defaults(func=cmd_run)
    _add_run_options(run)
    run.add_argument(
        "--system",
        default=DEFAULT_SYSTEM,
        metavar="NAME|FILE.toml",
        help=f"the composition: where each OS service runs (default: {DEFAULT_SYSTEM}; "
        "see `hmk systems`)",
    )
    run.add_argument(
        "--stats",
        metavar="FILE",
        help="write every statistic (docs/stats.md): FILE.json as JSON, any other name as "
        "aligned text, - as text to stderr",
    )
    run.add_argument(
        "--flamegraph", metavar="FILE.svg", help="write an interactive flame graph of the cycles"
    )
    run.add_argument("--folded", metavar="FILE", help="write the stacks in folded format")
    run.add_argument("--speedscope", metavar="FILE.json", help="write a speedscope profile")
    run.add_argument(
        "--trace",
        metavar="FILE",
        help="record every memory access of the program (as the memory hierarchy gets it) in "
        "FILE, for `hmk explore` (docs/exploration.md)",
    )
    run.add_argument(
        "--trace-kernel",
        action="store_true",
        help="with --trace: the kernel's and the services' memory accesses too, in the order "
        "the hierarchy times them (runs the hot paths' Python references: slower, the same "
        "results)",
    )
    run.add_argument("--strace", action="store_true", help="print each syscall to stderr")
    run.add_argument("--quiet", action="store_true", help="no summary, warnings or progress")
    _add_sampling_options(run)
    run.add_argument("program", nargs="?", metavar="PROGRAM", help="an AArch64 Linux program")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments")

    compare = commands.add_parser(
        "compare",
        help="run a program under several compositions and compare them side by side",
        description="Run PROGRAM once under each of --systems (same profile, arguments and "
        "environment) and print a side-by-side table of where the cycles went.",
    )
    compare.set_defaults(func=cmd_compare)
    compare.add_argument(
        "--systems",
        metavar="A,B,...",
        help="compositions to compare, the first the baseline (default: linux,sel4,hm-phone; "
        f"with --profiles: {DEFAULT_SYSTEM})",
    )
    compare.add_argument(
        "--profiles",
        metavar="A,B,...",
        help="SoC profiles to compare (each with every system; default: --profile's)",
    )
    _add_run_options(compare)
    compare.add_argument("--plot", metavar="FILE.png", help="write a stacked bar chart")
    compare.add_argument("--json", metavar="FILE.json", help="write every run's statistics")
    compare.add_argument(
        "--privileges",
        action="store_true",
        help="beside the cycles, what each composition's services hold and reach once booted "
        "(docs/privileges.md)",
    )
    compare.add_argument(
        "--diff-flamegraph",
        metavar="FILE.svg",
        help="write a differential flame graph of the second system against the first",
    )
    add_jobs_option(compare)
    compare.add_argument("program", nargs="?", metavar="PROGRAM", help="an AArch64 Linux program")
    compare.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments")
    return parser


OWN_COMMANDS = {
    "profiles",
    "systems",
    "privileges",
    "syscalls",
    "fidelity",
    "rootfs",
    "run",
    "compare",
}


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(next((w for w in words if not w.startswith("-")), None))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        try:
            status = args.func(args)
        except OSError as e:
            if e.errno in _OUTPUT_ERRNOS:
                _check_stdout(probe=True)  # a full disk or a closed pipe? one line then
            raise
        _check_stdout()
        return status
    except (profile.ProfileError, SystemFileError, OutputError, UsageError) as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2
    except InternalError as e:
        return _report_bug(e, args)


def _report_bug(error: InternalError, args: argparse.Namespace) -> int:
    """An hmk bug: one line saying so and where, the details in a report file."""
    sys.stdout.flush()
    parameters = {k: v for k, v in vars(args).items() if k != "func"}
    try:
        report = f"; details in {write_report(error, parameters)}"
    except OSError as e:
        report = f" (no report written: {e})"
    print(
        f"hmk: internal error (a bug in hmk, not in the program): {error}{report}", file=sys.stderr
    )
    return EX_SOFTWARE


_OUTPUT_ERRNOS = (errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _check_stdout(probe: bool = False) -> None:
    """OutputError if standard output cannot take what is printed to it (a full disk,
    /dev/full, a pipe whose reader is gone); `probe`: a failed write may have dropped its
    bytes, so write a line end to see (when it goes through, the failure was not stdout's).
    What stdout still holds is then dropped, so that the interpreter's exit does not retry."""
    try:
        if probe:
            sys.stdout.write("\n")
        sys.stdout.flush()
    except OSError as e:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # not a file: captured
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise OutputError(f"standard output: cannot write: {e.strerror or e}") from None

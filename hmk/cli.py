"""The `hmk` command line.

    hmk profiles                      the hardware profiles: name, kind, description
    hmk profiles show NAME [--json]   one profile, resolved, every value
    hmk run [--profile NAME|FILE.toml] [PROGRAM ARGS...]

Each command is a `cmd_*` function taking the parsed arguments and returning the exit status.
A `ProfileError` becomes ``hmk: error: <message>`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import hmk
from hmk.hw import profile
from hmk.hw.probe import format_size, latency_ladder

ENGINE_PENDING = "program execution lands with the execution engine, which is not built yet"


def cmd_profiles(args: argparse.Namespace) -> int:
    if args.action == "show":
        return cmd_profiles_show(args)
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
    soc = profile.load_soc(args.profile)
    if args.program is not None:
        print(f"hmk: error: cannot run {args.program!r} yet: {ENGINE_PENDING}", file=sys.stderr)
        return 2
    print("\n".join(profile.describe_soc(soc, full=False)))
    print(f"\nhmk run: {ENGINE_PENDING}. Meanwhile, the modeled memory latency of this profile")
    print("(a dependent pointer chase over a random order of each working set's lines, lmbench")
    print("lat_mem_rd style; steady state, one core of each cluster):\n")
    which = args.cluster
    if which is not None and which.isdigit():
        which = int(which)
    clusters = soc.clusters if which is None else [soc.cluster(which)]
    ladders = [(c, latency_ladder(soc, c.name)) for c in clusters]
    print(
        f"{'working set':>12}" + "".join(f"  {c.name + ' ' + c.core.name:>26}" for c, _ in ladders)
    )
    for i, step in enumerate(ladders[0][1]):
        row = f"{format_size(step.size):>12}"
        for _, ladder in ladders:
            s = ladder[i]
            row += f"  {s.cycles:8.1f} cyc {s.ns:7.1f} ns     "
        print(row.rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
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

    run = commands.add_parser("run", help="run a program on a hardware profile")
    run.set_defaults(func=cmd_run)
    run.add_argument(
        "--profile",
        default=profile.DEFAULT_PROFILE,
        metavar="NAME|FILE.toml",
        help=f"SoC profile (default: {profile.DEFAULT_PROFILE})",
    )
    run.add_argument(
        "--cluster", metavar="NAME|INDEX", help="only this cluster (default: every cluster)"
    )
    run.add_argument("program", nargs="?", metavar="PROGRAM", help="an AArch64 Linux program")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="its arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except profile.ProfileError as e:
        print(f"hmk: error: {e}", file=sys.stderr)
        return 2

"""Feed hmk mutated user inputs by the thousand and count what it does with them.

    python tools/fuzz_inputs.py [-n 1000] [--seed 0] [--timeout 60] [--kinds elf,profile,...]

Kinds (the mutations are tests/input_mutations.py's, each input made from `seed` and its index,
so a run can be repeated and one input replayed with --only KIND:INDEX):

- elf: a mutated static program, loaded from a file (hmk.cpu.elf.load_elf);
- profile: a mutated SoC profile or core type, loaded, its caches, TLBs and timing model built,
  and, when accepted, a program run on it;
- system: a mutated system preset, loaded, and when accepted, a program run under it;
- cli: a command line of good and bad flags through hmk.cli.main (runs the bundled hello);
- api: hmk.System with good and bad options, and when made, a run of a program and a script.

Each input ends as: accepted; refused in one line (the command line: exit status 2 and one
`hmk...: error:` line; Python: one of hmk's errors, or at hmk.System(...) a TypeError or
ValueError, with a one-line message); a traceback (anything else, including an option taken at
construction that fails in run()); or a hang (no answer within --timeout seconds: the worker is
killed and a new one started). Inputs run in a worker process per kind, whose peak RSS is the
kind's max host RSS (what one input's run leaves in reference cycles is collected before the
next, as the end of its own process would free it). Prints a Markdown table, then the first few
failures of each kind.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # this checkout's hmk and its test helpers
KINDS = ("elf", "profile", "system", "cli", "api")


# ---- the worker: one input at a time ---------------------------------------------------------
class Worker:
    """Makes and runs input `index` of a kind in a scratch directory of its own."""

    def __init__(self, seed: int, scratch: str):
        import input_mutations  # noqa: PLC0415

        self.m, self.seed = input_mutations, seed
        self.root = Path(tempfile.mkdtemp(dir=scratch))
        os.mkfifo(self.root / "fifo")
        self.hello = self.m.HELLO.read_bytes()
        big = self.root / "big"
        big.write_bytes(self.hello)
        big.chmod(0o755)
        os.truncate(big, 3 << 30)  # a valid program in a sparse 3 GiB file
        (self.root / "text").write_text("not a program\n")
        self.programs = [str(self.m.HELLO), "/no/such", str(self.root), str(self.root / "text")]
        self.programs += ["/dev/zero", str(self.root / "fifo"), str(big)]

    def run(self, kind: str, index: int) -> tuple[str, str]:
        """(outcome, what happened in a line): outcome accepted, refused or traceback."""
        rng = random.Random(f"{self.seed}:{kind}:{index}")
        scratch = Path(tempfile.mkdtemp(dir=self.root))
        try:
            return getattr(self, kind)(rng, scratch)
        except BaseException:  # noqa: BLE001  (counted and shown, never hidden)
            return "traceback", traceback.format_exc().strip().splitlines()[-1]
        finally:  # a run's machine lives in reference cycles: freed here as at a process's exit
            gc.collect()

    def elf(self, rng, scratch):
        from hmk.cpu.elf import ElfError, load_elf  # noqa: PLC0415

        path = scratch / "prog"
        path.write_bytes(self.m.mutate_elf(self.hello, rng))
        try:
            load_elf(path)
        except ElfError as e:
            return _refused(e)
        return "accepted", ""

    def profile(self, rng, scratch):
        from hmk.cpu.timing import TimingModel  # noqa: PLC0415
        from hmk.hw.engine import BatchHierarchy  # noqa: PLC0415
        from hmk.hw.profile import ProfileError, load_soc  # noqa: PLC0415

        self.m.write_files(scratch, self.m.profile_files(rng))
        try:
            soc = load_soc(scratch / "soc.toml")
        except ProfileError as e:
            return _refused(e)
        for cluster in soc.clusters:
            BatchHierarchy(soc.hierarchy(cluster.name, cores=1))
            TimingModel(cluster.core)
        return self._hello("--profile", str(scratch / "soc.toml"))

    def system(self, rng, scratch):
        from hmk.system import SystemFileError, load_system  # noqa: PLC0415

        path = scratch / "system.toml"
        path.write_bytes(self.m.system_file(rng))
        try:
            load_system(path)
        except SystemFileError as e:
            return _refused(e)
        return self._hello("--system", str(path))

    def cli(self, rng, scratch):
        return self._main(self.m.command_line(rng, scratch, self.programs))

    def _hello(self, flag: str, path: str):
        """An accepted profile or system file runs the bundled hello, from the command line
        (or is refused there in one line: a core type with no fitted kernel speed)."""
        outcome, detail = self._main(["run", "--quiet", flag, path, "--", str(self.m.HELLO)])
        if outcome == "accepted" and detail != "status 0, hello, world":
            return "traceback", f"accepted {flag} {path}, but hello ended {detail}"
        return outcome, detail

    def _main(self, argv):
        """hmk.cli.main(argv): refused is exit status 2 with one error line on stderr."""
        from hmk.cli import main  # noqa: PLC0415

        out, err = io.TextIOWrapper(io.BytesIO()), io.TextIOWrapper(io.BytesIO())
        stdin = io.TextIOWrapper(io.BytesIO(b"input\n"))
        with _streams(stdin, out, err):
            status = main(argv)
        out.flush()
        err.flush()
        lines = err.buffer.getvalue().decode(errors="replace").splitlines()
        if any("Traceback" in line for line in lines):
            return "traceback", f"{argv!r}: {lines[-1]}"
        errors = [line for line in lines if line.startswith("hmk") and ": error: " in line]
        if status == 2 and len(errors) == 1:
            return "refused", errors[0]
        if status == 2 or errors:
            return "traceback", f"{argv!r}: status {status}, {errors or lines[-1:]}"
        return (
            "accepted",
            f"status {status}, {out.buffer.getvalue()[:40].decode(errors='replace').strip()}",
        )

    def api(self, rng, scratch):
        import hmk  # noqa: PLC0415
        from hmk.hw.profile import ProfileError  # noqa: PLC0415
        from hmk.system import SystemFileError  # noqa: PLC0415

        options = self.m.system_options(rng)
        options.setdefault("out", io.BytesIO())
        options.setdefault("err", io.BytesIO())
        options.setdefault("warnings", None)
        refusals = (TypeError, ValueError, OSError, ProfileError, SystemFileError)
        try:
            system = hmk.System(**options)
        except refusals as e:
            return _refused(e)
        try:
            system.run(str(self.m.HELLO), "arg")
            system.run(_script)
        except Exception as e:  # noqa: BLE001  (taken when made, so run() must not fail)
            return "traceback", f"{options!r}: run(): {type(e).__name__}: {e}"
        return "accepted", ""


def _script(libc) -> int:
    libc.write(1, b"scripted\n")
    return 0


def _refused(error: BaseException) -> tuple[str, str]:
    text = str(error)
    if text and "\n" not in text:
        return "refused", f"{type(error).__name__}: {text}"
    return "traceback", f"{type(error).__name__} in {len(text.splitlines())} lines: {text!r}"


@contextlib.contextmanager
def _streams(stdin, out, err):
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def serve(conn, seed: int, scratch: str) -> None:
    """The worker process: answers (kind, index) with (outcome, detail, peak RSS in KiB)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # programs' output that goes to the process's own stdout
    os.dup2(devnull, 2)
    worker = Worker(seed, scratch)
    while True:
        request = conn.recv()
        if request is None:
            return
        outcome, detail = worker.run(*request)
        conn.send((outcome, detail, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


# ---- the parent: a worker per kind, each input timed ------------------------------------------
class Pool:
    def __init__(self, seed: int, scratch: str):
        self.seed, self.scratch, self.process, self.conn = seed, scratch, None, None
        self.context = multiprocessing.get_context("spawn")

    def start(self) -> None:
        self.conn, theirs = self.context.Pipe()
        worker = (theirs, self.seed, self.scratch)
        self.process = self.context.Process(target=serve, args=worker, daemon=True)
        self.process.start()

    def ask(self, kind: str, index: int, timeout: float):
        if self.process is None:
            self.start()
        self.conn.send((kind, index))
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:  # the worker died (a crash of the interpreter itself)
                self.stop(kill=True)
                return "traceback", "the worker process died", 0
        self.stop(kill=True)
        return "hang", f"no answer in {timeout:g} s", 0

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.conn.send(None)
        self.process.join()
        self.process = None


def fuzz(kinds, count: int, seed: int, timeout: float, only=None, shown: int = 3):
    with tempfile.TemporaryDirectory(prefix="hmk-fuzz-") as scratch:  # the workers' files
        return _fuzz(kinds, count, seed, timeout, only, shown, scratch)


def _fuzz(kinds, count, seed, timeout, only, shown, scratch):
    rows, failures = [], []
    for kind in kinds:
        pool, tally, peak = Pool(seed, scratch), dict.fromkeys(OUTCOMES, 0), 0
        started = time.monotonic()
        indexes = [only[1]] if only and only[0] == kind else range(count)
        if only and only[0] != kind:
            continue
        for index in indexes:
            outcome, detail, rss = pool.ask(kind, index, timeout)
            tally[outcome] += 1
            peak = max(peak, rss)
            if outcome in ("traceback", "hang") and tally[outcome] <= shown or only:
                failures.append(f"{kind}:{index} {outcome}: {detail}")
        pool.stop()
        rows.append((kind, len(indexes), tally, peak, time.monotonic() - started))
    return rows, failures


OUTCOMES = ("accepted", "refused", "traceback", "hang")
OUTCOME_NAMES = ("accepted", "refused in one line", "tracebacks", "hangs")


def table(rows) -> str:
    head = ("kind", "inputs", *OUTCOME_NAMES, "max host RSS", "time")
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for kind, n, tally, peak, seconds in rows:
        counts = " | ".join(f"{tally[o]:,}" for o in OUTCOMES)
        lines.append(f"| {kind} | {n:,} | {counts} | {peak / 1024:,.0f} MiB | {seconds:,.0f} s |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="inputs per kind (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds an input may take")
    parser.add_argument("--kinds", default=",".join(KINDS), help="default: all of them")
    parser.add_argument("--only", metavar="KIND:INDEX", help="replay one input and say how it ends")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds {', '.join(sorted(unknown))}; kinds: {', '.join(KINDS)}")
    only = None
    if args.only:
        kind, _, index = args.only.partition(":")
        only = (kind, int(index))
    rows, failures = fuzz(kinds, args.n, args.seed, args.timeout, only)
    print(table(rows))
    for line in failures:
        print(line)
    return 1 if any(t["traceback"] or t["hang"] for _, _, t, _, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Independent simulations on every core: the commands that run many (`hmk bench`, `hmk
fidelity`, `hmk compare`, `hmk paper`) hand them to `pool_map`.

Runs share nothing (each builds its own machine, kernel and services), so the results do not
depend on how many processes ran them or in which order they finished: `pool_map` returns them
in the order of its items. Workers are started with `spawn`, not `fork`: a fresh interpreter
imports hmk itself, so no state of the parent (a timing thread, a half-built cache) leaks into a
run. An `InternalError` in a worker (a bug of hmk) comes back whole and is raised here.
"""

from __future__ import annotations

import os
import sys
import time

MAX_JOBS = 1024  # worker processes (a pool never has more than it has items)


ONE_CORE = "HMK_POOL_WORKER"  # set in a pool's workers: the pool keeps the other cores busy


def cores() -> int:
    """The cores this process may use: its affinity mask's (a container's or taskset's limit,
    which os.cpu_count ignores), or 1 in a worker of a pool (ONE_CORE in its environment), so
    that a run there does not time on a second thread the other workers need."""
    if os.environ.get(ONE_CORE):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_jobs(text: str | None) -> int:
    """A `--jobs` value: a positive integer up to MAX_JOBS; None: every core. ValueError with a
    one-line message otherwise."""
    if text is None:
        return cores()
    if not (text.isascii() and text.isdigit() and len(text) < 6 and 1 <= int(text) <= MAX_JOBS):
        raise ValueError(f"--jobs must be a positive integer up to {MAX_JOBS}, not {text!r}")
    return int(text)


def add_jobs_option(parser) -> None:
    parser.add_argument(
        "--jobs", metavar="N", help="worker processes for the simulations (default: every core)"
    )


def pool_map(fn, items, jobs: int = 1, progress=None, label: str = "hmk") -> list:
    """[fn(item) for item in items], on up to `jobs` worker processes (1, or a single item:
    here, one after another). `fn` must be a module-level function and the items and results
    picklable. `progress`: a stream for a line per finished item with an estimate of the time
    left (None: silent)."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        results = []
        ticker = Progress(progress, label, len(items))
        for item in items:
            results.append(fn(item))
            ticker.done()
        return results
    import multiprocessing  # noqa: PLC0415  (only commands that run a pool need these)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait  # noqa: PLC0415

    context = multiprocessing.get_context("spawn")
    workers = min(jobs, len(items))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_core) as pool:
        futures = {pool.submit(fn, item): k for k, item in enumerate(items)}
        results: list = [None] * len(items)
        ticker = Progress(progress, label, len(items))
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()  # a worker's exception: raised
                    ticker.done()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _one_core() -> None:
    os.environ[ONE_CORE] = "1"


class Progress:
    """`label: k/n done, ~T s left` on `stream` after each item (the estimate: the mean time
    per item so far, times the items left)."""

    def __init__(self, stream, label: str, total: int):
        self.stream, self.label, self.total = stream, label, total
        self.count, self.start = 0, time.monotonic()

    def done(self) -> None:
        self.count += 1
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / self.count * (self.total - self.count)
        tail = f", ~{left:.0f} s left" if self.count < self.total else f" in {elapsed:.0f} s"
        print(f"{self.label}: {self.count}/{self.total} done{tail}", file=self.stream, flush=True)


def terminal_progress():
    """stderr when it is a terminal (progress lines for a person watching), else None."""
    return sys.stderr if sys.stderr.isatty() else None

"""What an OS service is to the rest of hmk: one class in one module.

A service subclasses `Service` and declares, in its module:

- `name`: how system files, statistics (`services.<name>.*`) and other services call it;
- `default_class`: where it runs when a system file does not place it (its own domain of that
  isolation class; docs/systems.md);
- `costs`: the budgets of its own work, one per operation it performs (a path component looked
  up, a descriptor found, a 64-byte line copied, a VMA inserted), each with its source (the
  instruction count of the Linux function doing the same work, hmk/calibration/linux_paths.json)
  or the assumption and why. A budget is a count of instructions of straight-line work with
  every memory access an L1D hit: the kernel turns it into cycles, and the stalls of the
  accesses the service logged are added through the memory hierarchy (`work`). `costs["call"]`
  is its handler's entry, which the shim charges on every syscall the service serves (`ENTRY`);
  decoding an IPC'd request is the placement's cost, not the service's. A call that blocked and
  goes on (`call.resumed`) is charged only what its handler does after the wait, as Linux's
  handler, which waits inside itself, would do;
- `needs`: what it needs of the kernel beyond its own domain (`Needs`): the services it calls
  (their endpoints) and the kernel objects it co-manages through address tokens. The placement
  gives its domain exactly that at boot, nothing more: a call to a service it did not declare
  fails at the kernel's capability check when both are isolated (docs/privileges.md);
- its Linux syscalls: a method `sys_<name>(self, call, *args)` per call it owns, for the syscall
  table (hmk.linux.syscalls) to find;
- its state, per process where it keeps some, and the process lifecycle hooks below, which the
  process manager calls on every service (fork, execve, exit).

Services are made at boot, all with the same `Boot`, and find each other by name in
`boot.peers` (the service directory) when they need one another: a lookup, not a call, so it
costs nothing; a call between them goes through `placement` and costs what the composition says.
"""

from __future__ import annotations

import functools
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from hmk.linux.syscalls import handlers_of


def charged(**ops: int):
    """A handler whose work is the operations `ops`, charged however it returns (a call that
    does one thing: `@charged(ids=1)` on `sys_getpid`). The wrapper keeps `ops` as
    `charged_ops` and the handler as `__wrapped__` (the compiled crossing does the same)."""

    def wrap(handler):
        @functools.wraps(handler)
        def run(self, call, *args):
            try:
                return handler(self, call, *args)
            finally:
                self.placement.work(self.name, self.ops_budget(ops))

        run.charged_ops = dict(ops)
        return run

    return wrap


@dataclass(frozen=True)
class Needs:
    """What a service needs of the kernel beyond its own domain, granted at boot by the placement
    (hmk.services.placement) and listed by `hmk privileges`:

    - `calls`: the services it calls (a request it passes on, a fault taken while it copies a
      caller's memory, which goes to the memory manager): their endpoints, with the CALL right;
    - `tokens`: the kernel pools whose records it co-manages through address tokens (read and
      write) when it runs in user space with address tokens on (hmk.kernel.tokens)."""

    calls: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()


@dataclass
class Boot:
    """What the assembly hands every service: the core kernel, the placement of the services,
    the service directory, and the run's inputs and outputs."""

    kernel: object
    placement: object
    peers: dict = field(default_factory=dict)  # name -> service, every service of the run
    stdin: bytes = b""
    out: object = None  # the program's stdout and stderr (binary streams)
    err: object = None
    seed: int = 0  # for the run's random bytes (getrandom, /dev/urandom, AT_RANDOM)
    program: str = ""  # the first program's path (host or, with `rootfs`, guest)
    bundled: dict = field(default_factory=dict)  # name -> host path of /bin's programs
    rootfs: str | None = None  # a host directory as the guest's root (changes kept in memory)
    mounts: tuple = ()  # (host path, guest path, read-only) placed in the guest's tree
    hierarchy: object = None  # the modeled core's caches (hmk.hw.config.HierarchyConfig): sysfs


# A syscall handler's entry: its arguments taken from the saved registers (or the request) into
# the handler's. Measured: Linux's syscall wrappers, __arm64_sys_pread64 1,193 instructions
# around ksys_pread64's 1,180, __arm64_sys_newfstat 677 around __do_sys_newfstat's 665,
# __arm64_sys_read 936 around ksys_read's 924 (linux_paths.json: pread_1_byte, fstat,
# pipe_roundtrip): 12 to 13, 12 on average.
ENTRY = 12


class Service:
    """An OS service (see the module docstring for what a subclass declares)."""

    name: ClassVar[str]
    default_class: ClassVar[str] = "IC2"
    costs: ClassVar[dict[str, int]] = {"call": ENTRY}
    needs: ClassVar[Needs] = Needs()

    def __init__(self, boot: Boot):
        self.boot = boot
        self.k = boot.kernel
        self.placement = boot.placement
        self.peers = boot.peers
        self._names: dict[str, str] = {}  # op -> its counter's name (budget)
        self._instructions = f"{self.name}.instructions"

    def handlers(self) -> dict:
        """name -> handler of every Linux syscall this service owns."""
        return handlers_of(self)

    def budget(self, **ops: int) -> int:
        """The instructions of the operations `ops` (budget name -> how many times), counted:
        `<name>.work.<budget>` (statistics: `services.<name>.work.<budget>`) and
        `<name>.instructions`, the sum."""
        return self.ops_budget(ops)

    def ops_budget(self, ops: dict[str, int]) -> int:
        """budget(**ops), for a dict of them."""
        total, counts, names = 0, self.k.counts, self._names
        for op, times in ops.items():
            if times:
                total += self.costs[op] * times
                key = names.get(op)
                if key is None:
                    key = names[op] = f"{self.name}.work.{op}"
                counts[key] += times
        counts[self._instructions] += total
        return total

    def work(self, **ops: int) -> None:
        """Charge this service's own work: the budgets of `ops` (`self.work(fdget=1,
        copy_line=8)`) + the stalls of the accesses it logged since the last charge."""
        self.placement.work(self.name, self.ops_budget(ops))

    @contextmanager
    def working(self, **ops: int):
        """`with self.working(fdget=1) as ops:` the operations a call performs, added to `ops`
        (a Counter) as it goes, charged (`work`) when it is done, however it returns. What it
        logs must be charged before anything else takes the kernel's log (a fault, an IPC): log
        after the user copies, or charge at once with `work`."""
        done = Counter(ops)
        try:
            yield done
        finally:
            self.work(**done)

    # ---- the process lifecycle (the process manager calls these on every service) ----------
    def process_started(self, task) -> None:
        """The first process exists (before its program is loaded)."""

    def process_forked(self, parent, child) -> None:
        """`child` was forked from `parent` (before it runs)."""

    def process_exec(self, task) -> None:
        """`task` replaced its program (after the new image is loaded)."""

    def process_exited(self, task) -> None:
        """`task` exited (before its memory goes)."""

    def call_interrupted(self, task, tcb: int) -> None:
        """A call of `task`'s thread `tcb` to this service waited, and a signal's handler ends
        the wait (the call fails with EINTR, or is made again after the handler): what the
        call held while it waited is let go, as a Linux handler does when its wait returns
        -ERESTARTSYS."""

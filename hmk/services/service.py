"""What an OS service is to the rest of hmk: one class in one module.

A service subclasses `Service` and declares, in its module:

- `name`: how system files, statistics (`services.<name>.*`) and other services call it;
- `default_class`: where it runs when a system file does not place it (its own domain of that
  isolation class; docs/systems.md);
- `costs`: the budgets of its own work in core cycles, each with its source or assumption;
  `costs["call"]` is charged on every syscall it serves (decode, a lookup or two, the reply);
- its Linux syscalls: a method `sys_<name>(self, call, *args)` per call it owns, for the syscall
  table (hmk.linux.syscalls) to find;
- its state, per process where it keeps some, and the process lifecycle hooks below, which the
  process manager calls on every service (fork, execve, exit).

Services are made at boot, all with the same `Boot`, and find each other by name in
`boot.peers` (the service directory) when they need one another: a lookup, not a call, so it
costs nothing; a call between them goes through `placement` and costs what the composition says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from hmk.linux.syscalls import handlers_of


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
    rootfs: str | None = None  # a host directory as the guest's read-only root


class Service:
    """An OS service (see the module docstring for what a subclass declares)."""

    name: ClassVar[str]
    default_class: ClassVar[str] = "IC2"
    costs: ClassVar[dict[str, int]] = {"call": 40}

    def __init__(self, boot: Boot):
        self.boot = boot
        self.k = boot.kernel
        self.placement = boot.placement
        self.peers = boot.peers

    def handlers(self) -> dict:
        """name -> handler of every Linux syscall this service owns."""
        return handlers_of(self)

    def work(self, budget: int) -> None:
        """Charge this service's own work: `budget` + the stalls of what it logged."""
        self.placement.work(self.name, budget)

    # ---- the process lifecycle (the process manager calls these on every service) ----------
    def process_started(self, task) -> None:
        """The first process exists (before its program is loaded)."""

    def process_forked(self, parent, child) -> None:
        """`child` was forked from `parent` (before it runs)."""

    def process_exec(self, task) -> None:
        """`task` replaced its program (after the new image is loaded)."""

    def process_exited(self, task) -> None:
        """`task` exited (before its memory goes)."""

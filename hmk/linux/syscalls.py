"""The one syscall table: every AArch64 Linux syscall number, and who answers it.

A row joins three facts: the ABI's (number, name, argument kinds: hmk.linux.numbers), who owns
the call (a service, or the shim itself) with its handler, and, for a call nobody handles, why:
ENOSYS on purpose (ENOSYS_ON_PURPOSE) or not implemented yet. Owners declare their calls by
defining `sys_<name>(self, call, *args)` methods (hmk.services.service.Service, and the shim's
own hmk.linux.clock.Clock); `SyscallTable(owners)` finds them and refuses a handler that names
no syscall or a call two owners claim. The shim dispatches by row; `hmk syscalls` prints it.

A handler gets a `Call` (who is calling, and its memory) and the call's raw argument registers;
it returns the result (a value, or -errno), ERESTARTSYS when the thread blocked (the SVC runs
again when it wakes), or None when it set the registers itself (execve, rt_sigreturn).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from hmk.linux.numbers import NUMBERS

SHIM = "shim"  # the owner of the calls the shim answers itself
IMPLEMENTED, ENOSYS_BY_DESIGN, MISSING = "implemented", "ENOSYS on purpose", "missing"

# calls that answer ENOSYS on purpose, and why (the shim gives no warning for them)
ENOSYS_ON_PURPOSE = {
    "rseq": "glibc registers restartable sequences at every start and carries on without "
    "them, as on a kernel built without CONFIG_RSEQ",
}

NAME_OF = {nr: name for nr, name, _ in NUMBERS}
NUMBER_OF = {name: nr for nr, name, _ in NUMBERS}
KINDS_OF = {nr: kinds for nr, _, kinds in NUMBERS}


@dataclass(slots=True)
class Call:
    """A Linux syscall as its handler receives it: the CPU (`machine`), the calling process
    (`task`: the process manager's record) and thread (`tcb`), and the caller's memory
    (`space`: read, write, read_cstring, as copy_from_user and copy_to_user). `resumed`: the
    call blocked and goes on now (its handler runs again, but its entry, its descriptor and its
    checks were done: Linux's wait sits inside the handler, which looks again after it)."""

    machine: object
    task: object
    tcb: int
    space: object
    resumed: bool = False


@dataclass(frozen=True)
class Syscall:
    """One row of the table."""

    nr: int
    name: str
    kinds: str  # one letter per argument, for --strace (hmk.linux.numbers)
    service: str | None = None  # the owner: a service's name or SHIM; None: nobody
    handler: Callable | None = None
    why_enosys: str | None = None  # why it answers ENOSYS on purpose

    @property
    def status(self) -> str:
        if self.handler is not None:
            return IMPLEMENTED
        return ENOSYS_BY_DESIGN if self.why_enosys else MISSING


def handlers_of(owner) -> dict[str, Callable]:
    """The calls `owner` (a service instance or class) handles: name -> its sys_ method."""
    return {
        attr.removeprefix("sys_"): getattr(owner, attr)
        for attr in dir(owner)
        if attr.startswith("sys_") and callable(getattr(owner, attr))
    }


class SyscallTable:
    """Every AArch64 syscall number's row, with the handlers of `owners` (owner name ->
    an object with sys_<name> methods) filled in."""

    def __init__(self, owners: Mapping[str, object]):
        claimed: dict[str, tuple[str, Callable]] = {}
        for owner, obj in owners.items():
            for name, handler in handlers_of(obj).items():
                if name not in NUMBER_OF:
                    raise ValueError(f"{owner}: sys_{name} is no AArch64 Linux syscall")
                if name in claimed:
                    raise ValueError(f"sys_{name} is claimed by {claimed[name][0]} and {owner}")
                if name in ENOSYS_ON_PURPOSE:
                    raise ValueError(f"{owner}: sys_{name} answers ENOSYS on purpose")
                claimed[name] = (owner, handler)
        self.rows = {
            nr: Syscall(nr, name, kinds, *claimed.get(name, (None, None)))
            if name not in ENOSYS_ON_PURPOSE
            else Syscall(nr, name, kinds, why_enosys=ENOSYS_ON_PURPOSE[name])
            for nr, name, kinds in NUMBERS
        }

    def __getitem__(self, nr: int) -> Syscall | None:
        return self.rows.get(nr)

    def __iter__(self) -> Iterator[Syscall]:
        return iter(self.rows.values())

    def owned_by(self, owner: str) -> list[Syscall]:
        return [row for row in self if row.service == owner]


def name_of(nr: int) -> str:
    """The call's name; `syscall_<nr>` for a number that is no AArch64 syscall."""
    return NAME_OF.get(nr, f"syscall_{nr}")

"""The Linux ABI shim (IC0): Linux syscalls to service calls, as the system file composes them.

Each Linux syscall has an owning service (SERVICE_OF; a few are the shim's own). The shim finds
the service's domain in the composition (hmk.system) and makes the call the placement implies:

- IC0 (in the core kernel, as every service in the `linux` preset): a function call;
- IC1 (kernel space, lighter isolation): an IPC on the fastpath with no address-space switch and
  no privilege change: the call and reply paths plus a domain switch each way (`ic1.switch`:
  hmk's model of a lighter domain switch, not a confirmed HM mechanism; ../shared/hm-brief.md);
- IC2 (user space, its own VSpace): an IPC with the TTBR0/ASID switch, the exception return
  into the service and the service's reply SVC (entry, frame);
- a service in the caller's own domain (coalesced): a function call.

A service calling another (fsmgr writing to the console through devhost) is a nested call from
the service's domain. The functional work of most syscalls is still the Linux personality's
(hmk.kernel.minimal), run inside the call; each service's own work is charged as a budget
(hmk.kernel.costs, `svc.*`, assumed) until issue 5's services are real code. Counters:
`shim.syscalls.<name>`, `shim.calls.<from>-><to>` (function calls), `ipc.<from>-><to>.<fast|slow>`,
`kernel.domain_switches`; cycles per service under `kernel.cycles.services.<service>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.kernel.core import MEMMGR_SLOT, Process
from hmk.kernel.costs import BUDGETS
from hmk.kernel.cspace import ALL_RIGHTS, CALL, ENDPOINT, OK
from hmk.kernel.syscalls import NAMES
from hmk.system import Domain, System

APP = "app"
MSG = 48  # bytes of a syscall's arguments as a service request: six registers
SERVICE_SLOT0 = 56  # domain k's endpoint is in every CSpace's slot SERVICE_SLOT0 + k, except
# the memory manager's domain's, in MEMMGR_SLOT (0; hmk.kernel.core)

SERVICE_OF = {
    **dict.fromkeys(
        (
            "exit",
            "exit_group",
            "getpid",
            "getppid",
            "gettid",
            "getuid",
            "geteuid",
            "getgid",
            "getegid",
            "getresuid",
            "getresgid",
            "setuid",
            "setgid",
            "setreuid",
            "setregid",
            "setresuid",
            "setresgid",
            "getgroups",
            "setgroups",
            "waitid",
            "set_tid_address",
            "set_robust_list",
            "prlimit64",
            "setpgid",
            "getpgid",
            "getsid",
            "setsid",
            "uname",
            "rt_sigaction",
            "rt_sigprocmask",
            "rt_sigreturn",
            "kill",
            "tgkill",
            "tkill",
            "clone",
            "execve",
            "wait4",
            "futex",
        ),
        "procmgr",
    ),
    **dict.fromkeys(("brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "msync"), "memmgr"),
    **dict.fromkeys(
        (
            "read",
            "write",
            "readv",
            "writev",
            "pread64",
            "pwrite64",
            "openat",
            "close",
            "lseek",
            "dup",
            "dup3",
            "fcntl",
            "pipe2",
            "ppoll",
            "getdents64",
            "fstat",
            "newfstatat",
            "statx",
            "faccessat",
            "mkdirat",
            "unlinkat",
            "renameat",
            "renameat2",
            "readlinkat",
            "getcwd",
            "chdir",
            "fchdir",
            "ftruncate",
            "fsync",
            "fdatasync",
            "ioctl",
        ),
        "fsmgr",
    ),
    "getrandom": "devhost",  # /dev/urandom's driver
}
CONSOLE = {"read", "write", "readv", "writev", "ioctl"}  # fsmgr passes the standard streams on


@dataclass
class ServiceDomain:
    domain: Domain
    proc: object  # its Process (VSpace, CSpace, TCB); None for IC0
    endpoint: int = -1
    slot: int = -1


class Shim:
    def __init__(self, kernel, system: System):
        self.k, self.system = kernel, system
        self.domains: dict[str, ServiceDomain] = {}
        self._stack: list[str] = []  # domains being served, innermost last
        self._app_vspace = -1
        for k, d in enumerate(system.domains):
            sd = ServiceDomain(d, None)
            if d.ic != "IC0":
                sd.proc = Process(kernel, d.name)
                sd.slot = MEMMGR_SLOT if "memmgr" in d.services else SERVICE_SLOT0 + k
            self.domains[d.name] = sd
        # a twin driver: devhost's data path in IC1 while its control path stays in the
        # container (hm-brief.md: twin drivers [secondary]); only worth it for an IC2 devhost
        self.twin = None
        if system.twin_driver and system.ic_of("devhost") == "IC2":
            twin = Domain("devhost-twin", "IC1", ("devhost",))
            self.twin = ServiceDomain(twin, Process(kernel, twin.name))
            self.twin.slot = SERVICE_SLOT0 + len(system.domains)
            self.domains[twin.name] = self.twin
        kernel.shim = self

    # ---- set-up --------------------------------------------------------------------------
    def attach(self, proc) -> None:
        """`proc` may call every service domain: its CSpace gets their endpoints (CALL). The
        first process attached is the program: the endpoints are made then, the IC1 ones served
        in its VSpace (no address-space switch; one program process until procmgr's fork)."""
        k = self.k
        live = [sd for sd in self.domains.values() if sd.proc is not None]
        holders = [proc]
        if self._app_vspace < 0:
            self._app_vspace = proc.vspace
            for sd in live:
                vspace = proc.vspace if sd.domain.ic == "IC1" else sd.proc.vspace
                sd.endpoint = k.ipc.create_endpoint(sd.proc.tcb, vspace, 0)
                if sd.endpoint < 0:
                    raise MemoryError(f"shim: no endpoint for {sd.domain.name}")
            holders += [sd.proc for sd in live]
        for holder in holders:
            for sd in live:
                rights = ALL_RIGHTS if holder is sd.proc else CALL
                err = k.caps.install(holder.cspace, sd.slot, ENDPOINT, sd.endpoint, rights)
                if err != OK:
                    raise MemoryError(f"shim: cannot install {sd.domain.name}'s endpoint: {err}")
        k.mem.take_log()

    def domain_of(self, service: str) -> ServiceDomain:
        return self.domains[self.system.domain_of(service).name]

    # ---- calls ---------------------------------------------------------------------------
    def call(self, proc, service: str, serve, msg: int = MSG, data_path: bool = False):
        """Run `serve()` as `service`'s side of a call from the current domain (the program,
        or the service being served); returns what serve returns, or None when the service
        cannot be reached (no activation: the caller sees EAGAIN-like failure). `data_path`:
        a device's data request, which a twin driver serves when there is one."""
        k = self.k
        target = self.twin if data_path and self.twin is not None else self.domain_of(service)
        here = self._stack[-1] if self._stack else APP
        name = target.domain.name
        if target.proc is None or name == here:  # IC0, or coalesced with the caller
            k.counts[f"shim.calls.{here}->{name}"] += 1
            k.charge(f"services.{service}", BUDGETS["shim.direct_call"])
            return self._inside(name, service, serve)
        # the caller's capabilities: a service domain's own, or (from the program or from a
        # service inside the kernel, IC0) the program's
        caller = (self.domains[here].proc if here != APP else None) or proc
        tcb = k.running if k.running >= 0 else proc.tcb
        vspace = k.current.vspace if k.current is not None else caller.vspace
        if target.domain.ic == "IC1":  # kernel space: it runs in whatever address space is on
            k.ipc.ep["server_vspace"][target.endpoint] = vspace  # the core (untimed metadata)
        res = k.ipc_paths.call(tcb, vspace, caller.cspace, target.slot, msg)
        if res.err != OK:
            k.mem.take_log()
            k.counts[f"ipc.{here}->{name}.failed"] += 1
            return None
        k.counts[f"ipc.{here}->{name}.{res.path}"] += 1
        ic2 = target.domain.ic == "IC2"
        cycles = k.ipc_path(res)
        cycles += k.exit if ic2 else BUDGETS["ic1.switch"]
        if res.switch_vspace:
            k.counts["kernel.domain_switches"] += 1
        k.charge("ipc", cycles)
        try:
            return self._inside(name, service, serve)
        finally:
            reply = k.ipc_paths.reply(res.activation, 8)
            cycles = k.entry + BUDGETS["exception.frame"] if ic2 else BUDGETS["ic1.switch"]
            k.charge("ipc", cycles + k.ipc_path(reply))
            if reply.switch_vspace:
                k.counts["kernel.domain_switches"] += 1

    def _inside(self, name: str, service: str, serve):
        self._stack.append(name)
        try:
            with self.k.within(f"service:{service}"):
                return serve()
        finally:
            self._stack.pop()

    def work(self, service: str, budget: int) -> None:
        """Charge `service`'s own work (budget + the stalls of what it logged)."""
        self.k.charge(f"services.{service}", self.k.path(budget))

    # ---- Linux syscalls ------------------------------------------------------------------
    def syscall(self, machine, registers, linux, resumed: bool = False) -> None:
        """A Linux syscall: to its service (the personality does the functional work).
        `resumed`: the call blocked and goes on after waking (the CPU ran its SVC again): it
        was dispatched and its service reached already, so only the service's work is new."""
        k = self.k
        nr = registers[-1]
        name = NAMES.get(nr, f"syscall_{nr}")
        if not resumed:
            k.counts[f"shim.syscalls.{name}"] += 1
            k.charge("shim", BUDGETS["shim.dispatch"])
        service = SERVICE_OF.get(name)
        if service is None:
            linux.syscall(machine, registers)
            return
        proc = k.current
        app = k.process_of(k.running) if k.running >= 0 else proc

        def serve():
            self.work(service, BUDGETS[f"svc.{service}"])
            if service == "fsmgr" and name in CONSOLE and registers[0] in (0, 1, 2):
                self.call(app, "devhost", lambda: self.work("devhost", BUDGETS["svc.devhost"]))
            linux.syscall(machine, registers)
            return True

        if resumed:  # the service holds the call still: no new IPC to it
            self._inside(self.domain_of(service).domain.name, service, serve)
        elif self.call(app, service, serve) is None:
            machine.set_reg(0, -11)  # EAGAIN: the service had no activation free

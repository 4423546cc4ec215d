"""Where each OS service runs, and what a call to it costs: the composition at run time.

A system file (hmk.system.composition) places every service in one domain of an isolation class.
`Placement` boots those domains on the core kernel and makes every call between them the way
their placement implies:

- IC0 (in the core kernel, as every service in the `linux` preset), or a service in the
  caller's own domain (coalesced): a function call (DIRECT_CALL); with `kernel_messages` (the
  hybrid preset: XNU's and NT's components in kernel space), a service calling one in another
  IC0 domain sends a kernel-internal message and gets a reply message (MESSAGE each);
- IC1 (kernel space, lighter isolation): an IPC on the fastpath with no address-space switch and
  no privilege change: the call and reply paths plus a domain switch each way (`ic1.switch`:
  hmk's model of a lighter domain switch, an assumption, not a published HM mechanism);
- IC2 (user space, its own VSpace): an IPC with the TTBR0/ASID switch, the exception return into
  the service and the service's reply SVC (entry, frame).

A service calling another (fsmgr writing to the console through devhost) makes a nested call from
its own domain, with its domain's capabilities: each domain outside the kernel holds its own
endpoint and those of the domains its services declare they call (`Needs.calls`), nothing more,
so a call it did not declare fails at the IPC's capability lookup (an error result, counted as
`failed`; docs/privileges.md). From IC0 (or the program) a call uses the program's
capabilities, which name every service: the core kernel confines nothing inside itself. The
kernel grants a service address tokens only to the pools it declared (`Needs.tokens`,
`grant_token`). A service's own work is charged with `work` (budget + the stalls of what it
logged). Counters: `shim.calls.<from>-><to>` (function calls), `ipc.<from>-><to>.<fast|slow|
failed>`, `kernel.domain_switches`, `kernel.tokens.refused`; cycles per service under
`kernel.cycles.services.<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hmk.kernel.core import Process
from hmk.kernel.costs import BUDGETS
from hmk.kernel.cspace import ALL_RIGHTS, CALL, ENDPOINT
from hmk.kernel.errors import EPERM, OK
from hmk.kernel.memory import OutOfMemory
from hmk.services.service import Needs

APP = "app"  # the program: the caller of a syscall
MSG = 48  # bytes of a syscall's arguments as a service request: six registers
MEMMGR_SLOT = 0  # every process's CSpace slot 0: the memory manager's domain's endpoint
SERVICE_SLOT0 = 56  # domain k's endpoint is in every CSpace's slot SERVICE_SLOT0 + k
# assumed: a call to a service in the same domain (IC0, or coalesced): a function call and
# return with its register saves (instructions)
DIRECT_CALL = 5
# A hybrid kernel's kernel-internal message (composition `kernel_messages`), sent and received:
# its header checked, the message copied into a kernel buffer and queued on the receiver's port,
# taken off it and copied out (XNU's mach_msg: ipc_kmsg_copyin, ipc_mqueue_send and _receive,
# ipc_kmsg_copyout; no address-space switch, no privilege change, the receiving component run in
# the sender's thread as XNU runs a kernel object's server). Measured on arm64 Linux for the same
# work on a queue of bytes (linux_paths.json, pipe_roundtrip): pipe_write 641 instructions (its
# copy in, the lock, the wake-up's check) + pipe_read 515 (its copy out), less what a message
# does not do: the file's modification time (file_update_time 125), its access time (touch_atime
# 141) and the reader's wake-up (__wake_up_sync_key 126): 764
MESSAGE = 764
# assumed: the destination port's name translated in the sender's port space (XNU's
# ipc_entry_lookup, a table index and checks), as a capability lookup (cap.lookup)
PORT_LOOKUP = BUDGETS["cap.lookup"]


@dataclass
class ServiceDomain:
    name: str
    ic: str  # "IC0", "IC1" or "IC2"
    services: tuple[str, ...]
    proc: Process | None = None  # its protection domain; None in IC0
    endpoint: int = -1
    slot: int = -1


class Placement:
    """The domains of `composition` booted on `kernel`: each non-IC0 domain a process (VSpace,
    CSpace, TCB) whose endpoint every attached process may call."""

    def __init__(self, kernel, composition):
        from hmk.services.registry import SERVICES  # noqa: PLC0415  (the services import this)

        self.k, self.composition = kernel, composition
        self.needs: dict[str, Needs] = {cls.name: cls.needs for cls in SERVICES}
        self.domains: dict[str, ServiceDomain] = {}
        self._stack: list[str] = []  # domains being served, innermost last
        self._of: dict[str, ServiceDomain] = {}  # service -> its domain (domain_of, kept)
        self._names: dict[tuple, str] = {}  # the counters' and frames' names (_name, kept)
        self._cycles_of: dict[str, str] = {}  # service -> the name its work is charged to
        self._app_vspace = -1
        for k, d in enumerate(composition.domains):
            sd = ServiceDomain(d.name, d.ic, d.services)
            if d.ic != "IC0":
                sd.proc = Process(kernel, d.name)
                sd.slot = MEMMGR_SLOT if "memmgr" in d.services else SERVICE_SLOT0 + k
            self.domains[d.name] = sd
        # a twin driver: devhost's data path in IC1 while its control path stays in the
        # container; only worth it for an IC2 devhost
        self.twin = None
        if composition.twin_driver and composition.ic_of("devhost") == "IC2":
            self.twin = ServiceDomain("devhost-twin", "IC1", ("devhost",))
            self.twin.proc = Process(kernel, self.twin.name)
            self.twin.slot = SERVICE_SLOT0 + len(composition.domains)
            self.domains[self.twin.name] = self.twin
        for sd in self.domains.values():  # the kernel objects each may co-manage by tokens
            if sd.proc is not None:
                pools = (p for s in sd.services for p in self.needs_of(s).tokens)
                kernel.tokens.confine(sd.proc.vspace, pools)

    # ---- set-up --------------------------------------------------------------------------
    def attach(self, proc) -> None:
        """`proc` may call every service domain (a program's syscalls reach them all): its
        CSpace gets their endpoints (CALL). The first process attached is the program: the
        endpoints are made then, the IC1 ones served in its VSpace (IC1 runs in whatever address
        space is on the core), and each service domain gets its own endpoint (every right) and
        those of the domains its services call (CALL), nothing else."""
        k = self.k
        live = [sd for sd in self.domains.values() if sd.proc is not None]
        grants = [(proc, live, CALL)]
        if self._app_vspace < 0:
            self._app_vspace = proc.vspace
            for sd in live:
                vspace = proc.vspace if sd.ic == "IC1" else sd.proc.vspace
                sd.endpoint = k.ipc.create_endpoint(sd.proc.tcb, vspace, 0)
                if sd.endpoint < 0:
                    raise OutOfMemory(f"placement: no endpoint for {sd.name}")
            for sd in live:
                callees = [t for t in self.callees(sd) if t.proc is not None and t is not sd]
                grants += [(sd.proc, [sd], ALL_RIGHTS), (sd.proc, callees, CALL)]
        for holder, targets, rights in grants:
            for sd in targets:
                err = k.caps.install(holder.cspace, sd.slot, ENDPOINT, sd.endpoint, rights)
                if err != OK:
                    raise OutOfMemory(f"placement: cannot install {sd.name}'s endpoint: {err}")
        k.mem.take_log()

    def needs_of(self, service: str) -> Needs:
        """What `service` declared it needs (hmk.services.service.Needs)."""
        return self.needs.get(service, Needs())

    def callees(self, sd: ServiceDomain) -> list[ServiceDomain]:
        """The domains the services of `sd` call (their `Needs.calls`), in the order they are
        named; a twin driver with its driver's container."""
        found: dict[str, ServiceDomain] = {}
        for service in sd.services:
            for callee in self.needs_of(service).calls:
                target = self.domain_of(callee)
                found[target.name] = target
                if callee == "devhost" and self.twin is not None:
                    found[self.twin.name] = self.twin
        return list(found.values())

    def grant_token(self, service: str, pool: str, index: int, va: int, writable: bool) -> int:
        """An address token mapping record `index` of kernel pool `pool` into `service`'s
        domain at `va` (hmk.kernel.tokens.grant): its index, or the kernel's error; EPERM (counted
        in `kernel.tokens.refused`) for a pool the service did not declare, without tokens, or
        for a service in the kernel (it has no address space of its own to map them in)."""
        sd = self.domain_of(service)
        if sd.proc is None:
            t = EPERM
        else:
            t = self.k.tokens.grant(pool, index, sd.proc.vspace, va, writable)
        if t == EPERM:
            self.k.counts["kernel.tokens.refused"] += 1
        return t

    def domain_of(self, service: str) -> ServiceDomain:
        found = self._of.get(service)
        if found is None:
            found = self._of[service] = self.domains[self.composition.domain_of(service).name]
        return found

    def _name(self, form: str, *parts: str) -> str:
        """`form` filled with `parts` (a counter's or a frame's name), made once."""
        key = (form, *parts)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = form.format(*parts)
        return name

    def together(self, a: str, b: str) -> bool:
        """Do services `a` and `b` share one address space (coalesced, or both in IC0)?"""
        return self.composition.coalesced(a, b) or self.domain_of(b).proc is None

    # ---- calls ---------------------------------------------------------------------------
    def call(self, proc, service: str, serve, msg: int = MSG, data_path: bool = False):
        """Run `serve()` as `service`'s side of a call from the current domain (the program,
        or the service being served); returns what serve returns, or None when the service
        cannot be reached (no activation: the caller sees EAGAIN-like failure). `data_path`:
        a device's data request, which a twin driver serves when there is one."""
        k = self.k
        target = self.twin if data_path and self.twin is not None else self.domain_of(service)
        here = self._stack[-1] if self._stack else APP
        name = target.name
        if target.proc is None or name == here:  # IC0, or coalesced with the caller
            if self.composition.kernel_messages and here not in (APP, name):
                return self._message(here, name, service, serve)
            k.counts[self._name("shim.calls.{}->{}", here, name)] += 1
            k.charge(self._name("services.{}", service), k.work_cycles(DIRECT_CALL))
            return self._inside(name, service, serve)
        # the caller's capabilities: a service domain's own, or (from the program or from a
        # service inside the kernel, IC0) the program's
        caller = (self.domains[here].proc if here != APP else None) or proc
        tcb = k.running
        tcb = tcb if tcb >= 0 else proc.tcb
        vspace = k.current.vspace if k.current is not None else caller.vspace
        if target.ic == "IC1":  # kernel space: it runs in whatever address space is on
            k.ipc.ep["server_vspace"][target.endpoint] = vspace  # the core (untimed metadata)
        res = k.ipc_paths.call(tcb, vspace, caller.cspace, target.slot, msg)
        if res.err != OK:
            k.mem.take_log()
            k.counts[self._name("ipc.{}->{}.failed", here, name)] += 1
            return None
        k.counts[self._name("ipc.{}->{}.{}", here, name, res.path)] += 1
        ic2 = target.ic == "IC2"
        cycles = k.ipc_path(res)
        cycles += k.exit if ic2 else k.work_cycles(BUDGETS["ic1.switch"])
        if res.switch_vspace:
            k.counts["kernel.domain_switches"] += 1
        k.charge("ipc", cycles)
        try:
            return self._inside(name, service, serve)
        finally:
            reply = k.ipc_paths.reply(res.activation, 8)
            frame = BUDGETS["exception.frame"] if ic2 else BUDGETS["ic1.switch"]
            cycles = (k.entry if ic2 else 0) + k.work_cycles(frame)
            k.charge("ipc", cycles + k.ipc_path(reply))
            if reply.switch_vspace:
                k.counts["kernel.domain_switches"] += 1

    def _message(self, here: str, name: str, service: str, serve):
        """A call from component `here` to `name`, both in kernel space, as a hybrid kernel
        makes it: a request message and a reply message, each sent and received with its copy
        (MESSAGE and its port's lookup), charged as IPC; no capability is checked."""
        k = self.k
        k.counts[self._name("ipc.{}->{}.message", here, name)] += 1
        k.counts["kernel.messages"] += 2
        k.charge("ipc", k.work_cycles(2 * (MESSAGE + PORT_LOOKUP)))
        return self._inside(name, service, serve)

    def inside(self, service: str, serve):
        """Run `serve()` as `service`'s work with no call to it: it holds a call already (one
        that blocked and goes on)."""
        return self._inside(self.domain_of(service).name, service, serve)

    def _inside(self, name: str, service: str, serve):
        self._stack.append(name)
        try:
            with self.k.within(self._name("service:{}", service)):
                return serve()
        finally:
            self._stack.pop()

    def work(self, service: str, budget: int) -> None:
        """Charge `service`'s own work (budget + the stalls of what it logged)."""
        name = self._cycles_of.get(service)
        if name is None:
            name = self._cycles_of[service] = f"services.{service}"
        self.k.charge(name, self.k.path(budget))

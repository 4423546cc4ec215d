"""What each service of a composition holds and can reach, read from a booted model: `hmk
privileges`, `hmk systems show NAME --privileges`, `hmk compare --privileges` (docs/privileges.md).

`measure(system)` boots the composition with a small program loaded (the bundled `hello`, not
run) and `read(sim)` reads, for every service domain (and a twin driver's), the kernel's state:

- its privilege level: EL1 in kernel space (IC0, IC1), EL0 in user space (IC2);
- its address space: the core kernel's (IC0); kernel space with its caller's user half (IC1:
  hmk runs an IC1 service in whatever address space is on the core); its own VSpace (IC2);
- its capabilities: the full slots of its CSpace (what each names, its rights), and the
  address tokens granted to its VSpace (the pool, the kernel pages, the rights);
- the frames it holds (the frame allocator's owner of each), and the processes it pages (their
  CSpace's pager slot names its endpoint; in the kernel, every process);
- the memory it can reach, in bytes, by whose it is: at EL1 all of RAM, through the kernel's
  linear map; at EL0 the frames it holds and the pages its VSpace maps for EL0 (a token's
  kernel pages). A frame is the kernel's (its heap, page tables, the frames it allocated), free
  (the kernel's to hand out), a program's (mapped in a program's VSpace), another service's
  (allocated by it and not mapped by a program), or the domain's own.

Nothing here is timed or changes the model: it reads arrays and tables as an observer would.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from hmk.hw.pagetable import ADDR_MASK, AP_EL0, LEVELS, PAGE_SIZE, VA_LIMIT
from hmk.kernel.cspace import (
    ALL_RIGHTS,
    CALL,
    CSPACE,
    ENDPOINT,
    FRAME,
    GRANT,
    IRQ,
    NOTIFICATION,
    NULL,
    READ,
    TCB,
    TOKEN,
    VSPACE,
    WRITE,
)
from hmk.kernel.vspace import TABLE_DESC
from hmk.services.placement import MEMMGR_SLOT

KINDS = {  # hmk.kernel.cspace's object types, as a listing names them
    TCB: "TCB",
    VSPACE: "VSpace",
    CSPACE: "CSpace",
    ENDPOINT: "endpoint",
    NOTIFICATION: "notification",
    FRAME: "frame",
    TOKEN: "token",
    IRQ: "IRQ",
}
KERNEL, USER, FREE = "kernel", "programs", "free"  # whose a frame is: these, or a service's
_KERNEL, _USER, _FREE, _SERVICE = range(4)  # ... as labels: service i is _SERVICE + i


@dataclass(frozen=True)
class Reach:
    """Bytes a domain can load from and store to, by whose they are."""

    kernel: int = 0  # the kernel's: its heap, page tables, the frames it allocated
    free: int = 0  # frames nobody holds (the kernel's to hand out)
    services: int = 0  # other services' frames
    user: int = 0  # programs' pages
    own: int = 0  # its own services' frames (not mapped by a program)

    @property
    def total(self) -> int:
        return self.kernel + self.free + self.services + self.user + self.own


@dataclass(frozen=True)
class Domain:
    """One service domain's privileges (several coalesced services share them all)."""

    name: str
    ic: str
    services: tuple[str, ...]
    level: str  # "EL1" or "EL0"
    space: str  # its address space, in words
    capabilities: tuple[tuple[str, str, str], ...]  # (kind, what it names, rights)
    tokens: tuple[tuple[str, int, str], ...]  # (kernel pool, pages, rights)
    holds: int  # bytes of frames its services allocated
    pages: int  # processes it is the pager of
    reach: Reach
    checked: bool  # its calls go through the kernel's capability check
    twin: bool = False  # a twin driver's data path


@dataclass(frozen=True)
class Privileges:
    """A composition's domains after boot, and its RAM by whose it is."""

    system: str
    description: str
    ram: int
    memory: dict  # KERNEL / USER / FREE / service name -> bytes
    domains: tuple[Domain, ...]
    program: tuple[tuple[str, str, str], ...] = field(default=())  # the program's capabilities

    def of(self, service: str) -> list[Domain]:
        """The domains running (part of) `service`: its own, and a twin's."""
        return [d for d in self.domains if service in d.services]

    def services(self) -> list[str]:
        return list(dict.fromkeys(s for d in self.domains for s in d.services))

    def at_el1(self) -> list[str]:
        """The services with code at EL1 (a twin driver's data path counts)."""
        return [s for s in self.services() if any(d.level == "EL1" for d in self.of(s))]

    def reach(self, service: str) -> Reach:
        """What a compromised `service` reaches: the widest of its domains'."""
        return max((d.reach for d in self.of(service)), key=lambda r: r.total)

    def unchecked_calls(self) -> int:
        """Calls one service could make to another that no capability check stands in the way
        of (its domain is in the kernel, or it shares the callee's domain), of every ordered
        pair of services."""
        names = self.services()
        home = {s: self.of(s)[0] for s in names}
        return sum(
            1
            for a in names
            for b in names
            if a != b and (not home[a].checked or home[a] is home[b] or home[b].ic == "IC0")
        )


def measure(system: str, **options) -> Privileges:
    """`system` booted with the bundled `hello` loaded (not run): its Privileges. `options`:
    Simulation's (profile, cluster, ram, paging, capabilities_only)."""
    from hmk.cpu.elf import load_elf  # noqa: PLC0415
    from hmk.system.simulation import DEFAULT_ENV, Simulation  # noqa: PLC0415
    from hmk.workloads import path  # noqa: PLC0415

    program = str(path("hello"))
    out = io.BytesIO()
    sim = Simulation(program, system=system, out=out, err=out, warnings=None, **options)
    sim.start(load_elf(program), [program.encode()], list(DEFAULT_ENV))
    return read(sim)


def read(sim) -> Privileges:
    """The privileges of every service domain of booted Simulation `sim`."""
    k, placement = sim.kernel, sim.shim.placement
    names = list(sim.services)  # the services, in boot order
    labels = [KERNEL, USER, FREE, *names]
    programs = [p for _, p in sorted(k.by_vspace.items()) if not _is_domain(placement, p)]
    owner, whose = _frames(k, names, programs)
    memory = {
        label: PAGE_SIZE * int(np.count_nonzero(whose == i)) for i, label in enumerate(labels)
    }
    endpoints = {sd.endpoint: sd.name for sd in placement.domains.values() if sd.proc is not None}
    domains = tuple(
        _domain(k, sd, placement, names, owner, whose, programs, endpoints)
        for sd in placement.domains.values()
    )
    comp = placement.composition
    program = _capabilities(k, programs[0].cspace, endpoints) if programs else ()
    return Privileges(comp.name, comp.description, len(k.ram), memory, domains, program)


def _is_domain(placement, proc) -> bool:
    return any(sd.proc is proc for sd in placement.domains.values())


def _frames(k, names: list[str], programs) -> tuple[np.ndarray, np.ndarray]:
    """Per 4 KiB frame of RAM: the index (in `names`) of the service that allocated it (-1:
    none), and whose it is (_KERNEL, _USER, _FREE, or _SERVICE + the service's index)."""
    frames = len(k.ram) // PAGE_SIZE
    owner = np.full(frames, -1, np.int32)
    whose = np.full(frames, _FREE, np.int32)
    whose[: k.frames.first // PAGE_SIZE] = _KERNEL  # the kernel heap
    whose[k.frames.end // PAGE_SIZE :] = _KERNEL  # the linear map's tables
    index = {name: i for i, name in enumerate(names)}
    kernel_frames = []
    for pa, who in k.frames.owner_of.items():
        service = index.get(who.split(".")[0], -1)
        owner[pa // PAGE_SIZE] = service
        if service >= 0:
            whose[pa // PAGE_SIZE] = _SERVICE + service
        else:  # a frame object's page is a program's; the rest (tables, objects) the kernel's
            whose[pa // PAGE_SIZE] = _USER if who == "user" else _KERNEL
        if who == "kernel":
            kernel_frames.append(pa // PAGE_SIZE)
    for proc in programs:  # a program's pages are its, whoever allocated them
        for _, pa in k.vspaces.mapped(proc.vspace, 0, VA_LIMIT):
            whose[pa // PAGE_SIZE] = _USER
    whose[kernel_frames] = _KERNEL  # (the shared zero page stays the kernel's)
    return owner, whose


def _domain(k, sd, placement, names, owner, whose, programs, endpoints) -> Domain:
    mine = [names.index(s) for s in sd.services]
    el1 = sd.ic != "IC2"
    held = np.isin(owner, mine)
    if el1:
        reachable = np.ones(len(whose), bool)  # all of RAM: the kernel's linear map
    else:
        reachable = held.copy()
        for pa in _el0_pages(k, sd.proc.vspace):
            reachable[pa // PAGE_SIZE] = True
    labels = whose[reachable]
    own = np.isin(labels, [_SERVICE + i for i in mine])

    def bytes_of(pages) -> int:
        return PAGE_SIZE * int(np.count_nonzero(pages))

    reach = Reach(
        kernel=bytes_of(labels == _KERNEL),
        free=bytes_of(labels == _FREE),
        services=bytes_of((labels >= _SERVICE) & ~own),
        user=bytes_of(labels == _USER),
        own=bytes_of(own),
    )
    caps = _capabilities(k, sd.proc.cspace, endpoints) if sd.proc is not None else ()
    return Domain(
        sd.name,
        sd.ic,
        sd.services,
        "EL1" if el1 else "EL0",
        _space(sd),
        caps,
        _tokens(k, sd.proc.vspace) if sd.proc is not None else (),
        PAGE_SIZE * int(np.count_nonzero(held)),
        _paged(k, sd, programs),
        reach,
        sd.proc is not None,
        sd is placement.twin,
    )


def _space(sd) -> str:
    if sd.ic == "IC0":
        return "the core kernel's"
    if sd.ic == "IC1":
        return "kernel space, with its caller's user half"
    return "its own"


def rights_text(rights: int) -> str:
    if rights == ALL_RIGHTS:
        return "all rights"
    names = ((READ, "read"), (WRITE, "write"), (GRANT, "grant"), (CALL, "call"))
    return ", ".join(n for bit, n in names if rights & bit) or "none"


def _capabilities(k, cspace: int, endpoints: dict) -> tuple[tuple[str, str, str], ...]:
    """(kind, what it names, rights) of every full slot of `cspace`, in slot order."""
    caps = k.caps
    first, size = int(caps.cspace["first"][cspace]), int(caps.cspace["size"][cspace])
    out = []
    for slot in range(first, first + size):
        kind = int(caps.slot["type"][slot])
        if kind == NULL:
            continue
        obj = int(caps.slot["object"][slot])
        named = endpoints.get(obj, f"#{obj}") if kind == ENDPOINT else f"#{obj}"
        out.append((KINDS[kind], named, rights_text(int(caps.slot["rights"][slot]))))
    return tuple(out)


def _tokens(k, vspace: int) -> tuple[tuple[str, int, str], ...]:
    """(pool, kernel pages, rights) of the address tokens granted to `vspace`, by pool."""
    tok = k.tokens.token
    pools = list(k.mem.pools)
    pages: dict[tuple[str, str], int] = {}
    for t in np.flatnonzero(tok.used & (tok["vspace"] == vspace)):
        key = (pools[int(tok["pool"][t])], rights_text(int(tok["rights"][t])))
        pages[key] = pages.get(key, 0) + int(tok["pages"][t])
    return tuple((pool, n, rights) for (pool, rights), n in sorted(pages.items()))


def _el0_pages(k, vspace: int) -> list[int]:
    """The frames `vspace` maps with EL0 access (AP[1] set): what a user-space domain touches."""
    words, out = k.vspaces.words, []
    tables = [(int(k.vspaces.vspace["root"][vspace]), 0)]
    while tables:
        table, level = tables.pop()
        descs = words[table >> 3 : (table + PAGE_SIZE) >> 3]
        for idx in np.flatnonzero(descs & TABLE_DESC == TABLE_DESC):
            desc = int(descs[idx])
            if level < LEVELS - 1:
                tables.append((desc & ADDR_MASK, level + 1))
            elif desc & AP_EL0:
                out.append(desc & ADDR_MASK)
    return out


def _paged(k, sd, programs) -> int:
    """How many programs' faults go to `sd`: their CSpace's pager slot names its endpoint (a
    memory manager in the kernel pages them all)."""
    if "memmgr" not in sd.services:
        return 0
    if sd.proc is None:
        return len(programs)
    caps = k.caps
    paged = 0
    for proc in programs:
        slot = int(caps.cspace["first"][proc.cspace]) + MEMMGR_SLOT
        if caps.slot["type"][slot] == ENDPOINT and caps.slot["object"][slot] == sd.endpoint:
            paged += 1
    return paged


__all__ = ["Domain", "Privileges", "Reach", "measure", "read"]

"""Compositions: which OS service runs where, from a system file (TOML).

A system file places each OS service (hmk.services.registry) in exactly one *domain*; a domain
has an isolation class and holds one service or several coalesced ones (calls inside a domain
are function calls; across domains they are IPCs):

    name = "hm-phone"
    description = "..."
    kernel = "hm"               # whose kernel mechanisms run: "hm" (HM's core kernel) or
                                # "linux" (Linux's: its syscall path, CFS, its fault path)
    kernel_paging = true        # false: every page fault is an IPC to a user-level pager
    region_map = false          # with a user-level pager: each fault goes first to a region
                                # map in the faulting task (L4Re's), which asks the pager
    address_tokens = true       # false: capabilities only (kernel calls instead of tokens)
    twin_driver = false         # true: devhost's block data path runs as a twin in IC1
    kernel_messages = false     # true: a service calls one in another IC0 domain by a kernel-
                                # internal message (a hybrid kernel's: XNU, NT), not a function call
    memcg = true                # linux only: false boots it with cgroup_disable=memory

    [[domain]]
    name = "sysmgr"
    class = "IC1"               # IC0: in the core kernel; IC1: kernel space, lighter switch;
    services = ["procmgr", "memmgr"]   # IC2: user space, its own address space

A service the file does not mention (one newer than the file) gets its default placement: a
domain of its own, named after it, in the isolation class the service declares (`default_class`;
docs/systems.md lists them), or in IC0 on a `linux` kernel, which holds every service. Presets
live in hmk/system/presets/ (`hmk systems` lists them; docs/systems.md gives the evidence for
each placement or says it is our assumption). A `linux` kernel is monolithic: every service
must be in IC0, its own fault path resolves every fault (no user-level pager) and there are no
address tokens to grant, so those switches must be left at their defaults; `memcg` is a `linux`
kernel's own switch (its memory cgroup controller; the Raspberry Pi kernel disables it by
default, docs/linux-kernel.md). `kernel_messages` is an hm kernel's: the hybrid preset's
components in kernel space, each its own IC0 domain. `load_system(name or path)` returns a frozen
`Composition` or raises SystemFileError with one line: `file: key: problem`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hmk.inputs import UnreadableFile, read_text

CLASSES = ("IC0", "IC1", "IC2")
KERNELS = ("hm", "linux")
DEFAULT_SYSTEM = "hm-phone"
_KEYS = {"name", "description", "kernel", "kernel_paging", "address_tokens", "twin_driver"}
_KEYS |= {"memcg", "region_map", "kernel_messages", "domain"}
_DOMAIN_KEYS = {"name", "class", "services"}
MAX_NAME = 64  # characters of a system's or a domain's name (a line of `hmk systems` shows it)


def registered() -> dict[str, str]:
    """Every service hmk boots (hmk.services.registry), by name: its default isolation class."""
    from hmk.services.registry import SERVICES  # noqa: PLC0415  (the model loads on demand)

    return {cls.name: cls.default_class for cls in SERVICES}


class SystemFileError(Exception):
    """A system file cannot be found, parsed or trusted; str() is one line."""

    def __init__(self, path, key: str | None, problem: str):
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{key + ': ' if key else ''}{problem}")


@dataclass(frozen=True)
class Domain:
    name: str
    ic: str  # "IC0", "IC1" or "IC2"
    services: tuple[str, ...]


@dataclass(frozen=True)
class Composition:
    name: str
    description: str
    kernel_paging: bool
    address_tokens: bool
    domains: tuple[Domain, ...]
    twin_driver: bool = False
    kernel: str = "hm"  # "hm" or "linux": whose kernel mechanisms run (KERNELS)
    memcg: bool = True  # a linux kernel's memory cgroup controller (on unless booted without)
    region_map: bool = False  # user-level paging through a region map in each task (L4Re's)
    kernel_messages: bool = False  # calls between IC0 domains as messages (a hybrid kernel's)

    def domain_of(self, service: str) -> Domain:
        return next(d for d in self.domains if service in d.services)

    def ic_of(self, service: str) -> str:
        return self.domain_of(service).ic

    def coalesced(self, a: str, b: str) -> bool:
        return self.domain_of(a) is self.domain_of(b)

    @property
    def shadow_tasks(self) -> bool:
        """Does the driver host keep a shadow task for every thread? On an hm kernel, wherever
        it is placed (hmk's model of the extra IPC the HM paper puts clone's slowdown down to:
        hmk.services.devhost); a linux kernel's drivers use the kernel's own tasks."""
        return self.kernel == "hm"

    @property
    def booted_domains(self) -> int:
        """Domains that run outside the core kernel (each a process at boot), a twin driver
        included."""
        twin = self.twin_driver and self.ic_of("devhost") == "IC2"
        return sum(d.ic != "IC0" for d in self.domains) + twin


def systems_dir() -> Path:
    return Path(__file__).resolve().parent / "presets"


def list_systems() -> list[str]:
    return sorted(p.stem for p in systems_dir().glob("*.toml"))


def system_file(name_or_path: str | Path = DEFAULT_SYSTEM) -> Path:
    """The file of a preset (by name) or the path given."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text:
        return Path(text)
    path = systems_dir() / f"{text}.toml"
    if not path.is_file():
        raise SystemFileError(
            None, None, f"unknown system {text!r}; presets: {', '.join(list_systems())}"
        )
    return path


def load_system(name_or_path: str | Path = DEFAULT_SYSTEM) -> Composition:
    """A preset by name, or a system file by path."""
    path = system_file(name_or_path)
    try:
        data = tomllib.loads(read_text(path))
    except UnreadableFile as e:
        raise SystemFileError(path, None, str(e)) from None
    except RecursionError:
        raise SystemFileError(path, None, "not valid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as e:
        raise SystemFileError(path, None, f"not valid TOML: {e}") from None
    return parse_system(data, path)


def parse_system(data: dict, path=None) -> Composition:
    def err(key, problem):
        return SystemFileError(path, key, problem)

    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise err(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    name = data.get("name", Path(path).stem if path else "system")
    if not _is_name(name):
        raise err("name", f"must be a name of 1 to {MAX_NAME} printable characters")
    flags = {}
    for key in ("kernel_paging", "address_tokens", "twin_driver", "region_map", "kernel_messages"):
        value = data.get(key, key in ("kernel_paging", "address_tokens"))
        if not isinstance(value, bool):
            raise err(key, f"must be true or false, not {value!r}")
        flags[key] = value
    raw = data.get("domain")
    if not isinstance(raw, list) or not raw:
        raise err("domain", "at least one [[domain]] is needed")
    known = registered()
    domains, seen, names = [], {}, set()
    for k, d in enumerate(raw):
        where = f"domain[{k}]"
        if not isinstance(d, dict):
            raise err(where, "must be a table")
        extra = sorted(set(d) - _DOMAIN_KEYS)
        if extra:
            raise err(f"{where}.{extra[0]}", "unknown key (known: class, name, services)")
        dname = d.get("name")
        if not _is_name(dname):
            raise err(f"{where}.name", f"must be a name of 1 to {MAX_NAME} printable characters")
        if dname in names:
            raise err(f"{where}.name", f"domain {dname!r} is defined twice")
        names.add(dname)
        ic = d.get("class")
        if ic not in CLASSES:
            raise err(f"{where}.class", f"must be one of {', '.join(CLASSES)}, not {ic!r}")
        members = d.get("services")
        if not isinstance(members, list) or not members:
            raise err(f"{where}.services", "must be a non-empty list of service names")
        for s in members:
            if not isinstance(s, str) or s not in known:
                raise err(f"{where}.services", f"unknown service {s!r} (known: {', '.join(known)})")
            if s in seen:
                raise err(
                    f"{where}.services",
                    f"service {s!r} is in two domains: {seen[s]!r} and {dname!r}",
                )
            seen[s] = dname
        domains.append(Domain(dname, ic, tuple(members)))
    monolithic = data.get("kernel") == "linux"
    for s, default_class in known.items():  # a service the file does not place: a domain of
        if s not in seen:  # its own, in its default class (a linux kernel holds it: IC0)
            if s in names:
                raise err("domain", f"service {s!r} is in no domain, and a domain takes its name")
            domains.append(Domain(s, "IC0" if monolithic else default_class, (s,)))
    description = data.get("description", "")
    if not isinstance(description, str) or not description.isprintable():
        raise err("description", "must be a string of printable characters (one line)")
    kernel = data.get("kernel", "hm")
    if kernel not in KERNELS:
        raise err("kernel", f"must be one of {', '.join(KERNELS)}, not {kernel!r}")
    memcg = data.get("memcg", True)
    if not isinstance(memcg, bool):
        raise err("memcg", f"must be true or false, not {memcg!r}")
    if kernel == "linux":
        _check_monolithic(domains, data, err)
    elif "memcg" in data:
        raise err("memcg", "is a linux kernel's switch (HM has no memory cgroups): leave it out")
    paging, tokens = flags["kernel_paging"], flags["address_tokens"]
    if flags["region_map"] and paging:
        raise err("region_map", "needs a user-level pager: set kernel_paging = false")
    return Composition(
        name,
        description,
        paging,
        tokens,
        tuple(domains),
        flags["twin_driver"],
        kernel,
        memcg,
        flags["region_map"],
        flags["kernel_messages"],
    )


def _is_name(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and value.isprintable()


def _check_monolithic(domains, data, err) -> None:
    """A Linux kernel runs every service inside itself and resolves its own faults."""
    outside = [d for d in domains if d.ic != "IC0"]
    if outside:
        d = outside[0]
        raise err(
            "kernel",
            f"a linux kernel runs every service in IC0, but domain {d.name!r} is {d.ic}",
        )
    for key, default in (("kernel_paging", True), ("address_tokens", True)):
        if data.get(key, default) is not default:
            raise err(key, "a linux kernel has no user-level pager or capabilities: leave it out")
    if data.get("twin_driver", False):
        raise err("twin_driver", "a linux kernel has no driver container: leave it out")
    if data.get("kernel_messages", False):
        raise err("kernel_messages", "a linux kernel calls its parts directly: leave it out")


__all__ = [
    "CLASSES",
    "KERNELS",
    "DEFAULT_SYSTEM",
    "registered",
    "Composition",
    "Domain",
    "SystemFileError",
    "list_systems",
    "load_system",
    "parse_system",
]

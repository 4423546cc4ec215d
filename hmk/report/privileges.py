"""What each service of a composition holds and reaches, as text and JSON: `hmk privileges`,
`hmk systems show NAME --privileges` (the figures: hmk.system.privileges; docs/privileges.md)."""

from __future__ import annotations

from dataclasses import asdict

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def size(n: int) -> str:
    """Bytes in binary units: 2 GiB, 512 MiB, 508.9 MiB, 68 KiB, 0."""
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if n >= unit:
            return f"{n // unit} {name}" if n % unit == 0 else f"{n / unit:,.1f} {name}"
    return f"{n} B" if n else "0"


def capabilities(caps) -> str:
    """(kind, what, rights) triples grouped by kind and rights: `endpoint sysmgr (all
    rights); endpoint fsmgr, devhost (call)`."""
    groups: dict[tuple[str, str], list[str]] = {}
    for kind, what, rights in caps:
        groups.setdefault((kind, rights), []).append(what)
    return "; ".join(
        f"{kind} {', '.join(whats)} ({rights})" for (kind, rights), whats in groups.items()
    )


def reach(r) -> str:
    return (
        f"the kernel's {size(r.kernel)}, free {size(r.free)}, other services' {size(r.services)}, "
        f"programs' {size(r.user)}, its own {size(r.own)}"
    )


def text(p) -> str:
    """A composition's privileges (hmk.system.privileges.Privileges), one block."""
    services = p.services()
    el1 = p.at_el1()
    twins = {s for d in p.domains if d.twin for s in d.services}
    at_el1 = [f"{s} (its twin)" if s in twins and p.of(s)[0].level == "EL0" else s for s in el1]
    el0 = [s for s in services if s not in el1]
    pairs = len(services) * (len(services) - 1)
    memory = p.memory
    theirs = sum(v for k, v in memory.items() if k in services)
    lines = [
        f"{p.system}: {p.description}" if p.description else p.system,
        f"  after boot (hello loaded, not run), {size(p.ram)} of RAM: the kernel's "
        f"{size(memory['kernel'])}, services' {size(theirs)}, programs' "
        f"{size(memory['programs'])}, free {size(memory['free'])}",
        f"  services at EL1: {', '.join(at_el1) or 'none'}; "
        f"at EL0 only: {', '.join(el0) or 'none'}",
        f"  calls between services the kernel does not check: {p.unchecked_calls()} of {pairs}",
    ]
    for d in p.domains:
        role = f"{d.ic}, a twin driver: the block data path" if d.twin else d.ic
        lines.append(f"  {d.name} ({role}): {', '.join(d.services)}")
        lines.append(f"    runs at {d.level}; address space: {d.space}")
        if d.checked:
            lines.append(f"    capabilities: {capabilities(d.capabilities) or 'none'}")
            tokens = "; ".join(f"{pool} {n} page{'s' * (n != 1)} ({r})" for pool, n, r in d.tokens)
            lines.append(f"    address tokens: {tokens or 'none'}")
        else:
            lines.append("    capabilities: none checked: in the core kernel it calls anything")
        held = f"    holds {size(d.holds) + ' of frames' if d.holds else 'no frames'}"
        lines.append(held + (f"; pages {d.pages} program{'s' * (d.pages != 1)}" if d.pages else ""))
        whole = " (all of RAM)" if d.reach.total == p.ram else ""
        lines.append(f"    reaches {size(d.reach.total)}{whole}: {reach(d.reach)}")
    if p.program:
        lines.append(f"  the program: {capabilities(p.program)}")
    return "\n".join(lines) + "\n"


def as_json(p) -> dict:
    """A composition's privileges as JSON-ready data (bytes as numbers)."""
    data = asdict(p)
    data["at_el1"] = p.at_el1()
    data["unchecked_calls"] = p.unchecked_calls()
    for d, domain in zip(data["domains"], p.domains, strict=True):
        d["reach"]["total"] = domain.reach.total
    return data

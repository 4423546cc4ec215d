"""Why a published value is missed: the mechanism behind each gap of docs/paper.md.

Each `Reason` names a mechanism the model does not have, or a fact about the published figure
that no model of the named system could match, and says which rows it covers. The page lists
every gap with its reason; a gap no reason covers is marked unexplained (a test keeps the
committed page free of them). A reason covers rows, never adjusts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    key: str  # a short name the gap lines refer to
    covers: Callable[[str, object], bool]  # (experiment name, Row) -> bool
    text: str


def _is(experiment, profile=None, quantity=None, system=None):
    def covers(name, row):
        return (
            name == experiment
            and (profile is None or row.profile == profile)
            and (quantity is None or row.quantity.startswith(quantity))
            and (system is None or row.system == system)
        )

    return covers


REASONS = (
    Reason(
        "which Kirin core",
        _is("faults", profile="kirin9000"),
        "The published Kirin 9000 faults take 1,400-6,000 cycles of its prime Cortex-A77 at "
        "3.13 GHz, several times what the same paths take on the Raspberry Pi's narrower "
        "Cortex-A72 (a Linux read fault: 551 ns there, 1,725 cycles for the ~800 instructions "
        "Linux runs, docs/linux-paths.md). The paper does not say which core or clock the phone "
        "measurement ran on. Predicted on the little cores (`kirin9000:little`, Cortex-A55 at "
        "2.05 GHz), the same model comes much closer: the rows beside these.",
    ),
    Reason(
        "Linux's write fault on the Pi",
        _is("faults", profile="rpi4", system="linux-rpi"),
        "Booted as the Pi's kernel boots it, Linux 5.10 runs ~1,700 more instructions on an "
        "anonymous write fault than on a read (page allocation, LRU and reverse map, clearing; "
        "measured, docs/linux-paths.md). The published Pi figures differ by 261 ns, 392 cycles "
        "at 1.5 GHz: 4.3 instructions a cycle on a core that decodes 3. The model keeps the "
        "measured paths, so no kernel IPC fits both Linux figures: the fitted one leaves the "
        "read under and the write over (docs/calibration.md).",
    ),
    Reason(
        "HM's write fault",
        _is("faults", quantity="write", system="hm-phone"),
        "What HM's memory manager does per page (its allocator, its records for reclaim) is "
        "not published: the model charges Linux's measured steps for the same work "
        "(hmk.kernel.pagerecords, the memory manager's frame allocation), so the write fault "
        "is as good as that stand-in.",
    ),
    Reason(
        "Fiasco's mapping",
        _is("faults", system="fiasco"),
        "fiasco pages as L4Re does in two steps (the task's region map, then the memory "
        "manager, hmk.services.memmgr), but maps the page with a kernel call as seL4's pager "
        "would; Fiasco.OC maps it by a flexpage in the pager's reply, through its mapping "
        "database, whose cost the model does not have. What else L4Re's region map and Moe do "
        "per fault is not published with the figure.",
    ),
    Reason(
        "the driver container's thread work",
        _is("lmbench", quantity="thread create (clone)"),
        "The paper puts clone's slowdown down to an extra IPC with the driver container (IC2). "
        "The model makes that IPC (procmgr tells devhost of every thread made and gone) and "
        "charges the container a pid-like record for each thread (services.devhost's "
        "shadow_create and shadow_release, assumed): an IPC round trip and that record are a "
        "small share of a thread's creation (~27,500 instructions on Linux, "
        "docs/linux-paths.md). Doubling it takes work on the scale of a whole thread "
        "creation in the container (a Linux task of its own for the drivers it hosts would be "
        "one), which the paper does not describe.",
    ),
    Reason(
        "HM's VMA copying",
        _is("lmbench", quantity="fork"),
        "The paper puts fork's slowdown down to copying VMAs in the memory manager (parallelised, "
        "a typical app's fork still takes 60 ms against Linux's 30), without saying what makes "
        "HM's copy slower. The model charges HM's memory manager Linux's measured work per VMA "
        "and per page, so the two kernels' forks differ only by their IPCs and scheduling. The "
        "published ratio is a typical app's (hundreds of VMAs), the model's a small process's.",
    ),
    Reason(
        "a stand-in, not an app",
        _is("coldstart"),
        "The published cold starts are the top-30 apps' on a phone, end to end: the managed "
        "runtime, graphics, Binder calls and reads from flash included, and the paper does not "
        "attribute its 17% to the kernel paths a stand-in can exercise. coldstart runs only "
        "those (fork, exec, file reads, a mapped library, anonymous memory, a helper), each "
        "charged the same service work under both kernels, so HM's extra IPCs decide it.",
    ),
    Reason(
        "a device, not a RAM disk",
        _is("block"),
        "The published block throughputs are a phone's storage (its flash and its driver's "
        "interrupts and DMA): the twin driver and Linux reach the same ~1,200 MB/s, the "
        "device's rate. ramstream reads devhost's RAM disk, which has no device time, so it "
        "measures only the software path; and the driver container's 500 MB/s means ~4.8 us "
        "more a 4 KiB request than the twin (1 / 500 MB/s - 1 / 1,200 MB/s per 4 KiB), far "
        "more than the one IPC round trip per request the model's driver container costs. The "
        "paper does not give the request size or say what else that path does.",
    ),
)


def reason_for(experiment: str, row) -> Reason | None:
    return next((r for r in REASONS if r.covers(experiment, row)), None)

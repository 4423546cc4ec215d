"""The OS services a run boots, in boot order: adding a service is its module and a line here."""

from hmk.services.devhost import DevHost
from hmk.services.fsmgr import FsMgr
from hmk.services.memmgr import MemoryManager
from hmk.services.netmgr import NetMgr
from hmk.services.procmgr import ProcMgr

SERVICES = (ProcMgr, MemoryManager, FsMgr, DevHost, NetMgr)


def boot(boot) -> dict:
    """One instance of each service, by name, all sharing `boot` (its `peers` filled)."""
    for cls in SERVICES:
        boot.peers[cls.name] = cls(boot)
    return boot.peers

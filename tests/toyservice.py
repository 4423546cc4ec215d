"""A toy OS service, written as a new service would be: this module is all of it (its handler,
its costs, its default placement); the only other edit it needs is its line in
hmk.services.registry.SERVICES (tests/test_syscall_table.py makes that edit for its test).

It answers getcpu(2), a call no other service owns, with CPU 0 on node 0, as Linux does on a
single-core machine."""

import struct

from hmk.linux.abi import EFAULT
from hmk.services.service import Service


class ToyService(Service):
    name = "toy"
    default_class = "IC2"  # a system file that does not place it runs it in its own IC2 domain
    costs = {"call": 25}  # assumed: a toy's decode and reply

    def sys_getcpu(self, call, cpu_ptr, node_ptr, *_):
        for ptr in (cpu_ptr, node_ptr):
            if ptr and not call.space.write(ptr, struct.pack("<I", 0)):
                return -EFAULT
        self.k.counts["toy.answers"] += 1
        return 0

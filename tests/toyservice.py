"""A toy OS service, written as a new service would be: this module is all of it (its handler,
its costs, its default placement); the only other edit it needs is its line in
hmk.services.registry.SERVICES (tests/test_syscall_table.py makes that edit for its test).

It answers acct(2), a call no other service owns: acct(NULL) turns process accounting off,
which is off already, so Linux answers 0 to root."""

from hmk.services.service import Service


class ToyService(Service):
    name = "toy"
    default_class = "IC2"  # a system file that does not place it runs it in its own IC2 domain
    costs = {"call": 25}  # assumed: a toy's decode and reply

    def sys_acct(self, call, *_):
        self.k.counts["toy.answers"] += 1
        return 0

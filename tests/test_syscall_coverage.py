"""Every syscall hmk implements is made by a program the tests run: a guest program of
tests/guest (built and run here under hm-phone, unless another test already ran it in this
session, in this worker or another: tests/guest_programs.made_anywhere) or a bundled workload
(hmk/workloads/syscalls.json, measured by running them)."""

import json
from pathlib import Path

from guest_programs import GUEST, MADE, build, made_anywhere, run

from hmk.linux.syscalls import IMPLEMENTED
from hmk.report.syscalls import table

WORKLOAD_CALLS = Path(__file__).parents[1] / "hmk" / "workloads" / "syscalls.json"


def test_every_implemented_syscall_is_exercised(tmp_path_factory):
    made = {name for names in json.loads(WORKLOAD_CALLS.read_text()).values() for name in names}
    before = made_anywhere()
    for source in sorted(GUEST.glob("*.c")):
        if source.stem not in before:
            run(build(tmp_path_factory, source.stem))
        made |= before.get(source.stem, set()) | MADE.get(source.stem, set())
    implemented = {row.name for row in table() if row.status == IMPLEMENTED}
    missing = sorted(implemented - made)
    assert not missing, f"implemented but made by no test program: {missing}"

"""RLIMIT_AS limits mmap, mremap and brk (tests/guest/aslimit.c), under three compositions.

qemu-aarch64 accepts setrlimit(RLIMIT_AS) without applying it (it does not limit its own
address space for the guest), so LINUX is written from Linux's semantics (mm/mmap.c
may_expand_vm: a mapping that would take the address space past the limit fails with ENOMEM,
and brk leaves the break where it was, which glibc's sbrk reports as ENOMEM).
"""

import pytest
from guest_programs import build, run

LINUX = b"""setrlimit AS 64 MiB: 0
mmap 100 MiB: failed errno 12
mmap 1 MiB: mapped
mremap to 200 MiB: failed errno 12
sbrk 100 MiB: failed errno 12
break unchanged: 1
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build(tmp_path_factory, "aslimit")


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_address_space_limit_is_enforced(program, system):
    out, result = run(program, system=system)
    assert (out, result.exit_status) == (LINUX, 0)

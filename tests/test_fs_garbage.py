"""The file manager's newer calls on garbage: any argument registers (bad descriptors,
pointers, sizes, flags, offsets near the limits) give a result or an errno, never an exception
in hmk (a guest must not crash the simulator). Seeded, so a failure comes back the same."""

import random

import pytest
from test_fsmgr import BASE, make_fs, path

from hmk.linux.abi import AT_FDCWD, O_CREAT, O_RDWR

CALLS = [
    "statfs",
    "fstatfs",
    "fallocate",
    "fchown",
    "fchownat",
    "fchmodat2",
    "flock",
    "fcntl",
    "mknodat",
    "sendfile",
    "copy_file_range",
    "splice",
    "tee",
    "vmsplice",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "sync_file_range",
    "readahead",
    "close_range",
    "openat2",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
]
EDGES = (0, (1 << 64) - 1, 1 << 63, 1 << 31, 0xFFFFFFFF, 4096, 65536, 65537)


def garbage(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.3:
        return rng.randrange(-5, 40) % (1 << 64)  # descriptors, small flags, -1 .. -5
    if pick < 0.5:
        return BASE + rng.randrange(0, 0x3000)  # somewhere in the caller's memory
    if pick < 0.6:
        return rng.choice(EDGES)
    return rng.randrange(0, 1 << 64)


@pytest.mark.parametrize("seed", range(4))
def test_garbage_arguments_give_errnos(seed):
    rng = random.Random(seed)
    for _ in range(40):
        f, space, m, _ = make_fs()
        for name in (b"/tmp/a", b"/tmp/b"):
            f.sys_openat(m, AT_FDCWD, path(space, name), O_CREAT | O_RDWR, 0o600)
        f.sys_pipe2(m, BASE + 0x3800, 0)
        f.sys_inotify_init1(m, 0)
        for at, text in ((0x100, b"/tmp/a"), (0x200, b"user.x"), (0x300, b"/tmp")):
            path(space, text, BASE + at)
        for _ in range(40):
            call = rng.choice(CALLS)
            args = [garbage(rng) for _ in range(6)]
            result = getattr(f, f"sys_{call}")(m, *args)
            assert isinstance(result, int), (call, args, result)

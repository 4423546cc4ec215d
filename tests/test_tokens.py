"""Address tokens (hmk.kernel.tokens): grant/revoke round trip, field addresses translating to the
field's physical address, rights, TLB maintenance, capabilities-only, errors that change nothing,
no leaks, and random grant/revoke sequences (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw.pagetable import NG, PAGE_SIZE, UXN, PageTables
from hmk.kernel import tokens as T
from hmk.kernel.errors import EEXIST, EINVAL, ENOENT, ENOMEM, EPERM, OK
from hmk.kernel.memory import Frames, OutOfMemory
from hmk.kernel.objects import KERNEL_BASE, KernelMemory, Pool
from hmk.kernel.vspace import VSpaces

RAM = 4 << 20
HEAP = 64 * 1024
OBJ_FIELDS = {"word": (np.uint64, 1), "regs": (np.uint64, 4), "small": (np.uint16, 1)}


class LimitedFrames(Frames):
    """Frames that run out after `limit` more allocations (None: never)."""

    limit: int | None = None

    def alloc(self, zero: bool = True) -> int:
        if self.limit is not None:
            if self.limit <= 0:
                raise OutOfMemory("test limit")
            self.limit -= 1
        return super().alloc(zero)


def make(capacity=4, capabilities_only=False):
    ram = np.zeros(RAM, np.uint8)
    mem = KernelMemory(ram, 0, HEAP)
    frames = LimitedFrames(ram, HEAP)
    vs = VSpaces(mem, ram, frames, 4, pool_depth=8)
    big = mem.register(Pool("obj", 8, 1024, OBJ_FIELDS))  # four to a page
    odd = mem.register(Pool("odd", 100, 96, OBJ_FIELDS))  # some records straddle two pages
    tk = T.Tokens(mem, vs, capacity, capabilities_only)
    for _ in range(8):
        big.alloc()
    for _ in range(90):
        odd.alloc()
    return tk


def straddler(tk) -> int:
    odd = tk.mem.pools["odd"]
    for i in range(90):
        start = odd.base + i * odd.record
        if start // PAGE_SIZE != (start + odd.record - 1) // PAGE_SIZE:
            return i
    raise AssertionError("no straddling record")


def translate(tk, vs, va, access=None):
    root = int(tk.vspaces.vspace["root"][vs])
    return PageTables(tk.vspaces.ram, lambda: -1).translate(root, va, access)


def state(tk):
    tok = tk.token
    arrays = [tok.used, *tok.arrays.values(), tk.vspaces.ram]
    return [a.copy() for a in arrays] + [tok.in_use, tk.vspaces.frames.in_use]


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_grant_revoke_round_trip_and_field_addresses():
    tk = make()
    vs = tk.vspaces.create()
    obj = tk.mem.pools["obj"]
    va = 0x7000_0000
    t = tk.grant("obj", 5, vs, va, writable=True)
    assert t == 0 and tk.token.in_use == 1
    for field, k in (("word", 0), ("regs", 0), ("regs", 3), ("small", 0)):
        sva = tk.service_address(t, field, k)
        assert va <= sva < va + PAGE_SIZE
        assert translate(tk, vs, sva, "read") == obj.addr(5, field, k)
        assert translate(tk, vs, sva, "write") == obj.addr(5, field, k)
        assert translate(tk, vs, sva, "fetch") is None  # never executable
    root = int(tk.vspaces.vspace["root"][vs])
    slot = PageTables(tk.vspaces.ram, lambda: -1)._leaf_slot(root, va, False)
    desc = int(tk.vspaces.words[slot])
    assert desc & NG and desc & UXN  # the service's own mapping, not global
    assert sva < KERNEL_BASE
    code, tlbi = tk.revoke(t)
    assert (code, tlbi) == (OK, [])  # the VSpace has no ASID yet: nothing to invalidate
    assert translate(tk, vs, va) is None and tk.token.in_use == 0
    assert tk.service_address(t, "word") == EINVAL


def test_straddling_record_maps_two_pages():
    tk = make()
    vs = tk.vspaces.create()
    i = straddler(tk)
    odd = tk.mem.pools["odd"]
    t = tk.grant("odd", i, vs, 0x10_0000, False)
    assert t >= 0 and int(tk.token["pages"][t]) == 2
    for field, k in (("word", 0), ("regs", 3), ("small", 0)):
        assert translate(tk, vs, tk.service_address(t, field, k), "read") == odd.addr(i, field, k)
    assert len(tk.pages(t)) == 2
    tk.vspaces.activate(vs)
    asid = int(tk.vspaces.vspace["asid"][vs])
    code, tlbi = tk.revoke(t)
    assert code == OK and tlbi == [(0x10_0000, asid), (0x10_1000, asid)]
    assert translate(tk, vs, 0x10_0000) is None and translate(tk, vs, 0x10_1000) is None


def test_read_only_token_refuses_writes():
    tk = make()
    vs = tk.vspaces.create()
    obj = tk.mem.pools["obj"]
    t = tk.grant("obj", 2, vs, 0x20_0000, writable=False)
    sva = tk.service_address(t, "regs", 1)
    assert translate(tk, vs, sva, "read") == obj.addr(2, "regs", 1)
    assert translate(tk, vs, sva, "write") is None
    assert int(tk.token["rights"][t]) == 1  # READ only


def test_revoke_returns_tlb_maintenance_with_asid():
    tk = make()
    vs = tk.vspaces.create()
    asid, _ = tk.vspaces.activate(vs)
    t = tk.grant("obj", 0, vs, 0x30_0000, True)
    assert translate(tk, vs, 0x30_0000) is not None
    assert tk.revoke(t) == (OK, [(0x30_0000, asid)])
    assert translate(tk, vs, 0x30_0000) is None
    assert tk.revoke(t) == (EINVAL, [])


def test_capabilities_only_refuses():
    tk = make(capabilities_only=True)
    vs = tk.vspaces.create()
    before = state(tk)
    assert tk.grant("obj", 0, vs, 0x30_0000, True) == EPERM
    assert same(before, state(tk))


def test_errors_change_nothing():
    tk = make(capacity=2)
    vs = tk.vspaces.create()
    other = tk.vspaces.create()
    tk.mem.pools["obj"].free(7)
    assert tk.grant("obj", 0, vs, 0x40_0000, True) == 0
    assert tk.vspaces.map(vs, 0x50_0000, 0x30_0000) == (OK, [])
    cases = [
        (("nope", 0, vs, 0x60_0000, True), EINVAL),  # bad pool name
        ((None, 0, vs, 0x60_0000, True), EINVAL),
        (("token", 0, vs, 0x60_0000, True), EPERM),  # the token pool itself
        (("obj", 8, vs, 0x60_0000, True), EINVAL),  # index out of range
        (("obj", -1, vs, 0x60_0000, True), EINVAL),
        (("obj", 7, vs, 0x60_0000, True), ENOENT),  # not allocated
        (("obj", 1, vs, 0x60_0008, True), EINVAL),  # unaligned
        (("obj", 1, vs, KERNEL_BASE, True), EINVAL),  # not a user address
        (("odd", straddler(tk), vs, KERNEL_BASE - PAGE_SIZE, True), EINVAL),  # runs past
        (("obj", 1, 3, 0x60_0000, True), EINVAL),  # no such VSpace
        (("obj", 1, vs, 0x40_0000, True), EEXIST),  # the range holds a token
        (("obj", 1, vs, 0x50_0000, True), EEXIST),  # ... or a data page
        (("odd", straddler(tk), vs, 0x4F_F000, True), EEXIST),  # its second page is taken
    ]
    for args, code in cases:
        before = state(tk)
        assert tk.grant(*args) == code, args
        assert same(before, state(tk)), args
    # out of table frames (a fresh region needs three new tables): nothing allocated
    tk.vspaces.frames.limit = 2
    before = state(tk)
    assert tk.grant("obj", 1, other, 0x8000_0000, True) == ENOMEM
    assert same(before, state(tk))
    tk.vspaces.frames.limit = None
    # pool exhausted
    assert tk.grant("obj", 1, vs, 0x60_0000, True) == 1
    before = state(tk)
    assert tk.grant("obj", 2, vs, 0x70_0000, True) == ENOMEM
    assert same(before, state(tk))
    # bad revokes and field queries
    for bad in (-1, 2, 5, None, "x"):
        before = state(tk)
        assert tk.revoke(bad) == (EINVAL, [])
        assert same(before, state(tk))
    assert tk.service_address(0, "nope") == EINVAL
    assert tk.service_address(0, "regs", 4) == EINVAL
    assert tk.service_address(0, "word", -1) == EINVAL


def test_revoke_leaves_a_replaced_mapping_alone():
    tk = make()
    vs = tk.vspaces.create()
    t = tk.grant("obj", 0, vs, 0x30_0000, True)
    assert tk.vspaces.unmap(vs, 0x30_0000)[0] == OK  # the service unmapped it itself
    assert tk.vspaces.map(vs, 0x30_0000, 0x30_0000) == (OK, [])
    assert tk.revoke(t) == (OK, [])
    assert translate(tk, vs, 0x30_0000) == 0x30_0000


def test_no_leaks_after_revoking_everything():
    tk = make(capacity=8)
    vs = tk.vspaces.create()
    base_frames = tk.vspaces.frames.in_use
    vas = [0x10_0000 * (n + 1) for n in range(6)] + [0x80_0000_0000, 0x8000_0000_0000]
    for n, va in enumerate(vas):
        assert tk.grant("obj", n, vs, va, n % 2 == 0) == n
    grown = tk.vspaces.frames.in_use
    assert grown > base_frames
    for n in range(len(vas)):
        assert tk.revoke(n)[0] == OK
    assert tk.token.in_use == 0 and not tk.token.used.any()
    assert tk.vspaces.frames.in_use == grown  # only intermediate tables remain, as unmap
    for va in vas:
        assert translate(tk, vs, va) is None
    for n, va in enumerate(vas):  # granting again reuses the tables: no new frames
        assert tk.grant("obj", n, vs, va, True) == n
    assert tk.vspaces.frames.in_use == grown
    assert tk.revoke_vspace(vs)[0] == OK and tk.token.in_use == 0
    code, _, leaves = tk.vspaces.destroy(vs)
    assert code == OK and leaves == []
    assert tk.vspaces.frames.in_use == base_frames - 1  # the root went too


def test_grant_and_revoke_are_logged_at_kernel_addresses():
    tk = make()
    vs = tk.vspaces.create()
    tk.mem.take_log()
    t = tk.grant("obj", 3, vs, 0x30_0000, True)
    log = tk.mem.take_log()
    assert len(log) and (log["addr"] >= KERNEL_BASE).all()
    tk.revoke(t)
    log = tk.mem.take_log()
    assert len(log) and (log["addr"] >= KERNEL_BASE).all()


VA_SLOTS = [0x10_0000 * (n + 1) for n in range(6)] + [0x40_0000_0000]

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("grant"),
            st.sampled_from(["obj", "odd"]),
            st.integers(0, 95),
            st.integers(0, len(VA_SLOTS) - 1),
            st.booleans(),
        ),
        st.tuples(st.just("revoke"), st.integers(-1, 6)),
        st.tuples(st.just("activate")),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_random_grant_revoke_sequences(seq):
    tk = make(capacity=5)
    vs = tk.vspaces.create()
    base_frames = tk.vspaces.frames.in_use
    live: dict[int, list] = {}
    revoked: list[list] = []
    for op in seq:
        if op[0] == "grant":
            _, name, i, slot, w = op
            t = tk.grant(name, i, vs, VA_SLOTS[slot], w)
            if t >= 0:
                assert t not in live
                live[t] = tk.pages(t)
            else:
                assert t in (EINVAL, ENOENT, EEXIST, ENOMEM)
        elif op[0] == "revoke":
            t = op[1]
            code, tlbi = tk.revoke(t)
            if t in live:
                pages = live.pop(t)
                assert code == OK
                revoked.append(pages)
                gen = int(tk.vspaces.vspace["generation"][vs])
                if gen:
                    asid = int(tk.vspaces.vspace["asid"][vs])
                    assert tlbi == [(va, asid) for va, _ in pages]
                else:
                    assert tlbi == []
            else:
                assert (code, tlbi) == (EINVAL, [])
        else:
            tk.vspaces.activate(vs)
        assert tk.token.in_use == len(live) == int(tk.token.used.sum())
        covered = set()
        for t, pages in live.items():
            w = int(tk.token["rights"][t]) & 2
            for va, pa in pages:
                covered.add(va)
                assert translate(tk, vs, va, "read") == pa
                assert (translate(tk, vs, va, "write") == pa) == bool(w)
        for pages in revoked:
            for va, _ in pages:
                if va not in covered:
                    assert translate(tk, vs, va) is None
    for t in list(live):
        assert tk.revoke(t)[0] == OK
    assert tk.token.in_use == 0
    tk.vspaces.destroy(vs)
    assert tk.vspaces.frames.in_use == base_frames - 1

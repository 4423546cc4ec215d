"""hmk.cpu.classify and hmk.cpu.decode: AArch64 instruction classes and register use, on
hand-assembled words (checked against capstone's disassembly) and on real blocks compiled by
gcc."""

from __future__ import annotations

import capstone
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.cpu import classify as C
from hmk.cpu.decode import decode

CS = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)


def code(*words: int) -> bytes:
    return b"".join(w.to_bytes(4, "little") for w in words)


# (word, capstone's text, class, sources, destinations) -- words from aarch64-linux-gnu-as
WORDS = [
    (0x8B020020, "add x0, x1, x2", C.INT, {1, 2}, {0}),
    (0xF1000C1F, "cmp x0, #3", C.INT, {0}, {C.NZCV}),
    (0xD503201F, "nop", C.INT, set(), set()),
    (0x9B027C20, "mul x0, x1, x2", C.MUL, {1, 2}, {0}),
    (0x1AC20C20, "sdiv w0, w1, w2", C.DIV, {1, 2}, {0}),
    (0xF9400020, "ldr x0, [x1]", C.LOAD, {1}, {0}),
    (0xF9000020, "str x0, [x1]", C.STORE, {0, 1}, set()),
    (0xA9400C22, "ldp x2, x3, [x1]", C.LOAD_PAIR, {1}, {2, 3}),
    (0xA9BF7BFD, "stp x29, x30, [sp, #-0x10]!", C.STORE_PAIR, {29, 30, C.SP}, set()),
    (0x1E622820, "fadd d0, d1, d2", C.FP, {C.V0 + 1, C.V0 + 2}, {C.V0}),
    (0x1E621820, "fdiv d0, d1, d2", C.FP_DIV, {C.V0 + 1, C.V0 + 2}, {C.V0}),
    (0x54000001, "b.ne #0", C.BRANCH_COND, {C.NZCV}, set()),
    (0xB4000003, "cbz x3, #0", C.BRANCH_COND, {3}, set()),
    (0x14000000, "b #0", C.BRANCH, set(), set()),
    (0x94000000, "bl #0", C.CALL, set(), {30}),
    (0xD61F0080, "br x4", C.BRANCH_INDIRECT, {4}, set()),
    (0xD63F0060, "blr x3", C.CALL_INDIRECT, {3}, {30}),
    (0xD65F03C0, "ret", C.RETURN, {30}, set()),
    (0xD4000001, "svc #0", C.SYSTEM, set(), set()),
    (0xD53BD040, "mrs x0, tpidr_el0", C.SYSTEM, set(), {0}),
    (0xD5033BBF, "dmb ish", C.SYSTEM, set(), set()),
    (0xF8220023, "ldadd x2, x3, [x1]", C.LOAD, {1, 2}, {3}),
]


@pytest.mark.parametrize("word, text, cls, src, dst", WORDS, ids=[w[1] for w in WORDS])
def test_hand_assembled_words(word, text, cls, src, dst):
    insn = next(CS.disasm(code(word), 0))  # the encoding is what we think it is
    assert f"{insn.mnemonic} {insn.op_str}".strip() == text
    got = decode(word)
    assert C.CLASSES[got.cls] == C.CLASSES[cls]
    assert set(got.src) - {C.NOREG} == src
    assert set(got.dst) == dst


def test_memory_events_and_kinds():
    """How many events unicorn records per access (measured with unicorn 2.1: one per scalar or
    64-bit register, two per Q register, one per element for LD4)."""
    cases = [
        (0xF9400020, C.READS, 1),  # ldr x0, [x1]
        (0xA9400C22, C.READS, 2),  # ldp x2, x3, [x1]
        (0xAD400420, C.READS, 4),  # ldp q0, q1, [x1]
        (0x3D800020, C.WRITES, 2),  # str q0, [x1]
        (0x4C400820, C.READS, 16),  # ld4 {v0.4s-v3.4s}, [x1]
        (0xF8220023, C.READS | C.WRITES, 2),  # ldadd x2, x3, [x1]
        (0xD50B7421, C.WRITES, C.ALL_EVENTS),  # dc zva, x1 (64 byte writes)
        (0x8B020020, 0, 0),  # add
    ]
    for word, flags, nev in cases:
        got = decode(word)
        assert (got.flags & (C.READS | C.WRITES), got.nev) == (flags, nev), hex(word)


def test_writeback_and_serializing():
    assert decode(0xF8404C25).wb == 1  # ldr x5, [x1, #4]!
    post = decode(0xF8408441)  # ldr x1, [x2], #8
    assert (post.wb, post.dst, post.src) == (2, (1,), (2,))
    assert decode(0xA9BF7BFD).wb == C.SP
    assert decode(0xF9400020).wb == C.NOREG
    for word in (0xD4000001, 0xD5033FDF):  # svc, isb
        assert decode(word).flags & C.SERIAL
    assert not decode(0xD5033BBF).flags & C.SERIAL  # dmb orders memory, does not drain


@pytest.mark.parametrize(
    ("word", "flags"),
    [
        (0xD5033BBF, C.DRAIN),  # dmb ish
        (0xD5033FBF, C.DRAIN),  # dmb sy
        (0xD5033ABF, C.DRAIN),  # dmb ishst: orders stores
        (0xD50339BF, 0),  # dmb ishld: loads before it only
        (0xD5033DBF, 0),  # dmb ld
        (0xD50337BF, 0),  # dmb nsh: this core alone
        (0xD5033B9F, C.DRAIN),  # dsb ish
        (0xD503399F, 0),  # dsb ishld
        (0xC89FFCA3, C.DRAIN),  # stlr x3, [x5]
        (0x089FFCA3, C.DRAIN),  # stlrb w3, [x5]
        (0xF90000A3, 0),  # str x3, [x5]
        (0xC8077CA3, C.UNIQUE),  # stxr w7, x3, [x5]
        (0xC807FCA3, C.DRAIN | C.UNIQUE),  # stlxr w7, x3, [x5]
        (0xC85FFCA3, 0),  # ldaxr x3, [x5]: acquire orders what follows, not earlier stores
        (0xF82300BF, C.UNIQUE),  # stadd x3, [x5]
        (0xF86300BF, C.DRAIN | C.UNIQUE),  # staddl x3, [x5]
        (0xF82300A4, 0),  # ldadd x3, x4, [x5]: a load, it waits for its line as loads do
        (0xF8A300A4, 0),  # ldadda x3, x4, [x5]
        (0xF8E300A4, C.DRAIN),  # ldaddal x3, x4, [x5]
        (0xC8E3FCA4, C.DRAIN),  # casal x3, x4, [x5]
        (0xC8E37CA4, 0),  # casa x3, x4, [x5]
        (0xF86380A4, C.DRAIN),  # swpl x3, x4, [x5]
    ],
)
def test_what_waits_for_stores_to_be_seen(word, flags):
    """docs/timing-model.md, "Store visibility": DRAIN waits for this core's earlier stores to
    reach the other cores (DDI 0596's DMB/DSB access types and domain; release semantics),
    UNIQUE needs its own line unique before it completes."""
    assert decode(word).flags & (C.DRAIN | C.UNIQUE) == flags, hex(word)


@pytest.mark.parametrize("word", [0x00000000, 0xFFFFFFFF, 0x07000000])
def test_undecodable_words_are_unknown(word):
    assert decode(word).cls == C.UNKNOWN


def test_a_block_summary():
    # ldr x0, [x1]; add x2, x0, #1; str x0, [x1]; subs x3, x3, #1; b.ne
    info = C.classify_block(code(0xF9400020, 0x91000402, 0xF9000020, 0xF1000463, 0x54000001))
    assert info.ninsn == 5 and info.term == "cond"
    assert info.counts == {"int": 2, "load": 1, "store": 1, "branch_cond": 1}
    assert info.load_use == 1 and info.insns["flags"][0] & C.LOAD_USE
    assert info.last_mem == 2


def test_load_use_needs_the_next_instruction_to_read_the_result():
    info = C.classify_block(code(0xF9400020, 0x91000462))  # ldr x0, [x1]; add x2, x3, #1
    assert info.load_use == 0


def test_partial_word_and_garbage_are_unknown_not_errors():
    info = C.classify_block(code(0x8B020020) + b"\x01\x02")
    assert [C.CLASSES[c] for c in info.insns["cls"]] == ["int", "unknown"]
    assert info.term == "none"
    assert C.classify_block(b"").ninsn == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=64))
def test_any_bytes_classify(data):
    info = C.classify_block(data, 0x400000)
    assert info.ninsn == (len(data) + 3) // 4
    recs = info.insns
    assert np.all(recs["cls"] < C.NCLASSES)
    assert np.all(recs["nsrc"] <= C.MAX_SRC) and np.all(recs["ndst"] <= C.MAX_DST)
    for r in recs:
        regs = list(r["src"][: r["nsrc"]]) + list(r["dst"][: r["ndst"]])
        assert all(x < C.NREGS for x in regs)


# Real blocks: the loops of these C functions as aarch64-linux-gnu-gcc 12.2 -O2 compiles them.
#   long chase(struct node *p) { long s = 0; while (p) { s += p->v; p = p->next; } return s; }
CHASE_LOOP = code(0xA9400821, 0x8B020000, 0xB5FFFFC1)  # ldp x1, x2, [x1]; add; cbnz x1
#   h = h * 33 + s[i] over a byte string
HASH_LOOP = code(0x38401441, 0x8B001400, 0x8B000020, 0xEB03005F, 0x54FFFF81)


def test_real_block_pointer_chase():
    info = C.classify_block(CHASE_LOOP, 0x10)
    assert info.counts == {"load_pair": 1, "int": 1, "branch_cond": 1}
    ldp = info.insns[0]
    assert list(ldp["src"][: ldp["nsrc"]]) == [1]  # the address comes from the last load
    assert sorted(ldp["dst"][: ldp["ndst"]]) == [1, 2]
    assert ldp["nev"] == 2 and info.load_use == 1 and info.term == "cond"


def test_real_block_hash():
    info = C.classify_block(HASH_LOOP, 0x30)
    assert info.counts == {"load": 1, "int": 3, "branch_cond": 1}
    ldrb = info.insns[0]
    assert ldrb["wb"] == 2 and ldrb["nev"] == 1  # ldrb w1, [x2], #1
    assert info.load_use == 0  # the loaded byte is read two instructions later
    assert info.insns[3]["dst"][0] == C.NZCV and C.NZCV in info.insns[4]["src"]


def test_table_caches_by_address_and_bytes():
    t = C.BlockTable()
    a = t.add(0x1000, CHASE_LOOP)
    assert t.add(0x1000, CHASE_LOOP) == a
    b = t.add(0x2000, CHASE_LOOP)  # same bytes elsewhere: another block
    c = t.add(0x1000, HASH_LOOP)  # other bytes at the same address (new code)
    assert len({a, b, c}) == 3 and len(t) == 3
    assert t.rows["ninsn"].tolist() == [3, 3, 5]
    assert t.rows["insn_start"].tolist() == [0, 3, 6]
    assert len(t.insns) == 11 and t.info(c).term == "cond"


def test_table_grows():
    t = C.BlockTable()
    for i in range(600):
        t.add(0x1000 + 64 * i, code(*[0x8B020020] * 15, 0x14000000))
    assert len(t) == 600 and len(t.insns) == 9600
    assert t.info(599).term == "uncond" and t.rows["insn_start"][599] == 599 * 16


def test_ids_read_each_distinct_block_once():
    from hmk.cpu.timing import BLOCK_DTYPE

    memory = {0x1000: CHASE_LOOP, 0x2000: HASH_LOOP}
    reads = []

    def read(addr, size):
        reads.append((addr, size))
        return memory.get(addr)

    blocks = np.zeros(5, BLOCK_DTYPE)
    blocks["addr"] = [0x1000, 0x2000, 0x1000, 0x3000, 0x1000]
    blocks["size"] = [12, 20, 12, 8, 12]
    t = C.BlockTable()
    ids = t.ids(blocks, read)
    assert sorted(reads) == [(0x1000, 12), (0x2000, 20), (0x3000, 8)]
    assert ids[0] == ids[2] == ids[4] != ids[1]
    assert t.info(int(ids[3])).counts == {"unknown": 2}  # unreadable: unknown instructions


def test_ids_trust_what_they_read_until_forget():
    from hmk.cpu.timing import BLOCK_DTYPE

    memory = {0x1000: CHASE_LOOP, 0x5000: HASH_LOOP}
    reads = []

    def read(addr, size):
        reads.append(addr)
        return memory[addr][:size]

    blocks = np.zeros(2, BLOCK_DTYPE)
    blocks["addr"], blocks["size"] = [0x1000, 0x5000], [12, 12]
    t = C.BlockTable()
    first = t.ids(blocks, read)
    assert t.ids(blocks, read).tolist() == first.tolist() and reads == [0x1000, 0x5000]
    memory[0x1000] = HASH_LOOP  # new code at 0x1000 (say, after munmap and mmap)
    t.forget([0x1FFF])  # any address in the page
    again = t.ids(blocks, read)
    assert reads == [0x1000, 0x5000, 0x1000]
    assert again[1] == first[1] and again[0] != first[0]
    assert t.info(int(again[0])).counts == {"load": 1, "int": 2}
    t.forget()
    t.ids(blocks, read)
    assert reads[3:] == [0x1000, 0x5000]

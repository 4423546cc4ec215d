"""Instruction classes of executed AArch64 blocks, for the timing model (docs/timing-model.md).

A block's bytes are decoded once (capstone, hmk.cpu.decode) into one 16-byte record per
instruction (`INSN_DTYPE`): its class, which registers it reads and writes, how many memory
events of which kind it makes, and flags. The records depend on the block's bytes alone, not
on its address, so they can be kept across runs (hmk.cpu.blockcache). `BlockTable` keeps the
records of every block seen, keyed by address and bytes, in numpy arrays that both
timing-model implementations read. The classes, flags, register numbers and record layouts
are hmk.cpu.records' (every name of it is reachable here too).

Bytes capstone cannot decode are one "unknown" instruction per word, timed like an integer
operation; classification never raises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmk.cpu.records import *  # noqa: F403  (the records' names, known here too)
from hmk.cpu.records import (
    BLOCKINFO_DTYPE,
    CLASSES,
    INSN_DTYPE,
    LOAD,
    LOAD_PAIR,
    LOAD_USE,
    MAX_DST,
    MAX_SRC,
    NCLASSES,
    NOREG,
    READS,
    T_NONE,
    TERM_OF_CLASS,
    TERMS,
    UNKNOWN,
    WRITES,
)


def _clean(regs) -> tuple[int, ...]:
    out = []
    for r in regs:
        if r != NOREG and r not in out:
            out.append(r)
    return tuple(out)


@dataclass(frozen=True)
class BlockInfo:
    """The summary of one block: per-class counts, the terminating branch, and the records."""

    addr: int
    size: int
    insns: np.ndarray  # INSN_DTYPE, one per instruction
    term: str  # one of TERMS

    @property
    def ninsn(self) -> int:
        return len(self.insns)

    @property
    def counts(self) -> dict[str, int]:
        n = np.bincount(self.insns["cls"], minlength=NCLASSES)
        return {name: int(n[i]) for i, name in enumerate(CLASSES) if n[i]}

    @property
    def load_use(self) -> int:
        """Loads whose result the very next instruction reads."""
        return int(np.count_nonzero(self.insns["flags"] & LOAD_USE))

    @property
    def last_mem(self) -> int:
        flags = self.insns["flags"].tobytes()  # a short block: faster than numpy's search
        return next((i for i in range(len(flags) - 1, -1, -1) if flags[i] & (READS | WRITES)), -1)


def classify_block(code: bytes, addr: int = 0) -> BlockInfo:
    """Decode a block's bytes into INSN_DTYPE records (one per 4 bytes; a trailing partial word is
    one unknown instruction) and its summary. Never raises on bad bytes."""
    from hmk.cpu.decode import decode  # noqa: PLC0415  (capstone loads when a block needs it)

    code = bytes(code)
    decoded = [decode(code[i : i + 4], addr + i) for i in range(0, len(code), 4)]
    recs = np.zeros(len(decoded), INSN_DTYPE)
    for j, ins in enumerate(decoded):
        src, dst = _clean(ins.src)[:MAX_SRC], _clean(ins.dst)[:MAX_DST]
        flags = ins.flags
        is_load = ins.cls in (LOAD, LOAD_PAIR)
        if is_load and j + 1 < len(decoded) and set(dst) & set(decoded[j + 1].src):
            flags |= LOAD_USE
        recs[j] = (
            ins.cls,
            flags,
            ins.nev,
            len(src),
            len(dst),
            ins.wb,
            src + (0,) * (MAX_SRC - len(src)),
            dst + (0,) * (MAX_DST - len(dst)),
        )
    return BlockInfo(addr, len(code), recs, term_of(recs))


def term_of(recs: np.ndarray) -> str:
    """The kind of the branch that ends a block of these records (one of TERMS)."""
    return TERMS[TERM_OF_CLASS.get(int(recs["cls"][-1]), T_NONE) if len(recs) else T_NONE]


class BlockTable:
    """Every block classified so far, keyed by (address, bytes), in arrays the timing models
    read: `rows` (BLOCKINFO_DTYPE, one per block id) and `insns` (INSN_DTYPE, all records).
    `cache` (an hmk.cpu.blockcache.BlockCache, or None) holds records made before, by bytes."""

    def __init__(self, cache=None):
        self.cache = cache
        self._rows = np.zeros(256, BLOCKINFO_DTYPE)
        self._insns = np.zeros(4096, INSN_DTYPE)
        self._n = self._ni = 0
        self._ids: dict[tuple[int, bytes], int] = {}
        self._last: dict[tuple[int, int], int] = {}  # (addr, size) -> the id seen last
        self._known: dict[tuple[int, int], int] = {}  # (addr, size) -> id, read since `forget`
        self._known_by: dict[object, dict] = {None: self._known}  # one per program image
        self._info: list[BlockInfo] = []

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def insns(self) -> np.ndarray:
        return self._insns[: self._ni]

    def info(self, block_id: int) -> BlockInfo:
        return self._info[block_id]

    def add(self, addr: int, code: bytes | None, size: int | None = None) -> int:
        """The id of the block at `addr` with these bytes; classified the first time. `code`
        None stands for `size` bytes that could not be read: unknown instructions."""
        size = len(code) if code is not None else int(size)
        key = (int(addr), bytes(code) if code is not None else size)
        block_id = self._ids.get(key)
        if block_id is None:
            if code is None:
                recs = np.zeros((size + 3) // 4, INSN_DTYPE)
                recs["cls"], recs["wb"] = UNKNOWN, NOREG
                info = BlockInfo(key[0], size, recs, "none")
            else:
                info = self._classified(key[0], key[1])
            block_id = self._ids[key] = self._append(info)
        self._last[(key[0], size)] = block_id
        return block_id

    def _classified(self, addr: int, code: bytes) -> BlockInfo:
        if self.cache is None:
            return classify_block(code, addr)
        recs = self.cache.get(code)
        if recs is None:
            info = classify_block(code, addr)
            self.cache.put(code, info.insns)
            return info
        return BlockInfo(addr, len(code), recs, term_of(recs))

    def _append(self, info: BlockInfo) -> int:
        n = info.ninsn
        while self._ni + n > len(self._insns):
            self._insns = np.concatenate([self._insns, np.zeros_like(self._insns)])
        if self._n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.zeros_like(self._rows)])
        start, end = INSN_DTYPE.itemsize * self._ni, INSN_DTYPE.itemsize * (self._ni + n)
        self._insns.view(np.uint8)[start:end] = info.insns.view(np.uint8)  # faster than by record
        self._rows[self._n] = (self._ni, n, info.last_mem, TERMS.index(info.term), 0)
        self._ni += n
        self._info.append(info)
        self._n += 1
        return self._n - 1

    def ids(self, blocks: np.ndarray, read_code) -> np.ndarray:
        """Block ids (uint32) for a BLOCK_DTYPE array. An (address, size) not read since the
        last `forget` is read with `read_code(addr, size) -> bytes | None` (once per call) and
        classified by its bytes; unreadable code takes the id last seen at that address and
        size, or is classified as unknown instructions (and is read again next time)."""
        first, where = _distinct(blocks)
        found = np.empty(len(first), np.uint32)
        addrs, sizes = blocks["addr"][first].tolist(), blocks["size"][first].tolist()
        for i, key in enumerate(zip(addrs, sizes, strict=True)):
            block_id = self._known.get(key)
            if block_id is None:
                code = read_code(*key)
                if code is None or len(code) != key[1]:
                    block_id = self._last.get(key)
                    if block_id is None:
                        block_id = self.add(key[0], None, key[1])
                else:
                    block_id = self._known[key] = self.add(key[0], code)
            found[i] = block_id
        return found[where]

    def use(self, image) -> None:
        """The blocks that follow are program image `image`'s (any hashable key): what was
        read at an address in one program says nothing of another's code there."""
        self._known = self._known_by.setdefault(image, {})
        if self.cache is not None:
            self.cache.use(image)

    def forget(self, pages=None) -> None:
        """Code may have changed (pages unmapped, remapped or written; a new program): read
        the blocks that touch these pages (page addresses; None: all) again before trusting
        their classification (in every program image: a conservative choice)."""
        for known in self._known_by.values():
            if pages is None:
                known.clear()
                continue
            numbers = {int(p) >> 12 for p in pages}
            for addr, size in list(known):
                if addr >> 12 in numbers or (addr + max(size, 1) - 1) >> 12 in numbers:
                    del known[(addr, size)]


def _distinct_numpy(blocks) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse): the index of the first block with each distinct (addr, size), in order
    of first appearance, and for each block the position of its pair in `first`."""
    keys = np.stack([blocks["addr"], blocks["size"].astype(np.uint64)], axis=1)
    _, index, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(index, kind="stable")  # sorted keys -> order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return index[order], rank[inverse.reshape(-1)].astype(np.uint32)


def _distinct(blocks) -> tuple[np.ndarray, np.ndarray]:
    global _distinct_fast
    if _distinct_fast is None:
        try:  # the compiled helper is O(n); the numpy one sorts
            from hmk._fast.timing import distinct_blocks as _distinct_fast  # noqa: PLC0415
        except ImportError:
            _distinct_fast = _distinct_numpy
    return _distinct_fast(blocks)


_distinct_fast = None

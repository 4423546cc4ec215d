"""Block classifications kept across runs: a file per program image, in the user's cache.

Classifying a block (hmk.cpu.classify) decodes each of its instructions with capstone, about
22 us an instruction from Python: glibc's start-up alone is a few thousand instructions, a
third of a short run's host time. A block's records depend on its bytes alone, so
`BlockCache` keeps them between runs, in ``blocks/`` under the cache directory:
``$HMK_CACHE_DIR``, else ``$XDG_CACHE_HOME/hmk``, else ``~/.cache/hmk``.

Why a cached record can be trusted:

* A file's name is a hash (BLAKE2b) of everything its records depend on: the program image's
  loaded bytes and where they go (its segments, entry and bias), hmk's classifier (the source
  of hmk/cpu/records.py, classify.py and decode.py) and capstone as installed (its files' sizes
  and modification times: an upgrade or a reinstall changes them). A change to any of them
  names another file.
* Within a file, a block is found by its bytes: a record is used only for exactly the bytes it
  was made from, whichever image they came from.
* A file holds its own name's hash and a hash of its contents; one that is cut short, corrupt,
  of another format or name, or whose records are out of range is ignored, as if missing, and
  replaced at the end of the run.
* Files are written whole: to a temporary file beside them, renamed over the old one, so a
  reader sees the old file or the new one. Runs that write the same file at once each write a
  complete one (the last rename wins; the other's additions are classified again next time).
* A directory that cannot be made, read or written costs only speed: the run goes on.

The cache changes no result: a record read back is the record classify_block makes from those
bytes (tests/test_blockcache.py runs programs with and without it and compares every
statistic).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import struct
from pathlib import Path

import numpy as np

from hmk.cpu import records as R

FORMAT = b"hmk-blocks\x001\n"  # the first bytes of every file; a new layout, a new FORMAT
_HEADER = struct.Struct(f"<{len(FORMAT)}s32s32sQQQ")  # format, key, payload hash, 3 counts
MAX_RECORDS = 1 << 22  # per file (64 MiB of records): past it, a file keeps the last run's
_CLASSIFIER = ("records.py", "classify.py", "decode.py")  # the sources the records come from
_CAPSTONE = ("__init__.py", "arm64.py", "arm64_const.py")  # and lib/*: what decodes AArch64


def cache_dir() -> Path:
    """Where hmk keeps what it can make again: $HMK_CACHE_DIR, else $XDG_CACHE_HOME/hmk, else
    ~/.cache/hmk."""
    if os.environ.get("HMK_CACHE_DIR"):
        return Path(os.environ["HMK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hmk"


@functools.cache
def classifier_digest() -> bytes:
    """A hash of what a block's records depend on besides its bytes: hmk's classifier and
    capstone as installed (found, not imported: a run whose blocks are all cached never loads
    capstone)."""
    h = hashlib.blake2b(FORMAT, digest_size=32)
    here = Path(R.__file__).parent
    for name in _CLASSIFIER:
        h.update((here / name).read_bytes())
    spec = importlib.util.find_spec("capstone")
    if spec is not None and spec.origin is not None:
        package = Path(spec.origin).parent
        files = [package / name for name in _CAPSTONE] + sorted((package / "lib").glob("*"))
        for path in files:
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.digest()


def image_key(image) -> bytes:
    """The hash naming `image`'s file (an hmk.cpu.elf.ElfImage): its loaded bytes and their
    places, with the classifier's digest."""
    h = hashlib.blake2b(classifier_digest(), digest_size=32)
    h.update(f"{image.elf_type}:{image.bias}:{image.entry};".encode())
    for s in image.segments:
        h.update(f"{s.vaddr}:{s.memsz}:{s.filesz}:{s.flags};".encode())
        h.update(s.data)
    return h.digest()


class BlockCache:
    """The block records one run reads and adds (`get`, `put`), from and to the file of the
    program image running (`use`), written back by `save`. Blocks seen under no program image
    (None) are kept for the run only."""

    def __init__(self, directory: str | os.PathLike[str] | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir() / "blocks"
        self._records: dict[bytes, np.ndarray] = {}  # block bytes -> records, every file read
        self._image = None  # the program image running
        self._keys: dict[object, bytes] = {}  # image -> the hash naming its file
        self._read: dict[bytes, dict[bytes, np.ndarray]] = {}  # hash -> what its file held
        self._added: dict[bytes, dict[bytes, np.ndarray]] = {}  # hash -> records made here

    def use(self, image) -> None:
        """The blocks that follow run in program image `image` (None: none)."""
        self._image = image

    def get(self, code: bytes) -> np.ndarray | None:
        """The records of the block `code` (read-only), or None if it is not known. The
        running image's file is read on its first miss (an image whose blocks are all known
        is never hashed)."""
        found = self._records.get(code)
        if found is None and self._image is not None:
            key = self.key(self._image)
            if key not in self._read:
                self._read[key] = self._load(key)
                found = self._records.get(code)
        return found

    def put(self, code: bytes, records: np.ndarray) -> None:
        """Keep the records just made for the block `code` (in the running image's file)."""
        records = records.copy()
        records.flags.writeable = False
        self._records[code] = records
        if self._image is not None:
            self._added.setdefault(self.key(self._image), {})[code] = records

    def save(self) -> None:
        """Write the files that gained blocks: what they held and the blocks added (only the
        added past MAX_RECORDS)."""
        for key, added in self._added.items():
            if key not in self._read:
                self._read[key] = self._load(key)
            blocks = {**self._read[key], **added}
            if sum(len(r) for r in blocks.values()) > MAX_RECORDS:
                blocks = added
            self._write(key, blocks)
            self._read[key] = blocks
        self._added.clear()

    def key(self, image) -> bytes:
        """The hash naming program image `image`'s file (image_key, once per image)."""
        key = self._keys.get(image)
        if key is None:
            key = self._keys[image] = image_key(image)
        return key

    def path(self, key: bytes) -> Path:
        """The file named by `key`."""
        return self.directory / f"{key.hex()}.blocks"

    def _load(self, key: bytes) -> dict[bytes, np.ndarray]:
        """The records in the file named by `key`, added to those known; none if the file is
        missing, unreadable or not one to trust."""
        try:
            data = self.path(key).read_bytes()
        except OSError:
            return {}
        blocks = decode(data, key)
        self._records.update(blocks)
        return blocks

    def _write(self, key: bytes, blocks: dict[bytes, np.ndarray]) -> None:
        import tempfile  # noqa: PLC0415  (only when there is something to write)

        data = encode(key, blocks)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        except OSError:
            return  # a cache that cannot be written costs only speed
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temporary, self.path(key))
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def encode(key: bytes, blocks: dict[bytes, np.ndarray]) -> bytes:
    """A file's bytes: the header (FORMAT, `key`, the payload's hash, the numbers of blocks,
    code bytes and records), then the payload: every block's size (u32), their bytes, their
    records (INSN_DTYPE), in one order."""
    codes = list(blocks)
    sizes = np.array([len(c) for c in codes], "<u4")
    records = np.concatenate([blocks[c] for c in codes]) if codes else np.zeros(0, R.INSN_DTYPE)
    payload = sizes.tobytes() + b"".join(codes) + records.tobytes()
    digest = hashlib.blake2b(payload, digest_size=32).digest()
    header = _HEADER.pack(FORMAT, key, digest, len(codes), int(sizes.sum()), len(records))
    return header + payload


def decode(data: bytes, key: bytes) -> dict[bytes, np.ndarray]:
    """The blocks of a file's bytes if they are a whole, uncorrupted file of this FORMAT and
    `key` whose records are in range; else none."""
    if len(data) < _HEADER.size:
        return {}
    form, found_key, digest, nblocks, ncode, nrecords = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if form != FORMAT or found_key != key:
        return {}
    if len(payload) != 4 * nblocks + ncode + R.INSN_DTYPE.itemsize * nrecords:
        return {}
    if hashlib.blake2b(payload, digest_size=32).digest() != digest:
        return {}
    sizes = np.frombuffer(payload, "<u4", nblocks).astype(np.int64)
    code = bytes(payload[4 * nblocks : 4 * nblocks + ncode])
    records = np.frombuffer(payload, R.INSN_DTYPE, nrecords, 4 * nblocks + ncode)
    counts = (sizes + 3) // 4
    if sizes.sum() != ncode or counts.sum() != nrecords or not in_range(records):
        return {}
    code_ends, record_ends = np.cumsum(sizes).tolist(), np.cumsum(counts).tolist()
    blocks, at, first = {}, 0, 0
    for end, last in zip(code_ends, record_ends, strict=True):
        blocks[code[at:end]] = records[first:last]
        at, first = end, last
    return blocks


def in_range(records: np.ndarray) -> bool:
    """Whether every field of `records` holds a value classify_block can make (the compiled
    timing model indexes its tables with them)."""
    regs = np.concatenate([records["src"].ravel(), records["dst"].ravel()])
    return bool(
        (records["cls"] < R.NCLASSES).all()
        and (records["flags"] < 2 * max(R.SERIAL, R.DRAIN, R.UNIQUE)).all()
        and (records["nsrc"] <= R.MAX_SRC).all()
        and (records["ndst"] <= R.MAX_DST).all()
        and ((records["wb"] < R.NREGS) | (records["wb"] == R.NOREG)).all()
        and (regs < R.NREGS).all()
    )

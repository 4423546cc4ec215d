"""hmk.cpu.blockcache: block classifications kept across runs change no result; a cache file
that is cut short, corrupt, forged or another image's is ignored and rebuilt, never trusted;
a cache that cannot be written costs only speed."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.cpu import blockcache as B
from hmk.cpu import classify as C
from hmk.cpu.elf import load_elf
from hmk.system.simulation import run_program
from hmk.workloads import path


def run(name: str, system: str = "hm-phone", **options):
    """(stdout, exit status, every statistic) of a bundled program's run."""
    out = io.BytesIO()
    r = run_program(
        str(path(name)), [], system=system, out=out, err=io.BytesIO(), warnings=None, **options
    )
    return out.getvalue(), r.exit_status, r.stats


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory of the test's own; its blocks/ directory."""
    monkeypatch.setenv("HMK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "blocks"


@pytest.fixture
def decoded(monkeypatch) -> list[int]:
    """The address of every block decoded with capstone (the cache's misses), in order."""
    calls = []
    classify = C.classify_block

    def counted(code, addr=0):
        calls.append(addr)
        return classify(code, addr)

    monkeypatch.setattr(C, "classify_block", counted)
    return calls


@pytest.mark.parametrize("system", ["hm-phone", "linux", "sel4", "hybrid"])
def test_a_run_is_the_same_with_and_without_the_cache(cache, decoded, system):
    """minish forks and executes /bin/hello: two program images, a file each. Without the
    cache, with it empty (filled by the run) and with it full (nothing decoded): the same
    output, exit status and statistics, every one of them."""
    plain = run("minish", system, block_cache=False)
    assert decoded and not cache.exists()
    without = len(decoded)
    cold = run("minish", system)
    assert 0 < len(decoded) - without <= without
    assert len(list(cache.glob("*.blocks"))) == 2
    filled = len(decoded)
    warm = run("minish", system)
    assert len(decoded) == filled  # every block's records came from the cache
    assert plain[1] == 0 and b"hello" in plain[0]
    assert cold == plain and warm == plain


def key_of(data: bytes) -> bytes:
    return data[len(B.FORMAT) : len(B.FORMAT) + 32]


def forged(data: bytes) -> bytes:
    """The file with a record out of range, its hash made right: only the range check is left
    to refuse it."""
    key = key_of(data)
    blocks = {code: recs.copy() for code, recs in B.decode(data, key).items()}
    first = next(iter(blocks))
    blocks[first]["src"][0, 0] = C.NREGS  # a register the timing model has no slot for
    return B.encode(key, blocks)


CORRUPTIONS = {
    "empty": lambda data: b"",
    "cut short": lambda data: data[:-1],
    "one byte longer": lambda data: data + b"\0",
    "a byte flipped": lambda data: data[:200] + bytes([data[200] ^ 1]) + data[201:],
    "another format": lambda data: b"hmk-blocks\x002\n" + data[len(B.FORMAT) :],
    "another image's": lambda data: B.encode(bytes(32), B.decode(data, key_of(data))),
    "garbage": lambda data: bytes(range(256)) * (len(data) // 256),
    "forged records": forged,
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_a_bad_cache_file_is_ignored_and_rebuilt(cache, decoded, how):
    first = run("hello")
    (file,) = cache.glob("*.blocks")
    good = file.read_bytes()
    assert len(B.decode(good, bytes.fromhex(file.stem))) == len(set(decoded)) > 100
    misses = len(decoded)
    file.write_bytes(CORRUPTIONS[how](good))
    assert run("hello") == first
    assert len(decoded) == 2 * misses  # nothing of the bad file was used
    assert file.read_bytes() == good  # and it was written again, whole


def test_a_cache_that_cannot_be_written_costs_only_speed(tmp_path, monkeypatch, decoded):
    """HMK_CACHE_DIR under a regular file (no directory can be made there), and a cache file's
    name taken by a directory: the runs go on, with the same results."""
    first = run("hello", block_cache=False)
    (tmp_path / "file").write_bytes(b"")
    monkeypatch.setenv("HMK_CACHE_DIR", str(tmp_path / "file" / "cache"))
    assert run("hello") == first
    monkeypatch.setenv("HMK_CACHE_DIR", str(tmp_path / "cache"))
    assert run("hello") == first
    (file,) = (tmp_path / "cache" / "blocks").glob("*.blocks")
    file.unlink()
    file.mkdir()
    misses = len(decoded)
    assert run("hello") == first
    assert len(decoded) > misses and file.is_dir()
    assert [p.name for p in file.parent.iterdir()] == [file.name]  # no temporary file left


def test_files_are_named_by_content(tmp_path):
    """The same program at another path is the same image; another program is not."""
    hello = tmp_path / "hello"
    shutil.copyfile(path("hello"), hello)
    key = B.image_key(load_elf(path("hello")))
    assert B.image_key(load_elf(hello)) == key
    assert B.image_key(load_elf(path("exitcode"))) != key
    cache = B.BlockCache(tmp_path)
    assert cache.path(key) == tmp_path / f"{key.hex()}.blocks"


def test_the_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HMK_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    monkeypatch.setenv("HOME", str(tmp_path / "c"))
    assert B.cache_dir() == tmp_path / "a"
    monkeypatch.setenv("HMK_CACHE_DIR", "")
    assert B.cache_dir() == tmp_path / "b" / "hmk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert B.cache_dir() == tmp_path / "c" / ".cache" / "hmk"


def test_records_round_trip_read_only():
    # ldr; add / a partial word / dmb ish; stlr; stxr; staddl; dsb ish (every flag)
    words = (0xD5033BBF, 0xC89FFCA3, 0xC8077CA3, 0xF86300BF, 0xD5033B9F)
    barriers = b"".join(w.to_bytes(4, "little") for w in words)
    codes = (b"\x20\x00\x40\xf9\x00\x04\x00\x91", b"\x01\x02", barriers)
    blocks = {code: C.classify_block(code).insns for code in codes}
    data = B.encode(b"k" * 32, blocks)
    back = B.decode(data, b"k" * 32)
    assert list(back) == list(blocks)
    for code, recs in back.items():
        assert recs.tobytes() == blocks[code].tobytes() and not recs.flags.writeable
    assert B.decode(data, b"j" * 32) == {}


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=12),
    tail=st.binary(max_size=3),
    addresses=st.tuples(st.integers(0, 1 << 47), st.integers(0, 1 << 47)),
)
def test_records_depend_on_the_bytes_alone(words, tail, addresses):
    """What makes a cache keyed by bytes right: the same bytes anywhere, the same records."""
    code = np.array(words, "<u4").tobytes() + tail
    a, b = (C.classify_block(code, addr & ~3) for addr in addresses)
    assert a.insns.tobytes() == b.insns.tobytes() and a.term == b.term

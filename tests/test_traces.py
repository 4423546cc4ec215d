"""Lackey and cachegrind file readers: the Python and Cython lackey parsers agree with each other
and with the events a trace was generated from, on well-formed and malformed input alike."""

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.hw import traces
from hmk.hw.events import EVENT_DTYPE, FETCH, READ, WRITE

IMPLS = ["python", "cython"] if traces._fast_lackey is not None else ["python"]
needs_cython = pytest.mark.skipif(
    traces._fast_lackey is None, reason="hmk._fast.lackey is not built"
)
VALGRIND = shutil.which("valgrind")
needs_valgrind = pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed")

BLANKS = st.text(" \t\r", max_size=3)
MESSAGES = [b"==123== Lackey, an example Valgrind tool", b"--77-- warning: x", b"**9** oops", b""]


@st.composite
def trace_lines(draw):
    """One well-formed access line as bytes, and what it says: (kind letter, addr, size)."""
    kind = draw(st.sampled_from("ILSM"))
    addr = draw(st.integers(0, 2**64 - 1) | st.integers(0, 2**40))
    size = draw(st.integers(1, 255))
    digits = f"{addr:0{draw(st.integers(1, 18))}x}"
    if draw(st.booleans()):
        digits = digits.upper()
    size_text = f"{size:0{draw(st.integers(1, 4))}d}"
    lead, sep, trail = draw(BLANKS), draw(BLANKS.map(lambda s: s or " ")), draw(BLANKS)
    return f"{lead}{kind}{sep}{digits},{size_text}{trail}".encode(), (kind, addr, size)


@st.composite
def traces_and_events(draw):
    """A well-formed trace (valgrind messages and blank lines mixed in) and its accesses."""
    lines, accesses = [], []
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(MESSAGES)))
        else:
            line, access = draw(trace_lines())
            lines.append(line)
            accesses.append(access)
    data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    return data, accesses


def expected_events(accesses, modify):
    """What read_lackey must return, written out independently of both parsers."""
    kinds = {"I": [FETCH], "L": [READ], "S": [WRITE], "M": [READ]}
    if modify == "read+write":
        kinds["M"] = [READ, WRITE]
    rows = [(addr, k, size) for letter, addr, size in accesses for k in kinds[letter]]
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    if rows:
        ev["addr"] = np.array([r[0] for r in rows], dtype=np.uint64)
        ev["kind"] = [r[1] for r in rows]
        ev["size"] = [r[2] for r in rows]
    return ev


def outcome(data, modify, impl):
    """The events, or the error message, of parsing `data`."""
    try:
        return traces.read_lackey(data, modify=modify, impl=impl).tobytes()
    except ValueError as e:
        return f"ValueError: {e}"


@settings(max_examples=200, deadline=None)
@given(traces_and_events(), st.sampled_from(traces.MODIFY_RULES))
def test_well_formed_traces(trace, modify):
    data, accesses = trace
    want = expected_events(accesses, modify)
    for impl in IMPLS:
        got = traces.read_lackey(data, modify=modify, impl=impl)
        assert got.dtype == EVENT_DTYPE
        assert got.tobytes() == want.tobytes(), impl


# Characters of near-miss lines: a random line over this alphabet is sometimes valid.
NEAR_MISS = st.text("ILSMXi0123456789abcdefABCDEF,= -*\t\r\x00\xff", max_size=30).map(
    lambda s: s.encode("latin-1")
)


@st.composite
def mutated_lines(draw):
    """A well-formed line with one byte replaced, inserted or deleted."""
    line = bytearray(draw(trace_lines())[0])
    at = draw(st.integers(0, len(line)))
    byte = draw(st.sampled_from(b"ILSMx0f9,= -*\t\r\x00\xff"))
    how = draw(st.sampled_from(["replace", "insert", "delete"]))
    if how == "insert" or at == len(line):
        line.insert(at, byte)
    elif how == "replace":
        line[at] = byte
    else:
        del line[at]
    return bytes(line)


@needs_cython
@settings(max_examples=500, deadline=None)
@given(
    st.lists(trace_lines().map(lambda t: t[0]), max_size=5),
    NEAR_MISS | mutated_lines(),
    st.lists(trace_lines().map(lambda t: t[0]), max_size=5),
    st.sampled_from(traces.MODIFY_RULES),
)
def test_parsers_agree_on_any_line(before, line, after, modify):
    data = b"\n".join([*before, line, *after])
    python = outcome(data, modify, "python")
    assert outcome(data, modify, "cython") == python
    if isinstance(python, str):  # an error: it names the bad line
        assert python.startswith(f"ValueError: line {len(before) + 1}: ")


BAD_LINES = [
    (b" L 1ffefffb58,0", "access size 0 is outside 1..255"),
    (b" L 1ffefffb58,256", "access size 256 is outside 1..255"),
    (b" S 10,512", "access size 512 is outside 1..255"),
    (b"I  10,99999999999999999999999", "access size 99999999999999999999999 is outside 1..255"),
    (b" L 10000000000000000,8", "address wider than 64 bits"),
    (b" L 1ffffffffffffffff,0", "address wider than 64 bits"),  # the address is checked first
    (b"SB 0401ab70", "malformed lackey line"),  # --trace-superblocks output
    (b"I  0401ab70", "malformed lackey line"),
    (b"I0401ab70,3", "malformed lackey line"),
    (b"X  0401ab70,3", "malformed lackey line"),
    (b"i  0401ab70,3", "malformed lackey line"),
    (b"I  0401ab70,3x", "malformed lackey line"),
    (b"I  0401ab70,", "malformed lackey line"),
    (b"I  ,3", "malformed lackey line"),
    (b"I  0x401ab70,3", "malformed lackey line"),
    (b"I  0401ab70 ,3", "malformed lackey line"),
    (b"I  0401ab70,-3", "malformed lackey line"),
    (b"=", "malformed lackey line"),
    (b"I  0401ab70,3 L 10,8", "malformed lackey line"),
    (b"\x00", "malformed lackey line"),
]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_bad_line_names_line_number_and_content(impl, line, reason):
    data = b"==1== Lackey\nI  0401ab70,3\n\n L 10,8\n" + line + b"\n M 10,8\n"
    with pytest.raises(ValueError) as err:
        traces.read_lackey(data, impl=impl)
    assert str(err.value) == f"line 5: {reason}: {traces.show_line(line)}"


@pytest.mark.parametrize("impl", IMPLS)
def test_long_bad_line_is_cut_in_the_message(impl):
    with pytest.raises(ValueError, match=r"^line 1: malformed lackey line: 'xxxx+'\.\.\.$"):
        traces.read_lackey(b"x" * 10_000, impl=impl)


@pytest.mark.parametrize("impl", IMPLS)
def test_sources_path_bytes_bytearray_memoryview(impl, tmp_path):
    data = b"I  04016a80,3\n L 1ffefffb58,8\n S 1ffefffb50,4\n M 1ffefffb58,2\n"
    want = traces.read_lackey(data, impl="python")
    assert [int(k) for k in want["kind"]] == [FETCH, READ, WRITE, READ]
    assert [int(a) for a in want["addr"]] == [0x04016A80, 0x1FFEFFFB58, 0x1FFEFFFB50, 0x1FFEFFFB58]
    assert [int(s) for s in want["size"]] == [3, 8, 4, 2]
    path = tmp_path / "trace.log"
    path.write_bytes(data)
    for source in (data, bytearray(data), memoryview(data), path, str(path)):
        assert traces.read_lackey(source, impl=impl).tobytes() == want.tobytes()
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    assert len(traces.read_lackey(empty, impl=impl)) == 0
    assert len(traces.read_lackey(b"", impl=impl)) == 0


@needs_cython
def test_cython_parser_grows_its_buffer():
    # Short lines and read+write modifies: more events than the size-based first estimate.
    data = b" M 0,1\n" * 50_000
    got = traces.read_lackey(data, modify="read+write", impl="cython")
    assert len(got) == 100_000
    assert got.tobytes() == traces.read_lackey(data, modify="read+write", impl="python").tobytes()


def test_bad_arguments():
    with pytest.raises(ValueError, match="modify"):
        traces.read_lackey(b"", modify="write")
    with pytest.raises(ValueError, match="impl"):
        traces.read_lackey(b"", impl="rust")


def test_trace_counts():
    ev = traces.read_lackey(b"I  10,4\nI  14,4\n L 20,8\n M 20,8\n S 28,8\n")
    assert traces.trace_counts(ev) == {"Ir": 2, "Dr": 2, "Dw": 1}


CACHEGRIND_OUT = """\
desc: I1 cache:         32768 B, 64 B, 8-way associative
desc: D1 cache:         32768 B, 64 B, 8-way associative
desc: LL cache:         262144 B, 64 B, 8-way associative
cmd: /bin/true
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw
fl=???
fn=0x0000000000001f00
0 3 1 1 0 0 0 1 0 0
summary: 127771 1091 1072 29403 1225 1015 10266 343 311
"""


def test_parse_cachegrind_out_text(tmp_path):
    path = tmp_path / "cachegrind.out"
    path.write_text(CACHEGRIND_OUT)
    assert traces.parse_cachegrind_out(path) == {
        "Ir": 127771,
        "I1mr": 1091,
        "ILmr": 1072,
        "Dr": 29403,
        "D1mr": 1225,
        "DLmr": 1015,
        "Dw": 10266,
        "D1mw": 343,
        "DLmw": 311,
    }
    path.write_text(CACHEGRIND_OUT.replace("summary:", "totals:"))
    with pytest.raises(ValueError, match="no 'summary:' line"):
        traces.parse_cachegrind_out(path)


def test_cachegrind_counts_from_stats():
    stats = {
        "cpu0.l1i.fetch_hits": 90,
        "cpu0.l1i.fetch_misses": 10,
        "cpu0.l1d.read_hits": 45,
        "cpu0.l1d.read_misses": 5,
        "cpu0.l1d.write_hits": 18,
        "cpu0.l1d.write_misses": 2,
        "l3.fetch_misses": 7,
        "l3.read_misses": 4,
        "l3.write_misses": 1,
    }
    assert traces.cachegrind_counts(stats) == {
        "Ir": 100,
        "I1mr": 10,
        "ILmr": 7,
        "Dr": 50,
        "D1mr": 5,
        "DLmr": 4,
        "Dw": 20,
        "D1mw": 2,
        "DLmw": 1,
    }
    with pytest.raises(KeyError, match="l3"):
        traces.cachegrind_counts({k: v for k, v in stats.items() if not k.startswith("l3")})


@pytest.mark.slow
@needs_valgrind
def test_real_cachegrind_and_lackey_files(tmp_path):
    """/bin/true under both tools: the files parse, and the trace holds cachegrind's accesses."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    out, log = tmp_path / "cachegrind.out", tmp_path / "lackey.log"
    cg = [VALGRIND, "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}"]
    lk = [VALGRIND, "--tool=lackey", "--trace-mem=yes", f"--log-file={log}"]
    for command in (cg, lk):
        subprocess.run(
            [*command, "/bin/true"], env=env, cwd=tmp_path, check=True, capture_output=True
        )
    counts = traces.parse_cachegrind_out(out)
    assert list(counts) == list(traces.CACHEGRIND_NAMES)
    assert counts["Ir"] > 10_000 and counts["I1mr"] > 0
    events = {impl: traces.read_lackey(log, impl=impl) for impl in IMPLS}
    assert all(ev.tobytes() == events["python"].tobytes() for ev in events.values())
    assert traces.trace_counts(events["python"]) == {k: counts[k] for k in ("Ir", "Dr", "Dw")}

"""hmk.report.flame: folded, speedscope and SVG flame graphs from made-up stacks."""

import colorsys
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmk.report import flame

NS = {"s": "http://www.w3.org/2000/svg"}
P = "process:hello[1]"
STACKS = {
    (P, "user:main", "user:compute"): 60_000,
    (P, "user:main", "syscall:write", "service:fsmgr", "kernel:ipc"): 9_000,
    (P, "user:main", "syscall:write", "service:fsmgr"): 7_000,
    (P, "user:main", "syscall:write", "kernel:exception entry+return"): 3_000,
    (P, "user:_start", "kernel:page fault"): 8_000,
    (P, "user:0x400000-0x400fff"): 5_000,
    ("idle:idle",): 6_000,
    ("mystery",): 2_000,
}
TOTAL = sum(STACKS.values())


def svg_of(stacks, **kw):
    out = io.StringIO()
    flame.write_svg(stacks, out, **kw)
    return out.getvalue()


def diff_svg_of(before, after, **kw):
    out = io.StringIO()
    flame.write_diff_svg(before, after, out, **kw)
    return out.getvalue()


def frames(svg: str):
    """[(path, group, rect, text, tooltip)] in document order; path is root first, 'all' first."""
    root = ET.fromstring(svg)
    out, path = [], []
    for g in root.iterfind(".//s:g[@class='f']", NS):
        tip = g.find("s:title", NS).text
        depth = int(g.get("data-d"))
        path = path[:depth] + [tip.split("\n")[0]]
        out.append((tuple(path), g, g.find("s:rect", NS), g.find("s:text", NS), tip))
    return out


def inclusive(stacks, path):
    """Cycles of the stacks through path (path without the 'all' root)."""
    return sum(w for s, w in stacks.items() if s[: len(path)] == path)


def rgb(fill):
    return tuple(int(c) for c in re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", fill).groups())


# ---------------------------------------------------------------- SVG


def test_svg_parses_and_widths_are_shares():
    svg = svg_of(STACKS)
    root = ET.fromstring(svg)
    x0, plot = float(root.get("data-plot-x")), float(root.get("data-plot-width"))
    found = frames(svg)
    paths = {p[1:] for s in STACKS for p in [("all", *s[:i]) for i in range(len(s) + 1)]}
    assert {f[0][1:] for f in found} == paths  # every frame drawn once, nothing else
    for path, g, rect, _, tip in found:
        cycles = inclusive(STACKS, path[1:])
        assert int(g.get("data-w")) == cycles
        assert float(rect.get("width")) == pytest.approx(plot * cycles / TOTAL, abs=0.006)
        assert f"{cycles:,} cycles ({100 * cycles / TOTAL:.2f}%)" in tip
    # children lie inside their parent, siblings side by side without overlap
    spans = {f[0]: (float(f[2].get("x")), float(f[2].get("width"))) for f in found}
    assert spans[("all",)][0] == pytest.approx(x0)
    for path, (x, w) in spans.items():
        kids = sorted(v for p, v in spans.items() if p[:-1] == path)
        for (kx, kw), nxt in zip(kids, kids[1:] + [(x + w, 0)], strict=False):
            assert x - 0.01 <= kx and kx + kw <= nxt[0] + 0.01


def test_flame_root_at_bottom_icicle_root_at_top():
    for icicle in (False, True):
        ys = {f[0]: float(f[2].get("y")) for f in frames(svg_of(STACKS, icicle=icicle))}
        deepest = (P, "user:main", "syscall:write", "service:fsmgr", "kernel:ipc")
        assert (ys[("all",)] < ys[("all", *deepest)]) == icicle
        assert ys[("all", P)] == ys[("all", "idle:idle")]  # one row per depth


def test_colours_by_kind():
    hues = {}
    for path, _, rect, _, _ in frames(svg_of(STACKS)):
        r, g, b = rgb(rect.get("fill"))
        h, _, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
        hues[path[-1]] = (360 * h, s)
    assert hues["idle:idle"][1] == 0 and hues["mystery"][1] == 0  # greys
    assert rgb(flame.IDLE_FILL) != rgb(flame.NEUTRAL_FILL)
    assert 0 <= hues["user:compute"][0] <= 41 and 0 <= hues["user:main"][0] <= 41  # warm
    assert 84 <= hues["syscall:write"][0] <= 131
    assert 254 <= hues["service:fsmgr"][0] <= 281
    assert 189 <= hues["kernel:ipc"][0] <= 216 and 189 <= hues["kernel:page fault"][0] <= 216
    assert flame.frame_fill("user:main") == flame.frame_fill("user:main")  # stable per name
    assert flame.frame_fill("bogus:x") == flame.frame_fill("no kind") == flame.NEUTRAL_FILL


def test_labels_fit_and_name_without_kind():
    found = frames(svg_of(STACKS, min_fraction=0))
    for path, g, rect, text, _ in found:
        label = text.text or ""
        assert len(label) * flame.CHAR_W <= float(rect.get("width")), path
        kind, name = flame.split_frame(path[-1])
        assert g.get("data-l") == (name if path != ("all",) else "all")
    labels = {f[0][-1]: f[3].text for f in found}
    assert labels["user:compute"] == "compute" and labels["user:_start"] == "_start"
    assert labels["mystery"] is None  # 23.6 px: under 3 characters
    assert labels["kernel:exception entry+return"].endswith("..")  # cut to fit
    assert flame.fit("abcdefgh", 6 + 4 * flame.CHAR_W) == "ab.."
    assert flame.fit("abc", 6 + 2.9 * flame.CHAR_W) == ""


def test_escaping_and_characters_xml_cannot_hold():
    nasty = 'user:<a&b>"c" \t ünï'
    svg = svg_of({(nasty, "kernel:\x01ctl"): 10, ("user:x",): 10}, title="<T&'\">")
    root = ET.fromstring(svg)  # would raise on a bad escape or an illegal character
    assert root.find("s:text[@class='title']", NS).text == "<T&'\">"
    tips = {f[0][-1] for f in frames(svg)}
    assert nasty in tips and "kernel:\\x01ctl" in tips
    assert any(g.get("data-l") == '<a&b>"c" \t ünï' for _, g, *_ in frames(svg))


def test_deterministic_bytes(tmp_path):
    shuffled = dict(reversed(list(STACKS.items())))
    assert svg_of(STACKS, ghz=2.0) == svg_of(shuffled, ghz=2.0)
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    flame.write_svg(STACKS, a)
    flame.write_svg(shuffled, b)
    assert a.read_bytes() == b.read_bytes()
    d1, d2 = diff_svg_of(STACKS, shuffled), diff_svg_of(shuffled, STACKS)
    assert d1 == d2


def test_self_contained_interactive_svg():
    svg = svg_of(STACKS)
    assert "<script><![CDATA[" in svg and "<style>" in svg
    assert not re.search(r"(href|src)=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", svg)
    root = ET.fromstring(svg)
    classes = {t.get("class") for t in root.iterfind("s:text", NS)}
    assert {"control reset hide", "control search", "matched", "details"} <= classes


def test_tooltips_time_at_ghz_and_own_cycles():
    tips = {f[0][-1]: f[4] for f in frames(svg_of(STACKS, ghz=2.0))}
    assert tips["kernel:ipc"] == f"kernel:ipc\n9,000 cycles ({900_000 / TOTAL:.2f}%), 4.500 µs"
    assert "own: 7,000 cycles" in tips["service:fsmgr"]  # 16,000 with 9,000 in kernel:ipc
    assert "µs" not in svg_of(STACKS)


def test_tiny_frames_elided_and_counted():
    stacks = {("user:big",): 10_000, ("user:big", "user:tiny"): 5, ("user:small",): 5}
    stacks[("user:small", "user:leaf")] = 4  # elided with its parent: counted
    svg = svg_of(stacks)  # 0.1% of 10,014 is 10 cycles
    drawn = {f[0][-1] for f in frames(svg)}
    assert drawn == {"all", "user:big"}
    note = ET.fromstring(svg).find("s:text[@class='note']", NS).text
    assert note == "3 frames under 0.1% of the total not drawn"
    everything = svg_of(stacks, min_fraction=0)
    assert {f[0][-1] for f in frames(everything)} == {
        "all",
        "user:big",
        "user:tiny",
        "user:small",
        "user:leaf",
    }
    assert ET.fromstring(everything).find("s:text[@class='note']", NS).text is None


def test_empty_profile_still_renders():
    root = ET.fromstring(svg_of({("user:x",): 0}))
    assert root.find(".//s:g[@class='f']", NS) is None
    assert "0 cycles" in root.find("s:text[@class='subtitle']", NS).text


# ---------------------------------------------------------------- folded


def test_folded_round_trip(tmp_path):
    stacks = dict(STACKS)
    stacks[("user:operator new 42", "kernel:syscall entry")] = 7  # spaces, trailing digits
    stacks[("user:ünïcode <&>", "user:a b  c")] = 3
    path = tmp_path / "x.folded"
    flame.write_folded(stacks, path)
    text = path.read_text("utf-8")
    assert text.splitlines() == sorted(text.splitlines())
    assert f"{P};user:main;user:compute 60000\n" in text
    assert flame.read_folded(path) == stacks


def test_folded_reader_sums_and_rejects():
    assert flame.read_folded(io.StringIO("a;b 1\n\na;b 2\nc 0\n")) == {("a", "b"): 3}
    for bad in ("a;b\n", "a;b x\n", "a;b -1\n", " 5\n", "a;;b 1\n"):
        with pytest.raises(ValueError, match="folded line 1|frame ''"):
            flame.read_folded(io.StringIO(bad))


def test_diff_folded_round_trip():
    before, after = {("a", "b"): 5, ("a", "gone"): 2}, {("a", "b"): 9, ("a", "new"): 1}
    out = io.StringIO()
    flame.write_diff_folded(before, after, out)
    assert out.getvalue() == "a;b 5 9\na;gone 2 0\na;new 0 1\n"
    out.seek(0)
    assert flame.read_diff_folded(out) == (before, after)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.lists(
            st.text(st.characters(blacklist_characters=";\n\r"), min_size=1, max_size=12),
            min_size=1,
            max_size=5,
        ).map(tuple),
        st.integers(1, 10**12),
        max_size=8,
    )
)
def test_any_frames_round_trip_and_render(stacks):
    out = io.StringIO()
    flame.write_folded(stacks, out)
    out.seek(0)
    assert flame.read_folded(out) == stacks
    root = ET.fromstring(svg_of(stacks, min_fraction=0))
    assert len(root.findall(".//s:g[@class='f']", NS)) == len(
        {s[:i] for s in stacks for i in range(len(s) + 1)}
    )


# ---------------------------------------------------------------- speedscope


def test_speedscope_structure(tmp_path):
    path = tmp_path / "p.speedscope.json"
    flame.write_speedscope(STACKS, path, name="hello")
    doc = json.loads(path.read_text("utf-8"))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    names = [f["name"] for f in doc["shared"]["frames"]]
    assert len(names) == len(set(names)) == len({f for s in STACKS for f in s})
    (prof,) = doc["profiles"]
    assert prof["type"] == "sampled" and prof["unit"] == "none"
    assert prof["name"] == doc["name"] == "hello (cycles)"
    assert len(prof["samples"]) == len(prof["weights"]) == len(STACKS)
    got = {
        tuple(names[i] for i in s): w for s, w in zip(prof["samples"], prof["weights"], strict=True)
    }
    assert got == STACKS  # samples index into frames, weights are the cycles
    assert prof["startValue"] == 0 and prof["endValue"] == sum(prof["weights"]) == TOTAL


def test_speedscope_time_units():
    out = io.StringIO()
    flame.write_speedscope({("a",): 3000}, out, unit="microseconds", ghz=1.5)
    (prof,) = json.loads(out.getvalue())["profiles"]
    assert prof["unit"] == "microseconds" and prof["weights"] == [pytest.approx(2.0)]
    out = io.StringIO()
    flame.write_speedscope({("a",): 3000}, out, name="x", ghz=1.5)  # still cycles: 'none'
    assert json.loads(out.getvalue())["profiles"][0]["name"] == "x (cycles at 1.5 GHz)"
    with pytest.raises(ValueError, match="needs the clock"):
        flame.write_speedscope({("a",): 1}, io.StringIO(), unit="seconds")
    with pytest.raises(ValueError, match="'bytes'"):
        flame.write_speedscope({("a",): 1}, io.StringIO(), unit="bytes")


# ---------------------------------------------------------------- diff


def test_diff_colours_and_tooltips():
    before = dict(STACKS)
    after = dict(STACKS)
    after[(P, "user:main", "user:compute")] = 40_000  # shrunk
    after[(P, "user:main", "syscall:write", "service:fsmgr", "kernel:ipc")] = 15_000  # grown
    del after[(P, "user:0x400000-0x400fff")]  # gone
    after[(P, "user:main", "user:new")] = 1_000  # new
    svg = diff_svg_of(before, after)
    found = {f[0][-1]: f for f in frames(svg)}
    red, blue = rgb(found["kernel:ipc"][2].get("fill")), rgb(found["user:compute"][2].get("fill"))
    assert red[0] == 255 and red[1] == red[2] < 200
    assert blue[2] == 255 and blue[0] == blue[1] < 150  # the biggest change: the deepest
    assert red[1] > blue[0]  # 6,000 more is paler than 20,000 fewer
    assert rgb(found["user:new"][2].get("fill"))[0] == 255
    for unchanged in ("idle:idle", "service:fsmgr", "user:_start"):
        assert found[unchanged][2].get("fill") == flame.UNCHANGED_FILL
    # user:main's own cycles are 0 both times: unchanged although its subtree changed
    assert found["user:main"][2].get("fill") == flame.UNCHANGED_FILL
    assert "user:0x400000-0x400fff" not in found
    # widths from after
    after_total = sum(after.values())
    plot = float(ET.fromstring(svg).get("data-plot-width"))
    assert float(found["kernel:ipc"][2].get("width")) == pytest.approx(
        plot * 15_000 / after_total, abs=0.006
    )
    tip = found["kernel:ipc"][4]
    share = f"{1_500_000 / after_total:.2f}%"
    assert tip == (
        f"kernel:ipc\ncycles after 15,000 ({share}), before 9,000: +6,000 (+66.67%)"
        f"\nown cycles after 15,000 ({share}), before 9,000: +6,000 (+66.67%)"
    )
    assert (
        f"after 1,000 ({100_000 / after_total:.2f}%), before 0: +1,000 (new)"
        in found["user:new"][4]
    )
    assert "own cycles after 0 (0.00%), before 0: +0 (±0)" in found["user:main"][4]
    sub = ET.fromstring(svg).find("s:text[@class='subtitle']", NS).text
    assert "1 frame only in before (5,000 cycles) not drawn" in sub
    assert f"{after_total:,} cycles (before {TOTAL:,})" in sub


def test_diff_of_the_same_is_unchanged():
    svg = diff_svg_of(STACKS, STACKS)
    assert {f[2].get("fill") for f in frames(svg)} == {flame.UNCHANGED_FILL}
    assert "only in before" not in ET.fromstring(svg).find("s:text[@class='subtitle']", NS).text


def test_diff_fill_scale():
    assert flame.diff_fill(0, 10) == flame.UNCHANGED_FILL
    assert (
        flame.diff_fill(10, 10) == "rgb(255,90,90)" and flame.diff_fill(-10, 10) == "rgb(90,90,255)"
    )
    assert rgb(flame.diff_fill(1, 10))[1] > rgb(flame.diff_fill(5, 10))[1]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "stacks, error, match",
    [
        ({("user:a;b",): 1}, ValueError, r"frame 'user:a;b': ';' and newlines"),
        ({("user:a\nb",): 1}, ValueError, r"frame 'user:a\\nb'"),
        ({("a", ""): 1}, ValueError, "frame ''"),
        ({(): 1}, ValueError, "non-empty tuple"),
        ({"user:a": 1}, ValueError, "non-empty tuple"),
        ({("a", 3): 1}, ValueError, "frame 3"),
        ({("a",): -1}, ValueError, "negative weight -1"),
        ({("a",): 1.5}, TypeError, "weight 1.5 is not an int"),
        ({("a",): True}, TypeError, "weight True"),
    ],
)
def test_bad_input(stacks, error, match):
    for write in (
        lambda: flame.write_folded(stacks, io.StringIO()),
        lambda: flame.write_speedscope(stacks, io.StringIO()),
        lambda: flame.write_svg(stacks, io.StringIO()),
        lambda: flame.write_diff_svg({}, stacks, io.StringIO()),
        lambda: flame.write_diff_folded(stacks, {}, io.StringIO()),
    ):
        with pytest.raises(error, match=match):
            write()


def test_bad_options():
    with pytest.raises(ValueError, match="min_fraction"):
        flame.write_svg(STACKS, io.StringIO(), min_fraction=1)
    with pytest.raises(ValueError, match="ghz"):
        flame.write_svg(STACKS, io.StringIO(), ghz=0)

"""Flame graphs of simulated cycles: folded stacks, speedscope JSON, interactive SVG, diffs.

Every writer takes ``stacks``: a mapping from a call stack (a tuple of frames, root first) to
its weight in cycles (a non-negative int; zero weights are dropped). A frame is ``kind:name``
with kind one of KINDS (anything else still renders, in a neutral colour); a frame may hold any
character but ';' and newlines. docs/flamegraphs.md describes the formats, colours and controls.
This module is stdlib only and knows nothing of the simulator.
"""

from __future__ import annotations

import colorsys
import contextlib
import json
import operator
import os
import re
import zlib
from collections.abc import Callable, Mapping

KINDS = ("process", "user", "syscall", "service", "kernel", "idle")
SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"
SPEEDSCOPE_TIME_UNITS = {  # speedscope's time units per nanosecond (cycles / GHz = ns)
    "nanoseconds": 1.0,
    "microseconds": 1e-3,
    "milliseconds": 1e-6,
    "seconds": 1e-9,
}

Stacks = Mapping[tuple[str, ...], int]

# ---------------------------------------------------------------- input


def _check(stacks: Stacks) -> dict[tuple[str, ...], int]:
    """The stacks with zero weights dropped; every stack, frame and weight checked."""
    out = {}
    for stack, weight in stacks.items():
        if not isinstance(stack, tuple) or not stack:
            raise ValueError(f"stack {stack!r}: must be a non-empty tuple of frames")
        for frame in stack:
            if not isinstance(frame, str) or not frame:
                raise ValueError(f"frame {frame!r} in stack {stack!r}: must be a non-empty str")
            if ";" in frame or "\n" in frame or "\r" in frame:
                raise ValueError(f"frame {frame!r}: ';' and newlines are not allowed in a frame")
        if isinstance(weight, bool):
            raise TypeError(f"stack {stack!r}: weight {weight!r} is not an int")
        try:
            cycles = operator.index(weight)
        except TypeError:
            raise TypeError(f"stack {stack!r}: weight {weight!r} is not an int") from None
        if cycles < 0:
            raise ValueError(f"stack {stack!r}: negative weight {cycles}")
        if cycles:
            out[stack] = cycles
    return out


def split_frame(frame: str) -> tuple[str, str]:
    """(kind, label): 'user:main' -> ('user', 'main'); unknown kinds -> ('', the whole frame)."""
    kind, sep, name = frame.partition(":")
    if kind in KINDS and (sep or frame == kind):
        return kind, name or kind
    return "", frame


@contextlib.contextmanager
def _opened(file, mode: str):
    """A path opened as UTF-8 (surrogateescape: undecodable bytes round-trip), or a stream."""
    if isinstance(file, (str, os.PathLike)):
        newline = "\n" if "w" in mode else None
        with open(file, mode, encoding="utf-8", errors="surrogateescape", newline=newline) as f:
            yield f
    else:
        yield file


# ---------------------------------------------------------------- folded


def write_folded(stacks: Stacks, file) -> None:
    """Brendan Gregg's folded format: 'frame;frame;frame cycles', one sorted line per stack.

    Frames are written as they are ('kind:name'), so the file round-trips and greps; flamegraph.pl
    draws it as is (its own kind colours need '_[k]'-style suffixes, which we do not add).
    """
    stacks = _check(stacks)
    with _opened(file, "w") as out:
        out.writelines(f"{';'.join(s)} {stacks[s]}\n" for s in sorted(stacks))


def read_folded(file) -> dict[tuple[str, ...], int]:
    """Parse folded stacks (lines 'frame;frame count'; repeated stacks are summed)."""
    return _read_counts(file, 1)[0]


def write_diff_folded(before: Stacks, after: Stacks, file) -> None:
    """flamegraph.pl's difffolded format: 'frame;frame before after', one sorted line per stack."""
    before, after = _check(before), _check(after)
    with _opened(file, "w") as out:
        for s in sorted(before.keys() | after.keys()):
            out.write(f"{';'.join(s)} {before.get(s, 0)} {after.get(s, 0)}\n")


def read_diff_folded(file) -> tuple[dict[tuple[str, ...], int], dict[tuple[str, ...], int]]:
    """Parse difffolded stacks back into (before, after)."""
    before, after = _read_counts(file, 2)
    return before, after


def _read_counts(file, columns: int) -> list[dict[tuple[str, ...], int]]:
    """Stacks with `columns` counts after the last space(s) of each line, summed per stack."""
    out: list[dict[tuple[str, ...], int]] = [{} for _ in range(columns)]
    with _opened(file, "r") as inp:
        for lineno, line in enumerate(inp, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.rsplit(" ", columns)
            if len(fields) != columns + 1 or not all(re.fullmatch("[0-9]+", c) for c in fields[1:]):
                want = "frame;frame" + " count" * columns
                raise ValueError(f"folded line {lineno}: expected '{want}', got {line!r}")
            stack = tuple(fields[0].split(";"))
            for counts, c in zip(out, fields[1:], strict=True):
                counts[stack] = counts.get(stack, 0) + int(c)
    return [_check(counts) for counts in out]


# ---------------------------------------------------------------- speedscope


def write_speedscope(
    stacks: Stacks, file, name: str = "hmk", unit: str = "none", ghz: float | None = None
) -> None:
    """speedscope's JSON file format: one 'sampled' profile, one sample per stack.

    Cycles are not a speedscope unit: with unit 'none' the weights are cycles and the profile is
    named '<name> (cycles)'; with a time unit ('nanoseconds', ... 'seconds') the cycles are
    converted at `ghz`.
    """
    stacks = _check(stacks)
    if unit == "none":
        scale, label = None, f"{name} (cycles" + (f" at {ghz:g} GHz)" if ghz else ")")
    elif unit in SPEEDSCOPE_TIME_UNITS:
        if not ghz or ghz <= 0:
            raise ValueError(f"speedscope unit {unit!r} needs the clock: ghz > 0")
        scale, label = SPEEDSCOPE_TIME_UNITS[unit] / ghz, f"{name} ({unit} at {ghz:g} GHz)"
    else:
        raise ValueError(f"speedscope unit {unit!r}: cycles convert to 'none' or a time unit")
    index: dict[str, int] = {}
    samples, weights = [], []
    for stack in sorted(stacks):
        samples.append([index.setdefault(f, len(index)) for f in stack])
        weights.append(stacks[stack] if scale is None else stacks[stack] * scale)
    doc = {
        "$schema": SPEEDSCOPE_SCHEMA,
        "exporter": "hmk",
        "name": label,
        "activeProfileIndex": 0,
        "shared": {"frames": [{"name": f} for f in index]},
        "profiles": [
            {
                "type": "sampled",
                "name": label,
                "unit": unit,
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }
    with _opened(file, "w") as out:
        json.dump(doc, out, ensure_ascii=False)
        out.write("\n")


# ---------------------------------------------------------------- the tree


class _Node:
    __slots__ = ("frame", "depth", "total", "before", "x", "children")

    def __init__(self, frame: str, depth: int):
        self.frame, self.depth = frame, depth
        self.total = 0  # cycles in this frame and below (after, in a diff)
        self.before = 0  # a diff's cycles before
        self.x = 0  # cycles to the left of this frame
        self.children: dict[str, _Node] = {}

    def own(self, attr: str) -> int:
        """Self cycles: the frame's own, not its children's."""
        return getattr(self, attr) - sum(getattr(c, attr) for c in self.children.values())


def _tree(stacks: dict[tuple[str, ...], int], root: _Node | None = None) -> _Node:
    """The stacks merged into a tree of frames: into `total`, or into `before` of `root`."""
    before = root is not None
    root = root or _Node("all", 0)
    for stack, cycles in stacks.items():
        path = [node := root]
        for frame in stack:
            kid = node.children.get(frame)
            if kid is None:
                kid = node.children[frame] = _Node(frame, node.depth + 1)
            path.append(node := kid)
        for node in path:
            if before:
                node.before += cycles
            else:
                node.total += cycles
    return root


def _layout(root: _Node, min_cycles: float) -> tuple[list[_Node], int]:
    """Pre-order frames to draw (children sorted by name), their x set; and how many were elided."""
    drawn, elided, todo = [], 0, [root]
    while todo:
        node = todo.pop()
        if node.total == 0 or node.total < min_cycles:
            elided += _count(node)  # 0 for a diff's frames only in before
            continue
        drawn.append(node)
        x = node.x
        kids = [node.children[k] for k in sorted(node.children)]
        for kid in kids:
            kid.x, x = x, x + kid.total
        todo.extend(reversed(kids))
    return drawn, elided


def _count(node: _Node) -> int:
    """Frames with cycles in this subtree."""
    n, todo = 0, [node]
    while todo:
        node = todo.pop()
        n += node.total > 0
        todo.extend(node.children.values())
    return n


# ---------------------------------------------------------------- colours

# kind -> (hue range in degrees, saturation, lightness range): a frame's place in its range comes
# from a hash of its name, so a function keeps its colour across graphs
_PALETTE = {
    "user": ((0, 40), 0.85, (0.60, 0.70)),  # warm: red to orange
    "process": ((46, 56), 0.75, (0.66, 0.72)),  # sand
    "syscall": ((85, 130), 0.55, (0.56, 0.66)),  # green: the syscall / ABI shim
    "kernel": ((190, 215), 0.65, (0.62, 0.72)),  # blue
    "service": ((255, 280), 0.55, (0.70, 0.78)),  # violet
}
IDLE_FILL, NEUTRAL_FILL, SEARCH_FILL = "rgb(150,150,150)", "rgb(208,208,208)", "rgb(230,0,230)"
UNCHANGED_FILL = "rgb(250,250,250)"


def frame_fill(frame: str) -> str:
    """The fill colour of a frame in a flame graph (by its kind)."""
    kind, _ = split_frame(frame)
    if kind == "idle":
        return IDLE_FILL
    if kind not in _PALETTE:
        return NEUTRAL_FILL
    (h0, h1), sat, (l0, l1) = _PALETTE[kind]
    h = zlib.crc32(frame.encode("utf-8", "surrogatepass"))
    hue = h0 + (h1 - h0) * (h & 0xFFFF) / 0xFFFF
    light = l0 + (l1 - l0) * (h >> 16) / 0xFFFF
    return "rgb({},{},{})".format(
        *(round(255 * c) for c in colorsys.hls_to_rgb(hue / 360, light, sat))
    )


def diff_fill(delta: int, scale: int) -> str:
    """Red for more cycles, blue for fewer, deeper with |delta| / scale; near-white if unchanged."""
    if delta == 0 or scale <= 0:
        return UNCHANGED_FILL
    fade = round(225 - 135 * min(abs(delta) / scale, 1))  # 225: visible; 90: text still reads
    return f"rgb(255,{fade},{fade})" if delta > 0 else f"rgb({fade},{fade},255)"


# ---------------------------------------------------------------- SVG

WIDTH, PAD, ROW, CHAR_W = 1200, 10, 16, 7.3  # px; CHAR_W: the advance of 12px monospace
TOP = 56  # title and subtitle rows
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: str) -> str:
    """XML text or attribute value: &<>" escaped, characters XML cannot hold shown as \\xNN."""
    text = _XML_BAD.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if m[0] < "\x80" else f"\\u{ord(m[0]):04x}", text
    )
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\t", "&#9;")):
        text = text.replace(a, b)
    return text


def fit(label: str, px: float) -> str:
    """The label cut to fit px (with '..' when cut; empty when under 3 characters fit)."""
    n = int((px - 6) // CHAR_W)
    return label if n >= len(label) else (label[: n - 2] + ".." if n >= 3 else "")


def _frames(n: int) -> str:
    return f"{n:,} frame" + ("" if n == 1 else "s")


def _amount(n: int, total: int, unit: str, ghz: float | None) -> str:
    text = f"{n:,} {unit} ({100 * n / total:.2f}%)" if total else f"{n:,} {unit}"
    return text + (f", {n / (ghz * 1e3):,.3f} µs" if ghz else "")


def write_svg(
    stacks: Stacks,
    file,
    title: str = "Flame graph",
    subtitle: str | None = None,
    unit: str = "cycles",
    ghz: float | None = None,
    icicle: bool = False,
    min_fraction: float = 0.001,
) -> None:
    """An interactive flame graph (hover, click to zoom, Ctrl-F to search), self-contained SVG.

    Width is proportional to cycles; frames (with their subtrees) under `min_fraction` of the
    total are not drawn (the footer says how many). `ghz` adds times in µs to the tooltips.
    """
    if ghz is not None and ghz <= 0:
        raise ValueError(f"ghz {ghz!r}: must be > 0")
    root = _tree(_check(stacks))
    total = root.total
    auto = f"{total:,} {unit}" + (f" = {total / (ghz * 1e3):,.3f} µs at {ghz:g} GHz" if ghz else "")

    def tip(n: _Node) -> str:
        own = n.own("total")
        return f"{n.frame}\n{_amount(n.total, total, unit, ghz)}" + (
            f"\nown: {_amount(own, total, unit, ghz)}" if n.children else ""
        )

    _render(
        root,
        file,
        title,
        " · ".join(filter(None, [subtitle, auto])),
        unit,
        icicle,
        min_fraction,
        lambda n: frame_fill(n.frame) if n.depth else NEUTRAL_FILL,
        tip,
        "",
    )


def write_diff_svg(
    before: Stacks,
    after: Stacks,
    file,
    title: str = "Differential flame graph",
    subtitle: str | None = None,
    icicle: bool = False,
    min_fraction: float = 0.001,
) -> None:
    """A differential flame graph: the shape of `after`, each frame coloured by the change in its
    own (self) cycles from `before` (red more, blue fewer). Frames only in `before` are not drawn;
    the subtitle says how many and their cycles."""
    root = _tree(_check(after))
    _tree(_check(before), root)
    total = root.total
    nodes, gone, todo = [], [], [root]  # gone: the topmost frames only in before
    while todo:
        node = todo.pop()
        nodes.append(node)
        for kid in node.children.values():
            (todo if kid.total else gone).append(kid)
    scale = max((abs(n.own("total") - n.own("before")) for n in nodes), default=0)
    lost = sum(n.before for n in gone)
    auto = (
        f"width: after, {total:,} cycles (before {root.before:,}); colour: change in own cycles,"
        f" red more, blue fewer"
    ) + (f"; {_frames(len(gone))} only in before ({lost:,} cycles) not drawn" if gone else "")

    def change(after_: int, before_: int) -> str:
        d, share = after_ - before_, f" ({100 * after_ / total:.2f}%)" if total else ""
        rel = f"{100 * d / before_:+.2f}%" if before_ else ("new" if d else "±0")
        return f"after {after_:,}{share}, before {before_:,}: {d:+,} ({rel})"

    def tip(n: _Node) -> str:
        own = change(n.own("total"), n.own("before"))
        return f"{n.frame}\ncycles {change(n.total, n.before)}\nown cycles {own}"

    _render(
        root,
        file,
        title,
        " · ".join(filter(None, [subtitle, auto])),
        "cycles",
        icicle,
        min_fraction,
        lambda n: diff_fill(n.own("total") - n.own("before"), scale),
        tip,
        " diff",
    )


def _render(
    root: _Node,
    file,
    title: str,
    subtitle: str,
    unit: str,
    icicle: bool,
    min_fraction: float,
    fill: Callable[[_Node], str],
    tip: Callable[[_Node], str],
    css_class: str,
) -> None:
    if not 0 <= min_fraction < 1:
        raise ValueError(f"min_fraction {min_fraction!r}: must be in [0, 1)")
    total = root.total
    plot = WIDTH - 2 * PAD
    nodes, elided = _layout(root, min_fraction * total)
    rows = max((n.depth for n in nodes), default=0) + 1
    height = TOP + rows * ROW + 34
    foot = height - 12
    note = f"{_frames(elided)} under {100 * min_fraction:g}% of the total not drawn"
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hmk-flame{css_class}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" data-total="{total}" '
        f'data-plot-x="{PAD}" data-plot-width="{plot}" data-char-width="{CHAR_W}" '
        f'data-unit="{_esc(unit)}">\n',
        f"<style>{_CSS}</style>\n",
        f'<rect class="bg" x="0" y="0" width="{WIDTH}" height="{height}"/>\n',
        f'<text class="title" x="{WIDTH / 2}" y="24">{_esc(title)}</text>\n',
        f'<text class="subtitle" x="{WIDTH / 2}" y="42">{_esc(subtitle)}</text>\n',
        f'<text class="control reset hide" x="{PAD}" y="24">Reset zoom</text>\n',
        f'<text class="control search" x="{WIDTH - PAD}" y="24">Search</text>\n',
        f'<text class="matched" x="{WIDTH - PAD}" y="42"></text>\n',
        f'<text class="details" x="{PAD}" y="{foot}">{_IDLE_DETAILS}</text>\n',
        f'<text class="note" x="{WIDTH - PAD}" y="{foot}">{_esc(note) if elided else ""}</text>\n',
        '<g class="frames">\n',
    ]
    for n in nodes:
        row = n.depth if icicle else rows - 1 - n.depth
        x, w, y = PAD + plot * n.x / total, plot * n.total / total, TOP + row * ROW
        label = split_frame(n.frame)[1] if n.depth else "all"
        out.append(
            f'<g class="f" data-x="{n.x}" data-w="{n.total}" data-d="{n.depth}" '
            f'data-l="{_esc(label)}"><title>{_esc(tip(n))}</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{ROW - 1}" fill="{fill(n)}"/>'
            f'<text x="{x + 3:.2f}" y="{y + 11.5}">{_esc(fit(label, w))}</text></g>\n'
        )
    out += ["</g>\n", f"<script><![CDATA[{_JS}]]></script>\n", "</svg>\n"]
    with _opened(file, "w") as f:
        f.write("".join(out))


_IDLE_DETAILS = "Hover a frame for details, click to zoom, Ctrl-F to search, Esc to reset"
_CSS = """
text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; fill: #000; }
.bg { fill: #fff; }
.hmk-flame.diff .bg { fill: #f2f2f2; }
.title { font-size: 17px; text-anchor: middle; }
.subtitle { fill: #555; text-anchor: middle; }
.control { cursor: pointer; fill: #05c; text-decoration: underline; }
.search, .matched, .note { text-anchor: end; }
.note { fill: #777; }
.hide { display: none; }
.f { cursor: pointer; }
.f rect { stroke: #fff; stroke-width: 0.5px; }
.hmk-flame.diff .f rect { stroke: #aaa; }
.f:hover rect { stroke: #000; stroke-width: 1px; }
.f.parent rect { opacity: 0.6; }
.f text { pointer-events: none; }
"""
# Own code. Frame geometry is recomputed from data-x/data-w (cycles) so zoom is exact; the
# graph is found from this script (last one parsed) so several graphs can share an HTML page.
_JS = r"""
(function () {
  var scripts = document.getElementsByTagNameNS('http://www.w3.org/2000/svg', 'script');
  var me = document.currentScript || scripts[scripts.length - 1];
  var svg = me.parentNode;
  var num = function (el, a) { return Number(el.getAttribute(a)); };
  var total = num(svg, 'data-total'), X0 = num(svg, 'data-plot-x');
  var W = num(svg, 'data-plot-width'), CW = num(svg, 'data-char-width');
  var unit = svg.getAttribute('data-unit');
  var frames = Array.prototype.slice.call(svg.querySelectorAll('g.f'));
  var $ = function (c) { return svg.querySelector('.' + c); };
  var details = $('details'), matched = $('matched'), reset = $('reset'), search = $('search');
  var idle = details.textContent, query = null;
  var name = function (f) { return f.querySelector('title').textContent.split('\n')[0]; };

  function fit(label, px) {
    var n = Math.floor((px - 6) / CW);
    return n >= label.length ? label : (n >= 3 ? label.slice(0, n - 2) + '..' : '');
  }
  function zoom(g) {
    var zx = g ? num(g, 'data-x') : 0, zw = g ? num(g, 'data-w') : total;
    var zd = g ? num(g, 'data-d') : 0;
    frames.forEach(function (f) {
      var x = num(f, 'data-x'), lo = Math.max(x, zx);
      var hi = Math.min(x + num(f, 'data-w'), zx + zw);
      f.style.display = hi > lo ? '' : 'none';
      if (hi <= lo) return;
      var px = (lo - zx) / zw * W + X0, pw = (hi - lo) / zw * W;
      var r = f.querySelector('rect'), t = f.querySelector('text');
      r.setAttribute('x', px.toFixed(2));
      r.setAttribute('width', pw.toFixed(2));
      t.setAttribute('x', (px + 3).toFixed(2));
      t.textContent = fit(f.getAttribute('data-l'), pw);
      f.classList.toggle('parent', num(f, 'data-d') < zd);
    });
    reset.classList.toggle('hide', !(g && zd > 0));
  }
  function mark(re) {  // highlight frames whose full name matches; matched cycles, no overlap
    var spans = [];
    frames.forEach(function (f) {
      var hit = re !== null && re.test(name(f));
      f.querySelector('rect').style.fill = hit ? 'SEARCH_FILL' : '';
      if (hit) spans.push([num(f, 'data-x'), num(f, 'data-x') + num(f, 'data-w')]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var sum = 0, end = 0;
    spans.forEach(function (s) {
      if (s[1] > Math.max(s[0], end)) sum += s[1] - Math.max(s[0], end);
      end = Math.max(end, s[1]);
    });
    query = re;
    search.textContent = re === null ? 'Search' : 'Clear search';
    matched.textContent = re === null ? '' : 'Matched: ' + sum.toLocaleString('en-US') + ' ' +
      unit + ' (' + (total ? 100 * sum / total : 0).toFixed(2) + '%)';
    return sum;
  }
  function ask(toggle) {
    if (toggle && query !== null) return mark(null);
    var s = window.prompt('Search frames (a regular expression):', query ? query.source : '');
    if (!s) return;
    try { mark(new RegExp(s)); } catch (e) { matched.textContent = 'Bad regular expression'; }
  }
  var group = svg.querySelector('g.frames');
  group.addEventListener('click', function (e) {
    var g = e.target.closest('g.f');
    if (g) zoom(num(g, 'data-d') > 0 ? g : null);
  });
  group.addEventListener('mouseover', function (e) {
    var g = e.target.closest('g.f');
    if (g) details.textContent = g.querySelector('title').textContent.replace(/\n/g, ' | ');
  });
  group.addEventListener('mouseout', function () { details.textContent = idle; });
  reset.addEventListener('click', function () { zoom(null); });
  search.addEventListener('click', function () { ask(true); });
  window.addEventListener('keydown', function (e) {
    if (document.querySelector('svg.hmk-flame') !== svg) return;  // keys drive the first graph
    if (((e.ctrlKey || e.metaKey) && e.key === 'f') || e.key === 'F3') {
      e.preventDefault();
      ask(false);
    } else if (e.key === 'Escape') {
      zoom(null);
      mark(null);
    }
  });
  svg.hmkFlame = {  // for scripts and tests: search(regex source) -> matched cycles
    search: function (s) { return mark(s === null ? null : new RegExp(s)); },
    zoom: function (n) { zoom(frames.filter(function (f) { return name(f) === n; })[0] || null); },
    reset: function () { zoom(null); mark(null); }
  };
})();
""".replace("SEARCH_FILL", SEARCH_FILL)

"""hmk.report.flame's SVG in a real browser: headless Chromium draws it and runs its script."""

import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from hmk.report import flame

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "chrome"))), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs headless Chromium (Debian: apt-get install chromium)"
)

STACKS = {
    ("process:p", "user:work"): 50_000,
    ("process:p", "syscall:read", "kernel:ipc"): 30_000,
    ("idle:idle",): 20_000,
}


def chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    cmd += ["--force-device-scale-factor=1", f"--user-data-dir={tmp_path / 'profile'}"]
    cmd += ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses root
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


def read_png(data: bytes) -> np.ndarray:
    """(height, width, channels) uint8 pixels of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body, pos = data[pos + 8 : pos + 8 + size], pos + 12 + size
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and ctype in (2, 6) and not interlace, "only 8-bit RGB(A), not interlaced"
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, rows = bytearray(stride), []
    for y in range(h):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):  # undo the row's filter (PNG spec, section 9)
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else:
                p = (0, a, b, (a + b) >> 1)[kind]
            line[i] = (line[i] + p) & 255
        rows.append(bytes(line))
        prev = line
    return np.frombuffer(b"".join(rows), np.uint8).reshape(h, w, bpp)[:, :, :3]


def rgb(fill: str) -> np.ndarray:
    return np.array([int(c) for c in re.findall(r"\d+", fill)])


def test_screenshot_shows_the_frames(tmp_path):
    svg = tmp_path / "flame.svg"
    flame.write_svg(STACKS, svg, title="browser check")
    height = int(re.search(r'height="(\d+)"', svg.read_text()).group(1))
    png = tmp_path / "flame.png"
    run = chromium(
        tmp_path,
        f"--screenshot={png}",
        f"--window-size={flame.WIDTH},{height}",
        "--enable-logging=stderr",
        "--v=0",
        svg.as_uri(),
    )
    assert png.exists(), run.stderr[-2000:]
    assert "Uncaught" not in run.stderr, run.stderr[-2000:]  # the script loaded without errors
    pixels = read_png(png.read_bytes()).astype(int)
    assert pixels.shape[:2] == (height, flame.WIDTH)
    plot = flame.WIDTH - 2 * flame.PAD
    rows = 4  # all; process:p, idle:idle; user:work, syscall:read; kernel:ipc
    areas = {}
    for frame, share, depth, left in [
        ("idle:idle", 0.2, 1, 0.0),  # siblings in name order
        ("syscall:read", 0.3, 2, 0.2),
        ("kernel:ipc", 0.3, 3, 0.2),
        ("user:work", 0.5, 2, 0.5),
    ]:
        x0, y0 = flame.PAD + plot * left, flame.TOP + (rows - 1 - depth) * flame.ROW
        band = pixels[y0 - 2 : y0 + flame.ROW + 2]  # its row (grey text elsewhere is grey too)
        hit = np.abs(band - rgb(flame.frame_fill(frame))).max(axis=2) <= 3
        ys, xs = np.nonzero(hit)
        ys += y0 - 2
        # where the colour is: the frame's rectangle (within antialiasing)
        assert abs(xs.min() - x0) <= 2 and abs(xs.max() + 1 - (x0 + plot * share)) <= 2, frame
        assert abs(ys.min() - y0) <= 2 and abs(ys.max() + 1 - (y0 + flame.ROW - 1)) <= 2, frame
        areas[frame] = hit.sum()
        # how much: the rectangle less its label and antialiased edges
        assert 0.75 <= areas[frame] / (plot * share * (flame.ROW - 1)) <= 1.0, frame
        label = pixels[y0 : y0 + flame.ROW, round(x0) : round(x0 + plot * share)].max(axis=2)
        assert (label < 100).sum() > 20, frame  # its label drawn in dark text
    assert areas["user:work"] / areas["idle:idle"] == pytest.approx(50 / 20, rel=0.06)
    assert areas["syscall:read"] / areas["kernel:ipc"] == pytest.approx(1, rel=0.06)


def test_a_script_error_would_be_seen(tmp_path):
    """The check above can fail: a broken script is reported on stderr."""
    svg = tmp_path / "broken.svg"
    flame.write_svg(STACKS, svg)
    svg.write_text(svg.read_text().replace("var num = function", "var num = functio"))
    run = chromium(
        tmp_path,
        f"--screenshot={tmp_path / 'x.png'}",
        "--enable-logging=stderr",
        "--v=0",
        svg.as_uri(),
    )
    assert "Uncaught SyntaxError" in run.stderr


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><script>
window.errors = [];
window.addEventListener('error', function (e) { window.errors.push(String(e.message)); });
</script></head><body>
SVG
<pre id="out"></pre>
<script>
var out = {errors: window.errors};
try {
  var svg = document.querySelector('svg'), api = svg.hmkFlame;
  var find = function (n) {
    return Array.prototype.filter.call(svg.querySelectorAll('g.f'), function (g) {
      return g.querySelector('title').textContent.split('\\n')[0] === n;
    })[0];
  };
  var geom = function (n) {
    var g = find(n), r = g.querySelector('rect');
    return {x: +r.getAttribute('x'), w: +r.getAttribute('width'), shown: g.style.display !== 'none',
            parent: g.classList.contains('parent'), label: g.querySelector('text').textContent,
            fill: r.style.fill};
  };
  var fire = function (n, type) {
    find(n).querySelector('rect').dispatchEvent(new MouseEvent(type, {bubbles: true}));
  };
  var text = function (c) { return svg.querySelector('.' + c).textContent; };
  out.start = geom('user:work');
  out.nested = api.search('^(kernel|syscall):');  // kernel:ipc lies inside syscall:read
  out.matched = api.search('^kernel:');
  out.matched_text = text('matched');
  out.search_text = text('search');
  out.hit = geom('kernel:ipc');
  out.miss = geom('user:work');
  fire('syscall:read', 'click');
  out.zoom = {read: geom('syscall:read'), ipc: geom('kernel:ipc'), work: geom('user:work'),
              p: geom('process:p'), idle: geom('idle:idle'),
              reset: svg.querySelector('.reset').classList.contains('hide')};
  fire('kernel:ipc', 'mouseover');
  out.details = text('details');
  window.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));
  out.after = {work: geom('user:work'), matched_text: text('matched'),
               reset: svg.querySelector('.reset').classList.contains('hide')};
} catch (e) { out.errors.push('test: ' + e); }
document.getElementById('out').textContent = JSON.stringify(out);
</script></body></html>
"""


def test_script_zooms_searches_and_shows_details(tmp_path):
    svg = tmp_path / "flame.svg"
    flame.write_svg(STACKS, svg)
    page = tmp_path / "page.html"
    body = svg.read_text("utf-8").split("?>", 1)[1]  # inline: without the XML declaration
    page.write_text(PAGE.replace("SVG", body, 1), "utf-8")
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    found = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
    assert found and found.group(1), run.stderr[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert out["errors"] == []
    plot = flame.WIDTH - 2 * flame.PAD
    assert out["start"]["w"] == pytest.approx(plot / 2, abs=0.01) and out["start"]["shown"]
    assert out["nested"] == 30_000 and out["matched"] == 30_000
    assert out["matched_text"] == "Matched: 30,000 cycles (30.00%)"
    assert out["search_text"] == "Clear search"
    assert out["hit"]["fill"].replace(" ", "") == flame.SEARCH_FILL and out["miss"]["fill"] == ""
    zoom = out["zoom"]  # syscall:read full width, its child too, its ancestors dimmed
    for frame in ("read", "ipc", "p"):
        assert zoom[frame]["x"] == pytest.approx(flame.PAD) and zoom[frame]["w"] == plot
    assert zoom["read"]["label"] == "read" and not zoom["read"]["parent"] and zoom["p"]["parent"]
    assert not zoom["work"]["shown"] and not zoom["idle"]["shown"]
    assert zoom["reset"] is False  # the Reset zoom control appears
    assert out["details"] == "kernel:ipc | 30,000 cycles (30.00%)"
    after = out["after"]  # Escape: back to the whole graph, search cleared
    assert after["work"]["shown"] and after["work"]["w"] == pytest.approx(plot / 2, abs=0.01)
    assert after["work"]["label"] == out["start"]["label"] == "work"
    assert after["matched_text"] == "" and after["reset"] is True

"""The commands README.md and docs/*.md mark as runnable run, and print what the docs quote.

A fenced block right after a line `<!-- test -->` (an HTML comment: GitHub shows nothing of it)
is run:

- a ```console block: each `$ COMMAND` line is a command (a line ending in `\\` goes on on the
  next), and the lines after it, up to the next `$`, must each be a line of what the command
  printed, stdout or stderr (`...` stands for lines not shown; runs of spaces count as one, so
  aligned columns may be realigned). Figures are compared exactly: runs are deterministic.
- a ```python block: a script, run with this checkout's Python;
- any other block: a bash script (`set -e -o pipefail`).

Each must exit 0. `<!-- test: write NAME -->` before a block writes its text to the file NAME
instead, for the blocks after it (a budgets file, a system file). The blocks of one page run in
order in one directory, /tmp/hmk-docs-XXXXXXXX/pNN, with `hmk` (`python -m hmk`) and `python`
on PATH and `hmk/` a copy of this checkout's package: a bundled program's absolute path is part
of its memory, so its figures are the same wherever the checkout is (in a directory whose path
has another length they may differ by a few cycles). Mark only what takes seconds and needs no
network: these run with the rest of the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARK = re.compile(r"<!-- test(?::\s*write\s+(\S+))?\s*-->")
TIMEOUT = 300  # seconds a block may take before it counts as hung


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository
    line: int  # the opening fence's line, from 1
    info: str  # the fence's info string: console, python, toml, ...
    text: str
    write: str | None  # <!-- test: write NAME -->: the file to write the text to

    def __str__(self):
        return f"{self.page}:{self.line}"


def blocks(page: Path, root: Path = ROOT) -> list[Block]:
    """The marked blocks of a page, in order; ValueError for a mark with no block after it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        mark = MARK.fullmatch(lines[i].strip())
        i += 1
        if not mark:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            raise ValueError(f"{page.name}:{i}: a test mark with no fenced block after it")
        start, info = i + 1, lines[i][3:].strip()
        end = next((j for j in range(start, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{page.name}:{start}: a marked block that is never closed")
        text = "\n".join(lines[start:end]) + "\n"
        found.append(Block(str(page.relative_to(root)), start, info, text, mark.group(1)))
        i = end + 1
    return found


def commands(text: str) -> list[tuple[str, list[str]]]:
    """A console block's (command, lines it must print)."""
    out: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + next(lines, "").lstrip("> ")
            out.append((command, []))
        elif out and line.strip() and line.strip() != "...":
            out[-1][1].append(line)
        elif not out and line.strip():
            raise ValueError(f"output before any command: {line!r}")
    return out


def missing(expected: list[str], printed: str) -> list[str]:
    """The expected lines that are not lines of `printed` (runs of spaces as one)."""
    shown = {" ".join(line.split()) for line in printed.splitlines()}
    return [line for line in expected if " ".join(line.split()) not in shown]


@pytest.fixture(scope="module")
def workdir():
    """A page's directory (made on first use): `hmk`, `python` on PATH, hmk's copy beside it."""
    root, made = _root(), {}

    def page_dir(page: str) -> Path:
        if page not in made:
            made[page] = _page_dir(root, len(made))
        return made[page]

    yield page_dir
    shutil.rmtree(root, ignore_errors=True)


def _root() -> Path:
    """/tmp/hmk-docs-XXXXXXXX: a copy of this checkout's hmk package and the PATH's shims. Its
    path has a fixed length wherever the checkout and $TMPDIR are: a bundled program's absolute
    path is part of its memory, and so of the cycles a doc quotes."""
    root = Path(tempfile.mkdtemp(prefix="hmk-docs-", dir="/tmp"))
    assert len(root.name) == len("hmk-docs-") + 8, root
    shutil.copytree(ROOT / "hmk", root / "hmk", ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    (root / "hardware_profiles").symlink_to(ROOT / "hardware_profiles")  # hmk's, beside it
    (root / "bin").mkdir()
    for name, argv in (("hmk", f'"{sys.executable}" -m hmk'), ("python", f'"{sys.executable}"')):
        shim = root / "bin" / name
        shim.write_text(f'#!/bin/sh\nexec {argv} "$@"\n')
        shim.chmod(0o755)
    return root


def _page_dir(root: Path, n: int) -> Path:
    """root/pNN, where a page's commands run: what the docs name by relative paths is there."""
    work = root / f"p{n:02d}"
    work.mkdir()
    (work / "hmk").symlink_to(root / "hmk")
    for name in ("examples", "workloads", "hardware_profiles"):
        (work / name).symlink_to(ROOT / name)
    return work


def run(command: list[str], work: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{work.parent / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(work.parent)
    env.pop("COLUMNS", None)
    return subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def check(block: Block, work: Path) -> list[str]:
    """What is wrong with a block run in `work`: [] when it ran as the page says."""
    if block.write:
        (work / block.write).write_text(block.text)
        return []
    if block.info == "python":
        script = work / f".block{block.line}.py"
        script.write_text(block.text)
        runs = [([sys.executable, str(script)], [])]
    elif block.info == "console":
        runs = [(["bash", "-o", "pipefail", "-c", c], want) for c, want in commands(block.text)]
    else:
        runs = [(["bash", "-e", "-o", "pipefail", "-c", block.text], [])]
    problems = []
    for command, want in runs:
        done = run(command, work)
        printed = done.stdout + done.stderr
        said = f"{command[-1]!r} printed:\n{printed}"
        if done.returncode != 0:
            problems.append(f"exit status {done.returncode}: {said}")
        elif lost := missing(want, printed):
            problems.append("not printed:\n" + "\n".join(lost) + f"\n{said}")
    return problems


MARKED = [b for page in PAGES for b in blocks(page)]


@pytest.mark.parametrize("block", MARKED, ids=str)
def test_a_marked_block_runs_as_the_page_says(block, workdir):
    # the files the page's blocks before this one write, written (again)
    work = workdir(block.page)
    for earlier in MARKED:
        if earlier.page == block.page and earlier.line < block.line and earlier.write:
            check(earlier, work)
    problems = check(block, work)
    assert not problems, f"{block}: " + "\n".join(problems)


def test_the_pages_a_user_reads_first_have_runnable_blocks():
    pages = {b.page for b in MARKED}
    for page in ("README.md", "docs/systems.md", "docs/budgets.md", "docs/stats.md"):
        assert page in pages, page
    quoted = [b for b in MARKED if b.info == "console" and any(w for _, w in commands(b.text))]
    assert len(quoted) >= 4


def _console(text: str) -> Block:
    return Block("page.md", 1, "console", text, None)


def test_a_wrong_figure_is_caught(workdir):
    """The check can fail: a quoted figure one off, a line that is not there, a command that
    fails; and it passes the block as printed."""
    work = workdir("a page of this test")
    good = "$ hmk run hmk/workloads/bin/exitcode 0\n"
    printed = run(["bash", "-c", "hmk run hmk/workloads/bin/exitcode 0"], work).stderr
    first = printed.splitlines()[0]
    cycles = int(re.search(r"hmk: ([\d,]+) cycles", first).group(1).replace(",", ""))
    assert check(_console(good + first + "\n"), work) == []
    wrong = first.replace(f"{cycles:,}", f"{cycles + 1:,}")
    assert "not printed:\n" + wrong in check(_console(good + wrong + "\n"), work)[0]
    failed = check(_console("$ hmk run hmk/workloads/bin/exitcode 3\n"), work)
    assert failed[0].startswith("exit status 3")


def test_marks_are_read_as_written(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n<!-- test -->\n```console\n$ a \\\n> b\nout 1\n...\n$ c\n```\n"
        "<!-- test: write x.toml -->\n```toml\nk = 1\n```\n```\nunmarked\n```\n"
    )
    first, second = blocks(page, tmp_path)
    assert (first.info, first.line, first.write) == ("console", 3, None)
    assert commands(first.text) == [("a b", ["out 1"]), ("c", [])]
    assert (second.info, second.text, second.write) == ("toml", "k = 1\n", "x.toml")
    page.write_text("<!-- test -->\nno block\n")
    with pytest.raises(ValueError, match="no fenced block"):
        blocks(page, tmp_path)

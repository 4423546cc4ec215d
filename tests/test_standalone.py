"""The repository stands on its own: a reader of a clone can check every source it cites, so no
file refers to the team's private notes or to work items, only to sources anyone can read
(docs/sources.md)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# what a clone does not have: notes outside the repository (spelled in pieces, so that this file
# does not cite them itself), and work items by number
NOTES = ("../" + "shared", "hm" + "-brief", "hardware" + "-data.md", "design" + "-notes.md")
FORBIDDEN = re.compile(
    "|".join(map(re.escape, NOTES)) + r"|\bissues? #?\d+(?![.\d])", re.IGNORECASE
)
SKIP = {Path(__file__).resolve()}


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_file_cites_private_notes_or_work_items():
    found = []
    for path in _tracked():
        if path.resolve() in SKIP or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a binary (the bundled programs)
        for n, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not found, "\n".join(found)


def test_every_source_page_the_docs_cite_exists():
    """A doc that points at docs/NAME.md points at a page that is there."""
    missing = []
    for page in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for name in re.findall(r"docs/([\w-]+\.md)", page.read_text(encoding="utf-8")):
            if not (ROOT / "docs" / name).is_file():
                missing.append(f"{page.name} -> docs/{name}")
    assert not missing, missing

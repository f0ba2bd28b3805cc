"""The README stays short and puts the set-up first; performance figures are never typed by hand."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_is_at_most_150_lines_with_the_two_setup_commands_near_the_top():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, len(lines)
    first = {cmd: next(i for i, line in enumerate(lines) if line.startswith(f"make {cmd}")) for cmd in ("report", "test")}
    assert max(first.values()) < 30, first


def test_every_docs_file_the_readme_names_exists():
    text = (ROOT / "README.md").read_text()
    named = set(re.findall(r"`(docs/[\w.-]+\.md)`", text))
    assert named, "the README names its documentation"
    assert not [n for n in named if not (ROOT / n).is_file()]


def test_no_hand_typed_bench_ratios_in_readme_or_docs():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        assert not re.search(r"RATIO \w+ [0-9]", text), f"{path.name} quotes a bench ratio; run make bench instead"
        assert not re.search(r"\*\*[0-9][0-9,.]*×\*\*", text), f"{path.name} quotes a speed-up by hand"

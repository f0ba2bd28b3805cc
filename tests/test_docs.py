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


def _cited_paths_and_modules(text: str) -> tuple[set[str], set[str]]:
    paths = set(re.findall(r"(?<![\w/.])(analysis/[\w/]+\.py)\b", text))
    mods = set(re.findall(r":(?:mod|func|class|data|meth|attr):`~?(analysis(?:\.\w+)+)", text))
    return paths, mods


def _module_exists(dotted: str) -> bool:
    """``dotted`` names a module of the package, or an attribute defined in one."""
    parts = dotted.split(".")
    for n in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:n])
        src = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if src.is_file():
            if n == len(parts):
                return True
            name = re.escape(parts[n])
            return bool(re.search(rf"^\s*(?:async def|def|class) {name}\b|^{name}\s*[:=]|^from \S+ import .*\b{name}\b"
                                  rf"|^\s+{name}\s*[:=]|\b{name}\s*=", src.read_text(), re.M))
    return False


def test_every_path_and_module_the_docs_and_docstrings_cite_exists():
    """Docstrings and docs cite ``analysis/...py`` paths and ``:mod:`analysis...``` modules; after a
    move every one must still point at a file of this repository."""
    sources = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "analysis").rglob("*.py"))]
    missing = []
    for src in sources:
        paths, mods = _cited_paths_and_modules(src.read_text())
        missing += [f"{src.relative_to(ROOT)}: {p}" for p in sorted(paths) if not (ROOT / p).is_file()]
        missing += [f"{src.relative_to(ROOT)}: {m}" for m in sorted(mods) if not _module_exists(m)]
    assert not missing, missing


def test_the_citation_check_sees_a_stale_path():
    paths, mods = _cited_paths_and_modules("see analysis/report/answer.py and :mod:`analysis.models.study`")
    assert paths == {"analysis/report/answer.py"} and mods == {"analysis.models.study"}
    assert not (ROOT / "analysis/report/answer.py").is_file() and not _module_exists("analysis.models.study")

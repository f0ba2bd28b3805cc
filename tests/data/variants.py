"""Bad-input variants of real third-party files, for the loaders' row-level error tests."""

from __future__ import annotations

from pathlib import Path


def write_variant(source: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of ``source`` in ``tmp_path`` with the first ``old`` replaced by ``new`` (which must occur)."""
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    p = tmp_path / source.name
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p

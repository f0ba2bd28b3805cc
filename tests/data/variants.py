"""Bad-input variants of real third-party files, for the loaders' row-level error tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.errors import DataError


def write_variant(source: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of ``source`` in ``tmp_path`` with the first ``old`` replaced by ``new`` (which must occur)."""
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    p = tmp_path / source.name
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def assert_row_error(load: Callable[[Path], object], path: Path, column: str, phrase: str, row: str = "row ") -> None:
    """``load(path)`` raises a :class:`DataError` whose message names the file, ``column``, ``row``
    and says ``phrase``."""
    with pytest.raises(DataError) as err:
        load(path)
    msg = str(err.value)
    assert str(path) in msg and f"column {column!r}" in msg and row in msg and phrase in msg, msg

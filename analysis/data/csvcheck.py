"""The project's one table reader and row checker.

- :func:`check_csv_structure` locates structural CSV problems (ragged rows, bad encoding) by row,
  before parsing, so a user is told the row number, not a parser's advice.
- :func:`read_frame` reads a CSV (every column as text, cast later with row-level errors) or a
  parquet file; :func:`read_table` adds required and optional columns and a 1-based ``_row``.
- :func:`fail_first` (and :func:`row_checker`, its bound form) raises a :class:`DataError` naming
  file, column, row and value at the first row where a condition holds.

Readers of packaged, hashed bytes (``data.wikipedia``) parse from memory; the rules are the same.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import polars as pl

from analysis.errors import DataError


def check_csv_structure(path: Path) -> None:
    """Raise :class:`DataError` naming the first row whose field count differs from the header."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError("the file is empty (no header row)", file=str(path))
            for i, row in enumerate(reader, start=1):
                if row and len(row) != len(header):
                    raise DataError(
                        f"has {len(row)} fields but the header has {len(header)} "
                        "(an unquoted comma or a missing field?)",
                        file=str(path),
                        row=i,
                    )
    except UnicodeDecodeError as exc:
        raise DataError(f"is not valid UTF-8 text: {exc}", file=str(path)) from exc
    except csv.Error as exc:
        raise DataError(f"is not valid CSV: {exc}", file=str(path)) from exc


PARQUET_SUFFIXES = (".parquet", ".pq")


def read_frame(path: str | Path, csv_suffixes: tuple[str, ...] | None = (".csv",)) -> pl.DataFrame:
    """Read a parquet file (suffix in :data:`PARQUET_SUFFIXES`) or a CSV with every column as
    text.  ``csv_suffixes``: the suffixes read as CSV; ``None``: any other suffix.

    A missing file, an unsupported suffix, a ragged row, bad UTF-8 or an unreadable file is a
    :class:`DataError` naming the file (and the row where there is one)."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise DataError("file not found", file=src)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            return pl.read_parquet(path)
        except Exception as exc:  # polars/arrow raise many types for unreadable files
            raise DataError(f"cannot be read as parquet: {exc}", file=src) from None
    if csv_suffixes is not None and suffix not in csv_suffixes:
        raise DataError(f"unsupported format: use {' or '.join((*csv_suffixes, PARQUET_SUFFIXES[0]))}", file=src)
    check_csv_structure(path)
    try:
        return pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # polars raises several types for unreadable CSV
        raise DataError(f"cannot be read as CSV: {exc}", file=src) from None


def read_table(
    path: str | Path, columns: tuple[str, ...], what: str = "table", optional: tuple[str, ...] = ()
) -> tuple[pl.DataFrame, str]:
    """Read a CSV of strings with the required ``columns`` (plus those of ``optional`` present)
    and a 1-based ``_row`` index.

    Every structural problem (missing file, ragged row, unreadable CSV, missing columns, no
    rows) is a :class:`DataError` naming the file (and the row where there is one).
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise DataError(f"{what} file not found", file=src)
    raw = read_frame(path, csv_suffixes=None)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; expected {list(columns)}", file=src)
    if raw.height == 0:
        raise DataError(f"the {what} has no rows", file=src)
    present = [c for c in optional if c in raw.columns]
    return raw.select(*columns, *present).with_row_index("_row", offset=1), src


def row_checker(
    frame: pl.DataFrame | Callable[[], pl.DataFrame], src: str
) -> Callable[[str, pl.Expr, str], None]:
    """``fail(column, mask, message)`` raises a :class:`DataError` at the first row where
    ``mask`` holds, naming file, column, row and the offending value.

    ``frame`` may be a function returning the current frame (e.g. ``lambda: df``), for loaders
    that replace columns with parsed versions as they validate."""

    def fail(column: str, mask: pl.Expr, message: str) -> None:
        fail_first(frame() if callable(frame) else frame, mask, message, src, column)

    return fail


def fail_first(df: pl.DataFrame, mask: pl.Expr, message: str, src: str, column: str, row: str = "_row") -> None:
    """Raise :class:`DataError` at the first row of ``df`` where ``mask`` holds, naming file,
    ``column``, the row (from the 1-based index column ``row``) and the offending value."""
    hit = df.filter(mask).head(1)
    if not hit.is_empty():
        raise DataError(message, file=src, column=column, row=int(hit[row][0]), value=hit[column][0])

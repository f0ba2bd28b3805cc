"""Locate structural CSV problems (ragged rows, bad encoding) by row, before parsing."""

from __future__ import annotations

import csv
from pathlib import Path

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

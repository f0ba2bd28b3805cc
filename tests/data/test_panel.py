"""Reading and validating the rank panel: bad input stops with file, column and row."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analysis.data.panel import read_panel, validate_panel
from analysis.errors import DataError

GOOD = """date,store,country,chart,app_id,app_name,rank
2021-01-01,ios,us,top_free_overall,a,A,1
2021-01-01,ios,us,top_free_overall,b,B,2
2021-01-02,ios,us,top_free_overall,a,A,2
"""


def write(tmp_path: Path, text: str, name: str = "panel.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_valid_csv_is_typed_and_sorted(tmp_path):
    df = read_panel(write(tmp_path, GOOD))
    assert df.schema["date"] == pl.Date and df.schema["rank"] == pl.Int64
    assert df.height == 3


def test_parquet_round_trip(tmp_path):
    df = read_panel(write(tmp_path, GOOD))
    df.write_parquet(tmp_path / "p.parquet")
    assert read_panel(tmp_path / "p.parquet").equals(df)


@pytest.mark.parametrize(
    ("text", "column", "row", "phrase"),
    [
        (GOOD.replace("2021-01-02,ios", "2021-13-02,ios"), "date", 3, "unparseable date"),
        (GOOD.replace("a,A,2\n", "a,A,0\n"), "rank", 3, ">= 1"),
        (GOOD.replace("a,A,2\n", "a,A,2.5\n"), "rank", 3, "not an integer"),
        (GOOD.replace("a,A,2\n", "a,A,two\n"), "rank", 3, "not a number"),
        (GOOD.replace("2021-01-02,ios", "2021-01-02,android"), "store", 3, "unknown store"),
        (GOOD.replace("2021-01-02,ios,us", "2021-01-02,ios,USA"), "country", 3, "ISO"),
        (GOOD + "2021-01-02,ios,us,top_free_overall,a,A,3\n", "app_id", 4, "duplicate key"),
        (GOOD + "2021-01-02,ios,us,top_free_overall,b,B,2\n", "rank", 4, "two apps hold the same rank"),
    ],
)
def test_bad_values_name_file_column_and_row(tmp_path, text, column, row, phrase):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_panel(path)
    msg = str(err.value)
    assert str(path) in msg and f"column {column!r}" in msg and f"row {row}" in msg and phrase in msg


def test_missing_column_is_named(tmp_path):
    with pytest.raises(DataError, match=r"missing column\(s\) \['rank'\]"):
        read_panel(write(tmp_path, GOOD.replace(",rank", ",position")))


def test_ragged_row_is_located(tmp_path):
    with pytest.raises(DataError, match="row 2: has 8 fields"):
        read_panel(write(tmp_path, GOOD.replace("b,B,2", "b,B,2,extra")))


def test_empty_file_and_empty_table(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_panel(write(tmp_path, ""))
    with pytest.raises(DataError, match="no rows"):
        read_panel(write(tmp_path, GOOD.splitlines()[0] + "\n"))


def test_corrupt_parquet_is_reported(tmp_path):
    p = write(tmp_path, "not parquet", "x.parquet")
    with pytest.raises(DataError, match="cannot be read as parquet"):
        read_panel(p)


def test_validation_never_drops_rows(demo):
    assert validate_panel(demo.panel).height == demo.panel.height


@pytest.mark.parametrize(("rank", "depth", "column", "phrase"), [
    ("NaN", None, "rank", "rank is not a finite number"),
    ("inf", None, "rank", "rank is not a finite number"),
    ("1e300", None, "rank", "rank is larger than any chart (at most 1,000,000)"),
    ("2", "1e21", "chart_depth", "chart_depth is larger than any chart (at most 1,000,000)"),
    ("2", "inf", "chart_depth", "chart_depth is not a finite number"),
])
def test_non_finite_or_huge_ranks_and_depths_name_file_column_and_row(rank, depth, column, phrase, tmp_path):
    """Issue 20: these used to pass validation and fail inside the notebooks (Int64 overflow)."""
    head, *rows = GOOD.strip().splitlines()
    rows[1] = rows[1].rsplit(",", 1)[0] + f",{rank}"
    if depth is not None:
        head += ",chart_depth"
        rows = [r + f",{depth if i == 1 else 200}" for i, r in enumerate(rows)]
    path = write(tmp_path, "\n".join([head, *rows]) + "\n")
    with pytest.raises(DataError) as exc:
        read_panel(path)
    msg = str(exc.value)
    assert phrase in msg and str(path) in msg and column in msg and "row 2" in msg, msg

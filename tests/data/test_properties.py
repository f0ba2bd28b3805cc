"""Property-based tests of the loaders: no row is ever lost, and any bad input fails with a
DataError that names the right row and column (never another exception)."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.panel import KEY, read_panel
from analysis.errors import DataError

HEADER = "date,store,country,chart,app_id,app_name,rank"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw) -> list[dict]:
    """Valid panels: distinct keys and distinct ranks within each chart-day."""
    n_days = draw(st.integers(1, 5))
    apps = draw(st.lists(st.sampled_from(["Signal", "Telegram", "MeWe", "Parler", "Rumble"]), min_size=1, max_size=5, unique=True))
    rows = []
    for d in range(n_days):
        for store in draw(st.lists(st.sampled_from(["ios", "google_play"]), min_size=1, max_size=2, unique=True)):
            present = draw(st.lists(st.sampled_from(apps), min_size=0, max_size=len(apps), unique=True))
            ranks = draw(st.lists(st.integers(1, 200), min_size=len(present), max_size=len(present), unique=True))
            for app, rank in zip(present, ranks, strict=True):
                rows.append({"date": (date(2021, 1, 1) + timedelta(days=d)).isoformat(), "store": store, "country": "us",
                             "chart": "top_free_overall", "app_id": app.lower(), "app_name": app, "rank": str(rank)})
    return rows


def write_rows(rows: list[dict], directory: Path) -> Path:
    path = directory / "panel.csv"
    body = "\n".join(",".join(r[c] for c in HEADER.split(",")) for r in rows)
    path.write_text(HEADER + "\n" + body + ("\n" if rows else ""))
    return path


@SETTINGS
@given(panels())
def test_valid_panels_load_without_losing_rows(rows):
    with tempfile.TemporaryDirectory() as d:
        path = write_rows(rows, Path(d))
        if not rows:
            try:
                read_panel(path)
            except DataError as err:
                assert "no rows" in str(err)
            return
        df = read_panel(path)
        assert df.height == len(rows)
        assert df.select(pl.struct(list(KEY)).n_unique()).item() == len(rows)
        assert sorted(df["rank"].to_list()) == sorted(int(r["rank"]) for r in rows)


BAD_VALUES = {
    "date": ["2021-02-30", "yesterday", "2021/01/01", ""],
    "rank": ["0", "-3", "1.5", "x", ""],
    "store": ["android", "IOS", ""],
    "country": ["USA", "U", "1a", ""],
    "chart": ["top_paid", ""],
}


@SETTINGS
@given(panels().filter(bool), st.data())
def test_one_bad_value_is_reported_at_its_row_and_column(rows, data):
    column = data.draw(st.sampled_from(sorted(BAD_VALUES)))
    value = data.draw(st.sampled_from(BAD_VALUES[column]))
    i = data.draw(st.integers(0, len(rows) - 1))
    rows = [dict(r) for r in rows]
    rows[i][column] = value
    with tempfile.TemporaryDirectory() as d:
        path = write_rows(rows, Path(d))
        try:
            read_panel(path)
        except DataError as err:
            msg = str(err)
            assert str(path) in msg and f"column {column!r}" in msg and f"row {i + 1}" in msg, msg
        else:
            raise AssertionError(f"bad {column}={value!r} in row {i + 1} was accepted")


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_is_a_panel_or_a_data_error(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "panel.csv"
        path.write_text(text)
        try:
            read_panel(path)
        except DataError:
            pass


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_parquet_fail_cleanly(blob):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "panel.parquet"
        path.write_bytes(blob)
        try:
            read_panel(path)
        except DataError:
            pass

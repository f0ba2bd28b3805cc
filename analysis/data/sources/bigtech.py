"""The BigTech.fail event table (a second, independent event source) and confounder flags.

Source: https://github.com/steverusso/bigtech.fail (event pages' front matter, commit
``c0be504a``), licence **CC BY 4.0**, attribution "BigTech.fail (Steve Russo and contributors)";
read from ``../shared/data/bigtech_fail_events/`` (see its PROVENANCE.md), never copied.  The
site is partisan and its selection is editorial: a dated, sourced timeline, not a count.

Its ``date`` is the site's event date, usually the US day of the first report, not a UTC day: a
US-evening event may be on the next UTC day, so :func:`confounders` treats these dates as
accurate to +-1 day and says so.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from analysis.config import shared_data_dir
from analysis.data.csvcheck import read_table, row_checker

COLUMNS = ("date", "date_raw", "title", "tags", "corporations", "sources", "slug", "extra_sources",
           "n_sources", "url")
LICENCE = "CC BY 4.0 (BigTech.fail, Steve Russo and contributors)"
SOURCE_URL = "https://github.com/steverusso/bigtech.fail"
RELATIVE_PATH = Path("bigtech_fail_events") / "bigtech_fail_events.csv"


def load_bigtech(path: str | Path) -> pl.DataFrame:
    """Read and validate the BigTech.fail CSV; problems name file, column and row.

    Returns the columns typed: ``date`` as a date, ``tags`` and ``corporations`` as lists,
    ``n_sources`` as an integer (checked against the ``sources`` field).
    """
    df, src = read_table(path, COLUMNS, "BigTech.fail events")
    fail = row_checker(lambda: df, src)  # late binding: df is replaced as columns are parsed

    for col in ("date", "date_raw", "title", "slug", "url", "sources", "n_sources"):
        fail(col, pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""), "required value is empty")
    fail("slug", pl.col("slug").is_duplicated(), "duplicate slug")
    parsed = pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    fail("date", parsed.is_null(), "unparseable date (expected YYYY-MM-DD)")
    fail("date_raw", ~pl.col("date_raw").str.starts_with(pl.col("date")), "date_raw does not start with date")
    n = pl.col("n_sources").str.strip_chars().cast(pl.Int64, strict=False)
    fail("n_sources", n.is_null() | (n < 1), "n_sources is not a positive integer")
    fail("n_sources", n != pl.col("sources").str.split(" || ").list.len(),
         "n_sources does not match the number of ' || '-separated sources")
    fail("url", ~pl.col("url").str.starts_with("https://bigtech.fail/events/"), "url is not a bigtech.fail event URL")
    return (
        df.with_columns(
            parsed.alias("date"),
            n.alias("n_sources"),
            pl.col("tags").fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != "")),
            pl.col("corporations").fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != "")),
        )
        .drop("_row")
        .sort("date", "slug")
    )


def default_path() -> Path:
    """``../shared/data/bigtech_fail_events/bigtech_fail_events.csv`` (``EXODUS_SHARED_DATA``)."""
    return shared_data_dir() / RELATIVE_PATH


def source_record(path: str | Path) -> dict[str, str]:
    """Provenance row for a report's sources table (licence and attribution included)."""
    import hashlib

    data = Path(path).read_bytes()
    return {"name": "BigTech.fail events", "licence": LICENCE, "url": SOURCE_URL,
            "detail": f"{Path(path).name}, commit c0be504a of the site's repository; editorial, partisan selection",
            "sha256": hashlib.sha256(data).hexdigest()}


def confounders(curated: pl.DataFrame, bigtech: pl.DataFrame | None, when: date, days: int) -> pl.DataFrame:
    """Every event within ``days`` of the intervention ``when``, from both tables, in one frame.

    Columns: ``source`` (curated | bigtech.fail), ``event_id`` (id or slug), ``date`` (UTC date
    for curated rows, the site's date for bigtech.fail), ``date_end`` (last day of a curated
    event spread over days), ``days_from_intervention`` (signed days from ``when`` to the
    nearest day of the event; 0 when its span covers ``when``),
    ``date_precision`` (what the date means), ``kind`` (curated kind, or the bigtech tags),
    ``event``, ``url``.  A curated event spread over days counts if any of its days is within
    the window.  Sorted by date.
    """
    lo, hi = when - timedelta(days=days), when + timedelta(days=days)
    end = pl.coalesce("date_end_utc", "date_utc")
    cur = curated.filter((pl.col("date_utc") <= hi) & (end >= lo)).select(
        pl.lit("curated").alias("source"),
        "event_id",
        pl.col("date_utc").alias("date"),
        end.alias("date_end"),
        pl.lit("UTC day").alias("date_precision"),
        "kind",
        "event",
        pl.col("source_url").alias("url"),
    )
    parts = [cur]
    if bigtech is not None:
        parts.append(
            bigtech.filter(pl.col("date").is_between(lo, hi)).select(
                pl.lit("bigtech.fail").alias("source"),
                pl.col("slug").alias("event_id"),
                "date",
                pl.col("date").alias("date_end"),
                pl.lit("site date (local, +-1 day in UTC)").alias("date_precision"),
                pl.col("tags").list.join(";").alias("kind"),
                pl.col("title").alias("event"),
                "url",
            )
        )
    to_start = (pl.col("date") - pl.lit(when)).dt.total_days()
    to_end = (pl.col("date_end") - pl.lit(when)).dt.total_days()
    gap = pl.when(to_start > 0).then(to_start).when(to_end < 0).then(to_end).otherwise(0)
    return (
        pl.concat(parts)
        .with_columns(gap.alias("days_from_intervention"))
        .select("source", "event_id", "date", "date_end", "days_from_intervention", "date_precision", "kind",
                "event", "url")
        .sort("date", "source", "event_id")
    )

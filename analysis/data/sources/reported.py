"""Figures reported in the press (sparse ranks and downloads, each with a source and a quote).

Files: ``../shared/data/reported_app_metrics/reported_ranks.csv`` and ``reported_downloads.csv``
(see their PROVENANCE.md); read from there, never copied.  They are anchor points for checking a
panel (real or synthetic) and for overlaying on trajectories, not a time series: vendors
disagree, chart positions are intraday, and some rows presume the country (``country_stated``
= ``no``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analysis.data.csvcheck import read_table, row_checker

RANK_COLUMNS = ("date", "period", "store", "country", "country_stated", "chart", "app_name", "app_id", "rank",
                "source_url", "quote", "note")
DOWNLOAD_COLUMNS = ("record_id", "app_name", "metric", "value", "qualifier", "period_start", "period_end",
                    "period_label", "geography", "store", "data_provider", "claim_type", "source_url", "page_note",
                    "published", "published_basis", "quote")
RANK_STORES = ("ios", "google_play", "ios+google_play", "unspecified")
CLAIM_TYPES = ("third_party_estimate", "company_claim", "forecast", "press_statement")
RANKS_FILE = Path("reported_app_metrics") / "reported_ranks.csv"
DOWNLOADS_FILE = Path("reported_app_metrics") / "reported_downloads.csv"


def load_reported_ranks(path: str | Path) -> pl.DataFrame:
    """Reported chart positions, validated: ``date`` a date, ``rank`` a positive integer."""
    df, src = read_table(path, RANK_COLUMNS, "reported ranks")
    fail = row_checker(df, src)
    for col in ("date", "period", "store", "country", "chart", "app_name", "rank", "source_url"):
        fail(col, pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""), "required value is empty")
    d = pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    fail("date", d.is_null(), "unparseable date (expected YYYY-MM-DD)")
    fail("period", ~pl.col("period").is_in(["day", "month"]), "period must be 'day' or 'month'")
    fail("store", ~pl.col("store").is_in(RANK_STORES), f"unknown store; expected one of {RANK_STORES}")
    fail("country", ~pl.col("country").str.contains(r"^([a-z]{2}|unspecified)$"),
         "country must be a lower-case ISO code, 'ww' or 'unspecified'")
    fail("country_stated", ~pl.col("country_stated").is_in(["yes", "no"]), "country_stated must be yes or no")
    r = pl.col("rank").str.strip_chars().cast(pl.Int64, strict=False)
    fail("rank", r.is_null() | (r < 1), "rank must be a positive integer")
    fail("source_url", ~pl.col("source_url").str.contains(r"^https?://\S+$"), "source_url is not an http(s) URL")
    return df.with_columns(d.alias("date"), r.alias("rank")).drop("_row").sort("date", "app_name")


def load_reported_downloads(path: str | Path) -> pl.DataFrame:
    """Reported downloads/installs/users, validated: ``value`` a number, periods dates."""
    df, src = read_table(path, DOWNLOAD_COLUMNS, "reported downloads")
    fail = row_checker(df, src)
    for col in ("record_id", "app_name", "metric", "value", "claim_type", "source_url"):
        fail(col, pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""), "required value is empty")
    fail("record_id", pl.col("record_id").is_duplicated(), "duplicate record_id")
    v = pl.col("value").str.strip_chars().cast(pl.Float64, strict=False)
    fail("value", v.is_null(), "value is not a number")
    parsed = {}
    for col in ("period_start", "period_end"):
        parsed[col] = pl.col(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        fail(col, pl.col(col).is_not_null() & parsed[col].is_null(), "unparseable date (expected YYYY-MM-DD)")
    fail("period_end", parsed["period_end"] < parsed["period_start"], "period_end is before period_start")
    fail("claim_type", ~pl.col("claim_type").is_in(CLAIM_TYPES), f"unknown claim_type; expected one of {CLAIM_TYPES}")
    fail("source_url", ~pl.col("source_url").str.contains(r"^https?://\S+$"), "source_url is not an http(s) URL")
    return df.with_columns(v.alias("value"), parsed["period_start"].alias("period_start"),
                           parsed["period_end"].alias("period_end")).drop("_row").sort("record_id")


def source_record(path: str | Path) -> dict[str, str]:
    """Provenance row for a report's sources table."""
    import hashlib

    data = Path(path).read_bytes()
    return {"name": f"Figures reported in the press ({Path(path).name})",
            "licence": "facts with sources; quotes remain the publishers'",
            "url": "each row's source_url", "detail": "sparse anchor points, vendor estimates and claims",
            "sha256": hashlib.sha256(data).hexdigest()}


def overlay_ranks(reported: pl.DataFrame, store: str, chart: str = "top_free_overall") -> pl.DataFrame:
    """Daily reported positions in one store's chart (the points to draw on trajectories).

    Keeps ``period == "day"``, the given store and chart, and real country codes; columns
    ``date, store, country, app_name, rank, source_url, country_stated, note``.
    """
    return reported.filter(
        pl.col("period") == "day", pl.col("store") == store, pl.col("chart") == chart,
        pl.col("country").str.contains(r"^[a-z]{2}$") & (pl.col("country") != "ww"),
    ).select("date", "store", "country", "app_name", "rank", "source_url", "country_stated", "note")


def compare_with_panel(panel: pl.DataFrame, reported: pl.DataFrame, store: str,
                       chart: str = "top_free_overall") -> pl.DataFrame:
    """Each reported daily position next to the panel's rank for that app, day and chart.

    ``panel_rank`` is null where the panel has no row: ``in_chart`` then says whether the chart
    was recorded that day (the app was below its depth) or not (no data).  ``log_ratio`` is
    ``log(panel_rank / reported_rank)``.
    """
    rep = overlay_ranks(reported, store, chart).rename({"rank": "reported_rank"})
    p = panel.filter(pl.col("store") == store, pl.col("chart") == chart)
    days = p.select("date", "country").unique().with_columns(pl.lit(True).alias("chart_recorded"))
    return (
        rep.join(p.select("date", "country", "app_name", pl.col("rank").alias("panel_rank")),
                 on=["date", "country", "app_name"], how="left")
        .join(days, on=["date", "country"], how="left")
        .with_columns(
            pl.col("chart_recorded").fill_null(False),
            (pl.col("panel_rank") / pl.col("reported_rank")).log().alias("log_ratio"),
        )
        .sort("date", "country", "app_name")
    )

"""The shipped English Wikipedia top-100 chart (CC0) as a censored study panel.

``data/wikipedia_top100/`` holds the real daily top-100 articles of English Wikipedia for
2020-11-15 .. 2021-03-15 and the same weeks a year earlier (2019-12-01 .. 2020-02-29), and each
day's views at rank 100 (see its ``PROVENANCE.md``; Wikimedia pageview data are CC0 1.0).  Every
load verifies the files against ``SHA256SUMS``.

It is a chart like an app chart: depth 100, and an article absent on a day had **fewer views
than that day's #100** (the threshold file), so it is censored, never zero.  Two outcomes:

- ``rank`` (1 = most viewed; lower = more attention), right-censored at the chart depth 100:
  the rank panel (:data:`analysis.data.panel.SCHEMA` plus ``chart_depth``, ``views``,
  ``threshold``) on which the ITS notebooks run, exactly as on an app chart;
- ``views`` (higher = more attention: the **opposite sign** of rank), left-censored below the
  **day-specific** threshold ``views_at_rank_100``: :func:`views_grid` gives one row per article
  and day with ``views`` (null when censored), ``censored``, ``threshold`` and ``log_value``
  (log views when observed, log threshold when censored: the bound a censored likelihood needs).

Articles map to apps by :data:`ARTICLES`; the "country" is the language edition (``en``) and the
"store" is ``wikipedia``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analysis.config import DATA
from analysis.errors import DataError

DIR = DATA / "wikipedia_top100"
STORE = "wikipedia"
CHART = "top100_articles"
COUNTRY = "en"
DEPTH = 100
WINDOW_FILES = {  # window -> file, first day, last day
    "A": ("enwiki_top100_2020-11-15_2021-03-15.csv", date(2020, 11, 15), date(2021, 3, 15)),
    "B": ("enwiki_top100_2019-12-01_2020-02-29.csv", date(2019, 12, 1), date(2020, 2, 29)),
}
THRESHOLD_FILE = "enwiki_top100_threshold.csv"
CHECKSUMS = "SHA256SUMS"
ARTICLES: dict[str, str] = {  # English Wikipedia title -> app name (titles as on 2021-01-10)
    "Signal_(software)": "Signal",
    "Telegram_(software)": "Telegram",
    "WhatsApp": "WhatsApp",
    "Parler": "Parler",
    "Gab_(social_network)": "Gab",
    "Twitter": "Twitter",
}
LICENCE = "CC0 1.0 (Wikimedia pageview data)"
SOURCE_URL = "https://wikimedia.org/api/rest_v1/metrics/pageviews/top/en.wikipedia/all-access/YYYY/MM/DD"
PARLER_NOVEMBER = (date(2020, 11, 15), date(2020, 11, 16), date(2020, 11, 18))
PARLER_NOTE = ("Parler was in the top 100 on 2020-11-15, 11-16 and 11-18 (post-election attention): a real "
               "pre-period event. The default window (pre_days=34 before the first event term, X01 on "
               "2021-01-04: from 2020-12-01) leaves those days out of the baseline; -p pre_days=50 puts them in")


def read_checksums(directory: Path = DIR) -> dict[str, str]:
    """``SHA256SUMS`` (``<hex>  <file>`` per line) as file -> hash."""
    path = directory / CHECKSUMS
    if not path.is_file():
        raise DataError("checksum file not found: the shipped Wikipedia data are incomplete", file=str(path))
    out = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError("expected '<sha256>  <file>'", file=str(path), row=i, value=line)
        out[parts[1].lstrip("*")] = parts[0].lower()
    return out


def verified_bytes(directory: Path = DIR) -> dict[str, bytes]:
    """Every data file's bytes, checked against ``SHA256SUMS``; DataError names file and both hashes."""
    sums = read_checksums(directory)
    out = {}
    for name in [f for f, *_ in WINDOW_FILES.values()] + [THRESHOLD_FILE]:
        path = directory / name
        if name not in sums:
            raise DataError(f"{name} has no line in {CHECKSUMS}", file=str(directory / CHECKSUMS))
        if not path.is_file():
            raise DataError("file not found (shipped with the project: restore it with git)", file=str(path))
        data = path.read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if got != sums[name]:
            raise DataError(f"SHA-256 {got} does not match {sums[name]} recorded in {CHECKSUMS}; the file was "
                            "changed: restore it with git", file=str(path))
        out[name] = data
    return out


def _read_csv(data: bytes, name: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except Exception as exc:  # polars raises several types for unreadable CSV
        raise DataError(f"cannot be read as CSV: {exc}", file=name) from None
    missing = [c for c in schema if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {missing} (found {raw.columns})", file=name)
    df = raw.select(list(schema)).with_row_index("_row", offset=1)
    for col, dtype in schema.items():
        conv = (pl.col(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False) if dtype == pl.Date()
                else pl.col(col).cast(dtype, strict=False))
        df = df.with_columns(conv.alias(f"_{col}"))
        bad = df.filter(pl.col(f"_{col}").is_null()).head(1)
        if bad.height:
            raise DataError(f"not a valid {dtype}", file=name, column=col, row=int(bad["_row"][0]), value=bad[col][0])
    return df.select(pl.col(f"_{c}").alias(c) for c in schema)


def read_chart(data: bytes, name: str) -> pl.DataFrame:
    """One window file: date, rank, article, views (validated: ranks 1..100 once per day)."""
    df = _read_csv(data, name, {"date": pl.Date(), "rank": pl.Int64(), "article": pl.String(), "views": pl.Int64()})
    per_day = df.group_by("date").agg(pl.len().alias("n"), pl.col("rank").n_unique().alias("u"))
    bad = per_day.filter((pl.col("n") != DEPTH) | (pl.col("u") != DEPTH)).sort("date").head(1)
    if bad.height:
        raise DataError(f"{bad['n'][0]} rows / {bad['u'][0]} distinct ranks on {bad['date'][0]}, expected {DEPTH}",
                        file=name, column="rank")
    return df


def read_threshold(data: bytes, name: str = THRESHOLD_FILE) -> pl.DataFrame:
    """date, views_at_rank_100."""
    return _read_csv(data, name, {"date": pl.Date(), "views_at_rank_100": pl.Int64()})


def chart_frame(files: dict[str, bytes]) -> pl.DataFrame:
    """Both windows' charts in one frame with a ``window`` column ("A" main, "B" a year earlier)."""
    return pl.concat([read_chart(files[f], f).with_columns(pl.lit(w).alias("window"))
                      for w, (f, *_) in WINDOW_FILES.items()]).sort("date", "rank")


def rank_panel(chart: pl.DataFrame, threshold: pl.DataFrame, articles: dict[str, str] = ARTICLES) -> pl.DataFrame:
    """Chart rows of the mapped articles in the panel schema (observed days only: absent = censored)."""
    return (
        chart.filter(pl.col("article").is_in(list(articles)))
        .join(threshold.rename({"views_at_rank_100": "threshold"}), on="date", how="left")
        .select(
            "date", pl.lit(STORE).alias("store"), pl.lit(COUNTRY).alias("country"), pl.lit(CHART).alias("chart"),
            pl.col("article").alias("app_id"), pl.col("article").replace_strict(articles).alias("app_name"),
            "rank", pl.lit(DEPTH, pl.Int64).alias("chart_depth"), "views", "threshold",
        )
        .sort("date", "store", "country", "chart", "app_id")
    )


def chart_panel(chart: pl.DataFrame, threshold: pl.DataFrame, articles: dict[str, str] = ARTICLES) -> pl.DataFrame:
    """The whole top-100 chart of every day in the panel schema: the study panel.

    Every day holds 100 rows, so a mapped article absent on a day is **censored** (rank > 100)
    in :func:`analysis.data.censoring.complete_daily`, never a missing snapshot.  Mapped articles
    carry their app name; every other article keeps its title as ``app_name`` (prefixed
    ``article:`` only where a title equals a mapped app name).
    """
    apps = set(articles.values())
    mapped = pl.col("article").is_in(list(articles))
    name = (pl.when(mapped).then(pl.col("article").replace(articles))
            .when(pl.col("article").is_in(list(apps))).then(pl.lit("article:") + pl.col("article"))
            .otherwise(pl.col("article")))
    return (
        chart.join(threshold.rename({"views_at_rank_100": "threshold"}), on="date", how="left")
        .select(
            "date", pl.lit(STORE).alias("store"), pl.lit(COUNTRY).alias("country"), pl.lit(CHART).alias("chart"),
            pl.col("article").alias("app_id"), name.alias("app_name"),
            "rank", pl.lit(DEPTH, pl.Int64).alias("chart_depth"), "views", "threshold",
        )
        .sort("date", "store", "country", "chart", "rank")
    )


def views_grid(chart: pl.DataFrame, threshold: pl.DataFrame, articles: dict[str, str] = ARTICLES) -> pl.DataFrame:
    """One row per mapped article and chart day: the censored views outcome.

    ``views``/``rank`` are null on a day the article is not in the top 100; then ``censored`` is
    true and its views were below ``threshold`` (that day's views at rank 100; left-censoring on
    the views scale, right-censoring at rank > 100).  ``log_value`` is log(views), or
    log(threshold) on a censored day (an upper bound of the latent log views).
    """
    days = threshold.rename({"views_at_rank_100": "threshold"})
    arts = pl.DataFrame({"article": list(articles), "app_name": list(articles.values())})
    obs = chart.filter(pl.col("article").is_in(list(articles))).select("date", "article", "rank", "views")
    return (
        days.join(arts, how="cross")
        .join(obs, on=["date", "article"], how="left")
        .with_columns(
            pl.lit(STORE).alias("store"), pl.lit(COUNTRY).alias("country"),
            pl.col("views").is_null().alias("censored"),
            pl.when(pl.col("views").is_null()).then(pl.col("threshold")).otherwise(pl.col("views"))
            .cast(pl.Float64).log().alias("log_value"),
        )
        .select("date", "app_name", "country", "store", "article", "rank", "views", "censored", "threshold",
                "log_value")
        .sort("app_name", "date")
    )


@dataclass
class Top100:
    panel: pl.DataFrame  # rank panel (observed rows)
    views: pl.DataFrame  # views_grid: every article x day, censoring explicit
    chart: pl.DataFrame  # the whole top 100 of every day
    files: dict[str, bytes]  # file name -> verified bytes


def load_top100(directory: Path = DIR) -> Top100:
    """Verify and read the shipped slice (no network)."""
    files = verified_bytes(directory)
    chart = chart_frame(files)
    thr = read_threshold(files[THRESHOLD_FILE])
    missing = chart.select("date").unique().join(thr, on="date", how="anti")
    if missing.height:
        raise DataError(f"no threshold for {missing['date'].min()}", file=str(directory / THRESHOLD_FILE))
    return Top100(rank_panel(chart, thr), views_grid(chart, thr), chart, files)


def appearances(views: pl.DataFrame) -> pl.DataFrame:
    """Per app and window (A: 2020-11-15 .. 2021-03-15, B: a year earlier): days in the top 100,
    first and last day, best rank and most views (checked against PROVENANCE.md in the tests)."""
    win = pl.when(pl.col("date") >= WINDOW_FILES["A"][1]).then(pl.lit("A")).otherwise(pl.lit("B"))
    return (
        views.with_columns(win.alias("window")).filter(~pl.col("censored"))
        .group_by("app_name", "article", "window")
        .agg(pl.len().alias("days"), pl.col("date").min().alias("first"), pl.col("date").max().alias("last"),
             pl.col("rank").min().alias("best_rank"), pl.col("views").max().alias("max_views"))
        .sort("app_name", "window")
    )

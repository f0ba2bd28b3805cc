"""Check the rank-downloads exponent range against downloads reported in the press.

Under ``d = b * r^(-a)`` (Garg & Telang 2013) two apps on the same chart, day and country, with
ranks ``r1 < r2`` and downloads ``d1``, ``d2``, imply ``a = ln(d1 / d2) / ln(r2 / r1)``.  The
press figures (``../shared/data/reported_app_metrics``, see its PROVENANCE.md and
:mod:`analysis.data.sources.reported`) are sparse: only a few (rank, downloads) points fall on the same
day.  Every pair of such points is formed; a pair is *comparable* when both ranks come from the
same chart and both downloads from the same vendor (vendors disagree by a factor of two, e.g.
Parler US on 8 Jan 2021: Sensor Tower ~182,000 vs Apptopia ~94,700).  A "more than" downloads
figure makes the implied exponent a bound: on the worse-ranked app an upper bound ("at most"),
on the better-ranked one a lower bound ("at least").  The check is stated, not used to change
the range: one or two pairs cannot calibrate an exponent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.models.downloads.window import check_exponent

DOWNLOAD_METRICS = ("downloads", "first_time_downloads", "installs")
TABLE_SCHEMA = {
    "date": pl.Date, "country": pl.String, "app_better": pl.String, "rank_better": pl.Int64,
    "chart_better": pl.String, "downloads_better": pl.Float64, "vendor_better": pl.String,
    "app_worse": pl.String, "rank_worse": pl.Int64, "chart_worse": pl.String, "downloads_worse": pl.Float64,
    "vendor_worse": pl.String, "implied_exponent": pl.Float64, "side": pl.String, "comparable": pl.Boolean,
    "consistent_with_range": pl.Boolean, "records": pl.String,
}


@dataclass(frozen=True)
class ExponentCheck:
    """The pairs (``table``), the sentence stated in the report, and whether the data were there."""

    table: pl.DataFrame
    sentence: str
    available: bool


def points(ranks: pl.DataFrame, downloads: pl.DataFrame) -> pl.DataFrame:
    """Same-day (rank, downloads) points: a daily chart rank joined to a one-day downloads figure
    of the same app and country (a rank whose country is 'unspecified' joins any country)."""
    r = ranks.filter(pl.col("period") == "day").select(
        "date", "app_name", "chart", "rank", pl.col("country").alias("rank_country"))
    d = downloads.filter(pl.col("metric").is_in(DOWNLOAD_METRICS), pl.col("claim_type") != "forecast",
                         pl.col("period_start") == pl.col("period_end")).select(
        pl.col("period_start").alias("date"), "app_name", pl.col("geography").alias("country"),
        pl.col("value").alias("downloads"), pl.col("qualifier").fill_null(""),
        pl.col("data_provider").alias("vendor"), "record_id")
    j = d.join(r, on=["date", "app_name"], how="inner")
    return j.filter((pl.col("rank_country") == pl.col("country")) | (pl.col("rank_country") == "unspecified")) \
        .drop("rank_country").sort("date", "country", "rank", "app_name", "record_id")


def _side(q_better: str, q_worse: str) -> str:
    more_b, more_w = q_better.startswith("more_than"), q_worse.startswith("more_than")
    return {(False, False): "=", (False, True): "at most", (True, False): "at least"}.get((more_b, more_w), "unknown")


def implied_exponents(ranks: pl.DataFrame, downloads: pl.DataFrame, exponent: tuple[float, float]) -> pl.DataFrame:
    """Every pair of same-day, same-country points of different apps, with the implied exponent."""
    lo, hi = check_exponent(exponent)
    p = points(ranks, downloads).to_dicts()
    rows = []
    for b in p:
        for w in p:
            if (b["date"], b["country"]) != (w["date"], w["country"]) or b["app_name"] == w["app_name"] \
                    or not b["rank"] < w["rank"]:
                continue
            a = math.log(b["downloads"] / w["downloads"]) / math.log(w["rank"] / b["rank"])
            side = _side(b["qualifier"], w["qualifier"])
            ok = {"=": lo <= a <= hi, "at most": lo <= a, "at least": a <= hi}.get(side)
            rows.append({"date": b["date"], "country": b["country"],
                         "app_better": b["app_name"], "rank_better": b["rank"], "chart_better": b["chart"],
                         "downloads_better": b["downloads"], "vendor_better": b["vendor"],
                         "app_worse": w["app_name"], "rank_worse": w["rank"], "chart_worse": w["chart"],
                         "downloads_worse": w["downloads"], "vendor_worse": w["vendor"],
                         "implied_exponent": a, "side": side,
                         "comparable": b["chart"] == w["chart"] and b["vendor"] == w["vendor"],
                         "consistent_with_range": ok, "records": f"{b['record_id']}+{w['record_id']}"})
    return pl.DataFrame(rows, schema=TABLE_SCHEMA).sort("comparable", "implied_exponent", descending=[True, False])


def check_sentence(table: pl.DataFrame, exponent: tuple[float, float]) -> str:
    """The check in one or two sentences, every number taken from ``table``."""
    lo, hi = check_exponent(exponent)
    rng = f"{lo:g}\u2013{hi:g}"
    if table.height == 0:
        return (f"The downloads exponent range {rng} could not be checked: the press-reported figures hold no "
                "chart rank and one-day downloads of two apps on the same day and in the same country.")
    comp = table.filter(pl.col("comparable"))
    parts = []
    for r in comp.iter_rows(named=True):
        side = "" if r["side"] == "=" else f"{r['side']} "
        where = ("inside" if r["consistent_with_range"] else "outside") + f" the range {rng}"
        more_b = "more than " if r["side"] in ("at least", "unknown") else ""
        more_w = "more than " if r["side"] in ("at most", "unknown") else ""
        ranks = sorted(set(table.filter(pl.col("date") == r["date"], pl.col("country") == r["country"],
                                        pl.col("app_better") == r["app_better"])["rank_better"].to_list()))
        disputed = (f"; {r['app_better']}'s rank that day is also reported as "
                    + ", ".join(f"#{x}" for x in ranks if x != r["rank_better"])) if len(ranks) > 1 else ""
        parts.append(f"{r['app_better']} #{r['rank_better']} with {more_b}{r['downloads_better']:,.0f} downloads against "
                     f"{r['app_worse']} #{r['rank_worse']} with {more_w}{r['downloads_worse']:,.0f} ({r['vendor_better']}, "
                     f"{r['country'].upper()}, {r['date']:%-d %b %Y}) implies an exponent {side}"
                     f"{r['implied_exponent']:.2f}, {where}{disputed}")
    text = (f"Check of the downloads exponent range {rng} against press-reported downloads: "
            f"{table.height} same-day pair(s) of chart rank and downloads, {comp.height} from one chart and one "
            "vendor. ")
    text += ("; ".join(parts) + ". ") if parts else ""
    other = table.filter(~pl.col("comparable"))
    if other.height:
        text += (f"Mixing charts or vendors ({other.height} pair(s)), implied exponents run from "
                 f"{other['implied_exponent'].min():.2f} to {other['implied_exponent'].max():.2f}. ")
    verdict = comp["consistent_with_range"].to_list()
    if verdict and all(v is True for v in verdict):
        text += "The reported figures are consistent with the range, but too few to calibrate it."
    else:
        text += ("The reported figures are too few and too discordant to calibrate the exponent; downloads "
                 "multiples depend on this assumption and are best read as orders of magnitude.")
    return text


def exponent_check(reported_dir: str | Path | None = None,
                   exponent: tuple[float, float] = (0.8, 1.1)) -> ExponentCheck:
    """Run the check on ``reported_dir`` (default ``<shared data>/reported_app_metrics``); when the
    files are absent the check says so instead of failing."""
    from analysis.data.sources.reported import (
        DOWNLOADS_FILE,
        RANKS_FILE,
        load_reported_downloads,
        load_reported_ranks,
    )

    if reported_dir is None:
        from analysis.config import shared_data_dir

        reported_dir = shared_data_dir() / "reported_app_metrics"
    base = Path(reported_dir)
    rp, dp = base / RANKS_FILE.name, base / DOWNLOADS_FILE.name
    lo, hi = check_exponent(exponent)
    if not (rp.exists() and dp.exists()):
        return ExponentCheck(pl.DataFrame(schema=TABLE_SCHEMA),
                             f"The downloads exponent range {lo:g}\u2013{hi:g} was not checked against press-reported "
                             f"downloads: {rp if not rp.exists() else dp} is not available to this run.", False)
    table = implied_exponents(load_reported_ranks(rp), load_reported_downloads(dp), (lo, hi))
    return ExponentCheck(table, check_sentence(table, (lo, hi)), True)

"""Two outcomes for the same app and period: app-chart rank and Wikipedia pageviews.

Do they agree on **timing** (the day each peaks) and **size** (how far each moves from its own
pre-period baseline)?  :func:`agreement` computes both per (app, country); :func:`rank_and_views`
draws both series on a shared date axis, rank on a reversed log axis (up = more attention) and
views on a log axis (up = more attention), so the eye compares like with like.

Inputs are plain frames: ``ranks`` (date, app_name, country, rank) from any rank panel and
``views`` (date, app_name, country, views) from :mod:`analysis.data.sources.top100` or
:mod:`analysis.data.sources.pageviews` (the edition code, e.g. ``en``, is matched to the country column as
given: map editions to countries before calling if they differ).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import altair as alt
import polars as pl

from analysis.figures.common import WIDTH, iso_dates, title

KEYS = ("app_name", "country")


def agreement(ranks: pl.DataFrame, views: pl.DataFrame, intervention: date, post_days: int = 14) -> pl.DataFrame:
    """Per (app, country) present in both: peak day of each outcome (best rank, most views) in the
    post window and the lag between them (views peak minus rank peak, days); the size of each
    move as the change of the post-window extreme from the pre-period median, in logs with
    attention-positive signs (``rank_log_gain = log(median pre rank) - log(best post rank)``,
    ``views_log_gain = log(max post views) - log(median pre views)``); and the Spearman correlation
    of -log(rank) and log(views) on the days both are observed."""
    end = intervention + timedelta(days=post_days - 1)
    r = ranks.select(*KEYS, "date", "rank").drop_nulls()
    v = views.select(*KEYS, "date", "views").filter(pl.col("views") > 0)
    rows = []
    both = r.select(KEYS).unique().join(v.select(KEYS).unique(), on=list(KEYS))
    for app, country in both.sort(list(KEYS)).iter_rows():
        rs = r.filter(pl.col("app_name") == app, pl.col("country") == country)
        vs = v.filter(pl.col("app_name") == app, pl.col("country") == country)
        rpost, vpost = (x.filter(pl.col("date").is_between(intervention, end)) for x in (rs, vs))
        rpre, vpre = (x.filter(pl.col("date") < intervention) for x in (rs, vs))
        if rpost.is_empty() or vpost.is_empty():
            continue
        rpk = rpost.sort("rank", "date").row(0, named=True)
        vpk = vpost.sort(pl.col("views"), pl.col("date"), descending=[True, False]).row(0, named=True)
        j = rs.join(vs, on=[*KEYS, "date"])
        rho = (j.select(pl.corr(-pl.col("rank").log(), pl.col("views").log(), method="spearman")).item()
               if j.height >= 3 else None)
        rows.append({
            "app_name": app, "country": country,
            "rank_peak_date": rpk["date"], "views_peak_date": vpk["date"],
            "peak_lag_days": (vpk["date"] - rpk["date"]).days,
            "best_rank": rpk["rank"], "max_views": vpk["views"],
            "rank_log_gain": (math.log(rpre["rank"].median()) - math.log(rpk["rank"])) if rpre.height else None,
            "views_log_gain": (math.log(vpk["views"]) - math.log(vpre["views"].median())) if vpre.height else None,
            "days_both": j.height, "spearman": rho,
        })
    schema = {"app_name": pl.String, "country": pl.String, "rank_peak_date": pl.Date, "views_peak_date": pl.Date,
              "peak_lag_days": pl.Int64, "best_rank": pl.Int64, "max_views": pl.Int64, "rank_log_gain": pl.Float64,
              "views_log_gain": pl.Float64, "days_both": pl.Int64, "spearman": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def rank_and_views(ranks: pl.DataFrame, views: pl.DataFrame, synthetic: bool, rank_label: str = "app-chart rank",
                   intervention: date | None = None) -> alt.VConcatChart:
    """Both outcomes per app (colour) and country (columns): rank on a reversed log axis above,
    pageviews on a log axis below, sharing the date axis; a rule at the intervention."""
    r = iso_dates(ranks.select(*KEYS, "date", "rank").drop_nulls())
    v = iso_dates(views.select(*KEYS, "date", "views").filter(pl.col("views") > 0))
    x = alt.X("date:T", scale=alt.Scale(type="utc"), title=None)
    color = alt.Color("app_name:N", title="app")

    def panel(df: pl.DataFrame, field: str, scale: alt.Scale, ytitle: str) -> alt.Chart:
        base = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
            x=x, y=alt.Y(f"{field}:Q", scale=scale, title=ytitle), color=color,
            tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"), "app_name:N", "country:N",
                     f"{field}:Q"])
        layer = base
        if intervention is not None:
            rule = alt.Chart(pl.DataFrame({"date": [intervention.isoformat()]})).mark_rule(strokeDash=[4, 3]).encode(x=x)
            layer = base + rule
        return layer.properties(width=WIDTH, height=160)

    top = panel(r, "rank", alt.Scale(type="log", reverse=True), f"{rank_label} (log, 1 at top)")
    bottom = panel(v, "views", alt.Scale(type="log"), "Wikipedia pageviews (log)")
    return alt.vconcat(top, bottom).properties(
        title=title("Two outcomes: chart rank and Wikipedia pageviews", synthetic,
                    "up = more attention in both panels; agreement on timing and size is a triangulation"))

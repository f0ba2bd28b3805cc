"""Make the panel's missing days explicit: censored, removed from the store, or no snapshot.

The panel has a row only where an app was in a chart.  A model or a figure needs to know *why*
the other days are empty, because the reasons mean different things:

- ``censored``: the chart was recorded that day and the app was not in it, so its rank was
  greater than ``chart_depth`` (right-censoring).  Kept as a flag and the depth, never imputed
  and never silently dropped.
- ``removed``: the day is after the app's removal from that store (events table,
  ``platform_action`` rows): structural missingness, not a low rank.  Excluded from fitting and
  marked on figures.  By the events table's convention the removal day itself is the last day
  that can still have a rank (the evening-ET removals come after the noon-UTC snapshot).
- ``no_snapshot``: the chart itself was not recorded that day (scraper gap): unknown, neither
  censored nor observed.
- ``observed``: the app had a rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from analysis.data.panel import CHART_DAY
from analysis.errors import InputError

STATUSES = ("observed", "censored", "removed", "no_snapshot")
SERIES = ("store", "country", "chart", "app_name")
COLUMNS = ("date", "store", "country", "chart", "app_name", "app_id", "rank", "chart_depth",
           "status", "censored", "removed")


def chart_days(panel: pl.DataFrame, default_depth: int | None = None) -> pl.DataFrame:
    """The chart-days the panel has any row for, with their depth.

    Without a ``chart_depth`` column the depth is ``default_depth`` (an error if not given).
    """
    if "chart_depth" in panel.columns:
        depth = pl.col("chart_depth").max()
    elif default_depth is not None:
        depth = pl.lit(int(default_depth), dtype=pl.Int64)
    else:
        raise InputError("the panel has no chart_depth column: give default_depth")
    return panel.group_by(*CHART_DAY).agg(depth.alias("chart_depth")).sort(*CHART_DAY)


def complete_daily(
    panel: pl.DataFrame,
    apps: Sequence[str],
    start: date,
    end: date,
    removals: pl.DataFrame | None = None,
    default_depth: int | None = None,
) -> pl.DataFrame:
    """A daily grid, ``start``..``end``, for every app in ``apps`` and every chart of ``panel``.

    One row per (date, store, country, chart, app_name) with ``rank`` (null unless observed),
    ``chart_depth`` (null on ``no_snapshot`` days), ``status`` (see the module docstring) and
    the boolean flags ``censored`` and ``removed``.  ``removals`` has ``app_name``, ``store``,
    ``removed_on`` (as from :func:`analysis.data.events.removals`); days after ``removed_on``
    are ``removed`` whatever the chart shows.  An app that never enters a chart still gets its
    fully censored series: that is information, not an absence of data.
    """
    if start > end:
        raise InputError(f"empty window: start {start} is after end {end}")
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    charts = panel.select("store", "country", "chart").unique()
    grid = (
        charts.join(pl.DataFrame({"app_name": list(apps)}, schema={"app_name": pl.String}), how="cross")
        .join(days, how="cross")
    )
    ids = (
        panel.filter(pl.col("app_name").is_in(list(apps)))
        .group_by("store", "app_name").agg(pl.col("app_id").mode().sort().first())
    )
    observed = panel.select(*CHART_DAY, "app_name", "rank")
    out = (
        grid.join(chart_days(panel, default_depth), on=list(CHART_DAY), how="left")
        .join(observed, on=[*CHART_DAY, "app_name"], how="left")
        .join(ids, on=["store", "app_name"], how="left")
    )
    if removals is not None and removals.height:
        rem = removals.group_by("app_name", "store").agg(pl.col("removed_on").min())
        out = out.join(rem, on=["app_name", "store"], how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Date).alias("removed_on"))
    removed = pl.col("removed_on").is_not_null() & (pl.col("date") > pl.col("removed_on"))
    status = (
        pl.when(removed).then(pl.lit("removed"))
        .when(pl.col("rank").is_not_null()).then(pl.lit("observed"))
        .when(pl.col("chart_depth").is_null()).then(pl.lit("no_snapshot"))
        .otherwise(pl.lit("censored"))
    )
    return (
        out.with_columns(status.alias("status"))
        .with_columns(
            (pl.col("status") == "censored").alias("censored"),
            (pl.col("status") == "removed").alias("removed"),
            pl.col("chart_depth").cast(pl.Int64),
        )
        .select(COLUMNS)
        .sort("store", "country", "chart", "app_name", "date")
    )


def status_summary(completed: pl.DataFrame) -> pl.DataFrame:
    """Days per status for each series: how much of a series is censored or removed."""
    return (
        completed.group_by(*SERIES)
        .agg(*[(pl.col("status") == s).sum().alias(s) for s in STATUSES], pl.len().alias("days"))
        .with_columns((pl.col("censored") / (pl.col("days") - pl.col("removed") - pl.col("no_snapshot")))
                      .round(3).alias("share_censored"))
        .sort(*SERIES)
    )


def fit_rows(completed: pl.DataFrame) -> pl.DataFrame:
    """The rows a model may use: observed or censored (with depth); removed and no-snapshot
    days are left out, each for its own reason."""
    return completed.filter(pl.col("status").is_in(["observed", "censored"]))

"""Hourly snapshots -> one rank per app and UTC day, by a stated rule.

The archive snapshots each chart about every hour; the models want one value a day.  The rule
is a parameter, written as a string so that it can travel in locks, manifests and notebooks:

- ``nearest:H`` (default ``nearest:12``): the ranks of the day's snapshot nearest to H:00 UTC
  (ties: the earlier one).  Ranks stay distinct positions in one real chart.
- ``best``: each app's best (smallest) rank over the day's snapshots.
- ``median``: each app's lower median rank over the day's ``n`` snapshots, counting a snapshot
  where the app is absent as "below the chart": the ``ceil(n/2)``-th smallest rank.  An app
  absent from more than half of them has no median in the chart (censored).

Daily aggregates (``best``, ``median``) may tie and carry ``snapshot_utc`` null.  Their chart
depth is the smallest depth of the day's snapshots, and ranks beyond it are dropped, so that
"absent" means "below ``chart_depth``" for every app of that chart-day.  All times are UTC; a
day is a UTC calendar day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from analysis.data.panel import CHART_DAY, OPTIONAL, SCHEMA, validate_panel
from analysis.errors import InputError

CHART = ("store", "country", "chart")
DEFAULT_RULE = "nearest:12"


@dataclass(frozen=True)
class DailyRule:
    kind: str  # "nearest" | "best" | "median"
    hour: int | None = None

    def __str__(self) -> str:
        return f"nearest:{self.hour}" if self.kind == "nearest" else self.kind


def parse_rule(text: str) -> DailyRule:
    """``nearest:H`` (0 <= H <= 23), ``best`` or ``median``; InputError otherwise."""
    t = str(text).strip().lower()
    if t in ("best", "median"):
        return DailyRule(t)
    m = re.fullmatch(r"nearest:(\d{1,2})", t)
    if m and 0 <= int(m.group(1)) <= 23:
        return DailyRule("nearest", int(m.group(1)))
    raise InputError(f"unknown daily rule {text!r}: use nearest:H (H = UTC hour 0-23), best or median")


def snapshots_per_day(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Number of distinct snapshots per chart and UTC day (for coverage reports)."""
    return (
        snapshots.group_by(*CHART_DAY)
        .agg(pl.col("snapshot_utc").n_unique().alias("snapshots"))
        .sort(*CHART_DAY)
    )


def to_daily(snapshots: pl.DataFrame, rule: str = DEFAULT_RULE, source: str = "<snapshots>") -> pl.DataFrame:
    """Aggregate snapshot rows (:data:`analysis.data.sources.archive.SNAPSHOT_SCHEMA`) to a
    validated daily panel with ``chart_depth`` and ``snapshot_utc``."""
    r = parse_rule(rule)
    s = snapshots.with_columns(pl.col("snapshot_utc").dt.date().alias("date"))
    if r.kind == "nearest":
        target = pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(hours=r.hour)
        chosen = (
            s.select(*CHART_DAY, "snapshot_utc").unique()
            .with_columns((pl.col("snapshot_utc") - target).abs().alias("_dist"))
            .sort("_dist", "snapshot_utc")
            .group_by(*CHART_DAY, maintain_order=True).first()
            .select(*CHART_DAY, "snapshot_utc")
        )
        daily = s.join(chosen, on=[*CHART_DAY, "snapshot_utc"], how="semi")
    else:
        per_day = s.group_by(*CHART_DAY).agg(
            pl.col("snapshot_utc").n_unique().alias("_n"), pl.col("chart_depth").min().alias("_depth")
        )
        k = ((pl.col("_n") + 1) // 2) - 1 if r.kind == "median" else pl.lit(0)
        daily = (
            s.group_by(*CHART_DAY, "app_id")
            .agg(pl.col("rank").sort().alias("_ranks"), pl.col("app_name").last())
            .join(per_day, on=list(CHART_DAY))
            .with_columns(pl.col("_ranks").list.get(k, null_on_oob=True).alias("rank"))
            .filter(pl.col("rank").is_not_null(), pl.col("rank") <= pl.col("_depth"))
            .with_columns(pl.col("_depth").alias("chart_depth"),
                          pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("snapshot_utc"))
        )
    if daily.is_empty():
        raise InputError(f"{source}: no snapshots to aggregate")
    return validate_panel(daily.select(*SCHEMA, *OPTIONAL), source=f"{source} (daily rule {r})")

"""Select series and windows from the rank panel; name series consistently."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analysis.errors import InputError


def select_series(
    panel: pl.DataFrame,
    apps: Sequence[str],
    countries: Sequence[str],
    store: str,
    chart: str,
) -> pl.DataFrame:
    """Rows of ``panel`` for the chosen apps, countries, store and chart.

    An empty selection, or a requested value that the panel never contains, is an
    :class:`InputError` listing what is available (a typo should not produce an empty report).
    """
    if not apps:
        raise InputError("no apps selected: give at least one app name in 'apps'")
    if not countries:
        raise InputError("no countries selected: give at least one ISO code in 'countries'")
    for column, wanted in (("app_name", apps), ("country", countries), ("store", [store]), ("chart", [chart])):
        have = sorted(panel[column].unique().to_list())
        unknown = [w for w in wanted if w not in have]
        if unknown:
            raise InputError(f"{column} value(s) {unknown} not in the data; available: {have}")
    return panel.filter(
        pl.col("app_name").is_in(list(apps)),
        pl.col("country").is_in(list(countries)),
        pl.col("store") == store,
        pl.col("chart") == chart,
    )


def panel_summary(panel: pl.DataFrame, depth: int) -> pl.DataFrame:
    """Per app and country: observed span, days in the chart, best and median rank."""
    n_days = (panel["date"].max() - panel["date"].min()).days + 1
    return (
        panel.group_by("app_name", "country")
        .agg(
            pl.col("date").min().alias("first_ranked"),
            pl.col("date").max().alias("last_ranked"),
            pl.len().alias("days_in_chart"),
            pl.col("rank").min().alias("best_rank"),
            pl.col("rank").median().alias("median_rank"),
        )
        .with_columns(
            (pl.col("days_in_chart") / n_days).round(3).alias("share_of_days"),
            pl.lit(depth).alias("chart_depth"),
        )
        .sort("app_name", "country")
    )

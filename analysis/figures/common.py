"""Shared pieces of the figures: titles with the synthetic-data banner, UTC dates, event rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import polars as pl

from analysis.data.demo.world import SYNTHETIC_LABEL

VL_VERSION = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # the Vega-Lite of altair's schema, e.g. "6.4"

WIDTH = 560
KIND_COLORS = {
    "deplatforming": "#d62728",
    "platform_action": "#ff7f0e",
    "confound": "#9467bd",
    "other": "#7f7f7f",
}


def title(text: str, synthetic: bool, subtitle: str | Sequence[str] = "") -> alt.TitleParams:
    """Chart title, prefixed with the synthetic-data banner when the data are synthetic."""
    main = f"{SYNTHETIC_LABEL}: {text}" if synthetic else text
    sub = [subtitle] if isinstance(subtitle, str) else list(subtitle)
    return alt.TitleParams(main, subtitle=[s for s in sub if s], anchor="start",
                           color="#b00020" if synthetic else "black")


def utc_datetime(day: date) -> alt.DateTime:
    """``day`` at 00:00 UTC as a Vega-Lite DateTime.  A bare ``"YYYY-MM-DD"`` string as a
    ``datum`` on a UTC time scale is not placed on that date (the rule landed at the left edge)."""
    return alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)


def iso_dates(df: pl.DataFrame, col: str = "date") -> pl.DataFrame:
    """``col`` as ``YYYY-MM-DD`` strings: Vega-Lite parses them as UTC dates, never local time."""
    return df.with_columns(pl.col(col).dt.to_string("%Y-%m-%d"))


def event_rules(events: pl.DataFrame, start: date, end: date) -> alt.Chart:
    """Dashed vertical rules at the registry events between ``start`` and ``end``, coloured by kind."""
    ev = iso_dates(
        events.filter(pl.col("date_utc").is_between(start, end))
        .select(pl.col("date_utc").alias("date"), "event", "kind")
    )
    return (
        alt.Chart(ev)
        .mark_rule(strokeDash=[4, 3], opacity=0.8)
        .encode(
            x=alt.X("date:T", scale=alt.Scale(type="utc")),
            stroke=alt.Stroke("kind:N", scale=alt.Scale(domain=list(KIND_COLORS), range=list(KIND_COLORS.values())),
                              legend=alt.Legend(title="event kind")),
            tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"), "event:N", "kind:N"],
        )
    )


def with_segments(ranks: pl.DataFrame) -> pl.DataFrame:
    """Number the runs of consecutive days of each series, so lines break where ranks are missing."""
    return (
        ranks.sort("country", "app_name", "date")
        .with_columns(
            ((pl.col("date").diff().dt.total_days() != 1).fill_null(True).cum_sum())
            .over("country", "app_name").alias("segment")
        )
    )


def series_label(df: pl.DataFrame) -> pl.DataFrame:
    """A ``series`` column "App · CC" naming each app x country series on figures."""
    return df.with_columns(pl.concat_str(pl.col("app_name"), pl.lit(" · "), pl.col("country").str.to_uppercase())
                           .alias("series"))

"""Robustness figures (notebook 4): specification curve, placebo strip, alternative-cutoff heatmap,
interval coverage bars."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from analysis.figures.common import WIDTH, series_label, title
from analysis.figures.scale import MAX_ROWS, shown_note, top_units


def spec_curve(curve: pl.DataFrame, synthetic: bool, label: str, fields: Sequence[str], alpha: float) -> alt.Chart:
    """Specification curve: the level estimate under every specification, sorted, with its
    interval (top; the declared specification in red), and which choices each one made (bottom)."""
    c = curve.select("rank", "estimate", "ci_low", "ci_high", "baseline", "excludes_zero", *fields).with_columns(
        pl.col("estimate", "ci_low", "ci_high").round(5))
    x = alt.X("rank:O", axis=alt.Axis(labels=False, ticks=False), title=None)
    color = alt.condition("datum.baseline", alt.value("#d62728"), alt.value("#1f77b4"))
    base = alt.Chart(c).encode(x=x)
    top = alt.layer(
        alt.Chart().mark_rule(color="#999").encode(y=alt.datum(0)),
        base.mark_rule(opacity=0.6).encode(y=alt.Y("ci_low:Q", title="level change in log(rank)"), y2="ci_high:Q",
                                           color=color),
        base.mark_point(filled=True, size=30).encode(
            y="estimate:Q", color=color,
            tooltip=[*fields, alt.Tooltip("estimate:Q", format=".3f"), alt.Tooltip("ci_low:Q", format=".3f"),
                     alt.Tooltip("ci_high:Q", format=".3f")]),
        data=c,
    ).properties(width=WIDTH, height=200)
    long = c.select("rank", "baseline", *[pl.col(f).cast(pl.String) for f in fields]).unpivot(
        index=["rank", "baseline"], on=list(fields), variable_name="choice", value_name="value")
    bottom = alt.Chart(long).mark_point(filled=True, size=18, shape="square").encode(
        x=x, y=alt.Y("value:N", title=None), color=color,
        row=alt.Row("choice:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
    ).properties(width=WIDTH, height=alt.Step(10)).resolve_scale(y="independent")
    return alt.vconcat(top, bottom).properties(title=title(
        f"Specification curve: {label}", synthetic,
        [f"Each column is one specification, sorted by estimate; bars are {round((1 - alpha) * 100)}% intervals.",
         "Red: the declared specification. Squares below: the choices of each specification."]))


def placebo_strip(placebo: pl.DataFrame, actual: pl.DataFrame, synthetic: bool) -> alt.Chart:
    """Placebo-in-time distribution per series (grey ticks) against the real estimate (red)."""
    a = series_label(actual.filter(pl.col("term") == "level")).select("series", pl.col("estimate").round(5))
    a, total = top_units(a, ["series"], MAX_ROWS, pl.col("estimate").abs().max())
    p = series_label(placebo).select("series", pl.col("estimate").round(5),
                                      pl.col("placebo_date").dt.to_string("%Y-%m-%d")).join(a.select("series"), on="series",
                                                                                            how="semi")
    cap = shown_note(a.height, total, "series", "the largest |real estimate|")
    y = alt.Y("series:N", title=None, sort=sorted(a["series"].to_list()))
    ticks = alt.Chart(p).mark_tick(color="#888", opacity=0.6, thickness=1).encode(
        x=alt.X("estimate:Q", title="level change in log(rank)"), y=y, tooltip=["series:N", "placebo_date:N", "estimate:Q"])
    real = alt.Chart(a).mark_point(color="#d62728", filled=True, size=45, shape="diamond").encode(
        x="estimate:Q", y=y, tooltip=["series:N", "estimate:Q"])
    zero = alt.Chart().mark_rule(color="#999").encode(x=alt.datum(0))
    return alt.layer(zero, ticks, real).properties(width=WIDTH, height=alt.Step(11), title=title(
        "Placebo-in-time: fake interventions in the pre-period", synthetic,
        ["Grey ticks: level estimates at every admissible pre-period date (pre-period data only).",
         "Red diamonds: the estimate at the real intervention date.", cap]))


def cutoff_heatmap(cutoffs: pl.DataFrame, synthetic: bool, max_delta: float = 20.0) -> alt.Chart:
    """Which cutoff date fits best, per series: delta AIC from the best cutoff (0 = best; < 2:
    indistinguishable), with the curated events starting on each date."""
    c = series_label(cutoffs).with_columns(
        pl.col("cutoff").dt.to_string("%Y-%m-%d"),
        pl.col("delta_aic").clip(upper_bound=max_delta).round(2).alias("delta_aic_capped"),
        pl.col("events_on_date").fill_null("") if "events_on_date" in cutoffs.columns else pl.lit("").alias("events_on_date"),
        pl.col("estimate").round(4),
    )
    c, total = top_units(c, ["series"], MAX_ROWS, pl.col("estimate").abs().max())
    cap = shown_note(min(total, MAX_ROWS), total, "series", "the largest |estimate| over the cutoffs")
    base = alt.Chart(c).encode(x=alt.X("cutoff:O", title="candidate intervention date (UTC)"),
                               y=alt.Y("series:N", title=None))
    rect = base.mark_rect().encode(
        color=alt.Color("delta_aic_capped:Q", scale=alt.Scale(scheme="blues", reverse=True, domain=[0, max_delta]),
                        title="Δ AIC"),
        tooltip=["series:N", "cutoff:N", "delta_aic:Q", "estimate:Q", "events_on_date:N"])
    best = base.transform_filter("datum.indistinguishable").mark_text(text="●", color="#d62728", fontSize=9)
    return alt.layer(rect, best).properties(width=WIDTH, height=alt.Step(11), title=title(
        "Alternative cutoffs: which date does the break fit best?", synthetic,
        ["Same window, intervention moved day by day; colour: Δ AIC from the best date of each series.",
         "Red dots: dates within 2 AIC points of the best (the data cannot tell them apart).", cap]))


def coverage_bars(coverage: pl.DataFrame, synthetic: bool, alpha: float) -> alt.Chart:
    """Coverage of nominal intervals by error model (simulation or synthetic truth)."""
    nominal = 1 - alpha
    c = coverage.with_columns(pl.col("coverage").round(4))
    bars = alt.Chart(c).mark_bar().encode(
        x=alt.X("coverage:Q", scale=alt.Scale(domain=[0, 1]), title="share of intervals covering the truth"),
        y=alt.Y("errors:N", title="error model", sort=None),
        color=alt.condition(f"datum.coverage >= {nominal - 0.04}", alt.value("#2ca02c"), alt.value("#d62728")),
        tooltip=["errors:N", alt.Tooltip("coverage:Q", format=".1%"), "replicates:Q"])
    rule = alt.Chart().mark_rule(strokeDash=[4, 3]).encode(x=alt.datum(nominal))
    return alt.layer(bars, rule).properties(width=WIDTH, height=alt.Step(22), title=title(
        "Coverage of intervals by error model", synthetic,
        [f"Dashed: nominal {nominal:.0%}. Red bars: intervals too narrow (residual autocorrelation ignored)."]))

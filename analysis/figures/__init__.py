"""Altair figures: each a small function from polars frames to a chart.

Every figure built from synthetic data carries the "SYNTHETIC DEMO DATA" banner in its title.
Ranks are drawn on a reversed log axis (rank 1 at the top), the way charts are read.
Censoring is drawn, not left blank: censored days are ticks at the chart depth, removals a band.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import polars as pl

from analysis.data.demo import SYNTHETIC_LABEL

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


def _iso(df: pl.DataFrame, col: str = "date") -> pl.DataFrame:
    return df.with_columns(pl.col(col).dt.to_string("%Y-%m-%d"))


def _event_rules(events: pl.DataFrame, start: date, end: date) -> alt.Chart:
    ev = _iso(
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


def weekly_coverage(panel: pl.DataFrame, store: str) -> pl.DataFrame:
    """Per app, country and ISO week (Monday start) of the panel's span: the share of days with a
    rank, the median rank, and ``status`` ("charted" / "not charted").  Every app x country x
    week of the span has a row, so a week without any rank is an explicit "not charted" cell."""
    p = panel.filter(pl.col("store") == store).with_columns(pl.col("date").dt.truncate("1w").alias("week"))
    if p.is_empty():
        return pl.DataFrame(schema={"app_name": pl.String, "country": pl.String, "week": pl.Date,
                                    "week_end": pl.Date, "share": pl.Float64, "median_rank": pl.Float64,
                                    "status": pl.String})
    weeks = pl.DataFrame({"week": pl.date_range(p["week"].min(), p["week"].max(), "1w", eager=True)})
    grid = p.select("app_name", "country").unique().join(weeks, how="cross")
    counts = p.group_by("app_name", "country", "week").agg(
        (pl.col("rank").is_not_null().sum() / 7).clip(upper_bound=1.0).alias("share"),
        pl.col("rank").median().cast(pl.Float64).alias("median_rank"))
    return (
        grid.join(counts, on=["app_name", "country", "week"], how="left")
        .with_columns(pl.col("share").fill_null(0.0), (pl.col("week") + pl.duration(days=7)).alias("week_end"))
        .with_columns(pl.when(pl.col("share") > 0).then(pl.lit("charted")).otherwise(pl.lit("not charted"))
                      .alias("status"))
        .select("app_name", "country", "week", "week_end", "share", "median_rank", "status")
        .sort("app_name", "country", "week")
    )


def coverage_heatmap(panel: pl.DataFrame, store: str, depth: int, synthetic: bool) -> alt.Chart:
    """Share of days each app is in the chart, per country and ISO week.

    Shows at a glance where models can be fitted.  Each cell spans its week on the time axis
    (``x`` to ``x2``; a rect with only ``x`` on a time scale stretches across the whole axis,
    which drew Signal as charted all autumn); weeks without any rank are grey "not charted" cells.
    """
    weekly = weekly_coverage(panel, store).with_columns(pl.col("country").str.to_uppercase(),
                                                         pl.col("share").round(4))
    weekly = weekly.with_columns(pl.col("week", "week_end").dt.to_string("%Y-%m-%d"))
    return (
        alt.Chart(weekly)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("week:T", scale=alt.Scale(type="utc"), title="week (UTC)"),
            x2="week_end:T",
            y=alt.Y("app_name:N", title=None),
            color=alt.condition("datum.share > 0",
                                alt.Color("share:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="days in chart"),
                                alt.value("#eeeeee")),
            facet=alt.Facet("country:N", columns=2, title=None),
            tooltip=["app_name:N", "country:N", alt.Tooltip("week:T", format="%Y-%m-%d", formatType="utc"),
                     "status:N", alt.Tooltip("share:Q", format=".0%"), "median_rank:Q"],
        )
        .properties(width=260, height=150,
                    title=title(f"Chart coverage, {store} top free", synthetic,
                                f"share of days per week with a rank in the top {depth}; grey = not charted that week"))
    )


def its_chart(path: pl.DataFrame, intervention: date, app: str, synthetic: bool, transform: str) -> alt.Chart:
    """Observed vs counterfactual for one app, faceted by country (log-rank scale)."""
    cols = ["observed", "fitted", "counterfactual", "cf_low", "cf_high"]
    p = _iso(path.select("date", "country", "post", *cols)).with_columns(
        pl.col("country").str.to_uppercase(), pl.col(cols).round(4)
    )
    ylab = "log(rank)" if transform == "log" else "rank"
    base = alt.Chart().encode(x=alt.X("date:T", scale=alt.Scale(type="utc"), title="date (UTC)"))
    rev = alt.Scale(reverse=True, zero=False)
    band = base.transform_filter("datum.post").mark_area(opacity=0.25, color="#888").encode(
        y=alt.Y("cf_low:Q", scale=rev, title=f"{ylab} (lower = better)"), y2="cf_high:Q"
    )
    obs = base.mark_point(size=12, filled=True, color="#1f77b4").encode(
        y=alt.Y("observed:Q", scale=rev), tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"),
                                                   alt.Tooltip("observed:Q", format=".2f")]
    )
    fit = base.mark_line(color="#1f77b4").encode(y=alt.Y("fitted:Q", scale=rev), detail="post:N")
    cf = base.transform_filter("datum.post").mark_line(strokeDash=[5, 3], color="#444").encode(
        y=alt.Y("counterfactual:Q", scale=rev)
    )
    rule = (alt.Chart().transform_aggregate(n="count()")  # one rule per panel, not one per row
            .mark_rule(color="#d62728").encode(x=alt.datum(utc_datetime(intervention), type="temporal")))
    return (
        alt.layer(band, obs, fit, cf, rule, data=p)
        .properties(width=230, height=160)
        .facet(facet=alt.Facet("country:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(title=title(f"{app}: observed vs counterfactual", synthetic,
                                ["Points: observed; solid: fitted segmented model; dashed + band: counterfactual "
                                 "(no intervention) with its confidence interval.",
                                 f"Red rule: intervention date {intervention.isoformat()}."]))
    )


ERROR_LABELS = {"iid": "iid OLS", "hac": "Newey-West HAC", "ar1": "AR(1) errors, exact ML",
                "ar1-reml": "AR(1) errors, REML"}


def forest(effects: pl.DataFrame, term: str, synthetic: bool, alpha: float, truth: bool = False,
           errors: str = "hac") -> alt.Chart:
    """Forest plot of one effect term across apps (rows) and countries (colour)."""
    e = effects.filter(pl.col("term") == term).with_columns(pl.col("country").str.to_uppercase())
    base = alt.Chart(e).encode(
        y=alt.Y("app_name:N", title=None),
        yOffset=alt.YOffset("country:N"),
        color=alt.Color("country:N"),
    )
    bars = base.mark_rule().encode(x=alt.X("ci_low:Q", title=f"{term} change in log(rank) (negative = climbed)"),
                                   x2="ci_high:Q")
    pts = base.mark_point(filled=True, size=40).encode(
        x="estimate:Q",
        tooltip=["app_name:N", "country:N", alt.Tooltip("estimate:Q", format=".3f"),
                 alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f"),
                 alt.Tooltip("p_value:Q", format=".3g")],
    )
    zero = alt.Chart().mark_rule(color="#999").encode(x=alt.datum(0))
    layers = [zero, bars, pts]
    if truth and "true_value" in e.columns:
        layers.append(base.mark_tick(color="black", thickness=2, size=10).encode(x="true_value:Q"))
    return alt.layer(*layers).properties(
        width=WIDTH, height=alt.Step(9),
        title=title(f"{term.capitalize()} change at the intervention, all apps and countries", synthetic,
                    f"{int(round((1 - alpha) * 100))}% confidence intervals ({ERROR_LABELS.get(errors, errors + ' errors')})"
                    + ("; black ticks: true effect where a single true event is at the date" if truth else "")),
    )


def trajectories_with_status(
    completed: pl.DataFrame,
    events: pl.DataFrame,
    store: str,
    synthetic: bool,
    reported: pl.DataFrame | None = None,
) -> alt.Chart:
    """Daily rank per app and country with *why* days are empty drawn, not left blank.

    ``completed`` comes from :func:`analysis.data.censoring.complete_daily`.  Observed ranks are
    lines (reversed log axis); censored days are ticks at the chart depth ("below the chart",
    rank > depth); days after a store removal are a shaded band (structural missingness,
    excluded from fitting); no-snapshot days stay blank.  ``reported`` (from
    :func:`analysis.data.reported.overlay_ranks`) adds the press-reported positions as black
    diamonds with their sources.
    """
    c = completed.filter(pl.col("store") == store)
    depth = int(c["chart_depth"].max() or 1)
    start, end = c["date"].min(), c["date"].max()
    apps = sorted(c["app_name"].unique().to_list())
    color = alt.Color("app_name:N", title="app", scale=alt.Scale(domain=apps, scheme="tableau10"))
    x = alt.X("date:T", scale=alt.Scale(type="utc"), title="date (UTC)")
    y = alt.Y("rank:Q", scale=alt.Scale(type="log", reverse=True, domain=[1, depth]), title="rank (log scale)")
    obs = _iso(with_segments(c.filter(pl.col("status") == "observed").select("date", "country", "app_name", "rank")))
    cens = _iso(c.filter(pl.col("status") == "censored").select("date", "country", "app_name", pl.col("chart_depth").alias("rank")))
    removed = (
        c.filter(pl.col("removed"))
        .group_by("country", "app_name")
        .agg(pl.col("date").min().alias("from"), pl.col("date").max().alias("to"))
        .with_columns(pl.col("from").dt.to_string("%Y-%m-%d"), pl.col("to").dt.to_string("%Y-%m-%d"),
                      pl.concat_str(pl.col("app_name"), pl.lit(" removed from the store")).alias("label"))
    )
    charts = []
    for country in sorted(c["country"].unique().to_list()):
        layers = [
            alt.Chart(obs.filter(pl.col("country") == country)).mark_line(strokeWidth=1.3).encode(
                x=x, y=y, color=color, detail="segment:N",
                tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"), "app_name:N", "rank:Q"]),
            alt.Chart(cens.filter(pl.col("country") == country)).mark_tick(thickness=1, size=6, opacity=0.5).encode(
                x=x, y=y, color=color,
                tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"), "app_name:N",
                         alt.Tooltip("rank:Q", title="below chart depth")]),
            _event_rules(events, start, end),
        ]
        rem = removed.filter(pl.col("country") == country)
        if rem.height:
            layers.insert(0, alt.Chart(rem).mark_rect(opacity=0.12, color="#d62728").encode(
                x=alt.X("from:T", scale=alt.Scale(type="utc")), x2="to:T", tooltip=["label:N", "from:N", "to:N"]))
        if reported is not None:
            rep = _iso(reported.filter(pl.col("country") == country, pl.col("store") == store,
                                       pl.col("date").is_between(start, end)))
            if rep.height:
                layers.append(alt.Chart(rep).mark_point(shape="diamond", size=60, filled=True, color="black").encode(
                    x=x, y=y, tooltip=["app_name:N", "rank:Q", "source_url:N"]))
        charts.append(alt.layer(*layers).properties(width=WIDTH // 2, height=180, title=country.upper()))
    rows = [alt.hconcat(*charts[i : i + 2]) for i in range(0, len(charts), 2)]
    # One legend for the apps and one for the event kinds, not one per country panel.
    return alt.vconcat(*rows).resolve_scale(color="shared", stroke="shared").resolve_legend(
        color="shared", stroke="shared").properties(
        title=title(f"Daily rank, {store}, with censoring and removals", synthetic,
                    [f"Ticks at the bottom: the app was in no position of the chart (rank > {depth}, right-censored).",
                     "Red band: after removal from the store (excluded from fitting). Diamonds: ranks reported in the press."])
    )


# ---------------------------------------------------------------- robustness (issue 4)


def _series_label(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.concat_str(pl.col("app_name"), pl.lit(" · "), pl.col("country").str.to_uppercase())
                           .alias("series"))


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
    p = _series_label(placebo).select("series", pl.col("estimate").round(5),
                                      pl.col("placebo_date").dt.to_string("%Y-%m-%d"))
    a = _series_label(actual.filter(pl.col("term") == "level")).select("series", pl.col("estimate").round(5))
    y = alt.Y("series:N", title=None, sort=sorted(a["series"].to_list()))
    ticks = alt.Chart(p).mark_tick(color="#888", opacity=0.6, thickness=1).encode(
        x=alt.X("estimate:Q", title="level change in log(rank)"), y=y, tooltip=["series:N", "placebo_date:N", "estimate:Q"])
    real = alt.Chart(a).mark_point(color="#d62728", filled=True, size=45, shape="diamond").encode(
        x="estimate:Q", y=y, tooltip=["series:N", "estimate:Q"])
    zero = alt.Chart().mark_rule(color="#999").encode(x=alt.datum(0))
    return alt.layer(zero, ticks, real).properties(width=WIDTH, height=alt.Step(11), title=title(
        "Placebo-in-time: fake interventions in the pre-period", synthetic,
        ["Grey ticks: level estimates at every admissible pre-period date (pre-period data only).",
         "Red diamonds: the estimate at the real intervention date."]))


def cutoff_heatmap(cutoffs: pl.DataFrame, synthetic: bool, max_delta: float = 20.0) -> alt.Chart:
    """Which cutoff date fits best, per series: delta AIC from the best cutoff (0 = best; < 2:
    indistinguishable), with the curated events starting on each date."""
    c = _series_label(cutoffs).with_columns(
        pl.col("cutoff").dt.to_string("%Y-%m-%d"),
        pl.col("delta_aic").clip(upper_bound=max_delta).round(2).alias("delta_aic_capped"),
        pl.col("events_on_date").fill_null("") if "events_on_date" in cutoffs.columns else pl.lit("").alias("events_on_date"),
        pl.col("estimate").round(4),
    )
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
         "Red dots: dates within 2 AIC points of the best (the data cannot tell them apart)."]))


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

"""Data-overview figures (notebook 1): weekly chart coverage and rank trajectories with their
censored days and store removals drawn, not left blank."""

from __future__ import annotations

import altair as alt
import polars as pl

from analysis.figures.common import WIDTH, event_rules, iso_dates, title, with_segments
from analysis.figures.scale import MAX_LINES, MAX_ROWS, cap_panels, shown_note, top_units


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
    weekly, panels_note = cap_panels(weekly)
    weekly, total = top_units(weekly, ["app_name"], MAX_ROWS, pl.col("share").mean())
    cap = shown_note(min(total, MAX_ROWS), total, "apps", "the most charted")
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
                                [f"share of days per week with a rank in the top {depth}; grey = not charted that week",
                                 cap, panels_note]))
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
    :func:`analysis.data.sources.reported.overlay_ranks`) adds the press-reported positions as black
    diamonds with their sources.
    """
    c, panels_note = cap_panels(completed.filter(pl.col("store") == store))
    c, total = top_units(c, ["app_name"], MAX_LINES, -pl.col("rank").min())
    cap = shown_note(min(total, MAX_LINES), total, "apps", "the best-ranked")
    depth = int(c["chart_depth"].max() or 1)
    start, end = c["date"].min(), c["date"].max()
    apps = sorted(c["app_name"].unique().to_list())
    color = alt.Color("app_name:N", title="app", scale=alt.Scale(domain=apps, scheme="tableau10"))
    x = alt.X("date:T", scale=alt.Scale(type="utc"), title="date (UTC)")
    y = alt.Y("rank:Q", scale=alt.Scale(type="log", reverse=True, domain=[1, depth]), title="rank (log scale)")
    obs = iso_dates(with_segments(c.filter(pl.col("status") == "observed").select("date", "country", "app_name", "rank")))
    cens = iso_dates(c.filter(pl.col("status") == "censored").select("date", "country", "app_name", pl.col("chart_depth").alias("rank")))
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
            event_rules(events, start, end),
        ]
        rem = removed.filter(pl.col("country") == country)
        if rem.height:
            layers.insert(0, alt.Chart(rem).mark_rect(opacity=0.12, color="#d62728").encode(
                x=alt.X("from:T", scale=alt.Scale(type="utc")), x2="to:T", tooltip=["label:N", "from:N", "to:N"]))
        if reported is not None:
            rep = iso_dates(reported.filter(pl.col("country") == country, pl.col("store") == store,
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
                     "Red band: after removal from the store (excluded from fitting). Diamonds: ranks reported in the press.",
                     cap, panels_note])
    )

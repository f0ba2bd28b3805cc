"""Model figures (notebook 2): observed versus counterfactual, and forest plots of effects."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from analysis.figures.common import WIDTH, iso_dates, title, utc_datetime
from analysis.figures.scale import cap_panels


def its_chart(path: pl.DataFrame, intervention: date, app: str, synthetic: bool, transform: str) -> alt.Chart:
    """Observed vs counterfactual for one app, faceted by country (log-rank scale)."""
    cols = ["observed", "fitted", "counterfactual", "cf_low", "cf_high"]
    p = iso_dates(path.select("date", "country", "post", *cols)).with_columns(
        pl.col("country").str.to_uppercase(), pl.col(cols).round(4)
    )
    p, panels_note = cap_panels(p)
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
        .properties(title=title(f"{app}: comparison model only (one cutoff, not the answer): observed vs counterfactual",
                                synthetic,
                                ["Points: observed; solid: fitted segmented model; dashed + band: counterfactual "
                                 "(no intervention) with its confidence interval.",
                                 f"Red rule: intervention date {intervention.isoformat()}.", panels_note]))
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

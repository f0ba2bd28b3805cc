"""Decomposition figure: per app and country, each event's effect and the window average.

One panel per app (rows) and country (columns, with the store when several are shown); in each
panel one line per term: the window-average effect (all events together, against the
pre-period forecast) and every event term's level (or decay) change, on the log-rank scale
(negative = climbed the chart).  Estimates are points with their interval; bounds are one-sided
triangles at the bound, pointing to the side the effect lies on; terms that are not identified
are labelled.  Slopes (per day) are on another scale and stay in the answer table.  The x scale
and its domain are shared by every panel, and the colour legend (term kind) is drawn once.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from analysis.figures.common import title
from analysis.figures.scale import MAX_FACET_ROWS, cap_panels, shown_note, top_units

WINDOW = "window average"
COLORS = {WINDOW: "#000000", "deplatforming": "#d62728", "platform_action": "#ff7f0e", "confound": "#9467bd",
          "other": "#7f7f7f"}
ESTIMANDS = ("window_average", "level", "decay")


def figure_frame(answer: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """The rows drawn, with their plotting fields (``term``, ``group``, ``panel``, ``bound_at``,
    ``shape``); strings only as data, never as field names."""
    kinds = dict(events.select("event_id", "kind").iter_rows())
    prio = ("deplatforming", "platform_action", "confound", "other")

    def group(term: str | None) -> str:
        if term is None:
            return WINDOW
        ks = {kinds.get(t.strip(), "other") for t in term.split("+")}
        return next(k for k in prio if k in ks or k == "other")

    a = answer.filter(pl.col("estimand").is_in(ESTIMANDS))
    multi = a["store"].n_unique() > 1
    panel = pl.col("country").str.to_uppercase()
    if multi:
        panel = pl.concat_str(panel, pl.lit(" \u00b7 "), pl.col("store"))
    return a.with_columns(
        pl.when(pl.col("event_id").is_null()).then(pl.lit(WINDOW))
        .otherwise(pl.concat_str(pl.col("event_id"), pl.when(pl.col("estimand") == "decay").then(pl.lit(" (decay)"))
                                 .otherwise(pl.lit("")))).alias("term"),
        pl.col("event_id").replace_strict({t: group(t) for t in a["event_id"].drop_nulls().unique()},
                                          default=WINDOW, return_dtype=pl.String).alias("group"),
        panel.alias("panel"),
        pl.when(pl.col("kind") == "bound").then(pl.coalesce("ci_high", "ci_low")).alias("bound_at"),
        pl.when(pl.col("kind") == "bound").then(
            pl.when(pl.col("ci_low").is_null()).then(pl.lit("triangle-left")).otherwise(pl.lit("triangle-right"))
        ).alias("shape"),
        pl.when(pl.col("kind") == "not_identified").then(pl.lit("not identified")).alias("label"),
    ).select("app_name", "panel", "term", "group", "kind", "estimate", "ci_low", "ci_high", "bound_at", "shape",
             "label", "true_value", "sentence").with_columns(
        pl.col("estimate", "ci_low", "ci_high", "bound_at", "true_value").round(4))


def x_domain(f: pl.DataFrame, pad: float = 0.1) -> list[float]:
    """Shared x domain covering every drawn value and zero, padded on both sides."""
    vals = pl.concat([f[c].drop_nulls() for c in ("estimate", "ci_low", "ci_high", "bound_at", "true_value")]
                     + [pl.Series([0.0])])
    lo, hi = float(vals.min()), float(vals.max())
    span = (hi - lo) or 1.0
    return [round(lo - pad * span, 4), round(hi + pad * span, 4)]


MAX_WIDTH = 1280  # px: every report figure fits a 1,280 px screen without scrolling
_OVERHEAD, _GAP = 330, 20  # px: row labels and the shared term axis; space between panel columns


def fitting_panel_width(n_panels: int, widest: int = 150, narrowest: int = 50) -> int:
    """Panel width so that ``n_panels`` columns (one per country/store) and the labels fit in
    :data:`MAX_WIDTH` (measured on the rendered SVG by a test), at most ``widest``."""
    n = max(1, n_panels)
    return max(narrowest, min(widest, (MAX_WIDTH - _OVERHEAD - _GAP * n) // n))


def decomposition_chart(answer: pl.DataFrame, events: pl.DataFrame, synthetic: bool, level: float = 0.95,
                        panel_width: int | None = None, scale: str = "change in log(rank) (negative = climbed)"
                        ) -> alt.FacetChart:
    """The figure (module docstring) from the ``answer`` table and the event registry; ``scale``
    labels the x axis (e.g. log pageviews for a pageview study).  The term axis is shared (drawn
    once, left) and ``panel_width`` defaults to :func:`fitting_panel_width`, so the figure fits
    in :data:`MAX_WIDTH` px."""
    f, total = top_units(figure_frame(answer, events), ["app_name"], MAX_FACET_ROWS,
                         pl.when(pl.col("term") == WINDOW).then(pl.col("estimate").abs()).max())
    f, panels_note = cap_panels(f, "panel")
    cap = shown_note(min(total, MAX_FACET_ROWS), total, "apps", "the largest |window average|")
    if panel_width is None:
        panel_width = fitting_panel_width(f["panel"].n_unique())
    order = [WINDOW] + sorted(t for t in f["term"].unique().to_list() if t != WINDOW)
    xs, xt = alt.Scale(domain=x_domain(f), zero=False, nice=False), scale
    x = alt.X("estimate:Q", title=xt, scale=xs)
    y = alt.Y("term:N", sort=order, title=None)
    color = alt.Color("group:N", title="term", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())))
    tip = ["app_name:N", "panel:N", "term:N", "kind:N", alt.Tooltip("estimate:Q", format=".3f"),
           alt.Tooltip("ci_low:Q", format=".3f"), alt.Tooltip("ci_high:Q", format=".3f"), "sentence:N"]
    base = alt.Chart().encode(y=y)
    layers = [
        alt.Chart().mark_rule(color="#999").encode(x=alt.datum(0)),
        base.transform_filter("datum.kind === 'estimate'").mark_rule(strokeWidth=2).encode(
            x=alt.X("ci_low:Q", scale=xs, title=xt), x2="ci_high:Q", color=color),
        base.transform_filter("datum.kind === 'estimate'").mark_point(filled=True, size=40).encode(
            x=x, color=color, tooltip=tip),
        base.transform_filter("datum.kind === 'bound'").mark_point(filled=True, size=70).encode(
            x=alt.X("bound_at:Q", scale=xs, title=xt), color=color,
            shape=alt.Shape("shape:N", scale=None), tooltip=tip),
        base.transform_filter("datum.kind === 'bound' && isValid(datum.estimate)").mark_point(size=30).encode(
            x=x, color=color, tooltip=tip),
        base.transform_filter("datum.kind === 'not_identified'").mark_text(align="left", fontSize=9,
                                                                           color="#666").encode(
            x=alt.value(2), text="label:N", tooltip=tip),
    ]
    if synthetic and f["true_value"].drop_nulls().len():
        layers.append(base.transform_filter("isValid(datum.true_value)").mark_tick(
            color="black", thickness=2, size=10).encode(x=alt.X("true_value:Q", scale=xs, title=xt)))
    pct = round(level * 100)
    return alt.layer(*layers, data=f).properties(width=panel_width, height=alt.Step(12)).facet(
        row=alt.Row("app_name:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        column=alt.Column("panel:N", title=None),
    ).resolve_scale(x="shared", y="shared").properties(title=title(
        "The answer, decomposed: each event's effect and the window average", synthetic,
        [f"Points: estimates with {pct}% intervals; triangles: bounds (the effect lies on the side they point to);",
         "hollow circles: an estimate that is itself a bound (the app reached #1)"
         + ("; black ticks: true values" if synthetic else "") + ".",
         f"Window average: mean over the window of the outcome ({scale.split(' (')[0].removeprefix('change in ')}) "
         "minus the pre-period forecast.", cap, panels_note]))

"""Figures of the answer: the forest of the headline numbers.

:func:`forest_chart` draws the ``attribution`` table (:mod:`analysis.report.answer.headline`): apps on
rows, the groups *deplatforming*, *privacy shock* and *all events* side by side (one panel each),
countries as colours (six at most are easy to tell apart; beyond, the subtitle says so) offset within each app's row.  Each estimate is a point at its
multiple with its interval as a rule; a bound is a triangle at its limit pointing to the side the
effect lies on ("at least": right); not identified rows are left out (the headline table gives
their reasons).  The x axis is the multiple on a log scale, in the direction of more use (ranks
climbed or views rose), with a rule at 1 (no change); it is shared by the panels.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from analysis.data import outcome as O
from analysis.data.apps import app_order
from analysis.figures.common import title

GROUPS = ("deplatforming", "privacy_shock", "all_events")
LABELS = {"deplatforming": "deplatforming", "privacy_shock": "privacy shock", "all_events": "all events"}
MAX_COLOURS = 6


def forest_frame(table: pl.DataFrame, apps: Sequence[str] | None = None) -> pl.DataFrame:
    """The drawn rows: app, country (upper case), group label, kind, the multiple and its limits,
    the marker position of a bound (``bound_at``) and its shape."""
    f = table.filter(pl.col("group").is_in(GROUPS), pl.col("kind") != "not_identified",
                     pl.col("multiple").is_not_null())
    order = app_order(apps, f["app_name"].unique().to_list())
    f = f.with_columns(
        pl.col("group").replace_strict(LABELS, return_dtype=pl.String).alias("panel"),
        pl.when(pl.col("store") == "wikipedia").then(pl.col("country")).otherwise(pl.col("country").str.to_uppercase())
        .alias("place"),
        pl.when(pl.col("kind") == "bound").then(pl.coalesce("multiple_low", "multiple_high")).alias("bound_at"),
        pl.when(pl.col("kind") == "bound").then(
            pl.when(pl.col("multiple_low").is_not_null()).then(pl.lit("triangle-right"))
            .otherwise(pl.lit("triangle-left"))).alias("shape"),
        pl.col("app_name").replace_strict({a: i for i, a in enumerate(order)}, return_dtype=pl.Int64).alias("_o"),
    )
    return f.sort("_o", "place").select("app_name", "place", "panel", "kind", "multiple", "multiple_low",
                                        "multiple_high", "bound_at", "shape", "sentence").with_columns(
        pl.col("multiple", "multiple_low", "multiple_high", "bound_at").round(4))


def forest_chart(table: pl.DataFrame, outcome: str = "rank", apps: Sequence[str] | None = None,
                 synthetic: bool = False, width: int = 250) -> alt.FacetChart:
    """The forest figure (module docstring)."""
    f = forest_frame(table, apps)
    places = f["place"].unique(maintain_order=True).to_list()
    many = len(places) > MAX_COLOURS  # beyond six, colours are hard to tell apart: say so in the subtitle
    apps_order = f["app_name"].unique(maintain_order=True).to_list()
    lo = max(min(f.select(pl.min_horizontal("multiple", "multiple_low", "bound_at")).to_series().drop_nulls().min()
                 or 1.0, 1.0) / 1.5, 1e-3)
    hi = max(f.select(pl.max_horizontal("multiple", "multiple_high", "bound_at")).to_series().drop_nulls().max()
             or 1.0, 1.0) * 1.5
    ticks = [v for v in (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000) if lo <= v <= hi]
    axis = alt.Axis(values=ticks, format="~g")
    x = alt.X("multiple:Q", scale=alt.Scale(type="log", domain=[lo, hi]), axis=axis,
              title="multiple (above 1 = " + ("climbed the chart" if outcome != "views" else "more views") + ")")
    y = alt.Y("app_name:N", sort=apps_order, title=None)
    colour = alt.Color("place:N", sort=places, title="country" if outcome == "rank" else "edition",
                       scale=alt.Scale(scheme="tableau20" if many else "tableau10"))
    off = alt.YOffset("place:N", sort=places)
    tip = [alt.Tooltip("app_name:N", title="app"), alt.Tooltip("place:N", title="where"),
           alt.Tooltip("sentence:N", title="reading")]
    base = alt.Chart().encode(y=y, yOffset=off, color=colour, tooltip=tip)
    points = base.transform_filter(alt.datum.kind == "estimate").mark_point(filled=True, size=30).encode(x=x)
    rules = base.transform_filter(alt.datum.kind == "estimate").mark_rule().encode(
        x=alt.X("multiple_low:Q", scale=alt.Scale(type="log", domain=[lo, hi]), axis=axis), x2="multiple_high:Q")
    bounds = base.transform_filter(alt.datum.kind == "bound").mark_point(filled=True, size=60).encode(
        x=alt.X("bound_at:Q", scale=alt.Scale(type="log", domain=[lo, hi]), axis=axis),
        shape=alt.Shape("shape:N", scale=None))
    one = alt.Chart().mark_rule(color="#888", strokeDash=[3, 3]).encode(x=alt.datum(1.0))
    noun = O.NOUNS[O.check_outcome(outcome)]
    layer = alt.layer(one, rules, points, bounds, data=f.to_pandas()).properties(
        width=width, height=max(28, 4 * len(places) + 8) * len(apps_order))
    return layer.facet(column=alt.Column("panel:N", sort=[LABELS[g] for g in GROUPS], title=None)).properties(
        title=title(f"How much each group of events moved each app ({noun})", synthetic,
                    ["points: estimate with its 95% interval; triangles: bounds (at least); "
                     "not identified rows are left out",
                     f"{len(places)} places: more than {MAX_COLOURS} colours, read the table" if many else ""])
    ).resolve_scale(x="shared")


PATHS = {"onestep": "one-step-ahead fit (pre-period)", "fitted": "fitted, every term",
         "no_events": "counterfactual: no events", "privacy_only": "counterfactual: privacy shock only"}
PATH_COLOURS = {"observed": "#1f77b4", "below the chart (censored)": "#9ecae1", PATHS["onestep"]: "#ff7f0e",
                PATHS["fitted"]: "#000000", PATHS["no_events"]: "#7f7f7f", PATHS["privacy_only"]: "#9467bd"}


def model_frame(paths: pl.DataFrame, terms: pl.DataFrame, app: str) -> pl.DataFrame:
    """Long rows for one app: ``layer`` (observed, censored, a path or ``rule``), ``date`` (ISO),
    ``place``, ``value`` with ``low``/``high`` for the counterfactual bands, ``term`` on rules."""
    p = paths.filter(pl.col("app_name") == app).with_columns(
        pl.when(pl.col("store") == "wikipedia").then(pl.col("country")).otherwise(pl.col("country").str.to_uppercase())
        .alias("place"), pl.col("date").dt.to_string("%Y-%m-%d"))
    obs = p.select("place", "date", pl.when(pl.col("censored")).then(pl.lit("below the chart (censored)"))
                   .otherwise(pl.lit("observed")).alias("layer"), pl.col("observed").alias("value"))
    parts = [obs.with_columns(pl.lit(None, pl.Float64).alias("low"), pl.lit(None, pl.Float64).alias("high"))]
    for key, label in PATHS.items():
        lo, hi = (pl.col(f"{key}_low"), pl.col(f"{key}_high")) if f"{key}_low" in p.columns else (
            pl.lit(None, pl.Float64), pl.lit(None, pl.Float64))
        parts.append(p.filter(pl.col(key).is_not_null()).select(
            "place", "date", pl.lit(label).alias("layer"), pl.col(key).alias("value"), lo.alias("low"), hi.alias("high")))
    places = p["place"].unique(maintain_order=True)
    rules = terms.select(pl.col("first_snapshot").dt.to_string("%Y-%m-%d").alias("date"), pl.col("term_id").alias("term"),
                         (pl.int_range(pl.len()) + 1).cast(pl.String).alias("number"),
                         (6 + 9 * (pl.int_range(pl.len()) % 4)).alias("label_y"))
    rule_rows = pl.DataFrame({"place": places}).join(rules, how="cross").with_columns(pl.lit("rule").alias("layer"))
    out = pl.concat(parts, how="diagonal_relaxed").with_columns(pl.lit(None, pl.String).alias("term"))
    return pl.concat([out, rule_rows], how="diagonal_relaxed").with_columns(pl.col("value", "low", "high").round(4))


def model_chart(paths: pl.DataFrame, terms: pl.DataFrame, app: str, synthetic: bool = False,
                outcome: str = "rank") -> alt.FacetChart:
    """The answer's own model for one app, one panel per country: observed (censored days at the
    chart threshold, lighter), the pre-period one-step-ahead fit, the post-period fitted path and
    the two counterfactuals with their 95% bands; a labelled rule at each term's first snapshot."""
    f = model_frame(paths, terms, app)
    x = alt.X("date:T", scale=alt.Scale(type="utc"), title="date (UTC)")
    views = outcome == "views"
    ylab = {"rank": "log(rank), lower = higher in the chart", "attention": "log(pageview-chart rank)",
            "views": "log(daily pageviews)",
            "dp-views": "log(450e8 / daily pageviews), lower = more views"}[O.check_outcome(outcome)]
    yscale = alt.Scale(reverse=not views, zero=False)
    colour = alt.Color("layer:N", scale=alt.Scale(domain=list(PATH_COLOURS), range=list(PATH_COLOURS.values())),
                       title=None, legend=alt.Legend(orient="bottom", columns=3))
    base = alt.Chart().encode(x=x)
    is_ = lambda *names: alt.FieldOneOfPredicate(field="layer", oneOf=list(names))  # noqa: E731
    band = base.transform_filter(is_(PATHS["no_events"], PATHS["privacy_only"])).mark_area(opacity=0.18).encode(
        y=alt.Y("low:Q", scale=yscale, title=ylab), y2="high:Q", color=colour)
    lines = base.transform_filter(is_(*PATHS.values())).mark_line(strokeWidth=1.4).encode(
        y=alt.Y("value:Q", scale=yscale), color=colour, detail="layer:N")
    points = base.transform_filter(is_("observed", "below the chart (censored)")).mark_point(
        size=10, filled=True).encode(y=alt.Y("value:Q", scale=yscale), color=colour,
                                     tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"),
                                              "layer:N", alt.Tooltip("value:Q", format=".2f")])
    rules = base.transform_filter(alt.datum.layer == "rule").mark_rule(color="#d62728", strokeDash=[3, 3],
                                                                       opacity=0.7).encode(
        tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d", formatType="utc"), "term:N"])
    labels = base.transform_filter(alt.datum.layer == "rule").mark_text(
        baseline="middle", fontSize=9, color="#d62728").encode(
        text="number:N", y=alt.Y("label_y:Q", scale=None))
    return (alt.layer(band, lines, points, rules, labels, data=f.to_pandas())
            .properties(width=260, height=170)
            .facet(facet=alt.Facet("place:N", title=None), columns=3)
            .resolve_scale(y="independent")
            .properties(title=title(f"{app}: the answer's per-event model", synthetic, [
                "Orange: one-step-ahead fit before the first event; black: fitted with every term; grey and purple: "
                "counterfactuals without any event",
                "and without the deplatformings (95% bands): the gap between black and purple is the deplatforming "
                "contribution. Light points: days below the chart, at its threshold.",
                "Red rules: each term's first affected snapshot, numbered "
                + ", ".join(f"{i} {t}" for i, t in enumerate(terms["term_id"], 1)) + "."])))

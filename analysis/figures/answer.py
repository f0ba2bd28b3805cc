"""Figures of the answer: the forest of the headline numbers.

:func:`forest_chart` draws the ``attribution`` table (:mod:`analysis.report.headline`): apps on
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

from analysis.figures.common import title
from analysis.report import outcome as O

GROUPS = ("deplatforming", "privacy_shock", "all_events")
LABELS = {"deplatforming": "deplatforming", "privacy_shock": "privacy shock", "all_events": "all events"}
MAX_COLOURS = 6


def forest_frame(table: pl.DataFrame, apps: Sequence[str] | None = None) -> pl.DataFrame:
    """The drawn rows: app, country (upper case), group label, kind, the multiple and its limits,
    the marker position of a bound (``bound_at``) and its shape."""
    from analysis.report.headline import _order

    f = table.filter(pl.col("group").is_in(GROUPS), pl.col("kind") != "not_identified",
                     pl.col("multiple").is_not_null())
    order = _order(apps, f["app_name"].unique().to_list())
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

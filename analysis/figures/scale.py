"""Figures that stay drawable for any panel the loaders accept (issue 20).

A figure with one facet row, line or heatmap row per series grows without bound with the panel:
a 2,000-series custom panel made Vega-Lite's SVG export fail ("Maximum call stack size
exceeded", 4.5 GB) after six minutes.  Each figure therefore draws at most a fixed number of
units, chosen by a stated criterion (the largest effects, the best-charted apps), and says in
its subtitle how many of how many it shows; every unit stays in the tables, which are never cut.

- :data:`MAX_ROWS`: series (rows) of the placebo strip, the alternative-cutoff and coverage heatmaps;
- :data:`MAX_FACET_ROWS`: apps (facet rows) of the decomposition figure;
- :data:`MAX_PANELS`: countries (panels or facet columns) of any figure;
- :data:`MAX_LINES`: apps drawn as lines in one trajectory panel (the ten colours of tableau10);
- :data:`MAX_ITS`: per-app observed-versus-counterfactual figures of notebook 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

MAX_ROWS = 40
MAX_FACET_ROWS = 30
MAX_PANELS = 12
MAX_LINES = 10
MAX_ITS = 12


def top_units(df: pl.DataFrame, keys: Sequence[str], limit: int, score: pl.Expr | None = None
              ) -> tuple[pl.DataFrame, int]:
    """The rows of at most ``limit`` units (distinct ``keys``), and the number of units there were.

    ``score`` (an aggregation over a unit's rows) ranks units, highest first, nulls last, ties
    broken by the keys; without it the first units in key order are kept."""
    keys = list(keys)
    units = df.group_by(keys).agg((score if score is not None else pl.lit(0.0)).alias("_score"))
    total = units.height
    if total <= limit:
        return df, total
    chosen = units.sort(["_score", *keys], descending=[True] + [False] * len(keys), nulls_last=True).head(limit)
    return df.join(chosen.select(keys), on=keys, how="semi"), total


def shown_note(shown: int, total: int, what: str, how: str) -> str:
    """The subtitle line saying what a capped figure leaves out ("" when it shows everything)."""
    if shown >= total:
        return ""
    return f"Showing {shown} of {total:,} {what} ({how}); every one is in the tables."


def cap_panels(df: pl.DataFrame, column: str = "country", limit: int = MAX_PANELS) -> tuple[pl.DataFrame, str]:
    """At most ``limit`` values of ``column`` (the first in sorted order), with the note."""
    kept, total = top_units(df, [column], limit)
    return kept, shown_note(min(limit, total), total, "panels (countries)", "the first in alphabetical order")


def figure_apps(apps: Sequence[str], limit: int = MAX_ITS) -> tuple[list[str], str]:
    """The apps that get a figure of their own (the first ``limit`` in sorted order), and the note."""
    ordered = sorted(set(apps))
    return ordered[:limit], shown_note(min(limit, len(ordered)), len(ordered), "apps with a figure of their own",
                                       "the first in alphabetical order")

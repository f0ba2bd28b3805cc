"""The synthetic demo's truth, written so every estimand has a true value.

**SYNTHETIC DEMO DATA.**  Ranks are positions among all apps of a chart
(:mod:`analysis.data.demo.chart`), so the effect of an event on an app's *rank* is not the shift
of its latent popularity: an app that climbs past its neighbours moves one place per app passed,
#1 is a floor, and apps that never changed are pushed down by others (interference).  The truth
for the rank outcome is therefore defined by re-ranking a counterfactual world that has the
same noise, trends and seasons but not the event(s) (the potential-outcomes definition of an
effect, Rubin 1974, applied to the whole chart):

- **per-event level** of term ``k`` for series s:
  ``log rank_s(all terms, d_k) - log rank_s(all terms but k, d_k)`` on the term's first
  affected snapshot ``d_k``.  Null where the app is off the store on ``d_k``.
- **per-event slope / decay**: the latent parameter (change in daily latent trend; the
  half-life in days of a decaying spike); positions have no exact slope of their own.
- **window average** over [start, end]: the mean over the days of
  ``log rank_s(all terms, t) - log rank_s(no term, t)`` (days with the app listed).

Positions beyond the chart depth count (the truth is about the latent rank, observed or not).
``latent_value`` columns carry the latent shift beside each rank truth.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from analysis.data.demo.chart import World
from analysis.data.demo.effects import EventEffect


def long_frame(world: World, days: list[date] | None = None, **arrays: np.ndarray) -> pl.DataFrame:
    """(chart, day, app) arrays -> one row per (app, country, store, date); ``days`` labels the
    day axis (default: every simulated day)."""
    c, t, a = arrays[next(iter(arrays))].shape
    days = world.days if days is None else days
    stores = [s for s, _ in world.charts]
    countries = [k for _, k in world.charts]
    frame = pl.DataFrame({
        "app_name": np.tile(np.array(world.apps), c * t),
        "country": np.repeat(np.array(countries), t * a),
        "store": np.repeat(np.array(stores), t * a),
        "date": np.tile(np.repeat(np.array(days, dtype="datetime64[D]"), a), c),
        **{k: v.ravel() for k, v in arrays.items()},
    }).with_columns(pl.col("date").cast(pl.Date))
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def panel_truth(world: World) -> pl.DataFrame:
    """Per series and day: ``rank`` (position with every event; null when off the store),
    ``rank_without_events``, ``rank_effect`` (log ratio of the two) and ``latent_effect`` (sum
    of the terms' latent shifts)."""
    z_all, removed = world.latent()
    z_none, none_removed = world.latent(tuple(world.term_ids))
    with_ev = world.positions(z_all, removed)
    without = world.positions(z_none, none_removed)
    return long_frame(world, rank=with_ev, rank_without_events=without,
                      rank_effect=np.log(with_ev) - np.log(without), latent_effect=z_all - z_none)


def event_truth(world: World, effects: tuple[EventEffect, ...], schedule: pl.DataFrame) -> pl.DataFrame:
    """The per-event truth (contract "Demo truth"): app_name, country, store, event_id (term
    id), estimand ("level" | "slope" | "decay"), true_value, date, latent_value, scale."""
    z_all, removed = world.latent()
    pos_all = world.positions(z_all, removed)
    term_dates = dict(schedule.select("term_id", "date").unique().iter_rows())
    day0 = world.days[0]
    parts = []
    for k, term in enumerate(world.term_ids):
        d = term_dates[term]
        i = (d - day0).days
        if not 0 <= i < len(world.days):
            continue
        z_cf, rem_cf = world.latent((term,))
        pos_cf = world.positions(z_cf, rem_cf, slice(i, i + 1))
        f = long_frame(world, [d], true_value=np.log(pos_all[:, i:i + 1]) - np.log(pos_cf),
                       latent_value=world.term_effect[k][:, i:i + 1], rank_with=pos_all[:, i:i + 1], rank_without=pos_cf)
        parts.append(f.with_columns(pl.lit(term).alias("event_id")))
    levels = pl.concat(parts).with_columns(pl.lit("level").alias("estimand"), pl.lit("log_rank_reranked").alias("scale"))
    extra = _shape_rows(effects, schedule, world)
    cols = ["app_name", "country", "store", "event_id", "estimand", "true_value", "date", "latent_value",
            "scale", "rank_with", "rank_without"]
    return pl.concat([levels.select(cols), extra.select(cols)], how="vertical_relaxed").sort(
        "app_name", "country", "store", "date", "event_id", "estimand")


def _shape_rows(effects: tuple[EventEffect, ...], schedule: pl.DataFrame, world: World) -> pl.DataFrame:
    """Slope and decay rows (latent parameters) for the effects that have one."""
    term_of = dict(schedule.select("event_id", "term_id").iter_rows())
    date_of = dict(schedule.select("event_id", "date").iter_rows())
    rows = []
    for e in effects:
        for store, country in world.charts:
            if store not in e.stores or e.level_for(country) == 0.0 and not e.slope:
                continue
            base = {"app_name": e.app, "country": country, "store": store, "event_id": term_of[e.event_id],
                    "date": date_of[e.event_id], "rank_with": None, "rank_without": None}
            if e.slope:
                rows.append({**base, "estimand": "slope", "true_value": e.slope, "latent_value": e.slope,
                             "scale": "latent_per_day"})
            if e.half_life is not None:
                rows.append({**base, "estimand": "decay", "true_value": e.half_life, "latent_value": e.half_life,
                             "scale": "half_life_days"})
    schema = {"app_name": pl.String, "country": pl.String, "store": pl.String, "event_id": pl.String,
              "date": pl.Date, "rank_with": pl.Float64, "rank_without": pl.Float64, "estimand": pl.String,
              "true_value": pl.Float64, "latent_value": pl.Float64, "scale": pl.String}
    return pl.DataFrame(rows, schema=schema)


def window_effects(panel_truth: pl.DataFrame, window_start: date, window_end: date) -> pl.DataFrame:
    """Mean over [window_start, window_end] (inclusive) of the re-ranked log-rank effect of
    all events (``true_value``) and of their latent shift (``latent_value``), per series; days
    with the app off the store are left out (``n_days`` counts the days used)."""
    if window_end < window_start:
        raise ValueError(f"window_end {window_end} is before window_start {window_start}")
    return (
        panel_truth.filter(pl.col("date").is_between(window_start, window_end), pl.col("rank_effect").is_not_null())
        .group_by("app_name", "country", "store")
        .agg(pl.col("rank_effect").mean().alias("true_value"), pl.col("latent_effect").mean().alias("latent_value"),
             pl.len().alias("n_days"))
        .with_columns(pl.lit(None, dtype=pl.String).alias("event_id"), pl.lit("window_average").alias("estimand"),
                      pl.lit(window_start).alias("window_start"), pl.lit(window_end).alias("window_end"))
        .select("app_name", "country", "store", "event_id", "estimand", "true_value", "latent_value", "n_days",
                "window_start", "window_end")
        .sort("app_name", "country", "store")
    )
